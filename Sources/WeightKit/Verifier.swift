// verify: run a model on a reference file's input_ids and compare each reference tensor, in
// network order, elementwise with |got − ref| ≤ atol + rtol·|ref|.

/// The comparison of one tensor.
public struct TensorComparison: Sendable {
    public let name: String
    public let shape: [Int]
    public let maxAbsError: Float
    /// Largest |got − ref| / |ref| over elements with ref ≠ 0.
    public let maxRelError: Float
    /// Flat index of the largest violation (or of the largest absolute error when all pass).
    public let worstIndex: Int
    public let passed: Bool
    /// Elements outside tolerance.
    public let failures: Int
}

/// The outcome of verify.
public struct VerifyReport: Sendable {
    public let model: String
    public let reference: String
    public let atol: Float
    public let rtol: Float
    public let rows: [TensorComparison]
    public var passed: Bool { rows.allSatisfy(\.passed) }
    public var firstFailure: TensorComparison? { rows.first { !$0.passed } }
}

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

    /// Runs `model` on `reference`'s input_ids and compares every tensor it holds.
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
        return VerifyReport(model: model.checkpoint.path, reference: reference.path, atol: atol, rtol: rtol, rows: rows)
    }
}
