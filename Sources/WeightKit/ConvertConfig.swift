// The model description convert writes beside the weights: GGUF architecture keys (formats.md
// §2.5, Formats/gguf.md, Formats/conversion.md) and a Hugging Face config.json, both from the
// resolved ModelConfig by the model's family file (Sources/Models), which also reads them.

import Foundation
import Models
import TensorCore

enum ConvertConfig {
    static let llama3Keys = LlamaLayout.llama3Keys

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
