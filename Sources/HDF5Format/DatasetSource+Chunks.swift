// Reading a dataset's bytes in the parent process, from its map of the file, with the structure the
// helper resolved: contiguous data is a slice of the map; chunked data is decoded chunk by chunk
// (zstd through libzstd, deflate through zlib, shuffle undone here), on up to `decodeThreads`
// threads. Every chunk decodes into at most its declared size (the chunk shape times the element
// size) and must decode to exactly that; a dataset never needs more memory than its shape says, and
// that is checked against the machine's memory and this process's address-space limit first.
// Anything else is read by the helper (HDF5Helper.read) under its limits.

internal import CZlib
import Dispatch
import TensorCore
import ZstdCodec
#if canImport(Glibc)
    import Glibc
#endif

/// What `bytes()` needs: the path and, when some data is read from it, the file's map.
final class DatasetSource: Sendable {
    let path: String
    let region: ByteRegion?
    /// The file as a descriptor when it has no name (handed to the helper).
    let descriptor: FileDescriptor?

    init(path: String, region: ByteRegion?, descriptor: FileDescriptor? = nil) {
        self.path = path
        self.region = region
        self.descriptor = descriptor
    }

    /// Threads used to decode chunks: the processors available, at most 4.
    static var decodeThreads: Int { max(1, min(4, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))) }

    /// Known filter ids, for messages about missing ones.
    static let filterNames: [Int32: String] = [
        1: "deflate", 2: "shuffle", 3: "fletcher32", 4: "szip", 5: "nbit", 6: "scaleoffset", 307: "bzip2",
        32000: "lzf", 32001: "blosc", 32004: "lz4", 32008: "bitshuffle", 32013: "zfp", 32015: "zstd",
        32017: "sz", 32018: "fcidecomp", 32026: "blosc2", 32028: "sperr",
    ]

    /// The bytes of `plan`'s dataset.
    func read(_ plan: DatasetPlan) throws -> TensorData {
        if plan.byteCount == 0 { return TensorData(bytes: []) }
        let object = "dataset '\(plan.name)'"
        switch plan.storage {
        case .mapped(let offset):
            if let region, let data = TensorData(region: region, offset: offset, count: plan.byteCount) { return data }
            throw HDF5Error(path: path, object: object, "data at byte \(offset) + \(plan.byteCount) lies past the end of the file")
        case .zeros:
            try checkMemory(plan, object: object, what: "of fill values (the dataset was never written)")
            let out = ByteRegion(count: plan.byteCount) { memset($0.baseAddress!, 0, $0.count) }
            return TensorData(region: out, offset: 0, count: plan.byteCount)!
        case .chunks(let chunk, let list):
            try checkMemory(plan, object: object, what: "")
            return try readChunks(plan, chunk: chunk, list: list, object: object)
        case .helper:
            try checkMemory(plan, object: object, what: "")
            let out = try ByteRegion(count: plan.byteCount) { buf in try HDF5Helper.read(path: path, plan: plan, descriptor: descriptor?.fd, into: buf) }
            return TensorData(region: out, offset: 0, count: plan.byteCount)!
        }
    }

    /// Refuses a read larger than the machine's memory or this process's address-space limit (before allocating it).
    func checkMemory(_ plan: DatasetPlan, object: String, what: String) throws {
        let w = what.isEmpty ? "" : " " + what
        let memory = Int(sysconf(Int32(_SC_PHYS_PAGES))) &* Int(sysconf(Int32(_SC_PAGESIZE)))
        if memory > 0, plan.byteCount > memory {
            throw HDF5Error(path: path, object: object, "needs \(plan.byteCount) bytes\(w), more than this machine's memory (\(memory))")
        }
        var rl = rlimit()
        if getrlimit(__rlimit_resource_t(UInt32(RLIMIT_AS.rawValue)), &rl) == 0, rl.rlim_cur != rlim_t.max, rl.rlim_cur < UInt64(Int.max),
            plan.byteCount > Int(rl.rlim_cur)
        {
            throw HDF5Error(path: path, object: object, "needs \(plan.byteCount) bytes\(w), more than this process's address-space limit (\(rl.rlim_cur))")
        }
    }

    /// Decodes every stored chunk into its place; chunks never written read as zeros.
    func readChunks(_ plan: DatasetPlan, chunk: [Int], list: [StoredChunk], object: String) throws -> TensorData {
        guard let region else { throw HDF5Error(path: path, object: object, "the file is not mapped") }
        let elementBytes = plan.dtype.byteCount(elements: 1)!
        let chunkBytes = chunk.reduce(elementBytes, *)  // checked ≤ 4 GiB when the plan was decoded
        let shape = plan.shape
        var grid = 1
        for (d, c) in zip(shape, chunk) { grid *= (d + c - 1) / c }
        let complete = list.count == grid
        // A stack of chunks of whole rows decoded by zstd alone goes straight into place.
        let wholeRows = Array(chunk.dropFirst()) == Array(shape.dropFirst())
        let path = self.path
        let filters = plan.filters
        let out = try ByteRegion(count: plan.byteCount) { buf in
            if !complete { memset(buf.baseAddress!, 0, buf.count) }
            let base = UnsafeSendableRawPointer(buf.baseAddress!)
            let failures = FailureList()
            let workers = min(Self.decodeThreads, list.count)
            DispatchQueue.concurrentPerform(iterations: workers) { worker in
                var scratch = ChunkScratch()
                defer { scratch.release() }
                var i = worker
                while i < list.count, !failures.any {
                    let c = list[i]
                    region.withUnsafeBytes(offset: c.offset, count: c.size) { src in
                        do {
                            let direct = wholeRows && c.mask == 0 && filters.count == 1 && filters[0].id == ZstdFilter.id
                            if direct {
                                let rowBytes = chunkBytes / chunk[0]
                                let valid = min(chunk[0], shape[0] - c.coords[0]) * rowBytes
                                let dst = UnsafeMutableRawBufferPointer(start: base.pointer + c.coords[0] * rowBytes, count: valid)
                                try Self.decodeZstdRows(src, into: dst, chunkBytes: chunkBytes, scratch: &scratch)
                            } else {
                                let decoded = try Self.runFilters(
                                    src, filters: filters, mask: c.mask, chunkBytes: chunkBytes, elementBytes: elementBytes, scratch: &scratch)
                                Self.place(decoded, chunk: chunk, at: c.coords, shape: shape, elementBytes: elementBytes, into: base.pointer)
                            }
                        } catch {
                            failures.add("chunk at \(c.coords): \(error)")
                        }
                    }
                    i += workers
                }
            }
            if let f = failures.first { throw HDF5Error(path: path, object: object, "cannot read", detail: f) }
        }
        return TensorData(region: out, offset: 0, count: plan.byteCount)!
    }

    /// Decodes one zstd frame of whole rows (`chunkBytes` when whole) into `dst`, which holds the
    /// chunk's valid rows (fewer than a whole chunk at the end of the dataset).
    static func decodeZstdRows(_ src: UnsafeRawBufferPointer, into dst: UnsafeMutableRawBufferPointer, chunkBytes: Int, scratch: inout ChunkScratch) throws {
        if dst.count == chunkBytes {
            let got = try Zstd.decompress(src, into: dst)
            guard got == chunkBytes else { throw ZstdError("zstd frame decoded to \(got) bytes, the chunk holds \(chunkBytes)") }
            return
        }
        let tmp = scratch.buffer(0, chunkBytes)
        let got = try Zstd.decompress(src, into: tmp)
        guard got == chunkBytes else { throw ZstdError("zstd frame decoded to \(got) bytes, the chunk holds \(chunkBytes)") }
        dst.copyMemory(from: UnsafeRawBufferPointer(start: tmp.baseAddress, count: dst.count))
    }

    /// Undoes the chunk's filters (last applied first, skipping those its mask names); the result
    /// is exactly `chunkBytes` long and lives in `scratch` (or is `src` itself when nothing applied).
    static func runFilters(
        _ src: UnsafeRawBufferPointer, filters: [StoredFilter], mask: UInt32, chunkBytes: Int, elementBytes: Int,
        scratch: inout ChunkScratch
    ) throws -> UnsafeRawBufferPointer {
        var current = src
        var slot = 0
        for (i, f) in filters.enumerated().reversed() {
            if i < 32, mask & (1 << UInt32(i)) != 0 { continue }
            let dst = scratch.buffer(slot, chunkBytes)
            switch f.id {
            case ZstdFilter.id:
                let got = try Zstd.decompress(current, into: dst)
                current = UnsafeRawBufferPointer(start: dst.baseAddress, count: got)
            case 1:
                var len = uLongf(dst.count)
                let r = uncompress(dst.baseAddress!.assumingMemoryBound(to: Bytef.self), &len,
                                   current.baseAddress?.assumingMemoryBound(to: Bytef.self), uLong(current.count))
                guard r == Z_OK else {
                    throw ZstdError(r == Z_BUF_ERROR ? "deflate data decodes to more than the chunk's \(chunkBytes) bytes" : "corrupt deflate data (zlib error \(r))")
                }
                current = UnsafeRawBufferPointer(start: dst.baseAddress, count: Int(len))
            case 2:
                let size = f.cd.first.map(Int.init) ?? elementBytes
                guard size >= 1, current.count == chunkBytes else { throw ZstdError("shuffled data of \(current.count) bytes, the chunk holds \(chunkBytes)") }
                unshuffle(current, into: dst, elementSize: size)
                current = UnsafeRawBufferPointer(start: dst.baseAddress, count: current.count)
            default:
                throw ZstdError("filter \(f.id) is not run by the reader")
            }
            slot = 1 - slot
        }
        guard current.count == chunkBytes else { throw ZstdError("decoded to \(current.count) bytes, the chunk holds \(chunkBytes)") }
        return current
    }

    /// HDF5's shuffle: byte k of every element stored together; undone here.
    static func unshuffle(_ src: UnsafeRawBufferPointer, into dst: UnsafeMutableRawBufferPointer, elementSize: Int) {
        let n = src.count / elementSize
        if elementSize == 1 || n <= 1 {
            dst.copyMemory(from: src)
            return
        }
        let s = src.baseAddress!.assumingMemoryBound(to: UInt8.self)
        let d = dst.baseAddress!.assumingMemoryBound(to: UInt8.self)
        for k in 0..<elementSize {
            let plane = s + k * n
            var j = 0
            while j < n {
                d[j * elementSize + k] = plane[j]
                j += 1
            }
        }
        let rest = src.count - n * elementSize  // bytes past the last whole element are stored as is
        if rest > 0 { (dst.baseAddress! + n * elementSize).copyMemory(from: src.baseAddress! + n * elementSize, byteCount: rest) }
    }

    /// Copies the valid part of a decoded chunk (edge chunks overhang the shape) into the output.
    static func place(_ chunkData: UnsafeRawBufferPointer, chunk: [Int], at coords: [Int], shape: [Int], elementBytes: Int, into out: UnsafeMutableRawPointer) {
        let rank = shape.count
        let extent = (0..<rank).map { min(chunk[$0], shape[$0] - coords[$0]) }
        guard !extent.contains(where: { $0 <= 0 }) else { return }
        // Strides in bytes, row-major, of the chunk and of the output.
        var cStride = [Int](repeating: elementBytes, count: rank)
        var oStride = [Int](repeating: elementBytes, count: rank)
        for k in stride(from: rank - 2, through: 0, by: -1) {
            cStride[k] = cStride[k + 1] * chunk[k + 1]
            oStride[k] = oStride[k + 1] * shape[k + 1]
        }
        let run = extent[rank - 1] * elementBytes
        var index = [Int](repeating: 0, count: rank)
        while true {
            var co = 0
            var oo = 0
            for k in 0..<rank - 1 {
                co += index[k] * cStride[k]
                oo += (coords[k] + index[k]) * oStride[k]
            }
            oo += coords[rank - 1] * elementBytes
            (out + oo).copyMemory(from: chunkData.baseAddress! + co, byteCount: run)
            var k = rank - 2
            while k >= 0 {
                index[k] += 1
                if index[k] < extent[k] { break }
                index[k] = 0
                k -= 1
            }
            if k < 0 { break }
        }
    }
}

/// Two decode buffers per worker, grown on demand up to the chunk size.
struct ChunkScratch {
    private var buffers: [UnsafeMutableRawBufferPointer?] = [nil, nil]

    mutating func buffer(_ i: Int, _ count: Int) -> UnsafeMutableRawBufferPointer {
        if buffers[i] == nil || buffers[i]!.count < count {
            buffers[i]?.deallocate()
            buffers[i] = .allocate(byteCount: max(count, 1), alignment: 64)
        }
        return UnsafeMutableRawBufferPointer(start: buffers[i]!.baseAddress, count: count)
    }

    func release() { for b in buffers { b?.deallocate() } }
}

/// A raw pointer handed to decode workers, each of which writes a disjoint range.
struct UnsafeSendableRawPointer: @unchecked Sendable {
    let pointer: UnsafeMutableRawPointer
    init(_ p: UnsafeMutableRawPointer) { pointer = p }
}

/// Errors from decode workers. `@unchecked Sendable`: every access holds the lock.
final class FailureList: @unchecked Sendable {
    private var lock = pthread_mutex_t()
    private var items: [String] = []
    init() { pthread_mutex_init(&lock, nil) }
    deinit { pthread_mutex_destroy(&lock) }
    func add(_ s: String) {
        pthread_mutex_lock(&lock)
        items.append(s)
        pthread_mutex_unlock(&lock)
    }
    var any: Bool {
        pthread_mutex_lock(&lock)
        defer { pthread_mutex_unlock(&lock) }
        return !items.isEmpty
    }
    var first: String? {
        pthread_mutex_lock(&lock)
        defer { pthread_mutex_unlock(&lock) }
        return items.first
    }
}
