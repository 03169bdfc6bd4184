// LLaMA (HF `llama`): pre-RMSNorm blocks, rotary positions, SiLU-gated MLP, grouped-query
// attention. Namings: Hugging Face with `model.` or none (Q/K rows in HF's half-split order),
// Meta's original names (`tok_embeddings`, `layers.N.attention.wq`, …; Q/K interleaved), and
// GGUF (llama.cpp's names; Q/K permuted back to interleaved, layouts.md §3.3). Interleaved Q/K
// rows run with interleaved RoPE, which is the same computation as half-split RoPE on HF's rows.
// Configs from Hugging Face's config.json, Meta's params.json and llama.cpp's `llama.*` keys, and
// written back to config.json and GGUF keys. The whole family is this one file; Meta's
// model-parallel consolidated.*.pth slices are joined when the checkpoint is opened
// (Checkpoints/Checkpoint+Meta.swift), before any family is chosen.

import CheckpointCore
import Foundation
import TensorCore

extension Architecture {
    public static let llama = Architecture("llama", displayName: "LLaMA")
}

public enum LlamaLayout: ModelLayout {
    public static let architecture = Architecture.llama

    public static func recognise(_ c: Checkpoint) -> Recognition? {
        .standard(c, gguf: ["llama"], modelTypes: ["llama"], hfPrefixes: ["Llama"]) {
            $0.hasSuffix("embed_tokens.weight") || $0 == "tok_embeddings.weight"
        }
    }

    public static func config(for c: Checkpoint) throws -> ModelConfig {
        if c.metadata["general.architecture"] != nil { return try ggufConfig(c) }
        guard let json = c.config else { throw ModelError(c.path, "LLaMA weights need a config.json beside them") }
        if isMetaParams(json) { return try metaParamsConfig(c, json) }
        // Mistral's window is a Mistral config (model_type mistral); in a LLaMA one it would be ignored.
        try JSONConfig(json: json, path: c.configPath ?? c.path, family: "LLaMA").refuse(["sliding_window"])
        return try hfConfig(json, path: c.configPath ?? c.path)
    }

    // MARK: Meta's params.json
    // LLaMA's config from Meta's params.json, the file that comes with consolidated.*.pth:
    //  {"dim", "n_layers", "n_heads", "n_kv_heads"?, "vocab_size" (−1 in LLaMA 1: the embedding's rows),
    //  "multiple_of", "ffn_dim_multiplier"?, "norm_eps", "rope_theta"?, "use_scaled_rope"?, "max_seq_len"?}.
    // The MLP width is Meta's formula: 2/3 of 4·dim, times ffn_dim_multiplier, rounded up to a multiple
    // of multiple_of. use_scaled_rope is Llama 3.1's scaling as Meta's reference code applies it
    // (factor rope_scaling_factor or 8, low 1, high rope_high_freq_factor or 4, original context 8192).
    // params.json names no context length: max_seq_len when given, else 4096.

    /// Whether a config is Meta's params.json rather than a Hugging Face config.json.
    static func isMetaParams(_ json: JSONValue) -> Bool {
        json["dim"] != nil && json["n_layers"] != nil && json["n_heads"] != nil && json["hidden_size"] == nil
    }

    static func metaParamsConfig(_ c: Checkpoint, _ json: JSONValue) throws -> ModelConfig {
        let j = JSONConfig(json: json, path: c.configPath ?? c.path, family: "LLaMA params.json")
        let d = try j.int("dim")
        let heads = try j.int("n_heads")
        guard heads > 0, d % heads == 0 else { throw j.fail("dim \(d) is not a multiple of n_heads \(heads)") }
        let multiple = try j.int("multiple_of", default: 256)
        guard multiple > 0 else { throw j.fail("multiple_of is \(multiple)") }
        var hidden = 2 * (4 * d) / 3
        if j.has("ffn_dim_multiplier") { hidden = Int(Double(try j.float("ffn_dim_multiplier")) * Double(hidden)) }
        hidden = multiple * ((hidden + multiple - 1) / multiple)
        var vocab = try j.int("vocab_size", default: -1)
        if vocab <= 0 { vocab = c["tok_embeddings.weight"]?.shape.first ?? 0 }
        let headDim = d / heads
        var scaling = RoPEScaling.none
        if try j.bool("use_scaled_rope", default: false) {
            scaling = .llama3(
                factor: try j.float("rope_scaling_factor", default: 8), lowFreqFactor: 1,
                highFreqFactor: try j.float("rope_high_freq_factor", default: 4), originalMaxPositions: 8192)
        }
        return ModelConfig(
            architecture: .llama, vocabSize: vocab, hiddenSize: d, layers: try j.int("n_layers"), heads: heads,
            kvHeads: try j.int("n_kv_heads", default: heads), headDim: headDim, intermediateSize: hidden,
            maxPositions: try j.int("max_seq_len", default: 4096), norm: .rmsNorm, normEps: try j.float("norm_eps", default: 1e-5),
            placement: .pre, finalNorm: true, activation: .silu, gatedMLP: true, learnedPositions: false,
            rope: RoPEConfig(theta: try j.float("rope_theta", default: 10000), rotaryDim: headDim, style: .half, scaling: scaling),
            attentionScale: 1 / Float(headDim).squareRoot(), scaleByInverseLayer: false, mask: .minimum,
            tiedHead: c["output.weight"] == nil, attentionBias: false, outputBias: false, mlpBias: false, normBias: false,
            fusedQKV: false)
    }

    // MARK: Hugging Face config.json

    /// The LLaMA-style config.json fields (also read by the families built on LLaMA's).
    static func hfConfig(_ json: JSONValue, path: String, family: String = "LLaMA", architecture: Architecture = .llama) throws -> ModelConfig {
        let j = JSONConfig(json: json, path: path, family: family)
        let d = try j.int("hidden_size")
        let heads = try j.int("num_attention_heads")
        guard heads > 0 else { throw j.fail("num_attention_heads is \(heads)") }
        let kv = try j.int("num_key_value_heads", default: heads)
        let headDim = try j.int("head_dim", default: d / heads)
        let act = try j.string("hidden_act", default: "silu")
        guard act == "silu" || act == "swish" else { throw j.fail("hidden_act \"\(act)\" is not supported (\(family) uses silu)") }
        // transformers v5 keeps rope settings in `rope_parameters`; v4 at top level plus `rope_scaling`.
        let params = json["rope_parameters"]
        let pj = params.map { JSONConfig(json: $0, path: j.path, family: "\(family) rope_parameters") }
        let theta = try pj?.has("rope_theta") == true ? pj!.float("rope_theta") : j.float("rope_theta", default: 10000)
        let partial = try pj?.has("partial_rotary_factor") == true
            ? pj!.float("partial_rotary_factor") : j.float("partial_rotary_factor", default: 1)
        var scalingJSON = json["rope_scaling"]
        if let params, let t = params["rope_type"]?.string ?? params["type"]?.string, t != "default" { scalingJSON = params }
        let scaling = try ropeScaling(scalingJSON, path: j.path, family: family)
        let attentionBias = try j.bool("attention_bias", default: false)
        return ModelConfig(
            architecture: architecture, vocabSize: try j.int("vocab_size"), hiddenSize: d, layers: try j.int("num_hidden_layers"),
            heads: heads, kvHeads: kv, headDim: headDim, intermediateSize: try j.int("intermediate_size"),
            maxPositions: try j.int("max_position_embeddings", default: 2048), norm: .rmsNorm,
            normEps: try j.float("rms_norm_eps", default: 1e-6), placement: .pre, finalNorm: true, activation: .silu, gatedMLP: true,
            learnedPositions: false,
            rope: RoPEConfig(theta: theta, rotaryDim: Int(Float(headDim) * partial), style: .half, scaling: scaling),
            attentionScale: 1 / Float(headDim).squareRoot(), scaleByInverseLayer: false, mask: .minimum,
            tiedHead: try j.bool("tie_word_embeddings", default: false), attentionBias: attentionBias, outputBias: attentionBias,
            mlpBias: try j.bool("mlp_bias", default: false), normBias: false, fusedQKV: false)
    }

    static func ropeScaling(_ s: JSONValue?, path: String, family: String = "LLaMA") throws -> RoPEScaling {
        guard let s, !s.isNull else { return .none }
        let j = JSONConfig(json: s, path: path, family: "\(family) rope scaling")
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

    /// A `llama` GGUF's config; `implements` names the keys a family built on LLaMA's reads itself.
    static func ggufConfig(_ c: Checkpoint, architecture: Architecture = .llama, implements: Set<String> = []) throws -> ModelConfig {
        let g = GGUFConfig(metadata: c.metadata, arch: "llama", path: c.path)
        try g.refuseUnsupported(family: architecture.displayName, except: implements)
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
            architecture: architecture, vocabSize: try g.int("vocab_size", default: vocab), hiddenSize: d, layers: try g.int("block_count"),
            heads: heads, kvHeads: try g.int("attention.head_count_kv", default: heads), headDim: headDim,
            intermediateSize: try g.int("feed_forward_length"), maxPositions: try g.int("context_length"), norm: .rmsNorm,
            normEps: try g.float("attention.layer_norm_rms_epsilon"), placement: .pre, finalNorm: true, activation: .silu,
            gatedMLP: true, learnedPositions: false,
            rope: RoPEConfig(
                theta: try g.float("rope.freq_base", default: 10000), rotaryDim: try g.int("rope.dimension_count", default: headDim),
                style: .half, scaling: scaling),
            attentionScale: 1 / Float(headDim).squareRoot(), scaleByInverseLayer: false, mask: .minimum,
            tiedHead: c["output.weight"] == nil, attentionBias: c["blk.0.attn_q.bias"] != nil,
            outputBias: c["blk.0.attn_output.bias"] != nil, mlpBias: c["blk.0.ffn_up.bias"] != nil, normBias: false, fusedQKV: false)
    }


    static func isInvFreq(_ name: String) -> Bool { name.hasSuffix("rotary_emb.inv_freq") || name == "rope.freqs" }

    /// Hugging Face names without the `model.` prefix (Q/K rows half-split). Shared with the
    /// families that keep LLaMA's module names (Mistral, Qwen2).
    static let hf = NamingTable(
        .hf, label: "Hugging Face names",
        modules: [
            "tok_embed": ("embed_tokens", .canonical), "final_norm": ("norm", .canonical), "head": ("lm_head", .canonical),
            "layers.{i}.attn_norm": ("layers.{i}.input_layernorm", .canonical),
            "layers.{i}.mlp_norm": ("layers.{i}.post_attention_layernorm", .canonical),
            "layers.{i}.attn.q": ("layers.{i}.self_attn.q_proj", .canonical), "layers.{i}.attn.k": ("layers.{i}.self_attn.k_proj", .canonical),
            "layers.{i}.attn.v": ("layers.{i}.self_attn.v_proj", .canonical), "layers.{i}.attn.out": ("layers.{i}.self_attn.o_proj", .canonical),
            "layers.{i}.mlp.gate": ("layers.{i}.mlp.gate_proj", .canonical), "layers.{i}.mlp.up": ("layers.{i}.mlp.up_proj", .canonical),
            "layers.{i}.mlp.down": ("layers.{i}.mlp.down_proj", .canonical),
        ],
        unprefixed: ["head"], ignorable: isInvFreq)

    /// Meta's original names (Q/K interleaved).
    static let meta = NamingTable(
        .meta, label: "Meta's original names (Q/K interleaved)",
        modules: [
            "tok_embed": ("tok_embeddings", .canonical), "final_norm": ("norm", .canonical), "head": ("output", .canonical),
            "layers.{i}.attn_norm": ("layers.{i}.attention_norm", .canonical), "layers.{i}.mlp_norm": ("layers.{i}.ffn_norm", .canonical),
            "layers.{i}.attn.q": ("layers.{i}.attention.wq", .interleavedQ), "layers.{i}.attn.k": ("layers.{i}.attention.wk", .interleavedK),
            "layers.{i}.attn.v": ("layers.{i}.attention.wv", .canonical), "layers.{i}.attn.out": ("layers.{i}.attention.wo", .canonical),
            "layers.{i}.mlp.gate": ("layers.{i}.feed_forward.w1", .canonical), "layers.{i}.mlp.down": ("layers.{i}.feed_forward.w2", .canonical),
            "layers.{i}.mlp.up": ("layers.{i}.feed_forward.w3", .canonical),
        ],
        ignorable: isInvFreq)

    /// llama.cpp's names; Q/K rows permuted to interleaved, as its converter writes `llama`.
    static let gguf = NamingTable.llamaCpp(
        label: "GGUF (llama.cpp names, Q/K interleaved)", interleavedQK: true, ignorable: { $0 == "rope_freqs.weight" })

    public static func namings(_ c: Checkpoint) -> [NamingTable] { [hf.prefixed("model."), hf, meta, gguf] }

    public static func writeNaming(_ kind: NamingKind) -> NamingTable {
        switch kind {
        case .hf: return hf.prefixed("model.")
        case .gguf: return gguf
        case .meta: return meta
        }
    }

    /// WeightKit's keys for llama3 RoPE parameters, which llama.cpp's GGUF has no keys for (it
    /// stores only the resulting `rope_freqs` tensor); written so GGUF → HF can restore config.json.
    public static let llama3Keys = (
        factor: "llama.rope.llama3.factor", low: "llama.rope.llama3.low_freq_factor",
        high: "llama.rope.llama3.high_freq_factor", original: "llama.rope.llama3.original_context_length"
    )

    /// llama.cpp's `rope_freqs` for llama3 scaling, as convert_hf_to_gguf.py computes them:
    /// float32 frequencies 1/θ^(2i/d), then per frequency 1 (wavelength below orig/high),
    /// `factor` (above orig/low), or 1/((1−s)/factor + s) with s = (orig/λ − low)/(high − low).
    public static func llama3Factors(theta: Float, dim: Int, factor: Float, low: Float, high: Float, original: Int) -> [Float] {
        let loWL = Double(original) / Double(low)
        let hiWL = Double(original) / Double(high)
        return stride(from: 0, to: dim, by: 2).map { i -> Float in
            let freq = Double(1 / powf(theta, Float(i) / Float(dim)))
            let wl = 2 * Double.pi / freq
            if wl < hiWL { return 1 }
            if wl > loWL { return factor }
            let s = (Double(original) / wl - Double(low)) / (Double(high) - Double(low))
            return Float(1 / ((1 - s) / Double(factor) + s))
        }
    }

    public static func extraGGUFTensors(_ c: ModelConfig) throws -> [Tensor] {
        guard let rope = c.rope else { return [] }
        switch rope.scaling {
        case .llama3(let f, let lo, let hi, let orig):
            let k = llama3Factors(theta: rope.theta, dim: rope.rotaryDim, factor: f, low: lo, high: hi, original: orig)
            return [try Tensor(name: "rope_freqs.weight", shape: [k.count], floats: k)]
        case .freqFactors(let stored): return [try Tensor(name: "rope_freqs.weight", shape: [stored.count], floats: stored)]
        default: return []
        }
    }

    public static func ggufKeys(_ c: ModelConfig, metadata: Metadata, source: String) throws -> [MetadataEntry] {
        try ggufKeys(c, arch: "llama", metadata: metadata, source: source)
    }

    /// LLaMA-style keys under `arch` (Qwen2 writes the same ones under `qwen2`).
    static func ggufKeys(_ c: ModelConfig, arch: String, metadata: Metadata, source: String) throws -> [MetadataEntry] {
        guard let rope = c.rope else { throw ModelError(source, "\(c.architecture.displayName) config without RoPE") }
        let u = ConfigWriting.u32
        var k: [(String, MetadataValue)] = [
            ("context_length", u(c.maxPositions)), ("embedding_length", u(c.hiddenSize)), ("block_count", u(c.layers)),
            ("feed_forward_length", u(c.intermediateSize)), ("rope.dimension_count", u(rope.rotaryDim)),
            ("attention.head_count", u(c.heads)), ("attention.head_count_kv", u(c.kvHeads)),
        ]
        if c.headDim * c.heads != c.hiddenSize {
            k += [("attention.key_length", u(c.headDim)), ("attention.value_length", u(c.headDim))]
        }
        k += [("attention.layer_norm_rms_epsilon", .float32(c.normEps)), ("rope.freq_base", .float32(rope.theta)), ("vocab_size", u(c.vocabSize))]
        var e = ConfigWriting.keys(arch, k)
        switch rope.scaling {
        case .none: break
        case .freqFactors:
            for key in [llama3Keys.factor, llama3Keys.low, llama3Keys.high, llama3Keys.original] {
                if let v = metadata[key] { e.append(MetadataEntry(key, v)) }
            }
        case .linear(let f):
            e += ConfigWriting.keys(arch, [("rope.scaling.type", .string("linear")), ("rope.scaling.factor", .float32(f))])
        case .llama3(let f, let lo, let hi, let orig):
            e.append(MetadataEntry(llama3Keys.factor, .float32(f)))
            e.append(MetadataEntry(llama3Keys.low, .float32(lo)))
            e.append(MetadataEntry(llama3Keys.high, .float32(hi)))
            e.append(MetadataEntry(llama3Keys.original, u(orig)))
        }
        return e
    }

    /// `rope_parameters` for config.json (transformers v5).
    static func ropeParameters(_ c: ModelConfig, metadata: Metadata, source: String) throws -> [(String, JSONValue)] {
        guard let rope = c.rope else { throw ModelError(source, "\(c.architecture.displayName) config without RoPE") }
        var rp: [(String, JSONValue)] = [("rope_theta", .float(rope.theta))]
        switch rope.scaling {
        case .none: rp.insert(("rope_type", .string("default")), at: 0)
        case .linear(let f): rp = [("rope_type", .string("linear")), ("factor", .float(f))] + rp
        case .llama3(let f, let lo, let hi, let orig):
            rp = [("rope_type", .string("llama3")), ("factor", .float(f)), ("low_freq_factor", .float(lo)),
                  ("high_freq_factor", .float(hi)), ("original_max_position_embeddings", .int(orig))] + rp
        case .freqFactors(let stored):
            let k = llama3Keys
            guard let f = metadata[k.factor]?.double, let lo = metadata[k.low]?.double, let hi = metadata[k.high]?.double,
                let orig = metadata[k.original]?.int
            else {
                throw ModelError(source,
                    "has rope_freqs but not the llama3 parameters config.json needs; add them with --set \(k.factor)=… --set \(k.low)=… --set \(k.high)=… --set \(k.original)=…")
            }
            let recomputed = llama3Factors(theta: rope.theta, dim: rope.rotaryDim, factor: Float(f), low: Float(lo), high: Float(hi), original: orig)
            guard recomputed.count == stored.count, zip(recomputed, stored).allSatisfy({ abs($0 - $1) <= 1e-6 * max(1, abs($1)) }) else {
                throw ModelError(source, "rope_freqs \(stored) do not match the llama3 parameters in its metadata (\(recomputed))")
            }
            rp = [("rope_type", .string("llama3")), ("factor", .float(Float(f))), ("low_freq_factor", .float(Float(lo))),
                  ("high_freq_factor", .float(Float(hi))), ("original_max_position_embeddings", .int(orig))] + rp
        }
        if rope.rotaryDim != c.headDim { rp.append(("partial_rotary_factor", .float(Float(rope.rotaryDim) / Float(c.headDim)))) }
        return rp
    }

    public static func hfConfig(_ c: ModelConfig, metadata: Metadata, source: String) throws -> [(String, JSONValue)] {
        guard c.attentionBias == c.outputBias else {
            throw ModelError(source, "Q/K/V biases without an output bias (or the reverse) have no LLaMA config.json spelling")
        }
        let rp = try ropeParameters(c, metadata: metadata, source: source)
        return [
            ("architectures", .array([.string("LlamaForCausalLM")])), ("model_type", .string("llama")),
            ("vocab_size", .int(c.vocabSize)), ("hidden_size", .int(c.hiddenSize)), ("intermediate_size", .int(c.intermediateSize)),
            ("num_hidden_layers", .int(c.layers)), ("num_attention_heads", .int(c.heads)),
            ("num_key_value_heads", .int(c.kvHeads)), ("head_dim", .int(c.headDim)), ("hidden_act", .string("silu")),
            ("max_position_embeddings", .int(c.maxPositions)), ("rms_norm_eps", .float(c.normEps)),
            ("rope_parameters", .object(rp)), ("attention_bias", .bool(c.attentionBias)), ("mlp_bias", .bool(c.mlpBias)),
            ("attention_dropout", .float(0)), ("tie_word_embeddings", .bool(c.tiedHead)),
            ("bos_token_id", ConfigWriting.tokenID(metadata, "bos")), ("eos_token_id", ConfigWriting.tokenID(metadata, "eos")),
        ]
    }
}
