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


/// A file written without a name and linked to its destination on `commit()`, so nothing is left
/// behind whatever ends the process (SIGKILL included): on Linux an `O_TMPFILE` file in the
/// destination's directory, linked with `linkat` (straight to the destination when it does not
/// exist, else to a temporary name renamed over it). Where the file system refuses `O_TMPFILE`, a
/// named temporary `<dir>/.<name>.wk-tmp-<pid>-<n>`, on the pending list (removed by an
/// interrupt) and, after a SIGKILL, by the next conversion into that directory
/// (`StaleTemporaries`). Dropped without `commit()`, the temporary is removed.
public final class AtomicFile {
    public let destination: String
    /// A path that opens the temporary: `/proc/self/fd/<n>` for an unnamed file, else its name.
    public let temporaryPath: String
    private var fd: Int32
    /// Whether the file has no name (O_TMPFILE) until `commit()`.
    private let unnamed: Bool
    private let overwrite: Bool
    private let directory: String
    private let base: String
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
    /// Linux's O_TMPFILE (__O_TMPFILE | O_DIRECTORY), which Glibc does not export to Swift.
    static let oTmpfile: Int32 = 0o20_200_000

    /// Opens a temporary beside `destination`. Fails when the destination exists and
    /// `overwrite` is false. `named` asks for a named temporary even where an unnamed one is
    /// possible: for a writer that must open the file by a name that is not a symbolic link
    /// (libhdf5 1.10 resolves a `/proc/self/fd/<n>` name with realpath(3), which fails for an
    /// unnamed file: "can't retrieve real path for file").
    ///
    /// `unnamedIn` puts the unnamed file in another directory of the same file system (a model
    /// directory's files are written before the directory that will hold them exists).
    public init(destination: String, overwrite: Bool = true, named: Bool = false, unnamedIn: String? = nil) throws {
        self.destination = destination
        self.overwrite = overwrite
        if !overwrite, access(destination, F_OK) == 0 {
            throw TensorCoreError("\(destination): already exists (use --force to overwrite)")
        }
        let slash = destination.lastIndex(of: "/")
        let dir = slash.map { String(destination[..<$0]) } ?? "."
        directory = dir.isEmpty ? "/" : dir
        base = slash.map { String(destination[destination.index(after: $0)...]) } ?? destination
        // Linking an unnamed file goes through /proc/self/fd (linkat with AT_EMPTY_PATH needs a privilege).
        let anonymous = named || !AtomicFile.canLinkUnnamed ? -1 : open(unnamedIn ?? directory, O_RDWR | AtomicFile.oTmpfile | O_CLOEXEC, 0o644)
        if anonymous >= 0 {
            fd = anonymous
            unnamed = true
            temporaryPath = "/proc/self/fd/\(anonymous)"
        } else {
            let tmp = AtomicFile.temporaryName(directory: directory, base: base)
            temporaryPath = tmp
            unnamed = false
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
        }
        buffer = UnsafeMutableRawPointer.allocate(byteCount: bufferSize, alignment: 64)
    }

    /// Whether /proc/self/fd is there to link an unnamed file by (a chroot or container may lack /proc).
    public static let canLinkUnnamed = access("/proc/self/fd", F_OK) == 0

    /// `<dir>/.<base>.wk-tmp-<pid>-<n>`: the pattern `StaleTemporaries` recognises.
    static func temporaryName(directory: String, base: String) -> String {
        AtomicFile.counter += 1
        return (directory == "/" ? "" : directory) + "/.\(base).wk-tmp-\(getpid())-\(AtomicFile.counter)"
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

    /// Whether the file has no name until `commit()`.
    public var isUnnamed: Bool { unnamed }

    /// Flushes and fsyncs, so that a later `commit()` has little left to do.
    public func sync() throws {
        try flush()
        guard fsync(fd) == 0 else { throw TensorCoreError("\(destination): fsync failed: \(errnoText())") }
    }

    /// Flushes, fsyncs, and links or renames the temporary onto the destination.
    public func commit() throws {
        guard !finished else { return }
        do {
            try flush()
            guard fsync(fd) == 0 else { throw TensorCoreError("\(destination): fsync failed: \(errnoText())") }
            if unnamed { try link() } else { try rename() }
        } catch {
            abort()
            throw error
        }
        let dfd = open(directory, O_RDONLY | O_DIRECTORY)
        if dfd >= 0 { fsync(dfd); close(dfd) }
    }

    /// The named temporary renamed onto the destination, and taken off the list, together: an
    /// interrupt meanwhile waits for both.
    private func rename() throws {
        guard close(fd) == 0 else { throw TensorCoreError("\(destination): close failed: \(errnoText())") }
        fd = -1
        let failed = PendingFiles.critical { () -> Int32? in
            guard Glibc.rename(temporaryPath, destination) == 0 else { return errno }
            finished = true
            if let slot { PendingFiles.remove(slot: slot) }
            return nil
        }
        if let e = failed {
            errno = e
            throw TensorCoreError("\(destination): cannot rename the temporary into place: \(errnoText())")
        }
    }

    /// The unnamed file linked at the destination (which must not exist, unless `overwrite`: then
    /// linked at a temporary name, on the pending list, and renamed over it).
    private func link() throws {
        let source = "/proc/self/fd/\(fd)"
        let AT_SYMLINK_FOLLOW: Int32 = 0x400
        let failed = PendingFiles.critical { () -> (Int32, String)? in
            if linkat(AT_FDCWD, source, AT_FDCWD, destination, AT_SYMLINK_FOLLOW) == 0 { return nil }
            guard errno == EEXIST, overwrite else { return (errno, "cannot link the new file into place") }
            let tmp = AtomicFile.temporaryName(directory: directory, base: base)
            let slot = PendingFiles.add(tmp)
            defer { if let slot { PendingFiles.remove(slot: slot) } }
            guard linkat(AT_FDCWD, source, AT_FDCWD, tmp, AT_SYMLINK_FOLLOW) == 0 else {
                return (errno, "cannot link the new file beside it")
            }
            guard Glibc.rename(tmp, destination) == 0 else {
                let e = errno
                unlink(tmp)
                return (e, "cannot rename the new file into place")
            }
            return nil
        }
        if let (e, what) = failed {
            errno = e
            if e == EEXIST { throw TensorCoreError("\(destination): already exists (use --force to overwrite)") }
            throw TensorCoreError("\(destination): \(what): \(errnoText())")
        }
        finished = true
        close(fd)
        fd = -1
    }

    /// Closes and removes the temporary; the destination is untouched.
    public func abort() {
        if finished { return }
        finished = true
        if fd >= 0 { close(fd); fd = -1 }
        if unnamed { return }  // closing it freed it
        PendingFiles.critical {
            unlink(temporaryPath)
            if let slot { PendingFiles.remove(slot: slot) }
        }
    }
}
