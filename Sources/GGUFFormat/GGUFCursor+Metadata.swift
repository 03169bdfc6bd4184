// Typed metadata values (formats.md §2.2): scalars, strings and arrays, nested arrays to a
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
        var items: [MetadataValue] = []
        items.reserveCapacity(n)
        for _ in 0..<n {
            items.append(try value(elementType, field, depth: depth, budget: &budget))
        }
        return .array(elementType, items)
    }
}
