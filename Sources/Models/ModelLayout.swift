// A model family: how to recognise it (from metadata, config.json and tensor names, never from
// the container format), its raw config read from config.json / GGUF keys and written back to
// both, and one naming table per naming. One family is one file conforming to this protocol;
// registering it is one line in `ModelLayouts.all`.

import CheckpointCore
import TensorCore

/// One model family.
public protocol ModelLayout {
    static var architecture: Architecture { get }
    /// How strongly this family claims the checkpoint; nil when it does not.
    static func recognise(_ checkpoint: Checkpoint) -> Recognition?
    /// Resolves the config from config.json (or params.json) or GGUF keys. Q/K row order is
    /// left half-split; the naming the weights are found under decides it (`bind`).
    static func config(for checkpoint: Checkpoint) throws -> ModelConfig
    /// The namings a checkpoint of this family may use, the one tried first first; each is
    /// recognised by the source name of its probe weight.
    static func namings(_ checkpoint: Checkpoint) -> [NamingTable]
    /// The naming `convert` writes: `hf` (with the prefix transformers writes) or `gguf`.
    static func writeNaming(_ kind: NamingKind) -> NamingTable
    /// GGUF's `general.architecture` for this config (Mistral is written as `llama`).
    static func ggufArchitecture(_ config: ModelConfig) -> String
    /// The `{arch}.*` keys for `config`; `metadata` is the input's (for keys only it holds).
    static func ggufKeys(_ config: ModelConfig, metadata: Metadata, source: String) throws -> [MetadataEntry]
    /// config.json for `config` without `dtype` (appended by the caller); `metadata` supplies token ids.
    static func hfConfig(_ config: ModelConfig, metadata: Metadata, source: String) throws -> [(String, JSONValue)]
    /// Tensors a GGUF holds besides the canonical weights (LLaMA's `rope_freqs`), written first.
    static func extraGGUFTensors(_ config: ModelConfig) throws -> [Tensor]
}

extension ModelLayout {
    public static func extraGGUFTensors(_ config: ModelConfig) throws -> [Tensor] { [] }
    public static func ggufArchitecture(_ config: ModelConfig) -> String { architecture.rawValue }

    /// Binds every canonical weight under the first naming whose probe the checkpoint holds
    /// (else the first naming, so the error lists what that naming lacks).
    public static func bind(_ c: Checkpoint, config: ModelConfig) throws -> (ModelConfig, [String: BoundWeight], naming: String) {
        let naming = self.naming(for: c)
        let cfg = config
        let description = naming.describe(c)
        let b = WeightBinder(checkpoint: c, config: cfg, naming: naming.binderLabel(c))
        let w = try b.bind(source: { naming.source($0, config: cfg) }, ignorable: naming.ignorable)
        return (cfg, w, description)
    }
}

extension ModelLayout {
    /// The naming the checkpoint's weights are under: the first whose probe it holds (else the
    /// GGUF naming for a GGUF, else the first).
    public static func naming(for c: Checkpoint) -> NamingTable {
        let all = namings(c)
        let gguf = c.metadata["general.architecture"]?.string != nil
        return all.first { $0.probeSource.map { c[$0] != nil } ?? false }
            ?? (gguf ? all.first { $0.kind == .gguf } : nil) ?? all[0]
    }
}

/// How a family recognised a checkpoint, weakest first. The strongest claim wins.
public enum Recognition: Int, Comparable, Sendable {
    /// From tensor names alone.
    case tensorNames = 1
    /// config.json's `architectures`.
    case hfArchitectures
    /// config.json's `model_type`.
    case modelType
    /// GGUF's `general.architecture`.
    case ggufArchitecture
    /// GGUF's `general.architecture` and a key only this family writes.
    case ggufArchitectureAndKey

    public static func < (a: Recognition, b: Recognition) -> Bool { a.rawValue < b.rawValue }

    /// The usual evidence: `general.architecture` in `gguf`, `model_type` in `modelTypes`, an
    /// `architectures` entry with one of `hfPrefixes`, or a tensor name `names` accepts.
    public static func standard(
        _ c: Checkpoint, gguf: Set<String>, modelTypes: Set<String>, hfPrefixes: [String], names: (String) -> Bool
    ) -> Recognition? {
        if let a = c.metadata["general.architecture"]?.string { return gguf.contains(a) ? .ggufArchitecture : nil }
        if let mt = c.config?["model_type"]?.string, modelTypes.contains(mt) { return .modelType }
        for a in c.config?["architectures"]?.array?.compactMap(\.string) ?? [] where hfPrefixes.contains(where: { a.hasPrefix($0) }) {
            return .hfArchitectures
        }
        return c.entries.contains { names($0.name) } ? .tensorNames : nil
    }
}

/// The families WeightKit knows.
public enum ModelLayouts {
    /// Registration: one entry per family file.
    public static let all: [any ModelLayout.Type] = [
        GPT1Layout.self, GPT2Layout.self, LlamaLayout.self, Qwen2Layout.self, MistralLayout.self,
    ]

    public static func layout(for a: Architecture) -> any ModelLayout.Type {
        all.first { $0.architecture == a }!
    }

    /// The family with the strongest claim (the first registered on a tie). A GGUF whose
    /// `general.architecture` no family claims is not recognised, whatever its names.
    public static func detect(_ c: Checkpoint) -> Architecture? {
        var best: (Recognition, Architecture)?
        for f in all {
            if let r = f.recognise(c), best.map({ r > $0.0 }) ?? true { best = (r, f.architecture) }
        }
        return best?.1
    }

    /// Display names of every family, for messages.
    static var familyList: String {
        let names = all.map { $0.architecture.displayName }
        return names.count < 2 ? names.joined() : names.dropLast().joined(separator: ", ") + " and " + names.last!
    }

    /// The graph of a checkpoint: family recognised, config resolved and validated, every
    /// weight bound.
    public static func graph(for checkpoint: Checkpoint) throws -> ModelGraph {
        let c = TensorFlowNames.normalized(checkpoint)
        guard let arch = detect(c) else {
            let hint = c.config == nil && c.metadata["general.architecture"] == nil ? " (no config.json beside it)" : ""
            throw ModelError(c.path, "cannot tell which model family this is\(hint); WeightKit maps \(familyList)")
        }
        let layout = layout(for: arch)
        var config = try layout.config(for: c)
        let warnings = try MetadataCheck.reconcile(&config, c, naming: layout.naming(for: c))
        try config.validate(source: c.configPath ?? c.path)
        let (bound, weights, naming) = try layout.bind(c, config: config)
        config = bound
        let (ops, widths) = GraphBuilder.ops(for: config)
        // The RoPE pairing the executor will use, decided from the weights' transforms (Q/K rows stored
        // interleaved run with interleaved RoPE), so that `graph` and `inspect` show it.
        let graph = ModelGraph(config: config, ops: ops, weights: weights, widths: widths, naming: naming, warnings: warnings)
        guard config.rope != nil else { return graph }
        do {
            config.rope!.style = try Canonicalization.execution(graph).ropeStyle
        } catch let e as ModelError {
            throw ModelError(c.path, "tensor '\(e.path)': \(e.message)")
        }
        return ModelGraph(config: config, ops: ops, weights: weights, widths: widths, naming: naming, warnings: warnings)
    }
}
