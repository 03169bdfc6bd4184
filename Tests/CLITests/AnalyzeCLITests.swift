import Foundation
import Testing
import TestSupport
import WeightKit

/// weightkit analyze: JSON shapes, plots, errors.
@Suite("weightkit analyze")
struct AnalyzeCLITests {
    func wk(_ args: String...) throws -> ProcessResult { try Subprocess.run([CLITests.binary] + args) }
    let tokens = "0,95,7,36,65,94,27,56"

    /// Parses an SVG with Python's XML parser and returns its text elements.
    func svgTexts(_ path: String) throws -> [String] {
        let out = try Python.check("""
            import sys, json, xml.etree.ElementTree as ET
            print(json.dumps([t.text for t in ET.parse(sys.argv[1]).getroot().iter("{http://www.w3.org/2000/svg}text")]))
            """, [path])
        return try JSONParser.parse(out).array!.compactMap(\.string)
    }

    @Test("attention-spectrum --json: one entry per model, one per layer, heads within [1, √T], mean/min/max of the heads")
    func spectrumJSON() throws {
        let dir = RepoPaths.temporaryDirectory("spectrum")
        let r = try wk("analyze", "attention-spectrum", Fixtures.path("gpt1-tiny"), Fixtures.path("llama-gqa"), "--tokens", tokens, "--json", "--plot", dir + "/s.svg")
        #expect(r.status == 0, "\(r.stderr)")
        let j = try JSONParser.parse(r.stdout)
        let models = j["models"]!.array!
        #expect(models.map { $0["model"]!.string! } == [Fixtures.path("gpt1-tiny"), Fixtures.path("llama-gqa")])
        for m in models {
            let layers = m["layers"]!.array!
            #expect(layers.map { $0["layer"]!.int! } == [0, 1])
            for l in layers {
                let heads = l["heads"]!.array!.map { $0.double! }
                #expect(heads.count == 4)
                for h in heads { #expect(h >= 1 - 1e-6 && h <= 8.0.squareRoot() + 1e-6) }
                #expect(abs(l["mean"]!.double! - heads.reduce(0, +) / 4) < 1e-9)
                #expect(l["min"]!.double! == heads.min()! && l["max"]!.double! == heads.max()!)
            }
        }
        let texts = try svgTexts(dir + "/s.svg")
        #expect(texts.contains { $0.hasSuffix("gpt1-tiny") } && texts.contains { $0.hasSuffix("llama-gqa") })
    }

    @Test("attention-spectrum --reference uses the file's input_ids; --csv has one row per head")
    func spectrumReferenceCSV() throws {
        let r = try wk("analyze", "attention-spectrum", Fixtures.path("gpt2-tiny"), "--reference", Fixtures.path("gpt2-tiny", "reference.safetensors"), "--csv")
        #expect(r.status == 0, "\(r.stderr)")
        let lines = r.stdout.split(separator: "\n")
        #expect(lines.first == "model,layer,head,sigma_max")
        #expect(lines.count == 1 + 2 * 4)
        let t = try wk("analyze", "attention-spectrum", Fixtures.path("gpt2-tiny"), "--tokens", tokens, "--csv")
        #expect(t.stdout == r.stdout)  // the reference's input_ids are these tokens
    }

    @Test("rank-collapse --json: layers 0…L and the four series; deterministic for a seed")
    func rankCollapseJSON() throws {
        let dir = RepoPaths.temporaryDirectory("collapse")
        let args = ["analyze", "rank-collapse", "--depth", "4", "--tokens", "6", "--width", "16", "--heads", "2", "--samples", "2", "--seed", "5", "--json"]
        let a = try Subprocess.run([CLITests.binary] + args + ["--plot", dir + "/c.svg"])
        let b = try Subprocess.run([CLITests.binary] + args)
        #expect(a.status == 0, "\(a.stderr)")
        #expect(a.stdout == b.stdout)
        let j = try JSONParser.parse(a.stdout)
        #expect(j["layers"]!.array!.map { $0.int! } == [0, 1, 2, 3, 4])
        let series = j["series"]!.object!
        #expect(series.map(\.0) == ["attention", "attention+skip", "attention+mlp", "attention+skip+mlp"])
        for (_, v) in series { #expect(v.array!.count == 5) }
        #expect(j["relative"]!.object!.count == 4)
        let texts = try svgTexts(dir + "/c.svg")
        #expect(texts.contains("attention+skip+mlp"))
    }

    @Test("rank-collapse --model measures the model's hidden states")
    func rankCollapseModel() throws {
        let r = try wk("analyze", "rank-collapse", "--model", Fixtures.path("llama-gqa"), "--tokens", tokens, "--json")
        #expect(r.status == 0, "\(r.stderr)")
        let j = try JSONParser.parse(r.stdout)
        #expect(j["layers"]!.array!.map { $0.int! } == [0, 1, 2])
        #expect(j["series"]![Fixtures.path("llama-gqa")]!.array!.count == 3)
    }

    @Test("logit-lens --json: L+1 layers × T positions × top-K; the last layer's top-1 is run's prediction", arguments: ["gpt1-tiny", "gpt2-tiny", "llama-gqa"])
    func logitLens(fixture: String) throws {
        let dir = RepoPaths.temporaryDirectory("lens")
        let r = try wk("analyze", "logit-lens", Fixtures.path(fixture), "--tokens", tokens, "--top", "4", "--json", "--plot", dir + "/l.svg")
        #expect(r.status == 0, "\(r.stderr)")
        let layers = try JSONParser.parse(r.stdout)["layers"]!.array!
        #expect(layers.map { $0["layer"]!.int! } == [0, 1, 2])
        for l in layers {
            let positions = l["positions"]!.array!
            #expect(positions.count == 8)
            for p in positions { #expect(p["top"]!.array!.count == 4) }
        }
        let run = try wk("run", Fixtures.path(fixture), "--tokens", tokens, "--top", "1", "--json")
        let predicted = try JSONParser.parse(run.stdout)["top"]!.array![0].array![0].int!
        let lensTop = layers.last!["positions"]!.array!.last!["top"]!.array![0].array![0].int!
        #expect(lensTop == predicted)
        let texts = try svgTexts(dir + "/l.svg")
        #expect(texts.contains(String(predicted)))
    }

    @Test("bad input exits 2 with one line on stderr and writes no plot", arguments: [
        ["analyze", "attention-spectrum", "/nonexistent/model", "--tokens", "1,2"],
        ["analyze", "logit-lens", RepoPaths.fixtures("gpt2-tiny"), "--tokens", "1,2,999"],
        ["analyze", "attention-spectrum", RepoPaths.fixtures("gpt2-tiny"), "--reference", RepoPaths.fixtures("gpt2-tiny/config.json")],
        ["analyze", "rank-collapse", "--width", "10", "--heads", "3"],
        ["analyze", "rank-collapse", "--model", "/nonexistent/model", "--tokens", "1,2"],
    ])
    func badInput(args: [String]) throws {
        let dir = RepoPaths.temporaryDirectory("bad")
        let r = try Subprocess.run([CLITests.binary] + args + ["--plot", dir + "/p.svg"])
        #expect(r.status == 2, "\(r.stderr)")
        #expect(r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
        #expect(r.stderr.hasPrefix("weightkit: "))
        #expect(r.stdout.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: dir + "/p.svg"))
    }

    @Test("argument mistakes are usage errors (exit 64): both or neither of --tokens/--reference, --json with --csv")
    func usage() throws {
        let m = RepoPaths.fixtures("gpt2-tiny")
        for args in [
            ["analyze", "attention-spectrum", m],
            ["analyze", "attention-spectrum", m, "--tokens", "1", "--reference", m + "/reference.safetensors"],
            ["analyze", "attention-spectrum", m, "--tokens", "1", "--json", "--csv"],
            ["analyze", "logit-lens", m, "--tokens", "1", "--top", "0"],
        ] {
            let r = try Subprocess.run([CLITests.binary] + args)
            #expect(r.status == 64, "\(args): \(r.stderr)")
        }
    }

    @Test("--help teaches: each subcommand's help has examples")
    func help() throws {
        for sub in ["attention-spectrum", "rank-collapse", "logit-lens"] {
            let r = try wk("analyze", sub, "--help")
            #expect(r.status == 0)
            #expect(r.stdout.contains("Examples:") && r.stdout.contains("weightkit analyze \(sub)"))
        }
    }
}
