// `.zst` inputs (`model.safetensors.zst`, `model.gguf.zst`, …): streamed to a file with memory
// bounded by the zstd window and one input and one output buffer.

#if canImport(Glibc)
    import Glibc
#endif
import TensorCore

extension Zstd {
    /// Decompresses the zstd file at `source` into `destination`, atomically: the output is
    /// written to a temporary beside `destination`, fsynced and renamed, and removed on any error.
    /// Memory stays bounded (the window, at most 2^`maxWindowLog` bytes, plus two buffers).
    /// Concatenated and skippable frames are accepted, as by the `zstd` tool.
    ///
    /// Errors are one line naming `source`: not a zstd file, corrupt data, a window larger than
    /// the limit, or a frame cut short (`model.safetensors.zst: truncated zstd frame …`).
    /// - Returns: the number of decompressed bytes written.
    @discardableResult
    public static func decompressFile(
        from source: String, to destination: String, overwrite: Bool = true, maxWindowLog: Int = defaultMaxWindowLog
    ) throws -> Int {
        let fd = open(source, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ZstdError("\(source): cannot open: \(errnoText())") }
        defer { close(fd) }
        let out = try AtomicFile(destination: destination, overwrite: overwrite)
        do {
            let stream = try DecompressionStream(maxWindowLog: maxWindowLog)
            let inSize = max(DecompressionStream.recommendedInputSize, 1 << 17)
            let input = UnsafeMutableRawBufferPointer.allocate(byteCount: inSize, alignment: 64)
            defer { input.deallocate() }
            var consumed = 0
            var produced = 0
            var pending = false
            while true {
                let n = read(fd, input.baseAddress, inSize)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw ZstdError("cannot read: \(errnoText())")
                }
                if n == 0 { break }
                let piece = UnsafeRawBufferPointer(start: input.baseAddress, count: n)
                if consumed == 0 {
                    guard isFrame(piece) else {
                        let head = piece.prefix(4).map { String($0, radix: 16) }.joined(separator: " ")
                        throw ZstdError("not a zstd file (starts with bytes \(head), not 28 b5 2f fd)")
                    }
                }
                pending = try stream.feed(piece) { bytes in
                    try out.write(bytes)
                    produced += bytes.count
                }
                consumed += n
            }
            if consumed == 0 { throw ZstdError("empty file, not a zstd frame") }
            if pending { throw ZstdError("truncated zstd frame (input ends after \(consumed) bytes)") }
            try out.commit()
            return produced
        } catch let e as ZstdError {
            out.abort()
            throw e.naming(source)
        } catch {
            out.abort()
            throw error
        }
    }

    /// Decompresses `source` (a path ending in `.zst`) into a new file in `directory` (default
    /// `$TMPDIR` or `/tmp`) named after it without `.zst`, so `model.safetensors.zst` becomes
    /// `…/wk-<pid>-<n>-model.safetensors`. The caller removes the file when done.
    /// - Returns: the path of the decompressed file.
    public static func decompressToTemporaryFile(from source: String, directory: String? = nil) throws -> String {
        let dir = directory ?? ProcessEnvironment.temporaryDirectory
        var base = source.split(separator: "/").last.map(String.init) ?? "input"
        if base.hasSuffix(".zst") { base.removeLast(4) }
        let path = "\(dir)/wk-\(getpid())-\(temporaryCounter.next())-\(base)"
        try decompressFile(from: source, to: path, overwrite: false)
        return path
    }
}

/// Where temporary files go.
enum ProcessEnvironment {
    static var temporaryDirectory: String {
        if let t = getenv("TMPDIR"), t.pointee != 0 { return String(cString: t) }
        return "/tmp"
    }
}

/// A process-wide counter for unique temporary names.
final class Counter: @unchecked Sendable {
    // @unchecked: every access goes through the mutex.
    private var mutex = pthread_mutex_t()
    private var n = 0
    init() { pthread_mutex_init(&mutex, nil) }
    func next() -> Int {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        n += 1
        return n
    }
}
let temporaryCounter = Counter()
