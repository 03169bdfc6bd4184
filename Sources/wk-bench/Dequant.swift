// wk-bench dequant FILE.gguf [--runs R] [--json]
// Dequantizes every tensor of a GGUF file R times (after one warm-up pass) and prints, per
// dtype, the median throughput in GB/s of float32 output.

import GGUFFormat
import TensorCore
#if canImport(Glibc)
    import Glibc
#endif

func benchDequant(_ args: [String]) throws {
    let parsed = try BenchArguments(args, allowed: ["--json"], usage: "usage: wk-bench dequant FILE.gguf [--runs R] [--json]")
    let (path, runs, json) = (parsed.path, parsed.runs, parsed.flags.contains("--json"))
    let file = try GGUFFile.open(path: path)

    // Group tensors by dtype, keeping first-seen order.
    var order: [DType] = []
    var groups: [DType: [Tensor]] = [:]
    for t in file.tensors where GGMLQuants.decodable.contains(t.dtype) || !t.dtype.isQuantized {
        if groups[t.dtype] == nil { order.append(t.dtype) }
        groups[t.dtype, default: []].append(t)
    }
    var rows: [(DType, Int, Double)] = []
    for dtype in order {
        let tensors = groups[dtype] ?? []
        let elements = tensors.reduce(0) { $0 + $1.elementCount }
        let out = UnsafeMutablePointer<Float>.allocate(capacity: max(1, tensors.map(\.elementCount).max() ?? 1))
        defer { out.deallocate() }
        func pass() throws {
            for t in tensors {
                try t.data.withUnsafeBytes { try Widen.toFloat32(t.dtype, $0, into: out, count: t.elementCount, tensor: t.name) }
            }
        }
        try pass()  // warm-up: pages mapped, table built
        var times: [Double] = []
        for _ in 0..<runs {
            let t0 = now()
            try pass()
            times.append(now() - t0)
        }
        times.sort()
        let median = times[times.count / 2]
        rows.append((dtype, elements, Double(elements * 4) / median / 1e9))
    }
    if json {
        let items = rows.map { "\"\($0.0.rawValue)\": {\"elements\": \($0.1), \"gb_per_s\": \($0.2)}" }
        print("{" + items.joined(separator: ", ") + "}")
    } else {
        print("dtype     elements      GB/s (f32 out, median of \(runs))")
        for (d, n, g) in rows {
            print(pad(d.rawValue, 10) + pad(String(n), 14) + format2(g))
        }
    }
}


private func pad(_ s: String, _ n: Int) -> String { s + String(repeating: " ", count: max(1, n - s.count)) }

private func format2(_ x: Double) -> String {
    let r = (x * 100).rounded() / 100
    return "\(r)"
}
