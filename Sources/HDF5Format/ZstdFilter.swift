// HDF5 filter 32015 (Zstandard, Formats/hdf5.md §4) registered in-process with `H5Zregister`, so
// files written by h5py + hdf5plugin open without HDF5_PLUGIN_PATH.
//
// Chunk encoding (compatible with hdf5plugin's zstd_h5plugin.c): each chunk is one zstd frame
// written by one-shot `ZSTD_compress` (content size recorded); cd_values[0] is the level, clamped
// to 1…ZSTD_maxCLevel, default 3. Decoding accepts frames without a content size (streamed), checks
// every libzstd error, and refuses chunks claiming more than 4 GiB (HDF5's chunk limit). Buffers
// handed back to HDF5 come from `H5allocate_memory` and the old one is released with `H5free_memory`.

internal import CHDF5
import ZstdCodec
#if canImport(Glibc)
    import Glibc
#endif

enum ZstdFilter {
    static let id: H5Z_filter_t = 32015
    /// The largest decoded chunk accepted: HDF5 chunks are at most 4 GiB.
    static let maxChunkBytes = 1 << 32

    /// Registers the filter; called once by `HDF5Library`.
    static func register() {
        let cls = UnsafeMutablePointer<H5Z_class2_t>.allocate(capacity: 1)  // lives for the process
        let name = StaticString("zstd (WeightKit)")
        cls.initialize(
            to: H5Z_class2_t(
                version: wk_H5Z_CLASS_T_VERS(), id: id, encoder_present: 1, decoder_present: 1,
                name: UnsafeRawPointer(name.utf8Start).assumingMemoryBound(to: CChar.self),
                can_apply: nil, set_local: nil, filter: zstdFilterFunction))
        _ = H5Zregister(cls)
    }

    // The filter's last failure, reported by `HDF5Library.reason()`. libhdf5's global lock
    // runs one filter call at a time; the mutex keeps the hand-over itself safe.
    nonisolated(unsafe) private static var lastError: String?
    nonisolated(unsafe) private static var mutex: pthread_mutex_t = {
        var m = pthread_mutex_t()
        pthread_mutex_init(&m, nil)
        return m
    }()

    static func setLastError(_ text: String) {
        pthread_mutex_lock(&mutex)
        lastError = text
        pthread_mutex_unlock(&mutex)
    }

    static func takeLastError() -> String? {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        let e = lastError
        lastError = nil
        return e
    }

    /// Decodes one chunk into a new HDF5 buffer; nil (after recording why) on failure.
    static func decode(_ src: UnsafeRawBufferPointer) -> (UnsafeMutableRawPointer, Int)? {
        do {
            if case .known(let n) = try Zstd.contentSize(src) {
                guard n <= maxChunkBytes else { throw ZstdError("zstd chunk claims \(n) bytes, more than 4 GiB") }
                guard let out = H5allocate_memory(max(n, 1), false) else { throw ZstdError("cannot allocate \(n) bytes") }
                if let got = try? Zstd.decompress(src, into: UnsafeMutableRawBufferPointer(start: out, count: n)), got == n {
                    return (out, n)
                }
                H5free_memory(out)  // more than one frame, or corrupt: the streaming path says which
            }
            var cap = max(src.count * 2, 1 << 16)
            var out = H5allocate_memory(cap, false)
            var used = 0
            do {
                _ = try Zstd.decompressStreaming(src, maxOutput: maxChunkBytes) { piece in
                    if used + piece.count > cap {
                        let newCap = max(cap * 2, used + piece.count)
                        guard let grown = H5resize_memory(out, newCap) else { throw ZstdError("cannot allocate \(newCap) bytes") }
                        out = grown
                        cap = newCap
                    }
                    guard let out else { throw ZstdError("cannot allocate \(cap) bytes") }
                    (out + used).copyMemory(from: piece.baseAddress!, byteCount: piece.count)
                    used += piece.count
                }
            } catch {
                H5free_memory(out)
                throw error
            }
            guard let out else { throw ZstdError("cannot allocate \(cap) bytes") }
            return (out, used)
        } catch {
            setLastError("\(error)")
            return nil
        }
    }

    /// Encodes one chunk into a new HDF5 buffer at `level`.
    static func encode(_ src: UnsafeRawBufferPointer, level: Int) -> (UnsafeMutableRawPointer, Int)? {
        let bound = Zstd.compressBound(src.count)
        guard let out = H5allocate_memory(bound, false) else {
            setLastError("cannot allocate \(bound) bytes")
            return nil
        }
        do {
            let n = try Zstd.compress(src, into: UnsafeMutableRawBufferPointer(start: out, count: bound), level: level)
            return (out, n)
        } catch {
            H5free_memory(out)
            setLastError("\(error)")
            return nil
        }
    }
}

/// `H5Z_func_t`: returns the new data length, or 0 on failure (HDF5 then keeps `*buf`).
private let zstdFilterFunction: H5Z_func_t = { flags, cdNelmts, cdValues, nbytes, bufSize, buf in
    guard let buf, let bufSize, let input = buf.pointee else { return 0 }
    let src = UnsafeRawBufferPointer(start: input, count: nbytes)
    let result: (UnsafeMutableRawPointer, Int)?
    if flags & wk_H5Z_FLAG_REVERSE() != 0 {
        result = ZstdFilter.decode(src)
    } else {
        var level = Zstd.defaultLevel
        if cdNelmts >= 1, let cdValues { level = Int(cdValues[0]) }
        level = min(max(level, 1), Zstd.levels.upperBound)
        result = ZstdFilter.encode(src, level: level)
    }
    guard let (out, n) = result else { return 0 }
    H5free_memory(input)
    buf.pointee = out
    bufSize.pointee = max(n, 1)
    return n
}
