// Compression for datasets WeightKit writes.

/// How `HDF5Writer` stores each dataset. Anything but `.none` makes the dataset chunked
/// (chunks of whole trailing rows, about `HDF5Writer.targetChunkBytes` each).
public enum HDF5Compression: Sendable, Equatable {
    /// Contiguous, uncompressed: readers can map the data zero-copy.
    case none
    /// Deflate (filter 1) at `level` 0…9, optionally after the byte shuffle (filter 2).
    case gzip(level: Int = 4, shuffle: Bool = false)
    /// Zstandard (filter 32015, hdf5plugin-compatible) at `level` 1…22, optionally after the shuffle.
    case zstd(level: Int = 3, shuffle: Bool = false)
}
