// LLaMA's config from Meta's params.json, the file that comes with consolidated.*.pth:
// {"dim", "n_layers", "n_heads", "n_kv_heads"?, "vocab_size" (−1 in LLaMA 1: the embedding's rows),
//  "multiple_of", "ffn_dim_multiplier"?, "norm_eps", "rope_theta"?, "use_scaled_rope"?, "max_seq_len"?}.
// The MLP width is Meta's formula: 2/3 of 4·dim, times ffn_dim_multiplier, rounded up to a multiple
// of multiple_of. use_scaled_rope is Llama 3.1's scaling as Meta's reference code applies it
// (factor rope_scaling_factor or 8, low 1, high rope_high_freq_factor or 4, original context 8192).
// params.json names no context length: max_seq_len when given, else 4096.

import CheckpointCore
import TensorCore

extension LlamaLayout {
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
}
