// Errors of the PyTorch reader: one line naming the file, where (a zip entry, a pickle and its
// byte, a tensor) and what is wrong.

/// A `torch.save` file that cannot be read, as one line:
/// `model.bin: refusing to call builtins.eval in data.pkl (GLOBAL at byte 2): …`.
public struct PyTorchError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The kind of failure; the conformance vectors name it.
    public enum Kind: String, Sendable {
        /// The file cannot be opened or mapped.
        case io
        /// The bytes are not a torch.save file at all (or a kind WeightKit refuses by name).
        case notPyTorch
        /// The zip container is malformed: end record, central directory, local headers, names.
        case zip
        /// A zip entry is compressed or encrypted; torch.save stores every entry as it is.
        case compressed
        /// A pickle is malformed: truncated, stack underflow, wrong operand types, bad memo index.
        case pickle
        /// A pickle asks for something the restricted unpickler never does: an unknown opcode or
        /// a global outside the allow-list.
        case refused
        /// A pickle exceeds a bound (values, nesting, string length): refused before allocating.
        case limit
        /// A storage or tensor whose numbers do not fit: sizes, strides, offsets, byte counts.
        case tensor
        /// The legacy (pre-zip) layout's framing: magic number, protocol, storage records.
        case legacy
    }

    public let kind: Kind
    public let path: String
    public let message: String

    public init(_ kind: Kind, _ path: String, _ message: String) {
        self.kind = kind
        self.path = path
        self.message = message
    }

    public var description: String { "\(path): \(message)" }
}
