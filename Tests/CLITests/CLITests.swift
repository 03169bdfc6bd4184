import Foundation
import Testing
import TestSupport
import WeightKit

/// The command-line contract: outputs, JSON shapes and exit codes.
@Suite("weightkit command line")
struct CLITests {
    static var binary: String {
        let beside = (CommandLine.arguments[0] as NSString).deletingLastPathComponent + "/weightkit"
        if FileManager.default.isExecutableFile(atPath: beside) { return beside }
        for config in ["debug", "release"] {
            let p = RepoPaths.root + "/.build/\(config)/weightkit"
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        return beside
    }

    func wk(_ args: String...) throws -> ProcessResult { try Subprocess.run([Self.binary] + args) }

    @Test("verify exits 0 on a passing fixture and prints one row per tensor")
    func verifyPasses() throws {
        let r = try wk("verify", Fixtures.path("gpt2-tiny"), "--reference", Fixtures.path("gpt2-tiny", "reference.safetensors"))
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("PASSED: 6 tensors"))
    }

    @Test("verify exits 1 and names the first failing tensor when a tolerance is impossible")
    func verifyFails() throws {
        let r = try wk("verify", Fixtures.path("llama-gqa"), "--reference", Fixtures.path("llama-gqa", "reference.safetensors"), "--atol", "0", "--rtol", "0", "--json")
        #expect(r.status == 1)
        let j = try JSONParser.parse(r.stdout)
        #expect(j["passed"]?.bool == false)
        #expect(j["first_failure"]?.string != nil)
    }

    @Test("bad input exits 2 with one line on stderr naming the file", arguments: [
        ["verify", "/nonexistent/model", "--reference", "/nonexistent/ref.safetensors"],
        ["inspect", RepoPaths.formats("safetensors/vectors/rule10_truncated.safetensors")],
        ["inspect", RepoPaths.formats("safetensors/vectors/rule2_lfs_pointer.safetensors")],
        ["verify", Fixtures.path("gpt2-tiny"), "--reference", Fixtures.path("gpt2-tiny", "config.json")],
    ])
    func badInput(args: [String]) throws {
        let r = try Subprocess.run([Self.binary] + args)
        #expect(r.status == 2)
        let lines = r.stderr.split(separator: "\n")
        #expect(lines.count == 1, "\(r.stderr)")
        #expect(r.stderr.hasPrefix("weightkit: "))
        #expect(r.stdout.isEmpty)
    }

    @Test("inspect --json has the contract's keys and row-major shapes")
    func inspectJSON() throws {
        let r = try wk("inspect", Fixtures.path("gpt2-tiny", "model.safetensors"), "--json")
        #expect(r.status == 0)
        let j = try JSONParser.parse(r.stdout)
        for k in ["format", "metadata", "architecture", "config", "parameters", "tensors"] { #expect(j[k] != nil, "missing \(k)") }
        #expect(j["architecture"]?.string == "gpt2")
        let wte = j["tensors"]?.array?.first { $0["name"]?.string == "transformer.wte.weight" }
        #expect(wte?["shape"]?.array?.compactMap(\.int) == [96, 32])
        #expect(wte?["dtype"]?.string == "f32")
        #expect(wte?["bytes"]?.int == 96 * 32 * 4)
    }

    @Test("inspect --tensor --json prints the values in row-major order, as numpy reads them")
    func tensorValues() throws {
        let r = try wk("inspect", Fixtures.path("gpt2-tiny"), "--tensor", "transformer.h.0.attn.c_attn.bias", "--json")
        #expect(r.status == 0)
        let got = try JSONParser.parse(r.stdout)["values"]!.array!.map { Float($0.double!) }
        let want = try Python.check("""
            import sys, json
            from safetensors.numpy import load_file
            print(json.dumps(load_file(sys.argv[1])["transformer.h.0.attn.c_attn.bias"].tolist()))
            """, [Fixtures.path("gpt2-tiny", "model.safetensors")])
        #expect(got == (try JSONParser.parse(want)).array!.map { Float($0.double!) })
    }

    @Test("run prints the top-K tokens; --dump writes a reference-format file that verify accepts")
    func runAndDump() throws {
        let dir = RepoPaths.temporaryDirectory("run")
        let r = try wk("run", Fixtures.path("llama-gqa"), "--tokens", "5,17,3", "--top", "3", "--dump", dir + "/acts.safetensors", "--json")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try JSONParser.parse(r.stdout)["top"]?.array?.count == 3)
        let v = try wk("verify", Fixtures.path("llama-gqa"), "--reference", dir + "/acts.safetensors")
        #expect(v.status == 0)
    }

    @Test("graph prints one op per line, with the family's shape in the header")
    func graph() throws {
        let r = try wk("graph", Fixtures.path("llama-gqa"))
        #expect(r.status == 0)
        #expect(r.stdout.contains("pre-norm RMSNorm"))
        #expect(r.stdout.contains("4 query heads sharing 2 KV heads"))
        #expect(r.stdout.contains("rope_half("))
        let g1 = try wk("graph", Fixtures.path("gpt1-tiny"))
        #expect(g1.stdout.contains("post-norm LayerNorm, no final norm"))
    }

    @Test("bench --json prints the contract's shape")
    func bench() throws {
        let r = try wk("bench", Fixtures.path("gpt2-tiny"), "--tokens", "8", "--runs", "2", "--decode", "2", "--json")
        #expect(r.status == 0, "\(r.stderr)")
        let j = try JSONParser.parse(r.stdout)
        for part in ["forward", "decode"] { for k in ["median_s", "min_s", "tokens_per_s"] { #expect(j[part]?[k]?.double != nil) } }
    }
}
