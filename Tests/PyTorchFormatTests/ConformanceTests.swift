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
    struct Vector: CustomStringConvertible, Sendable {
        let file: String
        let json: JSONValue
        var description: String { file }
    }

    static let vectors: [Vector] = {
        let path = RepoPaths.formats("pytorch/vectors.json")
        guard let data = FileManager.default.contents(atPath: path),
            let root = try? data.withUnsafeBytes({ try JSONParser.parse($0) }), let list = root["vectors"]?.array
        else { return [] }
        return list.map { Vector(file: $0["file"]?.string ?? "?", json: $0) }
    }()

    @Test("the vector list is present and complete")
    func present() {
        #expect(Self.vectors.count >= 90)
        #expect(Self.vectors.filter { $0.json["expect"]?.string == "ok" }.count >= 8)
        #expect(Self.vectors.filter { $0.json["payload_marker"] != nil }.count >= 8)
    }

    @Test("each vector gives its outcome", arguments: vectors)
    func vector(_ v: Vector) throws {
        let path = RepoPaths.formats("pytorch/vectors/" + v.file)
        if v.json["expect"]?.string == "ok" {
            let f = try PyTorchFile.open(path: path)
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
            let kind = v.json["kind"]!.string!
            let phrase = v.json["contains"]!.string!
            do {
                let f = try PyTorchFile.open(path: path)
                Issue.record("\(v.file) opened (\(f.tensors.count) tensors) but must fail with \(kind)")
            } catch let e as PyTorchError {
                #expect(e.kind.rawValue == kind, "\(v.file): \(e)")
                #expect(e.description.contains(phrase), "\(v.file): '\(e)' lacks '\(phrase)'")
                #expect(e.description.hasPrefix(path + ": "), "the message names the file")
                #expect(!e.description.contains("\n"), "one line")
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
            #expect(throws: PyTorchError.self) { _ = try PyTorchFile.open(path: RepoPaths.formats("pytorch/vectors/" + v.file)) }
        }
        for m in markers { #expect(!FileManager.default.fileExists(atPath: m), "\(m) exists: a payload ran") }
    }
}
