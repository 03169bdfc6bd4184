// WeightKit's own HDF5 layout (Formats/hdf5.md):
//   - one dataset per tensor, at the tensor's name; a name holding '/' creates the groups on its way
//     (`h.0/attn/weight` → group `h.0`, group `attn`, dataset `weight`);
//   - little-endian standard types; f16 as IEEE half; bool as h5py's enum; bf16 as uint16 and f8 as
//     uint8, each with a `dtype` attribute ("bfloat16", "float8_e4m3fn", "float8_e5m2") as Keras 3 does;
//     ggml block types are refused (dequantize or convert first);
//   - metadata as attributes of the root group (strings as variable-length UTF-8), except keys
//     `object/path@name`, which go to that object when the writer created it (so a file read by
//     `HDF5File` writes back with its attributes in place);
//   - contiguous storage, or chunks of whole trailing rows with gzip or zstd (filter 32015);
//   - file format 1.8 (libver bounds v18…v18) with dense attribute storage at the root, so large
//     metadata (tokenizer vocabularies) fits and any HDF5 ≥ 1.8 reads it.
// The file is written under a temporary name beside the target, closed, fsynced and renamed.

internal import CHDF5
import TensorCore
#if canImport(Glibc)
    import Glibc
#endif

/// Writes HDF5 files in WeightKit's layout.
public enum HDF5Writer {
    /// The size a compressed chunk aims for.
    public static let targetChunkBytes = 4 << 20

    /// Writes `tensors` (one dataset each, streamed one at a time: each entry's bytes are produced,
    /// written and released before the next) and `metadata` (root attributes) to `path`, atomically.
    ///
    /// Fails with one line naming the file and the tensor or attribute: a name that is empty, starts
    /// or ends with '/', or collides with another tensor or group; a ggml block dtype; metadata that is
    /// an array of arrays; `overwrite` false and `path` exists; or an I/O error. On failure the
    /// destination is untouched and the temporary removed.
    public static func write(
        to path: String, metadata: Metadata, tensors: [TensorEntry], compression: HDF5Compression = .none,
        overwrite: Bool = true
    ) throws {
        HDF5Library.enter()
        var seen = Set<String>()
        for t in tensors {
            let object = "tensor '\(t.name)'"
            let parts = t.name.split(separator: "/", omittingEmptySubsequences: false)
            if t.name.isEmpty || parts.contains(where: { $0.isEmpty || $0 == "." }) {
                throw HDF5Error(path: path, object: object, "is not a valid HDF5 path (empty, '.', or an empty component between '/')")
            }
            guard seen.insert(t.name).inserted else { throw HDF5Error(path: path, object: object, "appears twice") }
            if HDF5ElementType.fileType(for: t.dtype) == nil {
                throw HDF5Error(path: path, object: object, "\(t.dtype.rawValue) is a ggml block type, which HDF5 files do not hold; dequantize it (convert with --dtype f16 or f32) first")
            }
        }
        switch compression {
        case .gzip(let level, _) where !(0...9).contains(level):
            throw HDF5Error(path: path, "gzip level \(level) is outside 0…9")
        case .zstd(let level, _) where !(1...22).contains(level):
            throw HDF5Error(path: path, "zstd level \(level) is outside 1…22")
        default: break
        }

        let out: AtomicFile
        // Named: libhdf5 must open the temporary by a name that is not a /proc/self/fd link.
        do { out = try AtomicFile(destination: path, overwrite: overwrite, named: true) } catch { throw HDF5Error("\(error)") }
        do {
            try writeFile(at: out.temporaryPath, path: path, metadata: metadata, tensors: tensors, compression: compression)
            try out.commit()
        } catch {
            out.abort()
            if error is HDF5Error { throw error }
            throw HDF5Error("\(error)")
        }
    }

    private static func writeFile(at temporary: String, path: String, metadata: Metadata, tensors: [TensorEntry], compression: HDF5Compression) throws {
        guard let fcpl = HDF5Handle(H5Pcreate(wk_H5P_FILE_CREATE()), .propertyList),
            let fapl = HDF5Handle(H5Pcreate(wk_H5P_FILE_ACCESS()), .propertyList),
            let lcpl = HDF5Handle(H5Pcreate(wk_H5P_LINK_CREATE()), .propertyList)
        else { throw HDF5Error(path: path, "cannot make property lists", detail: HDF5Library.reason()) }
        H5Pset_attr_phase_change(fcpl.id, 0, 0)
        H5Pset_libver_bounds(fapl.id, H5F_LIBVER_V18, H5F_LIBVER_V18)
        H5Pset_create_intermediate_group(lcpl.id, 1)
        // libhdf5 opens the (registered) temporary by name with O_CREAT: in a critical section, so
        // an interrupt cannot remove it just before and leave the file libhdf5 then creates.
        let created = PendingFiles.critical { H5Fcreate(temporary, wk_H5F_ACC_TRUNC(), fcpl.id, fapl.id) }
        guard let file = HDF5Handle(created, .file) else {
            throw HDF5Error(path: path, "cannot create the HDF5 file", detail: HDF5Library.reason())
        }
        var objects = Set<String>()
        var markers = Set<String>()
        for t in tensors {
            if try writeDataset(t, file: file.id, lcpl: lcpl.id, path: path, compression: compression) { markers.insert(t.name) }
            var parts = t.name.split(separator: "/").map(String.init)
            while !parts.isEmpty {
                objects.insert(parts.joined(separator: "/"))
                parts.removeLast()
            }
        }
        for entry in metadata.entries {
            var target = "/"
            var name = entry.key
            if let at = entry.key.lastIndex(of: "@") {
                let object = String(entry.key[..<at])
                if objects.contains(object) {
                    target = object
                    name = String(entry.key[entry.key.index(after: at)...])
                    if name == "dtype", markers.contains(object) { continue }  // written with the data
                }
            }
            guard let loc = HDF5Handle(H5Oopen(file.id, target, hid_t(H5P_DEFAULT)), .object) else {
                throw HDF5Error(path: path, object: "metadata '\(entry.key)'", "cannot open '\(target)'", detail: HDF5Library.reason())
            }
            do { try HDF5AttributeWriter.write(entry.value, name: name, to: loc.id) } catch {
                throw HDF5Error(path: path, object: "metadata '\(entry.key)'", error.text)
            }
        }
        guard file.close() else { throw HDF5Error(path: path, "cannot close the HDF5 file", detail: HDF5Library.reason()) }
    }

    /// Writes one tensor; returns true when it carries a `dtype` marker attribute.
    private static func writeDataset(_ t: TensorEntry, file: hid_t, lcpl: hid_t, path: String, compression: HDF5Compression) throws -> Bool {
        let object = "tensor '\(t.name)'"
        guard let ft = HDF5ElementType.fileType(for: t.dtype) else { throw HDF5Error(path: path, object: object, "unsupported dtype") }
        defer { if ft.owned { H5Tclose(ft.id) } }
        var dims = t.shape.map { hsize_t($0) }
        let spaceID = t.shape.isEmpty ? H5Screate(H5S_SCALAR) : H5Screate_simple(Int32(dims.count), &dims, nil)
        guard let space = HDF5Handle(spaceID, .dataspace), let dcpl = HDF5Handle(H5Pcreate(wk_H5P_DATASET_CREATE()), .propertyList) else {
            throw HDF5Error(path: path, object: object, "cannot make its dataspace", detail: HDF5Library.reason())
        }
        if compression != .none, !t.shape.isEmpty, t.elementCount > 0 {
            var chunk = chunkShape(t.shape, elementBytes: t.dtype.blockBytes, target: targetChunkBytes).map { hsize_t($0) }
            H5Pset_chunk(dcpl.id, Int32(chunk.count), &chunk)
            H5Pset_fill_time(dcpl.id, H5D_FILL_TIME_NEVER)
            switch compression {
            case .gzip(let level, let shuffle):
                if shuffle { H5Pset_shuffle(dcpl.id) }
                H5Pset_deflate(dcpl.id, UInt32(level))
            case .zstd(let level, let shuffle):
                if shuffle { H5Pset_shuffle(dcpl.id) }
                var cd: [UInt32] = [UInt32(level)]
                H5Pset_filter(dcpl.id, ZstdFilter.id, 0 /* H5Z_FLAG_MANDATORY */, 1, &cd)
            case .none: break
            }
        }
        guard let ds = HDF5Handle(H5Dcreate2(file, t.name, ft.id, space.id, lcpl, dcpl.id, hid_t(H5P_DEFAULT)), .dataset) else {
            throw HDF5Error(path: path, object: object, "cannot create the dataset", detail: HDF5Library.reason())
        }
        if t.elementCount > 0 {
            let data: TensorData
            do { data = try t.bytes() } catch let e as HDF5Error { throw e } catch {
                throw HDF5Error(path: path, object: object, "cannot produce its bytes: \(error)")
            }
            let r = data.withUnsafeBytes { H5Dwrite(ds.id, ft.id, wk_H5S_ALL(), wk_H5S_ALL(), hid_t(H5P_DEFAULT), $0.baseAddress) }
            guard r >= 0 else { throw HDF5Error(path: path, object: object, "cannot write", detail: HDF5Library.reason()) }
        }
        if let marker = ft.marker {
            do { try HDF5AttributeWriter.write(.string(marker), name: "dtype", to: ds.id) } catch {
                throw HDF5Error(path: path, object: object, error.text)
            }
        }
        guard ds.close() else { throw HDF5Error(path: path, object: object, "cannot close the dataset", detail: HDF5Library.reason()) }
        return ft.marker != nil
    }

    /// Chunk dimensions: whole trailing dimensions while they fit in `target` bytes, then as many
    /// steps of the next dimension as fit (at least one), ones before. Respects HDF5's limits
    /// (chunk dims ≥ 1, < 2^32 elements, < 4 GiB).
    static func chunkShape(_ shape: [Int], elementBytes: Int, target: Int) -> [Int] {
        var chunk = shape.map { _ in 1 }
        var bytes = max(elementBytes, 1)
        for axis in stride(from: shape.count - 1, through: 0, by: -1) {
            let d = max(shape[axis], 1)
            if let whole = Checked.mul(bytes, d), whole <= target {
                chunk[axis] = d
                bytes = whole
                continue
            }
            chunk[axis] = max(1, min(d, target / bytes))
            break
        }
        return chunk
    }
}
