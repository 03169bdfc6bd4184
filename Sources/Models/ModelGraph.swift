// The canonical graph: a short list of ops over named activations [T, width], each op naming
// the canonical weights it reads. Pre-norm and post-norm models are just different lists.

import TensorCore

/// A canonical weight bound to the source tensor that holds it.
public struct BoundWeight: Sendable {
    /// Canonical name, e.g. `layers.3.attn.qkv.weight`.
    public let name: String
    /// The tensor in the checkpoint.
    public let source: TensorEntry
    /// Logical shape: `[out, in]` for matrices, `[n]` for vectors, `[rows, width]` for tables.
    public let shape: [Int]
    /// How the source differs from the canonical form (Canonicalization). The executor runs a
    /// `.transpose` weight untransposed (BLAS reads it `[in, out]`) and interleaved Q/K rows with
    /// interleaved RoPE, so neither is copied (`Canonicalization.execution`).
    public let transform: WeightTransform
    /// The source stores the matrix as `[in, out]` (GPT's Conv1D).
    public var transposed: Bool { transform == .transpose }

    public init(name: String, source: TensorEntry, shape: [Int], transform: WeightTransform) {
        self.name = name
        self.source = source
        self.shape = shape
        self.transform = transform
    }

    public init(name: String, source: TensorEntry, shape: [Int], transposed: Bool) {
        self.init(name: name, source: source, shape: shape, transform: transposed ? .transpose : .identity)
    }
}

/// One operation. Activations are `[T, width]` row-major float32 buffers named by strings.
public enum Op: Sendable {
    /// out[t] = table[ids[t]].
    case embedding(out: String, table: String)
    /// out[t] = table[position t].
    case positionEmbedding(out: String, table: String)
    /// out = a + b.
    case add(out: String, a: String, b: String)
    /// out = a ⊙ b.
    case mul(out: String, a: String, b: String)
    case layerNorm(out: String, x: String, weight: String, bias: String?, eps: Float)
    case rmsNorm(out: String, x: String, weight: String, eps: Float)
    /// out = x · Wᵀ + b, W logically `[out, in]`.
    case linear(out: String, x: String, weight: String, bias: String?)
    case activation(out: String, x: String, kind: Activation)
    /// Splits columns of x into consecutive parts.
    case split(x: String, outs: [String], widths: [Int])
    /// Rotates x `[T, heads·head_dim]` in place.
    case rope(x: String, heads: Int)
    /// Causal multi-head attention with grouped KV heads; records probabilities as `probs` when asked.
    case attention(out: String, q: String, k: String, v: String, layer: Int, probs: String)
    /// Publishes an activation under a reference name (`hidden_states.3`, `logits`).
    case record(name: String, x: String)

    /// The activation this op writes (nil for record).
    public var output: String? {
        switch self {
        case .embedding(let o, _), .positionEmbedding(let o, _), .add(let o, _, _), .mul(let o, _, _),
            .layerNorm(let o, _, _, _, _), .rmsNorm(let o, _, _, _), .linear(let o, _, _, _), .activation(let o, _, _),
            .attention(let o, _, _, _, _, _):
            return o
        case .rope(let x, _): return x
        case .split, .record: return nil
        }
    }

    /// The activations this op reads.
    public var inputs: [String] {
        switch self {
        case .embedding, .positionEmbedding: return []
        case .add(_, let a, let b), .mul(_, let a, let b): return [a, b]
        case .layerNorm(_, let x, _, _, _), .rmsNorm(_, let x, _, _), .linear(_, let x, _, _), .activation(_, let x, _),
            .split(let x, _, _), .rope(let x, _), .record(_, let x):
            return [x]
        case .attention(_, let q, let k, let v, _, _): return [q, k, v]
        }
    }
}

/// A model ready to run: its config, its ops in order, and every canonical weight bound.
public struct ModelGraph: Sendable {
    public let config: ModelConfig
    public let ops: [Op]
    public let weights: [String: BoundWeight]
    /// Width of every activation.
    public let widths: [String: Int]
    /// Which naming the weights were found under (e.g. "Hugging Face, prefix 'transformer.'").
    public let naming: String
    /// What the family overrode in the file's metadata, one line each (inspect shows them; the CLI
    /// prints them as warnings).
    public let warnings: [String]

    public init(
        config: ModelConfig, ops: [Op], weights: [String: BoundWeight], widths: [String: Int], naming: String, warnings: [String] = []
    ) {
        self.config = config
        self.ops = ops
        self.weights = weights
        self.widths = widths
        self.naming = naming
        self.warnings = warnings
    }

    /// The reference tensor names this graph records, in network order.
    public var recordedNames: [String] {
        ops.compactMap { op -> String? in
            switch op {
            case .record(let n, _): return n
            case .attention(_, _, _, _, _, let probs): return probs
            default: return nil
            }
        }
    }
}
