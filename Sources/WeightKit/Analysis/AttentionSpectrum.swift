// Per-layer spectral norms of attention-probability matrices (layouts.md §6a): for each layer and
// head, σ_max of the [T, T] post-softmax matrix P; then mean, min and max over heads. P is
// row-stochastic, so 1 ≤ σ_max(P) ≤ √(max column sum) ≤ √T (Formats/analysis.md).

/// The spectral norms of one layer's heads.
public struct LayerSpectrum: Sendable {
    public let layer: Int
    /// σ_max per head (averaged over the batch when there is more than one sequence).
    public let heads: [Double]
    public var mean: Double { heads.reduce(0, +) / Double(Swift.max(heads.count, 1)) }
    public var min: Double { heads.min() ?? 0 }
    public var max: Double { heads.max() ?? 0 }

    public init(layer: Int, heads: [Double]) {
        self.layer = layer
        self.heads = heads
    }
}

/// The attention spectra of one model on one input.
public struct AttentionSpectrum: Sendable {
    /// The model path as given.
    public let model: String
    /// Sequence length T (the bound √T depends on it).
    public let tokens: Int
    public let layers: [LayerSpectrum]

    /// Spectra of one `attentions.{i}` tensor, shape `[B, H, T, T]` row-major.
    public static func layer(_ index: Int, shape: [Int], values: [Float]) throws -> LayerSpectrum {
        guard shape.count == 4, shape[2] == shape[3], shape.allSatisfy({ $0 > 0 }), values.count == shape.reduce(1, *) else {
            throw WeightKitError("attentions.\(index): expected a [B, H, T, T] tensor, got shape \(shape) with \(values.count) values")
        }
        let (b, h, t) = (shape[0], shape[1], shape[2])
        var heads = [Double](repeating: 0, count: h)
        values.withUnsafeBufferPointer { p in
            for s in 0..<b {
                for head in 0..<h {
                    let start = (s * h + head) * t * t
                    let m = UnsafeBufferPointer(rebasing: p[start..<(start + t * t)])
                    heads[head] += SpectralNorm.largestSingularValue(m, rows: t, cols: t) / Double(b)
                }
            }
        }
        return LayerSpectrum(layer: index, heads: heads)
    }

    /// Runs `model` on `batch` (sequences of equal length) and measures every layer's attentions.
    public static func measure(_ model: LoadedModel, name: String, batch: [[Int]]) throws -> AttentionSpectrum {
        let layers = model.graph.config.layers
        let names = Set((0..<layers).map { "attentions.\($0)" })
        let acts = try Executor(graph: model.graph).run(batch: batch, record: names)
        let spectra = try (0..<layers).map { i -> LayerSpectrum in
            guard let a = acts["attentions.\(i)"] else { throw WeightKitError("\(name): the run recorded no attentions.\(i)") }
            return try layer(i, shape: a.shape, values: a.values)
        }
        return AttentionSpectrum(model: name, tokens: batch.first?.count ?? 0, layers: spectra)
    }
}
