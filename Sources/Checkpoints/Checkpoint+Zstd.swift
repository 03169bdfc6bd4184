// `.zst` inputs: any supported file compressed with zstd opens transparently. The frame is
// decompressed as a stream (bounded memory) into a file without a name (`O_TMPFILE`), so nothing is
// left behind whatever ends the process, and only up to a cap (`maxDecompressedBytes`, by default
// 32 times the compressed size and at least 1 GiB): a small `.zst` cannot fill the disk. Where the
// file system has no `O_TMPFILE`, a named temporary is used and unlinked as soon as it is opened.

import Foundation
import HDF5Format
import TensorCore
import ZstdCodec

extension Checkpoint {
    /// The most bytes a `.zst` input may decompress to (the CLI's `--max-decompressed`); nil:
    /// `Zstd.defaultDecompressedLimit` (`WEIGHTKIT_MAX_DECOMPRESSED`, else 32 times the compressed
    /// size and at least 1 GiB).
    nonisolated(unsafe) public static var maxDecompressedBytes: Int? = nil

    /// `123`, `4K`, `512M`, `2G`, `1T` (powers of 1024); nil when malformed.
    public static func parseSize(_ text: String) -> Int? { Zstd.parseSize(text) }

    static func openZstd(_ path: String) throws -> Checkpoint {
        var st = stat()
        let compressed = stat(path, &st) == 0 ? Int(st.st_size) : 0
        let cap = maxDecompressedBytes ?? Zstd.defaultDecompressedLimit(compressedBytes: compressed)
        let temporary: String
        var unlinked: (fd: Int32, path: String)? = nil
        if let u = try Zstd.decompressToUnlinkedFile(from: path, maxOutput: cap) {
            unlinked = u
            temporary = u.path
        } else {
            temporary = try Zstd.decompressToTemporaryFile(from: path, maxOutput: cap)
        }
        // The readers map what they need (HDF5 keeps a descriptor of its own for its helper).
        defer {
            if let u = unlinked { close(u.fd) } else { unlink(temporary) }
        }
        let kind = try sniff(temporary)
        var inner: Checkpoint
        switch kind {
        case .safetensors: inner = try openSafetensors(temporary)
        case .gguf: inner = try openGGUF(temporary)
        case .hdf5:
            // libhdf5's helper reads the unnamed copy through a descriptor it inherits (as a memory image).
            let fd = unlinked?.fd ?? Glibc.open(temporary, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw CheckpointError(path, "cannot open the decompressed copy: \(String(cString: strerror(errno)))") }
            defer { if unlinked == nil { close(fd) } }
            let file = try HDF5File.open(path: path, descriptor: fd)
            inner = Checkpoint(path: path, format: .hdf5, files: [path], metadata: file.metadata, entries: file.entries)
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
