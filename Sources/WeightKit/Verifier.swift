// verify: run a model on a reference file's input_ids and compare each reference tensor, in
// network order, elementwise with |got − ref| ≤ atol + rtol·|ref| + s·√depth·rms(ref)
// (VerifyTolerance: s from the model's weight dtype and the reference's compute dtype).

/// The comparison of one tensor.
public struct TensorComparison: Sendable {
    /// The activation's name in the reference (`hidden_states.1`, `attentions.0`, `logits`).
    public let name: String
    /// Its shape, row-major.
    public let shape: [Int]
    /// Largest |got − ref| over its elements (NaN when any element is NaN).
    public let maxAbsError: Float
    /// Largest |got − ref| / |ref| over elements with ref ≠ 0.
    public let maxRelError: Float
    /// Flat index of the largest violation (or of the largest absolute error when all pass).
    public let worstIndex: Int
    /// Whether every element is within `atol + rtol·|ref| + scaleTerm`.
    public let passed: Bool
    /// Elements outside tolerance.
    public let failures: Int
    /// Root mean square of the reference tensor.
    public var rms: Float = 0
    /// The tolerance's scale part for this tensor (s·√depth·rms), added to every element's bound.
    public var scaleTerm: Float = 0
    /// Largest |got − ref| over the reference's RMS (NaN when either is NaN; 0 when both are 0).
    public var maxErrorOverRMS: Float { maxAbsError == 0 ? 0 : maxAbsError / rms }
}

/// The outcome of ``Verifier/verify(model:reference:atol:rtol:)``.
public struct VerifyReport: Sendable {
    /// The model's path as given.
    public let model: String
    /// The reference file's path.
    public let reference: String
    /// The absolute part of the tolerance used (``VerifyTolerance/atol``).
    public var atol: Float { tolerance.atol }
    /// The relative part of the tolerance used (``VerifyTolerance/rtol``).
    public var rtol: Float { tolerance.rtol }
    /// The tolerance used: the default for the weights' dtype and the reference's compute dtype, or the
    /// one given.
    public let tolerance: VerifyTolerance
    /// One comparison per tensor the reference holds, in network order (hidden_states.0,
    /// attentions.0, hidden_states.1, …, logits).
    public let rows: [TensorComparison]
    /// How the model the reference says it was recorded from differs from this one
    /// (``ReferenceProvenance``); empty when they agree or the reference does not say.
    public var warnings: [String] = []
    /// Whether every tensor is within tolerance.
    public var passed: Bool { rows.allSatisfy(\.passed) }
    /// The first tensor out of tolerance in network order: where a wrong weight first shows.
    public var firstFailure: TensorComparison? { rows.first { !$0.passed } }
    /// Positions where the model's and the reference's logits have the same largest entry, and how many
    /// positions there are (nil without logits in the reference).
    public var top1: (agree: Int, of: Int)? = nil
}

/// Checks a model's activations against reference activations, as `weightkit verify` does.
///
/// ```swift
/// let model = try LoadedModel.open("Fixtures/gpt2-tiny/model.gguf")
/// let reference = try ReferenceFile.open("Fixtures/gpt2-tiny/reference.safetensors")
/// let report = try Verifier.verify(model: model, reference: reference)
/// print(report.passed ? "PASSED" : "first divergence at \(report.firstFailure!.name)")
/// ```
public enum Verifier {
    /// Compares `got` with `ref` elementwise.
    public static func compare(name: String, shape: [Int], got: [Float], ref: [Float], atol: Float, rtol: Float) -> TensorComparison {
        compare(name: name, shape: shape, got: got, ref: ref, atol: atol, rtol: rtol, extra: 0)
    }

    /// Root mean square of `x` (accumulated in Double).
    public static func rms(_ x: [Float]) -> Float {
        guard !x.isEmpty else { return 0 }
        var s = 0.0
        for v in x { s += Double(v) * Double(v) }
        return Float((s / Double(x.count)).squareRoot())
    }

    /// Compares `got` with `ref` elementwise: |got − ref| ≤ atol + rtol·|ref| + extra.
    public static func compare(name: String, shape: [Int], got: [Float], ref: [Float], atol: Float, rtol: Float, extra: Float) -> TensorComparison {
        let atol = atol + extra
        var maxAbs: Float = 0
        var maxRel: Float = 0
        var failures = 0
        var worst = 0
        var worstExcess: Float = -.infinity
        for i in 0..<min(got.count, ref.count) {
            let d = abs(got[i] - ref[i])
            let r = abs(ref[i])
            let bad = !(d <= atol + rtol * r)  // NaN fails
            if d > maxAbs || d.isNaN { maxAbs = d.isNaN ? .nan : max(maxAbs, d) }
            if r > 0, d / r > maxRel { maxRel = d / r }
            let excess = d - (atol + rtol * r)
            if bad { failures += 1 }
            if excess > worstExcess || (bad && failures == 1) {
                worstExcess = excess.isNaN ? .infinity : excess
                worst = i
            }
        }
        if got.count != ref.count { failures += 1 }
        return TensorComparison(
            name: name, shape: shape, maxAbsError: maxAbs, maxRelError: maxRel, worstIndex: worst, passed: failures == 0,
            failures: failures)
    }

    /// Runs `model` on `reference`'s input_ids and compares every tensor it holds, elementwise:
    /// `|got − ref| ≤ atol + rtol·|ref|` (NaN always fails).
    ///
    /// - Parameters:
    ///   - model: the model to run (``LoadedModel/open(_:)``).
    ///   - reference: the activations to compare with (``ReferenceFile/open(_:)``).
    ///   - atol: absolute tolerance; given (with or without rtol), the comparison is exactly
    ///     `|got − ref| ≤ atol + rtol·|ref|`. Both nil: the default for the model's weight dtype and the
    ///     reference's compute dtype (``VerifyTolerance/defaults(model:reference:)``).
    ///   - rtol: relative tolerance.
    /// - Returns: one row per tensor in network order; a failing tolerance is a result, not an error.
    ///   ``VerifyReport/warnings`` says when the reference records another model.
    /// - Throws: when the reference holds a tensor the model does not produce, holds only input_ids,
    ///   or a tensor's shape differs from the model's.
    public static func verify(model: LoadedModel, reference: ReferenceFile, atol: Float? = nil, rtol: Float? = nil) throws -> VerifyReport {
        var tolerance = try VerifyTolerance.defaults(model: model, reference: reference)
        if atol != nil || rtol != nil {
            tolerance = .explicit(atol: atol ?? tolerance.atol, rtol: rtol ?? tolerance.rtol, weights: tolerance.weights,
                                  referenceCompute: tolerance.referenceCompute)
        }
        return try verify(model: model, reference: reference, tolerance: tolerance)
    }

    /// Runs `model` on `reference`'s input_ids and compares every tensor it holds with `tolerance`:
    /// `|got − ref| ≤ atol + rtol·|ref| + s·√depth·rms(ref)` (NaN always fails).
    public static func verify(model: LoadedModel, reference: ReferenceFile, tolerance: VerifyTolerance) throws -> VerifyReport {
        let order = model.graph.recordedNames
        let unknown = reference.tensors.keys.filter { !order.contains($0) }.sorted()
        if !unknown.isEmpty {
            throw WeightKitError("\(reference.path): holds tensors this model does not produce: \(unknown.prefix(5).joined(separator: ", ")) (it records \(order.first ?? "")…\(order.last ?? ""))")
        }
        let names = order.filter { reference.tensors[$0] != nil }
        guard !names.isEmpty else { throw WeightKitError("\(reference.path): holds no activations to compare (only input_ids)") }
        let executor = Executor(graph: model.graph, int8Prefill: false)
        let acts = try executor.run(batch: reference.inputIDs, record: Set(names))
        var rows = [TensorComparison]()
        var top1: (Int, Int)? = nil
        for name in names {
            let ref = reference.tensors[name]!
            guard let got = acts[name] else { throw WeightKitError("\(name): not produced by the run") }
            guard got.shape == ref.shape else {
                throw WeightKitError("\(reference.path): '\(name)' has shape \(ref.shape) but the model produces \(got.shape)")
            }
            let values = try ref.floats()
            let rms = rms(values)
            // A non-finite reference value must not widen the bound of every other element.
            let term = rms.isFinite ? tolerance.scaleTerm(depth: VerifyTolerance.depth(of: name, layers: model.graph.config.layers), rms: rms) : 0
            var row = compare(name: name, shape: ref.shape, got: got.values, ref: values, atol: tolerance.atol, rtol: tolerance.rtol, extra: term)
            row.rms = rms
            row.scaleTerm = term
            rows.append(row)
            if name == "logits" { top1 = agreement(got.values, values, width: ref.shape.last ?? 1) }
        }
        var report = VerifyReport(model: model.checkpoint.path, reference: reference.path, tolerance: tolerance, rows: rows)
        report.top1 = top1
        report.warnings = ReferenceProvenance.mismatches(reference, model.graph.config)
        return report
    }

    /// Rows of width `width` where `got` and `ref` have their largest entry at the same index.
    static func agreement(_ got: [Float], _ ref: [Float], width: Int) -> (agree: Int, of: Int) {
        guard width > 0, got.count == ref.count else { return (0, 0) }
        let n = ref.count / width
        var agree = 0
        for r in 0..<n {
            var bg = 0, br = 0
            for j in 1..<width {
                if got[r * width + j] > got[r * width + bg] { bg = j }
                if ref[r * width + j] > ref[r * width + br] { br = j }
            }
            if bg == br { agree += 1 }
        }
        return (agree, n)
    }
}
