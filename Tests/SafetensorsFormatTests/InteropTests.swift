import Foundation
import Testing
import TestSupport
@testable import SafetensorsFormat
@testable import TensorCore

/// Interop with the real Python `safetensors` package, both ways.
@Suite("safetensors interop with the Python package")
struct InteropTests {
    @Test("files the Python package writes are read bit-exactly", arguments: [true, false])
    func readsPython(withMetadata: Bool) throws {
        let dir = RepoPaths.temporaryDirectory("st-py")
        let path = dir + "/py.safetensors"
        // Python writes random tensors of every numpy dtype and prints name, dtype, shape, hex bytes.
        let out = try Python.check("""
            import sys, json, numpy as np
            from safetensors.numpy import save_file
            rng = np.random.default_rng(5)
            d = {
              "f64": rng.standard_normal((3, 2)), "f32": rng.standard_normal((4, 5)).astype(np.float32),
              "f16": rng.standard_normal((7,)).astype(np.float16), "i64": rng.integers(-2**62, 2**62, (3,)),
              "i32": rng.integers(-2**31, 2**31 - 1, (2, 2), dtype=np.int32), "i16": rng.integers(-9999, 9999, (5,), dtype=np.int16),
              "i8": rng.integers(-128, 127, (3, 3), dtype=np.int8), "u8": rng.integers(0, 255, (9,), dtype=np.uint8),
              "u16": rng.integers(0, 65535, (2,), dtype=np.uint16), "u32": rng.integers(0, 2**32 - 1, (2,), dtype=np.uint32),
              "u64": rng.integers(0, 2**63, (2,), dtype=np.uint64), "bool": rng.integers(0, 2, (6,)).astype(bool),
              "scalar": np.array(2.5, dtype=np.float32), "empty": np.zeros((0, 3), dtype=np.float32),
              "model.layers.0.self_attn.q_proj.weight": rng.standard_normal((8, 8)).astype(np.float32),
            }
            meta = {"format": "pt", "note": "é ✓"} if sys.argv[2] == "1" else None
            save_file(d, sys.argv[1], metadata=meta)
            print(json.dumps({k: [str(v.dtype), list(v.shape), np.ascontiguousarray(v).tobytes().hex()] for k, v in d.items()}))
            """, [path, withMetadata ? "1" : "0"])
        let want = try JSONParser.parse(out)
        let f = try SafetensorsFile.open(path: path)
        let names: [String: DType] = [
            "float64": .f64, "float32": .f32, "float16": .f16, "int64": .i64, "int32": .i32, "int16": .i16, "int8": .i8,
            "uint8": .u8, "uint16": .u16, "uint32": .u32, "uint64": .u64, "bool": .bool,
        ]
        #expect(f.tensors.count == want.object!.count)
        for (name, v) in want.object! {
            let t = try #require(f[name], "\(name) missing")
            #expect(t.dtype == names[v.array![0].string!])
            #expect(t.shape == v.array![1].array!.compactMap(\.int))
            #expect(t.data.bytes.map { String(format: "%02x", $0) }.joined() == v.array![2].string!, "bytes of \(name)")
        }
        if withMetadata {
            #expect(f.metadata["format"] == .string("pt"))
            #expect(f.metadata["note"] == .string("é ✓"))
        } else {
            #expect(f.metadata.isEmpty)
        }
    }

    @Test("files WeightKit writes are read bit-exactly by the Python package, and match its own bytes")
    func pythonReadsOurs() throws {
        let dir = RepoPaths.temporaryDirectory("st-py")
        let ours = dir + "/ours.safetensors"
        var g = SplitMix(11)
        func tensor(_ name: String, _ dtype: DType, _ shape: [Int]) throws -> Tensor {
            let n = shape.reduce(1, *) * dtype.blockBytes
            let bytes = (0..<n).map { _ in dtype == .bool ? UInt8(g.next() & 1) : UInt8(truncatingIfNeeded: g.next() >> 3) }
            return try Tensor(name: name, dtype: dtype, shape: shape, data: TensorData(bytes: bytes))
        }
        let tensors = [
            try tensor("w.f64", .f64, [2, 3]), try tensor("w.f32", .f32, [3, 3]), try tensor("w.f16", .f16, [5]),
            try tensor("w.i64", .i64, [2]), try tensor("w.i32", .i32, [4]), try tensor("w.i16", .i16, [3]), try tensor("w.i8", .i8, [3]),
            try tensor("w.u8", .u8, [7]), try tensor("w.bool", .bool, [3]), try tensor("a.scalar", .f32, []),
            try tensor("z.empty", .f32, [0, 2]), try tensor("w.u16", .u16, [2]), try tensor("w.u32", .u32, [2]), try tensor("w.u64", .u64, [2]),
        ]
        try SafetensorsWriter.write(to: ours, metadata: [("format", "pt")], tensors: tensors)
        // Python reads our file, re-saves the same dict with its own writer, and reports both.
        let out = try Python.check("""
            import sys, json, numpy as np
            from safetensors import safe_open
            from safetensors.numpy import save
            d = {}
            with safe_open(sys.argv[1], framework="np") as f:
                meta = f.metadata()
                for k in f.keys(): d[k] = f.get_tensor(k)
            same = save(d, metadata=meta) == open(sys.argv[1], "rb").read()
            print(json.dumps({"meta": meta, "same_bytes": same, "tensors": {k: [str(v.dtype), list(v.shape), np.ascontiguousarray(v).tobytes().hex()] for k, v in d.items()}}))
            """, [ours])
        let r = try JSONParser.parse(out)
        #expect(r["meta"]?["format"]?.string == "pt")
        #expect(r["same_bytes"]?.bool == true, "the reference writer produces the same file bytes")
        for t in tensors {
            let v = try #require(r["tensors"]?[t.name]?.array, "\(t.name) missing in Python")
            #expect(v[1].array!.compactMap(\.int) == t.shape)
            #expect(v[2].string! == t.data.bytes.map { String(format: "%02x", $0) }.joined(), "bytes of \(t.name)")
        }
    }
}
