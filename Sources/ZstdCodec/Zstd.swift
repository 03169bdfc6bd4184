// zstd frames (Formats/hdf5.md §4 and §5): one-shot compression and decompression of chunks (HDF5's filter
// 32015 stores each chunk as one frame), a streaming fallback for frames without a content
// size, and a frame check. Every libzstd return value goes through `ZSTD_isError`.
//
// Frame: magic 28 B5 2F FD (0xFD2FB528 little-endian), a frame header that may record the
// content size, blocks, an optional checksum. Skippable frames: magic 0x184D2A50…5F, then a
// 4-byte length and that many bytes.

internal import CZstd

/// zstd compression and decompression over byte buffers (`libzstd`).
public enum Zstd {
    /// `ZSTD_MAGICNUMBER` as stored on disk.
    public static let magic: [UInt8] = [0x28, 0xB5, 0x2F, 0xFD]
    /// The default compression level (`ZSTD_CLEVEL_DEFAULT`).
    public static let defaultLevel = 3
    /// The largest window (log2 bytes) accepted from untrusted input: 2^27 = 128 MiB, libzstd's
    /// own default limit and what the `zstd` tool accepts without `--memory`.
    public static let defaultMaxWindowLog = 27

    /// True when `bytes` starts with a zstd frame or a skippable frame.
    public static func isFrame(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard bytes.count >= 4 else { return false }
        let m = UInt32(bytes[0]) | UInt32(bytes[1]) << 8 | UInt32(bytes[2]) << 16 | UInt32(bytes[3]) << 24
        return m == 0xFD2F_B528 || (m & 0xFFFF_FFF0) == 0x184D_2A50
    }

    /// True when `bytes` starts with a zstd frame or a skippable frame.
    public static func isFrame(_ bytes: [UInt8]) -> Bool { bytes.withUnsafeBytes { isFrame($0) } }

    /// The lowest and highest levels libzstd accepts (negative levels are the fast modes).
    public static var levels: ClosedRange<Int> { Int(ZSTD_minCLevel())...Int(ZSTD_maxCLevel()) }

    /// The most bytes compressing `count` bytes can produce.
    public static func compressBound(_ count: Int) -> Int { Int(ZSTD_compressBound(count)) }

    /// What a frame header says about the decompressed size.
    public enum ContentSize: Sendable, Equatable {
        /// The header records the size.
        case known(Int)
        /// The frame was written by a streaming compressor that did not record it.
        case unknown
    }

    /// Reads the content size from the frame header at the start of `src`.
    public static func contentSize(_ src: UnsafeRawBufferPointer) throws(ZstdError) -> ContentSize {
        guard let base = src.baseAddress, src.count >= 4 else { throw ZstdError("not a zstd frame (\(src.count) bytes)") }
        let r = ZSTD_getFrameContentSize(base, src.count)
        if r == UInt64.max { return .unknown }  // ZSTD_CONTENTSIZE_UNKNOWN
        if r == UInt64.max - 1 {  // ZSTD_CONTENTSIZE_ERROR
            throw isFrame(src) ? ZstdError("corrupt or truncated zstd frame header") : ZstdError("not a zstd frame (bad magic)")
        }
        guard r <= UInt64(Int.max) else { throw ZstdError("zstd frame claims \(r) bytes of content") }
        return .known(Int(r))
    }

    /// Compresses `src` into `dst` at `level` as one frame with its content size recorded;
    /// returns the compressed length. `dst` needs `compressBound(src.count)` bytes to be sure.
    public static func compress(
        _ src: UnsafeRawBufferPointer, into dst: UnsafeMutableRawBufferPointer, level: Int = defaultLevel
    ) throws(ZstdError) -> Int {
        let r = ZSTD_compress(dst.baseAddress, dst.count, src.baseAddress, src.count, Int32(clamping: level))
        try check(r, "compression")
        return r
    }

    /// Compresses `src` at `level` into a new array (one frame, content size recorded).
    public static func compress(_ src: [UInt8], level: Int = defaultLevel) throws -> [UInt8] {
        let bound = compressBound(src.count)
        var out = [UInt8](repeating: 0, count: bound)
        let n = try src.withUnsafeBytes { s in
            try out.withUnsafeMutableBytes { d in try compress(s, into: d, level: level) }
        }
        out.removeSubrange(n...)
        return out
    }

    /// Decompresses the frames in `src` into `dst`, which must hold the whole content; returns
    /// the decompressed length. Fails (never writes past `dst`) when the content is larger.
    public static func decompress(_ src: UnsafeRawBufferPointer, into dst: UnsafeMutableRawBufferPointer) throws(ZstdError) -> Int {
        let r = ZSTD_decompress(dst.baseAddress, dst.count, src.baseAddress, src.count)
        try check(r, "decompression")
        return r
    }

    /// Decompresses every frame in `src` and passes the output to `sink` in pieces, in order,
    /// with memory bounded by the window (at most 2^`maxWindowLog` bytes) and `maxOutput`.
    /// Handles frames without a recorded content size; a frame cut short is an error.
    public static func decompressStreaming(
        _ src: UnsafeRawBufferPointer, maxOutput: Int = Int.max, maxWindowLog: Int = defaultMaxWindowLog,
        sink: (UnsafeRawBufferPointer) throws -> Void
    ) throws -> Int {
        let stream = try DecompressionStream(maxWindowLog: maxWindowLog)
        var total = 0
        let more = try stream.feed(src) { piece in
            total += piece.count
            guard total <= maxOutput else { throw ZstdError("zstd content is larger than \(maxOutput) bytes") }
            try sink(piece)
        }
        if more { throw ZstdError("truncated zstd frame (input ends after \(src.count) bytes)") }
        return total
    }

    /// Decompresses `src` into a new array: one-shot when the frame records its content size,
    /// streamed otherwise (or when more frames follow). Refuses content larger than `maxOutput`
    /// bytes before allocating.
    public static func decompress(_ src: [UInt8], maxOutput: Int = 1 << 32) throws -> [UInt8] {
        try src.withUnsafeBytes { s in
            if case .known(let n) = try contentSize(s) {
                guard n <= maxOutput else {
                    throw ZstdError("zstd frame claims \(n) bytes of content, more than the limit of \(maxOutput)")
                }
                var out = [UInt8](repeating: 0, count: n)
                let got = try? out.withUnsafeMutableBytes { d in try decompress(s, into: d) }
                if got == n { return out }
            }
            var out: [UInt8] = []
            _ = try decompressStreaming(s, maxOutput: maxOutput) { out.append(contentsOf: $0) }
            return out
        }
    }

    /// Throws when `code` is a libzstd error code.
    static func check(_ code: Int, _ what: String) throws(ZstdError) {
        if ZSTD_isError(code) != 0 {
            throw ZstdError("zstd \(what) failed: \(String(cString: ZSTD_getErrorName(code)))")
        }
    }
}
