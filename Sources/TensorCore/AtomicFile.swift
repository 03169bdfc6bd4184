// Atomic output: every writer writes to a temporary file beside the target, fsyncs it and
// renames it into place, so a failure or an interrupt never leaves a partial file.

internal import CSystem

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Temporary files being written, removed by `AtomicFile.removeAllPending()` (which a signal
/// handler may call) so an interrupted run leaves nothing behind.
public enum PendingFiles {
    nonisolated(unsafe) static var paths: [UnsafeMutablePointer<CChar>?] = Array(repeating: nil, count: 64)
    /// Temporary directories, removed (after the files, which may live in them) by `unlinkAll()`.
    nonisolated(unsafe) static var directories: [UnsafeMutablePointer<CChar>?] = Array(repeating: nil, count: 8)
    nonisolated(unsafe) static var lock = pthread_mutex_t()
    nonisolated(unsafe) static var lockReady = false

    /// Sets the lists and the lock up. Call before installing a signal handler that calls
    /// `unlinkAll()`: Swift initialises globals lazily (allocating), which a handler must never do.
    public static func prepare() {
        _ = withLock { paths.count + directories.count }
    }

    static func withLock<R>(_ body: () -> R) -> R {
        if !lockReady { pthread_mutex_init(&lock, nil); lockReady = true }
        pthread_mutex_lock(&lock)
        defer { pthread_mutex_unlock(&lock) }
        return body()
    }

    /// Registers a file to remove on `unlinkAll()`; returns its slot (nil when all are taken).
    public static func add(_ path: String) -> Int? {
        withLock {
            guard let slot = paths.firstIndex(where: { $0 == nil }) else { return nil }
            paths[slot] = strdup(path)
            return slot
        }
    }

    /// Forgets a file registered with `add`.
    public static func remove(slot: Int) {
        withLock {
            free(paths[slot])
            paths[slot] = nil
        }
    }

    /// Registers an (empty once its registered files are gone) directory to remove on `unlinkAll()`.
    public static func addDirectory(_ path: String) -> Int? {
        withLock {
            guard let slot = directories.firstIndex(where: { $0 == nil }) else { return nil }
            directories[slot] = strdup(path)
            return slot
        }
    }

    /// Forgets a directory registered with `addDirectory`.
    public static func removeDirectory(slot: Int) {
        withLock {
            free(directories[slot])
            directories[slot] = nil
        }
    }

    /// Unlinks every pending temporary file, then removes the pending directories. Only
    /// `unlink` and `rmdir` are called, so a signal handler may call it (the arrays are read
    /// without the lock).
    public static func unlinkAll() {
        for p in paths { if let p { unlink(p) } }
        for d in directories { if let d { rmdir(d) } }
    }
}


/// A file written to `<dir>/.<name>.wk-tmp-<pid>-<n>` and renamed to its destination on `commit()`.
/// Dropped without `commit()`, the temporary is removed.
public final class AtomicFile {
    public let destination: String
    public let temporaryPath: String
    private var fd: Int32
    private var buffer: UnsafeMutableRawPointer
    private let bufferSize = 1 << 20
    private var buffered = 0
    private var slot: Int?
    private var finished = false
    /// Bytes written so far.
    public private(set) var bytesWritten = 0
    /// Bytes handed to write(2), and where asynchronous writeback was last started.
    private var fileOffset = 0
    private var writebackStart = 0

    nonisolated(unsafe) private static var counter = 0

    /// Opens a temporary beside `destination`. Fails when the destination exists and
    /// `overwrite` is false.
    public init(destination: String, overwrite: Bool = true) throws {
        self.destination = destination
        if !overwrite, access(destination, F_OK) == 0 {
            throw TensorCoreError("\(destination): already exists (use --force to overwrite)")
        }
        let slash = destination.lastIndex(of: "/")
        let dir = slash.map { String(destination[..<$0]) } ?? "."
        let base = slash.map { String(destination[destination.index(after: $0)...]) } ?? destination
        AtomicFile.counter += 1
        temporaryPath = (dir.isEmpty ? "" : dir + "/") + ".\(base).wk-tmp-\(getpid())-\(AtomicFile.counter)"
        fd = open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw TensorCoreError("\(destination): cannot create a temporary file in '\(dir)': \(errnoText())") }
        buffer = UnsafeMutableRawPointer.allocate(byteCount: bufferSize, alignment: 64)
        slot = PendingFiles.add(temporaryPath)
    }

    deinit {
        if !finished { abort() }
        buffer.deallocate()
    }

    /// Appends bytes.
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard !finished else { throw TensorCoreError("\(destination): write after the file was closed") }
        if bytes.count >= bufferSize {
            try flush()
            try writeAll(bytes)
            bytesWritten += bytes.count
            return
        }
        if buffered + bytes.count > bufferSize { try flush() }
        if let src = bytes.baseAddress { (buffer + buffered).copyMemory(from: src, byteCount: bytes.count) }
        buffered += bytes.count
        bytesWritten += bytes.count
    }

    /// Appends bytes.
    public func write(_ bytes: [UInt8]) throws { try bytes.withUnsafeBytes { try write($0) } }

    /// Appends `count` zero bytes.
    public func writeZeros(_ count: Int) throws {
        guard count > 0 else { return }
        try write([UInt8](repeating: 0, count: count))
    }

    private func writeAll(_ bytes: UnsafeRawBufferPointer) throws {
        var off = 0
        while off < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + off, bytes.count - off)
            if n < 0 {
                if errno == EINTR { continue }
                throw TensorCoreError("\(destination): write failed: \(errnoText())")
            }
            off += n
        }
        fileOffset += bytes.count
        // Start writeback of every full 32 MiB behind us, so the fsync in commit() has little
        // left to wait for (Linux sync_file_range, SYNC_FILE_RANGE_WRITE: asynchronous).
        let chunk = 32 << 20
        if fileOffset - writebackStart >= chunk {
            let end = fileOffset - fileOffset % chunk
            _ = wk_start_writeback(fd, Int64(writebackStart), Int64(end - writebackStart))
            writebackStart = end
        }
    }

    private func flush() throws {
        if buffered > 0 {
            let n = buffered
            buffered = 0
            try writeAll(UnsafeRawBufferPointer(start: buffer, count: n))
        }
    }

    /// Flushes, fsyncs, and renames the temporary onto the destination.
    public func commit() throws {
        guard !finished else { return }
        do {
            try flush()
            guard fsync(fd) == 0 else { throw TensorCoreError("\(destination): fsync failed: \(errnoText())") }
            guard close(fd) == 0 else { throw TensorCoreError("\(destination): close failed: \(errnoText())") }
            fd = -1
            guard rename(temporaryPath, destination) == 0 else {
                throw TensorCoreError("\(destination): cannot rename the temporary into place: \(errnoText())")
            }
        } catch {
            abort()
            throw error
        }
        finished = true
        if let slot { PendingFiles.remove(slot: slot) }
        let dir = destination.lastIndex(of: "/").map { String(destination[..<$0]) } ?? "."
        let dfd = open(dir.isEmpty ? "/" : dir, O_RDONLY | O_DIRECTORY)
        if dfd >= 0 { fsync(dfd); close(dfd) }
    }

    /// Closes and removes the temporary; the destination is untouched.
    public func abort() {
        if finished { return }
        finished = true
        if fd >= 0 { close(fd); fd = -1 }
        unlink(temporaryPath)
        if let slot { PendingFiles.remove(slot: slot) }
    }
}
