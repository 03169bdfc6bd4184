// `.zst` inputs: any supported file compressed with zstd opens transparently. The frame is
// decompressed as a stream (bounded memory) into a temporary file, which is opened and then
// unlinked at once: the open map or handle keeps its bytes reachable, and nothing is left
// behind even if the process is killed later.

import Foundation
import TensorCore
import ZstdCodec

extension Checkpoint {
    static func openZstd(_ path: String) throws -> Checkpoint {
        let temporary = try Zstd.decompressToTemporaryFile(from: path)
        defer { unlink(temporary) }
        let kind = try sniff(temporary)
        var inner: Checkpoint
        switch kind {
        case .safetensors: inner = try openSafetensors(temporary)
        case .gguf: inner = try openGGUF(temporary)
        case .hdf5: inner = try openHDF5(temporary)
        case .zip, .pickle: inner = try openPyTorch(temporary)
        case .zstd: throw CheckpointError(path, "is zstd-compressed twice")
        default: throw CheckpointError(path, "decompresses to \(kind.phrase)")
        }
        var c = Checkpoint(
            path: path, format: inner.format, files: [path], metadata: inner.metadata, entries: inner.entries)
        (c.others, c.tensorNotes, c.details) = (inner.others, inner.tensorNotes, inner.details)
        if inner.format != .gguf {
            try c.adoptEmbeddedConfig()
            if c.config == nil { c.attachConfig(fromDirectoryOf: path) }
        }
        return c
    }
}
