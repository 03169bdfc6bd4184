// The pictures of the three analyses, as SVG documents.

import Foundation

extension AttentionSpectrum {
    /// Mean σ_max over heads per layer, one line per model, with the min…max band over heads and
    /// the bounds 1 and √T as dashed lines. `input` (e.g. the prompt) is named in the subtitle.
    public static func chart(_ spectra: [AttentionSpectrum], input: String? = nil) -> LineChart {
        let tokenCounts = Set(spectra.map(\.tokens))
        var refs = [LineChart.Reference(y: 1, label: "lower bound 1")]
        for t in tokenCounts.sorted() {
            refs.append(.init(y: Double(t).squareRoot(), label: "upper bound √T = √\(t)"))
            // Uniform causal attention (row t spread evenly over tokens 0…t): where an untrained model sits.
            var u = [Float](repeating: 0, count: t * t)
            for r in 0..<t { for c in 0...r { u[r * t + c] = 1 / Float(r + 1) } }
            refs.append(.init(y: SpectralNorm.largestSingularValue(u, rows: t, cols: t), label: "uniform causal attention, T = \(t)"))
        }
        return LineChart(
            title: "Spectral norm of attention matrices per layer",
            subtitle: "mean over heads (line), min…max over heads (band); T = \(tokenCounts.sorted().map(String.init).joined(separator: ", ")) tokens"
                + (input.map { " of " + TokenLabel.oneLine($0, limit: 40) } ?? ""),
            xLabel: "layer", yLabel: "σ_max(attention probabilities)",
            series: spectra.map { s in
                LineChart.Series(
                    name: s.model, points: s.layers.map { (Double($0.layer), $0.mean) },
                    band: s.layers.map { (Double($0.layer), $0.min, $0.max) })
            },
            references: refs)
    }
}

extension RankCollapseResult {
    /// The residual per layer on a log axis, one line per series: absolute ‖X − 1·mean(X)‖_F, or
    /// relative to ‖X‖_F.
    public func chart(title: String = "Rank collapse: distance from rank 1 per layer", subtitle: String, relative: Bool = false) -> LineChart {
        LineChart(
            title: title,
            subtitle: subtitle,
            xLabel: "layer (0 = input)", yLabel: relative ? "‖X − 1·mean(X)‖_F ÷ ‖X‖_F" : "‖X − 1·mean(X)‖_F", logY: true,
            series: series.map { s in
                LineChart.Series(name: s.name, points: zip(layers, relative ? s.relative : s.absolute).map { (Double($0), $1) })
            })
    }
}

extension LogitLens {
    /// Layers × positions; each cell shows the top-1 token, coloured by its probability. With a tokenizer
    /// the input tokens along the bottom and the cell text are token strings, otherwise ids.
    public func heatmap(tokenizer: Tokenizer? = nil) -> Heatmap {
        let rows = layers.reversed()
        let what = tokenizer == nil ? "id" : "string"
        return Heatmap(
            title: "Logit lens: top-1 token per layer and position",
            subtitle: "\(model): cell text = top-1 token \(what), colour = its softmax probability; input tokens along the bottom",
            xLabel: tokenizer == nil ? "position (input token id)" : "input token (position)", yLabel: "layer",
            rowLabels: rows.map { "\($0.layer)" },
            columnLabels: tokens.enumerated().map { p, id in
                tokenizer == nil ? "\(p) (\(id))" : "\(TokenLabel.label(id, tokenizer: tokenizer)) (\(p))"
            },
            values: rows.map { $0.positions.map(\.topProbability) },
            text: rows.map { $0.positions.map { $0.top.first.map { TokenLabel.label($0.id, tokenizer: tokenizer, limit: 7) } ?? "" } },
            colourLabel: "p(top-1)", range: 0...1)
    }
}

extension DepthMixing {
    /// Layers ℓ (rows, last on top) × earlier block outputs j (columns): the least-squares weight α_ℓ,j
    /// of r_j in r_ℓ, on a blue–white–red scale; R² in the row label.
    public func weightsHeatmap(subtitle: String) -> Heatmap {
        let rows = layers.filter { $0.layer > 0 }.reversed()
        let count = layers.count - 1
        let values = rows.map { l in (0..<count).map { j in j < l.weights.count ? l.weights[j] : .nan } }
        let m = max(1, values.flatMap { $0 }.filter(\.isFinite).map(abs).max() ?? 1)
        return Heatmap(
            title: "Depth mixing: hidden state ℓ as a weighted sum of earlier block outputs",
            subtitle: subtitle,
            xLabel: "earlier block output r_j (0 = embedding)", yLabel: "layer ℓ (R² of the fit)",
            rowLabels: rows.map { "\($0.layer) (\(String(format: "%.3f", $0.r2 ?? 0)))" },
            columnLabels: (0..<count).map { $0 == 0 ? "0 emb" : "\($0)" },
            values: values,
            text: values.map { $0.map { $0.isFinite ? String(format: "%.2f", $0) : "" } },
            colourLabel: "weight α", range: -m...m, diverging: true)
    }

    /// Layers ℓ (rows, last on top) × contributions j (columns: the embedding, then each block's write):
    /// the share of r_ℓ along each, summing to 1 per row.
    public func sharesHeatmap(subtitle: String) -> Heatmap {
        let rows = layers.reversed()
        let count = layers.count
        let values = rows.map { l in (0..<count).map { j in j < l.shares.count ? l.shares[j] : .nan } }
        let m = max(1, values.flatMap { $0 }.filter(\.isFinite).map(abs).max() ?? 1)
        return Heatmap(
            title: "Depth mixing: share of the residual stream from each earlier write",
            subtitle: subtitle,
            xLabel: "contribution (0 = embedding, j = block j's write)", yLabel: "layer ℓ",
            rowLabels: rows.map { "\($0.layer)" },
            columnLabels: (0..<count).map { $0 == 0 ? "0 emb" : "\($0)" },
            values: values,
            text: values.map { $0.map { $0.isFinite ? String(format: "%.2f", $0) : "" } },
            colourLabel: "⟨u_j, r_ℓ⟩ ÷ ‖r_ℓ‖²", range: -m...m, diverging: true)
    }
}
