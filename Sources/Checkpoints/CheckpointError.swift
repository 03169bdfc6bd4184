// Errors of opening a checkpoint: a path, a directory, an index, a config.

/// A checkpoint that cannot be opened, as one line naming the file and what is wrong.
public struct CheckpointError: Error, CustomStringConvertible, Sendable {
    public let path: String
    public let message: String
    public init(_ path: String, _ message: String) {
        self.path = path
        self.message = message
    }
    public var description: String { "\(path): \(message)" }
}
