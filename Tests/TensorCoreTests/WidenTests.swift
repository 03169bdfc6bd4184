import Testing
import TestSupport
@testable import TensorCore

@Suite("Widening to float32")
struct WidenTests {
    @Test("float16 widens exactly for every bit pattern (checked against numpy)")
    func everyHalf() throws {
        // numpy widens every float16 bit pattern; compare all 65536 bit-for-bit (NaNs by class).
        let out = try Python.check("""
            import numpy as np, sys
            h = np.arange(65536, dtype=np.uint32).astype(np.uint16).view(np.float16).astype(np.float32)
            sys.stdout.write(h.view(np.uint32).tobytes().hex())
            """)
        let hex = Array(out.utf8)
        #expect(hex.count == 65536 * 8)
        var mismatches = 0
        for i in 0..<65536 {
            var v: UInt32 = 0
            for j in 0..<8 {
                let c = hex[i * 8 + j]
                v = v << 4 | UInt32(c <= 57 ? c - 48 : c - 87)
            }
            let want = UInt32(bigEndian: v)  // hex of little-endian bytes
            let got = Widen.half(UInt16(i)).bitPattern
            let gotF = Float(bitPattern: got)
            let wantF = Float(bitPattern: want)
            if gotF.isNaN != wantF.isNaN || (!gotF.isNaN && got != want) { mismatches += 1 }
        }
        #expect(mismatches == 0)
    }

    @Test("bfloat16 is the upper half of float32")
    func bfloat() {
        #expect(Widen.bfloat(0x3F80) == 1)
        #expect(Widen.bfloat(0xC000) == -2)
        #expect(Widen.bfloat(0x7F80) == .infinity)
        #expect(Widen.bfloat(0x7FC0).isNaN)
    }

    @Test("float8 e4m3fn and e5m2 decode normal, subnormal, max and NaN", arguments: [
        (UInt8(0x38), Float(1)), (0xB8, -1), (0x7E, 448), (0x01, 0.001953125), (0x00, 0), (0x08, 0.015625),
    ])
    func f8e4m3(bits: UInt8, value: Float) {
        #expect(Widen.f8e4m3(bits) == value)
    }

    @Test func f8special() {
        #expect(Widen.f8e4m3(0x7F).isNaN)
        #expect(Widen.f8e4m3(0xFF).isNaN)
        #expect(Widen.f8e5m2(0x7C) == .infinity)
        #expect(Widen.f8e5m2(0x7B) == 57344)
        #expect(Widen.f8e5m2(0x01) == 1.52587890625e-05)
    }

    @Test("integers widen as Float(x); short buffers are refused")
    func integers() throws {
        let bytes: [UInt8] = [0xFF, 0x7F, 0x00, 0x80]  // i16: 32767, -32768
        var out = [Float](repeating: 0, count: 2)
        try bytes.withUnsafeBytes { raw in
            try out.withUnsafeMutableBufferPointer { try Widen.toFloat32(.i16, raw, into: $0.baseAddress!, count: 2) }
        }
        #expect(out == [32767, -32768])
        #expect(throws: TensorCoreError.self) {
            try bytes.withUnsafeBytes { raw in
                try out.withUnsafeMutableBufferPointer { try Widen.toFloat32(.f32, raw, into: $0.baseAddress!, count: 2) }
            }
        }
    }
}

@Suite("Tensors")
struct TensorTests {
    @Test("a tensor's bytes must match its shape and dtype")
    func sizeChecked() {
        #expect(throws: TensorCoreError.self) { try Tensor(name: "t", dtype: .f32, shape: [3], data: TensorData(bytes: [0, 0, 0, 0])) }
        #expect(throws: TensorCoreError.self) { try Tensor(name: "t", dtype: .f32, shape: [Int.max, 4], data: TensorData(bytes: [])) }
        #expect(throws: TensorCoreError.self) { try Tensor(name: "t", dtype: .q8_0, shape: [31], data: TensorData(bytes: [])) }
    }

    @Test("withFloats copies when the bytes are not 4-byte aligned")
    func unalignedView() throws {
        let raw: [UInt8] = [0] + Array([Float(1.5), -2].withUnsafeBytes { Array($0) })
        let region = ByteRegion(raw)
        let t = try Tensor(name: "x", dtype: .f32, shape: [2], data: TensorData(region: region, offset: 1, count: 8)!)
        let v = try t.withFloats { Array($0) }
        #expect(v == [1.5, -2])
    }

    @Test("SHA-256 of known inputs")
    func sha() {
        #expect([UInt8]().withUnsafeBytes { SHA256.hex($0) } == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(Array("abc".utf8).withUnsafeBytes { SHA256.hex($0) } == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        let million = [UInt8](repeating: 0x61, count: 1_000_000)
        #expect(million.withUnsafeBytes { SHA256.hex($0) } == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }
}
