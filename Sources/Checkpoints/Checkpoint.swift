// A Checkpoint is what every reader produces: an ordered list of named tensors, metadata, and
// the model config when one travels with the weights. It knows nothing of models.

import Foundation
import SafetensorsFormat
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
    /// Opens a `.safetensors`, `.gguf`, `.h5`/`.hdf5` or torch.save (`.bin`/`.pt`/`.pth`) file
    /// (optionally `.zst`-compressed), or a model directory (config.json + model.safetensors or
    /// pytorch_model.bin, a sharded index of either, Meta's consolidated.*.pth + params.json, or a
    /// single weight file).
    public static func open(_ path: String) throws -> Checkpoint {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw CheckpointError(path, "no such file or directory")
        }
        if isDir.boolValue { return try openDirectory(path) }
        return try openFile(path)
    }

    /// Opens one weight file, detected by its first bytes, with the config.json its metadata carries or
    /// else the one in its directory.
    public static func openFile(_ path: String) throws -> Checkpoint {
        let kind = try sniff(path)
        var checkpoint: Checkpoint
        switch kind {
        case .safetensors:
            checkpoint = try openSafetensors(path)
        case .gguf:
            // A GGUF carries its config in its metadata; a config.json beside it is not its own.
            return try openGGUF(path)
        case .hdf5:
            checkpoint = try openHDF5(path)
        case .zstd:
            return try openZstd(path)
        case .zip, .pickle:
            checkpoint = try openPyTorch(path)
        default:
            if kind == .json && path.hasSuffix(".index.json") {
                return try openShardIndex(path)
            } else if (kind == .unknown && isTar(path)) || (kind == .empty && isTorchName(path)) {
                checkpoint = try openPyTorch(path)
            } else if kind == .unknown || kind == .empty {
                // Short or odd files: let the safetensors reader name the exact rule broken.
                if path.hasSuffix(".safetensors") || kind == .empty {
                    checkpoint = try openSafetensors(path)
                } else {
                    throw CheckpointError(path, "\(kind.phrase) (expected .safetensors, .gguf, .h5/.hdf5, a torch.save .bin/.pt/.pth, optionally .zst)")
                }
            } else {
                throw CheckpointError(path, "is \(kind.phrase)")
            }
        }
        // A config.json carried in the file's own metadata comes first (Checkpoint+EmbeddedConfig).
        try checkpoint.adoptEmbeddedConfig()
        if checkpoint.config == nil { checkpoint.attachConfig(fromDirectoryOf: path) }
        return checkpoint
    }

    static func openSafetensors(_ path: String) throws -> Checkpoint {
        let file = try SafetensorsFile.open(path: path)
        return Checkpoint(
            path: path, format: .safetensors, files: [path], metadata: file.metadata,
            entries: file.tensors.map { TensorEntry($0) })
    }

    /// Classifies a file from its first bytes.
    public static func sniff(_ path: String) throws -> FileKind {
        guard let h = FileHandle(forReadingAtPath: path) else { throw CheckpointError(path, "cannot open for reading") }
        defer { try? h.close() }
        let head = (try? h.read(upToCount: 64)) ?? Data()
        return head.withUnsafeBytes { FileKind.sniff($0) }
    }

    /// Reads `config.json` beside `path` when it exists.
    mutating func attachConfig(fromDirectoryOf path: String) {
        let dir = (path as NSString).deletingLastPathComponent
        let candidate = (dir.isEmpty ? "." : dir) + "/config.json"
        if let c = try? Checkpoint.readConfig(candidate) {
            config = c
            configPath = candidate
        }
    }

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
