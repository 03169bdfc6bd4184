import Foundation
import SafetensorsFormat
import Testing
import TestSupport
import WeightKit

/// `weightkit convert` and `weightkit diff` as a user runs them: exit codes, one-line errors,
/// JSON, interrupts; and gguf-py reading what convert writes.
@Suite("weightkit convert and diff")
struct ConvertCLITests {
    func wk(_ args: [String]) throws -> ProcessResult { try Subprocess.run([CLITests.binary] + args) }

    func listing(_ dir: String) -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted() }

    @Test func jsonSummary() throws {
        let dir = RepoPaths.temporaryDirectory("cli-json")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = try wk(["convert", Fixtures.path("gpt2-tiny"), dir + "/m.gguf", "--dtype", "q8_0", "--set", "general.author=me", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.isEmpty, "stderr is not a terminal: no progress bar expected, got \(r.stderr)")
        let j = try JSONParser.parse(r.stdout)
        for k in ["input", "output", "format", "naming", "dtype", "tensors", "bytes", "seconds", "files"] { #expect(j[k] != nil, "missing \(k)") }
        #expect(j["format"]?.string == "gguf" && j["naming"]?.string == "gguf" && j["dtype"]?.string == "q8_0" && j["tensors"]?.int == 28)
        let f = j["files"]?.array?.first
        #expect(f?["path"]?.string == dir + "/m.gguf")
        #expect(f?["sha256"]?.string == (try Converter.sha256(dir + "/m.gguf")))
        let shasum = try Subprocess.run(["/usr/bin/env", "sha256sum", dir + "/m.gguf"])
        #expect(shasum.stdout.hasPrefix(f?["sha256"]?.string ?? "-"))
        #expect(f?["bytes"]?.int == j["bytes"]?.int)
        #expect(try Checkpoint.open(dir + "/m.gguf").metadata["general.author"] == .string("me"))
    }

    @Test("bad input exits 2 with one line on stderr and writes nothing", arguments: [
        ["convert", "/nonexistent/model", "OUT.gguf"],
        ["convert", RepoPaths.formats("gguf/bad_overlap.gguf"), "OUT.safetensors"],
        ["convert", RepoPaths.formats("safetensors/vectors/rule10_truncated.safetensors"), "OUT.gguf"],
        ["convert", Fixtures.path("gpt2-tiny"), "OUT.safetensors", "--dtype", "q4_0"],
        ["convert", Fixtures.path("gpt2-tiny"), "OUT.gguf", "--set", "general.x:u8=999"],
        ["convert", Fixtures.path("gpt2-tiny"), "OUT/", "--shard-size", "lots"],
        ["convert", Fixtures.path("gpt2-tiny"), "OUT.txt"],
        ["diff", "/nonexistent/a", Fixtures.path("gpt2-tiny")],
        ["diff", Fixtures.path("gpt2-tiny"), RepoPaths.formats("gguf/bad_magic.gguf")],
    ])
    func badInput(args: [String]) throws {
        let dir = RepoPaths.temporaryDirectory("cli-bad")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = try wk(args.map { $0.hasPrefix("OUT") ? dir + "/" + $0 : $0 })
        #expect(r.status == 2, "\(args): \(r.stderr)")
        #expect(r.stderr.hasPrefix("weightkit: ") && r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
        #expect(listing(dir).isEmpty)
    }

    /// An unknown dtype and a naming the output format cannot hold are refused: exit 2, nothing written.
    /// (This used to pass `--dtype q6_k` to a fixed /tmp path: q6_k became a valid mixture, the first
    /// run wrote the file, and every later run passed only because convert refused to overwrite it.)
    @Test func argumentErrors() throws {
        let dir = RepoPaths.temporaryDirectory("cli-args")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for extra in [["--dtype", "q7_k"], ["--naming", "meta"]] {
            let r = try wk(["convert", Fixtures.path("gpt2-tiny"), dir + "/x.gguf"] + extra)
            #expect(r.status == 2, "\(extra): \(r.stderr)")
            #expect(listing(dir).isEmpty, "\(extra)")
        }
    }

    @Test func diffExitCodes() throws {
        let same = try wk(["diff", Fixtures.path("llama-gqa"), Fixtures.path("llama-gqa", "model.gguf")])
        #expect(same.status == 0, "\(same.stdout)\(same.stderr)")
        #expect(same.stdout.contains("EQUAL: 21 tensors"))
        let q = try wk(["diff", Fixtures.path("gpt2-tiny"), Fixtures.path("gpt2-tiny", "model-q8_0.gguf"), "--json"])
        #expect(q.status == 1)
        let j = try JSONParser.parse(q.stdout)
        #expect(j["equal"]?.bool == false)
        #expect(j["tensors"]?.array?.contains { $0["dtype_b"]?.string == "q8_0" && ($0["max_abs"]?.double ?? 0) > 0 } == true)
        #expect(try wk(["diff", Fixtures.path("gpt2-tiny"), Fixtures.path("gpt2-tiny", "model-q8_0.gguf"), "--atol", "0.01"]).status == 0)
        let other = try wk(["diff", Fixtures.path("gpt2-tiny"), Fixtures.path("gpt1-tiny")])
        #expect(other.status == 1)
        #expect(other.stdout.contains("config differs: architecture"))
    }

    /// A big conversion interrupted by SIGINT (and another by SIGTERM) leaves neither the
    /// target nor any temporary behind, for a file and for a model directory.
    @Test(arguments: [("out.gguf", SIGINT), ("outdir/", SIGINT), ("out.safetensors", SIGTERM), ("out.h5", SIGINT)])
    func interruptLeavesNothing(out: String, sig: Int32) throws {
        let dir = RepoPaths.temporaryDirectory("cli-int")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let input = dir + "/in/big.safetensors"
        try FileManager.default.createDirectory(atPath: dir + "/in", withIntermediateDirectories: true)
        // 48 tensors of 1M floats (192 MB): long enough to interrupt in the middle.
        let tensors = try (0..<48).map { i in
            try TensorEntry(name: "t\(i).weight", dtype: .f32, shape: [1024, 1024]) {
                TensorData(region: ByteRegion(count: 1 << 22) { b in
                    let f = b.bindMemory(to: Float.self)
                    for k in 0..<f.count { f[k] = Float((k * 7 + i) % 1000) * 0.001 - 0.5 }
                }, offset: 0, count: 1 << 22)!
            }
        }
        try SafetensorsWriter.write(to: input, tensors: tensors)
        let outDir = dir + "/o"
        try FileManager.default.createDirectory(atPath: outDir, withIntermediateDirectories: true)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: CLITests.binary)
        p.arguments = ["convert", input, outDir + "/" + out, "--dtype", out.hasSuffix(".gguf") ? "q4_1" : "bf16"]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        // Wait until the output (unnamed until it is complete) has data, then interrupt.
        var started = false
        for _ in 0..<400 {
            if Subprocess.bytesBeingWritten(pid: p.processIdentifier, under: outDir) > 4 << 20 {
                started = true
                break
            }
            if !p.isRunning { break }
            usleep(20_000)
        }
        #expect(started, "the conversion never got going (or finished too fast to interrupt)")
        kill(p.processIdentifier, sig)
        p.waitUntilExit()
        #expect(p.terminationReason == .uncaughtSignal && p.terminationStatus == sig, "exit \(p.terminationStatus)")
        #expect(listing(outDir).isEmpty, "left \(listing(outDir))")
        #expect(listing(dir + "/in") == ["big.safetensors"])
    }

    /// gguf-py's GGUFReader reads every GGUF convert writes: the same names, row-major shapes,
    /// types and metadata as WeightKit's reader; gguf-py's dequantization gives exactly WeightKit's
    /// float32 copy; and gguf-py's quantizer applied to WeightKit's f32 GGUF gives the same blocks.
    @Test func ggufPyReadsEveryOutput() throws {
        let dir = RepoPaths.temporaryDirectory("cli-ggufpy")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var files = [JSONValue]()
        for fixture in Fixtures.modelDirectories {
            let f32 = "\(dir)/\(fixture)-f32.gguf"
            try Converter.convert(Fixtures.path(fixture), to: f32, options: ConvertOptions(dtype: .f32))
            for dtype in ["f32", "f16", "bf16", "q8_0", "q4_0", "q4_1", "q5_0", "q5_1"] {
                let g = "\(dir)/\(fixture)-\(dtype).gguf"
                if dtype != "f32" { try Converter.convert(Fixtures.path(fixture), to: g, options: ConvertOptions(dtype: DType(rawValue: dtype))) }
                let copy = "\(dir)/\(fixture)-\(dtype)-wide.safetensors"
                try Converter.convert(g, to: copy, options: ConvertOptions(dtype: .f32, naming: .keep))
                let c = try Checkpoint.open(g)
                let meta = JSONValue.object(c.metadata.entries.map { e in
                    (e.key, .object([("type", .string(e.value.type.name)), ("value", e.value.type == .array ? .int(0) : e.value.json)]))
                })
                files.append(.object([
                    ("gguf", .string(g)), ("wide", .string(copy)), ("f32", .string(f32)),
                    ("tensors", .array(c.entries.map { .object([("name", .string($0.name)), ("dtype", .string($0.dtype.rawValue)), ("shape", .array($0.shape.map { .int($0) }))]) })),
                    ("metadata", meta),
                ]))
            }
        }
        let spec = dir + "/spec.json"
        try JSONValue.array(files).serialized().write(toFile: spec, atomically: true, encoding: .utf8)
        let out = try Python.check(Self.ggufPyScript, [spec])
        #expect(out.contains("checked \(files.count) files"), "\(out)")
    }

    static let ggufPyScript = """
        import json, sys, numpy as np, gguf
        from safetensors.numpy import load_file
        from gguf import GGUFValueType as V
        names = {"u8": V.UINT8, "i8": V.INT8, "u16": V.UINT16, "i16": V.INT16, "u32": V.UINT32, "i32": V.INT32, "f32": V.FLOAT32,
                 "bool": V.BOOL, "str": V.STRING, "arr": V.ARRAY, "u64": V.UINT64, "i64": V.INT64, "f64": V.FLOAT64}
        Q = {"q8_0", "q4_0", "q4_1", "q5_0", "q5_1"}
        spec = json.load(open(sys.argv[1]))
        for f in spec:
            r = gguf.GGUFReader(f["gguf"])
            got = [(t.name, t.tensor_type.name.lower(), [int(x) for x in reversed(t.shape.tolist())]) for t in r.tensors]
            want = [(t["name"], t["dtype"], t["shape"]) for t in f["tensors"]]
            assert got == want, (f["gguf"], got, want)
            fields = {k: v for k, v in r.fields.items() if not k.startswith("GGUF.")}
            assert list(fields) == list(f["metadata"]), (f["gguf"], list(fields), list(f["metadata"]))
            for k, m in f["metadata"].items():
                fl = fields[k]
                assert fl.types[0] == names[m["type"]], (k, fl.types, m)
                if m["type"] == "arr": continue
                v = fl.contents()
                if m["type"] == "f32": assert np.float32(v) == np.float32(m["value"]), (k, v, m)
                elif m["type"] == "f64": assert v == m["value"], (k, v, m)
                else: assert v == m["value"], (k, v, m)
            wide = load_file(f["wide"])
            ref = {t.name: t for t in gguf.GGUFReader(f["f32"]).tensors}
            for t in r.tensors:
                shape = [int(x) for x in reversed(t.shape.tolist())]
                d = gguf.quants.dequantize(t.data, t.tensor_type).reshape(shape).astype(np.float32)
                assert np.array_equal(d, wide[t.name], equal_nan=True), (f["gguf"], t.name)
                name = t.tensor_type.name.lower()
                if name in Q:
                    src = np.asarray(ref[t.name].data, dtype=np.float32)
                    q = gguf.quants.quantize(src, t.tensor_type)
                    assert np.array_equal(q, t.data), (f["gguf"], t.name, "blocks differ from gguf.quants.quantize")
                elif name in ("f16", "bf16") and ref[t.name].tensor_type.name == "F32":
                    src = np.asarray(ref[t.name].data, dtype=np.float32)
                    q = gguf.quants.quantize(src, t.tensor_type)
                    assert np.array_equal(q.view(np.uint8), np.asarray(t.data).view(np.uint8)), (f["gguf"], t.name, "cast differs")
        print(f"checked {len(spec)} files")
        """
}
