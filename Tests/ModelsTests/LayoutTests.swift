import Foundation
import Testing
import TestSupport
import CheckpointCore
@testable import Models
import SafetensorsFormat
@testable import TensorCore

@Suite("layouts: recognition, naming, strict binding")
struct LayoutTests {
    /// A fixture directory's model.safetensors and config.json as one checkpoint, read without the
    /// Checkpoints module (this target links no system library; see DependencyTests).
    func open(_ fixture: String) throws -> Checkpoint {
        let dir = Fixtures.path(fixture)
        let file = try SafetensorsFile.open(path: dir + "/model.safetensors")
        return Checkpoint(
            path: dir, format: .safetensors, files: [file.path], metadata: file.metadata,
            entries: file.tensors.map { TensorEntry($0) }, config: try Checkpoint.readConfig(dir + "/config.json"),
            configPath: dir + "/config.json")
    }

    @Test("each fixture maps to its family under the expected naming", arguments: [
        ("gpt2-tiny", Architecture.gpt2, "prefix 'transformer.'"), ("gpt2-hub", .gpt2, "no prefix"), ("gpt2-untied", .gpt2, "prefix"),
        ("gpt1-tiny", .gpt1, "Hugging Face"), ("llama-gqa", .llama, "prefix 'model.'"), ("llama-meta", .llama, "Meta"),
        ("llama-tied", .llama, "Hugging Face"), ("llama3-rope", .llama, "Hugging Face"),
    ])
    func recognised(fixture: String, arch: Architecture, naming: String) throws {
        let g = try ModelLayouts.graph(for: try open(fixture))
        #expect(g.config.architecture == arch)
        #expect(g.naming.contains(naming), "\(g.naming)")
    }

    @Test("configs resolve the knobs each fixture exercises")
    func knobs() throws {
        let untied = try ModelLayouts.graph(for: try open("gpt2-untied")).config
        #expect(!untied.tiedHead && untied.scaleByInverseLayer && untied.activation == .geluErf && untied.intermediateSize == 80)
        let gpt1 = try ModelLayouts.graph(for: try open("gpt1-tiny")).config
        #expect(gpt1.placement == .post && !gpt1.finalNorm && gpt1.activation == .geluTanh && gpt1.mask == .replace(-1e4))
        let gqa = try ModelLayouts.graph(for: try open("llama-gqa")).config
        #expect(gqa.kvHeads == 2 && gqa.heads == 4 && !gqa.tiedHead && gqa.rope?.style == .half)
        let tied = try ModelLayouts.graph(for: try open("llama-tied")).config
        #expect(tied.tiedHead && tied.attentionBias && tied.mlpBias && tied.headDim == 12 && tied.rope?.theta == 500000)
        let meta = try ModelLayouts.graph(for: try open("llama-meta")).config
        #expect(meta.rope?.style == .interleaved)
        let l3 = try ModelLayouts.graph(for: try open("llama3-rope")).config
        if case .llama3(let f, _, _, _) = l3.rope?.scaling { #expect(f == 8) } else { Issue.record("llama3 scaling not read") }
    }

    @Test("a missing weight is named with the source name it was looked for under")
    func missing() throws {
        let c = try open("gpt2-tiny")
        let cut = Checkpoint(path: c.path, format: c.format, files: c.files, metadata: c.metadata,
                             entries: c.entries.filter { $0.name != "transformer.h.1.mlp.c_fc.bias" }, config: c.config, configPath: c.configPath)
        let e = try #require(throws: ModelError.self) { try ModelLayouts.graph(for: cut) }
        #expect(e.description.contains("missing layers.1.mlp.up.bias ('transformer.h.1.mlp.c_fc.bias')"), "\(e)")
    }

    @Test("a wrong shape and an unexpected tensor are named")
    func shapeAndExtra() throws {
        let c = try open("gpt2-tiny")
        var entries = c.entries.map { e -> TensorEntry in
            e.name == "transformer.h.0.attn.c_proj.weight" ? (try! TensorEntry(name: e.name, dtype: .f32, shape: [16, 64]) { try e.bytes() }) : e
        }
        entries.append(try TensorEntry(name: "transformer.h.0.attn.rotary.extra", dtype: .f32, shape: [1]) { TensorData(bytes: [0, 0, 0, 0]) })
        let bad = Checkpoint(path: c.path, format: c.format, files: c.files, metadata: c.metadata, entries: entries, config: c.config, configPath: c.configPath)
        let e = try #require(throws: ModelError.self) { try ModelLayouts.graph(for: bad) }
        #expect(e.description.contains("wrong shape: 'transformer.h.0.attn.c_proj.weight' is [16, 64], expected [32, 32]"), "\(e)")
        #expect(e.description.contains("unexpected tensors 'transformer.h.0.attn.rotary.extra'"), "\(e)")
    }

    @Test("an untied config without lm_head is refused")
    func untiedWithoutHead() throws {
        let c = try open("gpt2-untied")
        let cut = Checkpoint(path: c.path, format: c.format, files: c.files, metadata: c.metadata,
                             entries: c.entries.filter { $0.name != "lm_head.weight" }, config: c.config, configPath: c.configPath)
        let e = try #require(throws: ModelError.self) { try ModelLayouts.graph(for: cut) }
        #expect(e.description.contains("head.weight"))
    }

    @Test("TensorFlow names map to PyTorch names whatever the model scope is called", arguments: [
        ("transformer/tfgp_t2lm_head_model/transformer/h_._3/attn/c_attn/weight:0", "h.3.attn.c_attn.weight"),
        ("transformer/tfgpt2lm_head_model/transformer/h_._0/ln_1/gamma:0", "h.0.ln_1.weight"),
        ("model_weights/transformer/tfgpt2lm_head_model/transformer/ln_f/beta:0", "ln_f.bias"),
        ("transformer/tfgpt2lm_head_model/transformer/wpe/embeddings:0", "wpe.weight"),
        ("transformer/tfopenai_gptlm_head_model/transformer/tokens_embed/weight:0", "tokens_embed.weight"),
    ])
    func tensorflowNames(tf: String, pt: String) {
        #expect(TensorFlowNames.pytorchName(tf) == pt)
    }

    @Test("rope settings are read from transformers v4 and v5 configs alike")
    func ropeConfigStyles() throws {
        let v5 = try LlamaLayout.config(for: try open("llama3-rope"))
        var c = try open("llama3-rope")
        c.config = try Checkpoint.readConfig(Fixtures.path("llama3-rope", "config-v4.json"))
        let v4 = try LlamaLayout.config(for: c)
        #expect(v4.rope == v5.rope)
        c.config = try JSONParser.parse(#"{"model_type":"llama","hidden_size":32,"num_attention_heads":4,"num_hidden_layers":2,"intermediate_size":64,"vocab_size":96,"rope_scaling":{"rope_type":"yarn","factor":4}}"#)
        let e = try #require(throws: ModelError.self) { try LlamaLayout.config(for: c) }
        #expect(e.description.contains("rope type \"yarn\" is not supported"))
    }

    @Test("graphs show the family differences")
    func graphShapes() throws {
        let gpt1 = try ModelLayouts.graph(for: try open("gpt1-tiny"))
        let gpt2 = try ModelLayouts.graph(for: try open("gpt2-tiny"))
        #expect(gpt1.recordedNames.first == "hidden_states.0" && gpt1.recordedNames.last == "logits")
        // Post-norm: the first op of a block reads the residual stream directly.
        #expect(gpt1.ops.contains { if case .layerNorm(let o, let x, _, _, _) = $0 { return o == "l0.attn_normed" && x == "l0.resid" } else { return false } })
        #expect(gpt2.ops.contains { if case .layerNorm(let o, "embed", _, _, _) = $0 { return o == "l0.attn_in" } else { return false } })
    }
}
