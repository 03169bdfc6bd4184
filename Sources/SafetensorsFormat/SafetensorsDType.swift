// safetensors dtype strings (Formats/safetensors.md, "dtypes") and the reference writer's ordering.
import TensorCore

extension DType {
    /// The dtype of a safetensors header string; nil for strings WeightKit does not read.
    public init?(safetensorsName name: String) {
        switch name {
        case "F64": self = .f64
        case "F32": self = .f32
        case "F16": self = .f16
        case "BF16": self = .bf16
        case "I64": self = .i64
        case "I32": self = .i32
        case "I16": self = .i16
        case "I8": self = .i8
        case "U64": self = .u64
        case "U32": self = .u32
        case "U16": self = .u16
        case "U8": self = .u8
        case "BOOL": self = .bool
        case "F8_E4M3": self = .f8_e4m3
        case "F8_E5M2": self = .f8_e5m2
        default: return nil
        }
    }

    /// The safetensors header string, or nil for ggml block types, which safetensors cannot hold.
    public var safetensorsName: String? {
        switch self {
        case .f64: return "F64"
        case .f32: return "F32"
        case .f16: return "F16"
        case .bf16: return "BF16"
        case .i64: return "I64"
        case .i32: return "I32"
        case .i16: return "I16"
        case .i8: return "I8"
        case .u64: return "U64"
        case .u32: return "U32"
        case .u16: return "U16"
        case .u8: return "U8"
        case .bool: return "BOOL"
        case .f8_e4m3: return "F8_E4M3"
        case .f8_e5m2: return "F8_E5M2"
        default: return nil
        }
    }

    /// Position in the reference `Dtype` enum, which orders by alignment; the reference writer
    /// places larger ranks first.
    var safetensorsRank: Int {
        switch self {
        case .bool: return 0
        case .u8: return 4
        case .i8: return 5
        case .f8_e5m2: return 6
        case .f8_e4m3: return 7
        case .i16: return 11
        case .u16: return 12
        case .f16: return 13
        case .bf16: return 14
        case .i32: return 15
        case .u32: return 16
        case .f32: return 17
        case .f64: return 19
        case .i64: return 20
        case .u64: return 21
        default: return -1
        }
    }
}

/// Dtype strings that are valid safetensors but that WeightKit does not decode.
let knownUnsupportedSafetensorsDTypes: Set<String> = [
    "F4", "F6_E2M3", "F6_E3M2", "F8_E8M0", "F8_E4M3FNUZ", "F8_E5M2FNUZ", "C64",
]
