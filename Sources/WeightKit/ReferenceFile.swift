// Reference activation files (Formats/reference-activations.md): a safetensors file holding
// `input_ids` [B, T] i64 and any of `logits`, `hidden_states.{i}`, `attentions.{i}` in f32.

import Foundation
import SafetensorsFormat

/// An opened reference activation file (Formats/reference-activations.md): what Hugging Face
/// transformers computed for some tokens, as `scripts/make-reference.py` records it.
public struct ReferenceFile: Sendable {
    /// The path as given.
    public let path: String
    /// Token ids `[B][T]` (the file's `input_ids`).
    public let inputIDs: [[Int]]
    /// Every other tensor, by name: `logits` [B, T, V], `hidden_states.{i}` [B, T, D],
    /// `attentions.{i}` [B, H, T, T], f32, row-major.
    public let tensors: [String: Tensor]
    /// The safetensors `__metadata__`: producer and versions, and with make-reference the model it was
    /// recorded from (``ReferenceProvenance``).
    public let metadata: Metadata

    /// Opens a reference file.
    ///
    /// - Parameter path: a `.safetensors` file holding an integer `input_ids` [B, T] tensor.
    /// - Returns: the file with its token ids read; the activations stay memory-mapped.
    /// - Throws: a one-line error naming the file when it is not safetensors or `input_ids` is missing
    ///   or not an integer [B, T] tensor.
    public static func open(_ path: String) throws -> ReferenceFile {
        let f = try SafetensorsFile.open(path: path)
        guard let ids = f["input_ids"] else { throw WeightKitError("\(path): reference file has no 'input_ids' tensor") }
        guard ids.dtype.isInteger, ids.shape.count == 2, ids.shape[0] > 0, ids.shape[1] > 0 else {
            throw WeightKitError("\(path): 'input_ids' must be an integer [B, T] tensor, got \(ids.dtype.rawValue) \(ids.shape)")
        }
        let flat: [Int]
        switch try ids.values() {
        case .signed(let v): flat = v.map { Int($0) }
        case .unsigned(let v): flat = v.map { Int(clamping: $0) }
        case .floats: flat = []
        }
        let t = ids.shape[1]
        let batch = (0..<ids.shape[0]).map { b in Array(flat[(b * t)..<((b + 1) * t)]) }
        var tensors = [String: Tensor]()
        for x in f.tensors where x.name != "input_ids" { tensors[x.name] = x }
        return ReferenceFile(path: path, inputIDs: batch, tensors: tensors, metadata: f.metadata)
    }
}

extension ReferenceFile {
    /// Whether a checkpoint is a reference activation file rather than weights: safetensors with an
    /// integer [B, T] `input_ids` and otherwise only `logits`, `hidden_states.{i}` and `attentions.{i}`.
    public static func isReference(_ c: Checkpoint) -> Bool {
        guard c.format == .safetensors, let ids = c["input_ids"], ids.dtype.isInteger, ids.shape.count == 2 else { return false }
        let others = c.entries.filter { $0.name != "input_ids" }
        return !others.isEmpty && others.allSatisfy { e in
            if e.name == "logits" { return true }
            for prefix in ["hidden_states.", "attentions."] where e.name.hasPrefix(prefix) {
                return Int(e.name.dropFirst(prefix.count)) != nil
            }
            return false
        }
    }
}
