// A model family's layout: how to recognise it, resolve its config, and bind its weights
// under every naming found in the wild. One family is one file conforming to this.

import Checkpoints
import TensorCore

/// One model family.
public protocol ModelLayout {
    static var architecture: Architecture { get }
    /// Resolves the config from config.json or GGUF metadata.
    static func config(for checkpoint: Checkpoint) throws -> ModelConfig
    /// Binds every canonical weight; may adjust the config to the naming (e.g. the RoPE style
    /// of Q/K rows stored in Meta's interleaved order).
    static func bind(_ checkpoint: Checkpoint, config: ModelConfig) throws -> (ModelConfig, [String: BoundWeight], naming: String)
}

/// The families WeightKit knows.
public enum ModelLayouts {
    public static let all: [any ModelLayout.Type] = [GPT1Layout.self, GPT2Layout.self, LlamaLayout.self]

    public static func layout(for a: Architecture) -> any ModelLayout.Type {
        all.first { $0.architecture == a }!
    }

    /// Recognises the family from GGUF metadata, config.json (`model_type`, `architectures`), or
    /// failing both, from tensor names.
    public static func detect(_ c: Checkpoint) -> Architecture? {
        if let a = c.metadata["general.architecture"]?.string {
            switch a {
            case "gpt2": return .gpt2
            case "llama": return .llama
            case "gpt1": return .gpt1
            default: return nil
            }
        }
        if let mt = c.config?["model_type"]?.string {
            switch mt {
            case "gpt2": return .gpt2
            case "openai-gpt": return .gpt1
            case "llama": return .llama
            default: break
            }
        }
        for a in c.config?["architectures"]?.array?.compactMap(\.string) ?? [] {
            if a.hasPrefix("GPT2") { return .gpt2 }
            if a.hasPrefix("OpenAIGPT") { return .gpt1 }
            if a.hasPrefix("Llama") { return .llama }
        }
        let names = c.entries.map(\.name)
        if names.contains(where: { $0.hasSuffix("tokens_embed.weight") }) { return .gpt1 }
        if names.contains(where: { $0.hasSuffix("wte.weight") }) { return .gpt2 }
        if names.contains(where: { $0.hasSuffix("embed_tokens.weight") || $0 == "tok_embeddings.weight" }) { return .llama }
        return nil
    }

    /// The graph of a checkpoint: family recognised, config resolved and validated, every
    /// weight bound.
    public static func graph(for checkpoint: Checkpoint) throws -> ModelGraph {
        let c = TensorFlowNames.normalized(checkpoint)
        guard let arch = detect(c) else {
            let hint = c.config == nil && c.format != .gguf ? " (no config.json beside it)" : ""
            throw ModelError(c.path, "cannot tell which model family this is\(hint); WeightKit maps GPT-1, GPT-2 and LLaMA")
        }
        let layout = layout(for: arch)
        var config = try layout.config(for: c)
        try config.validate(source: c.configPath ?? c.path)
        let (bound, weights, naming) = try layout.bind(c, config: config)
        config = bound
        let (ops, widths) = GraphBuilder.ops(for: config)
        return ModelGraph(config: config, ops: ops, weights: weights, widths: widths, naming: naming)
    }

    /// Finds which of `prefixes` the checkpoint's names use, by a probe name.
    static func prefix(of c: Checkpoint, probe: String, candidates: [String]) -> String? {
        candidates.first { c[$0 + probe] != nil }
    }
}
