// verify-checkpoint MODEL REF.safetensors: runs MODEL on the reference's tokens and compares every
// activation, as `weightkit verify` does; one line per tensor, then PASSED (exit 0) or the first
// divergence (exit 1); bad input exits 2.
import Foundation
import WeightKit

let args = CommandLine.arguments
guard args.count == 3 else { FileHandle.standardError.write(Data("usage: verify-checkpoint MODEL REF.safetensors\n".utf8)); exit(2) }
do {
    let model = try LoadedModel.open(args[1])
    let reference = try ReferenceFile.open(args[2])
    let report = try Verifier.verify(model: model, reference: reference, atol: 1e-4, rtol: 1e-4)
    for row in report.rows { print(row.name, row.shape, row.maxAbsError, row.passed ? "ok" : "FAIL") }
    print(report.passed ? "PASSED" : "FAILED: first divergence at \(report.firstFailure!.name)")
    exit(report.passed ? 0 : 1)
} catch {
    FileHandle.standardError.write(Data("verify-checkpoint: \(error)\n".utf8))
    exit(2)
}
