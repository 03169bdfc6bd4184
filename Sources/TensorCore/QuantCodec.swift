// Every ggml block type WeightKit knows, one entry each: elements per block, bytes per block, and the
// kernels that read and write it. DType's block geometry, GGMLType's sizes, `GGMLQuants.dequantize`
// and `GGMLQuants.quantize` all look here; adding a type is adding one entry (and its case in
// `DType.codec`). Sizes were checked against ggml's C structs and gguf-py's GGML_QUANT_SIZES.

/// A ggml block type: `blockSize` elements stored in `blockBytes` bytes, with the kernels WeightKit
/// has for it (the layouts are in Formats/gguf.md §2).
public struct QuantCodec: Sendable {
    /// The dtype this entry describes.
    public let dtype: DType
    /// Elements per block (32 or 256).
    public let blockSize: Int
    /// Bytes per block.
    public let blockBytes: Int
    /// Block → float32, bit-identical to gguf-py's dequantizer; nil when WeightKit cannot decode.
    let decoder: GGMLQuants.Decoder?
    /// float32 → blocks (the reference); nil when WeightKit cannot encode.
    let encoder: GGMLQuants.Encoder?
    /// A faster encoder giving the same bytes as `encode` (tested against it), used without weights.
    let fastEncoder: GGMLQuants.Encoder?
    /// True when the encoder uses importance weights (llama.cpp's `quant_weights`, from an imatrix).
    public let takesImportance: Bool
    /// True when the encoder accepts NaN and infinity (gguf-py's quantizers define bytes for them);
    /// false for llama.cpp's K-quant procedures, whose searches assume finite values.
    public let encodesNonFinite: Bool

    init(_ dtype: DType, _ blockSize: Int, _ blockBytes: Int, decode: GGMLQuants.Decoder? = nil, encode: GGMLQuants.Encoder? = nil,
         fast: GGMLQuants.Encoder? = nil, importance: Bool = false, nonFinite: Bool = false) {
        self.dtype = dtype
        self.blockSize = blockSize
        self.blockBytes = blockBytes
        self.decoder = decode
        self.encoder = encode
        self.fastEncoder = fast
        self.takesImportance = importance
        self.encodesNonFinite = nonFinite
    }

    /// WeightKit can dequantize this type.
    public var canDecode: Bool { decoder != nil }
    /// WeightKit can quantize to this type.
    public var canEncode: Bool { encoder != nil }

    /// Quantizes `blocks` whole blocks at `src` into `dst` with the fastest encoder, without the
    /// checks of `GGMLQuants.quantize`: the type must encode, values must be finite unless
    /// `encodesNonFinite`, and `weights` (one per value) only when `takesImportance`.
    public func encode(_ src: UnsafePointer<Float>, into dst: UnsafeMutableRawPointer, blocks: Int, weights: UnsafePointer<Float>? = nil) {
        guard let encoder else { preconditionFailure("\(dtype.rawValue) has no encoder") }
        if weights == nil, let fastEncoder { fastEncoder(src, dst, blocks, nil) } else { encoder(src, dst, blocks, weights) }
    }

    typealias Q = GGMLQuants

    // 32-element types; encoders as gguf-py's numpy reference.
    static let q4_0 = QuantCodec(.q4_0, 32, 18, decode: Q.q4_0, encode: { s, d, n, _ in Q.run32(s, d, n, 18, Q.quantizeQ4_0) }, nonFinite: true)
    static let q4_1 = QuantCodec(.q4_1, 32, 20, decode: Q.q4_1, encode: { s, d, n, _ in Q.run32(s, d, n, 20, Q.quantizeQ4_1) }, nonFinite: true)
    static let q5_0 = QuantCodec(.q5_0, 32, 22, decode: Q.q5_0, encode: { s, d, n, _ in Q.run32(s, d, n, 22, Q.quantizeQ5_0) }, nonFinite: true)
    static let q5_1 = QuantCodec(.q5_1, 32, 24, decode: Q.q5_1, encode: { s, d, n, _ in Q.run32(s, d, n, 24, Q.quantizeQ5_1) }, nonFinite: true)
    static let q8_0 = QuantCodec(.q8_0, 32, 34, decode: Q.q8_0, encode: { s, d, n, _ in Q.run32(s, d, n, 34, Q.quantizeQ8_0) },
                                 fast: { s, d, n, _ in Q.quantizeQ8_0Fast(s, d, blocks: n) }, nonFinite: true)
    static let q8_1 = QuantCodec(.q8_1, 32, 36, decode: Q.q8_1)

    // 256-element K-quants; encoders as llama.cpp's reference (with importance weights when given).
    static let q2_k = QuantCodec(.q2_k, 256, 84, decode: Q.q2_k, encode: { Q.runK($0, $1, $2, $3, 84, Q.encodeQ2_K) }, importance: true)
    static let q3_k = QuantCodec(.q3_k, 256, 110, decode: Q.q3_k, encode: { Q.runK($0, $1, $2, $3, 110, Q.encodeQ3_K) }, importance: true)
    static let q4_k = QuantCodec(.q4_k, 256, 144, decode: Q.q4_k, encode: { Q.runK($0, $1, $2, $3, 144, Q.encodeQ4_K) }, importance: true)
    static let q5_k = QuantCodec(.q5_k, 256, 176, decode: Q.q5_k, encode: { Q.runK($0, $1, $2, $3, 176, Q.encodeQ5_K) }, importance: true)
    static let q6_k = QuantCodec(.q6_k, 256, 210, decode: Q.q6_k, encode: { Q.runK($0, $1, $2, $3, 210, Q.encodeQ6_K) }, importance: true)
    static let q8_k = QuantCodec(.q8_k, 256, 292, decode: Q.q8_k, encode: { s, d, n, _ in Q.runK(s, d, n, nil, 292, Q.encodeQ8_K) })

    // Read and written as bytes only.
    static let iq2_xxs = QuantCodec(.iq2_xxs, 256, 66)
    static let iq2_xs = QuantCodec(.iq2_xs, 256, 74)
    static let iq3_xxs = QuantCodec(.iq3_xxs, 256, 98)
    static let iq1_s = QuantCodec(.iq1_s, 256, 50)
    static let iq4_nl = QuantCodec(.iq4_nl, 32, 18)
    static let iq3_s = QuantCodec(.iq3_s, 256, 110)
    static let iq2_s = QuantCodec(.iq2_s, 256, 82)
    static let iq4_xs = QuantCodec(.iq4_xs, 256, 136)
    static let iq1_m = QuantCodec(.iq1_m, 256, 56)
    static let tq1_0 = QuantCodec(.tq1_0, 256, 54)
    static let tq2_0 = QuantCodec(.tq2_0, 256, 66)
    static let mxfp4 = QuantCodec(.mxfp4, 32, 17)
}

extension DType {
    /// The block type's entry in the codec table; nil for plain (one element) types.
    public var codec: QuantCodec? {
        switch self {
        case .f64, .f32, .f16, .bf16, .i64, .i32, .i16, .i8, .u64, .u32, .u16, .u8, .bool, .f8_e4m3, .f8_e5m2: return nil
        case .q4_0: return .q4_0
        case .q4_1: return .q4_1
        case .q5_0: return .q5_0
        case .q5_1: return .q5_1
        case .q8_0: return .q8_0
        case .q8_1: return .q8_1
        case .q2_k: return .q2_k
        case .q3_k: return .q3_k
        case .q4_k: return .q4_k
        case .q5_k: return .q5_k
        case .q6_k: return .q6_k
        case .q8_k: return .q8_k
        case .iq2_xxs: return .iq2_xxs
        case .iq2_xs: return .iq2_xs
        case .iq3_xxs: return .iq3_xxs
        case .iq1_s: return .iq1_s
        case .iq4_nl: return .iq4_nl
        case .iq3_s: return .iq3_s
        case .iq2_s: return .iq2_s
        case .iq4_xs: return .iq4_xs
        case .iq1_m: return .iq1_m
        case .tq1_0: return .tq1_0
        case .tq2_0: return .tq2_0
        case .mxfp4: return .mxfp4
        }
    }
}
