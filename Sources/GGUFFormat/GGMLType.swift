// The ggml tensor type ids of GGUF (Formats/gguf.md §2) and their WeightKit dtypes, in one table.

import TensorCore

/// A ggml tensor type id as GGUF stores it (`ggml_type`, u32).
public struct GGMLType: Sendable, Hashable, CustomStringConvertible {
    /// The numeric id.
    public let id: UInt32
    /// ggml's name (`Q4_K`, `F16`, …).
    public let name: String
    /// The WeightKit dtype, nil when WeightKit has none (removed ids, NVFP4, Q1_0, Q2_0).
    public let dtype: DType?
    /// Elements per block and bytes per block in ggml's type_traits: the dtype's (from TensorCore's
    /// `QuantCodec` table for block types); given here only for ids without a dtype, 0 for removed
    /// ids (and for Q2_0, whose layout WeightKit does not know).
    public let blockSize: Int
    public let typeSize: Int

    init(id: UInt32, name: String, dtype: DType) {
        self.init(id: id, name: name, dtype: dtype, blockSize: dtype.blockSize, typeSize: dtype.blockBytes)
    }

    init(id: UInt32, name: String, dtype: DType?, blockSize: Int, typeSize: Int) {
        self.id = id
        self.name = name
        self.dtype = dtype
        self.blockSize = blockSize
        self.typeSize = typeSize
    }
    /// True for ids ggml removed (4, 5, 31–33, 36–38): block size 0, rejected by ggml.
    public var isRemoved: Bool { [4, 5, 31, 32, 33, 36, 37, 38].contains(id) }

    public var description: String { "\(name) (ggml type \(id))" }

    /// Every ggml type id up to GGML_TYPE_COUNT (43 in ggml HEAD), in id order.
    public static let all: [GGMLType] = [
        .init(id: 0, name: "F32", dtype: .f32),
        .init(id: 1, name: "F16", dtype: .f16),
        .init(id: 2, name: "Q4_0", dtype: .q4_0),
        .init(id: 3, name: "Q4_1", dtype: .q4_1),
        .init(id: 4, name: "Q4_2", dtype: nil, blockSize: 0, typeSize: 0),
        .init(id: 5, name: "Q4_3", dtype: nil, blockSize: 0, typeSize: 0),
        .init(id: 6, name: "Q5_0", dtype: .q5_0),
        .init(id: 7, name: "Q5_1", dtype: .q5_1),
        .init(id: 8, name: "Q8_0", dtype: .q8_0),
        .init(id: 9, name: "Q8_1", dtype: .q8_1),
        .init(id: 10, name: "Q2_K", dtype: .q2_k),
        .init(id: 11, name: "Q3_K", dtype: .q3_k),
        .init(id: 12, name: "Q4_K", dtype: .q4_k),
        .init(id: 13, name: "Q5_K", dtype: .q5_k),
        .init(id: 14, name: "Q6_K", dtype: .q6_k),
        .init(id: 15, name: "Q8_K", dtype: .q8_k),
        .init(id: 16, name: "IQ2_XXS", dtype: .iq2_xxs),
        .init(id: 17, name: "IQ2_XS", dtype: .iq2_xs),
        .init(id: 18, name: "IQ3_XXS", dtype: .iq3_xxs),
        .init(id: 19, name: "IQ1_S", dtype: .iq1_s),
        .init(id: 20, name: "IQ4_NL", dtype: .iq4_nl),
        .init(id: 21, name: "IQ3_S", dtype: .iq3_s),
        .init(id: 22, name: "IQ2_S", dtype: .iq2_s),
        .init(id: 23, name: "IQ4_XS", dtype: .iq4_xs),
        .init(id: 24, name: "I8", dtype: .i8),
        .init(id: 25, name: "I16", dtype: .i16),
        .init(id: 26, name: "I32", dtype: .i32),
        .init(id: 27, name: "I64", dtype: .i64),
        .init(id: 28, name: "F64", dtype: .f64),
        .init(id: 29, name: "IQ1_M", dtype: .iq1_m),
        .init(id: 30, name: "BF16", dtype: .bf16),
        .init(id: 31, name: "Q4_0_4_4", dtype: nil, blockSize: 0, typeSize: 0),
        .init(id: 32, name: "Q4_0_4_8", dtype: nil, blockSize: 0, typeSize: 0),
        .init(id: 33, name: "Q4_0_8_8", dtype: nil, blockSize: 0, typeSize: 0),
        .init(id: 34, name: "TQ1_0", dtype: .tq1_0),
        .init(id: 35, name: "TQ2_0", dtype: .tq2_0),
        .init(id: 36, name: "IQ4_NL_4_4", dtype: nil, blockSize: 0, typeSize: 0),
        .init(id: 37, name: "IQ4_NL_4_8", dtype: nil, blockSize: 0, typeSize: 0),
        .init(id: 38, name: "IQ4_NL_8_8", dtype: nil, blockSize: 0, typeSize: 0),
        .init(id: 39, name: "MXFP4", dtype: .mxfp4),
        .init(id: 40, name: "NVFP4", dtype: nil, blockSize: 64, typeSize: 36),
        .init(id: 41, name: "Q1_0", dtype: nil, blockSize: 128, typeSize: 18),
        .init(id: 42, name: "Q2_0", dtype: nil, blockSize: 0, typeSize: 0),
    ]

    /// The entry for `id`, nil for ids past the table.
    public static func byID(_ id: UInt32) -> GGMLType? { id < UInt32(all.count) ? all[Int(id)] : nil }

    /// The ggml type a WeightKit dtype is written as; nil for dtypes ggml has no type for
    /// (u8, u16, u32, u64, bool, f8_e4m3, f8_e5m2).
    public static func forDType(_ dtype: DType) -> GGMLType? { byDType[dtype] }

    private static let byDType: [DType: GGMLType] = {
        var m: [DType: GGMLType] = [:]
        for t in all { if let d = t.dtype { m[d] = t } }
        return m
    }()
}
