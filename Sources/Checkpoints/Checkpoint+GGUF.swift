// GGUF files as checkpoints: tensors with row-major shapes, metadata with GGUF's typed values.

import GGUFFormat
import TensorCore

extension Checkpoint {
    static func openGGUF(_ path: String) throws -> Checkpoint {
        let file = try GGUFFile.open(path: path)
        return Checkpoint(
            path: path, format: .gguf, files: [path], metadata: file.metadata, entries: file.tensors.map { TensorEntry($0) })
    }
}
