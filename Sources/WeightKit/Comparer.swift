// compare: run two checkpoints of the same model (any formats, any dtypes) on the same tokens and
// measure how far apart they are, as llama.cpp's `llama-perplexity --kl-divergence` reports it:
//
//   per layer   rel_error = ‖h_B − h_A‖_F ÷ ‖h_A‖_F of each hidden state (A is the reference)
//   logits      KL(P_A ‖ P_B) = Σ_v p_A(v)·(log p_A(v) − log p_B(v)) per position (softmax in float64),
//               its mean and max over positions, and the fraction of positions whose top-1 token agrees
//   perplexity  exp(mean −log p(x_{t+1} | x_≤t)) of each model over a text, in windows of the context
//
// Logits are compared at every position of every window; hidden states when both models have the same
// number of layers and width.

import Foundation

/// What `compare` measured.
public struct Comparison: Sendable {
    public struct Layer: Sendable {
        public let name: String
        public let relError: Double
    }
    public var layers: [Layer]
    public var klMean: Double
    public var klMax: Double
    public var top1Agreement: Double
    /// Positions compared.
    public var positions: Int
    /// Perplexity of A and B over the text (only for text input).
    public var perplexity: (a: Double, b: Double)?

    /// `{"layers": [{"name", "rel_error"}], "logits": {"kl_mean", "kl_max", "top1_agreement"}, "perplexity": {"a", "b"}}`.
    public var json: JSONValue {
        var obj: [(String, JSONValue)] = [
            ("layers", .array(layers.map { .object([("name", .string($0.name)), ("rel_error", .double($0.relError))]) })),
            ("logits", .object([
                ("kl_mean", .double(klMean)), ("kl_max", .double(klMax)), ("top1_agreement", .double(top1Agreement)),
                ("positions", .int(positions)),
            ])),
        ]
        if let p = perplexity { obj.append(("perplexity", .object([("a", .double(p.a)), ("b", .double(p.b))]))) }
        return .object(obj)
    }
}

public enum Comparer {
    /// Compares B with A on `windows` (each a token sequence run from scratch). `perplexity` computes each
    /// model's perplexity over the windows (next-token predictions inside each window).
    public static func compare(_ a: LoadedModel, _ b: LoadedModel, windows: [[Int]], perplexity: Bool) throws -> Comparison {
        let ca = a.graph.config, cb = b.graph.config
        guard ca.vocabSize == cb.vocabSize else {
            throw WeightKitError("the two models have different vocabularies (\(ca.vocabSize) and \(cb.vocabSize) tokens)")
        }
        let sameShape = ca.layers == cb.layers && ca.hiddenSize == cb.hiddenSize
        var record: Set<String> = ["logits"]
        let hiddenNames = (0...ca.layers).map { "hidden_states.\($0)" }.filter { a.graph.recordedNames.contains($0) }
        if sameShape { record.formUnion(hiddenNames) }
        let ea = Executor(graph: a.graph, int8Prefill: false), eb = Executor(graph: b.graph, int8Prefill: false)
        let v = ca.vocabSize
        var sq = [String: (diff: Double, ref: Double)]()
        var klSum = 0.0, klMax = 0.0, agree = 0, positions = 0
        var nllA = 0.0, nllB = 0.0, predicted = 0
        for w in windows where !w.isEmpty {
            let ra = try ea.run(tokens: w, session: ea.makeSession(), record: record)
            let rb = try eb.run(tokens: w, session: eb.makeSession(), record: record)
            if sameShape {
                for n in hiddenNames {
                    guard let x = ra[n]?.values, let y = rb[n]?.values, x.count == y.count else { continue }
                    var d = 0.0, r = 0.0
                    for i in x.indices {
                        let e = Double(y[i]) - Double(x[i])
                        d += e * e
                        r += Double(x[i]) * Double(x[i])
                    }
                    let s = sq[n] ?? (0, 0)
                    sq[n] = (s.diff + d, s.ref + r)
                }
            }
            let la = ra["logits"]!.values, lb = rb["logits"]!.values
            for t in 0..<w.count {
                let (lpA, topA) = logSoftmax(la, row: t, width: v)
                let (lpB, topB) = logSoftmax(lb, row: t, width: v)
                var kl = 0.0
                for j in 0..<v where lpA[j] > -700 { kl += exp(lpA[j]) * (lpA[j] - lpB[j]) }
                kl = max(kl, 0)
                klSum += kl
                klMax = max(klMax, kl)
                if topA == topB { agree += 1 }
                positions += 1
                if perplexity, t + 1 < w.count {
                    nllA -= lpA[w[t + 1]]
                    nllB -= lpB[w[t + 1]]
                    predicted += 1
                }
            }
        }
        guard positions > 0 else { throw WeightKitError("no tokens to compare") }
        let layers = hiddenNames.compactMap { n in sq[n].map { Comparison.Layer(name: n, relError: $0.ref > 0 ? ($0.diff / $0.ref).squareRoot() : ($0.diff == 0 ? 0 : .infinity)) } }
        var c = Comparison(
            layers: layers, klMean: klSum / Double(positions), klMax: klMax, top1Agreement: Double(agree) / Double(positions),
            positions: positions, perplexity: nil)
        if perplexity {
            guard predicted > 0 else { throw WeightKitError("the text is too short for a perplexity (it needs two tokens in a window)") }
            c.perplexity = (exp(nllA / Double(predicted)), exp(nllB / Double(predicted)))
        }
        return c
    }

    /// log softmax of one row, in float64, and the index of its largest logit (lowest among equals).
    static func logSoftmax(_ logits: [Float], row: Int, width v: Int) -> ([Double], Int) {
        var top = 0
        var m = -Double.infinity
        for j in 0..<v {
            let x = Double(logits[row * v + j])
            if x > m {
                m = x
                top = j
            }
        }
        var s = 0.0
        for j in 0..<v { s += exp(Double(logits[row * v + j]) - m) }
        let lse = m + log(s)
        return ((0..<v).map { Double(logits[row * v + $0]) - lse }, top)
    }

    /// Cuts a long token sequence into windows of at most `size` tokens.
    public static func windows(_ ids: [Int], size: Int) -> [[Int]] {
        stride(from: 0, to: ids.count, by: max(size, 2)).map { Array(ids[$0..<min($0 + max(size, 2), ids.count)]) }
    }
}
