// A single safetensors or HDF5 file can carry its own config.json in its metadata, under the key
// `config.json` (a JSON object as text): `weightkit convert` writes it into every HF-named
// safetensors and HDF5 output. A file that carries one uses it in preference to a config.json
// beside it, so a file converted into a directory that holds another model's config.json still
// opens as the model it is. A model directory's own config.json still governs the directory.

import TensorCore

extension Checkpoint {
    /// Takes `config` from the `config.json` metadata entry when there is one. An entry that is not
    /// a JSON object is an error naming the file, not a silent fallback to a config.json beside it.
    mutating func adoptEmbeddedConfig() throws {
        guard let value = metadata[Self.configMetadataKey] else { return }
        guard let text = value.string else {
            throw CheckpointError(path, "metadata '\(Self.configMetadataKey)' is not text (it should hold the model's config.json)")
        }
        let json: JSONValue
        do {
            json = try JSONParser.parse(text, rejectDuplicateKeys: false)
        } catch {
            throw CheckpointError(path, "metadata '\(Self.configMetadataKey)' is not valid JSON: \(error)")
        }
        guard json.object != nil else {
            throw CheckpointError(path, "metadata '\(Self.configMetadataKey)' is not a JSON object")
        }
        config = json
        configPath = nil
    }
}
