// HDF5 attributes → MetadataValue (Formats/hdf5.md §1, "Attribute values"):
//   string (fixed or variable length, ASCII or UTF-8), scalar      → .string
//   string array (any rank, flattened row-major)                    → .array(.string, …)
//   integer / float scalar                                          → .int8 … .uint64 / .float32 / .float64
//   integer / float array (flattened)                               → .array(type, …)
//   h5py bool (enum over int8, values 0 and 1), scalar or array     → .bool / .array(.bool, …)
// 2-byte floats widen to float32. Fixed-length strings end at the first NUL (NULLTERM, NULLPAD) or
// lose trailing spaces (SPACEPAD); invalid UTF-8 becomes U+FFFD. Anything else (compound, opaque,
// references, null dataspaces) is not metadata: it is listed in `HDF5File.skippedAttributes`.

internal import CHDF5
import TensorCore
#if canImport(Glibc)
    import Glibc
#endif

/// What the attribute iteration callback collects.
final class AttributeContext {
    var values: [(String, MetadataValue)] = []
    var skipped: [(String, String)] = []
}

enum HDF5AttributeReader {
    /// Attributes larger than this are refused (a hostile header could claim any size).
    static let maxBytes = 1 << 30

    /// The attributes of the object at `object` ("." for the root group), in name order.
    static func readAll(file: hid_t, object: String) -> (values: [(String, MetadataValue)], skipped: [(String, String)]) {
        let ctx = AttributeContext()
        let unmanaged = Unmanaged.passRetained(ctx)
        _ = H5Aiterate_by_name(file, object, H5_INDEX_NAME, H5_ITER_INC, nil, attributeVisitor, unmanaged.toOpaque(), hid_t(H5P_DEFAULT))
        unmanaged.release()
        return (ctx.values, ctx.skipped)
    }

    /// Reads one open attribute.
    static func read(_ attr: hid_t) -> Result<MetadataValue, ReasonError> {
        let space = H5Aget_space(attr)
        guard space >= 0 else { return .failure(ReasonError("unreadable dataspace")) }
        defer { H5Sclose(space) }
        let type = H5Aget_type(attr)
        guard type >= 0 else { return .failure(ReasonError("unreadable datatype")) }
        defer { H5Tclose(type) }
        let kind = H5Sget_simple_extent_type(space)
        if kind == H5S_NULL { return .failure(ReasonError("empty (null dataspace)")) }
        let isScalar = kind == H5S_SCALAR
        let points = H5Sget_simple_extent_npoints(space)
        guard points >= 0, let count = Int(exactly: points) else { return .failure(ReasonError("unreadable element count")) }
        let cls = H5Tget_class(type)
        do {
            let items: [MetadataValue]
            let itemType: MetadataType
            switch cls {
            case H5T_STRING:
                items = try readStrings(attr, type: type, space: space, count: count).map { .string($0) }
                itemType = .string
            case H5T_INTEGER, H5T_FLOAT:
                (items, itemType) = try readNumbers(attr, type: type, class: cls, count: count)
            case H5T_ENUM where HDF5ElementType.isBoolEnum(type):
                let raw = try readRaw(attr, memType: type, size: 1, count: count)
                items = raw.map { .bool($0 != 0) }
                itemType = .bool
            default:
                return .failure(ReasonError("\(HDF5ElementType.className(cls)) attributes are not supported"))
            }
            if isScalar, let first = items.first { return .success(first) }
            return .success(.array(itemType, items))
        } catch let e as ReasonError {
            return .failure(e)
        } catch {
            return .failure(ReasonError("\(error)"))
        }
    }

    /// Bytes of `count` elements of `size`, checked.
    private static func checkedBytes(_ count: Int, _ size: Int) throws -> Int {
        guard let n = Checked.mul(count, size), n <= maxBytes else {
            throw ReasonError("\(count) elements of \(size) bytes is too large for an attribute")
        }
        return n
    }

    private static func readRaw(_ attr: hid_t, memType: hid_t, size: Int, count: Int) throws -> [UInt8] {
        let n = try checkedBytes(count, size)
        var buf = [UInt8](repeating: 0, count: max(n, 1))
        let r = buf.withUnsafeMutableBytes { H5Aread(attr, memType, $0.baseAddress) }
        guard r >= 0 else { throw ReasonError("cannot read: \(HDF5Library.reason() ?? "unknown error")") }
        return Array(buf.prefix(n))
    }

    private static func readStrings(_ attr: hid_t, type: hid_t, space: hid_t, count: Int) throws -> [String] {
        let cset = H5Tget_cset(type)
        if H5Tis_variable_str(type) > 0 {
            let mem = H5Tcopy(wk_H5T_C_S1())
            defer { H5Tclose(mem) }
            H5Tset_size(mem, wk_H5T_VARIABLE())
            H5Tset_cset(mem, cset)
            _ = try checkedBytes(count, MemoryLayout<UnsafeMutablePointer<CChar>?>.stride)
            var ptrs = [UnsafeMutablePointer<CChar>?](repeating: nil, count: max(count, 1))
            let r = ptrs.withUnsafeMutableBufferPointer { H5Aread(attr, mem, $0.baseAddress) }
            guard r >= 0 else { throw ReasonError("cannot read strings: \(HDF5Library.reason() ?? "unknown error")") }
            let out = ptrs.prefix(count).map { p in p.map { String(decoding: UnsafeRawBufferPointer(start: $0, count: strlen($0)), as: UTF8.self) } ?? "" }
            _ = ptrs.withUnsafeMutableBufferPointer { H5Dvlen_reclaim(mem, space, hid_t(H5P_DEFAULT), $0.baseAddress) }
            return out
        }
        let size = H5Tget_size(type)
        guard size > 0 else { return Array(repeating: "", count: count) }
        let mem = H5Tcopy(type)
        defer { H5Tclose(mem) }
        let raw = try readRaw(attr, memType: mem, size: size, count: count)
        let spacePad = H5Tget_strpad(type) == H5T_STR_SPACEPAD
        return (0..<count).map { i in
            var item = raw[(i * size)..<((i + 1) * size)]
            if spacePad {
                while let last = item.last, last == 0x20 || last == 0 { item = item.dropLast() }
            } else if let nul = item.firstIndex(of: 0) {
                item = item[..<nul]
            }
            return String(decoding: item, as: UTF8.self)
        }
    }

    private static func readNumbers(_ attr: hid_t, type: hid_t, class cls: H5T_class_t, count: Int) throws -> ([MetadataValue], MetadataType) {
        let size = H5Tget_size(type)
        if cls == H5T_FLOAT {
            if size == 8 {
                let raw = try readRaw(attr, memType: wk_H5T_IEEE_F64LE(), size: 8, count: count)
                return (values(raw, count, Double.self).map { .float64($0) }, .float64)
            }
            let raw = try readRaw(attr, memType: wk_H5T_IEEE_F32LE(), size: 4, count: count)
            return (values(raw, count, Float.self).map { .float32($0) }, .float32)
        }
        let signed = H5Tget_sign(type) == H5T_SGN_2
        switch (size, signed) {
        case (1, true):
            let r = try readRaw(attr, memType: wk_H5T_STD_I8LE(), size: 1, count: count)
            return (values(r, count, Int8.self).map { .int8($0) }, .int8)
        case (2, true):
            let r = try readRaw(attr, memType: wk_H5T_STD_I16LE(), size: 2, count: count)
            return (values(r, count, Int16.self).map { .int16($0) }, .int16)
        case (4, true):
            let r = try readRaw(attr, memType: wk_H5T_STD_I32LE(), size: 4, count: count)
            return (values(r, count, Int32.self).map { .int32($0) }, .int32)
        case (1, false):
            let r = try readRaw(attr, memType: wk_H5T_STD_U8LE(), size: 1, count: count)
            return (r.map { .uint8($0) }, .uint8)
        case (2, false):
            let r = try readRaw(attr, memType: wk_H5T_STD_U16LE(), size: 2, count: count)
            return (values(r, count, UInt16.self).map { .uint16($0) }, .uint16)
        case (4, false):
            let r = try readRaw(attr, memType: wk_H5T_STD_U32LE(), size: 4, count: count)
            return (values(r, count, UInt32.self).map { .uint32($0) }, .uint32)
        case (_, false) where size == 8:
            let r = try readRaw(attr, memType: wk_H5T_STD_U64LE(), size: 8, count: count)
            return (values(r, count, UInt64.self).map { .uint64($0) }, .uint64)
        default:
            // 8-byte signed, and wider integers converted (HDF5 clamps out-of-range values).
            let r = try readRaw(attr, memType: wk_H5T_STD_I64LE(), size: 8, count: count)
            return (values(r, count, Int64.self).map { .int64($0) }, .int64)
        }
    }

    /// Little-endian values of `T` from `raw`.
    private static func values<T: BitwiseCopyable>(_ raw: [UInt8], _ count: Int, _: T.Type) -> [T] {
        raw.withUnsafeBytes { b in (0..<count).map { b.loadUnaligned(fromByteOffset: $0 * MemoryLayout<T>.size, as: T.self) } }
    }
}

/// `H5A_operator2_t`: reads one attribute into the `AttributeContext`.
private let attributeVisitor: H5A_operator2_t = { loc, name, _, data in
    guard let name, let data else { return 0 }
    let ctx = Unmanaged<AttributeContext>.fromOpaque(data).takeUnretainedValue()
    let key = String(cString: name)
    let attr = H5Aopen(loc, name, hid_t(H5P_DEFAULT))
    guard attr >= 0 else {
        ctx.skipped.append((key, "cannot open: \(HDF5Library.reason() ?? "unknown error")"))
        return 0
    }
    defer { H5Aclose(attr) }
    switch HDF5AttributeReader.read(attr) {
    case .success(let v): ctx.values.append((key, v))
    case .failure(let e): ctx.skipped.append((key, e.text))
    }
    return 0
}
