// Errors of the GGUF reader and writer: one line naming the file, the field and the byte.

/// A GGUF read or write failure. `description` is one line:
/// `model.gguf: tensor 'blk.0.attn_q.weight' at byte 1234: offset 4096 + 8192 bytes runs past the end of the file (10000)`.
public struct GGUFError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The file being read or written.
    public let path: String
    /// What the error is about: `header`, `metadata 'general.alignment'`, `tensor 'x'`, `file`.
    public let field: String
    /// Byte offset in the file where the offending field starts (nil for writer errors and
    /// errors about the file as a whole).
    public let offset: Int?
    /// What is wrong, without the path and field.
    public let message: String

    public init(path: String, field: String, offset: Int?, _ message: String) {
        self.path = path
        self.field = field
        self.offset = offset
        self.message = message
    }

    public var description: String {
        if let offset { return "\(path): \(field) at byte \(offset): \(message)" }
        return "\(path): \(field): \(message)"
    }
}
