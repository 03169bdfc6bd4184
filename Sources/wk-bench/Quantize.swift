// wk-bench quantize FILE.f32 [--runs R]
// Quantizes a raw float32 file (rows of 4096 values) to each K-quant on one thread, R times, and
// prints the best throughput per type, timed in the thread's CPU time (as the C helper does) so that
// other processes on a busy machine do not count. Fixtures/kquants/make_vectors.py --bench --wk-bench PATH runs
// it beside ggml's own quantizers on the same values.

import TensorCore
#if canImport(Glibc)
    import Glibc
#endif

/// Seconds of CPU time of the calling thread.
func threadSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

func benchQuantize(_ args: [String]) throws {
    let parsed = try BenchArguments(args, allowed: [], usage: "usage: wk-bench quantize FILE.f32 [--runs R]")
    let values = try ByteRegion.map(path: parsed.path).withUnsafeBytes { raw in
        (0..<raw.count / 4).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) }
    }
    let row = 4096
    guard !values.isEmpty, values.count % row == 0 else { throw TensorCoreError("\(parsed.path): not whole rows of \(row) float32 values") }
    for dtype in [DType.q2_k, .q3_k, .q4_k, .q5_k, .q6_k, .q8_k] {
        var best = Double.infinity
        for _ in 0..<parsed.runs {
            let t0 = threadSeconds()
            let out = try values.withUnsafeBufferPointer { try GGMLQuants.quantize(dtype, $0, rowLength: row) }
            best = min(best, threadSeconds() - t0)
            precondition(out.count == values.count / 256 * dtype.blockBytes)
        }
        let rate = (Double(values.count) / best / 1e5).rounded() / 10, ms = (best * 1e4).rounded() / 10
        print("\(dtype.rawValue): \(rate) M values/s (\(ms) ms for \(values.count) values, WeightKit, 1 thread)")
    }
}
