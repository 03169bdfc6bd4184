// Errors of running a graph: bad token ids, sequences past the model's positions.

/// A run that cannot proceed, as one line.
public struct ExecutorError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
