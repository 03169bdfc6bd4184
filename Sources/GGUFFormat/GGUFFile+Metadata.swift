// Metadata as the reader keeps it. A vocabulary is a few long arrays (Llama-3: 128,256 token strings,
// 280,147 merge strings, 128,256 token types), and one `MetadataValue` per element costs more than
// everything else in opening such a file (an allocation per element, then one per release). So arrays of
// at least `PackedArray.minimumCount` strings or numbers are checked in full when the file is opened
// (UTF-8, lengths, counts) and kept packed: the strings' bytes back to back, numbers as stored. `metadata`
// builds the typed values once, on first use; `packedStrings`, `numbers` and `metadata(arraysUpTo:)`
// read without building them.

import Synchronization
import TensorCore

/// A long metadata array kept as bytes: strings' UTF-8 back to back with each one's end offset, or
/// fixed-size elements as stored (little-endian).
struct PackedArray: Sendable {
    /// Arrays shorter than this are read into values at once.
    static let minimumCount = 64

    let type: MetadataType
    let count: Int
    let bytes: [UInt8]
    /// Strings only: where each ends in `bytes`.
    let ends: [Int]

    /// The typed values (strings were checked as UTF-8 when read).
    func values() -> [MetadataValue] {
        var out: [MetadataValue] = []
        out.reserveCapacity(count)
        bytes.withUnsafeBytes { raw in
            if type == .string {
                var start = 0
                for end in ends {
                    out.append(.string(String(decoding: UnsafeRawBufferPointer(rebasing: raw[start..<end]), as: UTF8.self)))
                    start = end
                }
                return
            }
            for i in 0..<count { out.append(element(raw, i)) }
        }
        return out
    }

    private func element(_ raw: UnsafeRawBufferPointer, _ i: Int) -> MetadataValue {
        func load<T: FixedWidthInteger>(_: T.Type) -> T { T(littleEndian: raw.loadUnaligned(fromByteOffset: i * MemoryLayout<T>.size, as: T.self)) }
        switch type {
        case .uint8: return .uint8(load(UInt8.self))
        case .int8: return .int8(Int8(bitPattern: load(UInt8.self)))
        case .uint16: return .uint16(load(UInt16.self))
        case .int16: return .int16(Int16(bitPattern: load(UInt16.self)))
        case .uint32: return .uint32(load(UInt32.self))
        case .int32: return .int32(Int32(bitPattern: load(UInt32.self)))
        case .float32: return .float32(Float(bitPattern: load(UInt32.self)))
        case .uint64: return .uint64(load(UInt64.self))
        case .int64: return .int64(Int64(bitPattern: load(UInt64.self)))
        case .float64: return .float64(Double(bitPattern: load(UInt64.self)))
        // Any non-zero byte is true, as ggml and gguf-py read it.
        case .bool: return .bool(load(UInt8.self) != 0)
        case .string, .array: preconditionFailure("not a fixed-size element type")
        }
    }

    /// Numbers widened to Double (integers above 2^53 rounded); nil for strings and bools.
    func numbers() -> [Double]? {
        switch type {
        case .string, .array, .bool: return nil
        default: break
        }
        return bytes.withUnsafeBytes { raw in
            func load<T: FixedWidthInteger>(_: T.Type, _ i: Int) -> T {
                T(littleEndian: raw.loadUnaligned(fromByteOffset: i * MemoryLayout<T>.size, as: T.self))
            }
            return (0..<count).map { i -> Double in
                switch type {
                case .uint8: return Double(load(UInt8.self, i))
                case .int8: return Double(Int8(bitPattern: load(UInt8.self, i)))
                case .uint16: return Double(load(UInt16.self, i))
                case .int16: return Double(Int16(bitPattern: load(UInt16.self, i)))
                case .uint32: return Double(load(UInt32.self, i))
                case .int32: return Double(Int32(bitPattern: load(UInt32.self, i)))
                case .float32: return Double(Float(bitPattern: load(UInt32.self, i)))
                case .uint64: return Double(load(UInt64.self, i))
                case .int64: return Double(Int64(bitPattern: load(UInt64.self, i)))
                case .float64: return Double(bitPattern: load(UInt64.self, i))
                case .bool, .string, .array: return .nan
                }
            }
        }
    }
}

/// The metadata of one file, in file order.
final class MetadataStore: Sendable {
    enum Item: Sendable {
        case value(MetadataValue)
        case packed(PackedArray)
    }

    let keys: [String]
    let items: [Item]
    private let built = Mutex<Metadata?>(nil)

    init(keys: [String], items: [Item]) {
        self.keys = keys
        self.items = items
    }

    func item(_ key: String) -> Item? {
        keys.firstIndex(of: key).map { items[$0] }
    }

    /// Every value, typed (built on first use, then kept).
    var metadata: Metadata {
        built.withLock { m in
            if let m { return m }
            let full = metadata(arraysUpTo: Int.max)
            m = full
            return full
        }
    }

    func metadata(arraysUpTo maxElements: Int) -> Metadata {
        var entries: [MetadataEntry] = []
        entries.reserveCapacity(keys.count)
        for (key, item) in zip(keys, items) {
            switch item {
            case .value(let v): entries.append(MetadataEntry(key, v))
            case .packed(let p): entries.append(MetadataEntry(key, .array(p.type, p.count <= maxElements ? p.values() : [])))
            }
        }
        return Metadata(entries)
    }
}

extension GGUFFile {
    /// Metadata in file order, typed. (Long arrays are built on first use and kept; see
    /// `metadata(arraysUpTo:)` and `packedStrings` for reading a vocabulary without them.)
    public var metadata: Metadata { store.metadata }

    /// The metadata with every array of more than `maxElements` elements given empty (its element type
    /// kept), which is cheap however long the arrays are; read those with `packedStrings` or `numbers`.
    public func metadata(arraysUpTo maxElements: Int) -> Metadata {
        store.metadata(arraysUpTo: maxElements)
    }

    /// A string array's elements as their UTF-8 bytes back to back, and where each ends; nil when the key
    /// is absent or is not an array of strings.
    public func packedStrings(_ key: String) -> (utf8: [UInt8], ends: [Int])? {
        switch store.item(key) {
        case .packed(let p) where p.type == .string: return (p.bytes, p.ends)
        case .value(.array(.string, let items)):
            var utf8: [UInt8] = []
            var ends: [Int] = []
            for case .string(let s) in items {
                utf8.append(contentsOf: s.utf8)
                ends.append(utf8.count)
            }
            return (utf8, ends)
        default: return nil
        }
    }

    /// A numeric array's elements widened to Double (integers above 2^53 rounded); nil when the key is
    /// absent or is not an array of integers or floats.
    public func numbers(_ key: String) -> [Double]? {
        switch store.item(key) {
        case .packed(let p): return p.numbers()
        case .value(.array(let t, let items)) where t != .string && t != .array && t != .bool:
            return items.compactMap(\.double)
        default: return nil
        }
    }
}
