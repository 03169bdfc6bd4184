// weightkit verify: run MODEL on REF's input_ids and compare each activation REF holds.

import ArgumentParser
import Foundation
import WeightKit

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check a model's activations against reference activations from Hugging Face.",
        discussion: """
            Runs MODEL on REF's input_ids and compares every tensor REF holds, in network order, \
            elementwise: |got − ref| ≤ atol + rtol·|ref|. One row per tensor; the first tensor that \
            fails is named.

            When REF records the model it was recorded from (scripts/make-reference.py writes its \
            architecture and shapes), a different model is named in a warning before the table.

            Exit status: 0 when every tensor is within tolerance, 1 when any is not, 2 for bad input.

            Examples:
              weightkit verify Fixtures/gpt2-tiny \\
                  --reference Fixtures/gpt2-tiny/reference.safetensors
              python3 scripts/make-reference.py my-model --prompt "Hello" \\
                  -o ref.safetensors
              weightkit verify my-model.gguf --reference ref.safetensors
            """)

    @Argument(help: "A weight file or model directory.") var model: String
    @Option(help: "Reference activations (.safetensors with input_ids).") var reference: String
    @Option(help: "Absolute tolerance.") var atol: Float = 1e-4
    @Option(help: "Relative tolerance.") var rtol: Float = 1e-4
    @Flag(help: "Print JSON.") var json = false

    func validate() throws {
        guard atol >= 0, rtol >= 0 else { throw ValidationError("--atol and --rtol must be non-negative") }
    }

    func run() throws {
        let report = try guarded { () -> VerifyReport in
            let m = try LoadedModel.open(model)
            let ref = try ReferenceFile.open(reference)
            // Said first, so it is seen even when the comparison then fails as bad input.
            let mismatches = ReferenceProvenance.mismatches(ref, m.graph.config)
            if !mismatches.isEmpty {
                writeStandardError("weightkit: warning: \(reference) was recorded from a different model (\(mismatches.joined(separator: "; "))); "
                    + "what follows compares two different models\n")
            }
            return try Verifier.verify(model: m, reference: ref, atol: atol, rtol: rtol)
        }
        if json {
            printJSON(.object([
                ("model", .string(report.model)), ("reference", .string(report.reference)), ("atol", .float(atol)), ("rtol", .float(rtol)),
                ("passed", .bool(report.passed)), ("first_failure", report.firstFailure.map { .string($0.name) } ?? .null),
                ("warnings", .array(report.warnings.map { .string($0) })),
                ("tensors", .array(report.rows.map { r in
                    .object([
                        ("name", .string(r.name)), ("shape", .array(r.shape.map { .int($0) })), ("max_abs_error", .float(r.maxAbsError)),
                        ("max_rel_error", .float(r.maxRelError)), ("failures", .int(r.failures)), ("passed", .bool(r.passed)),
                    ])
                })),
            ]))
        } else {
            let w = max(16, report.rows.map(\.name.count).max() ?? 0)
            print("verify \(report.model) against \(report.reference) (atol \(short(atol)), rtol \(short(rtol)))")
            print("  \("tensor".padded(w))  \("shape".padded(18)) \("max abs err".leftPadded(11)) \("max rel err".leftPadded(11))  result")
            for r in report.rows {
                let shape = "[" + r.shape.map(String.init).joined(separator: ", ") + "]"
                let result = r.passed ? "ok" : "FAIL (\(r.failures) elements, worst at \(index(r.worstIndex, r.shape)))"
                print("  \(r.name.padded(w))  \(shape.padded(18)) \(short(r.maxAbsError).leftPadded(11)) \(short(r.maxRelError).leftPadded(11))  \(result)")
            }
            if let f = report.firstFailure {
                print("FAILED: first divergence at \(f.name); \(report.rows.filter { !$0.passed }.count) of \(report.rows.count) tensors out of tolerance")
            } else {
                print("PASSED: \(report.rows.count) tensors within tolerance")
            }
        }
        if !report.passed { throw ExitCode(1) }
    }

    func index(_ flat: Int, _ shape: [Int]) -> String {
        var rest = flat
        var idx = [Int](repeating: 0, count: shape.count)
        for k in stride(from: shape.count - 1, through: 0, by: -1) where shape[k] > 0 {
            idx[k] = rest % shape[k]
            rest /= shape[k]
        }
        return "[" + idx.map(String.init).joined(separator: ", ") + "]"
    }
}
