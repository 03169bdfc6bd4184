// The values the restricted unpickler builds. Containers live in arenas owned by the machine and
// are referred to by index, so memo references alias as Python's do (a dict filled by SETITEMS
// after BINPUT is the same dict when fetched by BINGET), cycles cannot leak, and a hostile
// nesting a million levels deep is freed without recursion.

import TensorCore

/// A value on the unpickler's stack or in its memo.
enum PickleValue: Sendable {
    case none
    case bool(Bool)
    case int(Int64)
    /// A LONG1 integer wider than 64 bits: little-endian two's complement bytes.
    case bigInt([UInt8])
    case float(Double)
    case string(String)
    case bytes([UInt8])
    /// Index into the machine's tuple arena.
    case tuple(Int)
    /// Index into the machine's list arena.
    case list(Int)
    /// Index into the machine's dict arena (dict and collections.OrderedDict).
    case dict(Int)
    /// One of the allowed globals.
    case global(TorchGlobal)
    /// A storage named by a persistent id (index into the storages the layout resolved).
    case storage(StorageInfo)
    /// A tensor built by `_rebuild_tensor_v2` (index into the machine's tensors).
    case tensor(Int)

    /// The Python type name, for messages.
    var typeName: String {
        switch self {
        case .none: return "None"
        case .bool: return "bool"
        case .int, .bigInt: return "int"
        case .float: return "float"
        case .string: return "str"
        case .bytes: return "bytes"
        case .tuple: return "tuple"
        case .list: return "list"
        case .dict: return "dict"
        case .global(let g): return g.qualifiedName
        case .storage: return "storage"
        case .tensor: return "tensor"
        }
    }
}

/// A storage as a persistent id names it: its place among the file's storages, element type
/// and element count.
struct StorageInfo: Sendable, Equatable {
    let index: Int
    let dtype: DType
    let numel: Int
}

/// A dict key, compared as Python compares them: True and 1 and 1.0 are one key.
indirect enum DictKey: Hashable, Sendable {
    case string(String)
    case int(Int64)
    case bigInt([UInt8])
    case float(UInt64)
    case none
    case tuple([DictKey])
}

/// A dict or OrderedDict: insertion order, Python's replace-in-place on a repeated key.
struct PickleDict: Sendable {
    var keys: [PickleValue] = []
    var values: [PickleValue] = []
    var positions: [DictKey: Int] = [:]
    /// Instance attributes set by BUILD (a state dict's `_metadata`): counted, not kept.
    var attributes = 0
}

/// A tensor rebuilt from a storage, before it is named.
struct TensorRecord: Sendable {
    let storage: StorageInfo
    /// The tensor's element type: the storage's, or _rebuild_tensor_v3's dtype over untyped bytes.
    let dtype: DType
    /// In elements of `dtype`.
    let offset: Int
    let shape: [Int]
    let strides: [Int]
    /// Byte of the REDUCE that built it, for messages.
    let pickleOffset: Int
}
