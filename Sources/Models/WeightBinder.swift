// Strict binding of canonical weights to source tensors: every canonical weight bound, every
// shape checked, every source tensor used or knowingly ignored; failures list the names.

import CheckpointCore
import TensorCore

/// Where a canonical weight lives in one naming, and how it is stored there.
public struct SourceRef: Sendable {
    public let name: String
    public let transform: WeightTransform
    /// Stored `[in, out]` (Conv1D) rather than `[out, in]`.
    public var transposed: Bool { transform == .transpose }
    public init(_ name: String, transform: WeightTransform = .identity) {
        self.name = name
        self.transform = transform
    }
}

/// Binds the weights a config needs from a checkpoint under one naming.
struct WeightBinder {
    let checkpoint: Checkpoint
    let config: ModelConfig
    /// E.g. "Hugging Face names, prefix 'transformer.'".
    let naming: String

    /// Binds every required weight. `source` maps a canonical name to its tensor in this naming
    /// (nil when the naming has none, as for a tied head); `ignorable` names source tensors that
    /// are known and deliberately unused (mask buffers, inv_freq).
    func bind(source: (String) -> SourceRef?, ignorable: (String) -> Bool) throws -> [String: BoundWeight] {
        var bound = [String: BoundWeight]()
        var used = Set<String>()
        var missing = [String]()
        var wrongShape = [String]()
        for (canonical, shape) in GraphBuilder.requiredWeights(for: config) {
            let ref = source(canonical)
            if let ref, let entry = checkpoint[ref.name] {
                used.insert(ref.name)
                if !Self.shapeFits(entry.shape, logical: shape, transposed: ref.transposed) {
                    let want = ref.transposed ? [shape[1], shape[0]] : shape
                    wrongShape.append("'\(ref.name)' is \(entry.shape), expected \(want) for \(canonical)")
                    continue
                }
                bound[canonical] = BoundWeight(name: canonical, source: entry, shape: shape, transform: ref.transform)
            } else if canonical == "head.weight", config.tiedHead, let emb = bound["tok_embed.weight"] {
                bound[canonical] = BoundWeight(name: canonical, source: emb.source, shape: shape, transform: emb.transform)
            } else if canonical == "head.weight", !config.tiedHead {
                missing.append("head.weight ('\(ref?.name ?? "?")'; the config says the head is not tied to the embeddings)")
            } else {
                missing.append(ref.map { "\(canonical) ('\($0.name)')" } ?? canonical)
            }
        }
        let unused = checkpoint.entries.map(\.name).filter { !used.contains($0) && !ignorable($0) }
        if missing.isEmpty && wrongShape.isEmpty && unused.isEmpty { return bound }
        func list(_ items: [String]) -> String {
            items.prefix(6).joined(separator: ", ") + (items.count > 6 ? ", … (\(items.count) in all)" : "")
        }
        var parts = [String]()
        if !missing.isEmpty { parts.append("missing \(list(missing))") }
        if !wrongShape.isEmpty { parts.append("wrong shape: \(list(wrongShape))") }
        if !unused.isEmpty { parts.append("unexpected tensors \(list(unused.map { "'\($0)'" }))") }
        throw ModelError(checkpoint.path, "\(config.architecture.displayName) weights (\(naming)): " + parts.joined(separator: "; "))
    }

    /// Whether a source shape holds a logical shape: equal, reversed when transposed, and for
    /// vectors any shape whose other dimensions are 1 (TensorFlow stores biases as [1, n]).
    static func shapeFits(_ s: [Int], logical l: [Int], transposed: Bool) -> Bool {
        if transposed { return l.count == 2 && s == [l[1], l[0]] }
        if s == l { return true }
        if l.count == 1 { return s.reduce(1, *) == l[0] && s.filter { $0 != 1 }.count <= 1 }
        return false
    }
}

/// Reads raw config values from config.json, with aliases and defaults.
struct JSONConfig {
    let json: JSONValue
    let path: String
    let family: String

    func fail(_ m: String) -> ModelError { ModelError(path, "\(family) config: \(m)") }

    func has(_ key: String) -> Bool { json[key].map { !$0.isNull } ?? false }

    func int(_ keys: String..., default d: Int? = nil) throws -> Int {
        for k in keys {
            guard let v = json[k], !v.isNull else { continue }
            guard let i = v.int ?? v.double.flatMap({ $0 == $0.rounded() && abs($0) < 1e15 ? Int($0) : nil }) else {
                throw fail("\"\(k)\" is \(v.serialized()), not an integer")
            }
            return i
        }
        if let d { return d }
        throw fail("missing \"\(keys[0])\"")
    }

    func float(_ keys: String..., default d: Float? = nil) throws -> Float {
        for k in keys {
            guard let v = json[k], !v.isNull else { continue }
            guard let x = v.double else { throw fail("\"\(k)\" is \(v.serialized()), not a number") }
            return Float(x)
        }
        if let d { return d }
        throw fail("missing \"\(keys[0])\"")
    }

    func bool(_ key: String, default d: Bool) throws -> Bool {
        guard let v = json[key], !v.isNull else { return d }
        guard let b = v.bool else { throw fail("\"\(key)\" is \(v.serialized()), not true/false") }
        return b
    }

    func string(_ key: String, default d: String) throws -> String {
        guard let v = json[key], !v.isNull else { return d }
        guard let s = v.string else { throw fail("\"\(key)\" is \(v.serialized()), not a string") }
        return s
    }
}

/// Reads raw config values from GGUF metadata (`{arch}.embedding_length`, …), any integer width.
struct GGUFConfig {
    let metadata: Metadata
    let arch: String
    let path: String

    func fail(_ m: String) -> ModelError { ModelError(path, "GGUF metadata: \(m)") }

    func int(_ key: String, default d: Int? = nil) throws -> Int {
        let k = arch + "." + key
        if let v = metadata[k] {
            guard let i = v.int else { throw fail("'\(k)' is \(v.summary()), not an integer") }
            return i
        }
        if let d { return d }
        throw fail("missing key '\(k)'")
    }

    func float(_ key: String, default d: Float? = nil) throws -> Float {
        let k = arch + "." + key
        if let v = metadata[k] {
            guard let x = v.double else { throw fail("'\(k)' is \(v.summary()), not a number") }
            return Float(x)
        }
        if let d { return d }
        throw fail("missing key '\(k)'")
    }

    func string(_ key: String) -> String? { metadata[arch + "." + key]?.string }
    func bool(_ key: String) -> Bool? { metadata[arch + "." + key]?.bool }
}
