// verify's default tolerance follows the weights' stored dtype and the reference's compute dtype
// (Formats/reference-activations.md, "Default tolerances"). The fixtures are Fixtures/stored_dtypes.py's:
// one LLaMA stored as bf16 safetensors, f16/Q8_0/Q4_0 GGUFs written by gguf-py and a Q4_K_M GGUF made by
// llama.cpp's llama-quantize, each with transformers' activations for exactly the weights it stores.
import Foundation
import TestSupport
import Testing
import WeightKit

@Suite("verify's dtype-derived tolerances")
struct ToleranceCLITests {
    func wk(_ args: [String]) throws -> ProcessResult { try Subprocess.run([CLITests.binary] + args) }

    /// (model, its reference, the weights' dtypes as the header names them)
    static let cases: [(String, String, String)] = [
        ("llama-dtypes", "llama-dtypes/reference.safetensors", "bf16"),
        ("llama-dtypes/model-f16.gguf", "llama-dtypes/reference-f16.safetensors", "f16"),
        ("llama-dtypes/model-q8_0.gguf", "llama-dtypes/reference-q8_0.safetensors", "q8_0"),
        ("llama-dtypes/model-q4_0.gguf", "llama-dtypes/reference-q4_0.safetensors", "q4_0"),
        ("llama-kquant/model-q4_k_m.gguf", "llama-kquant/reference.safetensors", "q4_k+q6_k"),
    ]

    /// Changes one weight of blk.1.ffn_down (layers.1.mlp.down_proj) a little, in the file's own encoding:
    /// bf16/f16 by 2% of its row's largest |w|, Q8_0 by two quantization steps, Q4_0 and Q6_K by one.
    /// Prints the old and new value (gguf-py's dequantization) as JSON.
    static let alter = """
import json, shutil, struct, sys
import numpy as np
import gguf
src, dst, how = sys.argv[1], sys.argv[2], sys.argv[3]
shutil.copyfile(src, dst)
if dst.endswith(".safetensors"):  # bf16: one element of layers.1 down_proj, + 2% of the row's largest |w|
    b = bytearray(open(dst, "rb").read())
    n = int.from_bytes(b[:8], "little"); h = json.loads(b[8:8 + n])
    e = h["model.layers.1.mlp.down_proj.weight"]; assert e["dtype"] == "BF16"
    cols = e["shape"][1]; off = 8 + n + e["data_offsets"][0]
    row = np.frombuffer(bytes(b[off:off + 2 * cols]), dtype=np.uint16).astype(np.uint32) << 16
    w = row.view(np.float32)
    v = np.float32(w[0] + 0.02 * np.abs(w).max())
    u = int(np.array([v], dtype=np.float32).view(np.uint32)[0])
    u = (u + 0x7FFF + ((u >> 16) & 1)) >> 16
    b[off:off + 2] = struct.pack("<H", u)
    open(dst, "wb").write(bytes(b))
    print(json.dumps({"old": float(w[0]), "new": float(np.uint32(u << 16).view(np.float32))}))
else:
    r = gguf.GGUFReader(dst, "r+")
    t = next(t for t in r.tensors if t.name == "blk.1.ffn_down.weight")
    d = t.data
    kind = t.tensor_type.name
    if kind == "F16":
        row = d[0].astype(np.float32)
        old = float(row[0]); d[0, 0] = np.float16(row[0] + 0.02 * np.abs(row).max()); new = float(d[0, 0])
    else:
        before = gguf.quants.dequantize(np.array(d[0]), t.tensor_type).ravel()
        if kind == "Q8_0":    # +2 steps of quant 0 in block 0 (34-byte blocks: f16 d, 32 int8)
            q = np.int8(d[0, 2].view(np.int8)); d[0, 2] = np.uint8(np.int8(q + 2 if q < 126 else q - 2).view(np.uint8))
        elif kind == "Q4_0":  # one step of element 0 (18-byte blocks: f16 d, 16 bytes of nibbles)
            lo = d[0, 2] & 15; d[0, 2] = (d[0, 2] & 0xF0) | (lo + 1 if lo < 15 else lo - 1)
        elif kind == "Q6_K":  # one step of element 0 (ql[0] low nibble)
            lo = d[0, 0] & 15; d[0, 0] = (d[0, 0] & 0xF0) | (lo + 1 if lo < 15 else lo - 1)
        else:
            raise SystemExit(kind)
        after = gguf.quants.dequantize(np.array(d[0]), t.tensor_type).ravel()
        old, new = float(before[0]), float(after[0])
        assert np.count_nonzero(before != after) == 1
    r.data.flush()
    print(json.dumps({"kind": kind, "old": old, "new": new}))
"""

    /// A copy of `model` (a directory: its config.json and model.safetensors) with one weight changed.
    func altered(_ model: String, in dir: String) throws -> String {
        let src = Fixtures.path(model)
        var isDir: ObjCBool = false
        FileManager.default.fileExists(atPath: src, isDirectory: &isDir)
        if isDir.boolValue {
            try FileManager.default.copyItem(atPath: src + "/config.json", toPath: dir + "/config.json")
            try Python.check(Self.alter, [src + "/model.safetensors", dir + "/model.safetensors", "one"])
            return dir
        }
        let out = dir + "/" + (src as NSString).lastPathComponent
        try Python.check(Self.alter, [src, out, "one"])
        return out
    }

    @Test("each stored dtype passes against transformers' activations for its dequantized weights, with the default tolerance named in the header and the JSON",
          arguments: cases)
    func passes(_ model: String, _ reference: String, _ weights: String) throws {
        let r = try wk(["verify", Fixtures.path(model), "--reference", Fixtures.path(reference)])
        #expect(r.status == 0, "\(model): \(r.stdout)\(r.stderr)")
        #expect(r.stdout.contains("tolerance: atol 0.0001, rtol 0.0001, + "), "\(r.stdout)")
        #expect(r.stdout.contains("(default for \(weights) weights, reference computed in float32: "), "\(r.stdout)")
        let j = try JSONParser.parse(try wk(["verify", Fixtures.path(model), "--reference", Fixtures.path(reference), "--json"]).stdout)
        let t = j["tolerance"]
        #expect(t?["default"]?.bool == true && t?["weights"]?.string == weights && t?["reference_compute"]?.string == "float32")
        // s = 8·2⁻²⁴·√inner (inner 128 or 256): float32 reordering only
        let inner: Double = model.hasPrefix("llama-kquant") ? 256 : 128
        let s = t?["scale"]?.double ?? 0
        #expect(abs(s - 8 * 0x1p-24 * inner.squareRoot()) < 1e-9, "scale \(s)")
        #expect(j["top1_agreement"]?["agree"]?.int == 8)
    }

    @Test("one weight changed a little fails with the default, first at hidden_states.2", arguments: cases)
    func alteredFails(_ model: String, _ reference: String, _ weights: String) throws {
        let dir = RepoPaths.temporaryDirectory("alt")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let m = try altered(model, in: dir)
        let r = try wk(["verify", m, "--reference", Fixtures.path(reference), "--json"])
        #expect(r.status == 1, "\(model): \(r.stdout)\(r.stderr)")
        let j = try JSONParser.parse(r.stdout)
        #expect(j["first_failure"]?.string == "hidden_states.2", "\(model): \(r.stdout)")
        #expect(j["tolerance"]?["default"]?.bool == true)
    }

    @Test("a reference computed in bfloat16 gets bf16's bound; without its dtype attribute the float32 default fails it")
    func bf16Compute() throws {
        let ref = Fixtures.path("llama-dtypes", "reference-bf16.safetensors")
        let r = try wk(["verify", Fixtures.path("llama-dtypes"), "--reference", ref, "--json"])
        #expect(r.status == 0, "\(r.stdout + r.stderr)")
        let j = try JSONParser.parse(r.stdout)
        #expect(j["tolerance"]?["reference_compute"]?.string == "bfloat16")
        let s = j["tolerance"]?["scale"]?.double ?? 0
        #expect(abs(s - (32 * 0x1p-8 + 8 * 0x1p-24 * 128.0.squareRoot())) < 1e-6, "scale \(s)")
        let text = try wk(["verify", Fixtures.path("llama-dtypes"), "--reference", ref]).stdout
        #expect(text.contains("reference computed in bfloat16"), "\(text)")

        // The same file without `dtype` in its metadata: the float32 default, which bf16's rounding exceeds.
        let dir = RepoPaths.temporaryDirectory("bf16ref")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Python.check("""
            import sys
            from safetensors.numpy import load_file, save_file
            from safetensors import safe_open
            with safe_open(sys.argv[1], "np") as f:
                md = dict(f.metadata())
            del md["dtype"]
            save_file(load_file(sys.argv[1]), sys.argv[2], metadata=md)
            """, [ref, dir + "/r.safetensors"])
        let plain = try wk(["verify", Fixtures.path("llama-dtypes"), "--reference", dir + "/r.safetensors", "--json"])
        #expect(plain.status == 1)
        let p = try JSONParser.parse(plain.stdout)
        #expect(p["tolerance"]?["reference_compute"]?.string == "float32")
        #expect(p["first_failure"]?.string == "attentions.0" || p["first_failure"]?.string == "hidden_states.1", "\(plain.stdout)")

        // Two rows of layers.1's o_proj swapped (a conversion bug) is far outside bf16's bound.
        try FileManager.default.copyItem(atPath: Fixtures.path("llama-dtypes", "config.json"), toPath: dir + "/config.json")
        try Python.check("""
            import sys, json
            b = bytearray(open(sys.argv[1], "rb").read())
            n = int.from_bytes(b[:8], "little"); e = json.loads(b[8:8 + n])["model.layers.1.self_attn.o_proj.weight"]
            cols = e["shape"][1]; o = 8 + n + e["data_offsets"][0]
            r0, r1 = bytes(b[o:o + 2 * cols]), bytes(b[o + 2 * cols:o + 4 * cols])
            b[o:o + 2 * cols], b[o + 2 * cols:o + 4 * cols] = r1, r0
            open(sys.argv[2], "wb").write(bytes(b))
            """, [Fixtures.path("llama-dtypes", "model.safetensors"), dir + "/model.safetensors"])
        let swapped = try wk(["verify", dir, "--reference", ref, "--json"])
        #expect(swapped.status == 1, "\(swapped.stdout)")
        #expect(try JSONParser.parse(swapped.stdout)["first_failure"]?.string == "hidden_states.2", "\(swapped.stdout)")
    }

    @Test("--atol/--rtol override the default, say so, and compare exactly |got − ref| ≤ atol + rtol·|ref|")
    func override() throws {
        let ref = Fixtures.path("llama-dtypes", "reference-bf16.safetensors")
        let r = try wk(["verify", Fixtures.path("llama-dtypes"), "--reference", ref, "--atol", "1e-4", "--rtol", "1e-4"])
        #expect(r.status == 1, "\(r.stdout)")
        #expect(r.stdout.contains("tolerance: atol 0.0001, rtol 0.0001 (given by --atol/--rtol; overrides the default)"), "\(r.stdout)")
        let j = try JSONParser.parse(try wk(["verify", Fixtures.path("llama-dtypes"), "--reference", ref, "--atol", "0.5", "--json"]).stdout)
        #expect(j["tolerance"]?["default"]?.bool == false && j["tolerance"]?["scale"]?.double == 0)
        #expect(abs((j["atol"]?.double ?? 0) - 0.5) < 1e-9 && abs((j["rtol"]?.double ?? 0) - 1e-4) < 1e-9)
    }

    @Test("float32 weights against a float32 reference: atol = rtol = 1e-4 and nothing else, as before")
    func float32Unchanged() throws {
        let r = try wk(["verify", Fixtures.path("gpt2-tiny"), "--reference", Fixtures.path("gpt2-tiny", "reference.safetensors"), "--json"])
        #expect(r.status == 0)
        let t = try JSONParser.parse(r.stdout)["tolerance"]
        #expect(t?["scale"]?.double == 0 && t?["weights"]?.string == "f32" && t?["default"]?.bool == true)
        #expect(abs((t?["atol"]?.double ?? 0) - 1e-4) < 1e-9 && abs((t?["rtol"]?.double ?? 0) - 1e-4) < 1e-9)
    }

    @Test("a reference whose dtype attribute names no float type is refused: one line, exit 2")
    func badComputeDtype() throws {
        let dir = RepoPaths.temporaryDirectory("badref")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Python.check("""
            import sys
            from safetensors.numpy import load_file, save_file
            save_file(load_file(sys.argv[1]), sys.argv[2], metadata={"dtype": "int3"})
            """, [Fixtures.path("llama-dtypes", "reference.safetensors"), dir + "/r.safetensors"])
        let r = try wk(["verify", Fixtures.path("llama-dtypes"), "--reference", dir + "/r.safetensors"])
        #expect(r.status == 2)
        #expect(r.stdout.isEmpty)
        #expect(r.stderr.contains("r.safetensors") && r.stderr.contains("int3") && r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
    }

    @Test("a one-token reference of Q8_0/Q4_0 weights: the 8-bit activations' term is added, and needed",
          arguments: [("llama-dtypes/model-q8_0.gguf", "llama-dtypes/reference-q8_0.safetensors"),
                      ("llama-dtypes/model-q4_0.gguf", "llama-dtypes/reference-q4_0.safetensors")])
    func oneToken(_ model: String, _ reference: String) throws {
        let dir = RepoPaths.temporaryDirectory("one")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // Position 0 of transformers' 8-token reference is what it computes for that token alone (causal).
        try Python.check("""
            import sys
            from safetensors.numpy import load_file, save_file
            from safetensors import safe_open
            with safe_open(sys.argv[1], "np") as f:
                md = dict(f.metadata())
            t = load_file(sys.argv[1])
            one = {k: (v[:, :, :1, :1] if k.startswith("attentions.") else v[:, :1]).copy() for k, v in t.items()}
            save_file(one, sys.argv[2], metadata=md)
            """, [Fixtures.path(reference), dir + "/one.safetensors"])
        let args = ["verify", Fixtures.path(model), "--reference", dir + "/one.safetensors", "--json"]
        let r = try wk(args)
        #expect(r.status == 0, "\(r.stdout)")
        let t = try JSONParser.parse(r.stdout)["tolerance"]
        #expect(abs((t?["scale"]?.double ?? 0) - (48 * 0x1p-8 + 8 * 0x1p-24 * 128.0.squareRoot())) < 1e-6, "\(r.stdout)")
        #expect(t?["reason"]?.string?.contains("round activations to int8") == true)
        // The float32 bound alone does not hold for the 8-bit kernels …
        let strict = try wk(["verify", Fixtures.path(model), "--reference", dir + "/one.safetensors", "--atol", "1e-4", "--rtol", "1e-4"])
        #expect(strict.status == 1, "\(strict.stdout)")
        // … and with float32 activations the default has no such term and passes.
        var env = ProcessInfo.processInfo.environment
        env["WEIGHTKIT_F32_ACTIVATIONS"] = "1"
        let f = try Subprocess.run([CLITests.binary] + args, environment: env)
        #expect(f.status == 0, "\(f.stdout)")
        #expect(abs((try JSONParser.parse(f.stdout)["tolerance"]?["scale"]?.double ?? 1) - 8 * 0x1p-24 * 128.0.squareRoot()) < 1e-9)
    }

    @Test("an infinite value in a reference tensor does not widen the bound of its other elements")
    func infiniteReference() throws {
        let dir = RepoPaths.temporaryDirectory("inf")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Python.check("""
            import sys, numpy as np
            from safetensors.numpy import load_file, save_file
            from safetensors import safe_open
            with safe_open(sys.argv[1], "np") as f:
                md = dict(f.metadata())
            t = load_file(sys.argv[1])
            t["hidden_states.2"][0, 7, 63] = np.inf
            save_file(t, sys.argv[2], metadata=md)
            """, [Fixtures.path("llama-dtypes", "reference-q8_0.safetensors"), dir + "/r.safetensors"])
        let m = try altered("llama-dtypes/model-q8_0.gguf", in: dir)
        let r = try wk(["verify", m, "--reference", dir + "/r.safetensors", "--json"])
        #expect(r.status == 1)
        #expect(try JSONParser.parse(r.stdout)["first_failure"]?.string == "hidden_states.2", "\(r.stdout)")
    }
}
