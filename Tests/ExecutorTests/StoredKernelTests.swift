// The stored-dtype kernels against the reference path: every weight widened by TensorCore's
// dequantizers (bit-identical to gguf-py's), then float32 arithmetic in double for the expected sums.
import CKernels
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

    /// The largest error of y [tokens, outF] against x·Wᵀ + b in double (W [outF, inF] as widened, or
    /// [inF, outF] with `inOut`), over the float32 accumulation bound inF·6e-8·Σ|w·x| of its row (float32
    /// sums of inF products; NaN counts as infinitely wrong).
    static func worstOverFloat32Bound(
        _ y: [Float], w: [Float], x: [Float], bias: [Float], tokens: Int, outF: Int, inF: Int, inOut: Bool = false
    ) -> Double {
        var worst = 0.0
        for t in 0..<tokens {
            for o in 0..<outF {
                var ref = Double(bias[o]), mag = abs(Double(bias[o]))
                for i in 0..<inF {
                    let wi = Double(inOut ? w[i * outF + o] : w[o * inF + i])
                    ref += wi * Double(x[t * inF + i])
                    mag += abs(wi * Double(x[t * inF + i]))
                }
                let err = abs(Double(y[t * outF + o]) - ref) / (mag * Double(inF) * 6e-8 + 1e-30)
                worst = max(worst, err.isNaN ? .infinity : err)
            }
        }
        return worst
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

    @Test("GEMV (one token, float32 activations) and panel GEMM (many tokens, several panels) equal the widened products", arguments: types)
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
                    y.withUnsafeMutableBufferPointer {
                        Kernels.linearStored(xp.baseAddress!, rows: tokens, weight: m, bias: bp.baseAddress!, into: $0.baseAddress!, int8Activations: false)
                    }
                }
            }
            let worst = Self.worstOverFloat32Bound(y, w: w, x: x, bias: bias, tokens: tokens, outF: outF, inF: inF)
            #expect(worst <= 1, "\(dtype.rawValue) tokens \(tokens): error \(worst)× the float32 accumulation bound")
        }
    }

    @Test("[in, out] f16/bf16 (GPT-2's Conv1D): column GEMV and column-panel GEMM equal the widened products", arguments: [DType.f16, .bf16])
    func columnProducts(_ dtype: DType) throws {
        // 98 rows (a remainder after the four-row steps), 300 columns: two panels of 256 and 44.
        let inF = 98, outF = 300
        let (bytes, w) = try Self.matrix(dtype, rows: inF, cols: outF, seed: 3)
        var m = Self.stored(dtype, bytes, rows: inF, cols: outF)
        m.transposed = true
        let bias = (0..<outF).map { Float($0 % 5) * 0.25 - 0.5 }
        for tokens in [1, 5] {
            let x = (0..<(tokens * inF)).map { Float(($0 * 41) % 103) / 50 - 1 }
            var y = [Float](repeating: .nan, count: tokens * outF)
            x.withUnsafeBufferPointer { xp in
                bias.withUnsafeBufferPointer { bp in
                    y.withUnsafeMutableBufferPointer {
                        Kernels.linearStored(xp.baseAddress!, rows: tokens, weight: m, bias: bp.baseAddress!, into: $0.baseAddress!)
                    }
                }
            }
            let worst = Self.worstOverFloat32Bound(y, w: w, x: x, bias: bias, tokens: tokens, outF: outF, inF: inF, inOut: true)
            #expect(worst <= 1, "\(dtype.rawValue) tokens \(tokens): error \(worst)× the float32 accumulation bound")
        }
    }

    @Test("packed float32 GEMM (f32/f16/bf16 `[out, in]`, many tokens): every kernel version within the float32 bound; linear and linearStored take it",
          arguments: [DType.f32, .f16, .bf16])
    func packedGemm(_ dtype: DType) throws {
        // Rows not a multiple of the twelve-row tile, columns not a multiple of the 256-column block, and
        // token counts below, at and past the 32-token slab.
        for (outF, inF) in [(37, 300), (37, 272), (50, 32), (13, 513)] {
            let (bytes, w): ([UInt8], [Float])
            if dtype == .f32 {
                var state: UInt64 = 5
                w = Self.activations(outF * inF, state: &state) { _ in 2.5 }
                bytes = w.withUnsafeBytes { Array($0) }
            } else {
                (bytes, w) = try Self.matrix(dtype, rows: outF, cols: inF, seed: 5)
            }
            let bias = (0..<outF).map { Float($0 % 7) * 0.25 - 0.5 }
            let typeCode = dtype == .f32 ? Int32(WK_F32) : StoredMatrix.code(dtype)!
            for tokens in [2, 5, 33, 70] {
                var state = UInt64(tokens)
                let x = Self.activations(tokens * inF, state: &state) { $0 % 9 == 0 ? 8 : 1 }
                var bestLevel: [Float]? = nil
                for level in 0...max(0, Kernels.halfGemmLevel) {
                    var y = [Float](repeating: .nan, count: tokens * outF)
                    bytes.withUnsafeBytes { wp in
                        x.withUnsafeBufferPointer { xp in
                            bias.withUnsafeBufferPointer { bp in
                                y.withUnsafeMutableBufferPointer {
                                    Kernels.packedGemm(
                                        xp.baseAddress!, rows: tokens, type: typeCode, weight: wp.baseAddress!, outFeatures: outF,
                                        inFeatures: inF, bias: bp.baseAddress!, into: $0.baseAddress!, level: level)
                                }
                            }
                        }
                    }
                    let worst = Self.worstOverFloat32Bound(y, w: w, x: x, bias: bias, tokens: tokens, outF: outF, inF: inF)
                    #expect(worst <= 1, "\(dtype.rawValue) \(outF)×\(inF), \(tokens) tokens, level \(level): error \(worst)× the float32 accumulation bound")
                    if level == max(0, Kernels.halfGemmLevel) { bestLevel = y }
                }
                // The executor's entry points reach the same kernel (the best version), bit for bit.
                guard let best = bestLevel else { continue }
                var via = [Float](repeating: .nan, count: tokens * outF)
                var taken = false
                if dtype == .f32, Kernels.packedGemmForFloat32 {
                    w.withUnsafeBufferPointer { wp in
                        x.withUnsafeBufferPointer { xp in
                            bias.withUnsafeBufferPointer { bp in
                                via.withUnsafeMutableBufferPointer {
                                    Kernels.linear(
                                        xp.baseAddress!, rows: tokens, inFeatures: inF, weight: wp.baseAddress!, outFeatures: outF, transposed: false,
                                        bias: bp.baseAddress!, into: $0.baseAddress!)
                                }
                            }
                        }
                    }
                    taken = true
                } else if dtype != .f32, Kernels.packedGemmRuns(type: typeCode) {
                    let m = Self.stored(dtype, bytes, rows: outF, cols: inF)
                    x.withUnsafeBufferPointer { xp in
                        bias.withUnsafeBufferPointer { bp in
                            via.withUnsafeMutableBufferPointer {
                                Kernels.linearStored(xp.baseAddress!, rows: tokens, weight: m, bias: bp.baseAddress!, into: $0.baseAddress!)
                            }
                        }
                    }
                    taken = true
                }
                if taken {
                    #expect(via.map(\.bitPattern) == best.map(\.bitPattern), "\(dtype.rawValue) \(outF)×\(inF), \(tokens) tokens: the executor's product differs")
                }
            }
        }
    }

    static let levels = Kernels.int8KernelLevels

    /// `count` activations u·scale(i), u uniform in [−1, 1] from `state` (a 64-bit LCG).
    static func activations(_ count: Int, state: inout UInt64, scale: (Int) -> Float) -> [Float] {
        (0..<count).map { i in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: state >> 11) % 2_000_001 - 1_000_000) / 1_000_000 * scale(i)
        }
    }

    @Test("GEMV with 8-bit activations: within the activation-quantisation bound of the widened product, every kernel version",
          arguments: [DType.q8_0, .q4_0, .q4_1, .q5_0, .q5_1, .q4_k, .q5_k, .q6_k], [3, 8, 35])
    func int8Activations(_ dtype: DType, blocks: Int) throws {
        let outF = 67, inF = dtype.blockSize * blocks
        let (bytes, w) = try Self.matrix(dtype, rows: outF, cols: inF, seed: 3)
        let m = Self.stored(dtype, bytes, rows: outF, cols: inF)
        // Blocks of very different magnitude, one block all zeros.
        var state: UInt64 = 7
        let x = Self.activations(inF, state: &state) { i in i / 32 == 1 ? 0 : [1, 0, 40, 0.01, 3, 7, 0.5, 100][(i / 32) % 8] }
        var ref = [Double](repeating: 0, count: outF), bound = [Double](repeating: 0, count: outF)
        for o in 0..<outF {
            var mag = 0.0
            for i in 0..<inF {
                ref[o] += Double(w[o * inF + i]) * Double(x[i])
                mag += abs(Double(w[o * inF + i]) * Double(x[i]))
            }
            // Each x is off by at most half its block's step, max|x_block|/254 (float rounding of the step
            // and of x/step: a relative 1e-6 more), plus float32 accumulation as in `products`.
            var quant = 0.0
            for b in 0..<(inF / 32) {
                let amax = x[(32 * b)..<(32 * b + 32)].map { Double(abs($0)) }.max()!
                let sw = (0..<32).reduce(0.0) { $0 + abs(Double(w[o * inF + 32 * b + $1])) }
                quant += sw * amax / 254 * (1 + 1e-6)
            }
            bound[o] = quant + mag * Double(inF) * 6e-8 + 1e-30
        }
        var first = [Float]()
        for level in Self.levels {
            var y = [Float](repeating: .nan, count: outF)
            x.withUnsafeBufferPointer { xp in
                y.withUnsafeMutableBufferPointer {
                    Kernels.linearStored(xp.baseAddress!, rows: 1, weight: m, bias: nil, into: $0.baseAddress!, int8Activations: true, level: level)
                }
            }
            let worst = (0..<outF).map { abs(Double(y[$0]) - ref[$0]) / bound[$0] }.max()!
            #expect(worst <= 1, "\(dtype.rawValue) level \(level): error \(worst)× the bound")
            // The integer sums are the same in every version; only the float sums' order differs.
            if first.isEmpty { first = y }
            let spread = (0..<outF).map { abs(Double(y[$0]) - Double(first[$0])) / bound[$0] }.max()!
            #expect(spread <= 0.01, "\(dtype.rawValue) level \(level) differs from level 0 by \(spread)× the bound")
        }
    }

    @Test("GEMM with 8-bit activations (prefill): every token's row is the one-token product's, every kernel version",
          arguments: [DType.q8_0, .q4_0, .q4_1, .q5_0, .q5_1, .q4_k, .q5_k, .q6_k], [3, 8, 35])
    func int8Prefill(_ dtype: DType, blocks: Int) throws {
        // 67 rows: eight- and sixteen-row panels with a remainder, split between workers; 2, 5 and 9 tokens: the
        // four-token tiles and the single tokens after them.
        let outF = 67, inF = dtype.blockSize * blocks
        let (bytes, w) = try Self.matrix(dtype, rows: outF, cols: inF, seed: 5)
        let m = Self.stored(dtype, bytes, rows: outF, cols: inF)
        let bias = (0..<outF).map { Float($0 % 5) * 0.5 - 1 }
        var state: UInt64 = 11
        for tokens in [2, 5, 9] {
            let x = Self.activations(tokens * inF, state: &state) { i in [1, 0, 40, 0.01, 3, 7, 0.5, 100][(i / 32 + i / inF) % 8] }
            // Σ|w·x| per output: the float sums of the two sides differ by at most ~2·inF·ε of it.
            var bound = [Double](repeating: 0, count: tokens * outF)
            for t in 0..<tokens {
                for o in 0..<outF {
                    var mag = abs(Double(bias[o]))
                    for i in 0..<inF { mag += abs(Double(w[o * inF + i]) * Double(x[t * inF + i])) }
                    bound[t * outF + o] = 2 * mag * Double(inF) * 6e-8 + 1e-30
                }
            }
            for level in Int32(0)...wk_act8_gemm_best_level() {
                var ref = [Float](repeating: .nan, count: tokens * outF), y = ref
                let gemvLevel = min(level, Self.levels.last!)
                x.withUnsafeBufferPointer { xp in
                    bias.withUnsafeBufferPointer { bp in
                        for t in 0..<tokens {
                            ref.withUnsafeMutableBufferPointer {
                                Kernels.linearStored(
                                    xp.baseAddress! + t * inF, rows: 1, weight: m, bias: bp.baseAddress!, into: $0.baseAddress! + t * outF,
                                    int8Activations: true, level: gemvLevel)
                            }
                        }
                        y.withUnsafeMutableBufferPointer {
                            Kernels.linearStoredInt8(xp.baseAddress!, rows: tokens, weight: m, bias: bp.baseAddress!, into: $0.baseAddress!, level: level)
                        }
                    }
                }
                let worst = (0..<(tokens * outF)).map { abs(Double(y[$0]) - Double(ref[$0])) / bound[$0] }.max()!
                #expect(worst <= 1, "\(dtype.rawValue) level \(level), \(tokens) tokens: \(worst)× the float-order bound")
            }
            // The executor's path for many tokens is this GEMM wherever the CPU runs it, and float32 panels
            // with int8Prefill: false (verify, compare).
            if Kernels.int8PrefillRuns, wk_act8_gemm_supported(m.type) != 0 {
                var a = [Float](repeating: .nan, count: tokens * outF), b = a, c = a
                x.withUnsafeBufferPointer { xp in
                    a.withUnsafeMutableBufferPointer { Kernels.linearStored(xp.baseAddress!, rows: tokens, weight: m, bias: nil, into: $0.baseAddress!) }
                    b.withUnsafeMutableBufferPointer { Kernels.linearStoredInt8(xp.baseAddress!, rows: tokens, weight: m, bias: nil, into: $0.baseAddress!, level: -1) }
                    c.withUnsafeMutableBufferPointer {
                        Kernels.linearStored(xp.baseAddress!, rows: tokens, weight: m, bias: nil, into: $0.baseAddress!, int8Prefill: false)
                    }
                }
                #expect(a.map(\.bitPattern) == b.map(\.bitPattern), "\(dtype.rawValue): linearStored did not take the 8-bit GEMM")
                #expect(c.map(\.bitPattern) != b.map(\.bitPattern), "\(dtype.rawValue): int8Prefill: false still took the 8-bit GEMM")
            }
        }
    }

    @Test("8-bit activations: the AVX2 quantiser writes the portable one's bytes (ties, zeros, huge, tiny, NaN, infinity)")
    func int8QuantiserVersions() throws {
        guard wk_act8_best_level() >= 1 else { return }
        var state: UInt64 = 99
        let cols = 32 * 40
        var x = Self.activations(cols, state: &state) { i in [1, 0, 3e38, 1e-40, 127, 2.5, 1e-3, 65504][(i / 32) % 8] }
        // Exact halves of the step (ties to even), a NaN, an infinity, a negative zero block.
        for j in 0..<32 { x[8 * 32 + j] = Float(j) - 15.5 }
        x[9 * 32 + 3] = .nan
        x[10 * 32 + 30] = -.infinity
        for j in 0..<32 { x[11 * 32 + j] = -0.0 }
        let n = Int(wk_act8_bytes(cols))
        var a = [UInt8](repeating: 1, count: n), b = [UInt8](repeating: 2, count: n)
        x.withUnsafeBufferPointer { xp in
            a.withUnsafeMutableBytes { wk_quantize_act8_at(xp.baseAddress!, cols, $0.baseAddress!, 0) }
            b.withUnsafeMutableBytes { wk_quantize_act8_at(xp.baseAddress!, cols, $0.baseAddress!, 1) }
        }
        #expect(a == b, "first difference at byte \(zip(a, b).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? -1)")
        // The subnormal block (3) is quantised like any other: its largest value gets level ±127 (before the
        // 2^100 scaling, 127/amax overflowed and the levels were undefined).
        let q3 = a[(12 * 40 + 96)..<(12 * 40 + 128)].map { Int(Int8(bitPattern: $0)) }
        #expect(q3.map(abs).max() == 127, "\(q3)")
    }

    @Test("GEMV with 8-bit activations: a NaN or an infinity in the activation row reaches every output, as in float32",
          arguments: [DType.q8_0, .q4_1, .q6_k])
    func int8NonFinite(_ dtype: DType) throws {
        let outF = 5, inF = dtype.blockSize * 2
        let (bytes, _) = try Self.matrix(dtype, rows: outF, cols: inF, seed: 4)
        let m = Self.stored(dtype, bytes, rows: outF, cols: inF)
        for bad in [Float.nan, .infinity] {
            var x = (0..<inF).map { Float($0 % 7) - 3 }
            x[inF / 2 + 3] = bad
            for level in Self.levels {
                var y = [Float](repeating: 0, count: outF)
                x.withUnsafeBufferPointer { xp in
                    y.withUnsafeMutableBufferPointer {
                        Kernels.linearStored(xp.baseAddress!, rows: 1, weight: m, bias: nil, into: $0.baseAddress!, int8Activations: true, level: level)
                    }
                }
                #expect(y.allSatisfy { !$0.isFinite }, "\(dtype.rawValue) level \(level) with \(bad): \(y)")
            }
        }
    }
}
