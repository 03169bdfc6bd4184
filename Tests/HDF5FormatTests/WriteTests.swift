// WeightKit writes; h5py reads back the same values, dtypes, attributes and filters; WeightKit
// reads its own files back.
import Foundation
@testable import HDF5Format
import TensorCore
import TestSupport
import Testing

/// Prints every dataset (numpy dtype, shape, little-endian hex, filters, attributes) and root attributes.
let readWithH5py = pyConvert + """
import h5py, hdf5plugin
out = {'datasets': {}, 'attrs': {}}
with h5py.File(sys.argv[1], 'r') as f:
    def visit(name, obj):
        if isinstance(obj, h5py.Dataset):
            a = obj[()]
            a = np.asarray(a)
            out['datasets'][name] = {'dtype': a.dtype.name, 'shape': list(a.shape),
                'hex': a.astype(a.dtype.newbyteorder('<')).tobytes().hex(),
                'filters': sorted(str(k) for k in obj._filters.keys()), 'chunks': list(obj.chunks or []),
                'attrs': {k: conv(v) for k, v in obj.attrs.items()}}
    f.visititems(visit)
    for k, v in f.attrs.items():
        out['attrs'][k] = {'value': conv(v), 'kind': kind(v)}
print(json.dumps(out))
"""

let allDTypes: [DType] = [.f64, .f32, .f16, .bf16, .i64, .i32, .i16, .i8, .u64, .u32, .u16, .u8, .bool, .f8_e4m3, .f8_e5m2]

func allTensors() throws -> [TensorEntry] {
    var out: [TensorEntry] = []
    for (i, d) in allDTypes.enumerated() {
        out.append(try entry("t/\(d.rawValue)", d, [3, 2 + i], seed: i))
    }
    out.append(try entry("h.0/attn/c_attn.weight", .f32, [600, 2000], seed: 99))  // 4.8 MB: two chunks
    out.append(try entry("scalar", .f32, []))
    out.append(try entry("empty", .f16, [0, 4]))
    return out
}

let sampleMetadata = Metadata([
    MetadataEntry("name", .string("héllo ✓")),
    MetadataEntry("count", .int64(-3)),
    MetadataEntry("u", .uint32(7)),
    MetadataEntry("pi", .float64(3.25)),
    MetadataEntry("f", .float32(1.5)),
    MetadataEntry("flag", .bool(true)),
    MetadataEntry("list", .array(.string, [.string("a"), .string("bé")])),
    MetadataEntry("nums", .array(.int32, [.int32(1), .int32(2), .int32(3)])),
    MetadataEntry("model_config", .string("{\"n_layer\": 2}")),
    MetadataEntry("h.0/attn/c_attn.weight@note", .string("on the dataset")),
])

let numpyNames: [DType: String] = [
    .f64: "float64", .f32: "float32", .f16: "float16", .bf16: "uint16", .i64: "int64", .i32: "int32", .i16: "int16",
    .i8: "int8", .u64: "uint64", .u32: "uint32", .u16: "uint16", .u8: "uint8", .bool: "bool", .f8_e4m3: "uint8",
    .f8_e5m2: "uint8",
]

@Suite struct WriteTests {
    static let compressions: [(String, HDF5Compression)] = [
        ("none", .none), ("gzip", .gzip(level: 6)), ("shuffle_gzip", .gzip(level: 4, shuffle: true)),
        ("zstd", .zstd(level: 3)), ("shuffle_zstd", .zstd(level: 9, shuffle: true)),
    ]

    @Test(arguments: 0..<5)
    func h5pyReadsWhatWeWrite(index: Int) throws {
        let (label, compression) = Self.compressions[index]
        let path = scratch("written-\(label).h5")
        let tensors = try allTensors()
        try HDF5Writer.write(to: path, metadata: sampleMetadata, tensors: tensors, compression: compression)
        let got = try pythonJSON(readWithH5py, [path])
        let datasets = try #require(got["datasets"])
        for t in tensors {
            guard let d = datasets[t.name] else {
                Issue.record("h5py does not see \(t.name)")
                continue
            }
            #expect(d["dtype"]?.string == numpyNames[t.dtype], "\(t.name)")
            #expect((d["shape"]?.array ?? []).compactMap(\.int) == t.shape, "\(t.name)")
            #expect(d["hex"]?.string == hex(try t.bytes().bytes), "\(t.name) bytes")
            let marker: String? = [.bf16: "bfloat16", .f8_e4m3: "float8_e4m3fn", .f8_e5m2: "float8_e5m2"][t.dtype]
            #expect(d["attrs"]?["dtype"]?.string == marker, "\(t.name) marker")
            let filters = (d["filters"]?.array ?? []).compactMap(\.string)
            if t.shape.isEmpty || t.elementCount == 0 || compression == .none {
                #expect(filters.isEmpty, "\(t.name)")
            } else {
                switch compression {
                case .gzip(_, let shuffle): #expect(filters.contains("gzip") && filters.contains("shuffle") == shuffle, "\(t.name) \(filters)")
                case .zstd(_, let shuffle): #expect(filters.contains("32015") && filters.contains("shuffle") == shuffle, "\(t.name) \(filters)")
                case .none: break
                }
            }
        }
        let big = try #require(datasets["h.0/attn/c_attn.weight"])
        #expect(big["attrs"]?["note"]?.string == "on the dataset")
        if compression != .none {
            #expect((big["chunks"]?.array ?? []).compactMap(\.int) == [524, 2000])
        }
        let attrs = try #require(got["attrs"])
        #expect(attrs["name"]?["value"]?.string == "héllo ✓" && attrs["name"]?["kind"]?.string == "str")
        #expect(attrs["count"]?["value"]?.int == -3 && attrs["count"]?["kind"]?.string == "<i8")
        #expect(attrs["u"]?["value"]?.int == 7 && attrs["u"]?["kind"]?.string == "<u4")
        #expect(attrs["pi"]?["value"]?.double == 3.25 && attrs["pi"]?["kind"]?.string == "<f8")
        #expect(attrs["f"]?["value"]?.double == 1.5 && attrs["f"]?["kind"]?.string == "<f4")
        #expect(attrs["flag"]?["value"]?.bool == true && attrs["flag"]?["kind"]?.string == "|b1")
        #expect(attrs["list"]?["value"] == .array([.string("a"), .string("bé")]))
        #expect(attrs["nums"]?["value"]?.array?.compactMap(\.int) == [1, 2, 3])
        #expect(attrs["model_config"]?["value"]?.string == "{\"n_layer\": 2}")
        #expect(attrs["h.0/attn/c_attn.weight@note"] == nil)

        // And WeightKit reads its own file back: the same tensors, the same metadata.
        let back = try HDF5File.open(path: path)
        #expect(back.entries.map(\.name).sorted() == tensors.map(\.name).sorted())
        for t in tensors {
            let e = try #require(back.entry(named: t.name))
            #expect(e.dtype == t.dtype && e.shape == t.shape, "\(t.name)")
            #expect(try e.bytes().bytes == t.bytes().bytes, "\(t.name)")
        }
        for m in sampleMetadata.entries { #expect(back.metadata[m.key] == m.value, "\(m.key)") }
        #expect(back.metadata.entries.count == sampleMetadata.entries.count)
    }

    @Test func hdf5RoundTripKeepsObjectAttributes() throws {
        let path = scratch("keras-src.h5")
        try Python.check(writeKerasFile, [path, "full", "split"])
        let src = try HDF5File.open(path: path)
        let copy = scratch("keras-copy.h5")
        try HDF5Writer.write(to: copy, metadata: src.metadata, tensors: src.entries)
        let back = try HDF5File.open(path: copy)
        #expect(try back.kerasWeightOrder() == src.kerasWeightOrder())
        #expect(back.metadata.entries.count == src.metadata.entries.count)
        for m in src.metadata.entries { #expect(back.metadata[m.key] == m.value, "\(m.key)") }
    }

    @Test func refusals() throws {
        let dir = RepoPaths.temporaryDirectory("wk-hdf5-refuse")
        let path = dir + "/out.h5"
        let quant = try TensorEntry(name: "q", dtype: .q4_0, shape: [32]) { TensorData(bytes: [UInt8](repeating: 0, count: 18)) }
        expectOneLine(errorLine { try HDF5Writer.write(to: path, metadata: Metadata(), tensors: [quant]) }, path: path, contains: "tensor 'q': q4_0 is a ggml block type")
        expectOneLine(errorLine { try HDF5Writer.write(to: path, metadata: Metadata(), tensors: [try entry("a//b", .f32, [1])]) }, path: path, contains: "not a valid HDF5 path")
        // A tensor that is also a group: fails mid-write, leaving nothing behind.
        let clash = [try entry("a", .f32, [2]), try entry("a/b", .f32, [2])]
        expectOneLine(errorLine { try HDF5Writer.write(to: path, metadata: Metadata(), tensors: clash) }, path: path, contains: "tensor 'a/b': cannot create the dataset")
        let nested = Metadata([MetadataEntry("x", .array(.array, [.array(.int8, [])]))])
        expectOneLine(errorLine { try HDF5Writer.write(to: path, metadata: nested, tensors: []) }, path: path, contains: "metadata 'x': arrays of arrays")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty)
        // overwrite: false keeps an existing file.
        try HDF5Writer.write(to: path, metadata: Metadata(), tensors: [try entry("w", .f32, [2])])
        expectOneLine(errorLine { try HDF5Writer.write(to: path, metadata: Metadata(), tensors: [], overwrite: false) }, path: path, contains: "already exists")
        #expect(try HDF5File.open(path: path).entries.count == 1)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["out.h5"])
    }

    @Test func chunkShapes() {
        #expect(HDF5Writer.chunkShape([300, 2000], elementBytes: 4, target: 4 << 20) == [300, 2000])
        #expect(HDF5Writer.chunkShape([600, 2000], elementBytes: 4, target: 4 << 20) == [524, 2000])
        #expect(HDF5Writer.chunkShape([50257, 768], elementBytes: 2, target: 4 << 20) == [2730, 768])
        #expect(HDF5Writer.chunkShape([4, 4096, 4096], elementBytes: 4, target: 4 << 20) == [1, 256, 4096])
        #expect(HDF5Writer.chunkShape([10], elementBytes: 8, target: 4 << 20) == [10])
    }
}

@Suite struct LargeAndConcurrentTests {
    @Test func largeMetadataFitsPastTheObjectHeaderLimit() throws {
        let path = scratch("vocab.h5")
        let vocab = (0..<60_000).map { MetadataValue.string("token_\($0)") }
        let md = Metadata([MetadataEntry("tokenizer.ggml.tokens", .array(.string, vocab))])
        try HDF5Writer.write(to: path, metadata: md, tensors: [try entry("w", .f32, [4])])
        let out = try Python.check("""
            import h5py, sys
            with h5py.File(sys.argv[1], 'r') as f:
                v = f.attrs['tokenizer.ggml.tokens']
                print(len(v), v[0], v[-1])
            """, [path])
        #expect(out.trimmingCharacters(in: .whitespacesAndNewlines) == "60000 token_0 token_59999")
        #expect(try HDF5File.open(path: path).metadata["tokenizer.ggml.tokens"] == .array(.string, vocab))
    }

    @Test func concurrentReadsAgree() throws {
        let path = scratch("concurrent.h5")
        let tensors = try (0..<8).map { try entry("t\($0)", .f32, [200, 300], seed: $0) }
        try HDF5Writer.write(to: path, metadata: Metadata(), tensors: tensors, compression: .gzip(level: 1))
        let file = try HDF5File.open(path: path)
        let expected = try tensors.map { try $0.bytes().bytes }
        let results = ResultBox(count: 32)
        DispatchQueue.concurrentPerform(iterations: 32) { i in
            let ok = (try? file.entries[i % 8].bytes().bytes) == expected[i % 8]
            results.set(i, ok)
        }
        #expect(results.all)
    }
}

/// Per-iteration results from concurrent work. `@unchecked Sendable`: guarded by a lock.
final class ResultBox: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [Bool]
    init(count: Int) { values = Array(repeating: false, count: count) }
    func set(_ i: Int, _ v: Bool) { lock.lock(); values[i] = v; lock.unlock() }
    var all: Bool { lock.lock(); defer { lock.unlock() }; return values.allSatisfy { $0 } }
}
