// Rank collapse (Dong, Cordonnier, Loukas 2021): res(X) = X − 1xᵀ with x = argmin‖X − 1xᵀ‖. In the
// Frobenius norm the minimiser is the token mean, so ‖res(X)‖_F = ‖X − 1·mean_tokens(X)‖_F. Measured
// per layer on synthetic stacks (SyntheticStack) or on a model's hidden states.

import Foundation

/// The residual measure.
public enum Residual {
    /// ‖X − 1·mean(X)‖_F for X row-major `[rows, cols]` (rows are tokens), in double.
    public static func tokenMeanRemoved(_ x: [Float], rows: Int, cols: Int) -> Double {
        precondition(x.count == rows * cols)
        var mean = [Double](repeating: 0, count: cols)
        for r in 0..<rows { for j in 0..<cols { mean[j] += Double(x[r * cols + j]) } }
        for j in 0..<cols { mean[j] /= Double(max(rows, 1)) }
        var s = 0.0
        for r in 0..<rows {
            for j in 0..<cols {
                let d = Double(x[r * cols + j]) - mean[j]
                s += d * d
            }
        }
        return s.squareRoot()
    }

    /// ‖X‖_F.
    public static func frobenius(_ x: [Float]) -> Double { x.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot() }
}

/// Per-layer residuals of one stack or model: absolute ‖res(X)‖_F and relative ‖res(X)‖_F ÷ ‖X‖_F.
public struct ResidualSeries: Sendable {
    public let name: String
    public let absolute: [Double]
    public let relative: [Double]

    public init(name: String, absolute: [Double], relative: [Double]) {
        self.name = name
        self.absolute = absolute
        self.relative = relative
    }
}

/// The outcome of a rank-collapse run: one value per layer 0…L for each series.
public struct RankCollapseResult: Sendable {
    public let layers: [Int]
    public let series: [ResidualSeries]

    public init(layers: [Int], series: [ResidualSeries]) {
        self.layers = layers
        self.series = series
    }
}

/// The rank-collapse experiment.
public enum RankCollapse {
    /// The experiment on synthetic stacks. `causal` setup: averages over `samples` independent draws of
    /// weights and input; sample s uses the generator seeded with `seed &+ s`, so results do not depend on
    /// the order samples run in. `published` setup: as the PyTorch script, one draw of weights (seeded with
    /// `seed`) and a batch of `samples` inputs, averaged over the batch. `mask` defaults to the setup's.
    public static func synthetic(
        shape: StackShape, setup: StackSetup = .causal, mask: StackMask? = nil, samples: Int, seed: UInt64
    ) throws -> RankCollapseResult {
        try shape.validate()
        guard samples >= 1, samples <= 100_000 else { throw WeightKitError("--samples is \(samples), outside 1…100000") }
        let variants = StackVariant.allCases
        var abs = [[Double]](repeating: [Double](repeating: 0, count: shape.depth + 1), count: variants.count)
        var rel = abs
        let record = Set((0...shape.depth).map { "hidden_states.\($0)" })
        let draws = setup == .causal ? samples : 1
        let inputs = setup == .causal ? 1 : samples
        let size = shape.tokens * shape.width
        for s in 0..<draws {
            var rng = SeededGenerator(seed: seed &+ UInt64(s))
            let stack = try SyntheticStack(shape: shape, setup: setup, inputs: inputs, rng: &rng)
            for (vi, v) in variants.enumerated() {
                let acts = try Executor(graph: try stack.graph(v, mask: mask)).run(batch: stack.batch, record: record)
                for l in 0...shape.depth {
                    let h = acts["hidden_states.\(l)"]!.values  // [inputs, T, D]
                    for b in 0..<inputs {
                        let x = Array(h[(b * size)..<((b + 1) * size)])
                        let r = Residual.tokenMeanRemoved(x, rows: shape.tokens, cols: shape.width)
                        abs[vi][l] += r / Double(samples)
                        rel[vi][l] += r / max(Residual.frobenius(x), .leastNormalMagnitude) / Double(samples)
                    }
                }
            }
        }
        return RankCollapseResult(
            layers: Array(0...shape.depth),
            series: variants.enumerated().map { ResidualSeries(name: $1.rawValue, absolute: abs[$0], relative: rel[$0]) })
    }

    /// The same measure on a model's hidden states `hidden_states.0…L` for one sequence. For GPT-2 and
    /// LLaMA the last is after the final norm (layouts.md §2), so its absolute value is on another scale.
    public static func model(_ model: LoadedModel, name: String, tokens: [Int]) throws -> RankCollapseResult {
        let layers = model.graph.config.layers
        let acts = try Executor(graph: model.graph).run(batch: [tokens], record: Set((0...layers).map { "hidden_states.\($0)" }))
        var a = [Double]()
        var r = [Double]()
        for l in 0...layers {
            guard let h = acts["hidden_states.\(l)"] else { throw WeightKitError("\(name): the run recorded no hidden_states.\(l)") }
            let v = Residual.tokenMeanRemoved(h.values, rows: tokens.count, cols: h.values.count / tokens.count)
            a.append(v)
            r.append(v / max(Residual.frobenius(h.values), .leastNormalMagnitude))
        }
        return RankCollapseResult(layers: Array(0...layers), series: [ResidualSeries(name: name, absolute: a, relative: r)])
    }
}
