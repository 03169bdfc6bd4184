// One dataset as found at open time: its dtype and shape, and where its bytes are.

internal import CHDF5
import TensorCore
#if canImport(Glibc)
    import Glibc
#endif

/// A dataset's facts, checked at open time, and how `bytes()` will get its data.
struct DatasetPlan: Sendable {
    let name: String
    let dtype: DType
    let shape: [Int]
    let byteCount: Int
    /// The file offset of the data when it can be mapped as is (contiguous, unfiltered,
    /// little-endian, allocated); nil when it must be read through libhdf5.
    let fileOffset: Int?
    /// Filters in the pipeline (id, name), for the error when one is missing.
    let filters: [(id: Int32, name: String)]
    let usesMarker: Bool
    /// Rows per chunk when the dataset is chunked along the first dimension only (every chunk a
    /// contiguous run of whole rows), little-endian, and filtered by zstd alone: such chunks are
    /// decoded straight from the file map into place, in parallel (`DatasetSource+Chunks.swift`).
    let directChunkRows: Int?

    static func make(file: hid_t, path: String, name: String, marker: String?, fileSize: Int) throws -> DatasetPlan {
        let object = "dataset '\(name)'"
        guard let ds = HDF5Handle(H5Dopen2(file, name, hid_t(H5P_DEFAULT)), .dataset) else {
            throw HDF5Error(path: path, object: object, "cannot open", detail: HDF5Library.reason())
        }
        guard let type = HDF5Handle(H5Dget_type(ds.id), .datatype), let space = HDF5Handle(H5Dget_space(ds.id), .dataspace),
            let dcpl = HDF5Handle(H5Dget_create_plist(ds.id), .propertyList)
        else { throw HDF5Error(path: path, object: object, "cannot read its type or shape", detail: HDF5Library.reason()) }

        let element: HDF5ElementType
        switch HDF5ElementType.classify(type.id, marker: marker) {
        case .success(let e): element = e
        case .failure(let r): throw HDF5Error(path: path, object: object, r.text)
        }

        if H5Sget_simple_extent_type(space.id) == H5S_NULL {
            throw HDF5Error(path: path, object: object, "has a null dataspace (no shape, no data)")
        }
        let rank = H5Sget_simple_extent_ndims(space.id)
        guard rank >= 0 else { throw HDF5Error(path: path, object: object, "unreadable shape", detail: HDF5Library.reason()) }
        var dims = [hsize_t](repeating: 0, count: Int(rank))
        if rank > 0 { H5Sget_simple_extent_dims(space.id, &dims, nil) }
        var shape: [Int] = []
        for d in dims {
            guard let v = Checked.int(d) else {
                throw HDF5Error(path: path, object: object, "dimension \(d) of shape \(dims) is too large")
            }
            shape.append(v)
        }
        guard let n = Checked.product(shape), let bytes = element.dtype.byteCount(elements: n) else {
            throw HDF5Error(path: path, object: object, "shape \(shape) of \(element.dtype.rawValue) overflows: its byte size does not fit in 63 bits")
        }

        var filters: [(Int32, String)] = []
        let nfilters = H5Pget_nfilters(dcpl.id)
        if nfilters > 0 {
            for i in 0..<UInt32(nfilters) {
                var flags: UInt32 = 0
                var cdn = 8
                var cd = [UInt32](repeating: 0, count: 8)
                var nameBuf = [CChar](repeating: 0, count: 128)
                var config: UInt32 = 0
                let id = H5Pget_filter2(dcpl.id, i, &flags, &cdn, &cd, 128, &nameBuf, &config)
                filters.append((id, String(decoding: nameBuf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)))
            }
        }

        var fileOffset: Int? = nil
        if H5Pget_layout(dcpl.id) == H5D_CONTIGUOUS, nfilters == 0, H5Pget_external_count(dcpl.id) == 0, element.isExactLayout, bytes > 0 {
            let addr = H5Dget_offset(ds.id)  // absolute: it already includes any user block
            if addr != wk_HADDR_UNDEF(), H5Dget_storage_size(ds.id) == UInt64(bytes) {
                guard let start = Checked.int(UInt64(addr)), let end = Checked.add(start, bytes),
                    end <= fileSize
                else {
                    throw HDF5Error(path: path, object: object, "data at byte \(addr) + \(bytes) lies past the end of the file (\(fileSize) bytes); the file is truncated")
                }
                fileOffset = start
            }
        }
        var directChunkRows: Int? = nil
        if H5Pget_layout(dcpl.id) == H5D_CHUNKED, filters.count == 1, filters[0].0 == ZstdFilter.id, element.isExactLayout,
            !shape.isEmpty, bytes > 0
        {
            var chunk = [hsize_t](repeating: 0, count: shape.count)
            if H5Pget_chunk(dcpl.id, Int32(shape.count), &chunk) == Int32(shape.count),
                chunk.dropFirst().map({ Int($0) }) == Array(shape.dropFirst()), chunk[0] > 0, let rows = Checked.int(chunk[0])
            {
                directChunkRows = rows
            }
        }
        return DatasetPlan(
            name: name, dtype: element.dtype, shape: shape, byteCount: bytes, fileOffset: fileOffset, filters: filters,
            usesMarker: element.usesMarker, directChunkRows: directChunkRows)
    }
}

/// What `bytes()` needs: the open file and, when some data is mapped, the file's map.
///
/// `@unchecked Sendable`: immutable after init; libhdf5 serialises calls behind its global lock.
final class DatasetSource: @unchecked Sendable {
    let path: String
    let file: HDF5Handle
    let region: ByteRegion?

    init(path: String, file: HDF5Handle, region: ByteRegion?) {
        self.path = path
        self.file = file
        self.region = region
    }

    /// Known filter ids, for messages about missing ones.
    static let filterNames: [Int32: String] = [
        1: "deflate", 2: "shuffle", 3: "fletcher32", 4: "szip", 5: "nbit", 6: "scaleoffset", 307: "bzip2",
        32000: "lzf", 32001: "blosc", 32004: "lz4", 32008: "bitshuffle", 32013: "zfp", 32015: "zstd",
        32017: "sz", 32018: "fcidecomp", 32026: "blosc2", 32028: "sperr",
    ]

    /// The bytes of `plan`'s dataset.
    func read(_ plan: DatasetPlan) throws -> TensorData {
        if let off = plan.fileOffset, let region, let data = TensorData(region: region, offset: off, count: plan.byteCount) {
            return data
        }
        if plan.byteCount == 0 { return TensorData(bytes: []) }
        HDF5Library.enter()
        let object = "dataset '\(plan.name)'"
        try checkMemory(plan, object: object)
        if plan.directChunkRows != nil, let data = try readChunksDirectly(plan) { return data }
        for f in plan.filters where H5Zfilter_avail(H5Z_filter_t(f.id)) <= 0 {
            _ = HDF5Library.errorStack()
            let known = Self.filterNames[f.id].map { "'\($0)' " } ?? (f.name.isEmpty ? "" : "'\(f.name)' ")
            throw HDF5Error(
                path: path, object: object,
                "compressed with HDF5 filter \(known)(\(f.id)), which is not available (WeightKit has deflate, shuffle, fletcher32 and zstd built in; for others install the plugin and set HDF5_PLUGIN_PATH)")
        }
        guard let ds = HDF5Handle(H5Dopen2(file.id, plan.name, hid_t(H5P_DEFAULT)), .dataset, parent: file),
            let ftype = HDF5Handle(H5Dget_type(ds.id), .datatype)
        else { throw HDF5Error(path: path, object: object, "cannot open", detail: HDF5Library.reason()) }
        let mem = HDF5ElementType.memoryType(for: plan.dtype, fileType: ftype.id)
        defer { if mem.owned { H5Tclose(mem.id) } }
        let region = try ByteRegion(count: plan.byteCount) { buf in
            let r = H5Dread(ds.id, mem.id, wk_H5S_ALL(), wk_H5S_ALL(), hid_t(H5P_DEFAULT), buf.baseAddress)
            if r < 0 { throw HDF5Error(path: path, object: object, "cannot read", detail: HDF5Library.reason()) }
        }
        return TensorData(region: region, offset: 0, count: plan.byteCount)!
    }

    /// Refuses a heap read larger than the machine's memory (before allocating it).
    func checkMemory(_ plan: DatasetPlan, object: String) throws {
        let memory = Int(sysconf(Int32(_SC_PHYS_PAGES))) &* Int(sysconf(Int32(_SC_PAGESIZE)))
        if memory > 0, plan.byteCount > memory {
            throw HDF5Error(path: path, object: object, "needs \(plan.byteCount) bytes, more than this machine's memory (\(memory))")
        }
    }
}
