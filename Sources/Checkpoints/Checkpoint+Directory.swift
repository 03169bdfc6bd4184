// Model directories: config.json plus model.safetensors, a sharded index, or one weight file.

import Foundation
import SafetensorsFormat
import TensorCore

extension Checkpoint {
    /// Opens a model directory.
    static func openDirectory(_ dir: String) throws -> Checkpoint {
        let fm = FileManager.default
        let d = dir.hasSuffix("/") ? String(dir.dropLast()) : dir
        let names = (try? fm.contentsOfDirectory(atPath: d))?.sorted() ?? []
        var checkpoint: Checkpoint
        if names.contains("model.safetensors.index.json") {
            checkpoint = try openShardIndex(d + "/model.safetensors.index.json")
        } else if names.contains("model.safetensors") {
            checkpoint = try openFile(d + "/model.safetensors")
        } else {
            let suffixes = [".safetensors", ".gguf", ".h5", ".hdf5", ".safetensors.zst", ".gguf.zst", ".h5.zst"]
            let weightFiles = names.filter { name in
                !name.hasPrefix(".") && suffixes.contains { name.hasSuffix($0) }
            }
            guard weightFiles.count == 1 else {
                let what = weightFiles.isEmpty ? "no model.safetensors, index or weight file" : "several weight files (\(weightFiles.joined(separator: ", "))); name one"
                throw CheckpointError(d, "directory holds \(what)")
            }
            checkpoint = try openFile(d + "/" + weightFiles[0])
        }
        if checkpoint.config == nil || checkpoint.configPath != d + "/config.json" {
            if let c = try readConfig(d + "/config.json") {
                checkpoint.config = c
                checkpoint.configPath = d + "/config.json"
            }
        }
        return Checkpoint(
            path: dir, format: checkpoint.format, files: checkpoint.files, metadata: checkpoint.metadata,
            entries: checkpoint.entries, config: checkpoint.config, configPath: checkpoint.configPath)
    }

    /// Opens `model.safetensors.index.json` and its shards as one checkpoint. Shard names must be
    /// plain file names inside the index's directory.
    public static func openShardIndex(_ indexPath: String) throws -> Checkpoint {
        guard let root = try readConfig(indexPath) else { throw CheckpointError(indexPath, "cannot read") }
        guard let map = root["weight_map"]?.object else {
            throw CheckpointError(indexPath, "has no \"weight_map\" object")
        }
        let dir = (indexPath as NSString).deletingLastPathComponent
        var shardOrder = [String]()
        var wanted = [String: String]()
        for (tensor, v) in map {
            guard let file = v.string else {
                throw CheckpointError(indexPath, "weight_map entry for '\(tensor)' is not a file name")
            }
            if file.isEmpty || file.hasPrefix("/") || file.split(separator: "/").contains("..") || file.contains("\\")
                || file.contains("\0")
            {
                throw CheckpointError(indexPath, "weight_map entry for '\(tensor)' names '\(file)', outside the index's directory; refused")
            }
            wanted[tensor] = file
            if !shardOrder.contains(file) { shardOrder.append(file) }
        }
        let base = dir.isEmpty ? "." : dir
        for shard in shardOrder where !FileManager.default.fileExists(atPath: base + "/" + shard) {
            throw CheckpointError(indexPath, "shard '\(shard)' named in weight_map does not exist")
        }
        var entries = [TensorEntry]()
        var files = [String]()
        var metadata = Metadata()
        var owner = [String: String]()
        for shard in shardOrder {
            let p = base + "/" + shard
            let file = try SafetensorsFile.open(path: p)
            files.append(p)
            for e in file.metadata.entries where metadata[e.key] == nil { metadata[e.key] = e.value }
            for t in file.tensors {
                if let other = owner[t.name] {
                    throw CheckpointError(p, "tensor '\(t.name)' also appears in shard '\(other)'")
                }
                owner[t.name] = shard
                guard let expected = wanted[t.name] else { continue }  // not in the map: not part of the model
                guard expected == shard else {
                    throw CheckpointError(indexPath, "tensor '\(t.name)' is mapped to '\(expected)' but found in '\(shard)'")
                }
                entries.append(TensorEntry(t))
            }
        }
        for (tensor, shard) in map.map({ ($0.0, $0.1.string ?? "") }) where owner[tensor] == nil {
            throw CheckpointError(indexPath, "tensor '\(tensor)' is mapped to '\(shard)' but that shard does not hold it")
        }
        var c = Checkpoint(path: indexPath, format: .safetensors, files: files, metadata: metadata, entries: entries)
        c.attachConfig(fromDirectoryOf: indexPath)
        return c
    }
}
