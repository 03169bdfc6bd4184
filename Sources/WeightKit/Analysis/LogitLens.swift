// The logit lens (nostalgebraist 2020): decode each layer's hidden state through the model's own
// final norm and unembedding, as if the network stopped there. HF's hidden_states (layouts.md §2)
// decide where the norm applies: GPT-2 and LLaMA normalise hidden_states.0…L−1 (the raw residual
// stream) but not hidden_states.L, which is already after the final norm; GPT-1 has no final norm.
// The decoding runs in the executor: a small graph whose "embedding table" is the hidden states,
// followed by the model's own final-norm op and head, bound to the model's own weights.

import Foundation

/// One position of one layer: the top-K (token id, logit) and the top-1's softmax probability.
public struct LensPosition: Sendable {
    public let top: [(id: Int, logit: Float)]
    public let topProbability: Double
}

/// One layer of the lens.
public struct LensLayer: Sendable {
    /// 0 is the embedding output; L the last hidden state.
    public let layer: Int
    /// Whether the final norm was applied before the unembedding.
    public let normalised: Bool
    public let positions: [LensPosition]
}

/// The logit lens of a model on one sequence.
public struct LogitLens: Sendable {
    public let model: String
    public let tokens: [Int]
    public let layers: [LensLayer]

    /// Decodes `hidden_states.0…L` of `model` on `tokens`, keeping the top `k` per position.
    public static func run(_ model: LoadedModel, name: String, tokens: [Int], top k: Int) throws -> LogitLens {
        guard k >= 1 else { throw WeightKitError("--top must be at least 1") }
        let c = model.graph.config
        let t = tokens.count
        let acts = try Executor(graph: model.graph).run(batch: [tokens], record: Set((0...c.layers).map { "hidden_states.\($0)" }))
        var hidden = [[Float]]()
        for l in 0...c.layers {
            guard let h = acts["hidden_states.\(l)"] else { throw WeightKitError("\(name): the run recorded no hidden_states.\(l)") }
            hidden.append(h.values)
        }
        let normalise = (0...c.layers).map { c.finalNorm && $0 < c.layers }
        let normed = try decode(model, name: name, rows: zip(hidden, normalise).filter { $0.1 }.flatMap { $0.0 }, normalise: true)
        let raw = try decode(model, name: name, rows: zip(hidden, normalise).filter { !$0.1 }.flatMap { $0.0 }, normalise: false)
        let v = model.graph.weights["head.weight"]!.shape[0]
        var layers = [LensLayer]()
        var (ni, ri) = (0, 0)
        for l in 0...c.layers {
            let source: [Float]
            let row: Int
            if normalise[l] {
                (source, row) = (normed, ni)
                ni += t
            } else {
                (source, row) = (raw, ri)
                ri += t
            }
            let positions = (0..<t).map { p in
                topK(Array(source[((row + p) * v)..<((row + p + 1) * v)]), k: k)
            }
            layers.append(LensLayer(layer: l, normalised: normalise[l], positions: positions))
        }
        return LogitLens(model: name, tokens: tokens, layers: layers)
    }

    /// The top `k` of a logit row (ties to the lower id) and the top-1 softmax probability.
    static func topK(_ logits: [Float], k: Int) -> LensPosition {
        let best = logits.enumerated().sorted { $0.element > $1.element || ($0.element == $1.element && $0.offset < $1.offset) }.prefix(k)
        let m = Double(best.first?.element ?? 0)
        let z = logits.reduce(0.0) { $0 + Foundation.exp(Double($1) - m) }
        return LensPosition(top: best.map { ($0.offset, $0.element) }, topProbability: 1 / z)
    }

    /// Logits `[rows/D, V]` of hidden-state rows `[n, D]`: (final norm, if asked, then) the head,
    /// run by the executor with the model's own weights.
    static func decode(_ model: LoadedModel, name: String, rows: [Float], normalise: Bool) throws -> [Float] {
        var c = model.graph.config
        let d = c.hiddenSize
        guard !rows.isEmpty else { return [] }
        let n = rows.count / d
        guard let head = model.graph.weights["head.weight"] else { throw WeightKitError("\(name): the graph binds no head.weight") }
        let table = try Tensor(name: "lens.hidden", shape: [n, d], floats: rows)
        var weights: [String: BoundWeight] = [
            "lens.hidden": BoundWeight(name: "lens.hidden", source: TensorEntry(table), shape: [n, d], transposed: false),
            "head.weight": head,
        ]
        var ops: [Op] = [.embedding(out: "h", table: "lens.hidden")]  // [n, D]
        var widths = ["h": d]
        var x = "h"
        if normalise {
            guard let gamma = model.graph.weights["final_norm.weight"] else { throw WeightKitError("\(name): the graph binds no final_norm.weight") }
            weights["final_norm.weight"] = gamma
            switch c.norm {
            case .layerNorm:
                let beta = model.graph.weights["final_norm.bias"]
                if let beta { weights["final_norm.bias"] = beta }
                ops.append(.layerNorm(out: "normed", x: x, weight: "final_norm.weight", bias: beta == nil ? nil : "final_norm.bias", eps: c.normEps))
            case .rmsNorm:
                ops.append(.rmsNorm(out: "normed", x: x, weight: "final_norm.weight", eps: c.normEps))
            }
            widths["normed"] = d  // [n, D]
            x = "normed"
        }
        ops.append(.linear(out: "logits", x: x, weight: "head.weight", bias: nil))  // [n, V]
        widths["logits"] = head.shape[0]
        ops.append(.record(name: "logits", x: "logits"))
        // Row ids index the table, not the vocabulary; positions are not used.
        c.vocabSize = max(c.vocabSize, n)
        c.learnedPositions = false
        c.rope = nil
        let graph = ModelGraph(config: c, ops: ops, weights: weights, widths: widths, naming: model.graph.naming + " (logit lens)")
        let acts = try Executor(graph: graph).run(batch: [Array(0..<n)], record: ["logits"])
        return acts["logits"]!.values
    }
}
