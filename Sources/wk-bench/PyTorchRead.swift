// wk-bench pytorch-read FILE [--runs R] [--json] [--open-only] [--pages]
// Opens a torch.save file (zip or legacy layout) and reads every tensor: sums all float32 elements
// (other dtypes: all bytes), the work `torch.load(mmap=True, weights_only=True)` followed by
// `t.float().sum()` does. `--pages` reads one element per 4 KiB page instead (what paging the
// file in costs); `--open-only` stops after opening (the header-only path inspect takes). Prints the
// median and minimum seconds over R runs.

import PyTorchFormat
import TensorCore
#if canImport(Glibc)
    import Glibc
#endif

func benchPyTorchRead(_ args: [String]) throws {
    let parsed = try BenchArguments(
        args, allowed: ["--json", "--open-only", "--pages"], usage: "usage: wk-bench pytorch-read FILE [--runs R] [--json] [--open-only] [--pages]")
    let (openOnly, pages) = (parsed.flags.contains("--open-only"), parsed.flags.contains("--pages"))
    var times: [Double] = []
    var total = 0
    var sink: Float = 0
    var count = 0
    for _ in 0..<parsed.runs {
        let start = now()
        let f = try PyTorchFile.open(path: parsed.path)
        total = 0
        count = f.tensors.count
        if !openOnly {
            for t in f.tensors {
                let d = try t.entry.bytes()
                total += d.count
                d.withUnsafeBytes { raw in
                    if pages {
                        var p = 0
                        while p < raw.count {
                            sink += Float(raw[p])
                            p += 4096
                        }
                    } else if t.dtype == .f32, Int(bitPattern: raw.baseAddress) % 4 == 0 {
                        sink += sum(raw.bindMemory(to: Float.self))
                    } else {
                        var s: UInt64 = 0
                        for b in raw { s &+= UInt64(b) }
                        sink += Float(s & 1)
                    }
                }
            }
        }
        times.append(now() - start)
    }
    times.sort()
    let median = times[times.count / 2]
    if parsed.flags.contains("--json") {
        print("{\"file\": \"\(parsed.path)\", \"tensors\": \(count), \"bytes\": \(total), \"runs\": \(parsed.runs), \"median_s\": \(median), \"min_s\": \(times[0])}")
    } else {
        print("\(parsed.path): \(count) tensors, \(total) bytes read, median \(format6(median)) s, min \(format6(times[0])) s")
    }
    if sink == 42.125 { writeStandardError("") }  // keeps the reads
}

/// Sum of floats in eight independent lanes (vectorised by the optimiser).
private func sum(_ x: UnsafeBufferPointer<Float>) -> Float {
    var acc = SIMD8<Float>()
    let n = x.count / 8
    x.withMemoryRebound(to: Float.self) { p in
        for i in 0..<n {
            acc += SIMD8<Float>(p[8 * i], p[8 * i + 1], p[8 * i + 2], p[8 * i + 3], p[8 * i + 4], p[8 * i + 5], p[8 * i + 6], p[8 * i + 7])
        }
    }
    var s = acc.sum()
    for i in (8 * n)..<x.count { s += x[i] }
    return s
}
