// torch.save checkpoints on the command line: every model fixture verifies against its reference
// activations; convert gives the tensors safetensors' own conversion recipe gives; inspect says what
// is copied, shared and skipped; hostile files exit 2 with one line, write nothing and run nothing.

import Foundation
import Testing
import TestSupport
import WeightKit

@Suite("weightkit on PyTorch checkpoints")
struct PyTorchCLITests {
    func wk(_ args: [String]) throws -> ProcessResult { try Subprocess.run([CLITests.binary] + args) }
    static func pt(_ rest: String) -> String { RepoPaths.fixtures("pytorch/" + rest) }

    @Test("each torch.save model fixture verifies against its reference activations", arguments: [
        ("gpt2-tiny", "gpt2-tiny"), ("gpt2-tiny/pytorch_model.bin", "gpt2-tiny"), ("gpt2-tiny/checkpoint.pt", "gpt2-tiny"),
        ("gpt1-tiny", "gpt1-tiny"), ("llama-gqa", "llama-gqa"), ("llama-gqa/pytorch_model.bin.index.json", "llama-gqa"),
        ("llama-meta", "llama-gqa"), ("llama-meta-mp2", "llama-gqa"),
    ])
    func verify(model: String, reference: String) throws {
        let r = try wk(["verify", Self.pt(model), "--reference", Fixtures.path(reference, "reference.safetensors")])
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(r.stdout.contains("PASSED: 6 tensors"))
    }

    @Test("model-parallel slices joined in the wrong order fail verify at the first layer")
    func slicesOrderMatters() throws {
        let dir = RepoPaths.temporaryDirectory("mp2-swapped")
        let fm = FileManager.default
        try fm.copyItem(atPath: Self.pt("llama-meta-mp2/params.json"), toPath: dir + "/params.json")
        try fm.copyItem(atPath: Self.pt("llama-meta-mp2/consolidated.00.pth"), toPath: dir + "/consolidated.01.pth")
        try fm.copyItem(atPath: Self.pt("llama-meta-mp2/consolidated.01.pth"), toPath: dir + "/consolidated.00.pth")
        let r = try wk(["verify", dir, "--reference", Fixtures.path("llama-gqa", "reference.safetensors")])
        #expect(r.status == 1, "\(r.stdout)\(r.stderr)")
        #expect(r.stdout.contains("FAILED: first divergence at hidden_states.0") || r.stdout.contains("FAILED: first divergence at hidden_states.1"))
    }

    struct Conversion: CustomStringConvertible, Sendable {
        let input: String
        let naming: String
        let tensors: [JSONValue]
        var description: String { input }
    }

    static let conversions: [Conversion] = {
        guard let data = FileManager.default.contents(atPath: pt("expected.json")),
            let root = try? data.withUnsafeBytes({ try JSONParser.parse($0) }), let files = root["files"]?.array
        else { return [] }
        return files.compactMap { f in
            guard let c = f["conversion"], let file = f["file"]?.string else { return nil }
            return Conversion(input: file, naming: c["naming"]?.string ?? "keep", tensors: c["tensors"]?.array ?? [])
        }
    }()

    @Test("convert to safetensors writes exactly the tensors safetensors' conversion recipe writes", arguments: conversions)
    func convert(_ c: Conversion) throws {
        #expect(Self.conversions.count >= 6)
        let out = RepoPaths.temporaryDirectory("pt-convert") + "/model.safetensors"
        var args = ["convert", Self.pt(c.input), out]
        if c.naming == "keep" { args += ["--naming", "keep"] }
        let r = try wk(args)
        #expect(r.status == 0, "\(r.stderr)")
        let file = try Checkpoint.open(out)
        #expect(file.format == .safetensors)
        let got = file.entries.sorted { $0.name < $1.name }
        #expect(got.map(\.name) == c.tensors.compactMap { $0["name"]?.string })
        for (t, w) in zip(got, c.tensors) {
            #expect(t.dtype.rawValue == w["dtype"]?.string?.lowercased(), "\(t.name)")
            #expect(t.shape == w["shape"]?.array?.compactMap(\.int), "\(t.name)")
            #expect(try t.bytes().withUnsafeBytes { SHA256.hex($0) } == w["sha256"]?.string, "bytes of \(t.name)")
        }
    }

    @Test("convert to GGUF, then verify: Meta's two slices through llama.cpp's layout give the reference activations")
    func toGGUF() throws {
        let out = RepoPaths.temporaryDirectory("pt-gguf") + "/model.gguf"
        let c = try wk(["convert", Self.pt("llama-meta-mp2"), out])
        #expect(c.status == 0, "\(c.stderr)")
        let v = try wk(["verify", out, "--reference", Fixtures.path("llama-gqa", "reference.safetensors")])
        #expect(v.status == 0, "\(v.stdout)\(v.stderr)")
    }

    @Test("diff finds torch.save copies equal to the safetensors fixtures", arguments: [
        ("gpt2-tiny", "gpt2-tiny"), ("gpt1-tiny", "gpt1-tiny"), ("llama-gqa", "llama-gqa"), ("llama-meta-mp2", "llama-gqa"),
    ])
    func diff(a: String, b: String) throws {
        let r = try wk(["diff", Self.pt(a), Fixtures.path(b)])
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(r.stdout.contains("EQUAL"))
    }

    @Test("run and analyze take a training snapshot; its model gives the safetensors fixture's top tokens")
    func runAndAnalyze() throws {
        let a = try wk(["run", Self.pt("gpt2-tiny/checkpoint.pt"), "--tokens", "5,17,3", "--top", "3", "--json"])
        let b = try wk(["run", Fixtures.path("gpt2-tiny"), "--tokens", "5,17,3", "--top", "3", "--json"])
        #expect(a.status == 0, "\(a.stderr)")
        #expect(try JSONParser.parse(a.stdout)["top"] == JSONParser.parse(b.stdout)["top"])
        let s = try wk(["analyze", "attention-spectrum", Self.pt("gpt2-tiny/checkpoint.pt"), "--tokens", "0,95,7,36", "--json"])
        #expect(s.status == 0, "\(s.stderr)")
        #expect(try JSONParser.parse(s.stdout)["models"]?.array?.first?["layers"]?.array?.count == 2)
    }

    @Test(".zst copies of both layouts open transparently", arguments: ["gpt2-tiny", "gpt1-tiny"])
    func zstd(_ fixture: String) throws {
        let dir = RepoPaths.temporaryDirectory("pt-zst")
        try FileManager.default.copyItem(atPath: Self.pt(fixture + "/config.json"), toPath: dir + "/config.json")
        let z = try Subprocess.run(["/bin/sh", "-c", "zstd -q -c '\(Self.pt(fixture + "/pytorch_model.bin"))' > '\(dir)/pytorch_model.bin.zst'"])
        #expect(z.status == 0, "\(z.stderr)")
        let r = try wk(["verify", dir + "/pytorch_model.bin.zst", "--reference", Fixtures.path(fixture, "reference.safetensors")])
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        let d = try wk(["verify", dir, "--reference", Fixtures.path(fixture, "reference.safetensors")])
        #expect(d.status == 0, "a directory holding only the .zst: \(d.stderr)")
    }

    @Test("inspect says what is copied, shared and skipped")
    func inspect() throws {
        let v = try wk(["inspect", Self.pt("tensors/views.pt")])
        #expect(v.status == 0, "\(v.stderr)")
        #expect(v.stdout.contains("  pytorch       zip layout, archive 'views', version 3, little-endian, 10 storages\n"))
        #expect(v.stdout.contains("                5 of 10 tensors mapped without copying; nothing executed\n"))
        #expect(v.stdout.contains("    transposed  f32     [4, 3]                     48  (copied: strided view)\n"))
        #expect(v.stdout.contains("    rows        f32     [2, 4]                     32\n"))
        let s = try wk(["inspect", Self.pt("gpt2-tiny/checkpoint.pt")])
        #expect(s.stdout.contains("state dict under 'model'"))
        #expect(s.stdout.contains("  other entries (21, not tensors of the model: skipped)\n"))
        #expect(s.stdout.contains("    step                                             int     3\n"))
        #expect(s.stdout.contains("    optimizer.state.0.exp_avg                        tensor  f32 [32], outside the state dict 'model'\n"))
        #expect(s.stdout.contains("(same storage and view as 'transformer.wte.weight' (tied))"))
        let j = try JSONParser.parse(try wk(["inspect", Self.pt("gpt2-tiny/checkpoint.pt"), "--json"]).stdout)
        #expect(j["format"]?.string == "pytorch")
        #expect(j["architecture"]?.string == "gpt2")
        #expect(j["other_entries"]?.array?.first { $0["name"]?.string == "step" }?["value"]?.string == "3")
        #expect(j["tensors"]?.array?.first { $0["name"]?.string == "lm_head.weight" }?["note"]?.string == "same storage and view as 'transformer.wte.weight' (tied)")
        let legacy = try wk(["inspect", Self.pt("gpt1-tiny")])
        #expect(legacy.stdout.contains("  pytorch       legacy (pre-zip) layout, little-endian, "))
    }

    @Test("a shard index naming a file outside its directory is refused, as for safetensors")
    func indexEscape() throws {
        let dir = RepoPaths.temporaryDirectory("pt-index")
        for f in try FileManager.default.contentsOfDirectory(atPath: Self.pt("llama-gqa")) {
            try FileManager.default.copyItem(atPath: Self.pt("llama-gqa/" + f), toPath: dir + "/" + f)
        }
        let index = dir + "/pytorch_model.bin.index.json"
        let text = try String(contentsOfFile: index, encoding: .utf8).replacingOccurrences(of: "\"pytorch_model-00002-of-00002.bin\"", with: "\"../pytorch_model-00002-of-00002.bin\"")
        try text.write(toFile: index, atomically: true, encoding: .utf8)
        let r = try wk(["inspect", dir])
        #expect(r.status == 2)
        #expect(r.stderr.contains("outside the index's directory; refused"), "\(r.stderr)")
    }

    @Test("hostile files: exit 2, one line naming the file, nothing written, no payload run", arguments: [
        ("global_os_system.pt", "refusing to call os.system in data.pkl"), ("global_builtins_open.pt", "refusing to call builtins.open in data.pkl"),
        ("legacy_payload.pt", "refusing to call os.system in the main pickle"),
        ("plain_pickle_payload.pt", "refusing to call os.system in the first pickle"),
        ("torchscript_archive.pt", "is a TorchScript archive"), ("legacy_tar.pt", "is a tar archive"), ("zip_bomb.pt", "would expand to 4294967280"),
        ("tensor_oob_view.pt", "out of bounds"),
    ])
    func hostile(file: String, phrase: String) throws {
        let marker = "/tmp/weightkit-pickle-payload-ran"
        unlink(marker)
        let dir = RepoPaths.temporaryDirectory("pt-hostile")
        let input = RepoPaths.formats("pytorch/vectors/" + file)
        for args in [["inspect", input], ["convert", input, dir + "/out.safetensors"], ["verify", input, "--reference", Fixtures.path("gpt2-tiny", "reference.safetensors")]] {
            let r = try wk(args)
            #expect(r.status == 2, "\(args[0]): \(r.stderr)")
            #expect(r.stderr == "weightkit: \(input): " + r.stderr.dropFirst("weightkit: \(input): ".count), "names the file")
            #expect(r.stderr.contains(phrase), "\(r.stderr)")
            #expect(r.stderr.split(separator: "\n").count == 1)
            #expect(r.stdout.isEmpty)
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty, "nothing written")
        #expect(!FileManager.default.fileExists(atPath: marker), "the payload ran")
    }
}
