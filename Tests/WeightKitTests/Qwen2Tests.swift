import Foundation
import Testing
import TestSupport
@testable import Models
@testable import WeightKit

/// Qwen2 (Fixtures/qwen2.py): recognition, its biases and rope θ, llama.cpp's `qwen2` GGUF (gguf-py,
/// Q/K rows not permuted) both read and written, and the configs it refuses. verify, the convert
/// chains and the quantized conversions run on qwen2-* with every fixture (VerifyTests, ConvertRoundTripTests).
@Suite("Qwen2")
struct Qwen2Tests {
    @Test("HF directories and llama.cpp's GGUF are Qwen2 with q/k/v biases, no o bias, rope θ 1e6")
    func recognised() throws {
        for (fixture, tied) in [("qwen2-tiny", false), ("qwen2-tied", true), ("qwen2-tiny/model.gguf", false)] {
            let g = try ModelLayouts.graph(for: try Checkpoint.open(Fixtures.path(fixture)))
            let c = g.config
            #expect(c.architecture == .qwen2, "\(fixture)")
            #expect(c.attentionBias && !c.outputBias && !c.mlpBias && c.tiedHead == tied, "\(fixture)")
            #expect(c.rope?.theta == 1_000_000 && c.rope?.style == .half, "\(fixture)")
            #expect(g.weights["layers.1.attn.k.bias"] != nil && g.weights["layers.1.attn.out.bias"] == nil)
            #expect(g.naming.contains(fixture.hasSuffix(".gguf") ? "GGUF" : "prefix 'model.'"), "\(g.naming)")
        }
    }

    @Test("gguf-py's qwen2 file verifies against transformers' activations and diffs equal to the HF weights")
    func ggufPy() throws {
        let r = try Verifier.verify(
            model: try LoadedModel.open(Fixtures.path("qwen2-tiny", "model.gguf")),
            reference: try ReferenceFile.open(Fixtures.path("qwen2-tiny", "reference.safetensors")))
        #expect(r.passed, "fails at \(r.firstFailure?.name ?? "")")
        let d = try Differ.diff(Fixtures.path("qwen2-tiny"), Fixtures.path("qwen2-tiny", "model.gguf"))
        #expect(d.mode == "canonical" && d.equal, "\(d.onlyInA) \(d.onlyInB) \(d.configDifferences)")
    }

    @Test("convert to GGUF writes llama.cpp's qwen2 names and unpermuted Q/K: gguf-py's tensors, byte for byte")
    func sameAsGGUFPy() throws {
        let dir = RepoPaths.temporaryDirectory("qwen2-gguf")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Converter.convert(Fixtures.path("qwen2-tiny"), to: dir + "/out.gguf", options: ConvertOptions())
        let mine = try Checkpoint.open(dir + "/out.gguf")
        let theirs = try Checkpoint.open(Fixtures.path("qwen2-tiny", "model.gguf"))
        #expect(Set(mine.entries.map(\.name)) == Set(theirs.entries.map(\.name)))
        for t in theirs.entries {
            guard let m = mine[t.name] else { continue }
            let same = try m.bytes().bytes == t.bytes().bytes
            #expect(m.shape == t.shape && same, "\(t.name)")
        }
        #expect(mine.metadata["general.architecture"] == .string("qwen2"))
        for e in theirs.metadata.entries where e.key.hasPrefix("qwen2.") {
            #expect(mine.metadata[e.key] == e.value, "\(e.key)")
        }
    }

    @Test("sliding-window configs are refused by name, not run without the window")
    func refusesSlidingWindow() throws {
        let dir = try Fixtures.copy("qwen2-tiny")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/config.json"
        var json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
        json["use_sliding_window"] = true
        json["sliding_window"] = 4
        try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: path))
        let e = try #require(throws: ModelError.self) { try ModelLayouts.graph(for: try Checkpoint.open(dir)) }
        #expect(e.description.contains("\"use_sliding_window\" is true"), "\(e)")

        var g = try Checkpoint.open(Fixtures.path("qwen2-tiny", "model.gguf"))
        g.metadata["qwen2.attention.sliding_window"] = .uint32(4)
        let e2 = try #require(throws: ModelError.self) { try ModelLayouts.graph(for: g) }
        #expect(e2.description.contains("'qwen2.attention.sliding_window'"), "\(e2)")
    }

    /// Audit of the fields that change the computation: rope scaling of every kind is refused by name in
    /// config.json (v4 `rope_scaling` and v5 `rope_parameters`) and GGUF; `head_dim` is read, as
    /// transformers' Qwen2Attention reads it (`getattr(config, "head_dim", hidden // heads)`), so a
    /// head_dim the weights do not have is a shape error, not ignored.
    @Test("rope scaling is refused by name; head_dim is read, not ignored", arguments: [
        (#""rope_parameters": {"rope_type": "yarn", "factor": 4.0, "rope_theta": 1000000.0}"#, "Qwen2 rope scaling config: rope type \"yarn\" is not supported"),
        (#""rope_scaling": {"type": "dynamic", "factor": 2.0}"#, "Qwen2 rope scaling config: rope type \"dynamic\" is not supported"),
        (#""rope_parameters": {"rope_type": "linear", "factor": 2.0, "rope_theta": 1000000.0}"#, "rope scaling is not supported for Qwen2"),
        (#""head_dim": 16"#, "wrong shape: 'model.layers.0.self_attn.q_proj.weight' is [32, 32], expected [64, 32]"),
    ])
    func auditedFields(field: String, message: String) throws {
        let dir = try Fixtures.copy("qwen2-tiny")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/config.json"
        var text = try String(contentsOfFile: path, encoding: .utf8)
        if field.contains("rope_parameters") {
            // Replace the fixture's own rope_parameters object.
            let start = try #require(text.range(of: "\"rope_parameters\""))
            let end = try #require(text.range(of: "}", range: start.upperBound..<text.endIndex))
            text.replaceSubrange(start.lowerBound..<end.upperBound, with: field)
        } else {
            text = text.replacingOccurrences(of: "{", with: "{" + field + ",", range: text.range(of: "{"))
        }
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let e = try #require(throws: ModelError.self) { try ModelLayouts.graph(for: try Checkpoint.open(dir)) }
        #expect(e.description.contains(message), "\(e)")

        var g = try Checkpoint.open(Fixtures.path("qwen2-tiny", "model.gguf"))
        g.metadata["qwen2.rope.scaling.type"] = .string("yarn")
        let e2 = try #require(throws: ModelError.self) { try ModelLayouts.graph(for: g) }
        #expect(e2.description.contains("rope scaling type 'yarn' is not supported for Qwen2"), "\(e2)")
    }
}
