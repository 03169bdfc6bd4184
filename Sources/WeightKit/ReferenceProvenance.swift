// Which model a reference file was recorded from. scripts/make-reference.py (and `weightkit run
// --dump`) write these `__metadata__` keys; verify compares them with the model it runs and warns
// when they differ, so a reference of another model is named as such instead of showing up as a
// plausible "first divergence at hidden_states.0".
//
//   architecture   WeightKit's name for the family (gpt1, gpt2, llama, qwen2, mistral)
//   config         compact JSON, keys sorted: architecture, head_dim, heads, hidden_size,
//                  intermediate_size, kv_heads, layers, vocab_size (integers), norm_eps and
//                  rope_theta ("%.6g" text, or null): fields every format keeps, so the same model
//                  gives the same text from safetensors, GGUF or HDF5
//   config_sha256  SHA-256 of that text (scripts/hf_reference.py computes it the same way)

import Foundation
import Models
import TensorCore

/// The model a reference activation file says it was recorded from.
public enum ReferenceProvenance {
    /// The `config` text for `config`: the fields of the reference metadata, keys sorted.
    public static func configText(_ config: ModelConfig) -> String {
        func number(_ x: Float) -> String { "\"" + String(format: "%.6g", Double(x)) + "\"" }
        let fields: [(String, String)] = [
            ("architecture", "\"\(config.architecture.rawValue)\""), ("head_dim", "\(config.headDim)"), ("heads", "\(config.heads)"),
            ("hidden_size", "\(config.hiddenSize)"), ("intermediate_size", "\(config.intermediateSize)"),
            ("kv_heads", "\(config.kvHeads)"), ("layers", "\(config.layers)"), ("norm_eps", number(config.normEps)),
            ("rope_theta", config.rope.map { number($0.theta) } ?? "null"), ("vocab_size", "\(config.vocabSize)"),
        ]
        return "{" + fields.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}"
    }

    /// The `__metadata__` entries that record `config`: architecture, config, config_sha256.
    public static func metadata(for config: ModelConfig) -> [(String, String)] {
        let text = configText(config)
        var h = SHA256()
        h.update(Array(text.utf8))
        return [("architecture", config.architecture.rawValue), ("config", text), ("config_sha256", h.hexDigest())]
    }

    /// How the model the reference was recorded from differs from `config`, one line per field
    /// ("heads: 4 in the reference's model, 8 here"); empty when they agree or the reference records
    /// nothing to compare.
    public static func mismatches(_ reference: ReferenceFile, _ config: ModelConfig) -> [String] {
        let ours = metadata(for: config)
        let recordedArchitecture = reference.metadata["architecture"]?.string
        guard let hash = reference.metadata["config_sha256"]?.string else {
            if let a = recordedArchitecture, a != config.architecture.rawValue {
                return ["architecture: \(a) in the reference's model, \(config.architecture.rawValue) here"]
            }
            return []
        }
        if hash == ours[2].1 { return [] }
        guard let text = reference.metadata["config"]?.string, let theirs = try? JSONParser.parse(text).object,
            let mine = try? JSONParser.parse(configText(config)).object
        else {
            return ["config_sha256: \(hash.prefix(12))… in the reference's model, \(ours[2].1.prefix(12))… here"]
        }
        let mineByKey = Dictionary(mine, uniquingKeysWith: { a, _ in a })
        var out = [String]()
        for (key, value) in theirs {
            let here = mineByKey[key]
            if here?.serialized() != value.serialized() {
                out.append("\(key): \(show(value)) in the reference's model, \(here.map(show) ?? "unknown") here")
            }
        }
        return out.isEmpty ? ["config_sha256: \(hash.prefix(12))… in the reference's model, \(ours[2].1.prefix(12))… here"] : out
    }

    static func show(_ v: JSONValue) -> String {
        if let s = v.string { return s }
        return v.serialized()
    }
}
