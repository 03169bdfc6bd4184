// A Checkpoint is what every reader produces: an ordered list of named tensors, metadata, and
// the model config when one travels with the weights. It knows nothing of models, and nothing of
// how a file is read: this module links no system library, so Models and the Executor depend on it
// without libhdf5, libzstd or zlib (detecting and opening files stays in Checkpoints).

import Foundation
import TensorCore

/// The container format a checkpoint was read from.
public enum CheckpointFormat: String, Sendable {
    case safetensors, gguf, hdf5, pytorch
}

/// Named tensors plus metadata, from one file, a model directory or a sharded index.
public struct Checkpoint: Sendable {
    /// The path as the user gave it.
    public let path: String
    public let format: CheckpointFormat
    /// The files the tensors come from.
    public let files: [String]
    /// Format metadata (safetensors `__metadata__`, GGUF key/values, HDF5 attributes).
    public var metadata: Metadata
    /// Tensors in file order (shards in index order).
    public let entries: [TensorEntry]
    private let nameIndex: [String: Int]
    /// `config.json` from the checkpoint's directory, when present.
    public var config: JSONValue?
    /// Where `config` was read from.
    public var configPath: String?
    /// Values the file holds besides its tensors (a training snapshot's step, optimizer state,
    /// tensors outside the state dict): listed by inspect, skipped by everything else.
    public var others: [CheckpointOther] = []
    /// What a reader wants said about a tensor (a view that is copied, a storage it shares).
    public var tensorNotes: [String: String] = [:]
    /// Format-specific facts for inspect (a PyTorch file's layout).
    public var details: [String] = []

    public init(
        path: String, format: CheckpointFormat, files: [String], metadata: Metadata, entries: [TensorEntry],
        config: JSONValue? = nil, configPath: String? = nil
    ) {
        self.path = path
        self.format = format
        self.files = files
        self.metadata = metadata
        self.entries = entries
        self.nameIndex = Dictionary(entries.enumerated().map { ($1.name, $0) }, uniquingKeysWith: { a, _ in a })
        self.config = config
        self.configPath = configPath
    }

    /// The entry named `name`.
    public subscript(name: String) -> TensorEntry? { nameIndex[name].map { entries[$0] } }

    /// Total number of elements over all tensors.
    public var parameterCount: Int { entries.reduce(0) { $0 + $1.elementCount } }
}

extension Checkpoint {
    /// The metadata key under which a weight file carries its config.json (safetensors
    /// `__metadata__`, HDF5 root attribute).
    public static let configMetadataKey = "config.json"

    /// Whether `config` came from the file's own metadata rather than from a config.json file.
    public var configIsEmbedded: Bool { config != nil && configPath == nil && metadata[Self.configMetadataKey] != nil }

    /// Parses a config.json.
    public static func readConfig(_ path: String) throws -> JSONValue? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        guard let data = FileManager.default.contents(atPath: path) else { throw CheckpointError(path, "cannot read") }
        do {
            return try data.withUnsafeBytes { try JSONParser.parse($0, rejectDuplicateKeys: false) }
        } catch let e as JSONError {
            throw CheckpointError(path, "is not valid JSON: \(e)")
        }
    }
}
