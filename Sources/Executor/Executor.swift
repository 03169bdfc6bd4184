// Runs a ModelGraph on the CPU in float32: ops in order over named [T, width] buffers, weights
// from the WeightStore, GEMMs in OpenBLAS, attention heads in parallel. A Session keeps a KV
// cache so decoding one token reuses the keys and values of the tokens before it.

internal import CKernels
import Foundation
import Models
import TensorCore

/// A CPU executor for one model graph.
public final class Executor {
    public let graph: ModelGraph
    private var store: WeightStore
    private let inverseFrequencies: [Float]
    /// How each weight is run: the steps to canonical form (Canonicalization.execution), a transpose
    /// left to BLAS, Q/K row maps left to RoPE or applied when widened.
    private(set) var forms: ExecutionForms
    /// The config's RoPE with the pairing `forms` decided.
    private var rope: RoPEConfig?
    /// Per op: a `linear` whose weight BLAS reads transposed (from `forms`, looked up once).
    private var transposedOps: [Bool]

    /// The KV cache's element type for new sessions.
    public let kv: KVCacheType

    /// Whether many-token products over q8_0 … q6_k weights take the 8-bit GEMM (Kernels.linearStoredInt8)
    /// rather than float32 panels and sgemm.
    public let int8Prefill: Bool

    /// Prepares to run `graph`. `threads` sets OpenBLAS's thread count (default: all cores); `kv` the KV
    /// cache's element type; `int8Prefill` lets many-token products of q8_0 … q6_k weights round their
    /// activations to 8 bits as one-token products do (fast; run, generate, bench), or keeps them float32
    /// (false: verify and compare, whose tolerances are for float32 activations there).
    public init(graph: ModelGraph, threads: Int? = nil, kv: KVCacheType = .f32, int8Prefill: Bool = true) {
        self.graph = graph
        self.kv = kv
        self.int8Prefill = int8Prefill
        // A graph whose weights cannot be brought to canonical form runs nothing: memoryPlan, which
        // every run and preload calls first, throws the same error.
        let forms = (try? Canonicalization.execution(graph)) ?? ExecutionForms()
        self.forms = forms
        self.store = WeightStore(weights: graph.weights, forms: forms)
        self.rope = Self.rope(graph.config, forms)
        self.transposedOps = Self.transposedOps(graph, forms)
        self.inverseFrequencies = graph.config.rope.map(Kernels.ropeInverseFrequencies) ?? []
        Kernels.setBLASThreads(threads ?? ProcessInfo.processInfo.activeProcessorCount)
        // Freed activation arrays stay with malloc for the next op (WEIGHTKIT_MALLOC=default: glibc's own policy).
        if ProcessInfo.processInfo.environment["WEIGHTKIT_MALLOC"] != "default" { wk_keep_freed_memory() }
    }

    /// Runs the weights in `forms` instead of the ones their transforms decide, before anything has
    /// run (tests compare the forms that copy rows with those that leave them to RoPE).
    func use(_ forms: ExecutionForms) {
        self.forms = forms
        store = WeightStore(weights: graph.weights, forms: forms)
        rope = Self.rope(graph.config, forms)
        transposedOps = Self.transposedOps(graph, forms)
    }

    private static func transposedOps(_ graph: ModelGraph, _ forms: ExecutionForms) -> [Bool] {
        graph.ops.map { if case .linear(_, _, let w, _) = $0 { return forms.blasTransposed.contains(w) } else { return false } }
    }

    private static func rope(_ c: ModelConfig, _ forms: ExecutionForms) -> RoPEConfig? {
        var rope = c.rope
        rope?.style = forms.ropeStyle
        return rope
    }

    /// The memory plan, computed (and checked) on the first run or preload.
    private var memory: MemoryPlan?

    /// Widens or dequantizes every weight now rather than on first use.
    public func preload() throws {
        if memory == nil {
            let plan = try Executor.memoryPlan(graph, kv: kv)
            try Executor.requireFits(plan, tokens: 1)
            memory = plan
        }
        try store.preload()
    }

    /// Key/value cache of one sequence, in float32 or float16 (`--kv f16`: half the memory; each layer's
    /// cache is widened to float32 for the attention that reads it, so the arithmetic stays float32 and
    /// only the cached values are rounded to f16).
    public final class Session {
        let kv: KVCacheType
        var keys: [[Float]]
        var values: [[Float]]
        var keys16: [[Float16]]
        var values16: [[Float16]]
        /// Tokens seen so far.
        public private(set) var length = 0
        /// Position of the first cached key: with a sliding window only the last `window − 1`
        /// positions are kept between passes (the next token's window), the older ones dropped.
        public private(set) var first = 0

        init(layers: Int, kv: KVCacheType) {
            self.kv = kv
            keys = Array(repeating: [], count: layers)
            values = Array(repeating: [], count: layers)
            keys16 = Array(repeating: [], count: layers)
            values16 = Array(repeating: [], count: layers)
        }

        func advance(by n: Int, window: Int? = nil) {
            length += n
            guard let w = window, length - first > w - 1 else { return }
            let drop = length - first - (w - 1)
            let cached = length - first
            for l in keys.indices {
                func trim<T>(_ a: inout [T]) { if !a.isEmpty { a.removeFirst(a.count / cached * drop) } }
                trim(&keys[l])
                trim(&values[l])
                trim(&keys16[l])
                trim(&values16[l])
            }
            first += drop
        }

        /// Appends one pass's keys and values to `layer`'s cache.
        func append(layer: Int, keys k: [Float], values v: [Float]) {
            switch kv {
            case .f32:
                keys[layer] += k
                values[layer] += v
            case .f16:
                keys16[layer] += k.map { Float16($0) }
                values16[layer] += v.map { Float16($0) }
            }
        }

        /// `layer`'s cached keys and values as float32.
        func withLayer<R>(_ layer: Int, _ body: (UnsafePointer<Float>, UnsafePointer<Float>) throws -> R) rethrows -> R {
            switch kv {
            case .f32:
                return try keys[layer].withUnsafeBufferPointer { kp in
                    try values[layer].withUnsafeBufferPointer { vp in try body(kp.baseAddress!, vp.baseAddress!) }
                }
            case .f16:
                let kf = keys16[layer].map { Float($0) }, vf = values16[layer].map { Float($0) }
                return try kf.withUnsafeBufferPointer { kp in
                    try vf.withUnsafeBufferPointer { vp in try body(kp.baseAddress!, vp.baseAddress!) }
                }
            }
        }

        /// Bytes the cache holds.
        public var bytes: Int {
            kv == .f32 ? 4 * (keys.reduce(0) { $0 + $1.count } + values.reduce(0) { $0 + $1.count })
                : 2 * (keys16.reduce(0) { $0 + $1.count } + values16.reduce(0) { $0 + $1.count })
        }
    }

    /// A fresh cache.
    public func makeSession() -> Session { Session(layers: graph.config.layers, kv: kv) }

    /// Runs a batch `[B][T]` from scratch and records the named activations (all when `record` is nil).
    public func run(batch: [[Int]], record: Set<String>? = nil) throws -> Activations {
        guard let t = batch.first?.count, batch.allSatisfy({ $0.count == t }), t > 0 else {
            throw ExecutorError("input_ids must be a non-empty [B, T] matrix with rows of equal length")
        }
        var merged = [String: (shape: [Int], values: [Float])]()
        var order = [String]()
        for row in batch {
            let acts = try run(tokens: row, session: makeSession(), record: record)
            for a in acts.items {
                if merged[a.name] == nil {
                    order.append(a.name)
                    merged[a.name] = ([0] + a.shape.dropFirst(), [])
                }
                merged[a.name]!.shape[0] += 1
                merged[a.name]!.values += a.values
            }
        }
        return Activations(items: order.map { RecordedActivation(name: $0, shape: merged[$0]!.shape, values: merged[$0]!.values) })
    }

    /// Runs `tokens` after whatever `session` has seen; records activations for these tokens
    /// (shapes with B = 1; attention probabilities `[1, H, T, S]` over all S cached positions).
    /// With `lastLogits`, the head runs on the last position only and `logits` is recorded as `[1, 1, vocab]`
    /// (what llama-bench times; nothing else may be recorded from the head's input rows).
    public func run(tokens: [Int], session: Session, record: Set<String>? = nil, lastLogits: Bool = false) throws -> Activations {
        let c = graph.config
        let rows = tokens.count
        let start = session.length
        guard rows > 0 else { throw ExecutorError("no tokens to run") }
        for (i, tok) in tokens.enumerated() where tok < 0 || tok >= c.vocabSize {
            throw ExecutorError("token \(tok) at position \(i) is outside the vocabulary (0..<\(c.vocabSize))")
        }
        if c.learnedPositions, start + rows > c.maxPositions {
            throw ExecutorError("\(start + rows) positions exceed the model's \(c.maxPositions) learned positions")
        }
        if memory == nil {
            // Before anything is widened or run: every weight readable, the owned working set in memory.
            let plan = try Executor.memoryPlan(graph, kv: kv)
            try Executor.requireFits(plan, tokens: start + rows)
            memory = plan
        }
        var buffers = [String: [Float]]()
        var out = Activations()
        // The linear op whose output is recorded as logits, when only its last row is wanted.
        let headOutput: String? = lastLogits && rows > 1 ? graph.ops.lazy.compactMap { op -> String? in
            if case .record("logits", let x) = op { return x }
            return nil
        }.first : nil
        let lastUse = lastUses()
        func wanted(_ n: String) -> Bool { record?.contains(n) ?? true }

        let profiling = Executor.profiling
        for (index, op) in graph.ops.enumerated() {
            let t0 = profiling ? DispatchTime.now().uptimeNanoseconds : 0
            defer {
                if profiling { Executor.recordProfile(op, DispatchTime.now().uptimeNanoseconds - t0) }
            }
            switch op {
            case .embedding(let o, let table):
                let d = graph.weights[table]!.shape[1]
                if let sm = try store.stored(table) {
                    buffers[o] = try output(rows * d) { y in Kernels.embeddingStored(sm, tokens: tokens, into: y) }
                    break
                }
                let w = try store.pointer(table)
                var y = [Float](repeating: 0, count: rows * d)
                for (r, tok) in tokens.enumerated() { for j in 0..<d { y[r * d + j] = w[tok * d + j] } }
                buffers[o] = y
            case .positionEmbedding(let o, let table):
                let w = try store.pointer(table)
                let d = graph.weights[table]!.shape[1]
                buffers[o] = Array(UnsafeBufferPointer(start: w + start * d, count: rows * d))
            case .add(let o, let a, let b):
                buffers[o] = elementwise(buffers[a]!, buffers[b]!, +)
            case .mul(let o, let a, let b):
                buffers[o] = elementwise(buffers[a]!, buffers[b]!, *)
            case .layerNorm(let o, let x, let w, let b, let eps):
                let g = try store.pointer(w)
                let beta = try b.map { try store.pointer($0) }
                let width = graph.widths[x] ?? c.hiddenSize
                buffers[o] = try output(rows * width) { y in
                    buffers[x]!.withUnsafeBufferPointer {
                        Kernels.layerNorm($0.baseAddress!, rows: rows, width: width, gamma: g, beta: beta, eps: eps, into: y)
                    }
                }
            case .rmsNorm(let o, let x, let w, let eps):
                let g = try store.pointer(w)
                let width = graph.widths[x] ?? c.hiddenSize
                buffers[o] = try output(rows * width) { y in
                    buffers[x]!.withUnsafeBufferPointer {
                        Kernels.rmsNorm($0.baseAddress!, rows: rows, width: width, gamma: g, eps: eps, into: y)
                    }
                }
            case .linear(let o, let x, let w, let b):
                let bw = graph.weights[w]!
                let bp = try b.map { try store.pointer($0) }
                let outF = bw.shape[0]
                let inF = bw.shape[1]
                // The head over the last position only (lastLogits): one row in, one row out.
                let lastOnly = o == headOutput
                let n = lastOnly ? 1 : rows
                let first = lastOnly ? (rows - 1) * inF : 0
                if let sm = try store.stored(w) {
                    buffers[o] = try output(n * outF) { y in
                        buffers[x]!.withUnsafeBufferPointer { Kernels.linearStored($0.baseAddress! + first, rows: n, weight: sm, bias: bp, into: y, int8Prefill: int8Prefill) }
                    }
                    break
                }
                let wp = try store.pointer(w)
                buffers[o] = try output(n * outF) { y in
                    buffers[x]!.withUnsafeBufferPointer {
                        Kernels.linear(
                            $0.baseAddress! + first, rows: n, inFeatures: inF, weight: wp, outFeatures: outF,
                            transposed: transposedOps[index], bias: bp, into: y)
                    }
                }
            case .activation(let o, let x, let kind):
                let src = buffers[x]!
                buffers[o] = try output(src.count) { y in
                    src.withUnsafeBufferPointer { Kernels.parallelActivation(kind, $0.baseAddress!, count: src.count, into: y) }
                }
            case .split(let x, let outs, let widths):
                let total = widths.reduce(0, +)
                var offset = 0
                try buffers[x]!.withUnsafeBufferPointer { src in
                    for (name, w) in zip(outs, widths) {
                        let col = offset
                        buffers[name] = try output(rows * w) { y in
                            for r in 0..<rows { (y + r * w).update(from: src.baseAddress! + r * total + col, count: w) }
                        }
                        offset += w
                    }
                }
            case .rope(let x, let heads):
                guard let rope else { break }
                var v = buffers.removeValue(forKey: x)!
                v.withUnsafeMutableBufferPointer {
                    Kernels.rope($0.baseAddress!, rows: rows, heads: heads, headDim: c.headDim, start: start, rope: rope, inverseFrequencies: inverseFrequencies)
                }
                buffers[x] = v
            case .attention(let o, let q, let k, let v, let layer, let probsName):
                session.append(layer: layer, keys: buffers[k]!, values: buffers[v]!)
                let keys = start + rows - session.first
                let wantProbs = wanted(probsName)
                var probs = wantProbs ? [Float](repeating: 0, count: c.heads * rows * keys) : []
                let qv = buffers[q]!
                buffers[o] = try output(rows * c.heads * c.headDim) { y in
                    qv.withUnsafeBufferPointer { qp in
                        session.withLayer(layer) { kp, vp in
                            probs.withUnsafeMutableBufferPointer { pp in
                                Kernels.attention(
                                    q: qp.baseAddress!, k: kp, v: vp, rows: rows, start: start, config: c,
                                    layer: layer, into: y, probs: wantProbs ? pp.baseAddress! : nil, first: session.first)
                            }
                        }
                    }
                }
                if wantProbs { out.items.append(RecordedActivation(name: probsName, shape: [1, c.heads, rows, keys], values: probs)) }
            case .record(let name, let x):
                if wanted(name) {
                    let v = buffers[x]!
                    let r = x == headOutput ? 1 : rows
                    out.items.append(RecordedActivation(name: name, shape: [1, r, v.count / r], values: v))
                }
            }
            for name in lastUse[index] ?? [] { buffers[name] = nil }
        }
        session.advance(by: rows, window: c.slidingWindow)
        return out
    }

    /// `WEIGHTKIT_PROFILE=1` prints time per op kind at exit of each run.
    public static let profiling = ProcessInfo.processInfo.environment["WEIGHTKIT_PROFILE"] != nil
    nonisolated(unsafe) static var profile = [String: UInt64]()

    static func recordProfile(_ op: Op, _ ns: UInt64) {
        let kind = "\(op)".prefix { $0 != "(" }
        profile[String(kind), default: 0] += ns
    }

    /// Prints and clears the per-op-kind times.
    public static func printProfile() {
        for (k, v) in profile.sorted(by: { $0.value > $1.value }) {
            writeStandardError("  \(k.padding(toLength: 20, withPad: " ", startingAt: 0)) \(String(format: "%8.2f", Double(v) / 1e6)) ms\n")
        }
        profile = [:]
    }

    /// a ⊙ b elementwise (same length), over raw pointers.
    @inline(__always) private func elementwise(_ a: [Float], _ b: [Float], _ f: (Float, Float) -> Float) -> [Float] {
        precondition(a.count == b.count, "elementwise operands differ in length")
        return a.withUnsafeBufferPointer { x in
            b.withUnsafeBufferPointer { y in
                [Float](unsafeUninitializedCapacity: x.count) { buf, n in
                    let xp = x.baseAddress!, yp = y.baseAddress!, op = buf.baseAddress!
                    for i in 0..<x.count { op[i] = f(xp[i], yp[i]) }
                    n = x.count
                }
            }
        }
    }

    private func output(_ count: Int, _ fill: (UnsafeMutablePointer<Float>) throws -> Void) throws -> [Float] {
        try [Float](unsafeUninitializedCapacity: count) { buf, n in
            try fill(buf.baseAddress!)
            n = count
        }
    }

    /// For each op index, the activations last read there (freed after it runs).
    private func lastUses() -> [Int: [String]] {
        var last = [String: Int]()
        for (i, op) in graph.ops.enumerated() { for x in op.inputs { last[x] = i } }
        var byIndex = [Int: [String]]()
        for (name, i) in last { byIndex[i, default: []].append(name) }
        return byIndex
    }
}
