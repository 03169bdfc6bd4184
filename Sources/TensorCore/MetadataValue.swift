// Typed metadata values: GGUF's value types (Formats/gguf.md §1), which also carry safetensors'
// string metadata and HDF5 attributes without loss.

/// The type of a metadata value, with GGUF's type ids.
public enum MetadataType: UInt32, Sendable, CaseIterable {
    case uint8 = 0, int8 = 1, uint16 = 2, int16 = 3, uint32 = 4, int32 = 5, float32 = 6, bool = 7
    case string = 8, array = 9, uint64 = 10, int64 = 11, float64 = 12

    /// Bytes of one value of a fixed-size type; nil for string and array.
    public var fixedSize: Int? {
        switch self {
        case .uint8, .int8, .bool: return 1
        case .uint16, .int16: return 2
        case .uint32, .int32, .float32: return 4
        case .uint64, .int64, .float64: return 8
        case .string, .array: return nil
        }
    }

    /// The lower-case name printed by inspect (`u32`, `f32`, `str`, …).
    public var name: String {
        switch self {
        case .uint8: return "u8"
        case .int8: return "i8"
        case .uint16: return "u16"
        case .int16: return "i16"
        case .uint32: return "u32"
        case .int32: return "i32"
        case .float32: return "f32"
        case .bool: return "bool"
        case .string: return "str"
        case .array: return "arr"
        case .uint64: return "u64"
        case .int64: return "i64"
        case .float64: return "f64"
        }
    }
}

/// A metadata value.
public indirect enum MetadataValue: Sendable, Equatable {
    case uint8(UInt8), int8(Int8), uint16(UInt16), int16(Int16), uint32(UInt32), int32(Int32)
    case float32(Float), bool(Bool), string(String), uint64(UInt64), int64(Int64), float64(Double)
    /// An array of values that all have `elementType`.
    case array(MetadataType, [MetadataValue])

    public var type: MetadataType {
        switch self {
        case .uint8: return .uint8
        case .int8: return .int8
        case .uint16: return .uint16
        case .int16: return .int16
        case .uint32: return .uint32
        case .int32: return .int32
        case .float32: return .float32
        case .bool: return .bool
        case .string: return .string
        case .uint64: return .uint64
        case .int64: return .int64
        case .float64: return .float64
        case .array: return .array
        }
    }

    /// Any integer type as an Int (nil for other types or when it does not fit).
    public var int: Int? {
        switch self {
        case .uint8(let v): return Int(v)
        case .int8(let v): return Int(v)
        case .uint16(let v): return Int(v)
        case .int16(let v): return Int(v)
        case .uint32(let v): return Int(v)
        case .int32(let v): return Int(v)
        case .uint64(let v): return Int(exactly: v)
        case .int64(let v): return Int(v)
        default: return nil
        }
    }

    /// Any number as a Double.
    public var double: Double? {
        switch self {
        case .float32(let v): return Double(v)
        case .float64(let v): return v
        default: return int.map(Double.init)
        }
    }

    public var string: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    public var bool: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    /// The value as JSON (arrays in full).
    public var json: JSONValue {
        switch self {
        case .string(let s): return .string(s)
        case .bool(let b): return .bool(b)
        case .float32(let f): return .float(f)
        case .float64(let d): return .double(d)
        case .uint64(let v): return .number(String(v))
        case .int64(let v): return .number(String(v))
        case .array(_, let items): return .array(items.map(\.json))
        default: return .int(int ?? 0)
        }
    }

    /// A short human-readable rendering; long arrays are summarised by type, count and first items.
    public func summary(maxItems: Int = 5) -> String {
        switch self {
        case .string(let s):
            let one = s.count > 120 ? String(s.prefix(117)) + "..." : s
            return JSONValue.quote(one)
        case .array(let t, let items):
            let head = items.prefix(maxItems).map { $0.summary(maxItems: 2) }.joined(separator: ", ")
            let more = items.count > maxItems ? ", ..." : ""
            return "[\(t.name) × \(items.count)] [\(head)\(more)]"
        default:
            return json.serialized()
        }
    }
}

/// One metadata entry.
public struct MetadataEntry: Sendable, Equatable {
    public let key: String
    public let value: MetadataValue
    public init(_ key: String, _ value: MetadataValue) {
        self.key = key
        self.value = value
    }
}

/// Ordered metadata with lookup by key. Lookups and insertions take constant time (a key → index
/// table beside the entries), so a file with 200,000 keys loads in linear time.
public struct Metadata: Sendable, Equatable {
    public private(set) var entries: [MetadataEntry]
    private var index: [String: Int]

    public init(_ entries: [MetadataEntry] = []) {
        self.entries = entries
        index = Dictionary(entries.enumerated().map { ($1.key, $0) }, uniquingKeysWith: { a, _ in a })
    }

    public static func == (a: Metadata, b: Metadata) -> Bool { a.entries == b.entries }

    public subscript(key: String) -> MetadataValue? {
        get { index[key].map { entries[$0].value } }
        set {
            if let i = index[key] {
                if let newValue {
                    entries[i] = MetadataEntry(key, newValue)
                } else {
                    entries.remove(at: i)
                    index[key] = nil
                    for j in i..<entries.count { index[entries[j].key] = j }
                }
            } else if let newValue {
                index[key] = entries.count
                entries.append(MetadataEntry(key, newValue))
            }
        }
    }

    public var isEmpty: Bool { entries.isEmpty }
    public var keys: [String] { entries.map(\.key) }
}
