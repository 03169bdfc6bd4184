// Errors of reading a tokenizer (tokenizer.json, vocab.json + merges.txt, tokenizer.model, GGUF keys,
// chat templates) and of encoding text with it.

/// A tokenizer file that cannot be used, or text that cannot be encoded, as one line naming the file
/// and what is wrong.
public struct TokenizerError: Error, CustomStringConvertible, Sendable {
    public let path: String
    public let message: String
    public init(_ path: String, _ message: String) {
        self.path = path
        self.message = message
    }
    public var description: String { path.isEmpty ? message : "\(path): \(message)" }
}
