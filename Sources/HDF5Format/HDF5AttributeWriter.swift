// MetadataValue → HDF5 attribute, as h5py would store the same Python value:
//   .string            → scalar variable-length UTF-8 string
//   .array(.string, …) → 1-D variable-length UTF-8 strings
//   integers, floats   → little-endian standard types, scalar or 1-D
//   .bool              → h5py's bool enum over int8, scalar or 1-D
// Arrays of arrays have no HDF5 attribute form and are refused; so are strings holding NUL.

internal import CHDF5
import TensorCore
#if canImport(Glibc)
    import Glibc
#endif

enum HDF5AttributeWriter {
    /// Writes `value` as attribute `name` of the object `loc`.
    static func write(_ value: MetadataValue, name: String, to loc: hid_t) throws(ReasonError) {
        switch value {
        case .array(let t, let items):
            try writeItems(items, type: t, name: name, to: loc, scalar: false)
        default:
            try writeItems([value], type: value.type, name: name, to: loc, scalar: true)
        }
    }

    private static func writeItems(_ items: [MetadataValue], type t: MetadataType, name: String, to loc: hid_t, scalar: Bool) throws(ReasonError) {
        var dims: [hsize_t] = [hsize_t(items.count)]
        let space = scalar ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &dims, nil)
        guard space >= 0 else { throw ReasonError("cannot make a dataspace") }
        defer { H5Sclose(space) }
        if t == .string {
            var strings: [String] = []
            for item in items {
                guard case .string(let s) = item else { throw ReasonError("an array of strings holds a \(item.type.name)") }
                guard !s.utf8.contains(0) else { throw ReasonError("strings holding NUL cannot be stored") }
                strings.append(s)
            }
            let type = H5Tcopy(wk_H5T_C_S1())
            defer { H5Tclose(type) }
            H5Tset_size(type, wk_H5T_VARIABLE())
            H5Tset_cset(type, H5T_CSET_UTF8)
            let cstrings = strings.map { strdup($0) }
            defer { cstrings.forEach { free($0) } }
            var ptrs: [UnsafePointer<CChar>?] = cstrings.map { UnsafePointer($0) }
            if ptrs.isEmpty { ptrs = [nil] }
            try create(name, type: type, space: space, loc: loc, bytes: ptrs.withUnsafeBytes { Array($0) })
            return
        }
        var bytes: [UInt8] = []
        let fileType: hid_t
        var ownedType = false
        for item in items {
            guard item.type == t else { throw ReasonError("an array of \(t.name) holds a \(item.type.name)") }
            switch item {
            case .uint8(let v): bytes.append(v)
            case .int8(let v): bytes.append(UInt8(bitPattern: v))
            case .bool(let v): bytes.append(v ? 1 : 0)
            case .uint16(let v): append(&bytes, v.littleEndian)
            case .int16(let v): append(&bytes, v.littleEndian)
            case .uint32(let v): append(&bytes, v.littleEndian)
            case .int32(let v): append(&bytes, v.littleEndian)
            case .uint64(let v): append(&bytes, v.littleEndian)
            case .int64(let v): append(&bytes, v.littleEndian)
            case .float32(let v): append(&bytes, v.bitPattern.littleEndian)
            case .float64(let v): append(&bytes, v.bitPattern.littleEndian)
            case .array: throw ReasonError("arrays of arrays cannot be stored as HDF5 attributes")
            case .string: throw ReasonError("an array of \(t.name) holds a string")
            }
        }
        switch t {
        case .uint8: fileType = wk_H5T_STD_U8LE()
        case .int8: fileType = wk_H5T_STD_I8LE()
        case .uint16: fileType = wk_H5T_STD_U16LE()
        case .int16: fileType = wk_H5T_STD_I16LE()
        case .uint32: fileType = wk_H5T_STD_U32LE()
        case .int32: fileType = wk_H5T_STD_I32LE()
        case .uint64: fileType = wk_H5T_STD_U64LE()
        case .int64: fileType = wk_H5T_STD_I64LE()
        case .float32: fileType = wk_H5T_IEEE_F32LE()
        case .float64: fileType = wk_H5T_IEEE_F64LE()
        case .bool:
            fileType = HDF5ElementType.boolEnumType()
            ownedType = true
        case .array: throw ReasonError("arrays of arrays cannot be stored as HDF5 attributes")
        case .string: throw ReasonError("unreachable")
        }
        defer { if ownedType { H5Tclose(fileType) } }
        try create(name, type: fileType, space: space, loc: loc, bytes: bytes.isEmpty ? [0] : bytes)
    }

    private static func append<T: FixedWidthInteger>(_ bytes: inout [UInt8], _ v: T) {
        withUnsafeBytes(of: v) { bytes.append(contentsOf: $0) }
    }

    private static func create(_ name: String, type: hid_t, space: hid_t, loc: hid_t, bytes: [UInt8]) throws(ReasonError) {
        let attr = H5Acreate2(loc, name, type, space, hid_t(H5P_DEFAULT), hid_t(H5P_DEFAULT))
        guard attr >= 0 else { throw ReasonError("cannot create the attribute: \(HDF5Library.reason() ?? "unknown error")") }
        defer { H5Aclose(attr) }
        let r = bytes.withUnsafeBytes { H5Awrite(attr, type, $0.baseAddress) }
        guard r >= 0 else { throw ReasonError("cannot write the attribute: \(HDF5Library.reason() ?? "unknown error")") }
    }
}
