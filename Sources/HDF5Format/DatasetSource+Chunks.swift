// The fast path for zstd-compressed datasets chunked in whole rows (what HDF5Writer writes, and
// h5py with `chunks=(r, *shape[1:])`): each chunk's frame is read from the file map and decoded
// straight into its place in the output, on up to `decodeThreads` threads outside libhdf5's lock.
// libhdf5 only lists the chunks (`H5Dget_chunk_info`); everything it reports is checked against the
// file size and the dataset's shape, and any surprise (a missing chunk, a skipped filter, an
// unexpected offset) falls back to `H5Dread`.

internal import CHDF5
import Dispatch
import TensorCore
import ZstdCodec
#if canImport(Glibc)
    import Glibc
#endif

private func sysconfProcessors() -> Int { sysconf(Int32(_SC_NPROCESSORS_ONLN)) }

extension DatasetSource {
    /// Threads used to decode chunks: the processors available, at most 4.
    static var decodeThreads: Int { max(1, min(4, Int(sysconfProcessors()))) }

    /// One stored chunk.
    struct Chunk: Sendable {
        let firstRow: Int
        let fileOffset: Int
        let size: Int
    }

    /// The dataset's bytes decoded chunk by chunk, or nil when the dataset does not fit the fast path.
    func readChunksDirectly(_ plan: DatasetPlan) throws -> TensorData? {
        guard let rowsPerChunk = plan.directChunkRows, let region, let rows = plan.shape.first, rows > 0 else { return nil }
        let rowBytes = plan.byteCount / rows
        guard let chunkBytes = Checked.mul(rowsPerChunk, rowBytes), chunkBytes <= ZstdFilter.maxChunkBytes else { return nil }
        let expected = (rows + rowsPerChunk - 1) / rowsPerChunk
        guard let ds = HDF5Handle(H5Dopen2(file.id, plan.name, hid_t(H5P_DEFAULT)), .dataset, parent: file),
            let space = HDF5Handle(H5Dget_space(ds.id), .dataspace)
        else { return nil }
        var count: hsize_t = 0
        guard H5Dget_num_chunks(ds.id, space.id, &count) >= 0, count == hsize_t(expected), expected <= 1 << 16 else {
            _ = HDF5Library.errorStack()
            return nil
        }
        var chunks: [Chunk] = []
        var seen = [Bool](repeating: false, count: expected)
        var offset = [hsize_t](repeating: 0, count: plan.shape.count)
        for i in 0..<expected {
            var mask: UInt32 = 0
            var addr: haddr_t = 0
            var size: hsize_t = 0
            guard H5Dget_chunk_info(ds.id, space.id, hsize_t(i), &offset, &mask, &addr, &size) >= 0, mask == 0,
                offset.dropFirst().allSatisfy({ $0 == 0 }), let row = Checked.int(offset[0]), row % rowsPerChunk == 0,
                row < rows, !seen[row / rowsPerChunk], let start = Checked.int(UInt64(addr)), let n = Checked.int(size),
                let end = Checked.add(start, n), end <= region.count
            else {
                _ = HDF5Library.errorStack()
                return nil
            }
            seen[row / rowsPerChunk] = true
            chunks.append(Chunk(firstRow: row, fileOffset: start, size: n))
        }

        let object = "dataset '\(plan.name)'"
        let path = self.path
        let list = chunks
        let out = try ByteRegion(count: plan.byteCount) { buf in
            let base = UnsafeSendableRawPointer(buf.baseAddress!)
            let failures = FailureList()
            let workers = min(Self.decodeThreads, list.count)
            DispatchQueue.concurrentPerform(iterations: workers) { worker in
                var scratch: UnsafeMutableRawBufferPointer? = nil
                defer { scratch?.deallocate() }
                var i = worker
                while i < list.count, !failures.any {
                    let c = list[i]
                    let valid = min(rowsPerChunk, rows - c.firstRow) * rowBytes
                    let dst = UnsafeMutableRawBufferPointer(start: base.pointer + c.firstRow * rowBytes, count: valid)
                    region.withUnsafeBytes(offset: c.fileOffset, count: c.size) { src in
                        do {
                            try Self.decode(src, into: dst, chunkBytes: chunkBytes, scratch: &scratch)
                        } catch {
                            failures.add("chunk at row \(c.firstRow): \(error)")
                        }
                    }
                    i += workers
                }
            }
            if let f = failures.first { throw HDF5Error(path: path, object: object, "cannot read", detail: f) }
        }
        return TensorData(region: out, offset: 0, count: plan.byteCount)
    }

    /// Decodes one chunk frame (of `chunkBytes` bytes when whole) into `dst`, which holds the chunk's
    /// valid rows (fewer than a whole chunk at the end of the dataset).
    static func decode(
        _ src: UnsafeRawBufferPointer, into dst: UnsafeMutableRawBufferPointer, chunkBytes: Int,
        scratch: inout UnsafeMutableRawBufferPointer?
    ) throws {
        let size = try Zstd.contentSize(src)
        if case .known(let n) = size, n != chunkBytes {
            throw ZstdError("zstd frame holds \(n) bytes, the chunk \(chunkBytes)")
        }
        if dst.count == chunkBytes, case .known = size {
            let got = try Zstd.decompress(src, into: dst)
            guard got == chunkBytes else { throw ZstdError("zstd frame decoded to \(got) bytes, the chunk holds \(chunkBytes)") }
            return
        }
        // An edge chunk, or a frame without a content size: decode in full, keep the valid rows.
        if scratch == nil || scratch!.count < chunkBytes {
            scratch?.deallocate()
            scratch = .allocate(byteCount: chunkBytes, alignment: 64)
        }
        let tmp = UnsafeMutableRawBufferPointer(start: scratch!.baseAddress, count: chunkBytes)
        var used = 0
        _ = try Zstd.decompressStreaming(src, maxOutput: chunkBytes) { piece in
            (tmp.baseAddress! + used).copyMemory(from: piece.baseAddress!, byteCount: piece.count)
            used += piece.count
        }
        guard used == chunkBytes else { throw ZstdError("zstd frame decoded to \(used) bytes, the chunk holds \(chunkBytes)") }
        dst.copyMemory(from: UnsafeRawBufferPointer(start: tmp.baseAddress, count: dst.count))
    }
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
