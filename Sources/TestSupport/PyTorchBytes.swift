// Byte builders for torch.save files, valid or deliberately broken, built in memory for tests:
// a pickle assembler (opcodes as they are written) and a zip writer (stored entries, data aligned
// to 64 bytes as torch aligns it).

/// Pickle bytes, opcode by opcode. Nothing is checked.
public struct PickleBytes {
    public var bytes: [UInt8] = []
    public init() {}

    public mutating func raw(_ b: [UInt8]) { bytes += b }
    public mutating func op(_ code: UInt8) { bytes.append(code) }
    public mutating func proto(_ v: UInt8 = 2) { bytes += [0x80, v] }
    public mutating func stop() { bytes.append(0x2E) }
    public mutating func mark() { bytes.append(0x28) }
    public mutating func global(_ module: String, _ name: String) { bytes += [0x63] + Array(module.utf8) + [0x0A] + Array(name.utf8) + [0x0A] }
    public mutating func string(_ s: String) {
        let u = Array(s.utf8)
        bytes.append(0x58)
        withUnsafeBytes(of: UInt32(u.count).littleEndian) { bytes += $0 }
        bytes += u
    }
    public mutating func int(_ v: Int) {
        if (0..<256).contains(v) {
            bytes += [0x4B, UInt8(v)]
        } else if (Int(Int32.min)...Int(Int32.max)).contains(v) {
            bytes.append(0x4A)
            withUnsafeBytes(of: Int32(v).littleEndian) { bytes += $0 }
        } else {
            bytes += [0x8A, 8]
            withUnsafeBytes(of: Int64(v).littleEndian) { bytes += $0 }
        }
    }
    public mutating func tuple(_ items: (inout PickleBytes) -> Void) {
        mark()
        items(&self)
        op(0x74)
    }
    /// An empty OrderedDict (GLOBAL, EMPTY_TUPLE, REDUCE).
    public mutating func orderedDict() {
        global("collections", "OrderedDict")
        op(0x29)
        op(0x52)
    }
    /// `_rebuild_tensor_v2(('storage', torch.<type>, key, 'cpu', numel), offset, size, stride, False, OrderedDict())`.
    public mutating func tensor(key: String, type: String = "FloatStorage", numel: Int, offset: Int = 0, size: [Int], stride: [Int]) {
        global("torch._utils", "_rebuild_tensor_v2")
        tuple { p in
            p.tuple { q in
                q.string("storage")
                q.global("torch", type)
                q.string(key)
                q.string("cpu")
                q.int(numel)
            }
            p.op(0x51)
            p.int(offset)
            p.tuple { q in for s in size { q.int(s) } }
            p.tuple { q in for s in stride { q.int(s) } }
            p.op(0x89)
            p.orderedDict()
        }
        op(0x52)
    }
    /// An OrderedDict filled by SETITEMS with string keys.
    public mutating func stateDict(_ items: [(String, (inout PickleBytes) -> Void)]) {
        orderedDict()
        mark()
        for (k, v) in items {
            string(k)
            v(&self)
        }
        op(0x75)
    }
}

/// A zip archive of stored entries, written as torch writes them (data 64-byte aligned).
public enum ZipBytes {
    public static func crc32(_ data: [UInt8]) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in data {
            c ^= UInt32(b)
            for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        }
        return c ^ 0xFFFF_FFFF
    }

    public static func make(_ entries: [(name: String, data: [UInt8])], align: Int = 64) -> [UInt8] {
        var out = [UInt8]()
        var central = [UInt8]()
        func u16(_ v: Int, _ a: inout [UInt8]) { withUnsafeBytes(of: UInt16(v).littleEndian) { a += $0 } }
        func u32(_ v: UInt32, _ a: inout [UInt8]) { withUnsafeBytes(of: v.littleEndian) { a += $0 } }
        for (name, data) in entries {
            let n = Array(name.utf8)
            let offset = out.count
            let crc = crc32(data)
            let pad = align > 0 ? (align - (out.count + 30 + n.count + 4) % align) % align : 0
            u32(0x0403_4B50, &out); u16(20, &out); u16(0x0800, &out); u16(0, &out); u16(0, &out); u16(0, &out)
            u32(crc, &out); u32(UInt32(data.count), &out); u32(UInt32(data.count), &out); u16(n.count, &out)
            u16(align > 0 ? pad + 4 : 0, &out)
            out += n
            if align > 0 {
                out += Array("FB".utf8)
                u16(pad, &out)
                out += [UInt8](repeating: 0x5A, count: pad)
            }
            out += data
            u32(0x0201_4B50, &central); u16(20, &central); u16(20, &central); u16(0x0800, &central); u16(0, &central)
            u16(0, &central); u16(0, &central); u32(crc, &central); u32(UInt32(data.count), &central)
            u32(UInt32(data.count), &central); u16(n.count, &central); u16(0, &central); u16(0, &central); u16(0, &central)
            u16(0, &central); u32(0, &central); u32(UInt32(offset), &central)
            central += n
        }
        let cdOffset = out.count
        out += central
        u32(0x0605_4B50, &out); u16(0, &out); u16(0, &out); u16(entries.count, &out); u16(entries.count, &out)
        u32(UInt32(central.count), &out); u32(UInt32(cdOffset), &out); u16(0, &out)
        return out
    }

    /// A torch.save-shaped archive: `archive/data.pkl`, `archive/byteorder`, `archive/data/<key>`, `archive/version`.
    public static func torch(pickle: [UInt8], storages: [(String, [UInt8])], archive: String = "archive") -> [UInt8] {
        var entries: [(name: String, data: [UInt8])] = [(archive + "/data.pkl", pickle), (archive + "/byteorder", Array("little".utf8))]
        for (k, v) in storages { entries.append((archive + "/data/" + k, v)) }
        entries.append((archive + "/version", Array("3\n".utf8)))
        return make(entries)
    }
}
