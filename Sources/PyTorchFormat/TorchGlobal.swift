// The allow-list: the only globals a pickle may name. Everything else is refused by name when it
// is named (PickleMachine.pushGlobal), before anything else happens.

import TensorCore

/// The globals the unpickler accepts; every other GLOBAL or STACK_GLOBAL is refused by name.
enum TorchGlobal: Sendable, Equatable {
    /// `collections.OrderedDict`: called (or NEWOBJ'd) with no arguments, then filled by SETITEMS.
    case orderedDict
    /// `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks[, metadata])`.
    case rebuildTensor
    /// `torch._utils._rebuild_tensor_v3(storage, offset, size, stride, requires_grad, hooks, dtype[, metadata])`:
    /// a tensor of a dtype that has no typed storage (float8, uint16, …) over an untyped one.
    case rebuildTensorV3
    /// `torch._utils._rebuild_parameter(tensor, requires_grad, hooks)`.
    case rebuildParameter
    /// `torch.Size(tuple_of_ints)`.
    case size
    /// A storage type (`torch.FloatStorage`, …, `torch.UntypedStorage`), valid only inside a persistent id.
    case storageType(String, DType)
    /// A dtype object (`torch.float32`, …): a plain value.
    case dtype(String)

    var qualifiedName: String {
        switch self {
        case .orderedDict: return "collections.OrderedDict"
        case .rebuildTensor: return "torch._utils._rebuild_tensor_v2"
        case .rebuildTensorV3: return "torch._utils._rebuild_tensor_v3"
        case .rebuildParameter: return "torch._utils._rebuild_parameter"
        case .size: return "torch.Size"
        case .storageType(let n, _): return "torch." + n
        case .dtype(let n): return "torch." + n
        }
    }

    /// The typed storages torch.save names in persistent ids, with their element types.
    static let storageTypes: [String: DType] = [
        "FloatStorage": .f32, "HalfStorage": .f16, "BFloat16Storage": .bf16, "DoubleStorage": .f64,
        "LongStorage": .i64, "IntStorage": .i32, "ShortStorage": .i16, "CharStorage": .i8, "ByteStorage": .u8,
        "BoolStorage": .bool, "UntypedStorage": .u8,
    ]

    /// torch's dtype objects (pickled as `torch.<name>`), with the element type WeightKit reads them as
    /// (nil: a valid dtype WeightKit does not read, such as complex).
    static let dtypes: [String: DType?] = [
        "float32": .f32, "float": .f32, "float64": .f64, "double": .f64, "float16": .f16, "half": .f16, "bfloat16": .bf16,
        "int64": .i64, "long": .i64, "int32": .i32, "int": .i32, "int16": .i16, "short": .i16, "int8": .i8, "uint8": .u8,
        "bool": .bool, "uint16": .u16, "uint32": .u32, "uint64": .u64, "float8_e4m3fn": .f8_e4m3, "float8_e5m2": .f8_e5m2,
        "complex64": nil, "cfloat": nil, "complex128": nil, "cdouble": nil, "complex32": nil, "chalf": nil,
        "float8_e4m3fnuz": nil, "float8_e5m2fnuz": nil, "float8_e8m0fnu": nil, "float4_e2m1fn_x2": nil,
    ]

    /// Typed storages torch names that WeightKit does not read (complex and quantized elements).
    static let unreadStorageTypes: Set<String> = [
        "ComplexFloatStorage", "ComplexDoubleStorage", "QInt8Storage", "QUInt8Storage", "QInt32Storage", "QUInt4x2Storage",
        "QUInt2x4Storage",
    ]

    /// The allowed global `module.name`, or nil.
    static func lookup(module: String, name: String) -> TorchGlobal? {
        switch (module, name) {
        case ("collections", "OrderedDict"): return .orderedDict
        case ("torch._utils", "_rebuild_tensor_v2"): return .rebuildTensor
        case ("torch._utils", "_rebuild_tensor_v3"): return .rebuildTensorV3
        case ("torch.storage", "UntypedStorage"): return .storageType("storage.UntypedStorage", .u8)
        case ("torch._utils", "_rebuild_parameter"): return .rebuildParameter
        case ("torch", "Size"): return .size
        case ("torch", _):
            if let d = storageTypes[name] { return .storageType(name, d) }
            if dtypes[name] != nil { return .dtype(name) }
            return nil
        default: return nil
        }
    }
}
