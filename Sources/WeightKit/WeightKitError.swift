// Errors of the library's operations (verify, convert, diff): bad inputs named plainly.

/// A failure of a WeightKit operation on its inputs, as one line.
public struct WeightKitError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
