// One dataset as the helper found it: dtype, shape, and where its bytes are. `make` runs in the
// helper process (`wk-hdf5-probe`, through libhdf5); the parent receives the plan over the pipe and
// checks every number in it again (`checked`) before it sizes or addresses anything.

internal import CHDF5
import TensorCore
#if canImport(Glibc)
    import Glibc
#endif

/// A filter in a dataset's pipeline, as stored in its creation properties.
struct StoredFilter: Sendable {
    let id: Int32
    let name: String
    let flags: UInt32
    let cd: [UInt32]
}

/// One allocated chunk: its first element's coordinates, where its stored bytes are, and which
/// filters were skipped for it (bit i set: filter i of the pipeline was not applied).
struct StoredChunk: Sendable {
    let coords: [Int]
    let offset: Int
    let size: Int
    let mask: UInt32
}

/// Where a dataset's bytes are.
enum DatasetStorage: Sendable {
    /// Contiguous, unfiltered, little-endian, allocated: a slice of the file map.
    case mapped(offset: Int)
    /// Chunked, each chunk decoded by the parent from the file map (deflate, shuffle, zstd).
    case chunks(chunk: [Int], list: [StoredChunk])
    /// Nothing stored and the fill value is zero.
    case zeros
    /// Anything else (compact, big-endian, converted types, other filters, fill values): read by
    /// the helper through libhdf5 and sent over the pipe.
    case helper
}

/// A dataset's facts, checked at open time, and how `bytes()` will get its data.
struct DatasetPlan: Sendable {
    let name: String
    let dtype: DType
    let shape: [Int]
    let byteCount: Int
    /// Filters in the pipeline, for the error when one is missing.
    let filters: [StoredFilter]
    let usesMarker: Bool
    let storage: DatasetStorage

    /// Filters the parent runs itself.
    static let parentFilters: Set<Int32> = [1, 2, 32015]
    /// Chunk records listed per file at most; a file with more has its chunked datasets read by the helper.
    static let maxChunkRecords = 1 << 20

    /// Runs in the helper: opens the dataset `name` of `file` and resolves its plan.
    static func make(file: hid_t, path: String, name: String, marker: String?, fileSize: Int, chunkBudget: inout Int) throws -> DatasetPlan {
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
        guard rank >= 0, rank <= 32 else { throw HDF5Error(path: path, object: object, "unreadable shape", detail: HDF5Library.reason()) }
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

        var filters: [StoredFilter] = []
        let nfilters = H5Pget_nfilters(dcpl.id)
        if nfilters > 0 {
            for i in 0..<UInt32(min(nfilters, 32)) {
                var flags: UInt32 = 0
                var cdn = 8
                var cd = [UInt32](repeating: 0, count: 8)
                var nameBuf = [CChar](repeating: 0, count: 128)
                var config: UInt32 = 0
                let id = H5Pget_filter2(dcpl.id, i, &flags, &cdn, &cd, 128, &nameBuf, &config)
                let name = String(decoding: nameBuf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                filters.append(StoredFilter(id: id, name: name, flags: flags, cd: Array(cd.prefix(min(max(cdn, 0), 8)))))
            }
        }
        var fillStatus = H5D_FILL_VALUE_UNDEFINED
        H5Pfill_value_defined(dcpl.id, &fillStatus)
        let zeroFill = fillStatus != H5D_FILL_VALUE_USER_DEFINED
        let layout = H5Pget_layout(dcpl.id)
        let external = H5Pget_external_count(dcpl.id)

        var storage = DatasetStorage.helper
        if bytes == 0 {
            storage = .zeros
        } else if layout == H5D_CONTIGUOUS, nfilters == 0, external == 0, element.isExactLayout {
            let addr = H5Dget_offset(ds.id)  // absolute: it already includes any user block
            if addr != wk_HADDR_UNDEF(), H5Dget_storage_size(ds.id) == UInt64(bytes) {
                guard let start = Checked.int(UInt64(addr)), let end = Checked.add(start, bytes), end <= fileSize else {
                    throw HDF5Error(path: path, object: object, "data at byte \(addr) + \(bytes) lies past the end of the file (\(fileSize) bytes); the file is truncated")
                }
                storage = .mapped(offset: start)
            } else if addr == wk_HADDR_UNDEF(), H5Dget_storage_size(ds.id) == 0, zeroFill {
                storage = .zeros
            }
        } else if layout == H5D_CHUNKED, external == 0, element.isExactLayout, !shape.isEmpty,
            filters.allSatisfy({ parentFilters.contains($0.id) }),
            let list = listChunks(ds: ds.id, space: space.id, dcpl: dcpl.id, shape: shape, zeroFill: zeroFill, budget: &chunkBudget)
        {
            storage = .chunks(chunk: list.chunk, list: list.chunks)
        }
        _ = HDF5Library.errorStack()
        return DatasetPlan(
            name: name, dtype: element.dtype, shape: shape, byteCount: bytes, filters: filters, usesMarker: element.usesMarker,
            storage: storage)
    }

    /// The chunk dimensions and every allocated chunk; nil when the helper should read the dataset
    /// instead (unlistable, too many chunks, missing chunks with a fill value that is not zero).
    private static func listChunks(ds: hid_t, space: hid_t, dcpl: hid_t, shape: [Int], zeroFill: Bool, budget: inout Int)
        -> (chunk: [Int], chunks: [StoredChunk])?
    {
        var cdims = [hsize_t](repeating: 0, count: shape.count)
        guard H5Pget_chunk(dcpl, Int32(shape.count), &cdims) == Int32(shape.count), cdims.allSatisfy({ $0 > 0 && $0 < 1 << 32 }) else {
            return nil
        }
        let chunk = cdims.map { Int($0) }
        var grid = 1
        for (d, c) in zip(shape, chunk) {
            guard let g = Checked.mul(grid, (d + c - 1) / c) else { return nil }
            grid = g
        }
        var count: hsize_t = 0
        guard H5Dget_num_chunks(ds, space, &count) >= 0, count <= hsize_t(grid), Int(count) <= budget else { return nil }
        if Int(count) < grid && !zeroFill { return nil }
        var out: [StoredChunk] = []
        out.reserveCapacity(Int(count))
        var offset = [hsize_t](repeating: 0, count: shape.count)
        // By index costs a walk of the index per call in libhdf5 1.10; by coordinate a lookup.
        if count <= 1024 {
            for i in 0..<count {
                var mask: UInt32 = 0
                var addr: haddr_t = 0
                var size: hsize_t = 0
                guard H5Dget_chunk_info(ds, space, i, &offset, &mask, &addr, &size) >= 0, addr != wk_HADDR_UNDEF(),
                    let a = Checked.int(UInt64(addr)), let s = Checked.int(size)
                else { return nil }
                out.append(StoredChunk(coords: offset.map { Int(truncatingIfNeeded: $0) }, offset: a, size: s, mask: mask))
            }
        } else {
            guard grid <= 1 << 22 else { return nil }
            var index = [Int](repeating: 0, count: shape.count)
            for _ in 0..<grid {
                for k in 0..<shape.count { offset[k] = hsize_t(index[k] * chunk[k]) }
                var mask: UInt32 = 0
                var addr: haddr_t = 0
                var size: hsize_t = 0
                guard H5Dget_chunk_info_by_coord(ds, &offset, &mask, &addr, &size) >= 0 else { return nil }
                if addr != wk_HADDR_UNDEF() {
                    guard let a = Checked.int(UInt64(addr)), let s = Checked.int(size) else { return nil }
                    out.append(StoredChunk(coords: offset.map { Int($0) }, offset: a, size: s, mask: mask))
                }
                var k = shape.count - 1
                while k >= 0 {
                    index[k] += 1
                    if index[k] * chunk[k] < shape[k] { break }
                    index[k] = 0
                    k -= 1
                }
            }
            guard out.count == Int(count) else { return nil }
        }
        budget -= out.count
        return (chunk, out)
    }
}

extension DatasetPlan {
    func encode(_ w: inout WireWriter) {
        w.string(name)
        w.string(dtype.rawValue)
        w.ints(shape)
        w.int(byteCount)
        w.u8(usesMarker ? 1 : 0)
        w.int(filters.count)
        for f in filters {
            w.u32(UInt32(bitPattern: f.id))
            w.string(f.name)
            w.u32(f.flags)
            w.int(f.cd.count)
            for c in f.cd { w.u32(c) }
        }
        switch storage {
        case .mapped(let offset):
            w.u8(1)
            w.int(offset)
        case .chunks(let chunk, let list):
            w.u8(2)
            w.ints(chunk)
            w.int(list.count)
            for c in list {
                w.ints(c.coords)
                w.int(c.offset)
                w.int(c.size)
                w.u32(c.mask)
            }
        case .zeros: w.u8(3)
        case .helper: w.u8(4)
        }
    }

    /// Decodes and checks a plan from the helper: the dtype is known, the byte count is the shape's,
    /// mapped data and every chunk lie inside the file, chunks sit on the chunk grid inside the
    /// shape, once each, and the chunk size stays within HDF5's 4 GiB.
    static func decode(_ r: inout WireReader, path: String, fileSize: Int) throws -> DatasetPlan {
        let name = try r.string()
        let object = "dataset '\(name)'"
        func bad(_ what: String) -> HDF5Error { HDF5Error(path: path, object: object, what) }
        guard let dtype = DType(rawValue: try r.string()) else { throw bad("has an unknown dtype") }
        let shape = try r.ints()
        guard shape.count <= 32, shape.allSatisfy({ $0 >= 0 }), let n = Checked.product(shape),
            let bytes = dtype.byteCount(elements: n), bytes == (try r.int())
        else { throw bad("has an inconsistent shape") }
        let usesMarker = try r.u8() != 0
        var filters: [StoredFilter] = []
        let nf = try r.count(minBytes: 12)
        for _ in 0..<nf {
            let id = Int32(bitPattern: try r.u32())
            let fname = try r.string()
            let flags = try r.u32()
            let ncd = try r.count(minBytes: 4)
            var cd: [UInt32] = []
            for _ in 0..<ncd { cd.append(try r.u32()) }
            filters.append(StoredFilter(id: id, name: fname, flags: flags, cd: cd))
        }
        let storage: DatasetStorage
        switch try r.u8() {
        case 1:
            let offset = try r.int()
            guard offset >= 0, let end = Checked.add(offset, bytes), end <= fileSize else {
                throw bad("data at byte \(offset) + \(bytes) lies past the end of the file (\(fileSize) bytes); the file is truncated")
            }
            storage = .mapped(offset: offset)
        case 2:
            let chunk = try r.ints()
            guard chunk.count == shape.count, chunk.allSatisfy({ $0 > 0 }), let ce = Checked.product(chunk),
                let cb = dtype.byteCount(elements: ce), cb <= 1 << 32
            else { throw bad("has a bad chunk shape") }
            guard filters.allSatisfy({ parentFilters.contains($0.id) }) else { throw bad("has a filter the reader does not run") }
            let count = try r.count(minBytes: 32)
            var list: [StoredChunk] = []
            list.reserveCapacity(count)
            var seen = Set<[Int]>()
            for _ in 0..<count {
                let coords = try r.ints()
                let offset = try r.int()
                let size = try r.int()
                let mask = try r.u32()
                guard coords.count == shape.count, zip(coords, zip(chunk, shape)).allSatisfy({ $0 >= 0 && $0 % $1.0 == 0 && $0 < $1.1 }),
                    seen.insert(coords).inserted
                else { throw bad("has a chunk at \(coords) off the chunk grid \(chunk) of shape \(shape), or twice") }
                guard offset >= 0, size >= 0, let end = Checked.add(offset, size), end <= fileSize else {
                    throw bad("has a chunk at byte \(offset) + \(size) past the end of the file (\(fileSize) bytes); the file is truncated")
                }
                list.append(StoredChunk(coords: coords, offset: offset, size: size, mask: mask))
            }
            storage = .chunks(chunk: chunk, list: list)
        case 3: storage = .zeros
        case 4: storage = .helper
        default: throw bad("has an unknown storage kind")
        }
        return DatasetPlan(name: name, dtype: dtype, shape: shape, byteCount: bytes, filters: filters, usesMarker: usesMarker, storage: storage)
    }
}
