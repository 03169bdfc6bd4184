// Typed metadata values (Formats/gguf.md §1): scalars, strings and arrays, nested arrays to a
// bounded depth, every count checked against the bytes left before anything is allocated.

import TensorCore

/// Caps the reader applies to metadata (documented in Formats/gguf.md).
public enum GGUFLimits {
    /// Longest key: the spec's 65535 bytes.
    public static let maxKeyBytes = 65535
    /// Longest string value or tensor name read (1 GiB, ggml's GGUF_MAX_STRING_LENGTH);
    /// a string must also fit in the bytes left.
    public static let maxStringBytes = 1 << 30
    /// Most elements in one metadata array (16 Mi; ggml allows 1 Gi). The largest real
    /// vocabularies have ~262k tokens; each element costs ~40 bytes of memory here.
    public static let maxArrayElements = 1 << 24
    /// Most array elements in all metadata together (32 Mi).
    public static let maxTotalArrayElements = 1 << 25
    /// Deepest nesting of arrays inside arrays (the spec allows nesting; ggml refuses it).
    public static let maxArrayDepth = 8
    /// Most dimensions of a tensor (GGML_MAX_DIMS).
    public static let maxDims = 4
    /// Longest tensor name: ggml requires `len < GGML_MAX_NAME (64)`.
    public static let maxNameBytes = 63
}

extension GGUFCursor {
    /// Smallest encoding of one element of `type`: fixed size, 8 for a string's length,
    /// 12 for a nested array's type and count.
    static func minimumBytes(_ type: MetadataType) -> Int {
        switch type {
        case .string: return 8
        case .array: return 12
        default: return type.fixedSize ?? 1
        }
    }

    /// A value type id read as u32.
    mutating func valueType(_ field: String, _ what: String) throws(GGUFError) -> MetadataType {
        let at = position
        let raw = try u32(field, what)
        guard let t = MetadataType(rawValue: raw) else {
            throw error(field, at: at, "unknown \(what) \(raw) (valid types are 0 to 12)")
        }
        return t
    }

    /// One value of `type`. `budget` counts array elements left for the whole file.
    mutating func value(_ type: MetadataType, _ field: String, depth: Int, budget: inout Int) throws(GGUFError) -> MetadataValue {
        switch type {
        case .uint8: return .uint8(try u8(field, "u8 value"))
        case .int8: return .int8(Int8(bitPattern: try u8(field, "i8 value")))
        case .uint16: return .uint16(try u16(field, "u16 value"))
        case .int16: return .int16(Int16(bitPattern: try u16(field, "i16 value")))
        case .uint32: return .uint32(try u32(field, "u32 value"))
        case .int32: return .int32(Int32(bitPattern: try u32(field, "i32 value")))
        case .float32: return .float32(Float(bitPattern: try u32(field, "f32 value")))
        case .uint64: return .uint64(try u64(field, "u64 value"))
        case .int64: return .int64(Int64(bitPattern: try u64(field, "i64 value")))
        case .float64: return .float64(Double(bitPattern: try u64(field, "f64 value")))
        // Any non-zero byte is true, as ggml and gguf-py read it.
        case .bool: return .bool(try u8(field, "bool value") != 0)
        case .string: return .string(try string(field, "string", maxBytes: GGUFLimits.maxStringBytes))
        case .array: return try array(field, depth: depth + 1, budget: &budget)
        }
    }

    /// An array: u32 element type, u64 element count, the elements.
    mutating func array(_ field: String, depth: Int, budget: inout Int) throws(GGUFError) -> MetadataValue {
        let (elementType, n) = try arrayHeader(field, depth: depth, budget: &budget)
        var items: [MetadataValue] = []
        items.reserveCapacity(n)
        for _ in 0..<n {
            items.append(try value(elementType, field, depth: depth, budget: &budget))
        }
        return .array(elementType, items)
    }

    /// A key's value: as `value` does, except that an array of at least `PackedArray.minimumCount` strings
    /// or fixed-size numbers is kept packed (with every check made here, as `value` makes it).
    mutating func topLevelValue(_ type: MetadataType, _ field: String, budget: inout Int) throws(GGUFError) -> MetadataStore.Item {
        guard type == .array else { return .value(try value(type, field, depth: 0, budget: &budget)) }
        let start = position
        let (elementType, n) = try arrayHeader(field, depth: 1, budget: &budget)
        if n >= PackedArray.minimumCount {
            if elementType == .string { return .packed(try packedStrings(field, count: n)) }
            if let size = elementType.fixedSize {
                // arrayHeader checked that n elements fit in the bytes left.
                let bytes = [UInt8](UnsafeRawBufferPointer(start: base! + position, count: n * size))
                advance(n * size)
                return .packed(PackedArray(type: elementType, count: n, bytes: bytes, ends: []))
            }
        }
        budget += n  // read again, as a plain array
        rewind(to: start)
        return .value(try array(field, depth: 1, budget: &budget))
    }

    /// `n` strings, checked as `string(_:_:maxBytes:)` checks each (the same errors for the same first
    /// bad string), into one buffer: the lengths first, then the bytes copied into a buffer of their total,
    /// then UTF-8 checked over the whole buffer at once (valid as a whole, with no string starting inside
    /// a character, means each string is valid).
    private mutating func packedStrings(_ field: String, count n: Int) throws(GGUFError) -> PackedArray {
        let first = position
        var total = 0
        for k in 0..<n {
            let start = position
            let len64: UInt64
            do { len64 = try u64(field, "string length") } catch { throw firstInvalidUTF8(field, from: first, count: k) ?? error }
            guard len64 <= UInt64(GGUFLimits.maxStringBytes) else {
                throw firstInvalidUTF8(field, from: first, count: k)
                    ?? self.error(field, at: start, "string length \(len64) exceeds the limit of \(GGUFLimits.maxStringBytes) bytes")
            }
            let len = Int(len64)
            guard len <= remaining else {
                throw firstInvalidUTF8(field, from: first, count: k)
                    ?? self.error(field, at: start, "string length \(len) runs past the end of the file (\(remaining) bytes left)")
            }
            advance(len)
            total += len
        }
        let file = base!
        var ends = [Int](repeating: 0, count: n)
        var straddles = false
        let bytes = [UInt8](unsafeUninitializedCapacity: total) { buf, count in
            var at = first
            var out = 0
            for k in 0..<n {
                let len = Int(UInt64(littleEndian: file.loadUnaligned(fromByteOffset: at, as: UInt64.self)))
                at += 8
                if len > 0 {
                    (buf.baseAddress! + out).initialize(from: (file + at).assumingMemoryBound(to: UInt8.self), count: len)
                    if buf[out] & 0xC0 == 0x80 { straddles = true }
                }
                at += len
                out += len
                ends[k] = out
            }
            count = total
        }
        if straddles || !bytes.withUnsafeBytes({ GGUFCursor.isValidUTF8($0) }) {
            if let e = firstInvalidUTF8(field, from: first, count: n) { throw e }
        }
        return PackedArray(type: .string, count: n, bytes: bytes, ends: ends)
    }

    /// The error for the first of `count` strings from `offset` (whose lengths are known to be good) that
    /// is not valid UTF-8, if one is not.
    private func firstInvalidUTF8(_ field: String, from offset: Int, count: Int) -> GGUFError? {
        var at = offset
        for _ in 0..<count {
            let len = Int(UInt64(littleEndian: base!.loadUnaligned(fromByteOffset: at, as: UInt64.self)))
            if !GGUFCursor.isValidUTF8(UnsafeRawBufferPointer(start: base! + at + 8, count: len)) {
                return error(field, at: at, "string is not valid UTF-8")
            }
            at += 8 + len
        }
        return nil
    }

    /// An array's element type and count, checked against the limits, the bytes left and `budget`
    /// (which is charged the count).
    mutating func arrayHeader(_ field: String, depth: Int, budget: inout Int) throws(GGUFError) -> (MetadataType, Int) {
        let start = position
        guard depth <= GGUFLimits.maxArrayDepth else {
            throw error(field, at: start, "arrays nested deeper than \(GGUFLimits.maxArrayDepth) levels")
        }
        let elementType = try valueType(field, "array element type")
        let countAt = position
        let n64 = try u64(field, "array count")
        let minBytes = GGUFCursor.minimumBytes(elementType)
        // Subtraction form: the count may be anything up to 2^64 − 1.
        guard n64 <= UInt64(remaining / minBytes) else {
            throw error(field, at: countAt, "array of \(n64) \(elementType.name) elements needs at least \(minBytes) bytes each but only \(remaining) bytes are left")
        }
        let n = Int(n64)
        guard n <= GGUFLimits.maxArrayElements else {
            throw error(field, at: countAt, "array of \(n) elements exceeds the limit of \(GGUFLimits.maxArrayElements)")
        }
        guard n <= budget else {
            throw error(field, at: countAt, "metadata arrays hold more than \(GGUFLimits.maxTotalArrayElements) elements in all")
        }
        budget -= n
        return (elementType, n)
    }
}
