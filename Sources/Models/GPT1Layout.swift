// GPT-1 (HF `openai-gpt`): post-LayerNorm blocks (n = ln_1(x + attn(x)); x' = ln_2(n + mlp(n))),
// no final norm, learned positions, fused QKV in Conv1D [in, out], MLP width 4·n_embd, head
// tied to tokens_embed, masked scores replaced by −1e4, and `afn` mapped as HF maps it
// ("gelu" is the tanh approximation). Namings: HF with or without `transformer.`, TensorFlow
// `tf_model.h5`, and WeightKit's own GGUF convention (Formats/gguf.md, architecture `gpt1`).

import Checkpoints
import TensorCore

public enum GPT1Layout: ModelLayout {
    public static let architecture = Architecture.gpt1

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
        if c.format == .gguf {
            let g = GGUFConfig(metadata: c.metadata, arch: "gpt1", path: c.path)
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

    static func hfName(_ canonical: String) -> (String, Bool)? {
        switch canonical {
        case "tok_embed.weight": return ("tokens_embed.weight", false)
        case "pos_embed.weight": return ("positions_embed.weight", false)
        default: return GPT2Layout.hfName(canonical)
        }
    }

    public static func bind(_ c: Checkpoint, config: ModelConfig) throws -> (ModelConfig, [String: BoundWeight], naming: String) {
        if c.format == .gguf {
            let b = WeightBinder(checkpoint: c, config: config, naming: "GGUF names, WeightKit's gpt1 convention")
            let w = try b.bind(source: { GPT2Layout.ggufName($0).map { SourceRef($0) } }, ignorable: { _ in false })
            return (config, w, "GGUF (WeightKit gpt1 convention)")
        }
        let prefix = ModelLayouts.prefix(of: c, probe: "tokens_embed.weight", candidates: ["", "transformer."]) ?? ""
        let tf = c.format == .hdf5 ? "TensorFlow tf_model.h5 names" : "Hugging Face names"
        let naming = prefix.isEmpty ? "\(tf), no prefix" : "\(tf), prefix '\(prefix)'"
        let b = WeightBinder(checkpoint: c, config: config, naming: naming)
        let w = try b.bind(
            source: { canonical in
                if canonical == "head.weight" { return SourceRef("lm_head.weight") }
                return hfName(canonical).map { SourceRef(prefix + $0.0, transposed: $0.1) }
            },
            ignorable: { $0.hasSuffix(".attn.bias") || $0.hasSuffix("position_ids") })
        return (config, w, naming)
    }
}
