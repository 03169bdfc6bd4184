import Foundation
import SafetensorsFormat
import Testing
import TestSupport
@testable import WeightKit

/// Helpers shared by the convert tests.
enum ConvertTestSupport {
    static func bytes(_ path: String) -> Data { FileManager.default.contents(atPath: path) ?? Data() }

    @discardableResult
    static func convert(_ input: String, _ output: String, _ dtype: DType? = nil, naming: ConvertNaming? = nil, set: [String] = [], force: Bool = false)
        throws -> ConvertSummary
    {
        try Converter.convert(input, to: output, options: ConvertOptions(dtype: dtype, naming: naming, settings: set, force: force))
    }

    /// Runs WeightKit on `model` with `like`'s input_ids and writes every activation as a reference file.
    static func reference(of model: String, like ref: String, to out: String) throws {
        let m = try LoadedModel.open(model)
        let r = try ReferenceFile.open(ref)
        let acts = try Executor(graph: m.graph).run(batch: r.inputIDs)
        var tensors = try acts.tensors()
        tensors.insert(try Tensor(name: "input_ids", shape: [r.inputIDs.count, r.inputIDs[0].count], int64s: r.inputIDs.flatMap { $0.map(Int64.init) }), at: 0)
        try SafetensorsWriter.write(to: out, metadata: [], tensors: tensors)
    }

    /// Files in `dir` (hidden ones included).
    static func listing(_ dir: String) -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted() }
}

@Suite("convert: exact round trips on every fixture")
struct ConvertRoundTripTests {
    typealias S = ConvertTestSupport

    /// safetensors → GGUF (llama.cpp names) → HDF5 (HF names) → safetensors gives the same file,
    /// byte for byte; GGUF → HF directory → GGUF and GGUF → GGUF give the same GGUF; every
    /// intermediate verifies against the HF reference (f32) or against WeightKit's own run of the
    /// same weights widened to f32 (f16, bf16).
    @Test(arguments: Fixtures.modelDirectories, ["f32", "f16", "bf16"])
    func chain(fixture: String, dtype: String) throws {
        let dir = RepoPaths.temporaryDirectory("rt-\(fixture)-\(dtype)")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let d = DType(rawValue: dtype)!
        let a = dir + "/a.safetensors", b = dir + "/b.gguf", c = dir + "/c.h5", e = dir + "/e.safetensors"
        try S.convert(Fixtures.path(fixture, "model.safetensors"), a, d)
        let sb = try S.convert(a, b)
        #expect(sb.naming == .gguf)
        let sc = try S.convert(b, c)
        #expect(sc.naming == .hf)
        try S.convert(c, e)
        #expect(S.bytes(a) == S.bytes(e), "\(fixture) \(dtype): safetensors → GGUF → HDF5 → safetensors is not byte-identical")
        #expect(S.bytes(a).count > 1000)

        // GGUF → HF directory → GGUF, and GGUF → GGUF.
        try S.convert(b, dir + "/hfdir/")
        try S.convert(dir + "/hfdir", dir + "/f.gguf", set: ["general.name=rt"])
        try S.convert(b, dir + "/b2.gguf", set: ["general.name=rt"])
        try S.convert(dir + "/b2.gguf", dir + "/g.gguf")
        #expect(S.bytes(dir + "/f.gguf") == S.bytes(dir + "/g.gguf"), "\(fixture) \(dtype): GGUF → HF → GGUF differs from GGUF → GGUF")
        #expect(S.bytes(dir + "/hfdir/model.safetensors") == S.bytes(a), "\(fixture) \(dtype): GGUF → HF directory differs from the HF file")

        // Every copy is the same model as the fixture (canonical diff) at the dtype's rounding.
        for p in [a, b, c, e, dir + "/hfdir"] {
            let r = try Differ.diff(Fixtures.path(fixture), p)
            #expect(r.onlyInA.isEmpty && r.onlyInB.isEmpty && r.configDifferences.isEmpty, "\(p): \(r.onlyInA) \(r.onlyInB) \(r.configDifferences)")
            if d == .f32 { #expect(r.equal, "\(fixture): \(p) differs from the fixture") }
        }

        // verify
        let ref = Fixtures.path(fixture, "reference.safetensors")
        let reference: String
        if d == .f32 {
            reference = ref
        } else {
            try S.convert(b, dir + "/wide.safetensors", .f32)
            reference = dir + "/ref-wide.safetensors"
            try S.reference(of: dir + "/wide.safetensors", like: ref, to: reference)
        }
        for p in [b, c, e] {
            let r = try Verifier.verify(model: try LoadedModel.open(p), reference: try ReferenceFile.open(reference))
            #expect(r.passed, "\(fixture) \(dtype): \(p) fails verify at \(r.firstFailure?.name ?? "")")
        }
    }

    /// GGUF files written from the fixtures are the same bytes, tensor by tensor, as the ones
    /// gguf-py wrote following llama.cpp (f32 with Q/K permuted and rope_freqs, f16, Q8_0).
    @Test(arguments: [
        ("gpt2-tiny", "model.gguf", nil), ("gpt2-tiny", "model-q8_0.gguf", "q8_0"), ("gpt2-untied", "model.gguf", "f16"),
        ("llama-gqa", "model.gguf", nil), ("llama3-rope", "model.gguf", nil), ("llama-meta", "../llama-gqa/model.gguf", nil),
    ] as [(String, String, String?)])
    func sameTensorsAsGGUFPy(fixture: String, file: String, dtype: String?) throws {
        let dir = RepoPaths.temporaryDirectory("ggufpy")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try S.convert(Fixtures.path(fixture), dir + "/out.gguf", dtype.flatMap(DType.init(rawValue:)))
        let mine = try Checkpoint.open(dir + "/out.gguf")
        let theirs = try Checkpoint.open(Fixtures.path(fixture, file))
        #expect(mine.entries.map(\.name) == theirs.entries.map(\.name))
        for t in theirs.entries {
            guard let m = mine[t.name] else { continue }
            #expect(m.dtype == t.dtype && m.shape == t.shape, "\(t.name)")
            #expect(try m.bytes().bytes == t.bytes().bytes, "\(fixture): \(t.name) bytes differ from gguf-py's")
        }
        for key in ["general.architecture", "general.file_type", "general.quantization_version"] {
            #expect(mine.metadata[key] == theirs.metadata[key], "\(key)")
        }
        for e in theirs.metadata.entries where e.key.hasPrefix(theirs.metadata["general.architecture"]!.string! + ".") {
            #expect(mine.metadata[e.key] == e.value, "\(e.key)")
        }
    }

    /// Quantized GGUF outputs: the dtype each tensor gets follows llama.cpp's converter, the file
    /// verifies against WeightKit's run of its own dequantized f32 copy, and diffs equal to that
    /// copy at atol 0 (dequantization is exact in float32).
    @Test(arguments: Fixtures.modelDirectories, ["q8_0", "q4_0", "q4_1", "q5_0", "q5_1"])
    func quantized(fixture: String, dtype: String) throws {
        let dir = RepoPaths.temporaryDirectory("q-\(fixture)-\(dtype)")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let q = DType(rawValue: dtype)!
        try S.convert(Fixtures.path(fixture), dir + "/q.gguf", q)
        let c = try Checkpoint.open(dir + "/q.gguf")
        var quantized = 0
        for t in c.entries {
            let matrix = t.shape.count == 2 && t.name.hasSuffix(".weight") && !t.name.hasSuffix("_norm.weight") && t.name != "position_embd.weight"
            let want: DType = matrix ? (t.shape[1] % 32 == 0 ? q : .f16) : .f32
            #expect(t.dtype == want, "\(fixture) \(t.name) \(t.shape): \(t.dtype) instead of \(want)")
            if t.dtype == q { quantized += 1 }
        }
        #expect(c.metadata["general.quantization_version"] == (quantized > 0 ? .uint32(2) : nil))
        try S.convert(dir + "/q.gguf", dir + "/deq/", .f32)
        let diff = try Differ.diff(dir + "/q.gguf", dir + "/deq")
        #expect(diff.equal, "\(fixture) \(dtype): the dequantized copy differs")
        try S.reference(of: dir + "/deq", like: Fixtures.path(fixture, "reference.safetensors"), to: dir + "/ref.safetensors")
        let r = try Verifier.verify(model: try LoadedModel.open(dir + "/q.gguf"), reference: try ReferenceFile.open(dir + "/ref.safetensors"))
        #expect(r.passed, "\(fixture) \(dtype): fails at \(r.firstFailure?.name ?? "")")
    }

    /// The committed Q8_0 reference (HF run on gguf-py's dequantized Q8_0 weights) passes for
    /// WeightKit's own Q8_0 conversion of gpt2-tiny, from every input format.
    @Test(arguments: ["gpt2-tiny", "gpt2-tiny/model.gguf", "gpt2-tiny/tf_model.h5", "gpt2-tiny/tf_model_zstd.h5", "gpt2-hub"])
    func q8AgainstCommittedReference(input: String) throws {
        let dir = RepoPaths.temporaryDirectory("q8ref")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try S.convert(Fixtures.path(input), dir + "/q.gguf", .q8_0)
        let r = try Verifier.verify(model: try LoadedModel.open(dir + "/q.gguf"), reference: try ReferenceFile.open(Fixtures.path("gpt2-tiny", "reference-q8_0.safetensors")))
        #expect(r.passed, "\(input): fails at \(r.firstFailure?.name ?? "")")
    }

    /// Sharded HF directories: shards named as transformers names them, an index whose
    /// weight_map covers every tensor, and the same tensors as one file.
    @Test func shards() throws {
        let dir = RepoPaths.temporaryDirectory("shards")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var o = ConvertOptions()
        o.shardSize = try ConvertOptions.parseSize("30KB")
        try Converter.convert(Fixtures.path("llama-gqa"), to: dir + "/m", options: o)
        let files = S.listing(dir + "/m")
        #expect(files.contains("model.safetensors.index.json"))
        let shards = files.filter { $0.hasPrefix("model-") }
        #expect(shards.count > 1)
        #expect(shards.allSatisfy { $0.hasSuffix("-of-0000\(shards.count).safetensors") })
        let idx = try JSONParser.parse(String(decoding: S.bytes(dir + "/m/model.safetensors.index.json"), as: UTF8.self))
        #expect(idx["weight_map"]?.object?.count == 21)
        #expect(try Differ.diff(Fixtures.path("llama-gqa"), dir + "/m").equal)
        let r = try Verifier.verify(model: try LoadedModel.open(dir + "/m"), reference: try ReferenceFile.open(Fixtures.path("llama-gqa", "reference.safetensors")))
        #expect(r.passed)
        #expect(S.listing(dir) == ["m"])
    }

    @Test func sizes() throws {
        #expect(try ConvertOptions.parseSize("2GB") == 2_000_000_000)
        #expect(try ConvertOptions.parseSize("500MB") == 500_000_000)
        #expect(try ConvertOptions.parseSize("1GiB") == 1 << 30)
        #expect(try ConvertOptions.parseSize("4096") == 4096)
        #expect(throws: WeightKitError.self) { try ConvertOptions.parseSize("big") }
        #expect(throws: WeightKitError.self) { try ConvertOptions.parseSize("-1MB") }
    }

    @Test func settings() throws {
        #expect(try ConvertOptions.parseSetting("a=1").value == .uint32(1))
        #expect(try ConvertOptions.parseSetting("a=-3").value == .int32(-3))
        #expect(try ConvertOptions.parseSetting("a=5000000000").value == .int64(5_000_000_000))
        #expect(try ConvertOptions.parseSetting("a=1.5").value == .float32(1.5))
        #expect(try ConvertOptions.parseSetting("a=true").value == .bool(true))
        #expect(try ConvertOptions.parseSetting("a=hello=x").value == .string("hello=x"))
        #expect(try ConvertOptions.parseSetting("a:str=12").value == .string("12"))
        #expect(try ConvertOptions.parseSetting("a:f64=0.1").value == .float64(0.1))
        #expect(throws: WeightKitError.self) { try ConvertOptions.parseSetting("a:u8=300") }
        #expect(throws: WeightKitError.self) { try ConvertOptions.parseSetting("noequals") }
    }
}
