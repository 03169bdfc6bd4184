// weightkit diff: compare two checkpoints across formats and namings.

import ArgumentParser
import Foundation
import WeightKit

struct Diff: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compare two checkpoints tensor by tensor, across formats and namings.",
        discussion: """
            Recognised models (GPT-1, GPT-2, LLaMA) are compared on the canonical weights after layout \
            mapping: both sides widened or dequantized to float32, Conv1D weights transposed to \
            [out, in], LLaMA Q/K rows in one order; their resolved configs are compared too. Other \
            checkpoints are compared by tensor name. Lists tensors only in A or only in B, shape and \
            dtype differences, and per tensor the max abs and max rel (|a−b| / max(|a|,|b|)) difference. \
            A dtype difference alone is not a failure.

            Exit status: 0 when equal within --atol, 1 when not, 2 for bad input.

            Example: weightkit diff Fixtures/gpt2-tiny Fixtures/gpt2-tiny/model.gguf
            """)

    @Argument(help: "First checkpoint.") var a: String
    @Argument(help: "Second checkpoint.") var b: String
    @Option(help: "Largest |a − b| that counts as equal.") var atol: Float = 0
    @Flag(help: "Print JSON.") var json = false

    func validate() throws {
        guard atol >= 0 else { throw ValidationError("--atol must be non-negative") }
    }

    @OptionGroup var limits: InputLimits

    func run() throws {
        limits.apply()
        let r = try guarded { try Differ.diff(a, b, atol: atol) }
        if json {
            func shape(_ s: [Int]) -> JSONValue { .array(s.map { .int($0) }) }
            printJSON(.object([
                ("a", .string(r.a)), ("b", .string(r.b)), ("mode", .string(r.mode)), ("atol", .float(atol)), ("equal", .bool(r.equal)),
                ("only_in_a", .array(r.onlyInA.map { .string($0) })), ("only_in_b", .array(r.onlyInB.map { .string($0) })),
                ("config_differences", .array(r.configDifferences.map { .string($0) })),
                ("tensors", .array(r.rows.map { row in
                    .object([
                        ("name", .string(row.name)), ("shape_a", shape(row.shapeA)), ("shape_b", shape(row.shapeB)),
                        ("dtype_a", .string(row.dtypeA.rawValue)), ("dtype_b", .string(row.dtypeB.rawValue)),
                        ("max_abs", row.maxAbs.isFinite ? .float(row.maxAbs) : .string("inf")),
                        ("max_rel", row.maxRel.isFinite ? .float(row.maxRel) : .string("inf")),
                        ("mismatches", .int(row.mismatches)), ("equal", .bool(row.passed)),
                    ])
                })),
            ]))
        } else {
            print("diff \(r.a) \(r.b) (\(r.mode == "canonical" ? "canonical weights" : "tensor names"), atol \(short(atol)))")
            for n in r.onlyInA { print("  only in A: \(n)") }
            for n in r.onlyInB { print("  only in B: \(n)") }
            for d in r.configDifferences { print("  config differs: \(d)") }
            let w = max(16, r.rows.map(\.name.count).max() ?? 0)
            print("  \("tensor".padded(w))  \("dtype A/B".padded(11)) \("max abs".leftPadded(9)) \("max rel".leftPadded(9))  result")
            for row in r.rows {
                let dt = row.dtypeA == row.dtypeB ? row.dtypeA.rawValue : "\(row.dtypeA.rawValue)/\(row.dtypeB.rawValue)"
                let result = row.shapeMismatch ? "SHAPE \(row.shapeA) vs \(row.shapeB)" : (row.passed ? "ok" : "DIFF (\(row.mismatches) elements > atol)")
                print("  \(row.name.padded(w))  \(dt.padded(11)) \(short(row.maxAbs).leftPadded(9)) \(short(row.maxRel).leftPadded(9))  \(result)")
            }
            let bad = r.rows.filter { !$0.passed }.count
            if r.equal {
                print("EQUAL: \(r.rows.count) tensors within atol \(short(atol))")
            } else {
                print("DIFFERENT: \(bad) of \(r.rows.count) tensors differ, \(r.onlyInA.count) only in A, \(r.onlyInB.count) only in B, \(r.configDifferences.count) config differences")
            }
        }
        if !r.equal { throw ExitCode(1) }
    }
}
