// Files gguf-py writes are read bit-identically by WeightKit; files WeightKit writes are read
// by gguf.GGUFReader with identical metadata, shapes, bytes and dequantized values; and the
// writer → reader round trip keeps everything.

import Testing
import TensorCore
import TestSupport
import Foundation
@testable import GGUFFormat

/// A metadata value as one comparable line; floats by bit pattern, strings as UTF-8 hex.
func canon(_ v: MetadataValue) -> String {
    switch v {
    case .array(let t, let items): return "arr:\(t.name):[" + items.map(canon).joined(separator: ",") + "]"
    default: return leaf(v)
    }
}

/// Arrays flattened to their leaves (gguf-py's reader flattens nested arrays).
func flatCanon(_ v: MetadataValue) -> String {
    func leaves(_ v: MetadataValue) -> [String] {
        if case .array(_, let items) = v { return items.flatMap(leaves) }
        return [leaf(v)]
    }
    if case .array = v { return "flat:[" + leaves(v).joined(separator: ",") + "]" }
    return leaf(v)
}

func leaf(_ v: MetadataValue) -> String {
    switch v {
    case .uint8(let x): return "u8:\(x)"
    case .int8(let x): return "i8:\(x)"
    case .uint16(let x): return "u16:\(x)"
    case .int16(let x): return "i16:\(x)"
    case .uint32(let x): return "u32:\(x)"
    case .int32(let x): return "i32:\(x)"
    case .uint64(let x): return "u64:\(x)"
    case .int64(let x): return "i64:\(x)"
    case .float32(let x): return "f32:" + String(x.bitPattern, radix: 16)
    case .float64(let x): return "f64:" + String(x.bitPattern, radix: 16)
    case .bool(let b): return "bool:\(b ? 1 : 0)"
    case .string(let s): return "str:" + hex(Array(s.utf8))
    case .array: return canon(v)
    }
}

func hex(_ b: [UInt8]) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var out = [UInt8]()
    out.reserveCapacity(2 * b.count)
    for x in b { out.append(digits[Int(x >> 4)]); out.append(digits[Int(x & 15)]) }
    return String(decoding: out, as: UTF8.self)
}

func floatBytes(_ f: [Float]) -> [UInt8] { f.withUnsafeBytes { Array($0) } }

let pyCanon = """
import sys, numpy as np, gguf
from gguf import GGUFValueType as V, GGMLQuantizationType as T
NAMES = {V.UINT8: 'u8', V.INT8: 'i8', V.UINT16: 'u16', V.INT16: 'i16', V.UINT32: 'u32', V.INT32: 'i32', V.FLOAT32: 'f32',
         V.BOOL: 'bool', V.STRING: 'str', V.ARRAY: 'arr', V.UINT64: 'u64', V.INT64: 'i64', V.FLOAT64: 'f64'}
def leaf(t, v):
    if t == V.STRING: return 'str:' + bytes(v).hex()
    if t == V.FLOAT32: return 'f32:' + format(int(np.float32(v).view(np.uint32)), 'x')
    if t == V.FLOAT64: return 'f64:' + format(int(np.float64(v).view(np.uint64)), 'x')
    if t == V.BOOL: return 'bool:' + ('1' if v else '0')
    return NAMES[t] + ':' + str(int(v))
"""

@Suite struct InteropTests {
    /// Every metadata kind, nested arrays included.
    static let allMetadata = Metadata([
        MetadataEntry("general.architecture", .string("gpt1")),
        MetadataEntry("t.u8", .uint8(250)), MetadataEntry("t.i8", .int8(-120)),
        MetadataEntry("t.u16", .uint16(65000)), MetadataEntry("t.i16", .int16(-32000)),
        MetadataEntry("t.u32", .uint32(4_000_000_000)), MetadataEntry("t.i32", .int32(-2_000_000_000)),
        MetadataEntry("t.u64", .uint64(UInt64.max)), MetadataEntry("t.i64", .int64(Int64.min)),
        MetadataEntry("t.f32", .float32(-1.5e-7)), MetadataEntry("t.f64", .float64(3.141592653589793)),
        MetadataEntry("t.bool", .bool(true)), MetadataEntry("t.false", .bool(false)),
        MetadataEntry("t.str", .string("héllo, 世界 \u{1F600}")), MetadataEntry("t.empty_str", .string("")),
        MetadataEntry("t.arr_u8", .array(.uint8, [.uint8(0), .uint8(255)])),
        MetadataEntry("t.arr_i8", .array(.int8, [.int8(-128), .int8(127)])),
        MetadataEntry("t.arr_u16", .array(.uint16, [.uint16(1), .uint16(65535)])),
        MetadataEntry("t.arr_i16", .array(.int16, [.int16(-32768)])),
        MetadataEntry("t.arr_u32", .array(.uint32, [.uint32(7), .uint32(8), .uint32(9)])),
        MetadataEntry("t.arr_i32", .array(.int32, [.int32(-1), .int32(1)])),
        MetadataEntry("t.arr_u64", .array(.uint64, [.uint64(1 << 40)])),
        MetadataEntry("t.arr_i64", .array(.int64, [.int64(-(1 << 40))])),
        MetadataEntry("t.arr_f32", .array(.float32, [.float32(0.1), .float32(-0), .float32(.infinity)])),
        MetadataEntry("t.arr_f64", .array(.float64, [.float64(1e300), .float64(-2.5)])),
        MetadataEntry("t.arr_bool", .array(.bool, [.bool(true), .bool(false), .bool(true)])),
        MetadataEntry("t.arr_str", .array(.string, [.string("a"), .string(""), .string("ü")])),
        MetadataEntry("t.nested", .array(.array, [.array(.int32, [.int32(1), .int32(2)]), .array(.int32, [.int32(3)])])),
        MetadataEntry("t.nested3", .array(.array, [.array(.array, [.array(.uint8, [.uint8(5)])])])),
    ])

    /// Tensors of every dtype WeightKit writes, with random bytes (valid float16 scales).
    static func entries(seed: UInt64) throws -> [TensorEntry] {
        var rng = SplitMix(seed: seed)
        var out: [TensorEntry] = []
        let plain: [DType] = [.f32, .f16, .bf16, .f64, .i8, .i16, .i32, .i64]
        let blocks: [DType] = [.q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q2_k, .q3_k, .q4_k, .q5_k, .q6_k,
                               .iq2_xxs, .iq2_xs, .iq3_xxs, .iq1_s, .iq4_nl, .iq3_s, .iq2_s, .iq4_xs, .iq1_m, .tq1_0, .tq2_0, .mxfp4]
        for (i, d) in (plain + blocks).enumerated() {
            let shape = d.isQuantized ? [2, 3, 2 * d.blockSize] : (i % 2 == 0 ? [3, 5] : [2, 3, 4])
            let n = shape.reduce(1, *)
            var bytes: [UInt8]
            switch d {
            case .f32: bytes = floatBytes((0..<n).map { _ in Float(rng.normal()) })
            case .f64: bytes = (0..<n).flatMap { _ in withUnsafeBytes(of: rng.normal().bitPattern.littleEndian) { Array($0) } }
            case .f16, .bf16: bytes = (0..<n).flatMap { _ -> [UInt8] in
                let h = d == .f16 ? Narrow.half(Float(rng.normal())) : Narrow.bfloat(Float(rng.normal()))
                return [UInt8(h & 0xFF), UInt8(h >> 8)] }
            default:
                bytes = (0..<d.byteCount(elements: n)!).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
                fixScales(&bytes, d, &rng)
            }
            let data = TensorData(bytes: bytes)
            out.append(try TensorEntry(name: "w.\(d.rawValue)", dtype: d, shape: shape) { data })
        }
        return out
    }

    /// Replaces a block type's float16 scale fields with finite values.
    static func fixScales(_ b: inout [UInt8], _ d: DType, _ rng: inout SplitMix) {
        let offs: [Int]
        switch d {
        case .q4_0, .q5_0, .q8_0, .iq4_nl, .iq2_xxs, .iq2_xs, .iq3_xxs, .iq1_s, .iq3_s, .iq2_s: offs = [0]
        case .q4_1, .q5_1, .q4_k, .q5_k, .iq4_xs: offs = [0, 2]
        case .q2_k: offs = [80, 82]
        case .q3_k: offs = [108]
        case .q6_k: offs = [208]
        case .tq1_0: offs = [52]
        case .tq2_0: offs = [64]
        default: offs = []
        }
        for blk in 0..<(b.count / d.blockBytes) {
            for o in offs {
                let h = Narrow.half(Float(rng.normal() * 0.05))
                b[blk * d.blockBytes + o] = UInt8(h & 0xFF)
                b[blk * d.blockBytes + o + 1] = UInt8(h >> 8)
            }
        }
    }

    @Test(arguments: [32, 64, 1])
    func writerReaderRoundTrip(alignment: Int) throws {
        let dir = RepoPaths.temporaryDirectory("wk-rt")
        let path = dir + "/rt.gguf"
        let entries = try Self.entries(seed: UInt64(alignment))
        try GGUFWriter.write(to: path, metadata: Self.allMetadata, tensors: entries, alignment: alignment)
        let f = try GGUFFile.open(path: path)
        #expect(f.version == 3)
        #expect(f.alignment == alignment)
        #expect(f.warnings.isEmpty)
        var want = Self.allMetadata
        if alignment != 32 { want["general.alignment"] = .uint32(UInt32(alignment)) }
        #expect(f.metadata.keys == want.keys)
        for (a, b) in zip(f.metadata.entries, want.entries) { #expect(canon(a.value) == canon(b.value), "\(a.key)") }
        #expect(f.tensors.count == entries.count)
        for (t, e) in zip(f.tensors, entries) {
            #expect(t.name == e.name && t.dtype == e.dtype && t.shape == e.shape)
            #expect(t.data.bytes == (try e.bytes().bytes), "\(t.name) bytes")
            #expect(t.data.offset % alignment == 0)
        }
        #expect(f.tensorInfos.first { $0.name == "w.q4_k" }?.dims == [512, 3, 2])
        // Nothing but the file itself is left in the folder.
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["rt.gguf"])
    }

    @Test func writerRefusesWhatGGUFCannotHoldAndLeavesNothing() throws {
        let dir = RepoPaths.temporaryDirectory("wk-wr")
        let path = dir + "/bad.gguf"
        let ok = try TensorEntry(name: "a", dtype: .f32, shape: [2]) { TensorData(bytes: [UInt8](repeating: 0, count: 8)) }
        func attempt(_ tensors: [TensorEntry], _ md: Metadata = Metadata(), alignment: Int = 32) -> String {
            do { try GGUFWriter.write(to: path, metadata: md, tensors: tensors, alignment: alignment); return "wrote" } catch { return "\(error)" }
        }
        let long = try TensorEntry(name: String(repeating: "x", count: 64), dtype: .f32, shape: [2]) { TensorData(bytes: [UInt8](repeating: 0, count: 8)) }
        #expect(attempt([long]).contains("name is 64 bytes; ggml allows at most 63"))
        #expect(attempt([ok, ok]) == "\(path): tensor 'a': duplicate tensor name")
        let u8 = try TensorEntry(name: "u", dtype: .u8, shape: [2]) { TensorData(bytes: [1, 2]) }
        #expect(attempt([u8]).contains("dtype u8 has no ggml type"))
        let five = try TensorEntry(name: "f", dtype: .f32, shape: [1, 1, 1, 1, 2]) { TensorData(bytes: [UInt8](repeating: 0, count: 8)) }
        #expect(attempt([five]).contains("ggml allows at most 4"))
        #expect(attempt([ok], alignment: 48).contains("48 is not a power of two"))
        #expect(attempt([ok], Metadata([MetadataEntry("k", .uint8(1)), MetadataEntry("k", .uint8(2))])).contains("metadata 'k': duplicate key"))
        #expect(attempt([ok], Metadata([MetadataEntry("k", .array(.uint8, [.int8(1)]))])).contains("array declared as u8 holds a i8 element"))
        // A tensor whose bytes fail to come: the error passes through and no file is left.
        let failing = try TensorEntry(name: "b", dtype: .f32, shape: [2]) { throw TensorCoreError("source vanished") }
        #expect(attempt([ok, failing]) == "source vanished")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty)
        // overwrite: false keeps an existing file.
        try GGUFWriter.write(to: path, metadata: Metadata(), tensors: [ok])
        #expect(throws: TensorCoreError.self) { try GGUFWriter.write(to: path, metadata: Metadata(), tensors: [ok], overwrite: false) }
    }

    @Test func ggufPyReadsWhatWeightKitWrites() throws {
        let dir = RepoPaths.temporaryDirectory("wk-py")
        for alignment in [32, 64] {
            let path = dir + "/wk\(alignment).gguf"
            let entries = try Self.entries(seed: 99 + UInt64(alignment))
            try GGUFWriter.write(to: path, metadata: Self.allMetadata, tensors: entries, alignment: alignment)
            let out = try Python.check(pyCanon + "\n" + """
            from gguf.quants import dequantize
            r = gguf.GGUFReader(sys.argv[1])
            print('alignment', r.alignment)
            for k, f in r.fields.items():
                if k.startswith('GGUF.'): continue
                if f.types[0] == V.ARRAY:
                    lt = f.types[-1] if len(f.types) > 1 else None
                    print('meta', k, 'flat:[' + ','.join(leaf(lt, f.parts[i] if lt == V.STRING else f.parts[i][0]) for i in f.data) + ']')
                else:
                    print('meta', k, leaf(f.types[0], f.parts[-1] if f.types[0] == V.STRING else f.parts[-1][0]))
            for t in r.tensors:
                raw = np.ascontiguousarray(t.data).view(np.uint8).tobytes()
                tt = t.tensor_type
                if tt in (T.F64, T.I8, T.I16, T.I32, T.I64): vals = t.data.astype(np.float32).tobytes().hex()
                elif tt in (T.F32, T.F16, T.BF16, T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1, T.Q8_0, T.Q2_K, T.Q3_K, T.Q4_K, T.Q5_K, T.Q6_K):
                    vals = np.asarray(dequantize(np.ascontiguousarray(t.data), tt), dtype=np.float32).tobytes().hex()
                else: vals = '-'   # IQ*, TQ*, MXFP4: WeightKit does not decode them
                print('tensor', t.name, int(t.tensor_type), ','.join(str(int(d)) for d in reversed(t.shape.tolist())), raw.hex(), vals)
            """, [path])
            var lines = out.split(separator: "\n").map(String.init)
            #expect(lines.removeFirst() == "alignment \(alignment)")
            var want: [String] = []
            var md = Self.allMetadata
            if alignment != 32 { md["general.alignment"] = .uint32(UInt32(alignment)) }
            for e in md.entries { want.append("meta \(e.key) \(flatCanon(e.value))") }
            for e in entries {
                let t = try e.load()
                let type = GGMLType.forDType(e.dtype)!
                let vals = GGMLQuants.decodable.contains(e.dtype) || !e.dtype.isQuantized ? hex(floatBytes(try t.floats())) : "-"
                want.append("tensor \(e.name) \(type.id) \(e.shape.map(String.init).joined(separator: ",")) \(hex(t.data.bytes)) \(vals)")
            }
            #expect(lines.count == want.count)
            for (got, w) in zip(lines, want) { #expect(got == w, "gguf-py: \(got.prefix(160))\nWeightKit: \(w.prefix(160))") }
        }
    }

    @Test func weightKitReadsWhatGGUFPyWrites() throws {
        let dir = RepoPaths.temporaryDirectory("wk-pyw")
        let out = try Python.check(pyCanon + "\n" + """
        from gguf.quants import quantize, dequantize
        import warnings; warnings.simplefilter('ignore')
        d = sys.argv[1]
        rng = np.random.default_rng(7)
        w = gguf.GGUFWriter(d + '/py.gguf', 'llama')
        md = [('t.u8', V.UINT8, 200), ('t.i8', V.INT8, -100), ('t.u16', V.UINT16, 60000), ('t.i16', V.INT16, -30000),
              ('t.u32', V.UINT32, 3000000000), ('t.i32', V.INT32, -7), ('t.f32', V.FLOAT32, 0.3), ('t.bool', V.BOOL, True),
              ('t.str', V.STRING, 'ünïcödé'), ('t.u64', V.UINT64, 2**64 - 1), ('t.i64', V.INT64, -2**63), ('t.f64', V.FLOAT64, 0.1)]
        print('meta general.architecture', leaf(V.STRING, b'llama'))
        for k, t, v in md:
            w.add_key_value(k, v, t)
            print('meta', k, leaf(t, v.encode() if t == V.STRING else v))
        arrays = [('a.u8', V.UINT8, [1, 2, 3]), ('a.i16', V.INT16, [-5, 5]), ('a.f32', V.FLOAT32, [0.5, -0.25, 1e-30]),
                  ('a.f64', V.FLOAT64, [1.0, 2.0]), ('a.bool', V.BOOL, [True, False]), ('a.i64', V.INT64, [-1]),
                  ('a.str', V.STRING, ['x', 'yy', 'ζ'])]
        for k, t, v in arrays:
            w.add_key_value(k, v, V.ARRAY, sub_type=t)
            print('meta', k, 'arr:' + NAMES[t] + ':[' + ','.join(leaf(t, x.encode() if t == V.STRING else x) for x in v) + ']')
        w.add_array('a.nested', [[1, 2], [3]])
        print('meta a.nested arr:arr:[arr:i32:[i32:1,i32:2],arr:i32:[i32:3]]')
        plain = {'f32': np.float32, 'f16': np.float16, 'f64': np.float64, 'i8': np.int8, 'i16': np.int16, 'i32': np.int32, 'i64': np.int64}
        for name, dt in plain.items():
            a = (rng.standard_normal((3, 4, 8)) * 50).astype(dt)
            w.add_tensor('p.' + name, a)
            a.tofile(f'{d}/p.{name}.raw'); a.astype(np.float32).tofile(f'{d}/p.{name}.f32')
            print('tensor', 'p.' + name, '3,4,8')
        x = rng.standard_normal((4, 256)).astype(np.float32)
        for t in [T.BF16, T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1, T.Q8_0, T.TQ1_0, T.TQ2_0, T.MXFP4]:
            q = quantize(x, t)
            w.add_tensor('q.' + t.name.lower(), q, raw_dtype=t)
            q.tofile(f'{d}/q.{t.name.lower()}.raw'); dequantize(q, t).astype(np.float32).tofile(f'{d}/q.{t.name.lower()}.f32')
            print('tensor', 'q.' + t.name.lower(), '4,256')
        for t in [T.Q2_K, T.Q3_K, T.Q4_K, T.Q5_K, T.Q6_K, T.IQ2_XXS, T.IQ4_XS]:
            bs, ts = gguf.GGML_QUANT_SIZES[t]
            raw = rng.integers(0, 256, (2, 2 * ts), dtype=np.uint8)
            off = {T.Q2_K: [80, 82], T.Q3_K: [108], T.Q4_K: [0, 2], T.Q5_K: [0, 2], T.Q6_K: [208], T.IQ2_XXS: [0], T.IQ4_XS: [0, 2]}[t]
            blocks = raw.reshape(-1, ts)
            for o in off: blocks[:, o:o+2] = (rng.standard_normal((blocks.shape[0], 1)) * 0.05).astype(np.float16).view(np.uint8)
            raw = blocks.reshape(2, 2 * ts)
            w.add_tensor('k.' + t.name.lower(), raw, raw_dtype=t)
            raw.tofile(f'{d}/k.{t.name.lower()}.raw'); dequantize(raw, t).astype(np.float32).tofile(f'{d}/k.{t.name.lower()}.f32')
            print('tensor', 'k.' + t.name.lower(), '2,512')
        w.write_header_to_file(); w.write_kv_data_to_file(); w.write_tensors_to_file(); w.close()
        """, [dir])
        let f = try GGUFFile.open(path: dir + "/py.gguf")
        #expect(f.warnings.isEmpty)
        var tensorsSeen = 0
        for line in out.split(separator: "\n") {
            let parts = line.split(separator: " ").map(String.init)
            if parts[0] == "meta" {
                let v = f.metadata[parts[1]]
                #expect(v.map(canon) == parts[2], "\(parts[1])")
            } else {
                tensorsSeen += 1
                guard let t = f.tensors.first(where: { $0.name == parts[1] }) else {
                    Issue.record("missing tensor \(parts[1])")
                    continue
                }
                #expect(t.shape.map(String.init).joined(separator: ",") == parts[2], "\(t.name) shape \(t.shape)")
                #expect(t.data.bytes == (try readBytes("\(dir)/\(t.name).raw")), "\(t.name) bytes")
                if GGMLQuants.decodable.contains(t.dtype) || !t.dtype.isQuantized {
                    let want = try readFloats("\(dir)/\(t.name).f32")
                    let bad = firstBitMismatch(try t.floats(), want)
                    #expect(bad == nil, "\(t.name) value \(bad ?? 0)")
                } else {
                    #expect(throws: TensorCoreError.self) { try t.floats() }
                }
            }
        }
        #expect(tensorsSeen == f.tensors.count)
        #expect(f.metadata.entries.count == out.split(separator: "\n").filter { $0.hasPrefix("meta") }.count)
    }
}

/// A small deterministic generator for test data.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Roughly normal (sum of uniforms).
    mutating func normal() -> Double {
        var s = 0.0
        for _ in 0..<4 { s += Double(next() >> 11) / Double(1 << 53) }
        return (s - 2) * 1.7
    }
}
