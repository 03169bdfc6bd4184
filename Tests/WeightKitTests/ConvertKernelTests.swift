import Foundation
import Testing
import TestSupport
@testable import TensorCore
@testable import WeightKit

/// The fast conversion kernels (branch-free f16, fast Q8_0, fused transposes) against the references they stand beside.
@Suite("convert kernels")
struct ConvertKernelTests {
    /// Bit patterns that exercise every branch of float → half: zeros, the subnormal/normal and
    /// overflow boundaries, ties, infinities, NaNs with payloads that vanish or survive.
    static func edgeFloats() -> [Float] {
        var bits: [UInt32] = [0, 0x8000_0000, 0x7F80_0000, 0xFF80_0000, 0x7FC0_0000, 0x7F80_0001, 0x7F80_1FFF, 0x7F80_2000, 0xFFFF_FFFF,
                              0x3300_0000, 0x32FF_FFFF, 0x3300_0001, 0x3380_0000, 0x387F_FFFF, 0x3880_0000, 0x477F_E000, 0x477F_EFFF,
                              0x477F_F000, 0x477F_FFFF, 0x4780_0000, 0x3F80_1000, 0x3F80_3000, 0x3F80_0FFF]
        var rng = SystemRandomNumberGenerator()
        for e in 0..<256 {
            for _ in 0..<64 { bits.append(UInt32(e) << 23 | UInt32.random(in: 0..<(1 << 23), using: &rng) | (Bool.random() ? 0x8000_0000 : 0)) }
            for low in [0x0FFF, 0x1000, 0x1001, 0x2FFF, 0x3000, 0x3001] as [UInt32] { bits.append(UInt32(e) << 23 | low) }
        }
        for _ in 0..<200_000 { bits.append(UInt32.random(in: 0...UInt32.max, using: &rng)) }
        return bits.map { Float(bitPattern: $0) }
    }

    @Test func halfMatchesNarrow() {
        let xs = Self.edgeFloats()
        var out = [UInt16](repeating: 0, count: xs.count)
        xs.withUnsafeBufferPointer { s in out.withUnsafeMutableBufferPointer { Narrow.toF16Branchless(s.baseAddress!, $0.baseAddress!, count: xs.count) } }
        var bad = 0
        for (i, x) in xs.enumerated() where out[i] != Narrow.half(x) {
            if bad < 5 { Issue.record("half(\(String(x.bitPattern, radix: 16))) = \(String(out[i], radix: 16)), Narrow says \(String(Narrow.half(x), radix: 16))") }
            bad += 1
        }
        #expect(bad == 0)
    }

    @Test(arguments: [(1, 1), (3, 5), (8, 8), (7, 9), (17, 40), (64, 129), (96, 32)])
    func transposeMatchesReference(rows: Int, cols: Int) {
        let xs = (0..<(rows * cols)).map { Float(bitPattern: UInt32(truncatingIfNeeded: $0 &* 2_654_435_761)) }
        var ref = [UInt32](repeating: 0, count: xs.count)
        var got = [UInt32](repeating: 0, count: xs.count)
        var half = [UInt16](repeating: 0, count: xs.count)
        xs.withUnsafeBytes { s in
            ref.withUnsafeMutableBytes { ConvertKernels.transpose(s.baseAddress!, $0.baseAddress!, rows: rows, cols: cols, size: 4) }
            got.withUnsafeMutableBytes { ConvertKernels.transposeF32(s.baseAddress!, $0.baseAddress!, rows: rows, cols: cols, half: false) }
            half.withUnsafeMutableBytes { ConvertKernels.transposeF32(s.baseAddress!, $0.baseAddress!, rows: rows, cols: cols, half: true) }
        }
        #expect(ref.count == 1 || ref[1] == xs[cols].bitPattern || rows == 1)  // dst[0, 1] = src[1, 0]
        #expect(got == ref)
        #expect(half == ref.map { Narrow.half(Float(bitPattern: $0)) })
    }

    /// Transpose fused with Q8_0 equals a transpose followed by the reference quantizer.
    @Test(arguments: [(32, 1), (32, 33), (64, 40), (96, 7), (128, 64)])
    func transposeQ8MatchesReference(rows: Int, cols: Int) throws {
        var rng = SystemRandomNumberGenerator()
        var xs = (0..<(rows * cols)).map { _ in Float.random(in: -2...2, using: &rng) }
        xs[min(5, xs.count - 1)] = .nan
        var t = [Float](repeating: 0, count: xs.count)
        xs.withUnsafeBytes { s in t.withUnsafeMutableBytes { ConvertKernels.transpose(s.baseAddress!, $0.baseAddress!, rows: rows, cols: cols, size: 4) } }
        let want = try t.withUnsafeBufferPointer { try GGMLQuants.quantize(.q8_0, $0) }
        var got = [UInt8](repeating: 0, count: want.count)
        try xs.withUnsafeBytes { s in try got.withUnsafeMutableBytes { try ConvertKernels.transposeQuantized(s.baseAddress!, $0.baseAddress!, rows: rows, cols: cols, codec: DType.q8_0.codec!, tensor: "t") } }
        #expect(got == want)
    }

    /// Q8_0 blocks equal GGMLQuants.quantize (itself bit-exact with gguf-py): random scales,
    /// exact rounding ties (values landing on k + 0.5 after scaling), zeros, subnormals, NaN, ±inf.
    @Test func q8MatchesReference() throws {
        var xs = [Float]()
        var rng = SystemRandomNumberGenerator()
        for b in 0..<4000 {
            let scale = Float(bitPattern: UInt32.random(in: 0x0080_0000...0x7E00_0000, using: &rng))
            var block = (0..<32).map { _ in Float.random(in: -1...1, using: &rng) * scale }
            switch b % 10 {
            case 0: block = (0..<32).map { Float($0) - 15.5 }  // amax 15.5: x·(127/15.5) has ties? plus half-steps
            case 1: block = (0..<32).map { Float($0 % 5) * 0.5 - 1 }.enumerated().map { $0.offset == 0 ? 127 : $0.element }  // id = 1: exact .5 ties
            case 2: block = [Float](repeating: 0, count: 32)
            case 3: block = (0..<32).map { _ in Float(bitPattern: UInt32.random(in: 1...0x007F_FFFF, using: &rng)) }  // subnormals
            case 4: block[5] = .nan
            case 5: block[7] = .infinity
            case 6: block[0] = -.infinity; block[1] = -0.0
            case 7: block = block.map { -abs($0) }
            default: break
            }
            xs += block
        }
        let want = try xs.withUnsafeBufferPointer { try GGMLQuants.quantize(.q8_0, $0) }
        var got = [UInt8](repeating: 0, count: want.count)
        xs.withUnsafeBufferPointer { s in got.withUnsafeMutableBytes { GGMLQuants.quantizeQ8_0Fast(s.baseAddress!, $0.baseAddress!, blocks: xs.count / 32) } }
        var bad = 0
        for b in 0..<(xs.count / 32) where got[(34 * b)..<(34 * b + 34)] != want[(34 * b)..<(34 * b + 34)] {
            if bad < 3 { Issue.record("block \(b) differs: \(Array(xs[(32 * b)..<(32 * b + 32)]))") }
            bad += 1
        }
        #expect(bad == 0)
    }
}
