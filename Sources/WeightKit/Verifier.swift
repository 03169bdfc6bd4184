// verify: run a model on a reference file's input_ids and compare each reference tensor, in
// network order, elementwise with |got − ref| ≤ atol + rtol·|ref|.

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
    /// Whether every element is within `atol + rtol·|ref|`.
    public let passed: Bool
    /// Elements outside tolerance.
    public let failures: Int
}

/// The outcome of ``Verifier/verify(model:reference:atol:rtol:)``.
public struct VerifyReport: Sendable {
    /// The model's path as given.
    public let model: String
    /// The reference file's path.
    public let reference: String
    public let atol: Float
    public let rtol: Float
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
    ///   - atol: absolute tolerance.
    ///   - rtol: relative tolerance.
    /// - Returns: one row per tensor in network order; a failing tolerance is a result, not an error.
    ///   ``VerifyReport/warnings`` says when the reference records another model.
    /// - Throws: when the reference holds a tensor the model does not produce, holds only input_ids,
    ///   or a tensor's shape differs from the model's.
    public static func verify(model: LoadedModel, reference: ReferenceFile, atol: Float = 1e-4, rtol: Float = 1e-4) throws -> VerifyReport {
        let order = model.graph.recordedNames
        let unknown = reference.tensors.keys.filter { !order.contains($0) }.sorted()
        if !unknown.isEmpty {
            throw WeightKitError("\(reference.path): holds tensors this model does not produce: \(unknown.prefix(5).joined(separator: ", ")) (it records \(order.first ?? "")…\(order.last ?? ""))")
        }
        let names = order.filter { reference.tensors[$0] != nil }
        guard !names.isEmpty else { throw WeightKitError("\(reference.path): holds no activations to compare (only input_ids)") }
        let executor = Executor(graph: model.graph)
        let acts = try executor.run(batch: reference.inputIDs, record: Set(names))
        var rows = [TensorComparison]()
        for name in names {
            let ref = reference.tensors[name]!
            guard let got = acts[name] else { throw WeightKitError("\(name): not produced by the run") }
            guard got.shape == ref.shape else {
                throw WeightKitError("\(reference.path): '\(name)' has shape \(ref.shape) but the model produces \(got.shape)")
            }
            rows.append(compare(name: name, shape: ref.shape, got: got.values, ref: try ref.floats(), atol: atol, rtol: rtol))
        }
        var report = VerifyReport(model: model.checkpoint.path, reference: reference.path, atol: atol, rtol: rtol, rows: rows)
        report.warnings = ReferenceProvenance.mismatches(reference, model.graph.config)
        return report
    }
}
