// GPT-2 (HF `gpt2`): pre-LayerNorm blocks, learned positions, fused QKV in Conv1D [in, out],
// head tied to wte. Namings: Hugging Face with or without `transformer.` (hub files carry the
// mask buffers `attn.bias`/`attn.masked_bias`, ignored), TensorFlow `tf_model.h5` (normalised
// to the same names), and GGUF (llama.cpp's names, Conv1D already transposed to [out, in]).

import Checkpoints
import TensorCore

public enum GPT2Layout: ModelLayout {
    public static let architecture = Architecture.gpt2

    static func activation(_ name: String, path: String) throws -> Activation {
        switch name {
        case "gelu_new", "gelu_pytorch_tanh", "gelu_fast", "gelu_tanh": return .geluTanh
        case "gelu": return .geluErf
        case "relu": return .relu
        case "silu", "swish": return .silu
        default: throw ModelError(path, "GPT-2 config: activation_function \"\(name)\" is not supported (gelu_new, gelu, relu, silu)")
        }
    }

    public static func config(for c: Checkpoint) throws -> ModelConfig {
        if c.format == .gguf {
            let g = GGUFConfig(metadata: c.metadata, arch: "gpt2", path: c.path)
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

    /// Canonical → HF GPT-2 name (without prefix) and whether it is a Conv1D `[in, out]` weight.
    static func hfName(_ canonical: String) -> (String, Bool)? {
        let p = canonical.split(separator: ".").map(String.init)
        switch canonical {
        case "tok_embed.weight": return ("wte.weight", false)
        case "pos_embed.weight": return ("wpe.weight", false)
        case "final_norm.weight": return ("ln_f.weight", false)
        case "final_norm.bias": return ("ln_f.bias", false)
        default: break
        }
        guard p.count >= 4, p[0] == "layers" else { return nil }
        let i = p[1]
        let leaf = p.last!
        let conv = leaf == "weight"
        switch p[2...].dropLast().joined(separator: ".") {
        case "attn_norm": return ("h.\(i).ln_1.\(leaf)", false)
        case "mlp_norm": return ("h.\(i).ln_2.\(leaf)", false)
        case "attn.qkv": return ("h.\(i).attn.c_attn.\(leaf)", conv)
        case "attn.out": return ("h.\(i).attn.c_proj.\(leaf)", conv)
        case "mlp.up": return ("h.\(i).mlp.c_fc.\(leaf)", conv)
        case "mlp.down": return ("h.\(i).mlp.c_proj.\(leaf)", conv)
        default: return nil
        }
    }

    /// Canonical → llama.cpp GGUF name for GPT-style models (shared with GPT-1's convention).
    static func ggufName(_ canonical: String) -> String? {
        let p = canonical.split(separator: ".").map(String.init)
        switch canonical {
        case "tok_embed.weight": return "token_embd.weight"
        case "pos_embed.weight": return "position_embd.weight"
        case "final_norm.weight": return "output_norm.weight"
        case "final_norm.bias": return "output_norm.bias"
        case "head.weight": return "output.weight"
        default: break
        }
        guard p.count >= 4, p[0] == "layers" else { return nil }
        let names = [
            "attn_norm": "attn_norm", "mlp_norm": "ffn_norm", "attn.qkv": "attn_qkv", "attn.out": "attn_output",
            "mlp.up": "ffn_up", "mlp.down": "ffn_down", "mlp.gate": "ffn_gate", "attn.q": "attn_q", "attn.k": "attn_k",
            "attn.v": "attn_v",
        ]
        guard let n = names[p[2...].dropLast().joined(separator: ".")] else { return nil }
        return "blk.\(p[1]).\(n).\(p.last!)"
    }

    static func isMaskBuffer(_ name: String) -> Bool {
        name.hasSuffix(".attn.bias") || name.hasSuffix(".attn.masked_bias")
    }

    public static func bind(_ c: Checkpoint, config: ModelConfig) throws -> (ModelConfig, [String: BoundWeight], naming: String) {
        if c.format == .gguf {
            let b = WeightBinder(checkpoint: c, config: config, naming: "GGUF names")
            let w = try b.bind(source: { ggufName($0).map { SourceRef($0) } }, ignorable: { _ in false })
            return (config, w, "GGUF (llama.cpp names)")
        }
        let prefix = ModelLayouts.prefix(of: c, probe: "wte.weight", candidates: ["", "transformer."]) ?? ""
        let tf = c.format == .hdf5 ? "TensorFlow tf_model.h5 names" : "Hugging Face names"
        let naming = prefix.isEmpty ? "\(tf), no prefix" : "\(tf), prefix '\(prefix)'"
        let b = WeightBinder(checkpoint: c, config: config, naming: naming)
        let w = try b.bind(
            source: { canonical in
                if canonical == "head.weight" { return SourceRef("lm_head.weight") }
                return hfName(canonical).map { SourceRef(prefix + $0.0, transposed: $0.1) }
            },
            ignorable: isMaskBuffer)
        return (config, w, naming)
    }
}
