// weightkit diff: compares two checkpoints across formats and namings. Recognised models are
// compared weight by weight on the canonical graph, each side brought to one form first: float32
// (widened or dequantized), matrices [out, in] (Conv1D transposed), LLaMA Q/K rows in HF's
// half-split order (interleaved rows un-permuted). The resolved configs are compared too.
// Anything else is compared tensor by tensor by name. One pair of tensors is in memory at a time.

import Foundation
import Models
import TensorCore

/// One compared tensor.
public struct DiffRow: Sendable {
    public let name: String
    public let shapeA: [Int]
    public let shapeB: [Int]
    public let dtypeA: DType
    public let dtypeB: DType
    /// max |a − b| (infinity where exactly one side is NaN or they are unequal infinities).
    public let maxAbs: Float
    /// max |a − b| / max(|a|, |b|).
    public let maxRel: Float
    /// Elements with |a − b| > atol.
    public let mismatches: Int

    public var shapeMismatch: Bool { shapeA != shapeB }
    public var passed: Bool { !shapeMismatch && mismatches == 0 }
}

/// The outcome of a diff.
public struct DiffReport: Sendable {
    public let a: String
    public let b: String
    /// "canonical" (both recognised models) or "names".
    public let mode: String
    public let atol: Float
    public let onlyInA: [String]
    public let onlyInB: [String]
    public let rows: [DiffRow]
    /// Resolved config fields that differ ("field: a vs b").
    public let configDifferences: [String]

    public var equal: Bool { onlyInA.isEmpty && onlyInB.isEmpty && configDifferences.isEmpty && rows.allSatisfy(\.passed) }
    public var dtypeMismatches: [DiffRow] { rows.filter { $0.dtypeA != $0.dtypeB } }
}

/// Compares checkpoints.
public enum Differ {
    /// A tensor to compare: source facts and a loader of its values in comparison form.
    struct Side {
        let shape: [Int]
        let dtype: DType
        let load: () throws -> [Float]
    }

    public static func diff(_ pathA: String, _ pathB: String, atol: Float = 0) throws -> DiffReport {
        let ca = try Checkpoint.open(pathA)
        let cb = try Checkpoint.open(pathB)
        let ga = try recognise(ca)
        let gb = try recognise(cb)
        var mode = "names"
        var sa: [(String, Side)]
        var sb: [(String, Side)]
        var configDiffs = [String]()
        if let ga, let gb {
            mode = "canonical"
            sa = canonical(ga)
            sb = canonical(gb)
            configDiffs = compareConfigs(ga.config, gb.config)
        } else {
            sa = byName(ca)
            sb = byName(cb)
        }
        let mapB = Dictionary(sb, uniquingKeysWith: { a, _ in a })
        let namesA = Set(sa.map(\.0))
        var rows = [DiffRow]()
        for (name, a) in sa {
            guard let b = mapB[name] else { continue }
            rows.append(try compare(name, a, b, atol: atol))
        }
        return DiffReport(
            a: pathA, b: pathB, mode: mode, atol: atol, onlyInA: sa.map(\.0).filter { mapB[$0] == nil },
            onlyInB: sb.map(\.0).filter { !namesA.contains($0) }, rows: rows, configDifferences: configDiffs)
    }

    /// The canonical graph when the checkpoint is a model WeightKit maps; nil when it is not
    /// recognised at all; an error when it looks like a model but does not bind.
    static func recognise(_ c: Checkpoint) throws -> ModelGraph? {
        if ModelLayouts.detect(c) != nil { return try ModelLayouts.graph(for: c) }
        return try? ModelLayouts.graph(for: c)
    }

    static func canonical(_ g: ModelGraph) -> [(String, Side)] {
        GraphBuilder.requiredWeights(for: g.config).compactMap { (name, shape) -> (String, Side)? in
            guard let w = g.weights[name] else { return nil }
            let side = Side(shape: shape, dtype: w.source.dtype) {
                try Canonicalization.canonical(w.source.load().floats(), storedShape: w.source.shape, from: w.transform, shape: shape)
            }
            return (name, side)
        }
    }

    static func byName(_ c: Checkpoint) -> [(String, Side)] {
        c.entries.map { e in (e.name, Side(shape: e.shape, dtype: e.dtype) { try e.load().floats() }) }
    }

    static func compare(_ name: String, _ a: Side, _ b: Side, atol: Float) throws -> DiffRow {
        guard a.shape == b.shape else {
            return DiffRow(name: name, shapeA: a.shape, shapeB: b.shape, dtypeA: a.dtype, dtypeB: b.dtype, maxAbs: .infinity, maxRel: .infinity, mismatches: 0)
        }
        let va = try a.load()
        let vb = try b.load()
        var maxAbs: Float = 0
        var maxRel: Float = 0
        var bad = 0
        for i in 0..<min(va.count, vb.count) {
            let x = va[i]
            let y = vb[i]
            if x == y || (x.isNaN && y.isNaN) { continue }
            var d = abs(x - y)
            if d.isNaN { d = .infinity }
            let m = max(abs(x), abs(y))
            let r: Float = m > 0 && m.isFinite ? d / m : .infinity
            if d > maxAbs { maxAbs = d }
            if r > maxRel { maxRel = r }
            if !(d <= atol) { bad += 1 }
        }
        return DiffRow(name: name, shapeA: a.shape, shapeB: b.shape, dtypeA: a.dtype, dtypeB: b.dtype, maxAbs: maxAbs, maxRel: maxRel, mismatches: bad)
    }

    /// The resolved config fields that decide the computation, as text, compared field by field.
    /// llama3 RoPE parameters and GGUF's rope_freqs compare by their per-frequency factors.
    static func compareConfigs(_ a: ModelConfig, _ b: ModelConfig) -> [String] {
        func fields(_ c: ModelConfig) -> [(String, String)] {
            var f: [(String, String)] = [
                ("architecture", c.architecture.rawValue), ("vocab_size", "\(c.vocabSize)"), ("hidden_size", "\(c.hiddenSize)"),
                ("layers", "\(c.layers)"), ("heads", "\(c.heads)"), ("kv_heads", "\(c.kvHeads)"), ("head_dim", "\(c.headDim)"),
                ("intermediate_size", "\(c.intermediateSize)"), ("max_positions", "\(c.maxPositions)"), ("norm", c.norm.rawValue),
                ("norm_eps", "\(c.normEps)"), ("placement", c.placement.rawValue), ("activation", c.activation.rawValue),
                ("attention_scale", "\(c.attentionScale)"), ("scale_by_inverse_layer", "\(c.scaleByInverseLayer)"),
                ("tied_head", "\(c.tiedHead)"), ("sliding_window", c.slidingWindow.map { "\($0)" } ?? "none"),
            ]
            if let r = c.rope {
                f.append(("rope_theta", "\(r.theta)"))
                f.append(("rotary_dim", "\(r.rotaryDim)"))
                switch r.scaling {
                case .none: f.append(("rope_scaling", "none"))
                case .linear(let x): f.append(("rope_scaling", "linear \(x)"))
                case .llama3(let fa, let lo, let hi, let o):
                    let k = ConvertConfig.llama3Factors(theta: r.theta, dim: r.rotaryDim, factor: fa, low: lo, high: hi, original: o)
                    f.append(("rope_scaling", "factors " + k.map { String(format: "%.6g", $0) }.joined(separator: ",")))
                case .freqFactors(let k): f.append(("rope_scaling", "factors " + k.map { String(format: "%.6g", $0) }.joined(separator: ",")))
                }
            }
            return f
        }
        let fb = Dictionary(fields(b), uniquingKeysWith: { x, _ in x })
        return fields(a).compactMap { (k, v) in fb[k] == v ? nil : "\(k): \(v) vs \(fb[k] ?? "absent")" }
    }
}
