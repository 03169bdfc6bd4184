// Immutable byte storage shared by tensors: a read-only memory map of a file, or a heap buffer.
// Tensors hold the region plus an offset; bytes are lent out only inside `withUnsafeBytes`.

internal import CSystem
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A read-only run of bytes that lives as long as any tensor refers to it.
///
/// `@unchecked Sendable`: the bytes never change after `init` (maps are `PROT_READ`,
/// heap copies are written once before the region is published), so sharing across
/// threads is safe.
public final class ByteRegion: @unchecked Sendable {
    private enum Backing { case mapped, heap, empty }

    /// First byte, or nil for an empty region.
    public let base: UnsafeRawPointer?
    /// Number of bytes.
    public let count: Int
    /// The file the bytes come from, when mapped.
    public let path: String?
    private let backing: Backing
    /// The SIGBUS guard's slot for a mapped region (-1: none).
    private var guardSlot: Int32 = -1

    private init(base: UnsafeRawPointer?, count: Int, path: String?, backing: Backing) {
        self.base = base
        self.count = count
        self.path = path
        self.backing = backing
        if backing == .mapped, let base, let path {
            MapGuard.install()
            guardSlot = wk_guard_register(base, UInt64(count), "\(path): the file shrank while it was being read")
        }
    }

    /// Maps the whole file at `path` read-only. Opening touches no data pages.
    public static func map(path: String) throws -> ByteRegion {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw TensorCoreError("\(path): cannot open: \(errnoText())") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw TensorCoreError("\(path): cannot stat: \(errnoText())") }
        if (st.st_mode & S_IFMT) == S_IFDIR { throw TensorCoreError("\(path): is a directory, not a file") }
        let size = Int(st.st_size)
        if size == 0 { return ByteRegion(base: nil, count: 0, path: path, backing: .empty) }
        guard let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), p != MAP_FAILED else {
            throw TensorCoreError("\(path): cannot map \(size) bytes: \(errnoText())")
        }
        return ByteRegion(base: UnsafeRawPointer(p), count: size, path: path, backing: .mapped)
    }

    /// A heap copy of `bytes`.
    public convenience init(copying bytes: UnsafeRawBufferPointer) {
        if bytes.isEmpty {
            self.init(base: nil, count: 0, path: nil, backing: .empty)
            return
        }
        let p = UnsafeMutableRawPointer.allocate(byteCount: bytes.count, alignment: 64)
        p.copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
        self.init(base: UnsafeRawPointer(p), count: bytes.count, path: nil, backing: .heap)
    }

    /// A heap copy of `bytes`.
    public convenience init(_ bytes: [UInt8]) {
        self.init(copying: bytes.withUnsafeBytes { $0 })
    }

    /// A heap region of `count` bytes filled by `fill` before the region is published.
    public convenience init(count: Int, fill: (UnsafeMutableRawBufferPointer) throws -> Void) rethrows {
        if count == 0 {
            self.init(base: nil, count: 0, path: nil, backing: .empty)
            return
        }
        let p = UnsafeMutableRawPointer.allocate(byteCount: count, alignment: 64)
        do { try fill(UnsafeMutableRawBufferPointer(start: p, count: count)) } catch {
            p.deallocate()
            throw error
        }
        self.init(base: UnsafeRawPointer(p), count: count, path: nil, backing: .heap)
    }

    deinit {
        switch backing {
        case .mapped:
            wk_guard_unregister(guardSlot)
            munmap(UnsafeMutableRawPointer(mutating: base), count)
        case .heap: base?.deallocate()
        case .empty: break
        }
    }

    /// Lends the bytes `offset ..< offset+length`; the caller checked the range.
    @inlinable public func withUnsafeBytes<R>(
        offset: Int, count length: Int, _ body: (UnsafeRawBufferPointer) throws -> R
    ) rethrows -> R {
        precondition(offset >= 0 && length >= 0 && offset <= count && length <= count - offset, "byte range outside region")
        if length == 0 { return try body(UnsafeRawBufferPointer(start: nil, count: 0)) }
        return try body(UnsafeRawBufferPointer(start: base! + offset, count: length))
    }

    /// Lends all bytes.
    @inlinable public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try withUnsafeBytes(offset: 0, count: count, body)
    }

    /// Asks the kernel to read ahead the given range (used before streaming a whole tensor).
    public func adviseWillNeed(offset: Int, count length: Int) {
        guard backing == .mapped, let base, length > 0 else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = (offset / page) * page
        _ = madvise(UnsafeMutableRawPointer(mutating: base + start), length + (offset - start), MADV_WILLNEED)
    }
}

/// The text of the current `errno`.
/// A file truncated underneath its map raises SIGBUS on the next read of a lost page: the guard
/// (CSystem) turns that into one line naming the file, removes pending temporaries and exits 2.
enum MapGuard {
    private static let installed: Bool = {
        wk_guard_install(wk_pending_unlink_all)  // C storage and C code only
        return true
    }()

    static func install() { _ = installed }
}

public func errnoText() -> String { String(cString: strerror(errno)) }
