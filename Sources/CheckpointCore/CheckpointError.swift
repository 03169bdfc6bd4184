// The one error of reading a checkpoint and of mapping it onto a model: a path, a directory, an
// index, a config, config values, missing or misshapen weights. Models calls it ModelError.

/// A checkpoint that cannot be opened or does not map onto a model, as one line naming the file
/// and what is wrong.
public struct CheckpointError: Error, CustomStringConvertible, Sendable {
    public let path: String
    public let message: String
    public init(_ path: String, _ message: String) {
        self.path = path
        self.message = message
    }
    public var description: String { "\(path): \(message)" }
}
