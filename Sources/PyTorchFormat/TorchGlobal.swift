// The allow-list: the only globals a pickle may name. Everything else is refused by name when it
// is named (PickleMachine.pushGlobal), before anything else happens.

import TensorCore

/// The globals the unpickler accepts; every other GLOBAL or STACK_GLOBAL is refused by name.
enum TorchGlobal: Sendable, Equatable {
    /// `collections.OrderedDict`: called (or NEWOBJ'd) with no arguments, then filled by SETITEMS.
    case orderedDict
    /// `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks[, metadata])`.
    case rebuildTensor
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

    /// torch's dtype objects (pickled as `torch.<name>`).
    static let dtypeNames: Set<String> = [
        "float32", "float", "float64", "double", "float16", "half", "bfloat16", "int64", "long", "int32", "int", "int16",
        "short", "int8", "uint8", "bool", "uint16", "uint32", "uint64", "complex64", "cfloat", "complex128", "cdouble",
        "float8_e4m3fn", "float8_e5m2",
    ]

    /// The allowed global `module.name`, or nil.
    static func lookup(module: String, name: String) -> TorchGlobal? {
        switch (module, name) {
        case ("collections", "OrderedDict"): return .orderedDict
        case ("torch._utils", "_rebuild_tensor_v2"): return .rebuildTensor
        case ("torch._utils", "_rebuild_parameter"): return .rebuildParameter
        case ("torch", "Size"): return .size
        case ("torch", _):
            if let d = storageTypes[name] { return .storageType(name, d) }
            if dtypeNames.contains(name) { return .dtype(name) }
            return nil
        default: return nil
        }
    }
}
