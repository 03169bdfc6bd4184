// Model directories: config.json plus model.safetensors or pytorch_model.bin, a sharded index of
// either, Meta's consolidated.*.pth + params.json, or one weight file.

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
        } else if names.contains("pytorch_model.bin.index.json") {
            checkpoint = try openShardIndex(d + "/pytorch_model.bin.index.json")
        } else if names.contains("pytorch_model.bin") {
            checkpoint = try openFile(d + "/pytorch_model.bin")
        } else if names.contains("params.json"), names.contains(where: isConsolidated) {
            checkpoint = try openConsolidated(d, files: names.filter(isConsolidated))
        } else {
            let suffixes = [
                ".safetensors", ".gguf", ".h5", ".hdf5", ".safetensors.zst", ".gguf.zst", ".h5.zst", ".bin", ".pt", ".pth",
                ".bin.zst", ".pt.zst", ".pth.zst",
            ]
            let weightFiles = names.filter { name in
                !name.hasPrefix(".") && suffixes.contains { name.hasSuffix($0) } && !isTrainerState(name)
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
        var c = Checkpoint(
            path: dir, format: checkpoint.format, files: checkpoint.files, metadata: checkpoint.metadata,
            entries: checkpoint.entries, config: checkpoint.config, configPath: checkpoint.configPath)
        (c.others, c.tensorNotes, c.details) = (checkpoint.others, checkpoint.tensorNotes, checkpoint.details)
        return c
    }

    /// Opens `model.safetensors.index.json` (or `pytorch_model.bin.index.json`) and its shards as
    /// one checkpoint. Shard names must be plain file names inside the index's directory.
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
        var format = CheckpointFormat.safetensors
        var others = [CheckpointOther]()
        var notes = [String: String]()
        var details = [String]()
        for shard in shardOrder {
            let p = base + "/" + shard
            let file = try openShard(p)
            files.append(p)
            format = file.format
            for e in file.metadata.entries where metadata[e.key] == nil { metadata[e.key] = e.value }
            others += file.others.map { CheckpointOther(name: shard + ": " + $0.name, type: $0.type, value: $0.value) }
            notes.merge(file.tensorNotes) { a, _ in a }
            details += file.details.prefix(1).map { shard + ": " + $0 }
            for t in file.entries {
                if let other = owner[t.name] {
                    throw CheckpointError(p, "tensor '\(t.name)' also appears in shard '\(other)'")
                }
                owner[t.name] = shard
                guard let expected = wanted[t.name] else { continue }  // not in the map: not part of the model
                guard expected == shard else {
                    throw CheckpointError(indexPath, "tensor '\(t.name)' is mapped to '\(expected)' but found in '\(shard)'")
                }
                entries.append(t)
            }
        }
        for (tensor, shard) in map.map({ ($0.0, $0.1.string ?? "") }) where owner[tensor] == nil {
            throw CheckpointError(indexPath, "tensor '\(tensor)' is mapped to '\(shard)' but that shard does not hold it")
        }
        var c = Checkpoint(path: indexPath, format: format, files: files, metadata: metadata, entries: entries)
        (c.others, c.tensorNotes, c.details) = (others, notes, details)
        c.attachConfig(fromDirectoryOf: indexPath)
        return c
    }

    /// One shard of an index: safetensors or torch.save, recognised by its first bytes.
    static func openShard(_ path: String) throws -> Checkpoint {
        switch try sniff(path) {
        case .zip, .pickle: return try openPyTorch(path)
        default:
            let file = try SafetensorsFile.open(path: path)
            return Checkpoint(path: path, format: .safetensors, files: [path], metadata: file.metadata, entries: file.tensors.map { TensorEntry($0) })
        }
    }

    /// Meta's model-parallel slices: `consolidated.00.pth`, `consolidated.01.pth`, ….
    static func isConsolidated(_ name: String) -> Bool {
        name.hasPrefix("consolidated.") && name.hasSuffix(".pth")
    }

    /// What Hugging Face's Trainer saves beside the weights: never the model.
    static func isTrainerState(_ name: String) -> Bool {
        name == "training_args.bin" || name == "optimizer.pt" || name == "scheduler.pt" || name.hasPrefix("rng_state")
            || name == "optimizer.bin" || name == "scaler.pt"
    }
}
