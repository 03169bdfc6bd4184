// The model description convert writes beside the weights: GGUF architecture keys (formats.md
// §2.5, Formats/gguf.md, Formats/conversion.md) and a Hugging Face config.json, both from the
// resolved ModelConfig, plus llama.cpp's `rope_freqs` factors for llama3 RoPE scaling.

import Foundation
import Models
import TensorCore

enum ConvertConfig {
    /// WeightKit's keys for llama3 RoPE parameters, which llama.cpp's GGUF has no keys for (it
    /// stores only the resulting `rope_freqs` tensor); written so GGUF → HF can restore config.json.
    static let llama3Keys = (
        factor: "llama.rope.llama3.factor", low: "llama.rope.llama3.low_freq_factor",
        high: "llama.rope.llama3.high_freq_factor", original: "llama.rope.llama3.original_context_length"
    )

    static func u32(_ v: Int) -> MetadataValue { .uint32(UInt32(clamping: v)) }

    /// `{arch}.*` keys for `c`, in the order convert_hf_to_gguf writes them.
    /// `metadata` (the input's) supplies the llama3 keys when the input holds only rope_freqs.
    static func ggufKeys(_ c: ModelConfig, metadata: Metadata, source: String) throws -> [MetadataEntry] {
        let a = c.architecture.rawValue
        var e = [MetadataEntry]()
        func add(_ k: String, _ v: MetadataValue) { e.append(MetadataEntry("\(a).\(k)", v)) }
        add("context_length", u32(c.maxPositions))
        add("embedding_length", u32(c.hiddenSize))
        add("block_count", u32(c.layers))
        add("feed_forward_length", u32(c.intermediateSize))
        switch c.architecture {
        case .gpt1, .gpt2:
            add("attention.head_count", u32(c.heads))
            add("attention.layer_norm_epsilon", .float32(c.normEps))
            add("vocab_size", u32(c.vocabSize))
            if c.architecture == .gpt2 {
                if c.attentionScale != 1 / Float(c.headDim).squareRoot() {
                    throw WeightKitError("\(source): GPT-2 with scale_attn_weights false has no GGUF key; not converted")
                }
                if c.activation != .geluTanh { add("activation_function", .string(hfActivation(c.activation, gpt1: false))) }
                if c.scaleByInverseLayer { add("attention.scale_by_inverse_layer_idx", .bool(true)) }
            } else if c.activation != .geluTanh {
                guard c.activation == .relu || c.activation == .silu else {
                    throw WeightKitError("\(source): GPT-1 with the \(c.activation.rawValue) activation has no GGUF or HF spelling")
                }
                add("activation_function", .string(c.activation.rawValue))
            }
        case .llama:
            guard let rope = c.rope else { throw WeightKitError("\(source): LLaMA config without RoPE") }
            add("rope.dimension_count", u32(rope.rotaryDim))
            add("attention.head_count", u32(c.heads))
            add("attention.head_count_kv", u32(c.kvHeads))
            if c.headDim * c.heads != c.hiddenSize {
                add("attention.key_length", u32(c.headDim))
                add("attention.value_length", u32(c.headDim))
            }
            add("attention.layer_norm_rms_epsilon", .float32(c.normEps))
            add("rope.freq_base", .float32(rope.theta))
            add("vocab_size", u32(c.vocabSize))
            switch rope.scaling {
            case .none: break
            case .freqFactors:
                for k in [llama3Keys.factor, llama3Keys.low, llama3Keys.high, llama3Keys.original] {
                    if let v = metadata[k] { e.append(MetadataEntry(k, v)) }
                }
            case .linear(let f):
                add("rope.scaling.type", .string("linear"))
                add("rope.scaling.factor", .float32(f))
            case .llama3(let f, let lo, let hi, let orig):
                e.append(MetadataEntry(llama3Keys.factor, .float32(f)))
                e.append(MetadataEntry(llama3Keys.low, .float32(lo)))
                e.append(MetadataEntry(llama3Keys.high, .float32(hi)))
                e.append(MetadataEntry(llama3Keys.original, u32(orig)))
            }
        }
        return e
    }

    /// HF's activation name for GPT-2 (`gelu_new` tanh, `gelu` erf) or GPT-1 (`gelu` = tanh).
    static func hfActivation(_ a: Activation, gpt1: Bool) -> String {
        switch a {
        case .geluTanh: return gpt1 ? "gelu" : "gelu_new"
        case .geluErf: return "gelu"
        case .relu: return "relu"
        case .silu: return "silu"
        }
    }

    /// llama.cpp's `rope_freqs` for llama3 scaling, as convert_hf_to_gguf.py computes them:
    /// float32 frequencies 1/θ^(2i/d), then per frequency 1 (wavelength below orig/high),
    /// `factor` (above orig/low), or 1/((1−s)/factor + s) with s = (orig/λ − low)/(high − low).
    static func llama3Factors(theta: Float, dim: Int, factor: Float, low: Float, high: Float, original: Int) -> [Float] {
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

    /// A config.json transformers 5.23 loads for `c` (v5 style: `rope_parameters`, `dtype`).
    /// `metadata` supplies token ids (`tokenizer.ggml.*_token_id`) and WeightKit's llama3 keys.
    static func hfConfig(_ c: ModelConfig, metadata: Metadata, dtype: String, source: String) throws -> JSONValue {
        var o = [(String, JSONValue)]()
        func tokenID(_ k: String) -> JSONValue { metadata["tokenizer.ggml.\(k)_token_id"]?.int.map { .int($0) } ?? .null }
        switch c.architecture {
        case .gpt2:
            if c.attentionScale != 1 / Float(c.headDim).squareRoot() {
                throw WeightKitError("\(source): GPT-2 attention scale \(c.attentionScale) is not 1/√head_dim; config.json cannot say so")
            }
            o = [
                ("architectures", .array([.string("GPT2LMHeadModel")])), ("model_type", .string("gpt2")),
                ("vocab_size", .int(c.vocabSize)), ("n_positions", .int(c.maxPositions)), ("n_embd", .int(c.hiddenSize)),
                ("n_layer", .int(c.layers)), ("n_head", .int(c.heads)),
                ("n_inner", c.intermediateSize == 4 * c.hiddenSize ? .null : .int(c.intermediateSize)),
                ("activation_function", .string(hfActivation(c.activation, gpt1: false))),
                ("layer_norm_epsilon", .float(c.normEps)), ("scale_attn_weights", .bool(true)),
                ("scale_attn_by_inverse_layer_idx", .bool(c.scaleByInverseLayer)), ("reorder_and_upcast_attn", .bool(false)),
                ("resid_pdrop", .float(0)), ("embd_pdrop", .float(0)), ("attn_pdrop", .float(0)),
                ("tie_word_embeddings", .bool(c.tiedHead)), ("bos_token_id", tokenID("bos")), ("eos_token_id", tokenID("eos")),
            ]
        case .gpt1:
            guard c.activation != .geluErf else {
                throw WeightKitError("\(source): GPT-1 with the erf GELU has no openai-gpt `afn` spelling")
            }
            o = [
                ("architectures", .array([.string("OpenAIGPTLMHeadModel")])), ("model_type", .string("openai-gpt")),
                ("vocab_size", .int(c.vocabSize)), ("n_positions", .int(c.maxPositions)), ("n_embd", .int(c.hiddenSize)),
                ("n_layer", .int(c.layers)), ("n_head", .int(c.heads)), ("afn", .string(hfActivation(c.activation, gpt1: true))),
                ("layer_norm_epsilon", .float(c.normEps)), ("resid_pdrop", .float(0)), ("embd_pdrop", .float(0)),
                ("attn_pdrop", .float(0)), ("tie_word_embeddings", .bool(c.tiedHead)),
            ]
        case .llama:
            guard let rope = c.rope else { throw WeightKitError("\(source): LLaMA config without RoPE") }
            guard c.attentionBias == c.outputBias else {
                throw WeightKitError("\(source): Q/K/V biases without an output bias (or the reverse) have no LLaMA config.json spelling")
            }
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
                    throw WeightKitError(
                        "\(source): has rope_freqs but not the llama3 parameters config.json needs; add them with --set \(k.factor)=… --set \(k.low)=… --set \(k.high)=… --set \(k.original)=…")
                }
                let recomputed = llama3Factors(theta: rope.theta, dim: rope.rotaryDim, factor: Float(f), low: Float(lo), high: Float(hi), original: orig)
                guard recomputed.count == stored.count, zip(recomputed, stored).allSatisfy({ abs($0 - $1) <= 1e-6 * max(1, abs($1)) }) else {
                    throw WeightKitError("\(source): rope_freqs \(stored) do not match the llama3 parameters in its metadata (\(recomputed))")
                }
                rp = [("rope_type", .string("llama3")), ("factor", .float(Float(f))), ("low_freq_factor", .float(Float(lo))),
                      ("high_freq_factor", .float(Float(hi))), ("original_max_position_embeddings", .int(orig))] + rp
            }
            if rope.rotaryDim != c.headDim { rp.append(("partial_rotary_factor", .float(Float(rope.rotaryDim) / Float(c.headDim)))) }
            o = [
                ("architectures", .array([.string("LlamaForCausalLM")])), ("model_type", .string("llama")),
                ("vocab_size", .int(c.vocabSize)), ("hidden_size", .int(c.hiddenSize)), ("intermediate_size", .int(c.intermediateSize)),
                ("num_hidden_layers", .int(c.layers)), ("num_attention_heads", .int(c.heads)),
                ("num_key_value_heads", .int(c.kvHeads)), ("head_dim", .int(c.headDim)), ("hidden_act", .string("silu")),
                ("max_position_embeddings", .int(c.maxPositions)), ("rms_norm_eps", .float(c.normEps)),
                ("rope_parameters", .object(rp)), ("attention_bias", .bool(c.attentionBias)), ("mlp_bias", .bool(c.mlpBias)),
                ("attention_dropout", .float(0)), ("tie_word_embeddings", .bool(c.tiedHead)),
                ("bos_token_id", tokenID("bos")), ("eos_token_id", tokenID("eos")),
            ]
        }
        o.append(("dtype", .string(dtype)))
        return .object(o)
    }
}
