// Helpers the families share for reading and writing raw configs: GGUF integer keys, token ids
// from GGUF metadata, llama.cpp's GGUF naming, and refusing keys that would change the
// computation in a way the family does not implement.

import CheckpointCore
import TensorCore

enum ConfigWriting {
    static func u32(_ v: Int) -> MetadataValue { .uint32(UInt32(clamping: v)) }

    /// `tokenizer.ggml.{kind}_token_id` as a config.json value (null when absent).
    static func tokenID(_ metadata: Metadata, _ kind: String) -> JSONValue {
        metadata["tokenizer.ggml.\(kind)_token_id"]?.int.map { .int($0) } ?? .null
    }

    /// Entries `{arch}.key` in order.
    static func keys(_ arch: String, _ pairs: [(String, MetadataValue)]) -> [MetadataEntry] {
        pairs.map { MetadataEntry("\(arch).\($0.0)", $0.1) }
    }
}

extension NamingTable {
    /// llama.cpp's GGUF names (`token_embd`, `blk.N.attn_q`, …), shared by gpt2, llama, qwen2 and
    /// WeightKit's gpt1; `interleavedQK` when Q/K rows are stored permuted (llama's NORM RoPE).
    static func llamaCpp(label: String, interleavedQK: Bool, ignorable: @escaping @Sendable (String) -> Bool = { _ in false }) -> NamingTable {
        NamingTable(
            .gguf, label: label,
            modules: [
                "tok_embed": ("token_embd", .canonical), "pos_embed": ("position_embd", .canonical),
                "final_norm": ("output_norm", .canonical), "head": ("output", .canonical),
                "layers.{i}.attn_norm": ("blk.{i}.attn_norm", .canonical), "layers.{i}.mlp_norm": ("blk.{i}.ffn_norm", .canonical),
                "layers.{i}.attn.qkv": ("blk.{i}.attn_qkv", .canonical), "layers.{i}.attn.out": ("blk.{i}.attn_output", .canonical),
                "layers.{i}.attn.q": ("blk.{i}.attn_q", interleavedQK ? .interleavedQ : .canonical),
                "layers.{i}.attn.k": ("blk.{i}.attn_k", interleavedQK ? .interleavedK : .canonical),
                "layers.{i}.attn.v": ("blk.{i}.attn_v", .canonical), "layers.{i}.mlp.gate": ("blk.{i}.ffn_gate", .canonical),
                "layers.{i}.mlp.up": ("blk.{i}.ffn_up", .canonical), "layers.{i}.mlp.down": ("blk.{i}.ffn_down", .canonical),
            ],
            ignorable: ignorable)
    }
}

extension GGUFConfig {
    /// Refuses `{arch}.*` keys that change the computation and that this family does not
    /// implement, by name, rather than running without them.
    func refuseUnsupported(family: String, except: Set<String> = []) throws {
        let keys = [
            "attention.sliding_window", "attention.clamp_kqv", "attn_logit_softcapping", "final_logit_softcapping",
            "logit_scale", "expert_count", "attention.q_lora_rank", "rope.dimension_sections",
        ]
        for k in keys where !except.contains(k) {
            guard let v = metadata[arch + "." + k] else { continue }
            if let i = v.int, i == 0, k != "logit_scale" { continue }
            throw fail("'\(arch).\(k)' is \(v.summary()); it changes the computation and WeightKit's \(family) does not implement it")
        }
        if let causal = metadata[arch + ".attention.causal"]?.bool, !causal {
            throw fail("'\(arch).attention.causal' is false; WeightKit's \(family) runs causal attention only")
        }
    }
}

extension JSONConfig {
    /// Refuses config.json keys with values that change the computation and that this family
    /// does not implement, by name.
    func refuse(_ keys: [String], unless accepted: (String, JSONValue) -> Bool = { _, _ in false }) throws {
        for k in keys {
            guard let v = json[k], !v.isNull, !accepted(k, v) else { continue }
            throw fail("\"\(k)\" is \(v.serialized()); it changes the computation and WeightKit's \(family) does not implement it")
        }
    }
}
