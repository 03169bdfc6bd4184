// Walks Formats/pytorch/vectors.json: every valid file opens with the listed tensors and bytes,
// every hostile file fails with one line naming the file, of the listed kind, containing the
// listed phrase; and no payload ran.

import Foundation
import Testing
import TestSupport
@testable import PyTorchFormat
@testable import TensorCore

@Suite("PyTorch conformance vectors")
struct ConformanceTests {
    static let vectors = ConformanceVector.load("pytorch")

    @Test("the vector list is present and complete")
    func present() {
        #expect(Self.vectors.count >= 90)
        #expect(Self.vectors.filter { $0.json["expect"]?.string == "ok" }.count >= 8)
        #expect(Self.vectors.filter { $0.json["payload_marker"] != nil }.count >= 8)
    }

    @Test("each vector gives its outcome", arguments: vectors)
    func vector(_ v: ConformanceVector) throws {
        if v.mustOpen {
            let f = try PyTorchFile.open(path: v.path)
            let want = v.json["tensors"]?.array ?? []
            #expect(f.tensors.map(\.name) == want.compactMap { $0["name"]?.string })
            for w in want {
                let name = w["name"]!.string!
                let t = try #require(f[name], "missing tensor \(name)")
                #expect(t.dtype.rawValue == w["dtype"]?.string, "dtype of \(name)")
                #expect(t.shape == w["shape"]?.array?.compactMap(\.int), "shape of \(name)")
                let bytes = try t.entry.bytes()
                #expect(bytes.withUnsafeBytes { SHA256.hex($0) } == w["sha256"]?.string, "bytes of \(name)")
            }
        } else {
            do {
                let f = try PyTorchFile.open(path: v.path)
                Issue.record("\(v.file) opened (\(f.tensors.count) tensors) but must fail with \(v.json["kind"]?.string ?? "?")")
            } catch let e as PyTorchError {
                for problem in v.refusalProblems(kind: e.kind.rawValue, message: e.description) { Issue.record("\(problem)") }
            }
        }
    }

    /// make_vectors.py checked that each payload creates its marker when Python's own pickle runs it.
    @Test("reading every hostile vector runs none of their payloads")
    func payloadsNeverRun() throws {
        let markers = Set(Self.vectors.compactMap { $0.json["payload_marker"]?.string })
        #expect(!markers.isEmpty)
        for m in markers { unlink(m) }
        for v in Self.vectors where v.json["payload_marker"] != nil {
            #expect(throws: PyTorchError.self) { _ = try PyTorchFile.open(path: v.path) }
        }
        for m in markers { #expect(!FileManager.default.fileExists(atPath: m), "\(m) exists: a payload ran") }
    }
}
