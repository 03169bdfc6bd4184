// safetensors file layout (Formats/safetensors.md, "Bytes"):
//
//   bytes 0..<8        N, u64 little-endian: length of the header
//   bytes 8..<8+N      UTF-8 JSON object: name -> {"dtype","shape","data_offsets":[begin,end]},
//                      plus an optional "__metadata__": {string: string}; may be padded with spaces
//   bytes 8+N..<EOF    the data buffer; offsets are relative to its start, tensors tile it exactly
//
// Every rule of the reference reader (Formats/safetensors.md, "What the reader checks") is enforced, plus duplicate names.

import TensorCore

/// A safetensors file that cannot be read or written, as one line naming the file and what is wrong.
public struct SafetensorsError: Error, CustomStringConvertible, Sendable {
    /// The kind of failure, named after the reference reader's error where one exists.
    public enum Kind: String, Sendable {
        case io, headerTooSmall, headerTooLarge, invalidHeaderLength, invalidHeader
        case invalidHeaderDeserialization, duplicateName, invalidOffset, validationOverflow
        case tensorInvalidInfo, metadataIncompleteBuffer, unsupportedDType, notSafetensors, invalidName
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
