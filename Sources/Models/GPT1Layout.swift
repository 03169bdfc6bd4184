// GPT-1 (HF `openai-gpt`): post-LayerNorm blocks (n = ln_1(x + attn(x)); x' = ln_2(n + mlp(n))),
// no final norm, learned positions, fused QKV in Conv1D [in, out], MLP width 4·n_embd, head
// tied to tokens_embed, masked scores replaced by −1e4, and `afn` mapped as HF maps it
// ("gelu" is the tanh approximation). Namings: HF with or without `transformer.`, TensorFlow
// `tf_model.h5`, and WeightKit's own GGUF convention (Formats/gguf.md, architecture `gpt1`).

import CheckpointCore
import TensorCore

extension Architecture {
    public static let gpt1 = Architecture("gpt1", displayName: "GPT-1")
}

public enum GPT1Layout: ModelLayout {
    public static let architecture = Architecture.gpt1

    public static func recognise(_ c: Checkpoint) -> Recognition? {
        .standard(c, gguf: ["gpt1"], modelTypes: ["openai-gpt"], hfPrefixes: ["OpenAIGPT"], names: { $0.hasSuffix("tokens_embed.weight") })
    }

    /// HF's ACT_FNS for openai-gpt: relu, silu, swish, and "gelu" → gelu_new (tanh).
    static func activation(_ name: String, path: String) throws -> Activation {
        switch name {
        case "gelu": return .geluTanh
        case "relu": return .relu
        case "silu", "swish": return .silu
        default: throw ModelError(path, "GPT-1 config: afn \"\(name)\" is not one HF's openai-gpt accepts (gelu, relu, silu, swish)")
        }
    }

    public static func config(for c: Checkpoint) throws -> ModelConfig {
        if c.metadata["general.architecture"] != nil {
            let g = GGUFConfig(metadata: c.metadata, arch: "gpt1", path: c.path)
            try g.refuseUnsupported(family: "GPT-1")
            let d = try g.int("embedding_length")
            let heads = try g.int("attention.head_count")
            let vocab = c["token_embd.weight"]?.shape.first ?? 0
            return base(
                vocab: try g.int("vocab_size", default: vocab), d: d, layers: try g.int("block_count"), heads: heads,
                positions: try g.int("context_length"), eps: try g.float("attention.layer_norm_epsilon"),
                activation: try activation(g.string("activation_function") ?? "gelu", path: c.path), tied: c["output.weight"] == nil)
        }
        guard let json = c.config else { throw ModelError(c.path, "GPT-1 weights need a config.json beside them") }
        let j = JSONConfig(json: json, path: c.configPath ?? c.path, family: "GPT-1")
        let d = try j.int("n_embd", "hidden_size")
        let heads = try j.int("n_head", "num_attention_heads")
        guard heads > 0, d % heads == 0 else { throw j.fail("n_embd \(d) is not a multiple of n_head \(heads)") }
        return base(
            vocab: try j.int("vocab_size"), d: d, layers: try j.int("n_layer", "num_hidden_layers"), heads: heads,
            positions: try j.int("n_positions", "max_position_embeddings"), eps: try j.float("layer_norm_epsilon", default: 1e-5),
            activation: try activation(j.string("afn", default: "gelu"), path: j.path),
            tied: try j.bool("tie_word_embeddings", default: true))
    }

    static func base(vocab: Int, d: Int, layers: Int, heads: Int, positions: Int, eps: Float, activation: Activation, tied: Bool)
        -> ModelConfig
    {
        ModelConfig(
            architecture: .gpt1, vocabSize: vocab, hiddenSize: d, layers: layers, heads: heads, kvHeads: heads,
            headDim: heads > 0 ? d / heads : 0, intermediateSize: 4 * d, maxPositions: positions, norm: .layerNorm, normEps: eps,
            placement: .post, finalNorm: false, activation: activation, gatedMLP: false, learnedPositions: true, rope: nil,
            attentionScale: 1 / Float(d / max(heads, 1)).squareRoot(), scaleByInverseLayer: false, mask: .replace(-1e4),
            tiedHead: tied, attentionBias: true, outputBias: true, mlpBias: true, normBias: true, fusedQKV: true)
    }

    /// Hugging Face names without `transformer.`: GPT-2's blocks, its own embeddings.
    static let hf = NamingTable(
        .hf, label: "Hugging Face names",
        modules: GPT2Layout.hf.modules.merging(
            ["tok_embed": ("tokens_embed", .canonical), "pos_embed": ("positions_embed", .canonical)], uniquingKeysWith: { _, b in b }),
        unprefixed: ["head"], ignorable: { $0.hasSuffix(".attn.bias") || $0.hasSuffix("position_ids") })

    static let gguf = NamingTable.llamaCpp(label: "GGUF (WeightKit gpt1 convention)", interleavedQK: false)

    public static func namings(_ c: Checkpoint) -> [NamingTable] { [hf, hf.prefixed("transformer."), gguf] }

    public static func writeNaming(_ kind: NamingKind) -> NamingTable { kind == .gguf ? gguf : hf.prefixed("transformer.") }

    public static func ggufKeys(_ c: ModelConfig, metadata: Metadata, source: String) throws -> [MetadataEntry] {
        var k: [(String, MetadataValue)] = [
            ("context_length", ConfigWriting.u32(c.maxPositions)), ("embedding_length", ConfigWriting.u32(c.hiddenSize)),
            ("block_count", ConfigWriting.u32(c.layers)), ("feed_forward_length", ConfigWriting.u32(c.intermediateSize)),
            ("attention.head_count", ConfigWriting.u32(c.heads)), ("attention.layer_norm_epsilon", .float32(c.normEps)),
            ("vocab_size", ConfigWriting.u32(c.vocabSize)),
        ]
        if c.activation != .geluTanh {
            guard c.activation == .relu || c.activation == .silu else {
                throw ModelError(source, "GPT-1 with the \(c.activation.rawValue) activation has no GGUF or HF spelling")
            }
            k.append(("activation_function", .string(c.activation.rawValue)))
        }
        return ConfigWriting.keys("gpt1", k)
    }

    public static func hfConfig(_ c: ModelConfig, metadata: Metadata, source: String) throws -> [(String, JSONValue)] {
        guard c.activation != .geluErf else {
            throw ModelError(source, "GPT-1 with the erf GELU has no openai-gpt `afn` spelling")
        }
        let afn = c.activation == .geluTanh ? "gelu" : c.activation.rawValue
        return [
            ("architectures", .array([.string("OpenAIGPTLMHeadModel")])), ("model_type", .string("openai-gpt")),
            ("vocab_size", .int(c.vocabSize)), ("n_positions", .int(c.maxPositions)), ("n_embd", .int(c.hiddenSize)),
            ("n_layer", .int(c.layers)), ("n_head", .int(c.heads)), ("afn", .string(afn)),
            ("layer_norm_epsilon", .float(c.normEps)), ("resid_pdrop", .float(0)), ("embd_pdrop", .float(0)),
            ("attn_pdrop", .float(0)), ("tie_word_embeddings", .bool(c.tiedHead)),
        ]
    }
}
