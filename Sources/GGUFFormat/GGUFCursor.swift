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
        guard let s = String(validating: bytes, as: UTF8.self) else {
            throw error(field, at: start, "\(what) is not valid UTF-8")
        }
        position += len
        return s
    }
}
