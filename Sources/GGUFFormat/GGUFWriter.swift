// GGUF writer: version 3, little-endian, streaming. The header is built from the tensors'
// header facts (name, dtype, shape), then each tensor's bytes are produced and written one at
// a time, packed in the given order, each padded with zeros to the alignment as ggml and
// gguf-py do (after the last tensor too). Output goes through AtomicFile: a temporary beside
// the target, fsynced and renamed; on any error nothing is left behind.

import TensorCore

/// Writes GGUF v3 files.
public enum GGUFWriter {
    /// Writes `tensors` (in order) and `metadata` (in order) to `path`.
    ///
    /// - Shapes are row-major; ggml dims are written reversed. A scalar (shape `[]`) is
    ///   written as one dimension of 1 (ggml tensors have at least one dimension).
    /// - `general.alignment`: written only when `alignment` is not 32. A `general.alignment`
    ///   entry already in `metadata` is replaced in place by the alignment actually used
    ///   (or dropped when that is the default 32 and the entry held another value).
    /// - Rejects: names of 64 bytes or more, duplicate names, dtypes ggml has no type for
    ///   (u8, u16, u32, u64, bool, f8), more than 4 dimensions, rows that are not whole
    ///   blocks, empty/duplicate/over-long keys, arrays whose elements do not match their
    ///   declared type, arrays nested deeper than 8, an alignment that is not a power of two.
    public static func write(
        to path: String, metadata: Metadata, tensors: [TensorEntry], alignment: Int = 32, overwrite: Bool = true
    ) throws {
        let plan = try header(path: path, metadata: metadata, tensors: tensors, alignment: alignment)
        let file = try AtomicFile(destination: path, overwrite: overwrite)
        do {
            try file.write(plan.header)
            try file.writeZeros(plan.dataOffset - plan.header.count)
            for (i, t) in tensors.enumerated() {
                let data = try t.bytes()
                try data.withUnsafeBytes { try file.write($0) }
                try file.writeZeros(pad(data.count, alignment) - data.count)
                let expectedEnd = plan.dataOffset + plan.offsets[i] + pad(t.byteCount, alignment)
                guard file.bytesWritten == expectedEnd else {
                    throw GGUFError(path: path, field: "tensor '\(t.name)'", offset: nil, "wrote \(file.bytesWritten) bytes, expected \(expectedEnd)")
                }
            }
            try file.commit()
        } catch {
            file.abort()
            throw error
        }
    }

    /// `x` rounded up to a multiple of `a`.
    static func pad(_ x: Int, _ a: Int) -> Int { x + (a - x % a) % a }

    /// The header bytes (up to the end of the tensor infos, unpadded), the data section's
    /// absolute offset, and each tensor's offset within the data section.
    public static func header(
        path: String, metadata: Metadata, tensors: [TensorEntry], alignment: Int = 32
    ) throws -> (header: [UInt8], dataOffset: Int, offsets: [Int]) {
        func fail(_ field: String, _ m: String) -> GGUFError { GGUFError(path: path, field: field, offset: nil, m) }
        guard alignment > 0, alignment & (alignment - 1) == 0, alignment <= Int(UInt32.max) else {
            throw fail("alignment", "\(alignment) is not a power of two that fits in u32")
        }

        // Metadata, with general.alignment reconciled.
        var entries = metadata.entries
        if let i = entries.firstIndex(where: { $0.key == "general.alignment" }) {
            if alignment == 32, entries[i].value != .uint32(32) {
                entries.remove(at: i)
            } else {
                entries[i] = MetadataEntry("general.alignment", .uint32(UInt32(alignment)))
            }
        } else if alignment != 32 {
            entries.append(MetadataEntry("general.alignment", .uint32(UInt32(alignment))))
        }

        var out = ByteWriter()
        out.bytes.append(contentsOf: Array("GGUF".utf8))
        out.u32(3)
        out.u64(UInt64(tensors.count))
        out.u64(UInt64(entries.count))

        var keys = Set<String>()
        for e in entries {
            let field = "metadata '\(e.key)'"
            guard !e.key.isEmpty else { throw fail("metadata", "empty key") }
            guard e.key.utf8.count <= GGUFLimits.maxKeyBytes else { throw fail(field, "key is longer than \(GGUFLimits.maxKeyBytes) bytes") }
            guard keys.insert(e.key).inserted else { throw fail(field, "duplicate key") }
            out.string(e.key)
            out.u32(e.value.type.rawValue)
            try out.value(e.value, depth: 0) { fail(field, $0) }
        }

        var names = Set<String>()
        var offsets: [Int] = []
        var running = 0
        for t in tensors {
            let field = "tensor '\(t.name)'"
            guard t.name.utf8.count <= GGUFLimits.maxNameBytes else {
                throw fail(field, "name is \(t.name.utf8.count) bytes; ggml allows at most \(GGUFLimits.maxNameBytes)")
            }
            guard names.insert(t.name).inserted else { throw fail(field, "duplicate tensor name") }
            guard let type = GGMLType.forDType(t.dtype) else {
                throw fail(field, "dtype \(t.dtype.rawValue) has no ggml type; cast it to a type GGUF holds first")
            }
            guard t.shape.count <= GGUFLimits.maxDims else {
                throw fail(field, "shape \(t.shape) has \(t.shape.count) dimensions; ggml allows at most \(GGUFLimits.maxDims)")
            }
            let dims = t.shape.isEmpty ? [1] : Array(t.shape.reversed())
            if t.dtype.isQuantized, dims[0] % t.dtype.blockSize != 0 {
                throw fail(field, "rows of \(dims[0]) elements are not a multiple of the \(t.dtype.rawValue) block size \(t.dtype.blockSize)")
            }
            out.string(t.name)
            out.u32(UInt32(dims.count))
            for d in dims { out.u64(UInt64(d)) }
            out.u32(type.id)
            out.u64(UInt64(running))
            offsets.append(running)
            guard let next = Checked.add(running, pad(t.byteCount, alignment)) else { throw fail(field, "data section size overflows") }
            running = next
        }
        return (out.bytes, pad(out.bytes.count, alignment), offsets)
    }
}

/// Little-endian byte building for the header.
struct ByteWriter {
    var bytes: [UInt8] = []

    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func string(_ s: String) {
        u64(UInt64(s.utf8.count))
        bytes.append(contentsOf: s.utf8)
    }

    /// A value without its type id (the caller wrote it).
    mutating func value(_ v: MetadataValue, depth: Int, _ fail: (String) -> GGUFError) throws {
        switch v {
        case .uint8(let x): u8(x)
        case .int8(let x): u8(UInt8(bitPattern: x))
        case .uint16(let x): u16(x)
        case .int16(let x): u16(UInt16(bitPattern: x))
        case .uint32(let x): u32(x)
        case .int32(let x): u32(UInt32(bitPattern: x))
        case .float32(let x): u32(x.bitPattern)
        case .uint64(let x): u64(x)
        case .int64(let x): u64(UInt64(bitPattern: x))
        case .float64(let x): u64(x.bitPattern)
        case .bool(let x): u8(x ? 1 : 0)
        case .string(let s): string(s)
        case .array(let type, let items):
            guard depth < GGUFLimits.maxArrayDepth else { throw fail("arrays nested deeper than \(GGUFLimits.maxArrayDepth) levels") }
            u32(type.rawValue)
            u64(UInt64(items.count))
            for item in items {
                guard item.type == type else {
                    throw fail("array declared as \(type.name) holds a \(item.type.name) element")
                }
                try value(item, depth: depth + 1, fail)
            }
        }
    }
}
