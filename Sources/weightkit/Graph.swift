// weightkit graph: the canonical graph, one op per line with shapes.

import ArgumentParser
import WeightKit

struct Graph: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a model's canonical graph, one op per line with shapes.",
        discussion: """
            The header line shows at a glance where the norms sit, which activation, which position \
            scheme and how many KV heads. T is the number of tokens.

            Example: weightkit graph Fixtures/gpt1-tiny
            """)

    @Argument(help: "A weight file or model directory.") var model: String

    @OptionGroup var limits: InputLimits

    func run() throws {
        limits.apply()
        try guarded {
            let m = try LoadedModel.open(model)
            let g = m.graph
            print("\(g.config.architecture.displayName) · \(g.config.shape)")
            print("weights: \(g.naming) · \(g.config.summary)")
            func w(_ name: String) -> String {
                guard let b = g.weights[name] else { return name }
                let tied = b.source.name != name && name == "head.weight" && g.weights["tok_embed.weight"]?.source.name == b.source.name ? " tied" : ""
                return "\(name) \(b.shape)\(b.transposed ? "ᵀ" : "")\(tied)"
            }
            func shape(_ v: String) -> String { "[T, \(g.widths[v] ?? 0)]" }
            for op in g.ops {
                let line: String
                switch op {
                case .embedding(let o, let t): line = "\(o) = embedding(\(w(t)), input_ids)  \(shape(o))"
                case .positionEmbedding(let o, let t): line = "\(o) = positions(\(w(t)))  \(shape(o))"
                case .add(let o, let a, let b): line = "\(o) = add(\(a), \(b))  \(shape(o))"
                case .mul(let o, let a, let b): line = "\(o) = mul(\(a), \(b))  \(shape(o))"
                case .layerNorm(let o, let x, let wt, let b, let eps):
                    line = "\(o) = layer_norm(\(x), \(w(wt))\(b.map { ", " + w($0) } ?? ""), eps=\(short(eps)))  \(shape(o))"
                case .rmsNorm(let o, let x, let wt, let eps): line = "\(o) = rms_norm(\(x), \(w(wt)), eps=\(short(eps)))  \(shape(o))"
                case .linear(let o, let x, let wt, let b): line = "\(o) = linear(\(x), \(w(wt))\(b.map { ", " + w($0) } ?? ""))  \(shape(o))"
                case .activation(let o, let x, let k): line = "\(o) = \(k.rawValue)(\(x))  \(shape(o))"
                case .split(let x, let outs, let widths):
                    line = "\(outs.joined(separator: ", ")) = split(\(x), \(widths))"
                case .rope(let x, let heads):
                    let r = g.config.rope!
                    line = "\(x) = rope_\(r.style.rawValue)(\(x), heads=\(heads), rotary_dim=\(r.rotaryDim))  \(shape(x))"
                case .attention(let o, let q, let k, let v, let layer, _):
                    let c = g.config
                    line = "\(o) = causal_attention(\(q), \(k), \(v), heads=\(c.heads), kv_heads=\(c.kvHeads), head_dim=\(c.headDim), scale=\(short(c.scaleByInverseLayer ? c.attentionScale / Float(layer + 1) : c.attentionScale)))  \(shape(o))"
                case .record(let name, let x): line = "  → \(name) = \(x)"
                }
                print(line)
            }
        }
    }
}
