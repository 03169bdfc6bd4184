// HDF5 files read through libhdf5 (formats.md §3; Formats/hdf5.md).
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

    let file: HDF5Handle

    private init(path: String, metadata: Metadata, entries: [TensorEntry], skipped: [String], groups: [String], file: HDF5Handle) {
        self.path = path
        self.metadata = metadata
        self.entries = entries
        self.skippedAttributes = skipped
        self.groups = groups
        self.file = file
    }

    /// The entry for the dataset `name` (path without the leading slash).
    public func entry(named name: String) -> TensorEntry? { entries.first { $0.name == name } }

    /// Opens the HDF5 file at `path` read-only and lists its datasets and attributes.
    ///
    /// Fails with one line naming the file (and the object) when the file is missing, is not HDF5,
    /// is truncated or damaged, or holds a dataset whose element type WeightKit cannot represent
    /// (compound, strings, …) or whose size overflows.
    public static func open(path: String) throws -> HDF5File {
        HDF5Library.enter()
        var st = stat()
        guard stat(path, &st) == 0 else { throw HDF5Error(path: path, "cannot open: \(errnoText())") }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw HDF5Error(path: path, "not a regular file") }
        let fileSize = Int(st.st_size)
        guard access(path, R_OK) == 0 else { throw HDF5Error(path: path, "cannot open: \(errnoText())") }
        let isHDF5 = H5Fis_hdf5(path)
        if isHDF5 == 0 {
            throw HDF5Error(path: path, "not an HDF5 file (no HDF5 signature at byte 0, 512, 1024, …)")
        }
        guard isHDF5 > 0 else { throw HDF5Error(path: path, "cannot read the HDF5 superblock", detail: HDF5Library.reason()) }
        guard let file = HDF5Handle(H5Fopen(path, wk_H5F_ACC_RDONLY(), hid_t(H5P_DEFAULT)), .file) else {
            throw HDF5Error(path: path, "cannot open as HDF5", detail: HDF5Library.reason())
        }

        // Every object, depth-first in name order.
        let objects = try visit(file: file.id, path: path)
        var metadata = Metadata()
        var skipped: [String] = []
        var attributesByObject: [String: [(String, MetadataValue)]] = [:]
        for (name, _) in objects {
            let (values, bad) = HDF5AttributeReader.readAll(file: file.id, object: name)
            attributesByObject[name] = joinKerasSplits(values)
            let prefix = name == "." ? "" : name + "@"
            skipped += bad.map { "\(prefix)\($0.0): \($0.1)" }
        }

        var plans: [DatasetPlan] = []
        var groups: [String] = []
        for (name, type) in objects {
            let attrs = attributesByObject[name] ?? []
            var consumed: String?
            if type == H5O_TYPE_DATASET {
                let marker = attrs.first { $0.0 == "dtype" }?.1.string
                let plan = try DatasetPlan.make(file: file.id, path: path, name: name, marker: marker, fileSize: fileSize)
                if plan.usesMarker { consumed = "dtype" }
                plans.append(plan)
            } else if type == H5O_TYPE_GROUP, name != "." {
                groups.append(name)
            }
            let prefix = name == "." ? "" : name + "@"
            for (key, value) in attrs where key != consumed { metadata[prefix + key] = value }
        }

        let region: ByteRegion? = plans.contains { $0.fileOffset != nil || $0.directChunkRows != nil } ? try? ByteRegion.map(path: path) : nil
        let source = DatasetSource(path: path, file: file, region: region)
        let entries = try plans.map { plan in
            try TensorEntry(name: plan.name, dtype: plan.dtype, shape: plan.shape) { try source.read(plan) }
        }
        return HDF5File(path: path, metadata: metadata, entries: entries, skipped: skipped, groups: groups, file: file)
    }

    /// The objects under the root (itself as "."), depth-first, each group's members in name order.
    private static func visit(file: hid_t, path: String) throws -> [(String, H5O_type_t)] {
        let ctx = VisitContext()
        let unmanaged = Unmanaged.passRetained(ctx)
        let r = H5Ovisit2(file, H5_INDEX_NAME, H5_ITER_INC, objectVisitor, unmanaged.toOpaque(), wk_H5O_INFO_BASIC())
        unmanaged.release()
        guard r >= 0 else { throw HDF5Error(path: path, "cannot list the objects in the file", detail: HDF5Library.reason()) }
        return ctx.objects
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

/// What `H5Ovisit2` collects.
final class VisitContext {
    var objects: [(String, H5O_type_t)] = []
}

/// `H5O_iterate_t`: records each object's path and kind.
private let objectVisitor: H5O_iterate_t = { _, name, info, data in
    guard let name, let info, let data else { return 0 }
    let ctx = Unmanaged<VisitContext>.fromOpaque(data).takeUnretainedValue()
    ctx.objects.append((String(cString: name), info.pointee.type))
    return 0
}
