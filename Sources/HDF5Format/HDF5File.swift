// HDF5 files read through libhdf5 (Formats/hdf5.md).
//
// An HDF5 file is a superblock (signature 89 48 44 46 0D 0A 1A 0A at byte 0, 512, 1024, …) and a
// tree of groups whose leaves are datasets (typed n-dimensional arrays, stored contiguously,
// compactly in the object header, or in chunks that may pass through filters such as deflate,
// shuffle or zstd) and attributes on any object. WeightKit lists every dataset as a tensor named by
// its path without the leading slash, and every attribute as metadata:
//   root attribute `a`                    → key `a`
//   attribute `a` of the object `g/d`     → key `g/d@a`
// Keras's split attributes (`layer_names0`, `layer_names1`, … string arrays) are joined back under
// the base name. Objects come in depth-first order with each group's members in name order.

internal import CHDF5
import TensorCore
#if canImport(Glibc)
    import Glibc
#endif

/// An open HDF5 file: its datasets as tensors whose bytes are read on demand, and its attributes
/// as metadata. Keep it (or any `TensorData` it produced) alive while using the bytes.
///
/// `@unchecked Sendable`: every stored property is immutable after `open`, and libhdf5 (Debian's
/// thread-safe build) serialises calls behind one global lock.
public final class HDF5File: @unchecked Sendable {
    /// The path given to `open`.
    public let path: String
    /// Root attributes under their own names, other objects' attributes as `object/path@name`.
    public let metadata: Metadata
    /// Every dataset, named by its path without the leading slash (`model_weights/dense/dense/kernel:0`),
    /// depth-first with each group's members in name order. Shapes are row-major as stored
    /// (HDF5 and NumPy order). `bytes()` maps contiguous uncompressed little-endian data zero-copy
    /// and reads anything else (chunked, filtered, big-endian, compact) into a heap buffer.
    public let entries: [TensorEntry]
    /// Attributes that are not metadata WeightKit can hold (compound, opaque, reference, empty),
    /// as `key: reason`, with keys named as in `metadata`.
    public let skippedAttributes: [String]
    /// The paths of the groups in the file (without the leading slash; the root is not listed).
    public let groups: [String]

    private init(path: String, metadata: Metadata, entries: [TensorEntry], skipped: [String], groups: [String]) {
        self.path = path
        self.metadata = metadata
        self.entries = entries
        self.skippedAttributes = skipped
        self.groups = groups
    }

    /// The entry for the dataset `name` (path without the leading slash).
    public func entry(named name: String) -> TensorEntry? { entries.first { $0.name == name } }

    /// Opens the HDF5 file at `path` read-only and lists its datasets and attributes.
    ///
    /// libhdf5 parses the file in a helper process (`HDF5Helper`, `wk-hdf5-probe`) under a time and
    /// address-space limit; this process receives the structure, checks it, and reads the tensor bytes
    /// itself from its map of the file (decoding deflate, shuffle and zstd chunks itself).
    ///
    /// Fails with one line naming the file (and the object) when the file is missing, is not HDF5,
    /// is truncated or damaged (including when libhdf5 crashes or hangs on it), or holds a dataset
    /// whose element type WeightKit cannot represent (compound, strings, …) or whose size overflows.
    public static func open(path: String) throws -> HDF5File {
        try open(path: path, descriptor: nil)
    }

    /// Opens the HDF5 file open as `descriptor` (a file without a name, such as a decompressed `.zst`
    /// copy), naming it `path` in messages. The descriptor is duplicated; the caller may close its own.
    public static func open(path: String, descriptor: Int32?) throws -> HDF5File {
        var st = stat()
        var owned: FileDescriptor? = nil
        if let descriptor {
            let d = dup(descriptor)
            guard d >= 0, fstat(d, &st) == 0 else { throw HDF5Error(path: path, "cannot open: \(errnoText())") }
            _ = fcntl(d, F_SETFD, FD_CLOEXEC)
            owned = FileDescriptor(d)
        } else {
            guard stat(path, &st) == 0 else { throw HDF5Error(path: path, "cannot open: \(errnoText())") }
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw HDF5Error(path: path, "not a regular file") }
        let fileSize = Int(st.st_size)
        if owned == nil { guard access(path, R_OK) == 0 else { throw HDF5Error(path: path, "cannot open: \(errnoText())") } }
        let structure = try HDF5Helper.structure(path: path, fileSize: fileSize, descriptor: owned?.fd)
        var metadata = Metadata()
        for (k, v) in structure.metadata { metadata[k] = v }
        let plans = structure.plans
        let needsMap = plans.contains {
            switch $0.storage {
            case .mapped, .chunks: return true
            default: return false
            }
        }
        var region: ByteRegion? = nil
        if needsMap {
            let mapPath = owned.map { "/proc/self/fd/\($0.fd)" } ?? path
            do { region = try ByteRegion.map(path: mapPath) } catch { throw HDF5Error(path: path, "cannot map the file: \(error)") }
            guard region!.count == fileSize else { throw HDF5Error(path: path, "the file changed size while it was opened") }
        }
        let source = DatasetSource(path: path, region: region, descriptor: owned)
        let entries = try plans.map { plan in
            try TensorEntry(name: plan.name, dtype: plan.dtype, shape: plan.shape) { try source.read(plan) }
        }
        return HDF5File(path: path, metadata: metadata, entries: entries, skipped: structure.skipped, groups: structure.groups)
    }

    /// Joins Keras's split string-array attributes (`name0`, `name1`, … when `name` is absent)
    /// into one `name`, at the position of `name0`.
    static func joinKerasSplits(_ attrs: [(String, MetadataValue)]) -> [(String, MetadataValue)] {
        let byName = Dictionary(attrs.map { ($0.0, $0.1) }, uniquingKeysWith: { a, _ in a })
        var out: [(String, MetadataValue)] = []
        var absorbed = Set<String>()
        for (key, value) in attrs where !absorbed.contains(key) {
            guard key.hasSuffix("0"), key.count > 1, byName[String(key.dropLast())] == nil,
                case .array(.string, let first) = value
            else {
                out.append((key, value))
                continue
            }
            let base = String(key.dropLast())
            var items = first
            absorbed.insert(key)
            var k = 1
            while case .array(.string, let more)? = byName[base + String(k)] {
                items += more
                absorbed.insert(base + String(k))
                k += 1
            }
            out.append((base, .array(.string, items)))
        }
        return out
    }
}

/// A descriptor closed when the last reference goes.
final class FileDescriptor: Sendable {
    let fd: Int32
    init(_ fd: Int32) { self.fd = fd }
    deinit { close(fd) }
}
