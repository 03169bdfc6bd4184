import Foundation
import SafetensorsFormat
import Testing
import TestSupport
@testable import WeightKit

@Suite("diff")
struct DiffTests {
    /// Files written by other tools in other namings and layouts are the same model.
    @Test(arguments: [
        ("gpt2-tiny", "gpt2-tiny/model.gguf"),  // Conv1D [in,out] vs GGUF [out,in]
        ("gpt2-tiny", "gpt2-tiny/tf_model.h5"),
        ("gpt2-tiny", "gpt2-hub"),  // prefix, mask buffers
        ("llama-gqa", "llama-gqa/model.gguf"),  // Q/K half-split vs interleaved
        ("llama-gqa", "llama-meta"),  // Meta names, interleaved
        ("llama3-rope", "llama3-rope/model.gguf"),  // llama3 params vs rope_freqs
        ("gpt1-tiny", "gpt1-tiny/tf_model.h5"),
    ])
    func equalAcrossFormats(a: String, b: String) throws {
        let r = try Differ.diff(Fixtures.path(a), Fixtures.path(b))
        #expect(r.mode == "canonical")
        #expect(r.equal, "\(a) vs \(b): \(r.rows.filter { !$0.passed }.map(\.name)) \(r.configDifferences)")
    }

    @Test func quantizedDiffersByItsRounding() throws {
        let r = try Differ.diff(Fixtures.path("gpt2-tiny"), Fixtures.path("gpt2-tiny", "model-q8_0.gguf"))
        #expect(!r.equal)
        #expect(r.dtypeMismatches.contains { $0.name == "layers.0.attn.qkv.weight" && $0.dtypeB == .q8_0 })
        // Q8_0 rounds each value to within half a step of its block's scale (amax/127): for these
        // weights (|w| < 2.5) under 0.01; biases and norms stay f32 and are exact.
        for row in r.rows {
            if row.dtypeB == .f32 { #expect(row.maxAbs == 0, "\(row.name)") } else { #expect(row.maxAbs > 0 && row.maxAbs < 0.01, "\(row.name) \(row.maxAbs)") }
        }
        #expect(try Differ.diff(Fixtures.path("gpt2-tiny"), Fixtures.path("gpt2-tiny", "model-q8_0.gguf"), atol: 0.01).equal)
    }

    @Test func differentModels() throws {
        let r = try Differ.diff(Fixtures.path("gpt2-tiny"), Fixtures.path("gpt2-untied"))
        #expect(!r.equal)
        #expect(r.rows.contains { $0.shapeMismatch })
        #expect(r.configDifferences.contains { $0.hasPrefix("hidden_size") })
        #expect(r.onlyInB.contains("layers.2.attn.qkv.weight"))
        let x = try Differ.diff(Fixtures.path("gpt2-tiny"), Fixtures.path("llama-gqa"))
        #expect(!x.equal && x.configDifferences.contains { $0.hasPrefix("architecture") })
    }

    /// One changed element is found, with its size.
    @Test func oneElementChanged() throws {
        let dir = RepoPaths.temporaryDirectory("diff1")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let src = try Checkpoint.open(Fixtures.path("llama-gqa"))
        var tensors = [TensorEntry]()
        for e in src.entries {
            if e.name == "model.layers.1.self_attn.k_proj.weight" {
                var v = try e.load().floats()
                v[37] += 0.25
                tensors.append(TensorEntry(try Tensor(name: e.name, shape: e.shape, floats: v)))
            } else {
                tensors.append(e)
            }
        }
        try SafetensorsWriter.write(to: dir + "/model.safetensors", metadata: [], tensors: tensors)
        try FileManager.default.copyItem(atPath: Fixtures.path("llama-gqa", "config.json"), toPath: dir + "/config.json")
        // Against the interleaved GGUF copy: the un-permutation must line the element up.
        let r = try Differ.diff(Fixtures.path("llama-gqa", "model.gguf"), dir)
        #expect(!r.equal)
        let bad = r.rows.filter { !$0.passed }
        #expect(bad.map(\.name) == ["layers.1.attn.k.weight"])
        #expect(bad.first?.mismatches == 1)
        #expect(abs((bad.first?.maxAbs ?? 0) - 0.25) < 1e-6)
        #expect(try Differ.diff(Fixtures.path("llama-gqa", "model.gguf"), dir, atol: 0.25).equal)
    }

    @Test func byNameForOtherFiles() throws {
        let dir = RepoPaths.temporaryDirectory("diffnames")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let a = dir + "/a.safetensors", b = dir + "/b.safetensors"
        try FileManager.default.copyItem(atPath: Fixtures.path("gpt2-tiny", "reference.safetensors"), toPath: a)
        try FileManager.default.copyItem(atPath: Fixtures.path("gpt2-tiny", "reference-q8_0.safetensors"), toPath: b)
        let r = try Differ.diff(a, a)
        #expect(r.mode == "names" && r.equal && r.rows.count > 5)
        let x = try Differ.diff(a, b)
        #expect(x.mode == "names" && !x.equal)
        #expect(x.rows.first { $0.name == "input_ids" }?.passed == true)
    }

    @Test func badInputThrows() throws {
        #expect(throws: (any Error).self) { try Differ.diff("/nonexistent", Fixtures.path("gpt2-tiny")) }
        #expect(throws: (any Error).self) { try Differ.diff(RepoPaths.formats("gguf/bad_magic.gguf"), Fixtures.path("gpt2-tiny")) }
    }
}
