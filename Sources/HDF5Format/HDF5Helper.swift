// The parent's side of the HDF5 helper: runs `wk-hdf5-probe` (beside the running executable, or
// $WEIGHTKIT_HDF5_PROBE) with stdin from /dev/null, stdout and stderr on pipes, default signal
// dispositions, an address-space and CPU limit it applies to itself, and a wall-clock deadline the
// parent enforces with SIGKILL. Its output is read with a cap. A helper that dies of a signal or
// misses the deadline means libhdf5 could not survive the file: the error names the file and the
// signal, exit 2 like every other malformed input.

import Synchronization
import TensorCore
#if canImport(Glibc)
    import Glibc
#endif

public enum HDF5Helper {
    /// Limits for one helper run.
    public struct Limits: Sendable {
        /// RLIMIT_AS of the helper, bytes.
        public var addressSpace = 1 << 30
        /// RLIMIT_CPU of the helper and its wall-clock deadline, seconds.
        public var seconds = 10
        public init() {}
    }

    /// Limits for reading structures; `WEIGHTKIT_HDF5_HELPER_SECONDS` and
    /// `WEIGHTKIT_HDF5_HELPER_MEMORY` (bytes) override the defaults (10 s, 1 GiB).
    public static var structureLimits: Limits {
        var l = Limits()
        if let s = getenv("WEIGHTKIT_HDF5_HELPER_SECONDS").flatMap({ Int(String(cString: $0)) }), s > 0 { l.seconds = s }
        if let m = getenv("WEIGHTKIT_HDF5_HELPER_MEMORY").flatMap({ Int(String(cString: $0)) }), m > 0 { l.addressSpace = m }
        return l
    }

    /// The helper executable.
    static var executable: String {
        if let e = getenv("WEIGHTKIT_HDF5_PROBE"), e.pointee != 0 { return String(cString: e) }
        var buf = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buf, buf.count - 1)
        let exe = n > 0 ? String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) : ""
        let dir = exe.lastIndex(of: "/").map { String(exe[..<$0]) } ?? "."
        return dir + "/wk-hdf5-probe"
    }

    static let signalNames: [Int32: String] = [
        SIGSEGV: "SIGSEGV", SIGABRT: "SIGABRT", SIGBUS: "SIGBUS", SIGILL: "SIGILL", SIGFPE: "SIGFPE", SIGKILL: "SIGKILL",
        SIGXCPU: "SIGXCPU", SIGTRAP: "SIGTRAP", SIGSYS: "SIGSYS", SIGXFSZ: "SIGXFSZ", SIGPIPE: "SIGPIPE",
    ]

    /// A file as `stat` describes it: device, inode, size, and the modification and status-change times
    /// (ctime cannot be set back by the file's owner, and changes with every write).
    struct FileIdentity: Hashable, Sendable {
        let device: UInt64, inode: UInt64, size: Int64
        let modified: [Int64], changed: [Int64]
        let limits: [Int]

        init?(path: String, limits: Limits) {
            var st = stat()
            guard stat(path, &st) == 0 else { return nil }
            device = UInt64(st.st_dev)
            inode = UInt64(st.st_ino)
            size = Int64(st.st_size)
            modified = [Int64(st.st_mtim.tv_sec), Int64(st.st_mtim.tv_nsec)]
            changed = [Int64(st.st_ctim.tv_sec), Int64(st.st_ctim.tv_nsec)]
            self.limits = [limits.addressSpace, limits.seconds]
        }
    }

    /// The helper's answers for files opened by path in this process, by identity (at most 16): opening
    /// the same unchanged file again decodes and checks the same answer without running libhdf5 again.
    static let answers = Mutex<[FileIdentity: [UInt8]]>([:])

    /// How many times the helper has been run for a structure (for tests).
    static let structureRuns = Atomic<Int>(0)

    /// The file's structure, resolved by the helper (or the answer it gave for the same unchanged file
    /// earlier in this process; every answer is decoded and checked against the file again).
    static func structure(path: String, fileSize: Int, descriptor: Int32?) throws -> HDF5Structure {
        let limits = structureLimits
        let before = descriptor == nil ? FileIdentity(path: path, limits: limits) : nil
        if let before, let cached = answers.withLock({ $0[before] }) {
            return try HDF5Structure.decode(cached, path: path, fileSize: fileSize)
        }
        var out: [UInt8] = []
        structureRuns.add(1, ordering: .relaxed)
        try run(
            ["structure", path], path: path, what: "the file structure", limits: limits, maxOutput: 256 << 20,
            descriptor: descriptor
        ) { piece in out.append(contentsOf: piece) }
        let structure = try HDF5Structure.decode(out, path: path, fileSize: fileSize)
        // Kept only when the file did not change while the helper read it.
        if let before, FileIdentity(path: path, limits: limits) == before {
            answers.withLock { a in
                if a.count >= 16 { a.removeAll() }
                a[before] = out
            }
        }
        return structure
    }

    /// One dataset's bytes, read by the helper through libhdf5, into `dst` (exactly its size).
    static func read(path: String, plan: DatasetPlan, descriptor: Int32?, into dst: UnsafeMutableRawBufferPointer) throws {
        var limits = structureLimits
        limits.addressSpace = limits.addressSpace &+ 2 &* plan.byteCount
        limits.seconds += plan.byteCount >> 26  // a second more per 64 MiB
        var used = 0
        try run(
            plan.filters.flatMap { ["--filter", String($0.id)] } + ["read", path, plan.name, plan.dtype.rawValue], path: path,
            what: "dataset '\(plan.name)'", limits: limits,
            maxOutput: plan.byteCount, descriptor: descriptor
        ) { piece in
            (dst.baseAddress! + used).copyMemory(from: piece.baseAddress!, byteCount: piece.count)
            used += piece.count
        }
        guard used == plan.byteCount else {
            throw HDF5Error(path: path, object: "dataset '\(plan.name)'", "the helper sent \(used) bytes, the dataset holds \(plan.byteCount)")
        }
    }

    /// Runs the helper with `args`; passes its stdout to `sink` (at most `maxOutput` bytes in all).
    static func run(
        _ args: [String], path: String, what: String, limits: Limits, maxOutput: Int, descriptor: Int32? = nil,
        sink: (UnsafeRawBufferPointer) throws -> Void
    ) throws {
        let exe = executable
        guard access(exe, X_OK) == 0 else {
            throw HDF5Error(path: path, "cannot read HDF5: the helper \(exe) is missing (it is built with weightkit and must sit beside it)")
        }
        var outPipe: [Int32] = [-1, -1]
        var errPipe: [Int32] = [-1, -1]
        guard pipe(&outPipe) == 0 else { throw HDF5Error(path: path, "cannot make a pipe: \(errnoText())") }
        guard pipe(&errPipe) == 0 else {
            close(outPipe[0]); close(outPipe[1])
            throw HDF5Error(path: path, "cannot make a pipe: \(errnoText())")
        }
        // Not inherited by other children this process starts meanwhile (the helper gets its ends by dup2).
        for fd in outPipe + errPipe { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)
        if let descriptor { posix_spawn_file_actions_adddup2(&actions, descriptor, 3) }
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        posix_spawnattr_setsigmask(&attr, &noSignals)
        posix_spawnattr_setsigdefault(&attr, &allSignals)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        var argv = [exe, "--address-space", String(limits.addressSpace), "--cpu-seconds", String(limits.seconds)]
        if descriptor != nil { argv += ["--fd", "3"] }
        argv += args
        var cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { for p in cArgs { free(p) } }
        // The environment, without the Swift runtime's backtracer (slow on a crash; the crash is expected).
        var envStrings: [String] = []
        var e = environ
        while let p = e.pointee {
            let s = String(cString: p)
            if !s.hasPrefix("SWIFT_BACKTRACE=") && !s.hasPrefix("HDF5_USE_FILE_LOCKING=") { envStrings.append(s) }
            e += 1
        }
        // No file locks: the helper only reads, and must not block (or be blocked by) writers.
        envStrings += ["SWIFT_BACKTRACE=enable=no", "HDF5_USE_FILE_LOCKING=FALSE"]
        var cEnv: [UnsafeMutablePointer<CChar>?] = envStrings.map { strdup($0) } + [nil]
        defer { for p in cEnv { free(p) } }

        var pid: pid_t = 0
        let rc = posix_spawn(&pid, exe, &actions, &attr, &cArgs, &cEnv)
        close(outPipe[1])
        close(errPipe[1])
        defer { close(outPipe[0]); close(errPipe[0]) }
        guard rc == 0 else { throw HDF5Error(path: path, "cannot start the helper \(exe): \(String(cString: strerror(rc)))") }

        var reaped = false
        defer {
            if !reaped {
                kill(pid, SIGKILL)
                var st: Int32 = 0
                while waitpid(pid, &st, 0) < 0 && errno == EINTR {}
            }
        }
        let deadline = monotonicSeconds() + Double(limits.seconds)
        var stderrText: [UInt8] = []
        var total = 0
        var open = [true, true]
        var timedOut = false
        var tooMuch = false
        // A pipe read returns at most the pipe's capacity (64 KiB by default). On the stack: a heap buffer
        // per open left holes that later large allocations of the caller could not reuse.
        try withUnsafeTemporaryAllocation(byteCount: 1 << 16, alignment: 16) { scratch in
            let buffer = scratch.baseAddress!
            while open[0] || open[1] {
                let left = deadline - monotonicSeconds()
                if left <= 0 { timedOut = true; break }
                var fds = [
                    pollfd(fd: open[0] ? outPipe[0] : -1, events: Int16(POLLIN), revents: 0),
                    pollfd(fd: open[1] ? errPipe[0] : -1, events: Int16(POLLIN), revents: 0),
                ]
                let n = poll(&fds, 2, Int32(min(left * 1000 + 1, 60_000)))
                if n < 0 {
                    if errno == EINTR { continue }
                    throw HDF5Error(path: path, "cannot wait for the helper: \(errnoText())")
                }
                for k in 0..<2 where open[k] && fds[k].revents != 0 {
                    let fd = k == 0 ? outPipe[0] : errPipe[0]
                    let got = Glibc.read(fd, buffer, scratch.count)
                    if got < 0 && errno == EINTR { continue }
                    if got <= 0 { open[k] = false; continue }
                    if k == 0 {
                        total += got
                        if total > maxOutput { tooMuch = true; break }
                        try sink(UnsafeRawBufferPointer(start: buffer, count: got))
                    } else if stderrText.count < 1 << 16 {
                        stderrText += UnsafeRawBufferPointer(start: buffer, count: got)
                    }
                }
                if tooMuch { break }
            }
        }
        if timedOut || tooMuch { kill(pid, SIGKILL) }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if errno != EINTR { break }
        }
        reaped = true
        if timedOut {
            throw HDF5Error(path: path, "libhdf5 did not finish reading \(what) within \(limits.seconds) s; the file is malformed")
        }
        if tooMuch {
            throw HDF5Error(path: path, "libhdf5 produced more than \(maxOutput) bytes reading \(what); the file is malformed")
        }
        let signaled = (status & 0x7f) != 0 && (status & 0x7f) != 0x7f
        if signaled {
            let sig = status & 0x7f
            let name = signalNames[sig] ?? "signal \(sig)"
            if sig == SIGXCPU || sig == SIGKILL {
                throw HDF5Error(path: path, "libhdf5 did not finish reading \(what) within \(limits.seconds) s of CPU time (\(name)); the file is malformed")
            }
            throw HDF5Error(path: path, "libhdf5 crashed reading \(what) (\(name)); the file is malformed")
        }
        let code = (status >> 8) & 0xff
        let text = String(decoding: stderrText, as: UTF8.self).split(separator: "\n").first.map(String.init) ?? ""
        if code == 2, !text.isEmpty { throw HDF5Error(text) }
        if code != 0 {
            // The Swift runtime's own fatal errors (an allocation over the address-space limit) exit through a trap
            // (a signal, above); anything else is the helper failing.
            throw HDF5Error(path: path, "libhdf5 failed reading \(what) (helper exit \(code)\(text.isEmpty ? "" : ": " + text)); the file is malformed")
        }
    }

    static func monotonicSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}
