import Foundation
import Testing
import TestSupport
@testable import SafetensorsFormat
@testable import TensorCore

/// Walks Formats/safetensors/vectors.json: every valid file opens with the listed tensors, every
/// broken file fails with the named kind and phrase.
@Suite("safetensors conformance vectors")
struct ConformanceTests {
    struct Vector: CustomStringConvertible, Sendable {
        let file: String
        let json: JSONValue
        var description: String { file }
    }

    static let vectors: [Vector] = {
        let path = RepoPaths.formats("safetensors/vectors.json")
        guard let data = FileManager.default.contents(atPath: path),
            let root = try? data.withUnsafeBytes({ try JSONParser.parse($0) }), let list = root["vectors"]?.array
        else { return [] }
        return list.map { Vector(file: $0["file"]?.string ?? "?", json: $0) }
    }()

    @Test("the vector list is present and complete")
    func present() {
        #expect(Self.vectors.count >= 30)
        #expect(Self.vectors.contains { $0.json["expect"]?.string == "ok" })
        #expect(Self.vectors.contains { $0.json["expect"]?.string == "error" })
    }

    @Test("each vector gives its outcome", arguments: vectors)
    func vector(_ v: Vector) throws {
        let path = RepoPaths.formats("safetensors/vectors/" + v.file)
        if v.json["expect"]?.string == "ok" {
            let f = try SafetensorsFile.open(path: path)
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
            let kind = v.json["kind"]!.string!
            let phrase = v.json["contains"]!.string!
            do {
                _ = try SafetensorsFile.open(path: path)
                Issue.record("\(v.file) opened but must fail with \(kind)")
            } catch let e as SafetensorsError {
                #expect(e.kind.rawValue == kind, "\(v.file): \(e)")
                #expect(e.description.contains(phrase), "\(v.file): '\(e)' lacks '\(phrase)'")
                #expect(e.description.hasPrefix(path), "the message names the file")
                #expect(!e.description.contains("\n"), "one line")
            }
        }
    }
}
