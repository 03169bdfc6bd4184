// Element types of every format WeightKit reads: safetensors dtypes, ggml block types, HDF5 numbers.
// Names are the lower-case ones of the command-line contract (`f32`, `bf16`, `q4_k`, …).

/// An element type. Plain types hold one element in `blockBytes` bytes; ggml block types
/// hold `blockSize` elements in `blockBytes` bytes (Formats/gguf.md §2).
public enum DType: String, Sendable, CaseIterable, Codable, Hashable {
    case f64, f32, f16, bf16
    case i64, i32, i16, i8
    case u64, u32, u16, u8
    case bool
    case f8_e4m3, f8_e5m2
    case q4_0, q4_1, q5_0, q5_1, q8_0, q8_1
    case q2_k, q3_k, q4_k, q5_k, q6_k, q8_k
    case iq2_xxs, iq2_xs, iq3_xxs, iq1_s, iq4_nl, iq3_s, iq2_s, iq4_xs, iq1_m
    case tq1_0, tq2_0, mxfp4

    /// Elements per block: 1 for plain types, 32 or 256 for ggml block types (from `codec`).
    public var blockSize: Int { codec?.blockSize ?? 1 }

    /// Bytes per block (per element for plain types); block types answer from `codec`.
    public var blockBytes: Int {
        if let codec { return codec.blockBytes }
        switch self {
        case .f64, .i64, .u64: return 8
        case .f32, .i32, .u32: return 4
        case .f16, .bf16, .i16, .u16: return 2
        case .i8, .u8, .bool, .f8_e4m3, .f8_e5m2: return 1
        case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q8_1, .q2_k, .q3_k, .q4_k, .q5_k, .q6_k, .q8_k, .iq2_xxs, .iq2_xs, .iq3_xxs, .iq1_s,
            .iq4_nl, .iq3_s, .iq2_s, .iq4_xs, .iq1_m, .tq1_0, .tq2_0, .mxfp4:
            preconditionFailure("\(rawValue) is a block type and has a codec")
        }
    }

    /// True for ggml block-quantized types.
    public var isQuantized: Bool { codec != nil }

    /// True for floating-point plain types.
    public var isFloat: Bool {
        switch self {
        case .f64, .f32, .f16, .bf16, .f8_e4m3, .f8_e5m2: return true
        default: return false
        }
    }

    /// True for integer and bool plain types.
    public var isInteger: Bool { !isFloat && !isQuantized }

    /// Natural alignment of one element in memory (1 for block types, which are read bytewise).
    public var alignment: Int { isQuantized ? 1 : blockBytes }

    /// Bytes needed for `count` elements, or nil when `count` is not a whole number of blocks
    /// or the product overflows.
    public func byteCount(elements count: Int) -> Int? {
        guard count >= 0, count % blockSize == 0 else { return nil }
        let (bytes, overflow) = (count / blockSize).multipliedReportingOverflow(by: blockBytes)
        return overflow ? nil : bytes
    }
}
