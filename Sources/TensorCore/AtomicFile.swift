// Atomic output: every writer writes to a temporary file beside the target, fsyncs it and
// renames it into place, so a failure or an interrupt never leaves a partial file.

internal import CSystem

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Temporary files being written, removed when an interrupt (SIGINT, SIGTERM, SIGHUP) or the
/// SIGBUS guard ends the process, so an interrupted run leaves nothing behind. The list lives in
/// static C storage (CSystem) that a signal handler may read: no Swift code runs in a handler.
public enum PendingFiles {
    /// Kept for callers that set up before installing handlers; the C storage needs no setup.
    public static func prepare() {}

    /// Registers a file to remove on `unlinkAll()`; returns its slot (nil when all are taken).
    public static func add(_ path: String) -> Int? {
        let s = wk_pending_add(path)
        return s >= 0 ? Int(s) : nil
    }

    /// Forgets a file registered with `add`.
    public static func remove(slot: Int) { wk_pending_remove(Int32(slot)) }

    /// Registers an (empty once its registered files are gone) directory to remove on `unlinkAll()`.
    public static func addDirectory(_ path: String) -> Int? {
        let s = wk_pending_add_directory(path)
        return s >= 0 ? Int(s) : nil
    }

    /// Forgets a directory registered with `addDirectory`.
    public static func removeDirectory(slot: Int) { wk_pending_remove_directory(Int32(slot)) }

    /// Unlinks every pending temporary file, then removes the pending directories.
    public static func unlinkAll() { wk_pending_unlink_all() }

    /// Runs `body` as a critical section (creating and registering a named temporary, renaming one
    /// into place): an interrupt arriving meanwhile takes effect when it ends, so no name is
    /// created after the handler removed the pending ones.
    public static func critical<R>(_ body: () throws -> R) rethrows -> R {
        wk_critical_enter()
        defer { wk_critical_leave() }
        return try body()
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
        let tmp = (dir.isEmpty ? "" : dir + "/") + ".\(base).wk-tmp-\(getpid())-\(AtomicFile.counter)"
        temporaryPath = tmp
        // Registered before it exists, in a critical section, so an interrupt never finds it
        // created but not yet on the list (or creates it after the list was cleared).
        let (fd, slot, err) = PendingFiles.critical { () -> (Int32, Int?, Int32) in
            let slot = PendingFiles.add(tmp)
            let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
            let err = errno
            if fd < 0, let slot { PendingFiles.remove(slot: slot) }
            return (fd, slot, err)
        }
        guard fd >= 0 else {
            errno = err
            throw TensorCoreError("\(destination): cannot create a temporary file in '\(dir)': \(errnoText())")
        }
        self.fd = fd
        self.slot = slot
        buffer = UnsafeMutableRawPointer.allocate(byteCount: bufferSize, alignment: 64)
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
            // Renamed and taken off the list together: an interrupt meanwhile waits for both.
            let renamed = PendingFiles.critical { () -> Int32? in
                guard rename(temporaryPath, destination) == 0 else { return errno }
                finished = true
                if let slot { PendingFiles.remove(slot: slot) }
                return nil
            }
            if let e = renamed {
                errno = e
                throw TensorCoreError("\(destination): cannot rename the temporary into place: \(errnoText())")
            }
        } catch {
            abort()
            throw error
        }
        let dir = destination.lastIndex(of: "/").map { String(destination[..<$0]) } ?? "."
        let dfd = open(dir.isEmpty ? "/" : dir, O_RDONLY | O_DIRECTORY)
        if dfd >= 0 { fsync(dfd); close(dfd) }
    }

    /// Closes and removes the temporary; the destination is untouched.
    public func abort() {
        if finished { return }
        finished = true
        if fd >= 0 { close(fd); fd = -1 }
        PendingFiles.critical {
            unlink(temporaryPath)
            if let slot { PendingFiles.remove(slot: slot) }
        }
    }
}
