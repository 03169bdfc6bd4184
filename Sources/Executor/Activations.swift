// Activations recorded by a run, named like Hugging Face's outputs (the reference format).

import TensorCore

/// One recorded activation.
public struct RecordedActivation: Sendable {
    public let name: String
    /// `[B, T, D]`, `[B, H, T, T]` or `[B, T, V]`.
    public let shape: [Int]
    public let values: [Float]
}

/// Recorded activations in network order.
public struct Activations: Sendable {
    public internal(set) var items: [RecordedActivation] = []

    public subscript(name: String) -> RecordedActivation? { items.first { $0.name == name } }

    /// As float32 tensors (for writing a reference-format file).
    public func tensors() throws -> [Tensor] {
        try items.map { try Tensor(name: $0.name, shape: $0.shape, floats: $0.values) }
    }
}
