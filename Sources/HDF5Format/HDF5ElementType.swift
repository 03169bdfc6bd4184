// HDF5 datatypes ⇄ WeightKit dtypes.
//
// Read: IEEE floats of 2, 4 and 8 bytes (a 2-byte float with bfloat16's fields is bf16), integers
// of 1, 2, 4, 8 bytes either sign, any byte order, and a 1-byte enum whose values are within {0, 1}
// (h5py's bool). A `dtype` attribute on the dataset re-labels raw integers, as Keras 3 does:
// uint16 + "bfloat16" is bf16, uint8 + "float8_e4m3fn" / "float8_e5m2" is f8.
// Write: the little-endian standard types; f16 is IEEE half built from the f32 type, as h5py does;
// bool is h5py's enum {FALSE = 0, TRUE = 1} over int8; bf16 and f8 are stored raw with the marker.

internal import CHDF5
import TensorCore

/// A dataset's element type as WeightKit reads it.
struct HDF5ElementType {
    let dtype: DType
    /// The file bytes are exactly the dtype's little-endian layout (no conversion needed).
    let isExactLayout: Bool
    /// Raw integers relabelled by a `dtype` attribute (the attribute is then not metadata).
    let usesMarker: Bool

    /// The `dtype` attribute values for types stored raw.
    static let markers: [String: (raw: DType, dtype: DType)] = [
        "bfloat16": (.u16, .bf16), "float8_e4m3fn": (.u8, .f8_e4m3), "float8_e5m2": (.u8, .f8_e5m2),
    ]

    /// Classifies the datatype `t`; a reason string when WeightKit cannot represent it.
    static func classify(_ t: hid_t, marker: String?) -> Result<HDF5ElementType, ReasonError> {
        let size = H5Tget_size(t)
        let order = H5Tget_order(t)
        let littleEndian = order == H5T_ORDER_LE || order == H5T_ORDER_NONE || size == 1
        switch H5Tget_class(t) {
        case H5T_INTEGER:
            let signed = H5Tget_sign(t) == H5T_SGN_2
            let exact = littleEndian && H5Tget_precision(t) == size * 8 && H5Tget_offset(t) == 0
            let dt: DType
            switch (size, signed) {
            case (1, true): dt = .i8
            case (2, true): dt = .i16
            case (4, true): dt = .i32
            case (8, true): dt = .i64
            case (1, false): dt = .u8
            case (2, false): dt = .u16
            case (4, false): dt = .u32
            case (8, false): dt = .u64
            default: return .failure(ReasonError("\(size)-byte integers are not supported"))
            }
            if let marker, let m = markers[marker], m.raw == dt {
                return .success(HDF5ElementType(dtype: m.dtype, isExactLayout: exact, usesMarker: true))
            }
            return .success(HDF5ElementType(dtype: dt, isExactLayout: exact, usesMarker: false))
        case H5T_FLOAT:
            var spos = 0, epos = 0, esize = 0, mpos = 0, msize = 0
            guard H5Tget_fields(t, &spos, &epos, &esize, &mpos, &msize) >= 0 else {
                return .failure(ReasonError("unreadable float type"))
            }
            let fields = [spos, epos, esize, mpos, msize]
            let dt: DType
            switch (size, fields) {
            case (2, [15, 10, 5, 0, 10]): dt = .f16
            case (2, [15, 7, 8, 0, 7]): dt = .bf16
            case (4, [31, 23, 8, 0, 23]): dt = .f32
            case (8, [63, 52, 11, 0, 52]): dt = .f64
            default:
                return .failure(ReasonError("\(size)-byte float with fields \(fields) is not a supported float type"))
            }
            return .success(HDF5ElementType(dtype: dt, isExactLayout: littleEndian, usesMarker: false))
        case H5T_ENUM:
            guard isBoolEnum(t) else {
                return .failure(ReasonError("enum types other than h5py's bool (1 byte, values 0 and 1) are not supported"))
            }
            return .success(HDF5ElementType(dtype: .bool, isExactLayout: true, usesMarker: false))
        case let c:
            return .failure(ReasonError("HDF5 type class \(className(c)) is not a tensor element type"))
        }
    }

    /// True for an enum over a 1-byte integer whose members are 0 and/or 1 (h5py's bool).
    static func isBoolEnum(_ t: hid_t) -> Bool {
        guard H5Tget_size(t) == 1 else { return false }
        let n = H5Tget_nmembers(t)
        guard n >= 1, n <= 2 else { return false }
        for i in 0..<UInt32(n) {
            var v: UInt8 = 0
            guard H5Tget_member_value(t, i, &v) >= 0, v <= 1 else { return false }
        }
        return true
    }

    /// A readable name for a type class.
    static func className(_ c: H5T_class_t) -> String {
        switch c {
        case H5T_STRING: return "string"
        case H5T_COMPOUND: return "compound"
        case H5T_OPAQUE: return "opaque"
        case H5T_REFERENCE: return "reference"
        case H5T_VLEN: return "variable-length"
        case H5T_ARRAY: return "array"
        case H5T_BITFIELD: return "bitfield"
        case H5T_TIME: return "time"
        default: return "#\(c.rawValue)"
        }
    }

    /// The memory type `H5Dread` converts into: the dtype's little-endian layout. Owned by the caller
    /// when `owned` (close it with `H5Tclose`).
    static func memoryType(for dtype: DType, fileType: hid_t) -> (id: hid_t, owned: Bool) {
        switch dtype {
        case .f32: return (wk_H5T_IEEE_F32LE(), false)
        case .f64: return (wk_H5T_IEEE_F64LE(), false)
        case .i8: return (wk_H5T_STD_I8LE(), false)
        case .i16: return (wk_H5T_STD_I16LE(), false)
        case .i32: return (wk_H5T_STD_I32LE(), false)
        case .i64: return (wk_H5T_STD_I64LE(), false)
        case .u8, .f8_e4m3, .f8_e5m2: return (wk_H5T_STD_U8LE(), false)
        case .u16: return (wk_H5T_STD_U16LE(), false)
        case .u32: return (wk_H5T_STD_U32LE(), false)
        case .u64: return (wk_H5T_STD_U64LE(), false)
        case .bf16 where H5Tget_class(fileType) == H5T_INTEGER: return (wk_H5T_STD_U16LE(), false)
        default:
            // f16, a bf16 float type, bool: the file's own type in little-endian order.
            let copy = H5Tcopy(fileType)
            if copy >= 0, H5Tget_size(copy) > 1 { H5Tset_order(copy, H5T_ORDER_LE) }
            return (copy, true)
        }
    }

    /// The file type WeightKit writes for `dtype`, and the marker attribute it needs; nil for
    /// ggml block types. The caller closes the type when `owned`.
    static func fileType(for dtype: DType) -> (id: hid_t, owned: Bool, marker: String?)? {
        switch dtype {
        case .f32: return (wk_H5T_IEEE_F32LE(), false, nil)
        case .f64: return (wk_H5T_IEEE_F64LE(), false, nil)
        case .f16:
            // IEEE half as h5py builds it: the f32 type with half's fields, size 2, bias 15.
            let t = H5Tcopy(wk_H5T_IEEE_F32LE())
            H5Tset_fields(t, 15, 10, 5, 0, 10)
            H5Tset_size(t, 2)
            H5Tset_ebias(t, 15)
            return (t, true, nil)
        case .i8: return (wk_H5T_STD_I8LE(), false, nil)
        case .i16: return (wk_H5T_STD_I16LE(), false, nil)
        case .i32: return (wk_H5T_STD_I32LE(), false, nil)
        case .i64: return (wk_H5T_STD_I64LE(), false, nil)
        case .u8: return (wk_H5T_STD_U8LE(), false, nil)
        case .u16: return (wk_H5T_STD_U16LE(), false, nil)
        case .u32: return (wk_H5T_STD_U32LE(), false, nil)
        case .u64: return (wk_H5T_STD_U64LE(), false, nil)
        case .bf16: return (wk_H5T_STD_U16LE(), false, "bfloat16")
        case .f8_e4m3: return (wk_H5T_STD_U8LE(), false, "float8_e4m3fn")
        case .f8_e5m2: return (wk_H5T_STD_U8LE(), false, "float8_e5m2")
        case .bool: return (boolEnumType(), true, nil)
        default: return nil
        }
    }

    /// h5py's bool: enum {FALSE = 0, TRUE = 1} over int8.
    static func boolEnumType() -> hid_t {
        let t = H5Tenum_create(wk_H5T_NATIVE_INT8())
        var f: Int8 = 0
        var tr: Int8 = 1
        H5Tenum_insert(t, "FALSE", &f)
        H5Tenum_insert(t, "TRUE", &tr)
        return t
    }
}

/// A reason without a location, placed into an `HDF5Error` by the caller.
struct ReasonError: Error {
    let text: String
    init(_ text: String) { self.text = text }
}
