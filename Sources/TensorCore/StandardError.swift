// Writing to standard error without touching C's `stderr` global (not concurrency-safe in Swift 6).

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Writes `text` to file descriptor 2.
public func writeStandardError(_ text: String) {
    var t = text
    t.withUTF8 { buf in
        var off = 0
        while off < buf.count {
            let n = write(2, buf.baseAddress! + off, buf.count - off)
            if n <= 0 { if errno == EINTR { continue } else { return } }
            off += n
        }
    }
}
