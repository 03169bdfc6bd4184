// GPT-2 (HF `gpt2`): pre-LayerNorm blocks, learned positions, fused QKV in Conv1D [in, out],
// head tied to wte. Namings: Hugging Face with or without `transformer.` (hub files carry the
// mask buffers `attn.bias`/`attn.masked_bias`, ignored), TensorFlow `tf_model.h5` (normalised
// to the same names), and GGUF (llama.cpp's names, Conv1D already transposed to [out, in]).

import CheckpointCore
import TensorCore

extension Architecture {
    public static let gpt2 = Architecture("gpt2", displayName: "GPT-2")
}

public enum GPT2Layout: ModelLayout {
    public static let architecture = Architecture.gpt2

    public static func recognise(_ c: Checkpoint) -> Recognition? {
        .standard(c, gguf: ["gpt2"], modelTypes: ["gpt2"], hfPrefixes: ["GPT2"], names: { $0.hasSuffix("wte.weight") })
    }

    static func activation(_ name: String, path: String) throws -> Activation {
        switch name {
        case "gelu_new", "gelu_pytorch_tanh", "gelu_fast", "gelu_tanh": return .geluTanh
        case "gelu": return .geluErf
        case "relu": return .relu
        case "silu", "swish": return .silu
        default: throw ModelError(path, "GPT-2 config: activation_function \"\(name)\" is not supported (gelu_new, gelu, relu, silu)")
        }
    }

    /// HF's activation name for GPT-2 (`gelu_new` tanh, `gelu` erf).
    static func hfActivation(_ a: Activation) -> String {
        switch a {
        case .geluTanh: return "gelu_new"
        case .geluErf: return "gelu"
        case .relu: return "relu"
        case .silu: return "silu"
        }
    }

    public static func config(for c: Checkpoint) throws -> ModelConfig {
        if c.metadata["general.architecture"] != nil {
            let g = GGUFConfig(metadata: c.metadata, arch: "gpt2", path: c.path)
            try g.refuseUnsupported(family: "GPT-2")
            let d = try g.int("embedding_length")
            let heads = try g.int("attention.head_count")
            let vocab = c["token_embd.weight"]?.shape.first ?? 0
            return ModelConfig(
                architecture: .gpt2, vocabSize: try g.int("vocab_size", default: vocab), hiddenSize: d,
                layers: try g.int("block_count"), heads: heads, kvHeads: heads, headDim: heads > 0 ? d / heads : 0,
                intermediateSize: try g.int("feed_forward_length", default: 4 * d), maxPositions: try g.int("context_length"),
                norm: .layerNorm, normEps: try g.float("attention.layer_norm_epsilon"), placement: .pre, finalNorm: true,
                activation: try activation(g.string("activation_function") ?? "gelu_new", path: c.path), gatedMLP: false,
                learnedPositions: true, rope: nil, attentionScale: 1 / Float(d / max(heads, 1)).squareRoot(),
                scaleByInverseLayer: g.bool("attention.scale_by_inverse_layer_idx") ?? false, mask: .minimum,
                tiedHead: c["output.weight"] == nil, attentionBias: true, outputBias: true, mlpBias: true, normBias: true,
                fusedQKV: true)
        }
        guard let json = c.config else {
            throw ModelError(c.path, "GPT-2 weights need a config.json beside them")
        }
        let j = JSONConfig(json: json, path: c.configPath ?? c.path, family: "GPT-2")
        let d = try j.int("n_embd", "hidden_size")
        let heads = try j.int("n_head", "num_attention_heads")
        guard heads > 0, d % heads == 0 else { throw j.fail("n_embd \(d) is not a multiple of n_head \(heads)") }
        let scale = try j.bool("scale_attn_weights", default: true) ? 1 / Float(d / heads).squareRoot() : 1
        return ModelConfig(
            architecture: .gpt2, vocabSize: try j.int("vocab_size"), hiddenSize: d, layers: try j.int("n_layer", "num_hidden_layers"),
            heads: heads, kvHeads: heads, headDim: d / heads, intermediateSize: try j.int("n_inner", default: 4 * d),
            maxPositions: try j.int("n_positions", "max_position_embeddings"), norm: .layerNorm,
            normEps: try j.float("layer_norm_epsilon", default: 1e-5), placement: .pre, finalNorm: true,
            activation: try activation(j.string("activation_function", default: "gelu_new"), path: j.path), gatedMLP: false,
            learnedPositions: true, rope: nil, attentionScale: scale,
            scaleByInverseLayer: try j.bool("scale_attn_by_inverse_layer_idx", default: false), mask: .minimum,
            tiedHead: try j.bool("tie_word_embeddings", default: true), attentionBias: true, outputBias: true, mlpBias: true,
            normBias: true, fusedQKV: true)
    }

    static func isMaskBuffer(_ name: String) -> Bool {
        name.hasSuffix(".attn.bias") || name.hasSuffix(".attn.masked_bias")
    }

    /// Hugging Face names without the `transformer.` prefix (the TensorFlow names normalise to these).
    static let hf = NamingTable(
        .hf, label: "Hugging Face names",
        modules: [
            "tok_embed": ("wte", .canonical), "pos_embed": ("wpe", .canonical), "final_norm": ("ln_f", .canonical),
            "head": ("lm_head", .canonical),
            "layers.{i}.attn_norm": ("h.{i}.ln_1", .canonical), "layers.{i}.mlp_norm": ("h.{i}.ln_2", .canonical),
            "layers.{i}.attn.qkv": ("h.{i}.attn.c_attn", .conv1D), "layers.{i}.attn.out": ("h.{i}.attn.c_proj", .conv1D),
            "layers.{i}.mlp.up": ("h.{i}.mlp.c_fc", .conv1D), "layers.{i}.mlp.down": ("h.{i}.mlp.c_proj", .conv1D),
        ],
        unprefixed: ["head"], ignorable: isMaskBuffer)

    static let gguf = NamingTable.llamaCpp(label: "GGUF (llama.cpp names)", interleavedQK: false)

    public static func namings(_ c: Checkpoint) -> [NamingTable] { [hf, hf.prefixed("transformer."), gguf] }

    public static func writeNaming(_ kind: NamingKind) -> NamingTable { kind == .gguf ? gguf : hf.prefixed("transformer.") }

    public static func ggufKeys(_ c: ModelConfig, metadata: Metadata, source: String) throws -> [MetadataEntry] {
        if c.attentionScale != 1 / Float(c.headDim).squareRoot() {
            throw ModelError(source, "GPT-2 with scale_attn_weights false has no GGUF key; not converted")
        }
        var k: [(String, MetadataValue)] = [
            ("context_length", ConfigWriting.u32(c.maxPositions)), ("embedding_length", ConfigWriting.u32(c.hiddenSize)),
            ("block_count", ConfigWriting.u32(c.layers)), ("feed_forward_length", ConfigWriting.u32(c.intermediateSize)),
            ("attention.head_count", ConfigWriting.u32(c.heads)), ("attention.layer_norm_epsilon", .float32(c.normEps)),
            ("vocab_size", ConfigWriting.u32(c.vocabSize)),
        ]
        if c.activation != .geluTanh { k.append(("activation_function", .string(hfActivation(c.activation)))) }
        if c.scaleByInverseLayer { k.append(("attention.scale_by_inverse_layer_idx", .bool(true))) }
        return ConfigWriting.keys("gpt2", k)
    }

    public static func hfConfig(_ c: ModelConfig, metadata: Metadata, source: String) throws -> [(String, JSONValue)] {
        if c.attentionScale != 1 / Float(c.headDim).squareRoot() {
            throw ModelError(source, "GPT-2 attention scale \(c.attentionScale) is not 1/√head_dim; config.json cannot say so")
        }
        return [
            ("architectures", .array([.string("GPT2LMHeadModel")])), ("model_type", .string("gpt2")),
            ("vocab_size", .int(c.vocabSize)), ("n_positions", .int(c.maxPositions)), ("n_embd", .int(c.hiddenSize)),
            ("n_layer", .int(c.layers)), ("n_head", .int(c.heads)),
            ("n_inner", c.intermediateSize == 4 * c.hiddenSize ? .null : .int(c.intermediateSize)),
            ("activation_function", .string(hfActivation(c.activation))),
            ("layer_norm_epsilon", .float(c.normEps)), ("scale_attn_weights", .bool(true)),
            ("scale_attn_by_inverse_layer_idx", .bool(c.scaleByInverseLayer)), ("reorder_and_upcast_attn", .bool(false)),
            ("resid_pdrop", .float(0)), ("embd_pdrop", .float(0)), ("attn_pdrop", .float(0)),
            ("tie_word_embeddings", .bool(c.tiedHead)), ("bos_token_id", ConfigWriting.tokenID(metadata, "bos")),
            ("eos_token_id", ConfigWriting.tokenID(metadata, "eos")),
        ]
    }
}
