// A byte builder for GGUF files, valid or deliberately broken, built in memory for tests.

/// Little-endian GGUF bytes, appended field by field. Nothing is checked: tests use it to
/// build the malformed files the reader must refuse.
public struct GGUFBytes {
    public var bytes: [UInt8] = []

    public init() {}

    /// Magic, version, tensor count, metadata count.
    public init(version: UInt32 = 3, tensors: UInt64, kvs: UInt64) {
        raw(Array("GGUF".utf8))
        u32(version)
        u64(tensors)
        u64(kvs)
    }

    public var count: Int { bytes.count }

    public mutating func raw(_ b: [UInt8]) { bytes.append(contentsOf: b) }
    public mutating func u8(_ v: UInt8) { bytes.append(v) }
    public mutating func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    public mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    public mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    public mutating func f32(_ v: Float) { u32(v.bitPattern) }
    public mutating func zeros(_ n: Int) { bytes.append(contentsOf: [UInt8](repeating: 0, count: n)) }

    /// A gguf string: u64 length then the UTF-8 bytes.
    public mutating func string(_ s: String) {
        u64(UInt64(s.utf8.count))
        bytes.append(contentsOf: s.utf8)
    }

    /// A string whose length field says `length` whatever the bytes that follow.
    public mutating func string(length: UInt64, _ b: [UInt8]) {
        u64(length)
        raw(b)
    }

    /// Key, type id 4 (u32), value.
    public mutating func kvU32(_ key: String, _ v: UInt32) {
        string(key)
        u32(4)
        u32(v)
    }

    /// Key, type id 8 (string), value.
    public mutating func kvString(_ key: String, _ v: String) {
        string(key)
        u32(8)
        string(v)
    }

    /// Key, type id 9 (array), element type, count, then `payload` as the elements.
    public mutating func kvArray(_ key: String, elementType: UInt32, count: UInt64, payload: [UInt8] = []) {
        string(key)
        u32(9)
        u32(elementType)
        u64(count)
        raw(payload)
    }

    /// A tensor info: name, n_dims, ne (ggml order), type id, offset.
    public mutating func tensorInfo(_ name: String, ne: [UInt64], type: UInt32, offset: UInt64) {
        string(name)
        u32(UInt32(ne.count))
        for d in ne { u64(d) }
        u32(type)
        u64(offset)
    }

    /// Zeros up to the next multiple of `alignment`.
    public mutating func pad(to alignment: Int = 32) {
        let r = bytes.count % alignment
        if r != 0 { zeros(alignment - r) }
    }
}
