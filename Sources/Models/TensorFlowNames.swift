// Hugging Face's TensorFlow checkpoints (`tf_model.h5`) name weights like
//   transformer/tfgp_t2lm_head_model/transformer/h_._0/attn/c_attn/weight:0
// The model-scope segment differs between TensorFlow/Keras versions, so names are matched on
// the structure after it: the first segment that is a known root (`h_._N`, `wte`, `wpe`, `ln_f`,
// `tokens_embed`, `positions_embed`), with `_._` → `.`, `:0` dropped, and Keras leaf names
// mapped as transformers maps them (gamma/kernel/embeddings → weight, beta → bias).

import CheckpointCore
import TensorCore

enum TensorFlowNames {
    static let roots: Set<String> = ["wte", "wpe", "ln_f", "tokens_embed", "positions_embed"]

    /// The PyTorch-style name of a TensorFlow weight path, or nil when it has no known root.
    static func pytorchName(_ path: String) -> String? {
        var parts = path.split(separator: "/").map(String.init)
        guard var last = parts.popLast() else { return nil }
        if let colon = last.lastIndex(of: ":") { last = String(last[..<colon]) }
        parts.append(last)
        guard let k = parts.firstIndex(where: { roots.contains($0) || isBlock($0) }) else { return nil }
        var tail = Array(parts[k...])
        switch tail[tail.count - 1] {
        case "gamma", "kernel", "embeddings": tail[tail.count - 1] = "weight"
        case "beta": tail[tail.count - 1] = "bias"
        default: break
        }
        return tail.joined(separator: ".").replacingOccurrences(of: "_._", with: ".")
    }

    static func isBlock(_ s: String) -> Bool {
        s.hasPrefix("h_._") && !s.dropFirst(4).isEmpty && s.dropFirst(4).allSatisfy(\.isNumber)
    }

    /// HDF5 checkpoints with TensorFlow names, renamed to PyTorch names; others unchanged.
    static func normalized(_ c: Checkpoint) -> Checkpoint {
        guard c.entries.contains(where: { $0.name.hasSuffix(":0") || $0.name.contains("/h_._") }) else { return c }
        var entries = [TensorEntry]()
        for e in c.entries {
            if e.name.hasPrefix("optimizer_weights/") { continue }
            entries.append(pytorchName(e.name).map { e.renamed($0) } ?? e)
        }
        return Checkpoint(
            path: c.path, format: c.format, files: c.files, metadata: c.metadata, entries: entries, config: c.config,
            configPath: c.configPath)
    }
}

extension String {
    func replacingOccurrences(of target: String, with replacement: String) -> String {
        guard !target.isEmpty else { return self }
        var out = ""
        var rest = self[...]
        while let r = rest.range(of: target) {
            out += rest[..<r.lowerBound]
            out += replacement
            rest = rest[r.upperBound...]
        }
        return out + rest
    }
}

extension Substring {
    func range(of target: String) -> Range<Substring.Index>? {
        guard !target.isEmpty, count >= target.count else { return nil }
        var i = startIndex
        while i < endIndex {
            if self[i...].hasPrefix(target) { return i..<index(i, offsetBy: target.count) }
            i = index(after: i)
        }
        return nil
    }
}
