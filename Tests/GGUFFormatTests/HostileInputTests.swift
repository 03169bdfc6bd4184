// Malformed GGUF files built in memory, each asserting the one-line error it must produce.

import Testing
import TensorCore
import TestSupport
@testable import GGUFFormat

/// Parses `b` as "mem.gguf"; returns the error line, or nil when it parsed.
func parseError(_ b: GGUFBytes) -> String? {
    do {
        _ = try GGUFFile.parse(region: ByteRegion(b.bytes), path: "mem.gguf")
        return nil
    } catch {
        return error.description
    }
}

/// Expects parsing to fail with a line starting "mem.gguf: " and containing every fragment.
func expectError(_ b: GGUFBytes, _ fragments: String..., sourceLocation: SourceLocation = #_sourceLocation) {
    guard let line = parseError(b) else {
        Issue.record("parsed, expected an error containing \(fragments)", sourceLocation: sourceLocation)
        return
    }
    #expect(line.hasPrefix("mem.gguf: "), "\(line)", sourceLocation: sourceLocation)
    #expect(!line.contains("\n"), sourceLocation: sourceLocation)
    for f in fragments { #expect(line.contains(f), "'\(line)' lacks '\(f)'", sourceLocation: sourceLocation) }
}

/// A file with one kv `general.alignment` absent and one tensor info, data padded to 32.
func oneTensor(name: String = "t", ne: [UInt64] = [4], type: UInt32 = 0, offset: UInt64 = 0, data: Int = 16) -> GGUFBytes {
    var b = GGUFBytes(tensors: 1, kvs: 0)
    b.tensorInfo(name, ne: ne, type: type, offset: offset)
    b.pad()
    b.zeros(data)
    return b
}

@Suite struct HostileInputTests {
    @Test func validMinimalFileParses() throws {
        let b = oneTensor()
        #expect(parseError(b) == nil)
        let f = try GGUFFile.parse(region: ByteRegion(b.bytes), path: "mem.gguf")
        #expect(f.tensors.map(\.shape) == [[4]])
        #expect(f.dataOffset == 64)
    }

    @Test func notGGUF() {
        var b = GGUFBytes()
        b.raw(Array("GGML....................".utf8))
        expectError(b, "file: not a GGUF file: magic is 47 47 4d 4c")
        expectError(GGUFBytes(), "is empty")
        var lfs = GGUFBytes()
        lfs.raw(Array("version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 123\n".utf8))
        expectError(lfs, "Git LFS pointer")
        var st = GGUFBytes()
        let header = Array("{\"__metadata__\":{}}".utf8)
        st.u64(UInt64(header.count))
        st.raw(header)
        expectError(st, "is a safetensors file")
        var h5 = GGUFBytes()
        h5.raw([0x89, 0x48, 0x44, 0x46, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0])
        expectError(h5, "HDF5")
    }

    @Test func header() {
        var t = GGUFBytes()
        t.raw(Array("GGUF".utf8))
        t.u32(3)
        expectError(t, "truncated: 8 bytes")
        for v: UInt32 in [0, 1, 4] { expectError(GGUFBytes(version: v, tensors: 0, kvs: 0), "header at byte 4", "unsupported version \(v)") }
        expectError(GGUFBytes(version: 0x0300_0000, tensors: 0, kvs: 0), "big-endian")
        expectError(GGUFBytes(tensors: 0, kvs: UInt64.max), "header at byte 16", "metadata count 18446744073709551615")
        expectError(GGUFBytes(tensors: 1 << 62, kvs: 0), "header at byte 8", "tensor count")
        #expect(parseError(GGUFBytes(version: 2, tensors: 0, kvs: 0)) == nil)
    }

    @Test func hugeArrayCountInATinyFileFailsAtOnce() {
        var b = GGUFBytes(tensors: 0, kvs: 1)
        b.kvArray("a", elementType: 0, count: 1 << 63)
        #expect(b.count == 49)
        expectError(b, "metadata 'a' at byte 41", "array of 9223372036854775808 u8 elements")
        var s = GGUFBytes(tensors: 0, kvs: 1)
        s.kvArray("a", elementType: 8, count: 1 << 40, payload: [UInt8](repeating: 0, count: 64))
        expectError(s, "array of 1099511627776 str elements needs at least 8 bytes each")
        var n = GGUFBytes(tensors: 0, kvs: 1)
        n.kvArray("a", elementType: 4, count: 100, payload: [UInt8](repeating: 0, count: 40))
        expectError(n, "array of 100 u32 elements", "only 40 bytes are left")
    }

    @Test func strings() {
        var k = GGUFBytes(tensors: 0, kvs: 1)
        k.string(length: 1 << 63, [0x61])
        k.zeros(16)
        expectError(k, "metadata #0 at byte 24", "key length 9223372036854775808 exceeds the limit of 65535")
        var v = GGUFBytes(tensors: 0, kvs: 1)
        v.string("k")
        v.u32(8)
        v.string(length: 1000, Array("short".utf8))
        expectError(v, "metadata 'k' at byte 37", "string length 1000 runs past the end of the file")
        var huge = GGUFBytes(tensors: 0, kvs: 1)
        huge.string("k")
        huge.u32(8)
        huge.string(length: UInt64.max, [])
        expectError(huge, "string length 18446744073709551615 exceeds the limit")
        var bad = GGUFBytes(tensors: 0, kvs: 1)
        bad.string(length: 2, [0xC3, 0x28])
        bad.u32(0)
        bad.u8(0)
        expectError(bad, "key is not valid UTF-8")
        var empty = GGUFBytes(tensors: 0, kvs: 1)
        empty.string("")
        empty.u32(0)
        empty.u8(0)
        expectError(empty, "empty key")
    }

    @Test func keysAndTypes() {
        var d = GGUFBytes(tensors: 0, kvs: 2)
        d.kvU32("x", 1)
        d.kvU32("x", 2)
        expectError(d, "metadata 'x' at byte 41", "duplicate key (first at byte 24)")
        var t = GGUFBytes(tensors: 0, kvs: 1)
        t.string("x")
        t.u32(13)
        t.u32(0)
        expectError(t, "metadata 'x' at byte 33", "unknown value type 13")
        var a = GGUFBytes(tensors: 0, kvs: 1)
        a.kvArray("x", elementType: 77, count: 0)
        expectError(a, "unknown array element type 77")
    }

    @Test func nestedArraysAreBounded() {
        func nested(_ depth: Int) -> GGUFBytes {
            var b = GGUFBytes(tensors: 0, kvs: 1)
            b.string("n")
            b.u32(9)
            for _ in 0..<(depth - 1) {
                b.u32(9)
                b.u64(1)
            }
            b.u32(0)
            b.u64(1)
            b.u8(7)
            return b
        }
        #expect(parseError(nested(8)) == nil)
        expectError(nested(9), "arrays nested deeper than 8 levels")
        // A million levels fail the same way, without recursing a million times.
        var deep = GGUFBytes(tensors: 0, kvs: 1)
        deep.string("n")
        deep.u32(9)
        for _ in 0..<1_000_000 {
            deep.u32(9)
            deep.u64(1)
        }
        expectError(deep, "nested deeper than 8")
    }

    @Test func alignment() {
        var w = GGUFBytes(tensors: 0, kvs: 1)
        w.string("general.alignment")
        w.u32(10)
        w.u64(64)
        expectError(w, "metadata 'general.alignment' at byte 53", "has type u64, must be u32")
        for bad: UInt32 in [0, 48] {
            var b = GGUFBytes(tensors: 0, kvs: 1)
            b.kvU32("general.alignment", bad)
            expectError(b, "\(bad) is not a non-zero power of two")
        }
        var ok = GGUFBytes(tensors: 1, kvs: 1)
        ok.kvU32("general.alignment", 64)
        ok.tensorInfo("t", ne: [2], type: 0, offset: 0)
        ok.pad(to: 64)
        ok.zeros(8)
        #expect(parseError(ok) == nil)
        #expect((try? GGUFFile.parse(region: ByteRegion(ok.bytes), path: "m"))?.dataOffset == 128)
    }

    @Test func tensorNames() {
        expectError(oneTensor(name: String(repeating: "n", count: 64)), "name is 64 bytes; ggml allows at most 63")
        #expect(parseError(oneTensor(name: String(repeating: "n", count: 63))) == nil)
        var d = GGUFBytes(tensors: 2, kvs: 0)
        d.tensorInfo("w", ne: [4], type: 0, offset: 0)
        d.tensorInfo("w", ne: [4], type: 0, offset: 32)
        d.pad()
        d.zeros(64)
        expectError(d, "tensor 'w' at byte 57", "duplicate tensor name (first at byte 24)")
    }

    @Test func dims() {
        expectError(oneTensor(ne: [1, 1, 1, 1, 1]), "tensor 't' at byte 33", "n_dims is 5; ggml allows at most 4")
        expectError(oneTensor(ne: [1 << 62, 4]), "element count of ne [4611686018427387904, 4] overflows int64")
        expectError(oneTensor(ne: [UInt64.max]), "ne[0] = 18446744073709551615 does not fit in int64")
        expectError(oneTensor(ne: [1 << 62], type: 28), "elements of F64 are not a whole number of blocks, or need more than")
        expectError(oneTensor(ne: [1 << 61, 2, 2, 2], type: 24), "overflows int64")
        #expect(parseError(oneTensor(ne: [0, 5], data: 0)) == nil)
    }

    @Test func types() {
        expectError(oneTensor(type: 99), "tensor 't' at byte 45", "unknown ggml type 99")
        for removed: UInt32 in [4, 5, 31, 32, 33, 36, 37, 38] {
            expectError(oneTensor(type: removed), "ggml type \(removed)", "was removed from ggml")
        }
        expectError(oneTensor(type: 40), "NVFP4", "not supported by WeightKit")
        expectError(oneTensor(ne: [33], type: 2), "row length ne[0] = 33 is not a multiple of the Q4_0 block size 32")
        expectError(oneTensor(ne: [100, 2], type: 12), "not a multiple of the Q4_K block size 256")
    }

    @Test func offsets() {
        expectError(oneTensor(offset: 8), "tensor 't' at byte 49", "offset 8 is not a multiple of the alignment 32")
        expectError(oneTensor(offset: UInt64.max - 31), "tensor 't' at byte 24", "offset 18446744073709551584 + 16 bytes runs past the end of the file (80 bytes")
        expectError(oneTensor(ne: [100]), "offset 0 + 400 bytes runs past the end of the file (80 bytes, data section starts at byte 64)")
        expectError(oneTensor(offset: 32), "offset 32 + 16 bytes runs past the end")
        var start = GGUFBytes(tensors: 1, kvs: 0)
        start.tensorInfo("t", ne: [4], type: 0, offset: 0)
        expectError(start, "tensor data would start at byte 64, past the end of the file (57)")
        var overlap = GGUFBytes(tensors: 2, kvs: 0)
        overlap.tensorInfo("a", ne: [16], type: 0, offset: 0)
        overlap.tensorInfo("b", ne: [4], type: 0, offset: 32)
        overlap.pad()
        overlap.zeros(128)
        expectError(overlap, "tensor 'b' at byte 57", "data at offset 32 overlaps tensor 'a' (offset 0, 64 bytes)")
    }

    @Test func unpackedOffsetsAreAcceptedWithAWarning() throws {
        var gap = GGUFBytes(tensors: 2, kvs: 0)
        gap.tensorInfo("a", ne: [4], type: 0, offset: 64)
        gap.tensorInfo("b", ne: [4], type: 0, offset: 0)
        gap.pad()
        gap.zeros(96)
        let f = try GGUFFile.parse(region: ByteRegion(gap.bytes), path: "mem.gguf")
        #expect(f.tensors.count == 2)
        #expect(f.warnings.count == 1)
        #expect(f.warnings.first?.contains("tensor 'a' has offset 64, ggml expects 0") == true)
    }

    @Test func truncatedTensorInfo() {
        var b = GGUFBytes(tensors: 2, kvs: 0)
        b.string("t")
        b.u32(2)
        b.u64(4)
        b.raw([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
        expectError(b, "header at byte 8", "tensor count 2 cannot fit in the 37 bytes left")
        var c = GGUFBytes(tensors: 1, kvs: 0)
        c.string("t")
        c.u32(1)
        c.u64(4)
        c.u32(0)
        c.raw([0, 0, 0])
        expectError(c, "tensor 't' at byte 49", "offset needs 8 bytes but the file ends 3 bytes later")
    }
}
