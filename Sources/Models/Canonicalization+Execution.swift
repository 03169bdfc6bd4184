// How the Executor runs a graph's weights, decided from the same transform values convert and diff
// use: for every weight, `Canonicalization.steps` from its stored transform to canonical form. The
// executor realises two kinds of step without copying:
//   - a transpose (GPT's Conv1D `[in, out]`): BLAS reads the stored matrix with its transpose flag;
//   - the Q/K row map from interleaved to half-split RoPE order, when every weight feeding a RoPE op
//     carries exactly that map for the op's heads: RoPE pairing dimensions (2i, 2i+1) on the stored
//     rows computes the same as half-split RoPE (i, i + hd/2) on canonical rows (QKOrder.swift), so the
//     rows stay as stored and RoPE runs interleaved. When the rotation covers only the first dimensions
//     of each head the two are not the same function; the stored rows then mean what llama.cpp (and
//     Meta's code) compute on them, the interleaved pairing, so RoPE keeps them as stored there too
//     (convert refuses to reorder such rows).
// Any other row map is applied, by `Canonicalization.apply`, when the weight is widened.

import TensorCore

/// The executor's plan for a graph's weights (`Canonicalization.execution`).
public struct ExecutionForms: Sendable, Equatable {
    /// Weights stored `[in, out]`: the steps to canonical form transpose them, and BLAS does it.
    public var blasTransposed: Set<String> = []
    /// Row maps applied when the weight is widened (destination row i is stored row `map[i]`).
    public var rowMaps: [String: [Int]] = [:]
    /// The pairing RoPE uses: `.interleaved` when the Q/K row maps are left to RoPE, else `.half`
    /// (canonical rows).
    public var ropeStyle: RoPEStyle = .half

    public init() {}
}

extension Canonicalization {
    /// The steps from each of `graph`'s weights to canonical form, and which of them the executor
    /// realises without copying (see the file's opening comment). Throws, naming the weight, when a
    /// weight's rows cannot be regrouped into its heads.
    public static func execution(_ graph: ModelGraph) throws -> ExecutionForms {
        var forms = ExecutionForms()
        var maps = [String: [Int]]()
        for name in graph.weights.keys.sorted() {
            let w = graph.weights[name]!
            let s: TransformSteps
            do {
                s = try steps(from: w.transform, to: .identity, shape: w.shape)
            } catch let e as ModelError {
                throw ModelError(w.source.name, "\(name): \(e.message)")
            }
            if s.transpose { forms.blasTransposed.insert(name) }
            if let m = s.rowMap { maps[name] = m }
        }
        guard !maps.isEmpty else { return forms }
        if ropeAbsorbs(maps, graph) {
            forms.ropeStyle = .interleaved
        } else {
            forms.rowMaps = maps
        }
        return forms
    }

    /// Whether interleaved RoPE on the stored rows is the whole of what `maps` ask: every weight with a
    /// row map feeds a RoPE op (as the weight or bias of the linear op whose output it rotates), every
    /// weight feeding a RoPE op has a map, each map is the interleaved → half-split map of that op's
    /// heads (whole or partial rotation: see the file's opening comment).
    static func ropeAbsorbs(_ maps: [String: [Int]], _ graph: ModelGraph) -> Bool {
        let c = graph.config
        guard c.rope != nil else { return false }
        var producer = [String: (weight: String, bias: String?)]()
        var fed = Set<String>()
        for op in graph.ops {
            switch op {
            case .linear(let out, _, let weight, let bias):
                producer[out] = (weight, bias)
            case .rope(let x, let heads):
                guard let p = producer[x] else { return false }
                for name in [p.weight] + (p.bias.map { [$0] } ?? []) {
                    guard let rows = graph.weights[name]?.shape.first, let m = maps[name],
                        m == QKOrder.sourceRows(rows: rows, heads: heads, from: .interleaved, to: .half),
                        rows == heads * c.headDim
                    else { return false }
                    fed.insert(name)
                }
            default:
                if let out = op.output { producer[out] = nil }
            }
        }
        return fed == Set(maps.keys)
    }
}
