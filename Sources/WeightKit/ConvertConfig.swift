// The model description convert writes beside the weights: GGUF architecture keys (Formats/gguf.md,
// Formats/conversion.md) and a Hugging Face config.json, both from the resolved ModelConfig by the
// model's family file (Sources/Models), which also reads them.

import Foundation
import Models
import TensorCore

enum ConvertConfig {
    static let llama3Keys = LlamaLayout.llama3Keys

    /// Only the llama3 RoPE keys of `metadata`: what `hfConfig` needs besides the resolved config
    /// when the tokenizer ids are to be left out.
    static func ropeSubset(_ metadata: Metadata) -> Metadata {
        var m = Metadata()
        let k = llama3Keys
        for key in [k.factor, k.low, k.high, k.original] { if let v = metadata[key] { m[key] = v } }
        return m
    }

    /// `{arch}.*` keys for `c`, in the order convert_hf_to_gguf writes them.
    /// `metadata` (the input's) supplies the llama3 keys when the input holds only rope_freqs.
    static func ggufKeys(_ c: ModelConfig, metadata: Metadata, source: String) throws -> [MetadataEntry] {
        try ModelLayouts.layout(for: c.architecture).ggufKeys(c, metadata: metadata, source: source)
    }

    static func llama3Factors(theta: Float, dim: Int, factor: Float, low: Float, high: Float, original: Int) -> [Float] {
        LlamaLayout.llama3Factors(theta: theta, dim: dim, factor: factor, low: low, high: high, original: original)
    }

    /// A config.json transformers 5.23 loads for `c` (v5 style: `rope_parameters`, `dtype`).
    /// `metadata` supplies token ids (`tokenizer.ggml.*_token_id`) and WeightKit's llama3 keys.
    static func hfConfig(_ c: ModelConfig, metadata: Metadata, dtype: String, source: String) throws -> JSONValue {
        var o = try ModelLayouts.layout(for: c.architecture).hfConfig(c, metadata: metadata, source: source)
        o.append(("dtype", .string(dtype)))
        return .object(o)
    }
}
