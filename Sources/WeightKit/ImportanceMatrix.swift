// llama.cpp's importance matrices (`llama-imatrix` output), read as llama-quantize reads them.
//
// GGUF format (`general.type = imatrix`): for each weight NAME two f32 tensors, `NAME.in_sum2`
// (sums of squared activations, ggml shape [columns, matrices]) and `NAME.counts` ([1, matrices]);
// keys `imatrix.datasets` (strings), `imatrix.chunk_count`, `imatrix.chunk_size`. The importance of
// column c of matrix m is in_sum2[m][c] ÷ round(counts[m]), or 1 when that count is 0.
//
// Legacy `.dat` (all little-endian int32 unless said): entry count N ≥ 1; N times: name length, name
// bytes, ncall, value count V ≥ 1, V float32 values; then optionally the chunk count and a dataset
// name (length, bytes). The importance is value ÷ ncall (the value itself when ncall is 0).
//
// Non-finite importances are refused, as llama-quantize refuses them.

import Foundation
import GGUFFormat
import TensorCore

/// An importance matrix: per weight name, one importance per input column (per matrix, for stacked
/// experts).
public struct ImportanceMatrix: Sendable {
    public let path: String
    public let entries: [String: [Float]]
    public let datasets: [String]
    public let chunkCount: Int
    public let isLegacy: Bool

    /// Reads either format (a GGUF file by its magic; anything else as legacy `.dat`).
    public static func load(_ path: String) throws -> ImportanceMatrix {
        guard let data = FileManager.default.contents(atPath: path) else { throw WeightKitError("\(path): cannot read the imatrix file") }
        let bytes = [UInt8](data)
        if bytes.count >= 4, bytes[0...3].elementsEqual(Array("GGUF".utf8)) { return try loadGGUF(path) }
        return try loadLegacy(bytes, path: path)
    }

    static func loadGGUF(_ path: String) throws -> ImportanceMatrix {
        let f = try GGUFFile.open(path: path)
        if let t = f.metadata["general.type"]?.string, t != "imatrix" {
            throw WeightKitError("\(path): a GGUF file of general.type '\(t)', not an importance matrix")
        }
        guard f.metadata["imatrix.datasets"] != nil, f.metadata["imatrix.chunk_count"] != nil, f.metadata["imatrix.chunk_size"] != nil else {
            throw WeightKitError("\(path): imatrix metadata missing (imatrix.datasets, imatrix.chunk_count, imatrix.chunk_size)")
        }
        var sums: [String: Tensor] = [:]
        var counts: [String: Tensor] = [:]
        for t in f.tensors {
            if t.name.hasSuffix(".in_sum2") {
                sums[String(t.name.dropLast(8))] = t
            } else if t.name.hasSuffix(".counts") {
                counts[String(t.name.dropLast(7))] = t
            }
        }
        guard !sums.isEmpty || !counts.isEmpty else { throw WeightKitError("\(path): no imatrix entries (NAME.in_sum2 / NAME.counts tensors)") }
        var entries: [String: [Float]] = [:]
        for name in Set(sums.keys).union(counts.keys).sorted() {
            guard let s = sums[name], let c = counts[name] else {
                throw WeightKitError("\(path): '\(name)' has \(sums[name] == nil ? "counts but no in_sum2" : "in_sum2 but no counts")")
            }
            guard s.dtype == .f32, c.dtype == .f32 else { throw WeightKitError("\(path): in_sum2 and counts of '\(name)' must be f32") }
            let sv = floats(s), cv = floats(c)
            guard !cv.isEmpty, !sv.isEmpty, sv.count % cv.count == 0 else {
                throw WeightKitError("\(path): '\(name)' has \(sv.count) sums for \(cv.count) counts, not a whole number of columns per matrix")
            }
            let columns = sv.count / cv.count
            var e = [Float](repeating: 1, count: sv.count)
            for m in 0..<cv.count {
                guard cv[m].isFinite, abs(cv[m]) < 9e18 else { throw WeightKitError("\(path): '\(name)' has a non-finite count") }
                let count = Float(Int64(cv[m].rounded(.toNearestOrAwayFromZero)))
                guard count > 0 else { continue }
                for i in 0..<columns { e[m * columns + i] = sv[m * columns + i] / count }
            }
            entries[name] = e
        }
        let datasets: [String]
        if case .array(.string, let items)? = f.metadata["imatrix.datasets"] { datasets = items.compactMap(\.string) } else { datasets = [] }
        return try ImportanceMatrix(
            path: path, entries: entries, datasets: datasets, chunkCount: f.metadata["imatrix.chunk_count"]?.int ?? 0, isLegacy: false
        ).checked()
    }

    static func floats(_ t: Tensor) -> [Float] {
        t.data.withUnsafeBytes { raw in (0..<(raw.count / 4)).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) } }
    }

    static func loadLegacy(_ b: [UInt8], path: String) throws -> ImportanceMatrix {
        var at = 0
        func fail(_ m: String) -> WeightKitError { WeightKitError("\(path): not a llama.cpp importance matrix (GGUF or legacy .dat): \(m) at byte \(at)") }
        func int32() throws -> Int {
            guard at + 4 <= b.count else { throw fail("the file ends early") }
            let v = Int32(bitPattern: UInt32(b[at]) | UInt32(b[at + 1]) << 8 | UInt32(b[at + 2]) << 16 | UInt32(b[at + 3]) << 24)
            at += 4
            return Int(v)
        }
        let n = try int32()
        guard n >= 1 else { throw fail("entry count \(n)") }
        // Each entry takes at least 16 bytes: a lying count is caught before anything is allocated for it.
        guard n <= (b.count - 4) / 16 else { throw fail("entry count \(n) is more than the file can hold") }
        var entries: [String: [Float]] = [:]
        for i in 0..<n {
            let len = try int32()
            guard len >= 0, at + len <= b.count else { throw fail("entry \(i + 1): name length \(len)") }
            guard let name = String(validating: b[at..<(at + len)], as: UTF8.self) else { throw fail("entry \(i + 1): the name is not UTF-8") }
            at += len
            let ncall = try int32()
            let nval = try int32()
            guard nval >= 1, nval <= (b.count - at) / 4 else { throw fail("entry \(i + 1) ('\(name)'): \(nval) values") }
            var values = [Float](repeating: 0, count: nval)
            for j in 0..<nval {
                values[j] = Float(bitPattern: UInt32(b[at]) | UInt32(b[at + 1]) << 8 | UInt32(b[at + 2]) << 16 | UInt32(b[at + 3]) << 24)
                at += 4
            }
            if ncall > 0 { values = values.map { $0 / Float(ncall) } }
            entries[name] = values
        }
        var chunks = 0
        var datasets: [String] = []
        if at + 4 <= b.count {
            chunks = try int32()
            if at + 4 <= b.count {
                let len = try int32()
                if len > 0, at + len <= b.count, let d = String(validating: b[at..<(at + len)], as: UTF8.self) { datasets = [d] }
            }
        }
        return try ImportanceMatrix(path: path, entries: entries, datasets: datasets, chunkCount: chunks, isLegacy: true).checked()
    }

    func checked() throws -> ImportanceMatrix {
        for (name, v) in entries.sorted(by: { $0.key < $1.key }) where v.contains(where: { !$0.isFinite }) {
            throw WeightKitError("\(path): the importance of '\(name)' holds a non-finite value")
        }
        return self
    }

    /// The importance for a weight with `columns` input columns (× `matrices` stacked experts), nil when
    /// the file has none for it; a size that does not match is an error (a matrix for another model).
    public func weights(for name: String, columns: Int, matrices: Int = 1) throws -> [Float]? {
        guard let e = entries[name] else { return nil }
        guard e.count == columns * matrices else {
            throw WeightKitError("\(path): the importance of '\(name)' has \(e.count) values but the tensor has \(columns * matrices) columns: an imatrix for another model?")
        }
        return e
    }

    /// The keys llama-quantize writes into a quantized file that used an imatrix.
    public var provenance: [MetadataEntry] {
        var out = [MetadataEntry("quantize.imatrix.file", .string(String(path.prefix(127))))]
        if let d = datasets.first { out.append(MetadataEntry("quantize.imatrix.dataset", .string(String(d.prefix(127))))) }
        out.append(MetadataEntry("quantize.imatrix.entries_count", .uint32(UInt32(entries.count))))
        if chunkCount > 0 { out.append(MetadataEntry("quantize.imatrix.chunks_count", .uint32(UInt32(chunkCount)))) }
        return out
    }
}
