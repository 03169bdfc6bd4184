// Runs a ModelGraph on the CPU in float32: ops in order over named [T, width] buffers, weights
// from the WeightStore, GEMMs in OpenBLAS, attention heads in parallel. A Session keeps a KV
// cache so decoding one token reuses the keys and values of the tokens before it.

import Foundation
import Models
import TensorCore

/// A CPU executor for one model graph.
public final class Executor {
    public let graph: ModelGraph
    private let store: WeightStore
    private let inverseFrequencies: [Float]

    /// Prepares to run `graph`. `threads` sets OpenBLAS's thread count (default: all cores).
    public init(graph: ModelGraph, threads: Int? = nil) {
        self.graph = graph
        self.store = WeightStore(weights: graph.weights)
        self.inverseFrequencies = graph.config.rope.map(Kernels.ropeInverseFrequencies) ?? []
        Kernels.setBLASThreads(threads ?? ProcessInfo.processInfo.activeProcessorCount)
    }

    /// Widens or dequantizes every weight now rather than on first use.
    public func preload() throws { try store.preload() }

    /// Key/value cache of one sequence.
    public final class Session {
        var keys: [[Float]]
        var values: [[Float]]
        /// Tokens seen so far.
        public private(set) var length = 0

        init(layers: Int) {
            keys = Array(repeating: [], count: layers)
            values = Array(repeating: [], count: layers)
        }

        func advance(by n: Int) { length += n }
    }

    /// A fresh cache.
    public func makeSession() -> Session { Session(layers: graph.config.layers) }

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
    public func run(tokens: [Int], session: Session, record: Set<String>? = nil) throws -> Activations {
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
        var buffers = [String: [Float]]()
        var out = Activations()
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
                if let sm = try store.stored(w) {
                    buffers[o] = try output(rows * outF) { y in
                        buffers[x]!.withUnsafeBufferPointer { Kernels.linearStored($0.baseAddress!, rows: rows, weight: sm, bias: bp, into: y) }
                    }
                    break
                }
                let wp = try store.pointer(w)
                // The head only needs the last position when the caller records nothing else of it.
                buffers[o] = try output(rows * outF) { y in
                    buffers[x]!.withUnsafeBufferPointer {
                        Kernels.linear($0.baseAddress!, rows: rows, inFeatures: inF, weight: wp, outFeatures: outF, transposed: bw.transposed, bias: bp, into: y)
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
                guard let rope = c.rope else { break }
                var v = buffers.removeValue(forKey: x)!
                v.withUnsafeMutableBufferPointer {
                    Kernels.rope($0.baseAddress!, rows: rows, heads: heads, headDim: c.headDim, start: start, rope: rope, inverseFrequencies: inverseFrequencies)
                }
                buffers[x] = v
            case .attention(let o, let q, let k, let v, let layer, let probsName):
                session.keys[layer] += buffers[k]!
                session.values[layer] += buffers[v]!
                let keys = start + rows
                let wantProbs = wanted(probsName)
                var probs = wantProbs ? [Float](repeating: 0, count: c.heads * rows * keys) : []
                let qv = buffers[q]!
                buffers[o] = try output(rows * c.heads * c.headDim) { y in
                    qv.withUnsafeBufferPointer { qp in
                        session.keys[layer].withUnsafeBufferPointer { kp in
                            session.values[layer].withUnsafeBufferPointer { vp in
                                probs.withUnsafeMutableBufferPointer { pp in
                                    Kernels.attention(
                                        q: qp.baseAddress!, k: kp.baseAddress!, v: vp.baseAddress!, rows: rows, start: start, config: c,
                                        layer: layer, into: y, probs: wantProbs ? pp.baseAddress! : nil)
                                }
                            }
                        }
                    }
                }
                if wantProbs { out.items.append(RecordedActivation(name: probsName, shape: [1, c.heads, rows, keys], values: probs)) }
            case .record(let name, let x):
                if wanted(name) {
                    let v = buffers[x]!
                    out.items.append(RecordedActivation(name: name, shape: [1, rows, v.count / rows], values: v))
                }
            }
            for name in lastUse[index] ?? [] { buffers[name] = nil }
        }
        session.advance(by: rows)
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
