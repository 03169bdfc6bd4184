import Foundation
import Testing
import TestSupport
@testable import SafetensorsFormat
@testable import TensorCore

/// Walks Formats/safetensors/vectors.json: every valid file opens with the listed tensors, every
/// broken file fails with the named kind and phrase.
@Suite("safetensors conformance vectors")
struct ConformanceTests {
    static let vectors = ConformanceVector.load("safetensors")

    @Test("the vector list is present and complete")
    func present() {
        #expect(Self.vectors.count >= 30)
        #expect(Self.vectors.contains { $0.json["expect"]?.string == "ok" })
        #expect(Self.vectors.contains { $0.json["expect"]?.string == "error" })
    }

    @Test("each vector gives its outcome", arguments: vectors)
    func vector(_ v: ConformanceVector) throws {
        if v.mustOpen {
            let f = try SafetensorsFile.open(path: v.path)
            let want = v.json["tensors"]?.array ?? []
            #expect(f.tensors.count == want.count)
            for w in want {
                let name = w["name"]!.string!
                let t = try #require(f[name], "missing tensor \(name)")
                #expect(t.dtype.safetensorsName == w["dtype"]?.string)
                #expect(t.shape == w["shape"]?.array?.compactMap(\.int))
                if let sha = w["sha256"]?.string {
                    #expect(t.data.withUnsafeBytes { SHA256.hex($0) } == sha, "bytes of \(name)")
                }
                if let values = w["values"]?.array {
                    let got = try t.values()
                    switch got {
                    case .floats(let f):
                        let expected = values.map { $0.string == "inf" ? Float.infinity : Float($0.double!) }
                        #expect(f == expected, "values of \(name)")
                    case .signed(let s): #expect(s == values.map { Int64($0.int!) })
                    case .unsigned(let u): #expect(u == values.map { UInt64($0.int!) })
                    }
                }
            }
        } else {
            do {
                _ = try SafetensorsFile.open(path: v.path)
                Issue.record("\(v.file) opened but must fail with \(v.json["kind"]?.string ?? "?")")
            } catch let e as SafetensorsError {
                for problem in v.refusalProblems(kind: e.kind.rawValue, message: e.description) { Issue.record("\(problem)") }
            }
        }
    }
}
