// Errors raised by ZstdCodec: a corrupt, truncated or oversized frame, or I/O on a `.zst` file.

/// A zstd failure, printed as one line that names the file (when there is one) and what is wrong.
public struct ZstdError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The whole line, e.g. `model.safetensors.zst: truncated zstd frame (input ends after 1048576 bytes)`.
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }

    /// The same error with `path: ` in front.
    func naming(_ path: String) -> ZstdError { ZstdError("\(path): \(message)") }
}
