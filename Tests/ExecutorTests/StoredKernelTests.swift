// The stored-dtype kernels against the reference path: every weight widened by TensorCore's
// dequantizers (bit-identical to gguf-py's), then float32 arithmetic in double for the expected sums.
import Foundation
import TensorCore
import Testing

@testable import Executor

@Suite struct StoredKernelTests {
    static let types: [DType] = [.f16, .bf16, .q8_0, .q4_0, .q4_1, .q5_0, .q5_1, .q2_k, .q3_k, .q4_k, .q5_k, .q6_k]

    /// Row length for the tests: three blocks (32 or 256 elements each).
    static func cols(_ dtype: DType) -> Int { dtype.isQuantized ? 3 * dtype.blockSize : 96 }

    /// A [rows, cols] matrix in `dtype` (its bytes) and its widened float32 values.
    static func matrix(_ dtype: DType, rows: Int, cols: Int, seed: UInt64) throws -> ([UInt8], [Float]) {
        var state = seed
        func next() -> Float {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: state >> 11) % 2_000_001 - 1_000_000) / 400_000
        }
        let values = (0..<(rows * cols)).map { _ in next() }
        var bytes: [UInt8]
        switch dtype {
        case .f16:
            bytes = values.withUnsafeBufferPointer { src in
                var out = [UInt16](repeating: 0, count: src.count)
                out.withUnsafeMutableBufferPointer { Narrow.toF16(src, into: $0.baseAddress!) }
                return out.withUnsafeBytes { Array($0) }
            }
        case .bf16:
            bytes = values.withUnsafeBufferPointer { src in
                var out = [UInt16](repeating: 0, count: src.count)
                out.withUnsafeMutableBufferPointer { Narrow.toBF16(src, into: $0.baseAddress!) }
                return out.withUnsafeBytes { Array($0) }
            }
        default:
            bytes = try values.withUnsafeBufferPointer { try GGMLQuants.quantize(dtype, $0) }
        }
        var widened = [Float](repeating: 0, count: rows * cols)
        try bytes.withUnsafeBytes { raw in
            try widened.withUnsafeMutableBufferPointer { try Widen.toFloat32(dtype, raw, into: $0.baseAddress!, count: rows * cols) }
        }
        return (bytes, widened)
    }

    static func stored(_ dtype: DType, _ bytes: [UInt8], rows: Int, cols: Int) -> StoredMatrix {
        let data = TensorData(bytes: bytes)
        let base = data.withUnsafeBytes { $0.baseAddress! }
        return StoredMatrix(type: StoredMatrix.code(dtype)!, base: base, rows: rows, cols: cols, data: data)
    }

    @Test("decoded rows are the reference dequantizer's values, bit for bit", arguments: types)
    func decode(_ dtype: DType) throws {
        let n = Self.cols(dtype)
        let (bytes, widened) = try Self.matrix(dtype, rows: 5, cols: n, seed: 1)
        let m = Self.stored(dtype, bytes, rows: 5, cols: n)
        var out = [Float](repeating: .nan, count: 2 * n)
        out.withUnsafeMutableBufferPointer { Kernels.embeddingStored(m, tokens: [3, 1], into: $0.baseAddress!) }
        #expect(Array(out[0..<n]).map(\.bitPattern) == Array(widened[(3 * n)..<(4 * n)]).map(\.bitPattern))
        #expect(Array(out[n...]).map(\.bitPattern) == Array(widened[n..<(2 * n)]).map(\.bitPattern))
    }

    @Test("GEMV (one token) and panel GEMM (many tokens, several panels) equal the widened products", arguments: types)
    func products(_ dtype: DType) throws {
        let outF = 300, inF = Self.cols(dtype)  // 300 rows: two panels of 256 and 44
        let (bytes, w) = try Self.matrix(dtype, rows: outF, cols: inF, seed: 2)
        let m = Self.stored(dtype, bytes, rows: outF, cols: inF)
        let bias = (0..<outF).map { Float($0 % 7) * 0.25 - 0.5 }
        for tokens in [1, 5] {
            let x = (0..<(tokens * inF)).map { Float(($0 * 37) % 101) / 50 - 1 }
            var y = [Float](repeating: .nan, count: tokens * outF)
            x.withUnsafeBufferPointer { xp in
                bias.withUnsafeBufferPointer { bp in
                    y.withUnsafeMutableBufferPointer { Kernels.linearStored(xp.baseAddress!, rows: tokens, weight: m, bias: bp.baseAddress!, into: $0.baseAddress!) }
                }
            }
            var worst = 0.0
            for t in 0..<tokens {
                for o in 0..<outF {
                    var ref = Double(bias[o]), mag = abs(Double(bias[o]))
                    for i in 0..<inF {
                        ref += Double(w[o * inF + i]) * Double(x[t * inF + i])
                        mag += abs(Double(w[o * inF + i]) * Double(x[t * inF + i]))
                    }
                    // float32 accumulation of inF products: error bounded by ~inF·ε·Σ|terms|.
                    let err = abs(Double(y[t * outF + o]) - ref) / (mag * Double(inF) * 6e-8 + 1e-30)
                    worst = max(worst, err)
                }
            }
            #expect(worst <= 1, "\(dtype.rawValue) tokens \(tokens): error \(worst)× the float32 accumulation bound")
        }
    }
}
