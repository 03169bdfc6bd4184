// GGUF metadata against tensor shapes. Converters sometimes write keys that are wrong for the file
// (llama.cpp's GPT-2 converter writes feed_forward_length = 4·n_embd even when n_inner differs).
// Where the tensors settle a value unambiguously, the tensors win and a one-line warning says so:
// the vocabulary (token embedding rows), the feed-forward width (every layer's up, gate and down
// agree), and the head counts when the head size is given (`attention.key_length`). Where the
// tensors disagree among themselves, the error names the metadata value and the tensors' values.

import CheckpointCore
import TensorCore

enum MetadataCheck {
    /// Adjusts `cfg` (read from GGUF keys) to the tensors under `naming`; returns the warnings.
    static func reconcile(_ cfg: inout ModelConfig, _ c: Checkpoint, naming: NamingTable) throws -> [String] {
        guard let arch = c.metadata["general.architecture"]?.string else { return [] }
        var warnings = [String]()
        let config = cfg
        /// (out, in) of a canonical matrix as the source stores it.
        func dims(_ canonical: String) -> (Int, Int)? {
            guard let ref = naming.source(canonical, config: config), let e = c[ref.name], e.shape.count == 2 else { return nil }
            return ref.transposed ? (e.shape[1], e.shape[0]) : (e.shape[0], e.shape[1])
        }
        func warn(_ key: String, _ meta: Int, _ tensors: String, _ value: Int) {
            warnings.append("GGUF metadata says \(arch).\(key) = \(meta) but \(tensors) give \(value); using \(value)")
        }

        if let (v, _) = dims("tok_embed.weight"), v != cfg.vocabSize {
            warn("vocab_size", cfg.vocabSize, "token_embd.weight's rows", v)
            cfg.vocabSize = v
        }

        var widths = [Int]()
        for i in 0..<cfg.layers {
            if let (f, _) = dims("layers.\(i).mlp.up.weight") { widths.append(f) }
            if cfg.gatedMLP, let (f, _) = dims("layers.\(i).mlp.gate.weight") { widths.append(f) }
            if let (_, f) = dims("layers.\(i).mlp.down.weight") { widths.append(f) }
        }
        let distinct = Set(widths).sorted()
        if distinct.count == 1, distinct[0] != cfg.intermediateSize {
            warn("feed_forward_length", cfg.intermediateSize, "the MLP tensors", distinct[0])
            cfg.intermediateSize = distinct[0]
        } else if distinct.count > 1 {
            throw ModelError(c.path, "GGUF metadata says \(arch).feed_forward_length = \(cfg.intermediateSize); the MLP tensors have widths \(distinct)")
        }

        if let kl = c.metadata["\(arch).attention.key_length"]?.int, kl > 0, kl == cfg.headDim {
            if cfg.fusedQKV, cfg.heads == cfg.kvHeads, let (r, _) = dims("layers.0.attn.qkv.weight"), r % (3 * kl) == 0, r / (3 * kl) != cfg.heads {
                warn("attention.head_count", cfg.heads, "attn_qkv's rows ÷ (3 × key_length \(kl))", r / (3 * kl))
                cfg.heads = r / (3 * kl)
                cfg.kvHeads = cfg.heads
            } else if !cfg.fusedQKV {
                if let (r, _) = dims("layers.0.attn.q.weight"), r % kl == 0, r / kl != cfg.heads {
                    warn("attention.head_count", cfg.heads, "attn_q's rows ÷ key_length \(kl)", r / kl)
                    cfg.heads = r / kl
                }
                if let (r, _) = dims("layers.0.attn.k.weight"), r % kl == 0, r / kl != cfg.kvHeads {
                    warn("attention.head_count_kv", cfg.kvHeads, "attn_k's rows ÷ key_length \(kl)", r / kl)
                    cfg.kvHeads = r / kl
                }
            }
        }
        return warnings
    }
}
