// The names each naming gives a canonical weight, for writers (convert) and comparers (diff).
// Thin public wrappers over the per-family layout tables, so the names a layout reads and the
// names convert writes come from one place.

/// A naming convention a checkpoint can be written in.
public enum ModelNaming {
    /// The Hugging Face name transformers' `save_pretrained` writes for `canonical` (with the
    /// prefix it uses: `transformer.` for GPT-1/GPT-2, `model.` for LLaMA, none for `lm_head`),
    /// and whether the tensor is a Conv1D weight stored `[in, out]`. Nil when the family has no
    /// such weight.
    public static func hfName(_ architecture: Architecture, _ canonical: String) -> (name: String, conv1D: Bool)? {
        if canonical == "head.weight" { return ("lm_head.weight", false) }
        switch architecture {
        case .gpt2: return GPT2Layout.hfName(canonical).map { ("transformer." + $0.0, $0.1) }
        case .gpt1: return GPT1Layout.hfName(canonical).map { ("transformer." + $0.0, $0.1) }
        case .llama: return LlamaLayout.hfName(canonical).map { ("model." + $0, false) }
        }
    }

    /// llama.cpp's GGUF name for `canonical` (shared by gpt2, llama and WeightKit's gpt1).
    public static func ggufName(_ canonical: String) -> String? { GPT2Layout.ggufName(canonical) }

    /// Meta's original LLaMA name for `canonical`.
    public static func metaName(_ canonical: String) -> String? { LlamaLayout.metaName(canonical) }
}
