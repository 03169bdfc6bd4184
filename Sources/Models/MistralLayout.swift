// Mistral (HF `mistral`, MistralForCausalLM): LLaMA's blocks (pre-RMSNorm, RoPE, SiLU-gated MLP,
// grouped-query attention, explicit head_dim) with sliding-window attention: a query attends to
// itself and the `sliding_window − 1` keys before it (the causal mask and generate's KV cache both
// apply the window). Namings: LLaMA's (Hugging Face with `model.` or none; GGUF). GGUF: llama.cpp
// writes Mistral as architecture `llama` (Q/K permuted, its llama keys) and keeps no window;
// WeightKit writes the same plus `llama.attention.sliding_window`, which is how a `llama` GGUF is
// recognised as Mistral. A llama.cpp GGUF without that key is read as LLaMA (as llama.cpp runs it).

import CheckpointCore
import TensorCore

extension Architecture {
    public static let mistral = Architecture("mistral", displayName: "Mistral")
}

public enum MistralLayout: ModelLayout {
    public static let architecture = Architecture.mistral
    static let windowKey = "llama.attention.sliding_window"

    public static func recognise(_ c: Checkpoint) -> Recognition? {
        if c.metadata["general.architecture"]?.string == "llama" {
            return c.metadata[windowKey] != nil ? .ggufArchitectureAndKey : nil
        }
        return .standard(c, gguf: [], modelTypes: ["mistral"], hfPrefixes: ["MistralForCausalLM"], names: { _ in false })
    }

    public static func config(for c: Checkpoint) throws -> ModelConfig {
        if c.metadata["general.architecture"] != nil {
            var cfg = try LlamaLayout.ggufConfig(c, architecture: .mistral, implements: ["attention.sliding_window"])
            let w = try GGUFConfig(metadata: c.metadata, arch: "llama", path: c.path).int("attention.sliding_window")
            cfg.slidingWindow = w > 0 ? w : nil
            return cfg
        }
        guard let json = c.config else { throw ModelError(c.path, "Mistral weights need a config.json beside them") }
        let path = c.configPath ?? c.path
        var cfg = try LlamaLayout.hfConfig(json, path: path, family: "Mistral", architecture: .mistral)
        let j = JSONConfig(json: json, path: path, family: "Mistral")
        if j.has("sliding_window") { cfg.slidingWindow = try j.int("sliding_window") }
        return cfg
    }

    public static func namings(_ c: Checkpoint) -> [NamingTable] { [LlamaLayout.hf.prefixed("model."), LlamaLayout.hf, LlamaLayout.gguf] }

    public static func writeNaming(_ kind: NamingKind) -> NamingTable { LlamaLayout.writeNaming(kind) }

    public static func ggufArchitecture(_ config: ModelConfig) -> String { "llama" }

    public static func extraGGUFTensors(_ c: ModelConfig) throws -> [Tensor] { try LlamaLayout.extraGGUFTensors(c) }

    public static func ggufKeys(_ c: ModelConfig, metadata: Metadata, source: String) throws -> [MetadataEntry] {
        var e = try LlamaLayout.ggufKeys(c, arch: "llama", metadata: metadata, source: source)
        if let w = c.slidingWindow { e.append(MetadataEntry(windowKey, ConfigWriting.u32(w))) }
        return e
    }

    public static func hfConfig(_ c: ModelConfig, metadata: Metadata, source: String) throws -> [(String, JSONValue)] {
        guard !c.attentionBias, !c.outputBias, !c.mlpBias else {
            throw ModelError(source, "Mistral with attention or MLP biases has no config.json spelling")
        }
        let rp = try LlamaLayout.ropeParameters(c, metadata: metadata, source: source)
        return [
            ("architectures", .array([.string("MistralForCausalLM")])), ("model_type", .string("mistral")),
            ("vocab_size", .int(c.vocabSize)), ("hidden_size", .int(c.hiddenSize)), ("intermediate_size", .int(c.intermediateSize)),
            ("num_hidden_layers", .int(c.layers)), ("num_attention_heads", .int(c.heads)),
            ("num_key_value_heads", .int(c.kvHeads)), ("head_dim", .int(c.headDim)), ("hidden_act", .string("silu")),
            ("max_position_embeddings", .int(c.maxPositions)), ("rms_norm_eps", .float(c.normEps)),
            ("rope_parameters", .object(rp)), ("sliding_window", c.slidingWindow.map { .int($0) } ?? .null),
            ("attention_dropout", .float(0)), ("tie_word_embeddings", .bool(c.tiedHead)),
            ("bos_token_id", ConfigWriting.tokenID(metadata, "bos")), ("eos_token_id", ConfigWriting.tokenID(metadata, "eos")),
        ]
    }
}
