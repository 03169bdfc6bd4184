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
        from source: String, to destination: String, overwrite: Bool = true, maxWindowLog: Int = defaultMaxWindowLog,
        maxOutput: Int = Int.max
    ) throws -> Int {
        let fd = open(source, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ZstdError("\(source): cannot open: \(errnoText())") }
        defer { close(fd) }
        let out = try AtomicFile(destination: destination, overwrite: overwrite)
        do {
            let produced = try decompressStream(fd, maxWindowLog: maxWindowLog, maxOutput: maxOutput) { try out.write($0) }
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
    public static func decompressToTemporaryFile(from source: String, directory: String? = nil, maxOutput: Int = Int.max) throws -> String {
        let dir = directory ?? ProcessEnvironment.temporaryDirectory
        var base = source.split(separator: "/").last.map(String.init) ?? "input"
        if base.hasSuffix(".zst") { base.removeLast(4) }
        let path = "\(dir)/wk-\(getpid())-\(temporaryCounter.next())-\(base)"
        try decompressFile(from: source, to: path, overwrite: false, maxOutput: maxOutput)
        return path
    }
}

extension Zstd {
    /// The one streaming loop behind both file decompressions: reads `fd` to its end, checks the
    /// first bytes are a zstd frame, passes every decompressed piece to `sink` and stops with an
    /// error once more than `maxOutput` bytes came out. Errors do not yet name the file.
    /// - Returns: the number of decompressed bytes.
    @discardableResult
    private static func decompressStream(
        _ fd: Int32, maxWindowLog: Int, maxOutput: Int, sink: (UnsafeRawBufferPointer) throws -> Void
    ) throws -> Int {
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
            if consumed == 0, !isFrame(piece) {
                let head = piece.prefix(4).map { String($0, radix: 16) }.joined(separator: " ")
                throw ZstdError("not a zstd file (starts with bytes \(head), not 28 b5 2f fd)")
            }
            pending = try stream.feed(piece) { bytes in
                produced += bytes.count
                guard produced <= maxOutput else { throw ZstdError(capMessage(maxOutput, consumed: consumed + n)) }
                try sink(bytes)
            }
            consumed += n
        }
        if consumed == 0 { throw ZstdError("empty file, not a zstd frame") }
        if pending { throw ZstdError("truncated zstd frame (input ends after \(consumed) bytes)") }
        return produced
    }

    static func capMessage(_ cap: Int, consumed: Int) -> String {
        "decompresses to more than \(cap) bytes (the limit; raise it with --max-decompressed SIZE or WEIGHTKIT_MAX_DECOMPRESSED, in bytes or with K/M/G/T); stopped after reading \(consumed) compressed bytes"
    }

    /// The default cap on what a `.zst` input may decompress to: `WEIGHTKIT_MAX_DECOMPRESSED` (bytes, or
    /// with a K/M/G/T suffix) when set, else 32 times the compressed size and at least 1 GiB.
    public static func defaultDecompressedLimit(compressedBytes: Int) -> Int {
        if let e = getenv("WEIGHTKIT_MAX_DECOMPRESSED"), let v = parseSize(String(cString: e)) { return v }
        return max(1 << 30, compressedBytes.multipliedReportingOverflow(by: 32).overflow ? Int.max : compressedBytes * 32)
    }

    /// `123`, `4K`, `512M`, `2G`, `1T` (powers of 1024); nil when malformed.
    public static func parseSize(_ text: String) -> Int? {
        var t = text.trimmingCharacters()
        var scale = 1
        if let last = t.last, let s = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40][String(last).uppercased()] {
            scale = s
            t.removeLast()
        }
        guard let v = Int(t), v >= 0, !v.multipliedReportingOverflow(by: scale).overflow else { return nil }
        return v * scale
    }

    /// Decompresses the zstd file at `source` into a file that has no name (`O_TMPFILE` in `directory`,
    /// default `$TMPDIR` or `/tmp`), so nothing is left behind whatever ends the process, refusing
    /// content larger than `maxOutput` bytes. Returns the open descriptor and a path that reaches it
    /// from this process and its children (`/proc/PID/fd/N`); the caller closes the descriptor, or
    /// keeps it open as long as the path is used. nil when the platform or file system has no `O_TMPFILE`.
    public static func decompressToUnlinkedFile(from source: String, directory: String? = nil, maxOutput: Int) throws -> (fd: Int32, path: String)? {
        let dir = directory ?? ProcessEnvironment.temporaryDirectory
        let out = open(dir, O_RDWR | 0o20_200_000 /* O_TMPFILE */, 0o600)
        if out < 0 { return nil }
        var ok = false
        defer { if !ok { close(out) } }
        let fd = open(source, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ZstdError("\(source): cannot open: \(errnoText())") }
        defer { close(fd) }
        do {
            try decompressStream(fd, maxWindowLog: defaultMaxWindowLog, maxOutput: maxOutput) { bytes in
                var done = 0
                while done < bytes.count {
                    let w = write(out, bytes.baseAddress! + done, bytes.count - done)
                    if w < 0, errno == EINTR { continue }
                    guard w > 0 else { throw ZstdError("cannot write the decompressed copy in \(dir): \(errnoText())") }
                    done += w
                }
            }
        } catch let e as ZstdError {
            throw e.naming(source)
        }
        ok = true
        return (out, "/proc/\(getpid())/fd/\(out)")
    }
}

extension String {
    fileprivate func trimmingCharacters() -> String {
        var s = Substring(self)
        while let f = s.first, f == " " { s.removeFirst() }
        while let l = s.last, l == " " { s.removeLast() }
        return String(s)
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
