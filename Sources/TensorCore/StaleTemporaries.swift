// Named temporaries that a killed process left behind. WeightKit's temporaries have no name where
// the file system allows (AtomicFile: O_TMPFILE); where it does not, and for what needs a name
// (libhdf5's output file, a model directory being assembled, an old directory moved aside), they
// are `.<name>.wk-tmp-<pid>-<n>` (and `….wk-tmp-<pid>-<n>-old`). An interrupt removes them; a
// SIGKILL, a crash or a power cut cannot, so the next conversion into the same directory removes
// those whose process no longer exists.

#if canImport(Glibc)
    import Glibc
#endif

/// Finds and removes temporaries of processes that are gone.
public enum StaleTemporaries {
    /// The process id a temporary's name carries, or nil when `name` is not a WeightKit temporary:
    /// `.` + name + `.wk-tmp-` + pid + `-` + counter, optionally + `-old`.
    public static func owner(of name: String) -> Int32? {
        let bytes = Array(name.utf8)
        let marker = Array(".wk-tmp-".utf8)
        guard bytes.first == UInt8(ascii: "."), bytes.count > marker.count + 1 else { return nil }
        guard let at = stride(from: bytes.count - marker.count, through: 1, by: -1).first(where: {
            Array(bytes[$0..<($0 + marker.count)]) == marker
        }) else { return nil }
        var rest = Array(bytes[(at + marker.count)...])
        if rest.count > 4, Array(rest.suffix(4)) == Array("-old".utf8) { rest.removeLast(4) }
        let parts = rest.split(separator: UInt8(ascii: "-"), omittingEmptySubsequences: false)
        guard parts.count == 2, parts.allSatisfy({ !$0.isEmpty && $0.count <= 18 && $0.allSatisfy { (48...57).contains($0) } }),
            let pid = Int32(String(decoding: parts[0], as: UTF8.self)), pid > 0
        else { return nil }
        return pid
    }

    /// Removes from `directory` every WeightKit temporary whose process no longer exists (a file,
    /// or a directory of files). Temporaries of running processes (this one included) are kept.
    /// - Returns: the names removed.
    @discardableResult
    public static func remove(in directory: String) -> [String] {
        var removed = [String]()
        for name in entries(of: directory) {
            guard let pid = owner(of: name), pid != getpid(), kill(pid, 0) != 0, errno == ESRCH else { continue }
            let path = (directory == "/" ? "" : directory) + "/" + name
            var st = stat()
            guard lstat(path, &st) == 0 else { continue }
            if (st.st_mode & S_IFMT) == S_IFDIR {
                for inner in entries(of: path) { unlink(path + "/" + inner) }
                if rmdir(path) == 0 { removed.append(name) }
            } else if unlink(path) == 0 {
                removed.append(name)
            }
        }
        return removed
    }

    private static func entries(of directory: String) -> [String] {
        guard let d = opendir(directory) else { return [] }
        defer { closedir(d) }
        var names = [String]()
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }
}
