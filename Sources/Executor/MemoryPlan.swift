// What running a graph costs in memory, computed from the bound weights before anything runs, and the
// checks made from it: every weight in a dtype the executor can read (kept as stored, mapped f32, or
// widened once), and the owned part of the working set within the memory the machine has.
//
//   mapped   bytes of weights read straight from the file (f32, and the dtypes the stored kernels read):
//            file-backed pages, which the kernel can drop and read again, so they are not counted
//            against available memory
//   owned    bytes the store allocates: weights widened to float32 (other dtypes, quantized [in, out]-stored
//            matrices in a stored-kernel dtype, WEIGHTKIT_WIDEN=1)
//   kv       bytes of KV cache per token (layers × 2 × KV heads × head_dim × 4, or × 2 with --kv f16)

import Foundation
import Models
import TensorCore

/// The KV cache's element type.
public enum KVCacheType: String, Sendable, CaseIterable {
    case f32, f16
    /// Bytes per cached element.
    public var bytes: Int { self == .f32 ? 4 : 2 }
}

/// The memory a graph needs to run.
public struct MemoryPlan: Sendable {
    /// Weights read from the mapped file as they are stored.
    public var mappedBytes = 0
    /// Weights widened to float32 in memory the executor owns.
    public var ownedBytes = 0
    /// KV cache bytes per token of context.
    public var kvBytesPerToken = 0
    /// Activation bytes per token of a forward pass (the widest buffers live at once, an estimate).
    public var activationBytesPerToken = 0

    /// Owned bytes for a pass over `tokens` positions: widened weights, KV cache, activations.
    public func workingSet(tokens: Int) -> Int { ownedBytes + tokens * (kvBytesPerToken + activationBytesPerToken) }
}

extension Executor {
    /// Whether the executor reads `dtype` at all (as stored, mapped, or widened once).
    static func canRun(_ dtype: DType) -> Bool {
        dtype == .f32 || StoredMatrix.code(dtype) != nil || !dtype.isQuantized || GGMLQuants.decodable.contains(dtype)
    }

    /// The memory `graph` needs with a KV cache of `kv`; throws, naming the first weight, when a weight's
    /// dtype cannot be run.
    public static func memoryPlan(_ graph: ModelGraph, kv: KVCacheType = .f32) throws -> MemoryPlan {
        let forms = try Canonicalization.execution(graph)
        var plan = MemoryPlan()
        var seen = Set<String>()
        // Only linear layers and token embeddings read stored matrices; other ops (position embeddings)
        // widen theirs.
        let readStored = Set(graph.ops.compactMap { op -> String? in
            switch op {
            case .linear(_, _, let w, _): return graph.weights[w]?.source.name
            case .embedding(_, let table): return graph.weights[table]?.source.name
            default: return nil
            }
        })
        for name in graph.weights.keys.sorted() {
            let w = graph.weights[name]!
            guard seen.insert(w.source.name).inserted else { continue }
            let dtype = w.source.dtype
            guard canRun(dtype) else {
                throw ExecutorError("\(dtype.rawValue.uppercased()) weights cannot be run yet: \(w.source.name)")
            }
            let n = w.source.elementCount
            if WeightStore.keptAsStored(w, name: name, forms), readStored.contains(w.source.name) {
                plan.mappedBytes += w.source.byteCount
            } else if dtype == .f32 && forms.rowMaps[name] == nil {
                plan.mappedBytes += n * 4
            } else {
                plan.ownedBytes += n * 4
            }
        }
        let c = graph.config
        plan.kvBytesPerToken = c.layers * 2 * c.kvHeads * c.headDim * kv.bytes
        // Live at once in a pass, per token: the residual stream and its norm, q/k/v, the MLP's widest
        // buffers (two of them for a gated MLP) and the logits row.
        plan.activationBytesPerToken = 4 * (4 * c.hiddenSize + (c.heads + 2 * c.kvHeads) * c.headDim + 2 * c.intermediateSize + c.vocabSize)
        return plan
    }

    /// Bytes of memory this process may still allocate: MemAvailable from /proc/meminfo (Linux), else the
    /// physical memory; WEIGHTKIT_MEMORY_BYTES overrides both (for tests).
    public static var availableMemory: Int {
        if let s = ProcessInfo.processInfo.environment["WEIGHTKIT_MEMORY_BYTES"], let v = Int(s) { return v }
        if let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8) {
            for line in text.split(separator: "\n") where line.hasPrefix("MemAvailable:") {
                let parts = line.split(separator: " ")
                if parts.count >= 2, let kb = Int(parts[1]) { return kb * 1024 }
            }
        }
        return Int(clamping: ProcessInfo.processInfo.physicalMemory)
    }

    /// Refuses, with the numbers, a pass over `tokens` positions whose owned working set exceeds the
    /// available memory.
    public static func requireFits(_ plan: MemoryPlan, tokens: Int) throws {
        let need = plan.workingSet(tokens: tokens), have = availableMemory
        guard need <= have else {
            throw ExecutorError(
                "the model needs \(MemoryPlan.format(need)) of memory to run \(tokens) tokens (\(MemoryPlan.format(plan.ownedBytes)) of weights widened to float32, \(MemoryPlan.format(plan.kvBytesPerToken)) of KV cache per token), \(MemoryPlan.format(have)) available"
            )
        }
    }
}

extension MemoryPlan {
    /// Bytes in binary units, three significant digits.
    public static func format(_ bytes: Int) -> String {
        let units = ["bytes", "KiB", "MiB", "GiB", "TiB"]
        var v = Double(bytes), u = 0
        while v >= 1024, u < units.count - 1 {
            v /= 1024
            u += 1
        }
        return u == 0 ? "\(bytes) bytes" : String(format: v >= 100 ? "%.0f %@" : v >= 10 ? "%.1f %@" : "%.2f %@", v, units[u])
    }
}
