// LLaMA (HF `llama`): pre-RMSNorm blocks, rotary positions, SiLU-gated MLP, grouped-query
// attention. Namings: Hugging Face with `model.` or none (Q/K rows in HF's half-split order),
// Meta's original names (`tok_embeddings`, `layers.N.attention.wq`, …; Q/K interleaved), and
// GGUF (llama.cpp's names; Q/K permuted back to interleaved, layouts.md §3.3). Interleaved Q/K
// rows run with interleaved RoPE, which is the same computation as half-split RoPE on HF's rows.

import Checkpoints
import TensorCore

public enum LlamaLayout: ModelLayout {
    public static let architecture = Architecture.llama

    public static func config(for c: Checkpoint) throws -> ModelConfig {
        if c.format == .gguf { return try ggufConfig(c) }
        guard let json = c.config else { throw ModelError(c.path, "LLaMA weights need a config.json beside them") }
        if isMetaParams(json) { return try metaParamsConfig(c, json) }
        let j = JSONConfig(json: json, path: c.configPath ?? c.path, family: "LLaMA")
        let d = try j.int("hidden_size")
        let heads = try j.int("num_attention_heads")
        guard heads > 0 else { throw j.fail("num_attention_heads is \(heads)") }
        let kv = try j.int("num_key_value_heads", default: heads)
        let headDim = try j.int("head_dim", default: d / heads)
        let act = try j.string("hidden_act", default: "silu")
        guard act == "silu" || act == "swish" else { throw j.fail("hidden_act \"\(act)\" is not supported (LLaMA uses silu)") }
        // transformers v5 keeps rope settings in `rope_parameters`; v4 at top level plus `rope_scaling`.
        let params = json["rope_parameters"]
        let pj = params.map { JSONConfig(json: $0, path: j.path, family: "LLaMA rope_parameters") }
        let theta = try pj?.has("rope_theta") == true ? pj!.float("rope_theta") : j.float("rope_theta", default: 10000)
        let partial = try pj?.has("partial_rotary_factor") == true
            ? pj!.float("partial_rotary_factor") : j.float("partial_rotary_factor", default: 1)
        var scalingJSON = json["rope_scaling"]
        if let params, let t = params["rope_type"]?.string ?? params["type"]?.string, t != "default" { scalingJSON = params }
        let scaling = try ropeScaling(scalingJSON, path: j.path)
        let attentionBias = try j.bool("attention_bias", default: false)
        return ModelConfig(
            architecture: .llama, vocabSize: try j.int("vocab_size"), hiddenSize: d, layers: try j.int("num_hidden_layers"),
            heads: heads, kvHeads: kv, headDim: headDim, intermediateSize: try j.int("intermediate_size"),
            maxPositions: try j.int("max_position_embeddings", default: 2048), norm: .rmsNorm,
            normEps: try j.float("rms_norm_eps", default: 1e-6), placement: .pre, finalNorm: true, activation: .silu, gatedMLP: true,
            learnedPositions: false,
            rope: RoPEConfig(theta: theta, rotaryDim: Int(Float(headDim) * partial), style: .half, scaling: scaling),
            attentionScale: 1 / Float(headDim).squareRoot(), scaleByInverseLayer: false, mask: .minimum,
            tiedHead: try j.bool("tie_word_embeddings", default: false), attentionBias: attentionBias, outputBias: attentionBias,
            mlpBias: try j.bool("mlp_bias", default: false), normBias: false, fusedQKV: false)
    }

    static func ropeScaling(_ s: JSONValue?, path: String) throws -> RoPEScaling {
        guard let s, !s.isNull else { return .none }
        let j = JSONConfig(json: s, path: path, family: "LLaMA rope scaling")
        let type = try s["rope_type"] != nil ? j.string("rope_type", default: "default") : j.string("type", default: "default")
        switch type {
        case "default": return .none
        case "linear": return .linear(factor: try j.float("factor"))
        case "llama3":
            return .llama3(
                factor: try j.float("factor"), lowFreqFactor: try j.float("low_freq_factor"),
                highFreqFactor: try j.float("high_freq_factor"),
                originalMaxPositions: try j.int("original_max_position_embeddings"))
        default:
            throw j.fail("rope type \"\(type)\" is not supported (default, linear, llama3)")
        }
    }

    static func ggufConfig(_ c: Checkpoint) throws -> ModelConfig {
        let g = GGUFConfig(metadata: c.metadata, arch: "llama", path: c.path)
        let d = try g.int("embedding_length")
        let heads = try g.int("attention.head_count")
        guard heads > 0 else { throw g.fail("llama.attention.head_count is \(heads)") }
        let headDim = try g.int("attention.key_length", default: d / heads)
        var scaling = RoPEScaling.none
        if let f = c["rope_freqs.weight"] {
            scaling = .freqFactors(try f.load().floats())
        } else if g.string("rope.scaling.type") == "linear" {
            scaling = .linear(factor: try g.float("rope.scaling.factor"))
        } else if let t = g.string("rope.scaling.type"), t != "none" {
            throw g.fail("rope scaling type '\(t)' is not supported (linear, or llama3 through rope_freqs)")
        }
        let vocab = c["token_embd.weight"]?.shape.first ?? 0
        return ModelConfig(
            architecture: .llama, vocabSize: try g.int("vocab_size", default: vocab), hiddenSize: d, layers: try g.int("block_count"),
            heads: heads, kvHeads: try g.int("attention.head_count_kv", default: heads), headDim: headDim,
            intermediateSize: try g.int("feed_forward_length"), maxPositions: try g.int("context_length"), norm: .rmsNorm,
            normEps: try g.float("attention.layer_norm_rms_epsilon"), placement: .pre, finalNorm: true, activation: .silu,
            gatedMLP: true, learnedPositions: false,
            rope: RoPEConfig(
                theta: try g.float("rope.freq_base", default: 10000), rotaryDim: try g.int("rope.dimension_count", default: headDim),
                style: .interleaved, scaling: scaling),
            attentionScale: 1 / Float(headDim).squareRoot(), scaleByInverseLayer: false, mask: .minimum,
            tiedHead: c["output.weight"] == nil, attentionBias: c["blk.0.attn_q.bias"] != nil,
            outputBias: c["blk.0.attn_output.bias"] != nil, mlpBias: c["blk.0.ffn_up.bias"] != nil, normBias: false, fusedQKV: false)
    }

    /// Canonical → HF LLaMA name without the `model.` prefix.
    static func hfName(_ canonical: String) -> String? {
        let p = canonical.split(separator: ".").map(String.init)
        switch canonical {
        case "tok_embed.weight": return "embed_tokens.weight"
        case "final_norm.weight": return "norm.weight"
        default: break
        }
        guard p.count >= 4, p[0] == "layers" else { return nil }
        let names = [
            "attn_norm": "input_layernorm", "mlp_norm": "post_attention_layernorm", "attn.q": "self_attn.q_proj",
            "attn.k": "self_attn.k_proj", "attn.v": "self_attn.v_proj", "attn.out": "self_attn.o_proj", "mlp.gate": "mlp.gate_proj",
            "mlp.up": "mlp.up_proj", "mlp.down": "mlp.down_proj",
        ]
        return names[p[2...].dropLast().joined(separator: ".")].map { "layers.\(p[1]).\($0).\(p.last!)" }
    }

    /// Canonical → Meta's original name.
    static func metaName(_ canonical: String) -> String? {
        let p = canonical.split(separator: ".").map(String.init)
        switch canonical {
        case "tok_embed.weight": return "tok_embeddings.weight"
        case "final_norm.weight": return "norm.weight"
        case "head.weight": return "output.weight"
        default: break
        }
        guard p.count >= 4, p[0] == "layers" else { return nil }
        let names = [
            "attn_norm": "attention_norm", "mlp_norm": "ffn_norm", "attn.q": "attention.wq", "attn.k": "attention.wk",
            "attn.v": "attention.wv", "attn.out": "attention.wo", "mlp.gate": "feed_forward.w1", "mlp.down": "feed_forward.w2",
            "mlp.up": "feed_forward.w3",
        ]
        return names[p[2...].dropLast().joined(separator: ".")].map { "layers.\(p[1]).\($0).\(p.last!)" }
    }

    static func isInvFreq(_ name: String) -> Bool { name.hasSuffix("rotary_emb.inv_freq") || name == "rope.freqs" }

    public static func bind(_ c: Checkpoint, config: ModelConfig) throws -> (ModelConfig, [String: BoundWeight], naming: String) {
        if c.format == .gguf {
            let b = WeightBinder(checkpoint: c, config: config, naming: "GGUF names")
            let w = try b.bind(source: { GPT2Layout.ggufName($0).map { SourceRef($0) } }, ignorable: { $0 == "rope_freqs.weight" })
            return (config, w, "GGUF (llama.cpp names, Q/K interleaved)")
        }
        if c["tok_embeddings.weight"] != nil {
            var cfg = config
            cfg.rope?.style = .interleaved
            let b = WeightBinder(checkpoint: c, config: cfg, naming: "Meta's original names")
            let w = try b.bind(source: { metaName($0).map { SourceRef($0) } }, ignorable: isInvFreq)
            return (cfg, w, "Meta's original names (Q/K interleaved)")
        }
        let prefix = ModelLayouts.prefix(of: c, probe: "embed_tokens.weight", candidates: ["model.", ""]) ?? "model."
        let naming = prefix.isEmpty ? "Hugging Face names, no prefix" : "Hugging Face names, prefix '\(prefix)'"
        let b = WeightBinder(checkpoint: c, config: config, naming: naming)
        let w = try b.bind(
            source: { canonical in
                if canonical == "head.weight" { return SourceRef("lm_head.weight") }
                return hfName(canonical).map { SourceRef(prefix + $0) }
            },
            ignorable: isInvFreq)
        return (config, w, naming)
    }
}
