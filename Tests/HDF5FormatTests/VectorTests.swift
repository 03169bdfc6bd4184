// The committed conformance vectors (Formats/hdf5/vectors.json): every file gives its listed outcome.
import Foundation
import HDF5Format
import TensorCore
import TestSupport
import Testing

/// The vectors, parsed once.
let hdf5Vectors: [JSONValue] = {
    guard let text = try? String(contentsOfFile: RepoPaths.formats("hdf5/vectors.json"), encoding: .utf8),
        let json = try? JSONParser.parse(text), let items = json.array
    else { return [] }
    return items
}()

/// Compares a metadata value with the vectors' `[type, value]` form; nil when equal, else why.
func metadataMismatch(_ got: MetadataValue?, _ want: JSONValue) -> String? {
    guard let pair = want.array, pair.count == 2, let type = pair[0].string else { return "bad expectation" }
    guard let got else { return "missing" }
    guard got.type.name == type else { return "type \(got.type.name), expected \(type)" }
    switch got {
    case .string(let s): return s == pair[1].string ? nil : "\(s)"
    case .bool(let b): return b == pair[1].bool ? nil : "\(b)"
    case .float32, .float64: return got.double == pair[1].double ? nil : "\(got)"
    case .array(_, let items):
        guard let wantItems = pair[1].array, wantItems.count == items.count else { return "\(items.count) items" }
        for (g, w) in zip(items, wantItems) { if let m = metadataMismatch(g, w) { return m } }
        return nil
    default: return got.int == pair[1].int ? nil : "\(got)"
    }
}

@Suite struct VectorTests {
    @Test func vectorsArePresent() {
        #expect(hdf5Vectors.count >= 14)
    }

    @Test(arguments: hdf5Vectors.indices)
    func vector(index: Int) throws {
        let v = hdf5Vectors[index]
        let name = try #require(v["file"]?.string)
        let path = RepoPaths.formats("hdf5/vectors/" + name)
        switch v["outcome"]?.string {
        case "ok":
            let file = try HDF5File.open(path: path)
            let tensors = v["tensors"]?.array ?? []
            #expect(file.entries.map(\.name) == tensors.compactMap { $0["name"]?.string }, "\(name)")
            for t in tensors {
                let tname = t["name"]?.string ?? ""
                let e = try #require(file.entry(named: tname), "\(name): \(tname)")
                #expect(e.dtype.rawValue == t["dtype"]?.string, "\(name): \(tname)")
                #expect(e.shape == (t["shape"]?.array ?? []).compactMap(\.int), "\(name): \(tname)")
                #expect(hex(try e.bytes().bytes) == t["hex"]?.string, "\(name): \(tname) bytes")
            }
            for (key, want) in v["metadata"]?.object ?? [] {
                let m = metadataMismatch(file.metadata[key], want)
                #expect(m == nil, "\(name): metadata '\(key)': \(m ?? "")")
            }
            if let order = v["keras_order"]?.array {
                #expect(try file.kerasWeightOrder() == order.compactMap(\.string), "\(name)")
            }
        case "open_error":
            let fragment = v["error_contains"]?.string ?? "?"
            expectOneLine(errorLine { _ = try HDF5File.open(path: path) }, path: path, contains: fragment)
        case "read_error":
            let fragment = v["error_contains"]?.string ?? "?"
            let file = try HDF5File.open(path: path)
            let e = try #require(file.entry(named: v["tensor"]?.string ?? ""))
            expectOneLine(errorLine { _ = try e.bytes() }, path: path, contains: fragment)
        default:
            Issue.record("\(name): unknown outcome")
        }
    }
}
