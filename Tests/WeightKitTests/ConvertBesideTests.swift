import Foundation
import SafetensorsFormat
import Testing
import TestSupport
@testable import WeightKit

/// A single-file output carries its resolved config, and the config.json and tokenizer files
/// beside it never silently belong to another model.
@Suite("convert: the files beside a single-file output")
struct ConvertBesideTests {
    typealias S = ConvertTestSupport

    func copy(_ from: String, _ to: String) throws { try FileManager.default.copyItem(atPath: from, toPath: to) }

    @discardableResult
    func convert(_ input: String, _ output: String, force: Bool = false, tokenizer: Bool = true) throws -> ConvertSummary {
        var o = ConvertOptions(force: force)
        o.tokenizer = tokenizer
        return try Converter.convert(input, to: output, options: o)
    }

    /// safetensors and HDF5 outputs hold config.json in their own metadata, as the Python packages
    /// read it; it describes the model (transformers' keys), with no tokenizer ids.
    @Test func outputsCarryTheirConfig() throws {
        let dir = RepoPaths.temporaryDirectory("beside-meta")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // Two models: two directories (one config.json each).
        try convert(Fixtures.path("llama-gqa"), dir + "/m.safetensors")
        try FileManager.default.createDirectory(atPath: dir + "/g", withIntermediateDirectories: true)
        try convert(Fixtures.path("gpt2-tiny", "model.gguf"), dir + "/g/g.h5", tokenizer: false)
        let out = try Python.check("""
            import sys, json, h5py
            from safetensors import safe_open
            a = json.loads(safe_open(sys.argv[1], "np").metadata()["config.json"])
            with h5py.File(sys.argv[2], "r") as f:
                v = f.attrs["config.json"]
                b = json.loads(v.decode() if isinstance(v, bytes) else v)
            print(a["model_type"], a["num_hidden_layers"], a["num_key_value_heads"], a["rope_parameters"]["rope_theta"])
            print(b["model_type"], b["n_layer"], b["n_embd"], b["bos_token_id"])
            """, [dir + "/m.safetensors", dir + "/g/g.h5"])
        #expect(out == "llama 2 2 10000.0\ngpt2 2 32 None\n", "\(out)")
    }

    /// WeightKit reads a file's own config before the config.json beside it: a file moved next to
    /// another model's config.json still opens as itself and verifies.
    @Test func ownConfigComesFirst() throws {
        let dir = RepoPaths.temporaryDirectory("beside-prefer")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for out in ["x.safetensors", "x.h5"] {
            try convert(Fixtures.path("gpt2-tiny"), dir + "/" + out)
        }
        try FileManager.default.removeItem(atPath: dir + "/config.json")
        try copy(Fixtures.path("llama-gqa", "config.json"), dir + "/config.json")
        for out in ["x.safetensors", "x.h5"] {
            let c = try Checkpoint.open(dir + "/" + out)
            #expect(c.configIsEmbedded && c.configPath == nil)
            let m = try LoadedModel.open(dir + "/" + out)
            #expect(m.graph.config.architecture == .gpt2)
            let r = try Verifier.verify(model: m, reference: try ReferenceFile.open(Fixtures.path("gpt2-tiny", "reference.safetensors")))
            #expect(r.passed, "\(out): \(r.firstFailure?.name ?? "")")
        }
        // A model directory keeps its own config.json as the authority.
        let hf = try Checkpoint.open(Fixtures.path("gpt2-tiny"))
        #expect(!hf.configIsEmbedded && hf.configPath == Fixtures.path("gpt2-tiny") + "/config.json")
    }

    /// A malformed embedded config is an error naming the file, not a silent fallback.
    @Test func badEmbeddedConfigIsAnError() throws {
        let dir = RepoPaths.temporaryDirectory("beside-bad")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let t = try Tensor(name: "w", shape: [2], floats: [1, 2])
        for (value, message) in [("{not json", "is not valid JSON"), ("[1, 2]", "is not a JSON object")] {
            let p = dir + "/w.safetensors"
            try SafetensorsWriter.write(to: p, metadata: [("config.json", value)], tensors: [t])
            do {
                _ = try Checkpoint.open(p)
                Issue.record("\(value) opened")
            } catch let e as CheckpointError {
                #expect("\(e)".hasPrefix("\(p): metadata 'config.json' \(message)"), "\(e)")
            }
        }
    }

    /// Another model's config.json beside OUT is an error and nothing is written; --force replaces it.
    @Test(arguments: ["x.safetensors", "x.h5"])
    func anotherModelsConfigIsRefused(out: String) throws {
        let dir = RepoPaths.temporaryDirectory("beside-conflict")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try copy(Fixtures.path("llama-gqa", "config.json"), dir + "/config.json")
        let before = S.bytes(dir + "/config.json")
        do {
            try convert(Fixtures.path("gpt2-tiny"), dir + "/" + out)
            Issue.record("converted beside llama-gqa's config.json")
        } catch let e as WeightKitError {
            #expect("\(e)".hasPrefix("\(dir)/config.json: is another model's config.json (a LLaMA model's; these are GPT-2 weights)"), "\(e)")
            #expect("\(e)".contains("--force"))
        }
        #expect(S.listing(dir) == ["config.json"])
        #expect(S.bytes(dir + "/config.json") == before)
        // Same family, other sizes: the differences are named.
        try FileManager.default.removeItem(atPath: dir + "/config.json")
        try copy(Fixtures.path("gpt2-untied", "config.json"), dir + "/config.json")
        do {
            try convert(Fixtures.path("gpt2-tiny"), dir + "/" + out)
            Issue.record("converted beside gpt2-untied's config.json")
        } catch let e as WeightKitError {
            #expect("\(e)".contains("config.json vs output: vocab_size: 112 vs 96, hidden_size: 48 vs 32, layers: 3 vs 2"), "\(e)")
        }
        #expect(S.listing(dir) == ["config.json"])
        let s = try convert(Fixtures.path("gpt2-tiny"), dir + "/" + out, force: true)
        #expect(s.notes.contains { $0.contains("replaced (--force)") }, "\(s.notes)")
        #expect(S.listing(dir) == ["config.json", out])
        let written = try JSONParser.parse(String(decoding: S.bytes(dir + "/config.json"), as: UTF8.self))
        #expect(written["n_layer"]?.int == 2 && written["vocab_size"]?.int == 96)
    }

    /// A config.json of the same model in other words (v4-style keys, other formatting) stays,
    /// with a note; the same bytes stay without one.
    @Test func sameModelsConfigStays() throws {
        let dir = RepoPaths.temporaryDirectory("beside-same")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let compact = try JSONParser.parse(String(decoding: S.bytes(Fixtures.path("llama-gqa", "config.json")), as: UTF8.self)).serialized()
        try Data(compact.utf8).write(to: URL(fileURLWithPath: dir + "/config.json"))
        let s = try convert(Fixtures.path("llama-gqa"), dir + "/a.safetensors")
        #expect(s.notes.contains { $0.contains("describes the same model; left as it is") }, "\(s.notes)")
        #expect(String(decoding: S.bytes(dir + "/config.json"), as: UTF8.self) == compact)
        // The GGUF copy of the same model into the same place: its generated config.json is other text.
        let g = try convert(Fixtures.path("llama-gqa", "model.gguf"), dir + "/b.safetensors", tokenizer: false)
        #expect(g.notes.contains { $0.contains("describes the same model") }, "\(g.notes)")
        #expect(S.listing(dir) == ["a.safetensors", "b.safetensors", "config.json"])
    }

    /// Tokenizer files beside OUT follow the same rule: another tokenizer is refused (nothing
    /// written), the same tokenizer in other bytes stays, --force replaces.
    @Test func tokenizerFilesFollowTheSameRule() throws {
        let dir = RepoPaths.temporaryDirectory("beside-tok")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try copy(Fixtures.path("llama-spm", "tokenizer.json"), dir + "/tokenizer.json")
        do {
            try convert(Fixtures.path("gpt2-text"), dir + "/x.safetensors")
            Issue.record("converted beside llama-spm's tokenizer.json")
        } catch let e as WeightKitError {
            #expect("\(e)".hasPrefix("\(dir)/tokenizer.json: belongs to another tokenizer ("), "\(e)")
        }
        #expect(S.listing(dir) == ["tokenizer.json"])
        let forced = try convert(Fixtures.path("gpt2-text"), dir + "/x.safetensors", force: true)
        #expect(forced.notes.contains { $0.contains("belonged to another tokenizer") }, "\(forced.notes)")
        #expect(S.bytes(dir + "/tokenizer.json") == S.bytes(Fixtures.path("gpt2-text", "tokenizer.json")))

        // The same tokenizer, written from a GGUF's keys (other bytes): the files there stay.
        let g = RepoPaths.temporaryDirectory("beside-tok-g")
        defer { try? FileManager.default.removeItem(atPath: g) }
        try convert(Fixtures.path("gpt2-text"), g + "/t.gguf")
        let before = S.bytes(dir + "/tokenizer.json")
        let s = try convert(g + "/t.gguf", dir + "/y.safetensors")
        #expect(s.notes.contains { $0.contains("hold the same tokenizer; left as they are") }, "\(s.notes)")
        #expect(S.bytes(dir + "/tokenizer.json") == before)
    }
}
