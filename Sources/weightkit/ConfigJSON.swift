// The resolved config as JSON and as a one-line summary, shared by inspect and graph.

import WeightKit

extension ModelConfig {
    var json: JSONValue {
        var o: [(String, JSONValue)] = [
            ("architecture", .string(architecture.rawValue)), ("vocab_size", .int(vocabSize)), ("hidden_size", .int(hiddenSize)),
            ("layers", .int(layers)), ("heads", .int(heads)), ("kv_heads", .int(kvHeads)), ("head_dim", .int(headDim)),
            ("intermediate_size", .int(intermediateSize)), ("max_positions", .int(maxPositions)), ("norm", .string(norm.rawValue)),
            ("norm_eps", .float(normEps)), ("norm_placement", .string(placement.rawValue)), ("final_norm", .bool(finalNorm)),
            ("activation", .string(activation.rawValue)), ("gated_mlp", .bool(gatedMLP)), ("learned_positions", .bool(learnedPositions)),
        ]
        if let rope {
            var r: [(String, JSONValue)] = [
                ("theta", .float(rope.theta)), ("rotary_dim", .int(rope.rotaryDim)), ("style", .string(rope.style.rawValue)),
            ]
            switch rope.scaling {
            case .none: r.append(("scaling", .string("none")))
            case .linear(let f): r.append(("scaling", .object([("type", .string("linear")), ("factor", .float(f))])))
            case .llama3(let f, let lo, let hi, let orig):
                r.append(("scaling", .object([("type", .string("llama3")), ("factor", .float(f)), ("low_freq_factor", .float(lo)), ("high_freq_factor", .float(hi)), ("original_max_position_embeddings", .int(orig))])))
            case .freqFactors(let f): r.append(("scaling", .object([("type", .string("freq_factors")), ("count", .int(f.count))])))
            }
            o.append(("rope", .object(r)))
        } else {
            o.append(("rope", .null))
        }
        o += [
            ("attention_scale", .float(attentionScale)), ("scale_by_inverse_layer", .bool(scaleByInverseLayer)),
            ("tied_head", .bool(tiedHead)), ("attention_bias", .bool(attentionBias)), ("mlp_bias", .bool(mlpBias)),
            ("fused_qkv", .bool(fusedQKV)),
        ]
        return .object(o)
    }

    var summary: String {
        var parts = [
            "vocab \(vocabSize)", "hidden \(hiddenSize)", "\(layers) layers", "\(heads) heads" + (kvHeads != heads ? " / \(kvHeads) KV heads" : ""),
            "head_dim \(headDim)", "mlp \(intermediateSize)",
        ]
        parts.append(learnedPositions ? "\(maxPositions) learned positions" : "rope θ=\(rope.map { short($0.theta) } ?? "?")")
        return parts.joined(separator: " · ")
    }

    var shape: String {
        let normName = norm == .layerNorm ? "LayerNorm" : "RMSNorm"
        let act: String
        switch activation {
        case .geluTanh: act = "GELU (tanh)"
        case .geluErf: act = "GELU (erf)"
        case .relu: act = "ReLU"
        case .silu: act = "SiLU"
        }
        var pos = learnedPositions ? "learned positions" : "RoPE"
        if let rope {
            pos = "RoPE \(rope.style.rawValue)-split θ=\(short(rope.theta))" + (rope.rotaryDim < headDim ? " on \(rope.rotaryDim)/\(headDim) dims" : "")
            switch rope.scaling {
            case .none: break
            case .linear(let f): pos += ", linear scaling ×\(short(f))"
            case .llama3(let f, _, _, let o): pos += ", llama3 scaling ×\(short(f)) from \(o)"
            case .freqFactors(let f): pos += ", \(f.count) frequency factors"
            }
        }
        let attn = kvHeads == heads ? "\(heads) heads" : "\(heads) query heads sharing \(kvHeads) KV heads (GQA ×\(groupSize))"
        let maskText: String
        switch self.mask {
        case .replace(let v): maskText = "masked scores set to \(short(v))"
        case .minimum: maskText = "masked scores set to −max"
        case .none: maskText = "no mask (bidirectional attention)"
        }
        return [
            "\(placement.rawValue)-norm \(normName)" + (finalNorm ? " + final norm" : ", no final norm"),
            (gatedMLP ? "gated " : "") + "\(act) MLP", pos, attn, maskText, tiedHead ? "head tied to embeddings" : "separate head",
        ].joined(separator: " · ")
    }
}
