// Opening a checkpoint: a file detected by its first bytes, or a model directory. The Checkpoint
// type itself lives in CheckpointCore, which links no system library.

@_exported import CheckpointCore
import Foundation
import SafetensorsFormat
import TensorCore

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
}
