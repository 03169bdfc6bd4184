// Memory figures for inspect and bench: the executor's plan (computed) and this process's RSS (measured).
import ArgumentParser
import Foundation
import WeightKit

extension KVCacheType: ExpressibleByArgument {}

/// Which positions bench computes logits for.
enum LogitsMode: String, ExpressibleByArgument, CaseIterable {
    case all, last
}

/// "476 MiB mapped weights, 0 bytes owned, 36.0 KiB KV cache per token".
func memoryLine(_ p: MemoryPlan) -> String {
    "\(MemoryPlan.format(p.mappedBytes)) of weights mapped as stored, \(MemoryPlan.format(p.ownedBytes)) widened to float32 (owned), \(MemoryPlan.format(p.kvBytesPerToken)) of KV cache per token"
}

/// This process's resident set from /proc/self/status (Linux; nil elsewhere).
struct ProcessMemory {
    /// Peak resident set (VmHWM): mapped file pages and anonymous memory.
    var peak: Int?
    /// Anonymous resident memory now (RssAnon): what the process allocated, not the mapped file.
    var anonymous: Int?

    static func read() -> ProcessMemory {
        var m = ProcessMemory()
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return m }
        for line in text.split(separator: "\n") {
            let parts = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard parts.count >= 2, let kb = Int(parts[1]) else { continue }
            if parts[0] == "VmHWM:" { m.peak = kb * 1024 }
            if parts[0] == "RssAnon:" { m.anonymous = kb * 1024 }
        }
        return m
    }
}
