// Errors raised by TensorCore: I/O on a file, values that cannot be widened, bad shapes.

/// A TensorCore failure, printed as one line that names the file or tensor.
public struct TensorCoreError: Error, CustomStringConvertible, Sendable, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

extension String {
    /// The string without `prefix` when it starts with it.
    public func removingPrefix(_ prefix: String) -> String {
        hasPrefix(prefix) ? String(dropFirst(prefix.count)) : self
    }
}
