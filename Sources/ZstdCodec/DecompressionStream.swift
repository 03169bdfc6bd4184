// A zstd decompression context (`ZSTD_DCtx`) fed input in pieces: the streaming path for `.zst`
// files and for frames that do not record their content size.

internal import CZstd

/// Streaming zstd decompression with a bounded window. Not thread-safe: one stream per task.
public final class DecompressionStream {
    private let dctx: OpaquePointer
    private let outBuffer: UnsafeMutableRawBufferPointer
    /// Bytes of input libzstd likes to be given at a time (`ZSTD_DStreamInSize`).
    public static var recommendedInputSize: Int { ZSTD_DStreamInSize() }

    /// A stream that refuses frames whose window exceeds 2^`maxWindowLog` bytes.
    public init(maxWindowLog: Int = Zstd.defaultMaxWindowLog) throws(ZstdError) {
        guard let d = ZSTD_createDCtx() else { throw ZstdError("cannot allocate a zstd decompression context") }
        dctx = d
        outBuffer = .allocate(byteCount: max(ZSTD_DStreamOutSize(), 1 << 17), alignment: 64)
        let r = ZSTD_DCtx_setParameter(d, ZSTD_d_windowLogMax, Int32(clamping: maxWindowLog))
        if ZSTD_isError(r) != 0 {
            ZSTD_freeDCtx(d)
            outBuffer.deallocate()
            throw ZstdError("zstd: bad window limit 2^\(maxWindowLog)")
        }
    }

    deinit {
        ZSTD_freeDCtx(dctx)
        outBuffer.deallocate()
    }

    /// Decompresses `input` completely, passing each piece of output to `sink`. Returns true when
    /// the last frame is not finished yet (more input is needed), false at a frame boundary.
    public func feed(_ input: UnsafeRawBufferPointer, sink: (UnsafeRawBufferPointer) throws -> Void) throws -> Bool {
        var inb = ZSTD_inBuffer(src: input.baseAddress, size: input.count, pos: 0)
        var pending = 1
        repeat {
            var outb = ZSTD_outBuffer(dst: outBuffer.baseAddress, size: outBuffer.count, pos: 0)
            let r = ZSTD_decompressStream(dctx, &outb, &inb)
            if ZSTD_isError(r) != 0 {
                let name = String(cString: ZSTD_getErrorName(r))
                if name.contains("indow") {
                    throw ZstdError("zstd frame needs a window larger than the limit: \(name)")
                }
                throw ZstdError("corrupt zstd data: \(name)")
            }
            pending = r
            if outb.pos > 0 { try sink(UnsafeRawBufferPointer(start: outBuffer.baseAddress, count: outb.pos)) }
            // Stop when all input is consumed and the output buffer was not filled (nothing left to flush).
            if inb.pos == inb.size && outb.pos < outb.size { break }
        } while true
        return pending != 0
    }
}
