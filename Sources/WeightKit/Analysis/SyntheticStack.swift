// Randomly initialised stacks of attention blocks, built in the canonical graph and run by the
// executor, for the rank-collapse experiment (Dong, Cordonnier, Loukas 2021). Two setups; in each,
// four variants cut the same block differently (LN = LayerNorm with γ = 1, β = 0; Attn = multi-head
// attention with output projection, scores scaled by 1/√head_dim).
//
// published (the experiment as the founding PyTorch script runs it; MLP = fc2(ReLU(fc1(x))), width D,
// with biases; attention bidirectional unless --mask causal):
//
//   attention            x ← Attn(LN(x))
//   attention+skip       x ← x + Attn(LN(x))
//   attention+mlp        x ← MLP(LN(Attn(LN(x))))
//   attention+skip+mlp   x ← x + MLP(LN(Attn(LN(x))))
//
//   Weights as PyTorch initialises nn.MultiheadAttention(D, H, bias=False) and nn.Linear(D, D): the
//   [3D, D] in-projection Xavier-uniform U(±√(6/4D)) (split into q, k, v by rows), the out-projection
//   and fc1/fc2 Kaiming-uniform U(±1/√D), fc biases U(±1/√D). One draw of weights, a batch of inputs.
//
// causal (WeightKit's first version: GPT-style pre-norm blocks; MLP = down(GELU(up(x))), width 4D, no
// biases; attention causal unless --mask none):
//
//   attention            x ← Attn(LN(x))
//   attention+skip       x ← x + Attn(LN(x))
//   attention+mlp        x ← MLP(LN(Attn(LN(x))))
//   attention+skip+mlp   h ← x + Attn(LN(x));  x ← h + MLP(LN(h))
//
//   Weights N(0, 1/fan_in) (variance-preserving). One draw of weights per input.
//
// In both the inputs X [T, D] have N(0, 1) entries and are fed in as the embedding table of tokens
// 0…T−1 (input b as tokens b·T…b·T+T−1); one draw of weights and inputs is shared by all four variants.

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

/// Which construction a synthetic stack follows.
public enum StackSetup: String, Sendable, CaseIterable {
    /// The published experiment: PyTorch's modules and initialisations, one skip around the block, a
    /// ReLU MLP of width D, bidirectional attention.
    case published
    /// GPT-style pre-norm blocks with a skip around each sub-layer, a GELU MLP of width 4D, N(0, 1/fan_in)
    /// weights, causal attention.
    case causal

    /// The attention mask the setup uses unless told otherwise.
    public var defaultMask: StackMask { self == .published ? .bidirectional : .causal }
}

/// The attention mask of a synthetic stack.
public enum StackMask: String, Sendable, CaseIterable {
    /// Every token attends to every token (PyTorch's `nn.MultiheadAttention` without `attn_mask`);
    /// `--mask none` on the command line.
    case bidirectional = "none"
    /// Token t attends to tokens 0…t, as in GPT models.
    case causal

    var style: MaskStyle { self == .bidirectional ? .none : .minimum }
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

/// One random draw of a stack's weights and inputs, and the graphs of its variants.
public struct SyntheticStack: Sendable {
    public let shape: StackShape
    public let setup: StackSetup
    /// Input sequences sharing these weights.
    public let inputs: Int
    /// Canonical name → tensor: `tok_embed.weight` [inputs·T, D] (the inputs X), `layers.i.attn.{q,k,v,out}.weight`
    /// [D, D], `layers.i.mlp.up.weight` [F, D], `layers.i.mlp.down.weight` [D, F] (F = 4D causal, D published;
    /// published also `layers.i.mlp.{up,down}.bias`), `layers.i.{attn,mlp}_norm.weight` [D] (ones).
    public let tensors: [String: Tensor]

    /// Draws weights and inputs from `rng`, in a fixed order: the inputs, then per layer — causal: q, k, v,
    /// out, up, down (each N(0, 1/fan_in)); published: the [3D, D] in-projection, out, fc1 weight and bias,
    /// fc2 weight and bias.
    public init(shape s: StackShape, setup: StackSetup = .causal, inputs: Int = 1, rng: inout SeededGenerator) throws {
        try s.validate()
        guard inputs >= 1, inputs <= 100_000 else { throw WeightKitError("--samples is \(inputs), outside 1…100000") }
        let d = s.width
        let f = setup == .causal ? 4 * d : d
        var t = [String: Tensor]()
        func add(_ name: String, _ shape: [Int], _ values: [Float]) throws { t[name] = try Tensor(name: name, shape: shape, floats: values) }
        try add("tok_embed.weight", [inputs * s.tokens, d], rng.gaussians(inputs * s.tokens * d, std: 1))
        let ones = [Float](repeating: 1, count: d)
        let kaiming = 1 / Double(d).squareRoot()
        for i in 0..<s.depth {
            let l = "layers.\(i)."
            switch setup {
            case .causal:
                for m in ["q", "k", "v", "out"] { try add(l + "attn.\(m).weight", [d, d], rng.gaussians(d * d, std: kaiming)) }
                try add(l + "mlp.up.weight", [f, d], rng.gaussians(f * d, std: kaiming))
                try add(l + "mlp.down.weight", [d, f], rng.gaussians(d * f, std: 1 / Double(f).squareRoot()))
            case .published:
                // Xavier-uniform over the whole [3D, D] in_proj_weight: fan_in D, fan_out 3D.
                let inProj = rng.uniforms(3 * d * d, bound: (6 / Double(4 * d)).squareRoot())  // [3D, D]
                for (k, m) in ["q", "k", "v"].enumerated() { try add(l + "attn.\(m).weight", [d, d], Array(inProj[(k * d * d)..<((k + 1) * d * d)])) }
                try add(l + "attn.out.weight", [d, d], rng.uniforms(d * d, bound: kaiming))
                try add(l + "mlp.up.weight", [f, d], rng.uniforms(f * d, bound: kaiming))
                try add(l + "mlp.up.bias", [f], rng.uniforms(f, bound: kaiming))
                try add(l + "mlp.down.weight", [d, f], rng.uniforms(d * f, bound: 1 / Double(f).squareRoot()))
                try add(l + "mlp.down.bias", [d], rng.uniforms(d, bound: 1 / Double(f).squareRoot()))
            }
            try add(l + "attn_norm.weight", [d], ones)
            try add(l + "mlp_norm.weight", [d], ones)
        }
        self.shape = s
        self.setup = setup
        self.inputs = inputs
        self.tensors = t
    }

    /// The token ids of the inputs: input b is tokens b·T…b·T+T−1 of the embedding table.
    public var batch: [[Int]] { (0..<inputs).map { b in Array((b * shape.tokens)..<((b + 1) * shape.tokens)) } }

    /// The config every variant shares: attention scaled by 1/√head_dim, LayerNorm eps 1e-5; GELU (erf)
    /// MLP of width 4D without biases (causal) or ReLU MLP of width D with biases (published).
    public static func config(_ s: StackShape, setup: StackSetup = .causal, mask: StackMask? = nil, inputs: Int = 1) throws -> ModelConfig {
        // ModelConfig's memberwise initialiser is internal to Models: resolve a GPT-2 config and adjust it.
        let f = setup == .causal ? 4 * s.width : s.width
        let json = JSONValue.object([
            ("vocab_size", .int(inputs * s.tokens)), ("n_embd", .int(s.width)), ("n_layer", .int(s.depth)), ("n_head", .int(s.heads)),
            ("n_positions", .int(s.tokens)), ("n_inner", .int(f)), ("activation_function", .string("gelu")),
        ])
        let checkpoint = Checkpoint(path: "synthetic", format: .safetensors, files: [], metadata: Metadata(), entries: [], config: json)
        var c = try GPT2Layout.config(for: checkpoint)
        c.activation = setup == .causal ? .geluErf : .relu
        c.learnedPositions = false
        c.finalNorm = false
        c.tiedHead = false
        c.attentionBias = false
        c.outputBias = false
        c.mlpBias = setup == .published
        c.normBias = false
        c.fusedQKV = false
        c.mask = (mask ?? setup.defaultMask).style
        c.attentionScale = 1 / Float(s.width / s.heads).squareRoot()
        return c
    }

    /// The graph of `variant`: records `hidden_states.0` (X) and `hidden_states.{i+1}` after each block.
    public func graph(_ variant: StackVariant, mask: StackMask? = nil) throws -> ModelGraph {
        let c = try Self.config(shape, setup: setup, mask: mask, inputs: inputs)
        let d = shape.width
        let f = c.intermediateSize
        let published = setup == .published
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
            if variant.skip && !published {
                emit(.add(out: p + "resid", a: x, b: h), d)
                h = p + "resid"
            }
            if variant.mlp {
                let bias: (String) -> String? = { published ? w + "mlp.\($0).bias" : nil }
                emit(.layerNorm(out: p + "mlp_in", x: h, weight: w + "mlp_norm.weight", bias: nil, eps: c.normEps), d)  // [T, D]
                emit(.linear(out: p + "up", x: p + "mlp_in", weight: w + "mlp.up.weight", bias: bias("up")), f)  // [T, F]
                emit(.activation(out: p + "act", x: p + "up", kind: c.activation), f)  // [T, F]
                emit(.linear(out: p + "mlp_out", x: p + "act", weight: w + "mlp.down.weight", bias: bias("down")), d)  // [T, D]
                if variant.skip && !published {
                    emit(.add(out: p + "out", a: h, b: p + "mlp_out"), d)
                    h = p + "out"
                } else {
                    h = p + "mlp_out"
                }
            }
            if variant.skip && published {
                emit(.add(out: p + "out", a: x, b: h), d)  // one skip around the whole block
                h = p + "out"
            }
            x = h
            ops.append(.record(name: "hidden_states.\(i + 1)", x: x))
        }
        var weights = [String: BoundWeight]()
        for op in ops {
            let names: [String]
            switch op {
            case .embedding(_, let t): names = [t]
            case .layerNorm(_, _, let wt, _, _): names = [wt]
            case .linear(_, _, let wt, let b): names = [wt] + (b.map { [$0] } ?? [])
            default: names = []
            }
            for n in names {
                guard let tensor = tensors[n] else { throw WeightKitError("synthetic stack: no tensor '\(n)'") }
                weights[n] = BoundWeight(name: n, source: TensorEntry(tensor), shape: tensor.shape, transposed: false)
            }
        }
        return ModelGraph(config: c, ops: ops, weights: weights, widths: widths, naming: "synthetic \(setup.rawValue) \(variant.rawValue) stack")
    }
}
