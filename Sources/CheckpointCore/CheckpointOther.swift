// What a checkpoint holds besides its tensors: listed by inspect, skipped by everything else.

/// A value that is not a model tensor: a training snapshot's step count, an optimizer setting, a
/// tensor outside the state dict.
public struct CheckpointOther: Sendable, Equatable {
    /// Dotted path in the file.
    public let name: String
    /// What it is (`int`, `str`, `dict`, `tensor`, …).
    public let type: String
    /// A short rendering.
    public let value: String

    public init(name: String, type: String, value: String) {
        self.name = name
        self.type = type
        self.value = value
    }
}
