// Namings and the one canonicalization path. A naming table maps each canonical weight
// (GraphBuilder's names) to its source name and a transform value saying how the stored tensor
// differs from the canonical one; `Canonicalization.steps` is the single place that turns two
// transform values into the work to do, used by the Executor (Canonicalization+Execution.swift:
// the steps to canonical form, a transpose left to BLAS, Q/K row maps left to RoPE), convert and
// diff. Canonical form: matrices [out, in], Q/K rows in Hugging Face's half-split RoPE order.

import CheckpointCore
import TensorCore

/// How a stored tensor differs from its canonical form.
public enum WeightTransform: Sendable, Equatable {
    case identity
    /// Stored `[in, out]` (GPT's Conv1D).
    case transpose
    /// Q or K rows (weight or bias) stored in interleaved RoPE order (Meta, llama.cpp's llama
    /// GGUF), `heads` heads of them.
    case interleavedRows(heads: Int)
}

/// The work that turns a tensor stored under one transform into one stored under another:
/// transpose the stored matrix, then take destination row i from row `rowMap[i]`.
public struct TransformSteps: Sendable, Equatable {
    public var transpose: Bool
    public var rowMap: [Int]?
    public init(transpose: Bool, rowMap: [Int]?) {
        self.transpose = transpose
        self.rowMap = rowMap
    }
}

/// The single canonicalization function and its plain float32 application.
public enum Canonicalization {
    /// The steps from a tensor stored under `from` to the same weight stored under `to`, for a
    /// weight of canonical shape `shape`. Throws when rows cannot be regrouped into the heads.
    public static func steps(from: WeightTransform, to: WeightTransform, shape: [Int]) throws -> TransformSteps {
        let transpose = (from == .transpose) != (to == .transpose)
        func order(_ t: WeightTransform) -> (RoPEStyle, Int?) {
            if case .interleavedRows(let h) = t { return (.interleaved, h) }
            return (.half, nil)
        }
        let (a, ha) = order(from)
        let (b, hb) = order(to)
        guard a != b, let rows = shape.first, let heads = ha ?? hb else { return TransformSteps(transpose: transpose, rowMap: nil) }
        guard QKOrder.permutable(rows: rows, heads: heads) else {
            throw ModelError("", "\(rows) rows are not \(heads) heads of an even size; Q/K rows cannot be reordered")
        }
        return TransformSteps(transpose: transpose, rowMap: QKOrder.sourceRows(rows: rows, heads: heads, from: a, to: b))
    }

    /// `values` of a tensor stored with `storedShape` under `from`, in canonical form.
    public static func canonical(_ values: [Float], storedShape: [Int], from: WeightTransform, shape: [Int]) throws -> [Float] {
        try apply(steps(from: from, to: .identity, shape: shape), to: values, storedShape: storedShape)
    }

    /// Applies `steps` to float32 values of a tensor of `storedShape`.
    public static func apply(_ steps: TransformSteps, to values: [Float], storedShape: [Int]) -> [Float] {
        var v = values
        if steps.transpose {
            let rows = storedShape.first ?? 1
            let cols = v.count / max(rows, 1)
            var t = [Float](repeating: 0, count: v.count)
            for r in 0..<rows { for c in 0..<cols { t[c * rows + r] = v[r * cols + c] } }
            v = t
        }
        if let map = steps.rowMap, !map.isEmpty {
            let width = v.count / map.count
            var t = [Float](repeating: 0, count: v.count)
            for (i, src) in map.enumerated() { for j in 0..<width { t[i * width + j] = v[src * width + j] } }
            v = t
        }
        return v
    }
}

/// The namings convert writes.
public enum NamingKind: String, Sendable {
    /// Hugging Face (transformers' save_pretrained names).
    case hf
    /// llama.cpp's GGUF names.
    case gguf
    /// Meta's original LLaMA names.
    case meta
}

/// What a naming table says about how one module's tensors are stored.
public enum StoredAs: Sendable {
    case canonical
    /// The `.weight` is a Conv1D `[in, out]` matrix.
    case conv1D
    /// Q rows (weight and bias) interleaved, over the query heads.
    case interleavedQ
    /// K rows interleaved, over the KV heads.
    case interleavedK
}

/// One naming: canonical module → source module and how it is stored. Layer modules use
/// `{i}`: `"layers.{i}.attn.q": ("blk.{i}.attn_q", .interleavedQ)`. The leaf (`.weight`,
/// `.bias`) is kept.
public struct NamingTable: Sendable {
    public let kind: NamingKind
    /// E.g. "Hugging Face names", "GGUF (llama.cpp names, Q/K interleaved)".
    public let label: String
    /// Prepended to every source name except those in `unprefixed`.
    public let prefix: String
    public let modules: [String: (String, StoredAs)]
    /// Canonical modules whose source name takes no prefix (HF's `lm_head`).
    public let unprefixed: Set<String>
    /// Source tensors that are known and deliberately unused (mask buffers, inv_freq).
    public let ignorable: @Sendable (String) -> Bool
    /// Canonical weight whose source name identifies this naming.
    public let probe: String

    public init(
        _ kind: NamingKind, label: String, prefix: String = "", modules: [String: (String, StoredAs)], unprefixed: Set<String> = [],
        probe: String = "tok_embed.weight", ignorable: @escaping @Sendable (String) -> Bool = { _ in false }
    ) {
        self.kind = kind
        self.label = label
        self.prefix = prefix
        self.modules = modules
        self.unprefixed = unprefixed
        self.probe = probe
        self.ignorable = ignorable
    }

    /// The same table under another prefix.
    public func prefixed(_ p: String) -> NamingTable {
        NamingTable(kind, label: label, prefix: p, modules: modules, unprefixed: unprefixed, probe: probe, ignorable: ignorable)
    }

    var probeSource: String? { name(probe) }

    /// The source name of `canonical` (nil when the naming has none).
    public func name(_ canonical: String) -> String? { lookup(canonical)?.0 }

    func lookup(_ canonical: String) -> (String, StoredAs, String)? {
        guard let dot = canonical.lastIndex(of: ".") else { return nil }
        let module = String(canonical[..<dot])
        let leaf = String(canonical[canonical.index(after: dot)...])
        var p = module.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        var index: String?
        if p.count >= 3, p[0] == "layers", Int(p[1]) != nil {
            index = p[1]
            p[1] = "{i}"
        }
        let key = p.joined(separator: ".")
        guard let (src, stored) = modules[key] else { return nil }
        let full = (unprefixed.contains(key) ? "" : prefix) + (index.map { src.replacingOccurrences(of: "{i}", with: $0) } ?? src)
        return (full + "." + leaf, stored, leaf)
    }

    /// Where `canonical` lives in this naming and how it is stored, for `config`'s head counts.
    public func source(_ canonical: String, config: ModelConfig) -> SourceRef? {
        guard let (name, stored, leaf) = lookup(canonical) else { return nil }
        return SourceRef(name, transform: Self.transform(stored, leaf: leaf, config: config))
    }

    static func transform(_ s: StoredAs, leaf: String, config: ModelConfig) -> WeightTransform {
        switch s {
        case .canonical: return .identity
        case .conv1D: return leaf == "weight" ? .transpose : .identity
        case .interleavedQ: return .interleavedRows(heads: config.heads)
        case .interleavedK: return .interleavedRows(heads: config.kvHeads)
        }
    }

    /// The naming as `graph` and `inspect` show it.
    func describe(_ c: Checkpoint) -> String {
        guard kind == .hf else { return label }
        let base = c.format == .hdf5 ? "TensorFlow tf_model.h5 names" : label
        return prefix.isEmpty ? "\(base), no prefix" : "\(base), prefix '\(prefix)'"
    }

    func binderLabel(_ c: Checkpoint) -> String {
        kind == .hf ? describe(c) : (kind == .gguf ? "GGUF names" : label)
    }
}

/// Public lookups over the families' writing tables, for callers that name a family.
public enum ModelNaming {
    /// The Hugging Face name transformers' `save_pretrained` writes for `canonical`, and whether
    /// it is a Conv1D weight stored `[in, out]`. Nil when the family has no such weight.
    public static func hfName(_ architecture: Architecture, _ canonical: String) -> (name: String, conv1D: Bool)? {
        let t = ModelLayouts.layout(for: architecture).writeNaming(.hf)
        return t.lookup(canonical).map { ($0.0, $0.1 == .conv1D && $0.2 == "weight") }
    }

    /// llama.cpp's GGUF name for `canonical` in `architecture`'s GGUF naming.
    public static func ggufName(_ architecture: Architecture, _ canonical: String) -> String? {
        ModelLayouts.layout(for: architecture).writeNaming(.gguf).name(canonical)
    }
}
