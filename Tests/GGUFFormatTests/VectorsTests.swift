// Walks Formats/gguf/vectors.json: every valid vector reads with the listed tensors, every
// broken vector fails with one line that names the file and contains the listed text.

import Testing
import TensorCore
import TestSupport
import GGUFFormat

@Suite struct VectorsTests {
    static func vectors() throws -> [JSONValue] {
        let text = try ByteRegion.map(path: RepoPaths.formats("gguf/vectors.json")).withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
        return try JSONParser.parse(text)["vectors"]?.array ?? []
    }

    @Test func conformanceVectors() throws {
        let all = try Self.vectors()
        #expect(all.count >= 45)
        for v in all {
            guard let file = v["file"]?.string, let expect = v["expect"]?.string else {
                Issue.record("malformed vector \(v)")
                continue
            }
            let path = RepoPaths.formats("gguf/" + file)
            let result: Result<GGUFFile, Error> = Result { try GGUFFile.open(path: path) }
            switch (expect, result) {
            case ("ok", .success(let f)):
                let want = (v["tensors"]?.array ?? []).map { t in
                    "\(t["name"]?.string ?? "?") \((t["shape"]?.array ?? []).compactMap(\.int))"
                }
                #expect(f.tensors.map { "\($0.name) \($0.shape)" } == want, "\(file)")
                for t in f.tensors where GGMLQuants.decodable.contains(t.dtype) || !t.dtype.isQuantized {
                    #expect(throws: Never.self, "\(file): \(t.name)") { _ = try t.floats() }
                }
            case ("ok", .failure(let e)):
                Issue.record("\(file): expected to read, got \(e)")
            case ("error", .success):
                Issue.record("\(file): read, expected an error containing '\(v["contains"]?.string ?? "")'")
            case ("error", .failure(let e)):
                let line = "\(e)"
                #expect(e is GGUFError, "\(file): \(type(of: e))")
                #expect(line.hasPrefix(path + ": "), "\(line)")
                #expect(!line.contains("\n"))
                #expect(line.contains(v["contains"]?.string ?? "\u{0}"), "\(file): '\(line)'")
            default:
                Issue.record("\(file): unknown expectation \(expect)")
            }
        }
    }
}
