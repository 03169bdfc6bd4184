// The pictures of the three analyses, as SVG documents.

import Foundation

extension AttentionSpectrum {
    /// Mean σ_max over heads per layer, one line per model, with the min…max band over heads and
    /// the bounds 1 and √T as dashed lines.
    public static func chart(_ spectra: [AttentionSpectrum]) -> LineChart {
        let tokenCounts = Set(spectra.map(\.tokens))
        var refs = [LineChart.Reference(y: 1, label: "lower bound 1")]
        for t in tokenCounts.sorted() { refs.append(.init(y: Double(t).squareRoot(), label: "upper bound √T = √\(t)")) }
        return LineChart(
            title: "Spectral norm of attention matrices per layer",
            subtitle: "mean of σ_max(P) over heads (line), min…max over heads (band); T = \(tokenCounts.sorted().map(String.init).joined(separator: ", ")) tokens",
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
    /// Relative residual ‖res(X)‖_F ÷ ‖X‖_F per layer on a log axis, one line per series.
    public func chart(subtitle: String) -> LineChart {
        LineChart(
            title: "Rank collapse: distance from rank 1 per layer",
            subtitle: subtitle,
            xLabel: "layer (0 = input)", yLabel: "‖X − 1·mean(X)‖_F ÷ ‖X‖_F", logY: true,
            series: series.map { s in LineChart.Series(name: s.name, points: zip(layers, s.relative).map { (Double($0), $1) }) })
    }
}

extension LogitLens {
    /// Layers × positions; each cell shows the top-1 token id, coloured by its probability.
    public func heatmap() -> Heatmap {
        let rows = layers.reversed()
        return Heatmap(
            title: "Logit lens: top-1 token per layer and position",
            subtitle: "\(model): cell text = top-1 token id, colour = its softmax probability; input ids along the bottom",
            xLabel: "position (input token id)", yLabel: "layer",
            rowLabels: rows.map { "\($0.layer)" },
            columnLabels: tokens.enumerated().map { "\($0.offset) (\($0.element))" },
            values: rows.map { $0.positions.map(\.topProbability) },
            text: rows.map { $0.positions.map { $0.top.first.map { String($0.id) } ?? "" } },
            colourLabel: "p(top-1)", range: 0...1)
    }
}
