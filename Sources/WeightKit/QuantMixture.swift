// llama.cpp's quantization mixtures (`llama-quantize … Q4_K_M`): which ggml type each tensor gets.
//
// A mixture has a default type (Q4_K for Q4_K_M) and rules that give some tensors more bits:
//   output / tied token embedding   Q6_K (Q8_0 when its rows are not whole blocks of the default type)
//   attn_v (and fused attn_qkv)     per mixture: Q2_K → Q4_K with ≥ 4 query heads per KV head, else Q3_K;
//                                   Q3_K_M → Q5_K for the first two, then Q4_K; Q3_K_L → Q5_K;
//                                   Q4_K_M, Q5_K_M → Q6_K on the "more bits" layers; Q4_K_S → Q5_K for the first four
//   ffn_down                        Q2_K → Q3_K; Q3_K_M → Q5_K below n/16, else Q4_K; Q3_K_L → Q5_K;
//                                   Q4_K_M, Q5_K_M → Q6_K on the "more bits" layers; Q4_K_S → Q5_K below n/8
//   attn_output                     Q2_K → Q3_K; Q3_K_M → Q4_K; Q3_K_L → Q5_K
// where the "more bits" layers are i < n/8, i ≥ 7n/8 and every third layer between (i − n/8) mod 3 = 2,
// counted over the attn_v (or ffn_down) tensors in file order. Only 2-D `.weight` tensors are quantized
// (not norms, position or token-type embeddings, MoE routers); the rest keep their type. A type whose
// block does not divide a row falls back: Q2_K, Q3_K → Q4_0; Q4_K → Q5_0; Q5_K → Q5_1; Q6_K → Q8_0; and to
// F16 when even that does not divide it. `--tensor-type PATTERN=TYPE` overrides (first matching pattern,
// searched in the name) replace the rules but not the fallback.

import Foundation
import TensorCore

/// A llama-quantize mixture name.
public enum QuantMixture: String, CaseIterable, Sendable {
    case q2_k, q3_k_s, q3_k_m, q3_k_l, q4_k_s, q4_k_m, q5_k_s, q5_k_m, q6_k, q8_0, q4_0, q4_1, q5_0, q5_1

    /// `general.file_type` (llama.cpp's `llama_ftype`).
    public var fileType: UInt32 {
        switch self {
        case .q4_0: return 2
        case .q4_1: return 3
        case .q8_0: return 7
        case .q5_0: return 8
        case .q5_1: return 9
        case .q2_k: return 10
        case .q3_k_s: return 11
        case .q3_k_m: return 12
        case .q3_k_l: return 13
        case .q4_k_s: return 14
        case .q4_k_m: return 15
        case .q5_k_s: return 16
        case .q5_k_m: return 17
        case .q6_k: return 18
        }
    }

    /// The type of tensors no rule singles out.
    public var defaultType: DType {
        switch self {
        case .q2_k: return .q2_k
        case .q3_k_s, .q3_k_m, .q3_k_l: return .q3_k
        case .q4_k_s, .q4_k_m: return .q4_k
        case .q5_k_s, .q5_k_m: return .q5_k
        case .q6_k: return .q6_k
        case .q8_0: return .q8_0
        case .q4_0: return .q4_0
        case .q4_1: return .q4_1
        case .q5_0: return .q5_0
        case .q5_1: return .q5_1
        }
    }
}

/// The per-tensor choice of a mixture, for one model.
public struct MixturePlanner: Sendable {
    public let mixture: QuantMixture
    /// `general.architecture` (only `falcon` changes rules among the supported mixtures).
    public let architecture: String
    /// Query heads per KV head.
    public let groupedQueryRatio: Int
    public let layers: Int
    public let overrides: [(pattern: String, type: DType)]
    public let hasImatrix: Bool

    public init(mixture: QuantMixture, architecture: String, heads: Int, kvHeads: Int, layers: Int,
                overrides: [(pattern: String, type: DType)] = [], hasImatrix: Bool = false) {
        self.mixture = mixture
        self.architecture = architecture
        groupedQueryRatio = kvHeads > 0 ? heads / kvHeads : 1
        self.layers = layers
        self.overrides = overrides
        self.hasImatrix = hasImatrix
    }

    enum Category { case output, tokenEmbedding, attnQKV, attnKVB, attnV, attnK, attnQ, attnOutput, ffnUp, ffnGate, ffnDown, other }

    static func category(_ name: String) -> Category {
        if name == "output.weight" { return .output }
        if name == "token_embd.weight" || name == "per_layer_token_embd.weight" { return .tokenEmbedding }
        if name.contains("attn_qkv.weight") { return .attnQKV }
        if name.contains("attn_kv_b.weight") { return .attnKVB }
        if name.contains("attn_v.weight") { return .attnV }
        if name.contains("attn_k.weight") { return .attnK }
        if name.contains("attn_q.weight") { return .attnQ }
        if name.contains("attn_output.weight") { return .attnOutput }
        if name.contains("ffn_up") { return .ffnUp }
        if name.contains("ffn_gate") { return .ffnGate }
        if name.contains("ffn_down") { return .ffnDown }
        return .other
    }

    /// Whether llama-quantize quantizes a tensor at all.
    static func quantizable(_ name: String, shape: [Int]) -> Bool {
        guard shape.count >= 2, name.hasSuffix("weight") else { return false }
        for excluded in ["_norm.weight", "ffn_gate_inp.weight", "altup", "laurel", "per_layer_model_proj", "ssm_conv1d",
                         "attn_rel_b.weight", ".position_embd", "time_mix_"] where name.contains(excluded) { return false }
        return name != "position_embd.weight" && name != "token_types.weight"
    }

    static func moreBits(_ i: Int, _ n: Int) -> Bool { i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2 }

    /// The type of every tensor, given in file order with row-major shapes and the type each would have
    /// unquantized (kept for tensors that are not quantized).
    public func types(_ tensors: [(name: String, shape: [Int], unquantized: DType)]) -> [DType] {
        let categories = tensors.map { Self.category($0.name) }
        let attnV = categories.filter { $0 == .attnV || $0 == .attnQKV || $0 == .attnKVB }.count
        let tied = !categories.contains(.output)
        var iV = 0, iDown = 0
        var out: [DType] = []
        for (t, cat) in zip(tensors, categories) {
            guard Self.quantizable(t.name, shape: t.shape) else {
                out.append(t.unquantized)
                continue
            }
            var type = mixture.defaultType
            var manual = false
            for o in overrides where t.name.range(of: o.pattern, options: .regularExpression) != nil {
                type = o.type
                manual = true
                break
            }
            if !manual {
                type = rule(type, t, cat, tied: tied, iV: &iV, nV: attnV, iDown: &iDown)
            }
            out.append(Self.fallback(type, columns: t.shape.last ?? 0))
        }
        return out
    }

    private func rule(_ start: DType, _ t: (name: String, shape: [Int], unquantized: DType), _ cat: Category,
                      tied: Bool, iV: inout Int, nV: Int, iDown: inout Int) -> DType {
        var type = start
        let falcon = architecture == "falcon"
        let m = mixture
        switch cat {
        case .output, .tokenEmbedding where tied:
            let columns = t.shape.last ?? 0
            if falcon || columns % type.blockSize != 0 { type = .q8_0 } else if type != .q8_0 { type = .q6_k }
        case .tokenEmbedding:
            break
        case .attnV, .attnQKV, .attnKVB:
            switch m {
            case .q2_k: type = groupedQueryRatio >= 4 ? .q4_k : .q3_k
            case .q3_k_m: type = iV < 2 ? .q5_k : .q4_k
            case .q3_k_l: type = .q5_k
            case .q4_k_m, .q5_k_m: if Self.moreBits(iV, nV) { type = .q6_k }
            case .q4_k_s: if iV < 4 { type = .q5_k }
            default: break
            }
            iV += 1
        case .ffnDown:
            let (i, n) = (iDown, layers)
            switch m {
            case .q2_k: type = .q3_k
            case .q3_k_m: type = i < n / 16 ? .q5_k : (!falcon || Self.moreBits(i, n)) ? .q4_k : .q3_k
            case .q3_k_l: type = falcon ? .q4_k : .q5_k
            case .q4_k_m:
                if falcon { type = i < n / 16 ? .q6_k : Self.moreBits(i, n) ? .q5_k : .q4_k } else if Self.moreBits(i, n) { type = .q6_k }
            case .q5_k_m: if Self.moreBits(i, n) { type = .q6_k }
            case .q4_k_s: if !falcon && i < n / 8 { type = .q5_k }
            case .q4_0, .q5_0: if hasImatrix && i < n / 8 { type = m == .q4_0 ? .q4_1 : .q5_1 }
            default: break
            }
            iDown += 1
        case .attnOutput:
            if !falcon {
                switch m {
                case .q2_k: type = .q3_k
                case .q3_k_m: type = .q4_k
                case .q3_k_l: type = .q5_k
                default: break
                }
            } else if m == .q3_k_l {
                type = .q4_k
            }
        default: break
        }
        return type
    }

    /// A type whose block does not divide the row length falls back to a 32-element type, then to F16.
    static func fallback(_ type: DType, columns: Int) -> DType {
        guard type.isQuantized, columns % type.blockSize != 0 else { return type }
        let next: DType
        switch type {
        case .q2_k, .q3_k: next = .q4_0
        case .q4_k: next = .q5_0
        case .q5_k: next = .q5_1
        case .q6_k: next = .q8_0
        default: next = type
        }
        return columns % next.blockSize == 0 ? next : .f16
    }
}
