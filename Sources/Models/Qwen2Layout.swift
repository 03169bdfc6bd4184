// Qwen2 (HF `qwen2`, Qwen2ForCausalLM): LLaMA's blocks (pre-RMSNorm, RoPE, SiLU-gated MLP,
// grouped-query attention) with biases on the Q, K and V projections but none on the output
// projection or the MLP, its own rope θ (10⁶ in the released models), the head tied or not.
// Namings: Hugging Face (LLaMA's module names, `model.` or no prefix) and GGUF (llama.cpp's
// `qwen2`: llama.cpp's names with Q/K rows left in HF's half-split order, as llama.cpp runs
// qwen2 with NEOX RoPE). Sliding-window attention (`use_sliding_window`) is refused by name.

import CheckpointCore
import TensorCore

extension Architecture {
    public static let qwen2 = Architecture("qwen2", displayName: "Qwen2")
}

public enum Qwen2Layout: ModelLayout {
    public static let architecture = Architecture.qwen2

    public static func recognise(_ c: Checkpoint) -> Recognition? {
        .standard(c, gguf: ["qwen2"], modelTypes: ["qwen2"], hfPrefixes: ["Qwen2ForCausalLM"], names: { _ in false })
    }

    public static func config(for c: Checkpoint) throws -> ModelConfig {
        var cfg: ModelConfig
        if c.metadata["general.architecture"] != nil {
            let g = GGUFConfig(metadata: c.metadata, arch: "qwen2", path: c.path)
            try g.refuseUnsupported(family: "Qwen2")
            let d = try g.int("embedding_length")
            let heads = try g.int("attention.head_count")
            guard heads > 0 else { throw g.fail("qwen2.attention.head_count is \(heads)") }
            let headDim = try g.int("attention.key_length", default: d / heads)
            if let t = g.string("rope.scaling.type"), t != "none" {
                throw g.fail("rope scaling type '\(t)' is not supported for Qwen2")
            }
            cfg = ModelConfig(
                architecture: .qwen2, vocabSize: try g.int("vocab_size", default: c["token_embd.weight"]?.shape.first ?? 0),
                hiddenSize: d, layers: try g.int("block_count"), heads: heads, kvHeads: try g.int("attention.head_count_kv", default: heads),
                headDim: headDim, intermediateSize: try g.int("feed_forward_length"), maxPositions: try g.int("context_length"),
                norm: .rmsNorm, normEps: try g.float("attention.layer_norm_rms_epsilon"), placement: .pre, finalNorm: true,
                activation: .silu, gatedMLP: true, learnedPositions: false,
                rope: RoPEConfig(
                    theta: try g.float("rope.freq_base", default: 10000), rotaryDim: try g.int("rope.dimension_count", default: headDim),
                    style: .half, scaling: .none),
                attentionScale: 1 / Float(headDim).squareRoot(), scaleByInverseLayer: false, mask: .minimum,
                tiedHead: c["output.weight"] == nil, attentionBias: true, outputBias: false, mlpBias: false, normBias: false, fusedQKV: false)
        } else {
            guard let json = c.config else { throw ModelError(c.path, "Qwen2 weights need a config.json beside them") }
            let path = c.configPath ?? c.path
            let j = JSONConfig(json: json, path: path, family: "Qwen2")
            try j.refuse(["use_sliding_window"]) { _, v in v.bool == false }
            try j.refuse(["layer_types"]) { _, v in v.array?.allSatisfy { $0.string == "full_attention" } ?? false }
            cfg = try LlamaLayout.hfConfig(json, path: path, family: "Qwen2", architecture: .qwen2)
            guard cfg.rope?.scaling == RoPEScaling.none else { throw j.fail("rope scaling is not supported for Qwen2") }
            cfg.attentionBias = true
            cfg.outputBias = false
            cfg.mlpBias = false
        }
        return cfg
    }

    /// LLaMA's Hugging Face table (Qwen2 keeps its module names).
    static let hf = LlamaLayout.hf

    /// llama.cpp's names, Q/K rows as HF stores them.
    static let gguf = NamingTable.llamaCpp(label: "GGUF (llama.cpp names)", interleavedQK: false)

    public static func namings(_ c: Checkpoint) -> [NamingTable] { [hf.prefixed("model."), hf, gguf] }

    public static func writeNaming(_ kind: NamingKind) -> NamingTable { kind == .gguf ? gguf : hf.prefixed("model.") }

    public static func ggufKeys(_ c: ModelConfig, metadata: Metadata, source: String) throws -> [MetadataEntry] {
        try LlamaLayout.ggufKeys(c, arch: "qwen2", metadata: metadata, source: source)
    }

    public static func hfConfig(_ c: ModelConfig, metadata: Metadata, source: String) throws -> [(String, JSONValue)] {
        guard let rope = c.rope, rope.scaling == RoPEScaling.none, rope.rotaryDim == c.headDim, c.headDim * c.heads == c.hiddenSize else {
            throw ModelError(source, "this Qwen2 config (rope scaling, partial rotary or a head_dim other than hidden/heads) has no Qwen2 config.json spelling")
        }
        return [
            ("architectures", .array([.string("Qwen2ForCausalLM")])), ("model_type", .string("qwen2")),
            ("vocab_size", .int(c.vocabSize)), ("hidden_size", .int(c.hiddenSize)), ("intermediate_size", .int(c.intermediateSize)),
            ("num_hidden_layers", .int(c.layers)), ("num_attention_heads", .int(c.heads)),
            ("num_key_value_heads", .int(c.kvHeads)), ("hidden_act", .string("silu")),
            ("max_position_embeddings", .int(c.maxPositions)), ("rms_norm_eps", .float(c.normEps)),
            ("rope_parameters", .object([("rope_type", .string("default")), ("rope_theta", .float(rope.theta))])),
            ("use_sliding_window", .bool(false)), ("attention_dropout", .float(0)), ("tie_word_embeddings", .bool(c.tiedHead)),
            ("bos_token_id", ConfigWriting.tokenID(metadata, "bos")), ("eos_token_id", ConfigWriting.tokenID(metadata, "eos")),
        ]
    }
}
