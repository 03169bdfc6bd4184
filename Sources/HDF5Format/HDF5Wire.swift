// The byte format the HDF5 helper (`wk-hdf5-probe`) writes on its pipe and the parent reads: little-
// endian integers, strings and arrays with their counts first. The parent treats the helper's output
// as untrusted as the file itself (the helper parsed a hostile file): every count is checked against
// the bytes left before anything is allocated.

import TensorCore

struct WireWriter {
    var bytes: [UInt8] = []

    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func int(_ v: Int) { u64(UInt64(bitPattern: Int64(v))) }
    mutating func string(_ s: String) {
        let u = Array(s.utf8)
        int(u.count)
        bytes.append(contentsOf: u)
    }
    mutating func ints(_ v: [Int]) {
        int(v.count)
        for x in v { int(x) }
    }

    mutating func value(_ v: MetadataValue) {
        u8(UInt8(v.type.rawValue))
        switch v {
        case .uint8(let x): u8(x)
        case .int8(let x): u8(UInt8(bitPattern: x))
        case .uint16(let x): u32(UInt32(x))
        case .int16(let x): u32(UInt32(UInt16(bitPattern: x)))
        case .uint32(let x): u32(x)
        case .int32(let x): u32(UInt32(bitPattern: x))
        case .float32(let x): u32(x.bitPattern)
        case .bool(let x): u8(x ? 1 : 0)
        case .string(let s): string(s)
        case .uint64(let x): u64(x)
        case .int64(let x): u64(UInt64(bitPattern: x))
        case .float64(let x): u64(x.bitPattern)
        case .array(let t, let items):
            u8(UInt8(t.rawValue))
            int(items.count)
            for i in items { value(i) }
        }
    }
}

struct WireError: Error { let text: String }

struct WireReader {
    let bytes: [UInt8]
    var pos = 0
    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var remaining: Int { bytes.count - pos }

    mutating func take(_ n: Int) throws(WireError) -> ArraySlice<UInt8> {
        guard n >= 0, n <= remaining else { throw WireError(text: "the helper's answer is cut short") }
        defer { pos += n }
        return bytes[pos..<pos + n]
    }
    mutating func u8() throws(WireError) -> UInt8 { try take(1).first! }
    mutating func u32() throws(WireError) -> UInt32 {
        let s = try take(4)
        return s.reversed().reduce(0) { $0 << 8 | UInt32($1) }
    }
    mutating func u64() throws(WireError) -> UInt64 {
        let s = try take(8)
        return s.reversed().reduce(0) { $0 << 8 | UInt64($1) }
    }
    mutating func int() throws(WireError) -> Int { Int(Int64(bitPattern: try u64())) }
    /// A count of items each taking at least `minBytes` bytes: checked against what is left.
    mutating func count(minBytes: Int) throws(WireError) -> Int {
        let n = try int()
        guard n >= 0, n <= remaining / max(minBytes, 1) else { throw WireError(text: "the helper's answer holds a bad count (\(n))") }
        return n
    }
    mutating func string() throws(WireError) -> String {
        let n = try count(minBytes: 1)
        return String(decoding: try take(n), as: UTF8.self)
    }
    mutating func ints() throws(WireError) -> [Int] {
        let n = try count(minBytes: 8)
        var out: [Int] = []
        out.reserveCapacity(n)
        for _ in 0..<n { out.append(try int()) }
        return out
    }

    mutating func value(depth: Int = 0) throws(WireError) -> MetadataValue {
        guard let t = MetadataType(rawValue: UInt32(try u8())) else { throw WireError(text: "the helper's answer holds a bad value type") }
        switch t {
        case .uint8: return .uint8(try u8())
        case .int8: return .int8(Int8(bitPattern: try u8()))
        case .uint16: return .uint16(UInt16(truncatingIfNeeded: try u32()))
        case .int16: return .int16(Int16(bitPattern: UInt16(truncatingIfNeeded: try u32())))
        case .uint32: return .uint32(try u32())
        case .int32: return .int32(Int32(bitPattern: try u32()))
        case .float32: return .float32(Float(bitPattern: try u32()))
        case .bool: return .bool(try u8() != 0)
        case .string: return .string(try string())
        case .uint64: return .uint64(try u64())
        case .int64: return .int64(Int64(bitPattern: try u64()))
        case .float64: return .float64(Double(bitPattern: try u64()))
        case .array:
            guard depth < 4, let et = MetadataType(rawValue: UInt32(try u8())) else {
                throw WireError(text: "the helper's answer holds a bad array")
            }
            let n = try count(minBytes: 2)
            var items: [MetadataValue] = []
            items.reserveCapacity(n)
            for _ in 0..<n { items.append(try value(depth: depth + 1)) }
            return .array(et, items)
        }
    }
}
