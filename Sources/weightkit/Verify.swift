// weightkit verify: run MODEL on REF's input_ids and compare each activation REF holds.

import ArgumentParser
import Foundation
import WeightKit

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check a model's activations against reference activations from Hugging Face.",
        discussion: """
            Runs MODEL on REF's input_ids and compares every tensor REF holds, in network order, \
            elementwise: |got − ref| ≤ atol + rtol·|ref| + s·√depth·rms(ref). One row per tensor; the \
            first tensor that fails is named.

            The default tolerance follows the dtype MODEL's matrices are stored in and the dtype REF was \
            computed in (its metadata 'dtype'; float32 when absent): float32 weights against a float32 \
            reference: atol = rtol = 1e-4 and s = 0; other stored dtypes (f16, bf16, q8_0 … q6_k) against a \
            float32 reference made from the same weights dequantized: s = 8·2⁻²⁴·√inner for the order of \
            float32 sums; a reference computed in bfloat16: s = 32·2⁻⁸ for its own rounding. The header \
            says which and why (Formats/reference-activations.md derives the numbers). --atol/--rtol \
            replace it with exactly |got − ref| ≤ atol + rtol·|ref|.

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
    @Option(help: "Absolute tolerance (given: no scale part; default from the weights' dtype).") var atol: Float?
    @Option(help: "Relative tolerance (given: no scale part; default from the weights' dtype).") var rtol: Float?
    @Flag(help: "Print JSON.") var json = false

    func validate() throws {
        guard (atol ?? 0) >= 0, (rtol ?? 0) >= 0 else { throw ValidationError("--atol and --rtol must be non-negative") }
    }

    @OptionGroup var limits: InputLimits

    func run() throws {
        limits.apply()
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
        let t = report.tolerance
        if json {
            printJSON(.object([
                ("model", .string(report.model)), ("reference", .string(report.reference)), ("atol", .float(t.atol)), ("rtol", .float(t.rtol)),
                ("tolerance", .object([
                    ("atol", .float(t.atol)), ("rtol", .float(t.rtol)), ("scale", .float(t.scale)), ("weights", .string(t.weights)),
                    ("reference_compute", .string(t.referenceCompute)), ("default", .bool(!t.overridden)), ("reason", .string(t.reason)),
                ])),
                ("top1_agreement", report.top1.map { .object([("agree", .int($0.agree)), ("positions", .int($0.of))]) } ?? .null),
                ("passed", .bool(report.passed)), ("first_failure", report.firstFailure.map { .string($0.name) } ?? .null),
                ("warnings", .array(report.warnings.map { .string($0) })),
                ("tensors", .array(report.rows.map { r in
                    .object([
                        ("name", .string(r.name)), ("shape", .array(r.shape.map { .int($0) })), ("max_abs_error", .float(r.maxAbsError)),
                        ("max_rel_error", .float(r.maxRelError)), ("rms", .float(r.rms)), ("max_error_over_rms", .float(r.maxErrorOverRMS)),
                        ("scale_term", .float(r.scaleTerm)), ("failures", .int(r.failures)), ("passed", .bool(r.passed)),
                    ])
                })),
            ]))
        } else {
            let w = max(16, report.rows.map(\.name.count).max() ?? 0)
            print("verify \(report.model) against \(report.reference) (atol \(short(t.atol)), rtol \(short(t.rtol)))")
            print("tolerance: \(t.summary)")
            let scaled = t.scale > 0
            print("  \("tensor".padded(w))  \("shape".padded(18)) \("max abs err".leftPadded(11)) \("max rel err".leftPadded(11))"
                + (scaled ? " \("err/rms".leftPadded(9)) \("allowed".leftPadded(9))" : "") + "  result")
            for r in report.rows {
                let shape = "[" + r.shape.map(String.init).joined(separator: ", ") + "]"
                let result = r.passed ? "ok" : "FAIL (\(r.failures) elements, worst at \(index(r.worstIndex, r.shape)))"
                let extra = scaled ? " \(short(r.maxErrorOverRMS).leftPadded(9)) \(short(r.rms > 0 ? (t.atol + r.scaleTerm) / r.rms : 0).leftPadded(9))" : ""
                print("  \(r.name.padded(w))  \(shape.padded(18)) \(short(r.maxAbsError).leftPadded(11)) \(short(r.maxRelError).leftPadded(11))\(extra)  \(result)")
            }
            if let a = report.top1 { print("logits: top-1 agrees at \(a.agree) of \(a.of) positions") }
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
