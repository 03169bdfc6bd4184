// Randomly initialised stacks of pre-norm blocks, built in the canonical graph and run by the
// executor, for the rank-collapse experiment (Dong, Cordonnier, Loukas 2021). Four variants cut the
// same block differently (LN = LayerNorm with γ = 1, β = 0; Attn = causal multi-head attention
// with output projection; MLP = down(GELU(up(x))), width 4D; no biases):
//
//   attention            x ← Attn(LN(x))
//   attention+skip       x ← x + Attn(LN(x))
//   attention+mlp        x ← MLP(LN(Attn(LN(x))))
//   attention+skip+mlp   h ← x + Attn(LN(x));  x ← h + MLP(LN(h))
//
// Weights are N(0, 1/fan_in) (variance-preserving); the input X [T, D] is N(0, 1) rows, fed in as the
// embedding table of tokens 0…T−1. One draw of weights and input is shared by all four variants.

import TensorCore

/// The four stacks of the rank-collapse experiment.
public enum StackVariant: String, Sendable, CaseIterable {
    case attention = "attention"
    case attentionSkip = "attention+skip"
    case attentionMLP = "attention+mlp"
    case attentionSkipMLP = "attention+skip+mlp"

    public var skip: Bool { self == .attentionSkip || self == .attentionSkipMLP }
    public var mlp: Bool { self == .attentionMLP || self == .attentionSkipMLP }
}

/// The size of a synthetic stack.
public struct StackShape: Sendable, Equatable {
    public var depth: Int
    public var tokens: Int
    public var width: Int
    public var heads: Int

    public init(depth: Int, tokens: Int, width: Int, heads: Int) {
        self.depth = depth
        self.tokens = tokens
        self.width = width
        self.heads = heads
    }

    /// Checks the numbers make a stack.
    public func validate() throws {
        for (name, v, hi) in [("depth", depth, 4096), ("tokens", tokens, 4096), ("width", width, 8192), ("heads", heads, 1024)]
        where v < 1 || v > hi {
            throw WeightKitError("--\(name) is \(v), outside 1…\(hi)")
        }
        if width % heads != 0 { throw WeightKitError("--width \(width) is not a multiple of --heads \(heads)") }
    }
}

/// One random draw of a stack's weights and input, and the graphs of its variants.
public struct SyntheticStack: Sendable {
    public let shape: StackShape
    /// Canonical name → tensor: `tok_embed.weight` [T, D] (the input X), `layers.i.attn.{q,k,v,out}.weight`
    /// [D, D], `layers.i.mlp.up.weight` [4D, D], `layers.i.mlp.down.weight` [D, 4D], `layers.i.{attn,mlp}_norm.weight` [D] (ones).
    public let tensors: [String: Tensor]

    /// Draws weights and input from `rng`, in a fixed order: input, then per layer q, k, v, out, up, down.
    public init(shape s: StackShape, rng: inout SeededGenerator) throws {
        try s.validate()
        let d = s.width
        let f = 4 * d
        var t = [String: Tensor]()
        func add(_ name: String, _ shape: [Int], _ values: [Float]) throws { t[name] = try Tensor(name: name, shape: shape, floats: values) }
        try add("tok_embed.weight", [s.tokens, d], rng.gaussians(s.tokens * d, std: 1))
        let ones = [Float](repeating: 1, count: d)
        for i in 0..<s.depth {
            let l = "layers.\(i)."
            for m in ["q", "k", "v", "out"] { try add(l + "attn.\(m).weight", [d, d], rng.gaussians(d * d, std: 1 / Double(d).squareRoot())) }
            try add(l + "mlp.up.weight", [f, d], rng.gaussians(f * d, std: 1 / Double(d).squareRoot()))
            try add(l + "mlp.down.weight", [d, f], rng.gaussians(d * f, std: 1 / Double(f).squareRoot()))
            try add(l + "attn_norm.weight", [d], ones)
            try add(l + "mlp_norm.weight", [d], ones)
        }
        self.shape = s
        self.tensors = t
    }

    /// The config every variant shares: causal attention scaled by 1/√head_dim, LayerNorm eps 1e-5, GELU (erf).
    public static func config(_ s: StackShape) throws -> ModelConfig {
        // ModelConfig's memberwise initialiser is internal to Models: resolve a GPT-2 config and adjust it.
        let json = JSONValue.object([
            ("vocab_size", .int(s.tokens)), ("n_embd", .int(s.width)), ("n_layer", .int(s.depth)), ("n_head", .int(s.heads)),
            ("n_positions", .int(s.tokens)), ("n_inner", .int(4 * s.width)), ("activation_function", .string("gelu")),
        ])
        let checkpoint = Checkpoint(path: "synthetic", format: .safetensors, files: [], metadata: Metadata(), entries: [], config: json)
        var c = try GPT2Layout.config(for: checkpoint)
        c.activation = .geluErf
        c.learnedPositions = false
        c.finalNorm = false
        c.tiedHead = false
        c.attentionBias = false
        c.outputBias = false
        c.mlpBias = false
        c.normBias = false
        c.fusedQKV = false
        c.mask = .minimum
        c.attentionScale = 1 / Float(s.width / s.heads).squareRoot()
        return c
    }

    /// The graph of `variant`: records `hidden_states.0` (X) and `hidden_states.{i+1}` after each block.
    public func graph(_ variant: StackVariant) throws -> ModelGraph {
        let c = try Self.config(shape)
        let d = shape.width
        let f = 4 * d
        var ops = [Op]()
        var widths = [String: Int]()
        func emit(_ op: Op, _ w: Int) {
            ops.append(op)
            if let o = op.output { widths[o] = w }
        }
        emit(.embedding(out: "x0", table: "tok_embed.weight"), d)  // [T, D]
        ops.append(.record(name: "hidden_states.0", x: "x0"))
        var x = "x0"
        for i in 0..<shape.depth {
            let p = "l\(i)."
            let w = "layers.\(i)."
            emit(.layerNorm(out: p + "attn_in", x: x, weight: w + "attn_norm.weight", bias: nil, eps: c.normEps), d)  // [T, D]
            for m in ["q", "k", "v"] { emit(.linear(out: p + m, x: p + "attn_in", weight: w + "attn.\(m).weight", bias: nil), d) }  // [T, D]
            emit(.attention(out: p + "ctx", q: p + "q", k: p + "k", v: p + "v", layer: i, probs: "attentions.\(i)"), d)  // [T, H·hd]
            emit(.linear(out: p + "attn_out", x: p + "ctx", weight: w + "attn.out.weight", bias: nil), d)  // [T, D]
            var h = p + "attn_out"
            if variant.skip {
                emit(.add(out: p + "resid", a: x, b: h), d)
                h = p + "resid"
            }
            if variant.mlp {
                emit(.layerNorm(out: p + "mlp_in", x: h, weight: w + "mlp_norm.weight", bias: nil, eps: c.normEps), d)  // [T, D]
                emit(.linear(out: p + "up", x: p + "mlp_in", weight: w + "mlp.up.weight", bias: nil), f)  // [T, 4D]
                emit(.activation(out: p + "act", x: p + "up", kind: .geluErf), f)  // [T, 4D]
                emit(.linear(out: p + "mlp_out", x: p + "act", weight: w + "mlp.down.weight", bias: nil), d)  // [T, D]
                if variant.skip {
                    emit(.add(out: p + "out", a: h, b: p + "mlp_out"), d)
                    h = p + "out"
                } else {
                    h = p + "mlp_out"
                }
            }
            x = h
            ops.append(.record(name: "hidden_states.\(i + 1)", x: x))
        }
        var weights = [String: BoundWeight]()
        for op in ops {
            let names: [String]
            switch op {
            case .embedding(_, let t): names = [t]
            case .layerNorm(_, _, let wt, _, _), .linear(_, _, let wt, _): names = [wt]
            default: names = []
            }
            for n in names {
                guard let tensor = tensors[n] else { throw WeightKitError("synthetic stack: no tensor '\(n)'") }
                weights[n] = BoundWeight(name: n, source: TensorEntry(tensor), shape: tensor.shape, transposed: false)
            }
        }
        return ModelGraph(config: c, ops: ops, weights: weights, widths: widths, naming: "synthetic \(variant.rawValue) stack")
    }
}
