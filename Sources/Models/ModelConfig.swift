// The resolved model configuration: every choice the graph builder and executor need, decided
// once from a raw config (config.json, GGUF metadata) and validated.

/// A model family's identity. Each family file declares its own (`extension Architecture {
/// public static let qwen2 = … }`), so adding a family touches no switch elsewhere.
public struct Architecture: Hashable, Sendable, CustomStringConvertible {
    /// WeightKit's short name (`gpt2`, `llama`, `qwen2`); GGUF's `general.architecture` may differ.
    public let rawValue: String
    /// The name people know it by.
    public let displayName: String

    public init(_ rawValue: String, displayName: String) {
        self.rawValue = rawValue
        self.displayName = displayName
    }

    public static func == (a: Architecture, b: Architecture) -> Bool { a.rawValue == b.rawValue }
    public func hash(into h: inout Hasher) { h.combine(rawValue) }
    public var description: String { rawValue }
}

/// Normalisation kind.
public enum NormKind: String, Sendable {
    /// (x − mean) / sqrt(var + eps) · γ + β, biased variance.
    case layerNorm = "layer_norm"
    /// x / sqrt(mean(x²) + eps) · γ.
    case rmsNorm = "rms_norm"
}

/// Where each block's norms sit.
public enum NormPlacement: String, Sendable {
    /// x + f(norm(x)) (GPT-2, LLaMA).
    case pre
    /// norm(x + f(x)) (GPT-1).
    case post
}

/// Elementwise activation of the MLP.
public enum Activation: String, Sendable {
    /// 0.5·x·(1 + erf(x/√2)).
    case geluErf = "gelu_erf"
    /// 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
    case geluTanh = "gelu_tanh"
    case relu
    /// x·σ(x).
    case silu
}

/// How rotary embedding pairs dimensions.
public enum RoPEStyle: String, Sendable {
    /// Dimension i rotates with i + d/2 (HF's rotate_half, GPT-NeoX).
    case half
    /// Dimension 2i rotates with 2i+1 (Meta's original, llama.cpp's NORM mode).
    case interleaved
}

/// Rotary frequency scaling.
public enum RoPEScaling: Sendable, Equatable {
    case none
    /// inv_freq ÷ factor.
    case linear(factor: Float)
    /// Llama 3's frequency-dependent scaling (layouts.md §1.3).
    case llama3(factor: Float, lowFreqFactor: Float, highFreqFactor: Float, originalMaxPositions: Int)
    /// Explicit per-frequency divisors (GGUF `rope_freqs`).
    case freqFactors([Float])
}

/// Rotary position embedding settings.
public struct RoPEConfig: Sendable, Equatable {
    public var theta: Float
    /// Dimensions rotated per head (head_dim × partial_rotary_factor); the rest pass through.
    public var rotaryDim: Int
    public var style: RoPEStyle
    public var scaling: RoPEScaling

    public init(theta: Float, rotaryDim: Int, style: RoPEStyle, scaling: RoPEScaling) {
        self.theta = theta
        self.rotaryDim = rotaryDim
        self.style = style
        self.scaling = scaling
    }
}

/// How masked (future) attention scores are set before the softmax.
public enum MaskStyle: Sendable, Equatable {
    /// Replaced by a constant (GPT-1: −1e4).
    case replace(Float)
    /// Replaced by the most negative float (GPT-2, LLaMA): exactly zero probability.
    case minimum
    /// No mask: every query attends to every key (bidirectional attention, as PyTorch's
    /// `nn.MultiheadAttention` without `attn_mask`). Only the synthetic rank-collapse stacks use it.
    case none
}

/// A validated model configuration.
public struct ModelConfig: Sendable {
    public var architecture: Architecture
    public var vocabSize: Int
    public var hiddenSize: Int
    public var layers: Int
    public var heads: Int
    public var kvHeads: Int
    public var headDim: Int
    public var intermediateSize: Int
    public var maxPositions: Int
    public var norm: NormKind
    public var normEps: Float
    public var placement: NormPlacement
    public var finalNorm: Bool
    public var activation: Activation
    /// down(act(gate(x)) ⊙ up(x)) instead of down(act(up(x))).
    public var gatedMLP: Bool
    /// Learned absolute position embeddings (GPT-1/2).
    public var learnedPositions: Bool
    public var rope: RoPEConfig?
    /// Scores are multiplied by this (1/√head_dim).
    public var attentionScale: Float
    /// GPT-2's scale_attn_by_inverse_layer_idx: scores also ÷ (layer + 1).
    public var scaleByInverseLayer: Bool
    public var mask: MaskStyle
    public var tiedHead: Bool
    public var attentionBias: Bool
    public var outputBias: Bool
    public var mlpBias: Bool
    public var normBias: Bool
    /// Q, K and V come from one fused projection.
    public var fusedQKV: Bool
    /// Sliding-window attention (Mistral): a query attends to itself and the `window − 1` keys
    /// before it. Nil: every earlier key.
    public var slidingWindow: Int? = nil

    /// Checks the numbers agree with each other.
    public func validate(source: String) throws {
        func fail(_ m: String) -> ModelError { ModelError(source, "\(architecture.displayName) config: \(m)") }
        for (name, v) in [
            ("vocab_size", vocabSize), ("hidden size", hiddenSize), ("layer count", layers), ("head count", heads),
            ("kv head count", kvHeads), ("head_dim", headDim), ("intermediate size", intermediateSize),
        ] where v <= 0 || v > 1 << 24 {
            throw fail("\(name) is \(v), outside 1…\(1 << 24)")
        }
        if maxPositions <= 0 { throw fail("max positions is \(maxPositions)") }
        if heads % kvHeads != 0 { throw fail("\(heads) attention heads are not a multiple of \(kvHeads) KV heads") }
        if fusedQKV && heads * headDim != hiddenSize { throw fail("\(heads) heads × head_dim \(headDim) ≠ hidden size \(hiddenSize)") }
        if let rope {
            if rope.rotaryDim <= 0 || rope.rotaryDim > headDim || rope.rotaryDim % 2 != 0 {
                throw fail("rotary dimension \(rope.rotaryDim) must be even and within head_dim \(headDim)")
            }
            if !(rope.theta > 0) { throw fail("rope theta \(rope.theta) must be positive") }
        }
        if let w = slidingWindow, w <= 0 { throw fail("sliding window \(w) must be positive") }
        if !(normEps >= 0) { throw fail("norm epsilon \(normEps) must be non-negative") }
    }

    /// Number of query heads sharing one KV head.
    public var groupSize: Int { heads / kvHeads }
}
