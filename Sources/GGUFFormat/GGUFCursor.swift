// A bounds-checked little-endian reader over the mapped header bytes. Every read checks the
// bytes left first and throws a GGUFError naming the field and the byte where it starts.

import TensorCore

struct GGUFCursor {
    let base: UnsafeRawPointer?
    let count: Int
    let path: String
    private(set) var position: Int

    init(_ bytes: UnsafeRawBufferPointer, path: String, position: Int = 0) {
        self.base = bytes.baseAddress
        self.count = bytes.count
        self.path = path
        self.position = position
    }

    /// Moves past `n` bytes that a check has already found in the file.
    mutating func advance(_ n: Int) {
        precondition(n <= remaining, "advance past the end")
        position += n
    }

    /// Goes back to `offset`, to read what is there again.
    mutating func rewind(to offset: Int) {
        precondition(offset <= position, "rewind forward")
        position = offset
    }

    /// Bytes between the cursor and the end of the file.
    var remaining: Int { count - position }

    func error(_ field: String, at offset: Int? = nil, _ message: String) -> GGUFError {
        GGUFError(path: path, field: field, offset: offset ?? position, message)
    }

    /// Checks that `n` bytes can be read; names `what` in the error.
    func need(_ n: Int, _ field: String, _ what: String) throws(GGUFError) {
        if n > remaining {
            throw error(field, "\(what) needs \(n) bytes but the file ends \(remaining) bytes later (at byte \(count))")
        }
    }

    mutating func u8(_ field: String, _ what: String) throws(GGUFError) -> UInt8 {
        try need(1, field, what)
        defer { position += 1 }
        return base!.load(fromByteOffset: position, as: UInt8.self)
    }

    mutating func u16(_ field: String, _ what: String) throws(GGUFError) -> UInt16 {
        try need(2, field, what)
        defer { position += 2 }
        return UInt16(littleEndian: base!.loadUnaligned(fromByteOffset: position, as: UInt16.self))
    }

    mutating func u32(_ field: String, _ what: String) throws(GGUFError) -> UInt32 {
        try need(4, field, what)
        defer { position += 4 }
        return UInt32(littleEndian: base!.loadUnaligned(fromByteOffset: position, as: UInt32.self))
    }

    mutating func u64(_ field: String, _ what: String) throws(GGUFError) -> UInt64 {
        try need(8, field, what)
        defer { position += 8 }
        return UInt64(littleEndian: base!.loadUnaligned(fromByteOffset: position, as: UInt64.self))
    }

    /// A gguf string: u64 byte length, then that many UTF-8 bytes. `maxBytes` caps the length.
    mutating func string(_ field: String, _ what: String, maxBytes: Int) throws(GGUFError) -> String {
        let start = position
        let len64 = try u64(field, "\(what) length")
        guard len64 <= UInt64(maxBytes) else {
            throw error(field, at: start, "\(what) length \(len64) exceeds the limit of \(maxBytes) bytes")
        }
        let len = Int(len64)
        guard len <= remaining else {
            throw error(field, at: start, "\(what) length \(len) runs past the end of the file (\(remaining) bytes left)")
        }
        if len == 0 { return "" }
        let bytes = UnsafeRawBufferPointer(start: base! + position, count: len)
        guard GGUFCursor.isValidUTF8(bytes) else { throw error(field, at: start, "\(what) is not valid UTF-8") }
        position += len
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Whether the bytes are well-formed UTF-8 (Unicode table 3-7: no overlong forms, no surrogates, nothing
    /// past U+10FFFF). Eight ASCII bytes are checked at a time.
    static func isValidUTF8(_ b: UnsafeRawBufferPointer) -> Bool {
        guard let p = b.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return true }
        let n = b.count
        var i = 0
        while i < n {
            if i + 8 <= n {
                let high = UInt64(littleEndian: b.loadUnaligned(fromByteOffset: i, as: UInt64.self)) & 0x8080_8080_8080_8080
                if high == 0 {
                    i += 8
                    continue
                }
                i += high.trailingZeroBitCount / 8  // past the ASCII bytes before the first other one
            }
            let c = p[i]
            if c < 0x80 {
                i += 1
                continue
            }
            @inline(__always) func cont(_ k: Int) -> Bool { i + k < n && p[i + k] & 0xC0 == 0x80 }
            switch c {
            case 0xC2...0xDF:
                guard cont(1) else { return false }
                i += 2
            case 0xE0...0xEF:
                guard cont(1), cont(2) else { return false }
                let c1 = p[i + 1]
                if c == 0xE0 && c1 < 0xA0 { return false }  // overlong
                if c == 0xED && c1 > 0x9F { return false }  // surrogates
                i += 3
            case 0xF0...0xF4:
                guard cont(1), cont(2), cont(3) else { return false }
                let c1 = p[i + 1]
                if c == 0xF0 && c1 < 0x90 { return false }  // overlong
                if c == 0xF4 && c1 > 0x8F { return false }  // past U+10FFFF
                i += 4
            default:
                return false
            }
        }
        return true
    }
}
