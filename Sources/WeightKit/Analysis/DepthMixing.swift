// The residual stream over depth: what each block writes into it and how each layer's stream is made
// of the earlier ones (Formats/analysis.md §4). The stream r_0…r_L is the model's hidden states, except
// that the last one is taken before the final norm (GPT-2 ln_f, LLaMA norm), where Hugging Face's
// hidden_states.L is after it. All sums in double.
//
//   write        Δ_ℓ = r_ℓ − r_{ℓ−1}, ℓ = 1…L: block ℓ's write (pre-norm: its attention + MLP output
//                exactly; post-norm: the net change, the stream being renormalised)
//   write_norm   mean over tokens of ‖Δ_ℓ[t]‖;  write_cosine  mean over tokens of cos(Δ_ℓ[t], r_{ℓ−1}[t])
//   shares       s_ℓ,j = mean over tokens of ⟨u_j[t], r_ℓ[t]⟩ ÷ ‖r_ℓ[t]‖², u_0 = r_0, u_j = Δ_j: since
//                r_ℓ = r_0 + Δ_1 + … + Δ_ℓ, each row sums to 1
//   weights      α_ℓ = argmin ‖r_ℓ − Σ_{j<ℓ} α_ℓ,j r_j‖_F over all tokens: DenseFormer's depth-weighted
//                average of the earlier block outputs, fitted after the fact (Householder QR); r2 is
//                1 − ‖residual‖²/‖r_ℓ‖²

import Foundation

/// Depth mixing of one model on one sequence.
public struct DepthMixing: Sendable {
    /// One layer ℓ of the stream.
    public struct Layer: Sendable {
        public let layer: Int
        /// Mean over tokens of ‖r_ℓ[t]‖.
        public let streamNorm: Double
        /// Mean over tokens of ‖Δ_ℓ[t]‖ (nil at layer 0).
        public let writeNorm: Double?
        /// Mean over tokens of cos(Δ_ℓ[t], r_{ℓ−1}[t]) (nil at layer 0).
        public let writeCosine: Double?
        /// s_ℓ,0…s_ℓ,ℓ: the share of r_ℓ along the embedding and each block's write; they sum to 1.
        public let shares: [Double]
        /// α_ℓ,0…α_ℓ,ℓ−1: least-squares weights of r_0…r_{ℓ−1} (empty at layer 0).
        public let weights: [Double]
        /// The fraction of ‖r_ℓ‖² the weights explain (nil at layer 0).
        public let r2: Double?
    }

    public let model: String
    public let tokens: [Int]
    public let layers: [Layer]

    /// Runs `model` on `tokens` and measures its residual stream.
    public static func run(_ model: LoadedModel, name: String, tokens: [Int]) throws -> DepthMixing {
        let stream = try residualStream(model, name: name, tokens: tokens)
        return DepthMixing(model: name, tokens: tokens, layers: measure(stream: stream, tokens: tokens.count))
    }

    /// The raw residual stream r_0…r_L, each `[T, D]`: hidden_states.0…L−1 and the input of the final
    /// norm (or hidden_states.L when the model has none), recorded by the executor.
    public static func residualStream(_ model: LoadedModel, name: String, tokens: [Int]) throws -> [[Float]] {
        let g = model.graph
        let layers = g.config.layers
        let last = "depth_mixing.stream.\(layers)"
        var ops = [Op]()
        var found = !g.config.finalNorm
        for op in g.ops {
            switch op {
            case .layerNorm(_, let x, "final_norm.weight", _, _), .rmsNorm(_, let x, "final_norm.weight", _):
                ops.append(.record(name: last, x: x))
                found = true
            default: break
            }
            ops.append(op)
        }
        guard found else { throw WeightKitError("\(name): the graph has no final norm op to take the last residual stream from") }
        let graph = ModelGraph(config: g.config, ops: ops, weights: g.weights, widths: g.widths, naming: g.naming)
        let names = (0..<layers).map { "hidden_states.\($0)" } + [g.config.finalNorm ? last : "hidden_states.\(layers)"]
        let acts = try Executor(graph: graph).run(batch: [tokens], record: Set(names))
        return try names.map { n in
            guard let a = acts[n] else { throw WeightKitError("\(name): the run recorded no \(n)") }
            return a.values
        }
    }

    /// The measures of a stream r_0…r_L, each `[T, D]` row-major.
    public static func measure(stream: [[Float]], tokens t: Int) -> [Layer] {
        precondition(!stream.isEmpty && t > 0)
        let r = stream.map { $0.map(Double.init) }
        let d = r[0].count / t
        precondition(r.allSatisfy { $0.count == t * d })
        func row(_ v: [Double], _ i: Int) -> ArraySlice<Double> { v[(i * d)..<((i + 1) * d)] }
        func dot(_ a: ArraySlice<Double>, _ b: ArraySlice<Double>) -> Double { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }
        func meanOverTokens(_ f: (Int) -> Double) -> Double { (0..<t).reduce(0) { $0 + f($1) } / Double(t) }
        var parts = [r[0]]  // u_0 = r_0, u_j = Δ_j
        var out = [Layer]()
        for l in 0..<r.count {
            if l > 0 { parts.append(zip(r[l], r[l - 1]).map { $0 - $1 }) }
            let streamNorm = meanOverTokens { dot(row(r[l], $0), row(r[l], $0)).squareRoot() }
            let shares = parts.map { u in
                meanOverTokens { i in
                    let n2 = dot(row(r[l], i), row(r[l], i))
                    return n2 > 0 ? dot(row(u, i), row(r[l], i)) / n2 : 0
                }
            }
            guard l > 0 else {
                out.append(Layer(layer: 0, streamNorm: streamNorm, writeNorm: nil, writeCosine: nil, shares: shares, weights: [], r2: nil))
                continue
            }
            let write = parts[l]
            let writeNorm = meanOverTokens { dot(row(write, $0), row(write, $0)).squareRoot() }
            let cosine = meanOverTokens { i in
                let n = (dot(row(write, i), row(write, i)) * dot(row(r[l - 1], i), row(r[l - 1], i))).squareRoot()
                return n > 0 ? dot(row(write, i), row(r[l - 1], i)) / n : 0
            }
            let (weights, r2) = leastSquares(columns: Array(r[0..<l]), target: r[l])
            out.append(Layer(layer: l, streamNorm: streamNorm, writeNorm: writeNorm, writeCosine: cosine, shares: shares, weights: weights, r2: r2))
        }
        return out
    }

    /// argmin_α ‖target − Σ α_j columns[j]‖ by Householder QR, and 1 − ‖residual‖²/‖target‖². A column
    /// that adds nothing new (its R diagonal below 1e-12 of the largest) gets weight 0.
    static func leastSquares(columns: [[Double]], target: [Double]) -> (weights: [Double], r2: Double) {
        let k = columns.count
        let n = target.count
        var a = columns  // a[j] is column j; overwritten by R (upper part) and the reflectors
        var b = target
        var diag = [Double](repeating: 0, count: k)
        for j in 0..<k {
            var norm = 0.0
            for i in j..<n { norm += a[j][i] * a[j][i] }
            norm = norm.squareRoot()
            guard norm > 0 else { continue }
            let alpha = a[j][j] > 0 ? -norm : norm
            var v = [Double](repeating: 0, count: n)  // Householder vector on rows j…n−1
            for i in j..<n { v[i] = a[j][i] }
            v[j] -= alpha
            var vv = 0.0
            for i in j..<n { vv += v[i] * v[i] }
            guard vv > 0 else {
                diag[j] = alpha
                continue
            }
            func reflect(_ x: inout [Double]) {
                var s = 0.0
                for i in j..<n { s += v[i] * x[i] }
                let f = 2 * s / vv
                for i in j..<n { x[i] -= f * v[i] }
            }
            for c in j..<k { reflect(&a[c]) }
            reflect(&b)
            diag[j] = a[j][j]
        }
        let largest = diag.map(abs).max() ?? 0
        var w = [Double](repeating: 0, count: k)
        for j in stride(from: k - 1, through: 0, by: -1) {
            guard abs(diag[j]) > 1e-12 * largest else { continue }
            var s = b[j]
            for c in (j + 1)..<max(k, j + 1) { s -= a[c][j] * w[c] }
            w[j] = s / a[j][j]
        }
        var residual = 0.0
        var total = 0.0
        for i in 0..<n {
            var fit = 0.0
            for j in 0..<k { fit += w[j] * columns[j][i] }
            residual += (target[i] - fit) * (target[i] - fit)
            total += target[i] * target[i]
        }
        return (w, total > 0 ? 1 - residual / total : 0)
    }
}
