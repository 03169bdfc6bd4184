// GGUF reader (llama.cpp's format, versions 2 and 3, little-endian). Layout (Formats/gguf.md §1):
//
//   magic "GGUF" | version u32 | tensor_count u64 | kv_count u64
//   kv_count × { key: string | type: u32 | value }          string = u64 length + UTF-8 bytes
//   tensor_count × { name: string | n_dims: u32 | ne: u64 × n_dims | ggml_type: u32 | offset: u64 }
//   zero padding to `general.alignment` (default 32)
//   tensor data: tensor i at data_start + offset_i, each offset a multiple of the alignment
//
// ne[0] is the fastest-varying axis, so the row-major shape is ne reversed. Opening maps the
// file and parses only the header; tensors are slices of the map. Every number is checked
// before it sizes a loop or an allocation; a malformed file throws a one-line GGUFError.

import TensorCore

/// One tensor-info record as stored (ggml order), for `inspect`.
public struct GGUFTensorInfo: Sendable, Equatable {
    public let name: String
    /// The ggml type id as stored.
    public let ggmlType: UInt32
    /// ggml dims, `ne[0]` (the row length) first: the reverse of the row-major shape.
    public let dims: [UInt64]
    /// Offset of the data relative to the start of the data section.
    public let offset: UInt64
    /// Byte offset of this record in the file.
    public let recordOffset: Int
}

/// A GGUF file opened for reading: header parsed, tensors memory-mapped.
public struct GGUFFile: Sendable {
    /// The path it was opened from.
    public let path: String
    /// 2 or 3.
    public let version: UInt32
    /// The data alignment: `general.alignment`, or 32.
    public let alignment: Int
    /// Metadata in file order (`metadata`, `packedStrings`, … in GGUFFile+Metadata.swift).
    let store: MetadataStore
    /// Tensor-info records in file order.
    public let tensorInfos: [GGUFTensorInfo]
    /// Tensors in file order, with row-major shapes (ggml dims reversed) and bytes mapped.
    public let tensors: [Tensor]
    /// Absolute byte offset where the data section starts.
    public let dataOffset: Int
    /// Things ggml would refuse but WeightKit accepts (tensors not packed in file order).
    public let warnings: [String]
    /// The mapped file.
    public let region: ByteRegion

    /// Maps the file at `path` and parses its header. Throws `GGUFError`.
    public static func open(path: String) throws -> GGUFFile {
        let region: ByteRegion
        do { region = try ByteRegion.map(path: path) } catch let e as TensorCoreError {
            let prefix = path + ": "
            let msg = e.message.hasPrefix(prefix) ? String(e.message.dropFirst(prefix.count)) : e.message
            throw GGUFError(path: path, field: "file", offset: nil, msg)
        }
        return try parse(region: region, path: path)
    }

    /// Parses GGUF bytes held in `region` (a map or a heap copy); `path` names it in errors.
    public static func parse(region: ByteRegion, path: String) throws(GGUFError) -> GGUFFile {
        let parsed: Result<GGUFFile, GGUFError> = region.withUnsafeBytes { bytes in
            do throws(GGUFError) { return .success(try parse(bytes, region: region, path: path)) } catch { return .failure(error) }
        }
        return try parsed.get()
    }

    private static func parse(_ bytes: UnsafeRawBufferPointer, region: ByteRegion, path: String) throws(GGUFError) -> GGUFFile {
        var c = GGUFCursor(bytes, path: path)
        try checkMagic(bytes, path: path)
        c = GGUFCursor(bytes, path: path, position: 4)

        // Version: 2 or 3, little-endian.
        let version = try c.u32("header", "version")
        if version != 0 && version & 0xFFFF == 0 {
            throw GGUFError(path: path, field: "header", offset: 4,
                "version field reads 0x\(String(version, radix: 16)): this is a big-endian (byte-swapped) GGUF, which WeightKit does not read; convert it with gguf-py's gguf_convert_endian.py")
        }
        guard version == 2 || version == 3 else {
            let why = version == 1 ? "GGUF v1 (32-bit counts) is obsolete" : version == 0 ? "version 0 is invalid" : "newer than WeightKit knows"
            throw GGUFError(path: path, field: "header", offset: 4, "unsupported version \(version) (\(why)); WeightKit reads versions 2 and 3")
        }
        let tensorCount64 = try c.u64("header", "tensor count")
        let kvCount64 = try c.u64("header", "metadata count")
        // The smallest key-value pair is 13 bytes (key length, one key byte, type, one value
        // byte); the smallest tensor info 24 (name length, n_dims, type, offset).
        guard kvCount64 <= UInt64(c.remaining / 13) else {
            throw GGUFError(path: path, field: "header", offset: 16, "metadata count \(kvCount64) cannot fit in the \(c.remaining) bytes left")
        }
        guard tensorCount64 <= UInt64(c.remaining / 24) else {
            throw GGUFError(path: path, field: "header", offset: 8, "tensor count \(tensorCount64) cannot fit in the \(c.remaining) bytes left")
        }

        // Metadata.
        var keys: [String] = []
        var items: [MetadataStore.Item] = []
        var seen: [String: Int] = [:]
        var alignmentAt: Int? = nil
        var budget = GGUFLimits.maxTotalArrayElements
        keys.reserveCapacity(Int(kvCount64))
        items.reserveCapacity(Int(kvCount64))
        for i in 0..<Int(kvCount64) {
            let at = c.position
            let key = try c.string("metadata #\(i)", "key", maxBytes: GGUFLimits.maxKeyBytes)
            let field = "metadata '\(key)'"
            guard !key.isEmpty else { throw c.error("metadata #\(i)", at: at, "empty key") }
            if let first = seen[key] {
                throw c.error(field, at: at, "duplicate key (first at byte \(first))")
            }
            seen[key] = at
            let type = try c.valueType(field, "value type")
            let valueAt = c.position
            let value = try c.topLevelValue(type, field, budget: &budget)
            if key == "general.alignment" { alignmentAt = valueAt }
            keys.append(key)
            items.append(value)
        }
        let store = MetadataStore(keys: keys, items: items)

        // Alignment: u32, a non-zero power of two.
        var alignment = 32
        if let at = alignmentAt, let item = store.item("general.alignment") {
            let v: MetadataValue
            switch item {
            case .value(let value): v = value
            case .packed(let p): v = .array(p.type, [])
            }
            guard case .uint32(let a) = v else {
                throw GGUFError(path: path, field: "metadata 'general.alignment'", offset: at, "has type \(v.type.name), must be u32")
            }
            guard a != 0, a & (a - 1) == 0 else {
                throw GGUFError(path: path, field: "metadata 'general.alignment'", offset: at, "\(a) is not a non-zero power of two")
            }
            alignment = Int(a)
        }

        // Tensor infos.
        guard tensorCount64 <= UInt64(c.remaining / 24) else {
            throw GGUFError(path: path, field: "header", offset: 8, "tensor count \(tensorCount64) cannot fit in the \(c.remaining) bytes left after the metadata")
        }
        var infos: [GGUFTensorInfo] = []
        var kinds: [(type: GGMLType, dtype: DType, bytes: Int, shape: [Int])] = []
        var names: [String: Int] = [:]
        for i in 0..<Int(tensorCount64) {
            let at = c.position
            let name = try c.string("tensor #\(i)", "name", maxBytes: GGUFLimits.maxStringBytes)
            let field = "tensor '\(name)'"
            guard name.utf8.count <= GGUFLimits.maxNameBytes else {
                throw c.error(field, at: at, "name is \(name.utf8.count) bytes; ggml allows at most \(GGUFLimits.maxNameBytes)")
            }
            if let first = names[name] { throw c.error(field, at: at, "duplicate tensor name (first at byte \(first))") }
            names[name] = at
            let nDimsAt = c.position
            let nDims = try c.u32(field, "n_dims")
            guard nDims <= UInt32(GGUFLimits.maxDims) else {
                throw c.error(field, at: nDimsAt, "n_dims is \(nDims); ggml allows at most \(GGUFLimits.maxDims)")
            }
            var dims: [UInt64] = []
            for k in 0..<Int(nDims) {
                let d = try c.u64(field, "ne[\(k)]")
                guard d <= UInt64(Int64.max) else { throw c.error(field, at: c.position - 8, "ne[\(k)] = \(d) does not fit in int64") }
                dims.append(d)
            }
            let typeAt = c.position
            let typeID = try c.u32(field, "type")
            let offsetAt = c.position
            let offset = try c.u64(field, "offset")
            let info = GGUFTensorInfo(name: name, ggmlType: typeID, dims: dims, offset: offset, recordOffset: at)

            guard let type = GGMLType.byID(typeID) else {
                throw c.error(field, at: typeAt, "unknown ggml type \(typeID)")
            }
            if type.isRemoved { throw c.error(field, at: typeAt, "ggml type \(typeID) (\(type.name)) was removed from ggml and is not valid in GGUF") }
            guard let dtype = type.dtype else {
                throw c.error(field, at: typeAt, "ggml type \(typeID) (\(type.name)) is not supported by WeightKit")
            }
            let shape = dims.reversed().map { Int($0) }
            guard let elements = Checked.product(shape) else {
                throw c.error(field, at: nDimsAt, "element count of ne \(dims) overflows int64")
            }
            if let ne0 = dims.first, ne0 % UInt64(dtype.blockSize) != 0 {
                throw c.error(field, at: nDimsAt, "row length ne[0] = \(ne0) is not a multiple of the \(type.name) block size \(dtype.blockSize)")
            }
            guard let nbytes = dtype.byteCount(elements: elements) else {
                throw c.error(field, at: nDimsAt, "\(elements) elements of \(type.name) are not a whole number of blocks, or need more than \(Int.max) bytes")
            }
            guard offset % UInt64(alignment) == 0 else {
                throw c.error(field, at: offsetAt, "offset \(offset) is not a multiple of the alignment \(alignment)")
            }
            infos.append(info)
            kinds.append((type, dtype, nbytes, shape))
        }

        // Data section: aligned after the infos, inside the file.
        let headerEnd = c.position
        guard let padded = Checked.add(headerEnd, alignment - 1) else {
            throw GGUFError(path: path, field: "header", offset: headerEnd, "data start overflows")
        }
        let dataOffset = padded - padded % alignment
        if !infos.isEmpty, dataOffset > bytes.count {
            throw GGUFError(path: path, field: "header", offset: headerEnd, "tensor data would start at byte \(dataOffset), past the end of the file (\(bytes.count))")
        }
        let dataBytes = max(0, bytes.count - dataOffset)

        // Each tensor inside the file (subtraction form: no wraparound).
        for (i, info) in infos.enumerated() {
            let n = kinds[i].bytes
            guard info.offset <= UInt64(dataBytes), n <= dataBytes - Int(info.offset) else {
                throw GGUFError(path: path, field: "tensor '\(info.name)'", offset: info.recordOffset,
                    "offset \(info.offset) + \(n) bytes runs past the end of the file (\(bytes.count) bytes, data section starts at byte \(dataOffset))")
            }
        }
        // No two tensors share bytes.
        let order = infos.indices.filter { kinds[$0].bytes > 0 }.sorted { infos[$0].offset < infos[$1].offset }
        for k in order.indices.dropFirst() {
            let a = order[k - 1], b = order[k]
            let endA = Int(infos[a].offset) + kinds[a].bytes
            if Int(infos[b].offset) < endA {
                throw GGUFError(path: path, field: "tensor '\(infos[b].name)'", offset: infos[b].recordOffset,
                    "data at offset \(infos[b].offset) overlaps tensor '\(infos[a].name)' (offset \(infos[a].offset), \(kinds[a].bytes) bytes)")
            }
        }
        // ggml's stricter rule: packed in file order. A warning here.
        var warnings: [String] = []
        var expected = 0
        for (i, info) in infos.enumerated() {
            if Int(info.offset) != expected {
                warnings.append("\(path): tensor '\(info.name)' has offset \(info.offset), ggml expects \(expected) (tensors not packed in file order; llama.cpp would refuse this file)")
                break
            }
            let n = kinds[i].bytes
            expected = Int(info.offset) + n + (alignment - n % alignment) % alignment
        }

        var tensors: [Tensor] = []
        tensors.reserveCapacity(infos.count)
        for (i, info) in infos.enumerated() {
            let k = kinds[i]
            guard let data = TensorData(region: region, offset: dataOffset + Int(info.offset), count: k.bytes) else {
                throw GGUFError(path: path, field: "tensor '\(info.name)'", offset: info.recordOffset, "data outside the file")
            }
            do {
                tensors.append(try Tensor(name: info.name, dtype: k.dtype, shape: k.shape, data: data))
            } catch {
                throw GGUFError(path: path, field: "tensor '\(info.name)'", offset: info.recordOffset, "\(error)")
            }
        }
        return GGUFFile(
            path: path, version: version, alignment: alignment, store: store, tensorInfos: infos, tensors: tensors,
            dataOffset: dataOffset, warnings: warnings, region: region)
    }

    /// Checks the magic; names what the file is when it is not GGUF.
    static func checkMagic(_ b: UnsafeRawBufferPointer, path: String) throws(GGUFError) {
        func fail(_ m: String) -> GGUFError { GGUFError(path: path, field: "file", offset: nil, m) }
        func starts(_ s: [UInt8]) -> Bool { b.count >= s.count && zip(b, s).allSatisfy { $0 == $1 } }
        if starts(Array("GGUF".utf8)) {
            if b.count < 24 { throw GGUFError(path: path, field: "header", offset: 0, "truncated: \(b.count) bytes, a GGUF header needs 24") }
            return
        }
        if b.count == 0 { throw fail("is empty (0 bytes), not a GGUF file") }
        if starts(Array("version https://git-lfs".utf8)) {
            throw fail("is a Git LFS pointer (\(b.count) bytes), not the GGUF file itself; fetch the real file with `git lfs pull`")
        }
        if starts(Array("FUGG".utf8)) { throw fail("starts with 'FUGG': a byte-swapped (big-endian) GGUF, which WeightKit does not read") }
        if starts([0x89, 0x48, 0x44, 0x46, 0x0D, 0x0A, 0x1A, 0x0A]) { throw fail("is an HDF5 file, not GGUF") }
        if starts([0x28, 0xB5, 0x2F, 0xFD]) { throw fail("is zstd-compressed; decompress it first") }
        if starts([0x50, 0x4B, 0x03, 0x04]) { throw fail("is a zip archive (a PyTorch .bin/.pt checkpoint?), not GGUF") }
        for (magic, what) in [("lmgg", "ggml"), ("fmgg", "ggmf"), ("tjgg", "ggjt"), ("algg", "ggla")] where starts(Array(magic.utf8)) {
            throw fail("is a pre-GGUF llama.cpp '\(what)' file; convert it to GGUF first")
        }
        if b.count >= 9, b[8] == UInt8(ascii: "{") {
            let n = UInt64(littleEndian: b.loadUnaligned(as: UInt64.self))
            if n <= UInt64(b.count - 8) { throw fail("is a safetensors file (JSON header of \(n) bytes), not GGUF") }
        }
        let head = b.prefix(4).map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }
        throw fail("not a GGUF file: magic is \(head.joined(separator: " ")), expected 47 47 55 46 ('GGUF')")
    }
}
