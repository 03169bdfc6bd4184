// Executor options on a real fixture: logits of the last position only (what llama-bench times), the
// float16 KV cache (--kv f16), and the memory plan.
import Foundation
import TestSupport
import Testing
import WeightKit

@Suite struct ExecutorOptionsTests {
    static let tokens = (0..<24).map { ($0 * 37) % 600 }

    func logits(_ e: Executor, lastLogits: Bool = false) throws -> (shape: [Int], values: [Float]) {
        let a = try e.run(tokens: Self.tokens, session: e.makeSession(), record: ["logits"], lastLogits: lastLogits)
        let l = a.items.first { $0.name == "logits" }!
        return (l.shape, l.values)
    }

    @Test("lastLogits computes the head for the last position only, equal to that row of the full logits")
    func lastLogits() throws {
        let m = try LoadedModel.open(Fixtures.path("llama3-text"))
        let e = Executor(graph: m.graph)
        let full = try logits(e), last = try logits(e, lastLogits: true)
        let v = m.graph.config.vocabSize
        #expect(full.shape == [1, Self.tokens.count, v])
        #expect(last.shape == [1, 1, v])
        // The same products for that row; one row may take OpenBLAS's GEMV instead of its GEMM (another
        // summation order): float32 rounding of 64-term sums of logits O(10).
        let row = Array(full.values[((Self.tokens.count - 1) * v)...])
        let worst = zip(row, last.values).map { abs($0 - $1) }.max()!
        #expect(worst <= 1e-5, "max |Δ| \(worst)")
    }

    @Test("--kv f16 halves the cache and changes logits only by f16 rounding of the cached keys and values")
    func f16Cache() throws {
        let m = try LoadedModel.open(Fixtures.path("llama3-text"))
        let e32 = Executor(graph: m.graph), e16 = Executor(graph: m.graph, kv: .f16)
        let s32 = e32.makeSession(), s16 = e16.makeSession()
        let a = try e32.run(tokens: Self.tokens, session: s32, record: ["logits"]).items[0].values
        let b = try e16.run(tokens: Self.tokens, session: s16, record: ["logits"]).items[0].values
        #expect(s16.bytes * 2 == s32.bytes)
        #expect(s32.bytes == Self.tokens.count * (try Executor.memoryPlan(m.graph)).kvBytesPerToken)
        #expect(s16.bytes == Self.tokens.count * (try Executor.memoryPlan(m.graph, kv: .f16)).kvBytesPerToken)
        // Each cached element is rounded to f16 (relative error ≤ 2⁻¹¹ ≈ 4.9e-4); through 2 layers the logits
        // move by a few times that relative to their size: bound 1e-2 · max|logit| (measured ≈ 3e-4 · max).
        let scale = a.map { abs($0) }.max()!
        let worst = zip(a, b).map { abs($0 - $1) }.max()!
        #expect(worst > 0, "the f16 cache was not used")
        #expect(worst <= 1e-2 * scale, "max |Δ| \(worst), max |logit| \(scale)")
        // Decoding one more token reads the f16 cache of the first 24.
        let next = [7]
        let c = try e32.run(tokens: next, session: s32, record: ["logits"]).items[0].values
        let d = try e16.run(tokens: next, session: s16, record: ["logits"]).items[0].values
        #expect(zip(c, d).map { abs($0 - $1) }.max()! <= 1e-2 * scale)
    }

    @Test("the memory plan counts mapped, widened and cache bytes from the bound weights")
    func memoryPlan() throws {
        let m = try LoadedModel.open(Fixtures.path("gpt2-tiny", "model-q8_0.gguf"))
        let p = try Executor.memoryPlan(m.graph)
        var seen = Set<String>()
        let stored = m.graph.weights.values.filter { seen.insert($0.source.name).inserted }.reduce(0) { $0 + $1.source.byteCount }
        let c = m.graph.config
        // Every matrix of the Q8_0 fixture has whole 32-blocks per row, the rest is f32: all mapped.
        #expect(p.mappedBytes == stored)
        #expect(p.ownedBytes == 0)
        #expect(p.kvBytesPerToken == c.layers * 2 * c.kvHeads * c.headDim * 4)
    }
}
