// Bit identity of WeightKit's dequantizers, quantizers and float narrowing against the real
// gguf-py package (gguf.quants) and numpy, on random data generated in the same run.

import Testing
import TensorCore
import TestSupport

/// The bytes of a file as an array.
func readBytes(_ path: String) throws -> [UInt8] {
    try ByteRegion.map(path: path).withUnsafeBytes { Array($0) }
}

/// The bytes of a file as float32 / uint16 values.
func readFloats(_ path: String) throws -> [Float] {
    try ByteRegion.map(path: path).withUnsafeBytes { raw in (0..<raw.count / 4).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) } }
}

/// First index where two float arrays differ bitwise (NaN matches any NaN), or nil.
func firstBitMismatch(_ a: [Float], _ b: [Float]) -> Int? {
    if a.count != b.count { return min(a.count, b.count) }
    for i in a.indices where a[i].bitPattern != b[i].bitPattern && !(a[i].isNaN && b[i].isNaN) { return i }
    return nil
}

/// Python helpers shared by the scripts: random finite float16 scales of every magnitude.
let pyCommon = """
import sys, os, numpy as np, gguf
from gguf.quants import quantize, dequantize
from gguf import GGMLQuantizationType as T
rng = np.random.default_rng(int(os.environ.get('WK_SEED', '1234')))
def scales(n):
    kind = rng.integers(0, 6, n)
    v = rng.standard_normal(n).astype(np.float32)
    v = np.where(kind == 0, v * 0.01, v)
    v = np.where(kind == 1, v * 1e-6, v)          # float16 subnormals
    v = np.where(kind == 2, v * 3000, v)          # large
    v = np.where(kind == 3, 0, v)
    return v.astype(np.float16).view(np.uint8).reshape(n, 2)
# (name, type, block bytes, float16 scale byte offsets)
LAYOUTS = [('q4_0', T.Q4_0, 18, [0]), ('q4_1', T.Q4_1, 20, [0, 2]), ('q5_0', T.Q5_0, 22, [0]),
           ('q5_1', T.Q5_1, 24, [0, 2]), ('q8_0', T.Q8_0, 34, [0]), ('q2_k', T.Q2_K, 84, [80, 82]),
           ('q3_k', T.Q3_K, 110, [108]), ('q4_k', T.Q4_K, 144, [0, 2]), ('q5_k', T.Q5_K, 176, [0, 2]),
           ('q6_k', T.Q6_K, 210, [208]), ('q8_1', None, 36, [0, 2]), ('q8_k', None, 292, [])]
def random_blocks(bb, offs, n):
    raw = rng.integers(0, 256, (n, bb), dtype=np.uint8)
    for o in offs: raw[:, o:o+2] = scales(n)
    return raw
"""

@Suite struct QuantsTests {
    static let decodable: [DType] = [.q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q2_k, .q3_k, .q4_k, .q5_k, .q6_k, .q8_1, .q8_k]

    @Test func dequantizeMatchesGGUFPyBitForBit() throws {
        let dir = RepoPaths.temporaryDirectory("wk-dq")
        try Python.check(pyCommon + "\n" + """
        out = sys.argv[1]
        for name, t, bb, offs in LAYOUTS:
            bs = 256 if name.endswith('_k') else 32
            n = (1 << 18) // bs + 3          # above the parallel threshold, not a round number
            raw = random_blocks(bb, offs, n)
            if name == 'q8_k':
                d = (rng.standard_normal(n) * 0.01).astype(np.float32)
                raw[:, 0:4] = d.view(np.uint8).reshape(n, 4)
                want = d.reshape(n, 1) * raw[:, 4:260].view(np.int8).astype(np.float32)
            elif name == 'q8_1':
                want = raw[:, 0:2].copy().view(np.float16).astype(np.float32) * raw[:, 4:].view(np.int8).astype(np.float32)
            else:
                want = dequantize(raw.reshape(-1), t)
            raw.tofile(f'{out}/{name}.raw')
            np.asarray(want, dtype=np.float32).tofile(f'{out}/{name}.f32')
        """, [dir])
        for dtype in Self.decodable {
            let raw = try readBytes("\(dir)/\(dtype.rawValue).raw")
            let want = try readFloats("\(dir)/\(dtype.rawValue).f32")
            var got = [Float](repeating: 0, count: want.count)
            try raw.withUnsafeBytes { src in
                try got.withUnsafeMutableBufferPointer { try GGMLQuants.dequantize(dtype, src, into: $0.baseAddress!, count: want.count, tensor: "t") }
            }
            let bad = firstBitMismatch(got, want)
            #expect(bad == nil, "\(dtype.rawValue): element \(bad ?? 0) is \(bad.map { got[$0] } ?? 0), gguf-py gives \(bad.map { want[$0] } ?? 0)")
            // The serial path (a small prefix) agrees too.
            let k = 3 * dtype.blockSize
            var small = [Float](repeating: 0, count: k)
            try raw.withUnsafeBytes { src in
                try small.withUnsafeMutableBufferPointer { try GGMLQuants.dequantize(dtype, src, into: $0.baseAddress!, count: k, tensor: "t") }
            }
            #expect(firstBitMismatch(small, Array(want[0..<k])) == nil, "\(dtype.rawValue) serial path")
        }
    }

    @Test(arguments: [DType.iq2_xxs, .iq4_nl, .tq1_0, .tq2_0, .mxfp4])
    func unsupportedTypesSayWhat(_ dtype: DType) {
        let bytes = [UInt8](repeating: 0, count: dtype.blockBytes)
        var out = [Float](repeating: 0, count: dtype.blockSize)
        #expect(throws: TensorCoreError("tensor 'w': values of type \(dtype.rawValue) cannot be decoded (not supported)")) {
            try bytes.withUnsafeBytes { src in
                try out.withUnsafeMutableBufferPointer { try GGMLQuants.dequantize(dtype, src, into: $0.baseAddress!, count: dtype.blockSize, tensor: "w") }
            }
        }
    }

    @Test func quantizeMatchesGGUFPyBitForBit() throws {
        let dir = RepoPaths.temporaryDirectory("wk-q")
        try Python.check(pyCommon + "\n" + """
        import warnings; warnings.simplefilter('ignore')
        out = sys.argv[1]
        parts = [
            rng.standard_normal(32 * 4000).astype(np.float32),
            rng.uniform(-1, 1, 32 * 2000).astype(np.float32) * 1e-3,
            rng.integers(-20, 20, 32 * 2000).astype(np.float32),             # many exact ties
            (rng.integers(-40, 40, 32 * 2000) / 2).astype(np.float32),       # halves
            np.repeat(rng.standard_normal(200).astype(np.float32), 32),      # constant blocks
            np.zeros(32 * 10, np.float32),
            np.where(np.arange(32 * 500) % 32 == 0, 127, rng.integers(-254, 254, 32 * 500) / 2).astype(np.float32),  # d = 1: x.5 ties
            np.where(np.arange(32 * 500) % 32 == 0, -8, rng.integers(-16, 16, 32 * 500) / 2).astype(np.float32),    # Q4_0 d = 1
            (rng.standard_normal(32 * 200) * 1e-38).astype(np.float32),      # subnormal scales
            (rng.standard_normal(32 * 200) * 1e37).astype(np.float32),       # huge
            np.tile(np.float32([np.inf, -1, 2, np.nan] + [0.5] * 28), 3),    # non-finite
            np.tile(np.float32([-np.inf] + [1] * 31), 2),
        ]
        x = np.concatenate(parts).astype(np.float32)
        x.tofile(f'{out}/input.f32')
        for name, t in [('q8_0', T.Q8_0), ('q4_0', T.Q4_0), ('q4_1', T.Q4_1), ('q5_0', T.Q5_0), ('q5_1', T.Q5_1)]:
            quantize(x.reshape(-1, 32), t).tofile(f'{out}/{name}.q')
        """, [dir])
        let input = try readFloats("\(dir)/input.f32")
        for dtype in [DType.q8_0, .q4_0, .q4_1, .q5_0, .q5_1] {
            let want = try readBytes("\(dir)/\(dtype.rawValue).q")
            let got = try input.withUnsafeBufferPointer { try GGMLQuants.quantize(dtype, $0) }
            #expect(got.count == want.count)
            let bad = zip(got, want).enumerated().first { $0.element.0 != $0.element.1 }?.offset
            #expect(bad == nil, "\(dtype.rawValue): byte \(bad ?? 0) (block \((bad ?? 0) / dtype.blockBytes)) differs from gguf-py")
        }
    }

    @Test func quantizeRejectsPartialBlocksAndOtherTypes() {
        #expect(throws: TensorCoreError.self) { try [Float](repeating: 1, count: 31).withUnsafeBufferPointer { try GGMLQuants.quantize(.q8_0, $0) } }
        #expect(throws: TensorCoreError.self) { try [Float](repeating: 1, count: 256).withUnsafeBufferPointer { try GGMLQuants.quantize(.iq2_xxs, $0) } }
    }

    @Test func narrowingMatchesNumpyAndGGUFPy() throws {
        let dir = RepoPaths.temporaryDirectory("wk-n")
        try Python.check(pyCommon + "\n" + """
        import warnings; warnings.simplefilter('ignore')
        out = sys.argv[1]
        h = np.arange(65536, dtype=np.uint32).astype(np.uint16).view(np.float16).astype(np.float32).view(np.uint32)
        near = np.concatenate([h + k for k in (0x0fff, 0x1000, 0x1001, 0x2fff, 0x3000)] + [h - 1])
        bits = np.concatenate([rng.integers(0, 1 << 32, 400000, dtype=np.uint64).astype(np.uint32), near.astype(np.uint32),
                               np.uint32([0x7f800000, 0xff800000, 0x7f800001, 0x7fc00000, 0xffffffff, 0x7f802000, 0x477ff000, 0x477fefff, 0x33000000, 0x33000001, 0x7f7fffff])])
        x = bits.view(np.float32)
        x.tofile(f'{out}/x.f32')
        x.astype(np.float16).tofile(f'{out}/x.f16')
        quantize(x, T.BF16).tofile(f'{out}/x.bf16')
        """, [dir])
        let x = try readFloats("\(dir)/x.f32")
        func u16s(_ p: String) throws -> [UInt16] {
            try readBytes(p).withUnsafeBytes { r in (0..<r.count / 2).map { UInt16(littleEndian: r.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self)) } }
        }
        let f16 = try u16s("\(dir)/x.f16"), bf16 = try u16s("\(dir)/x.bf16")
        var got = [UInt16](repeating: 0, count: x.count)
        x.withUnsafeBufferPointer { src in got.withUnsafeMutableBufferPointer { Narrow.toF16(src, into: $0.baseAddress!) } }
        let badH = got.indices.first { got[$0] != f16[$0] }
        #expect(badH == nil, "f16 of bits 0x\(String(x[badH ?? 0].bitPattern, radix: 16)): got 0x\(String(got[badH ?? 0], radix: 16)), numpy 0x\(String(f16[badH ?? 0], radix: 16))")
        x.withUnsafeBufferPointer { src in got.withUnsafeMutableBufferPointer { Narrow.toBF16(src, into: $0.baseAddress!) } }
        let badB = got.indices.first { got[$0] != bf16[$0] }
        #expect(badB == nil, "bf16 of bits 0x\(String(x[badB ?? 0].bitPattern, radix: 16)): got 0x\(String(got[badB ?? 0], radix: 16)), gguf-py 0x\(String(bf16[badB ?? 0], radix: 16))")
    }
}
