// Errors of mapping a checkpoint onto a model: config values, missing or misshapen weights.

/// A checkpoint that does not map onto a model, as one line naming the file and what is wrong.
public struct ModelError: Error, CustomStringConvertible, Sendable {
    public let path: String
    public let message: String
    public init(_ path: String, _ message: String) {
        self.path = path
        self.message = message
    }
    public var description: String { "\(path): \(message)" }
}
