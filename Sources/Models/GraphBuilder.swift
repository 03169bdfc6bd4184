// Builds the canonical op list from a resolved config. Canonical weight names:
//   tok_embed.weight [V, D]            pos_embed.weight [P, D]           head.weight [V, D]
//   layers.i.attn_norm.{weight,bias}   layers.i.mlp_norm.{weight,bias}   final_norm.{weight,bias}
//   layers.i.attn.qkv.{weight,bias} [3D, D]  or  layers.i.attn.{q,k,v}.{weight,bias}
//   layers.i.attn.out.{weight,bias}    layers.i.mlp.{gate,up,down}.{weight,bias}

/// Turns a config into ops.
public enum GraphBuilder {
    /// The ops for `config`, with the width of every activation.
    public static func ops(for c: ModelConfig) -> (ops: [Op], widths: [String: Int]) {
        var ops = [Op]()
        var widths = [String: Int]()
        let d = c.hiddenSize
        func emit(_ op: Op, width: Int? = nil) {
            ops.append(op)
            if let o = op.output, let width { widths[o] = width }
        }
        func norm(_ out: String, _ x: String, _ w: String) {
            switch c.norm {
            case .layerNorm: emit(.layerNorm(out: out, x: x, weight: w + ".weight", bias: c.normBias ? w + ".bias" : nil, eps: c.normEps), width: d)
            case .rmsNorm: emit(.rmsNorm(out: out, x: x, weight: w + ".weight", eps: c.normEps), width: d)
            }
        }
        func bias(_ w: String, _ on: Bool) -> String? { on ? w + ".bias" : nil }

        func attention(_ i: Int, input: String) -> String {
            let p = "l\(i)."
            let qw = c.heads * c.headDim
            let kvw = c.kvHeads * c.headDim
            if c.fusedQKV {
                emit(.linear(out: p + "qkv", x: input, weight: "layers.\(i).attn.qkv.weight", bias: bias("layers.\(i).attn.qkv", c.attentionBias)), width: qw + 2 * kvw)
                ops.append(.split(x: p + "qkv", outs: [p + "q", p + "k", p + "v"], widths: [qw, kvw, kvw]))
                widths[p + "q"] = qw
                widths[p + "k"] = kvw
                widths[p + "v"] = kvw
            } else {
                emit(.linear(out: p + "q", x: input, weight: "layers.\(i).attn.q.weight", bias: bias("layers.\(i).attn.q", c.attentionBias)), width: qw)
                emit(.linear(out: p + "k", x: input, weight: "layers.\(i).attn.k.weight", bias: bias("layers.\(i).attn.k", c.attentionBias)), width: kvw)
                emit(.linear(out: p + "v", x: input, weight: "layers.\(i).attn.v.weight", bias: bias("layers.\(i).attn.v", c.attentionBias)), width: kvw)
            }
            if c.rope != nil {
                ops.append(.rope(x: p + "q", heads: c.heads))
                ops.append(.rope(x: p + "k", heads: c.kvHeads))
            }
            emit(.attention(out: p + "ctx", q: p + "q", k: p + "k", v: p + "v", layer: i, probs: "attentions.\(i)"), width: qw)
            emit(.linear(out: p + "attn_out", x: p + "ctx", weight: "layers.\(i).attn.out.weight", bias: bias("layers.\(i).attn.out", c.outputBias)), width: d)
            return p + "attn_out"
        }

        func mlp(_ i: Int, input: String) -> String {
            let p = "l\(i)."
            let f = c.intermediateSize
            if c.gatedMLP {
                emit(.linear(out: p + "gate", x: input, weight: "layers.\(i).mlp.gate.weight", bias: bias("layers.\(i).mlp.gate", c.mlpBias)), width: f)
                emit(.activation(out: p + "gate_act", x: p + "gate", kind: c.activation), width: f)
                emit(.linear(out: p + "up", x: input, weight: "layers.\(i).mlp.up.weight", bias: bias("layers.\(i).mlp.up", c.mlpBias)), width: f)
                emit(.mul(out: p + "mlp_hidden", a: p + "gate_act", b: p + "up"), width: f)
            } else {
                emit(.linear(out: p + "up", x: input, weight: "layers.\(i).mlp.up.weight", bias: bias("layers.\(i).mlp.up", c.mlpBias)), width: f)
                emit(.activation(out: p + "mlp_hidden", x: p + "up", kind: c.activation), width: f)
            }
            emit(.linear(out: p + "mlp_out", x: p + "mlp_hidden", weight: "layers.\(i).mlp.down.weight", bias: bias("layers.\(i).mlp.down", c.mlpBias)), width: d)
            return p + "mlp_out"
        }

        emit(.embedding(out: "tok", table: "tok_embed.weight"), width: d)
        var x = "tok"
        if c.learnedPositions {
            emit(.positionEmbedding(out: "pos", table: "pos_embed.weight"), width: d)
            emit(.add(out: "embed", a: "tok", b: "pos"), width: d)
            x = "embed"
        }
        ops.append(.record(name: "hidden_states.0", x: x))
        for i in 0..<c.layers {
            let p = "l\(i)."
            switch c.placement {
            case .pre:
                norm(p + "attn_in", x, "layers.\(i).attn_norm")
                let a = attention(i, input: p + "attn_in")
                emit(.add(out: p + "resid", a: x, b: a), width: d)
                norm(p + "mlp_in", p + "resid", "layers.\(i).mlp_norm")
                let m = mlp(i, input: p + "mlp_in")
                emit(.add(out: p + "out", a: p + "resid", b: m), width: d)
            case .post:
                let a = attention(i, input: x)
                emit(.add(out: p + "resid", a: x, b: a), width: d)
                norm(p + "attn_normed", p + "resid", "layers.\(i).attn_norm")
                let m = mlp(i, input: p + "attn_normed")
                emit(.add(out: p + "resid2", a: p + "attn_normed", b: m), width: d)
                norm(p + "out", p + "resid2", "layers.\(i).mlp_norm")
            }
            x = p + "out"
            if i + 1 < c.layers || !c.finalNorm { ops.append(.record(name: "hidden_states.\(i + 1)", x: x)) }
        }
        if c.finalNorm {
            norm("final", x, "final_norm")
            x = "final"
            ops.append(.record(name: "hidden_states.\(c.layers)", x: x))
        }
        emit(.linear(out: "logits", x: x, weight: "head.weight", bias: nil), width: c.vocabSize)
        ops.append(.record(name: "logits", x: "logits"))
        return (ops, widths)
    }

    /// Every canonical weight the config needs, with its logical shape, derived from the ops (each
    /// op names its weights; shapes come from the widths of its input and output). Listed in the
    /// canonical order: embeddings, then per block norm, attention, norm, MLP, then final norm and head
    /// (post-norm blocks run their norms after the sublayers but list them in the same order).
    public static func requiredWeights(for c: ModelConfig) -> [(String, [Int])] {
        let (ops, widths) = ops(for: c)
        var w = [(String, [Int])]()
        var seen = Set<String>()
        func add(_ name: String?, _ shape: [Int]) {
            guard let name, seen.insert(name).inserted else { return }
            w.append((name, shape))
        }
        for op in ops {
            switch op {
            case .embedding(let o, let t): add(t, [c.vocabSize, widths[o]!])
            case .positionEmbedding(let o, let t): add(t, [c.maxPositions, widths[o]!])
            case .layerNorm(let o, _, let g, let b, _):
                add(g, [widths[o]!])
                add(b, [widths[o]!])
            case .rmsNorm(let o, _, let g, _): add(g, [widths[o]!])
            case .linear(let o, let x, let weight, let b):
                add(weight, [widths[o]!, widths[x]!])
                add(b, [widths[o]!])
            default: break
            }
        }
        let modules = ["attn_norm", "attn.qkv", "attn.q", "attn.k", "attn.v", "attn.out", "mlp_norm", "mlp.gate", "mlp.up", "mlp.down"]
        func key(_ name: String) -> (Int, Int) {
            let p = name.split(separator: ".")
            if name.hasPrefix("tok_embed") || name.hasPrefix("pos_embed") { return (-1, 0) }
            guard p.count >= 4, p[0] == "layers", let i = Int(p[1]) else { return (Int.max, 0) }
            return (i, modules.firstIndex(of: p[2...].dropLast().joined(separator: ".")) ?? modules.count)
        }
        // A stable sort: within a module the op order (weight before bias) is kept.
        return w.enumerated().sorted { a, b in
            let ka = key(a.element.0), kb = key(b.element.0)
            return ka != kb ? ka < kb : a.offset < b.offset
        }.map(\.element)
    }
}
