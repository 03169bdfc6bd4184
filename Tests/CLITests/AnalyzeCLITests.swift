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

    @Test("rank-collapse: published is the default setup (mask none); --setup causal keeps today's stacks; --mask none,causal runs both side by side")
    func rankCollapseSetups() throws {
        let dir = RepoPaths.temporaryDirectory("collapse-setups")
        let small = ["--depth", "3", "--tokens", "5", "--width", "16", "--samples", "3", "--seed", "2", "--json"]
        func run(_ extra: [String]) throws -> JSONValue {
            let r = try Subprocess.run([CLITests.binary, "analyze", "rank-collapse"] + small + extra)
            #expect(r.status == 0, "\(extra): \(r.stderr)")
            return try JSONParser.parse(r.stdout)
        }
        let published = try run([])
        #expect(published["setup"]?.string == "published" && published["mask"]?.string == "none")
        #expect(try run(["--setup", "published", "--mask", "none"])["series"] == published["series"])
        let causal = try run(["--setup", "causal"])
        #expect(causal["setup"]?.string == "causal" && causal["mask"]?.string == "causal")
        #expect(causal["series"] != published["series"])
        #expect(try run(["--setup", "causal", "--mask", "none"])["series"] != causal["series"])
        let both = try run(["--mask", "none,causal", "--plot", dir + "/both.svg"])
        let masks = both["masks"]!.array!
        #expect(masks.map { $0["mask"]!.string! } == ["none", "causal"])
        #expect(masks[0]["series"] == published["series"])
        #expect(masks[1]["series"] == (try run(["--mask", "causal"]))["series"])
        let texts = try svgTexts(dir + "/both.svg")
        #expect(texts.contains("Rank collapse, no mask (bidirectional)") && texts.contains("Rank collapse, causal mask"))
        // --relative switches the table (and plot) to the ratio; JSON always carries both.
        let abs = try wk("analyze", "rank-collapse", "--depth", "2", "--tokens", "5", "--width", "16", "--samples", "2")
        let rel = try wk("analyze", "rank-collapse", "--depth", "2", "--tokens", "5", "--width", "16", "--samples", "2", "--relative")
        #expect(abs.stdout.hasPrefix("‖X − 1·mean(X)‖_F per layer") && rel.stdout.hasPrefix("‖X − 1·mean(X)‖_F ÷ ‖X‖_F per layer"))
        let first = published["series"]!["attention"]!.array![0].double!, firstRel = published["relative"]!["attention"]!.array![0].double!
        #expect(first > 1 && firstRel < 1)
    }

    @Test("rank-collapse --model measures the model's hidden states")
    func rankCollapseModel() throws {
        let r = try wk("analyze", "rank-collapse", "--model", Fixtures.path("llama-gqa"), "--tokens", tokens, "--json")
        #expect(r.status == 0, "\(r.stderr)")
        let j = try JSONParser.parse(r.stdout)
        #expect(j["layers"]!.array!.map { $0.int! } == [0, 1, 2])
        #expect(j["series"]![Fixtures.path("llama-gqa")]!.array!.count == 3)
        // Several models: one series each, on each model's encoding of --prompt.
        let p = try wk("analyze", "rank-collapse", "--model", Fixtures.path("gpt1-trained"), "--model", Fixtures.path("gpt2-trained"),
                       "--prompt", "def f(self, x):", "--json")
        #expect(p.status == 0, "\(p.stderr)")
        let pj = try JSONParser.parse(p.stdout)
        #expect(pj["layers"]!.array!.count == 7)
        #expect(pj["models"]!.array!.map { $0.string! } == [Fixtures.path("gpt1-trained"), Fixtures.path("gpt2-trained")])
        #expect(pj["relative"]!.object!.map(\.0) == [Fixtures.path("gpt1-trained"), Fixtures.path("gpt2-trained")])
    }

    @Test("logit-lens and attention-spectrum --prompt label plots with token strings")
    func promptLabels() throws {
        let dir = RepoPaths.temporaryDirectory("labels")
        let prompt = "    def __init__(self, name):\n        self.name = name\n"
        let r = try wk("analyze", "logit-lens", Fixtures.path("gpt2-trained"), "--prompt", prompt, "--top", "2", "--json", "--plot", dir + "/l.svg")
        #expect(r.status == 0, "\(r.stderr)")
        let j = try JSONParser.parse(r.stdout)
        let strings = j["token_strings"]!.array!.map { $0.string! }
        #expect(strings.joined() == prompt)
        let texts = try svgTexts(dir + "/l.svg")
        // Input tokens along the bottom as visible strings with their position; cells hold token strings.
        #expect(texts.contains("␣def (1)") && texts.contains("self (5)") && texts.contains("↵␣×7 (9)"), "\(texts.prefix(60))")
        #expect(!texts.contains("342 (1)"))
        let s = try wk("analyze", "attention-spectrum", Fixtures.path("gpt2-trained"), "--prompt", prompt, "--plot", dir + "/s.svg")
        #expect(s.status == 0, "\(s.stderr)")
        #expect(try svgTexts(dir + "/s.svg").contains { $0.contains("of \"␣×4def␣__init__(self,␣name):↵") })
    }

    @Test("depth-mixing --json: per layer the stream and write norms, cosine, shares summing to 1, ℓ weights and R²; heatmaps")
    func depthMixing() throws {
        let dir = RepoPaths.temporaryDirectory("mixing")
        let r = try wk("analyze", "depth-mixing", Fixtures.path("gpt1-trained"), "--prompt", "import os\n", "--json",
                       "--plot", dir + "/w.svg", "--plot-shares", dir + "/s.svg")
        #expect(r.status == 0, "\(r.stderr)")
        let j = try JSONParser.parse(r.stdout)
        #expect(j["token_strings"]!.array!.map { $0.string! }.joined() == "import os\n")
        let layers = j["layers"]!.array!
        #expect(layers.map { $0["layer"]!.int! } == Array(0...6))
        for l in layers {
            let i = l["layer"]!.int!
            let shares = l["shares"]!.array!.map { $0.double! }
            #expect(shares.count == i + 1 && abs(shares.reduce(0, +) - 1) < 1e-9, "layer \(i): \(shares)")
            #expect(l["weights"]!.array!.count == i)
            if i == 0 { #expect(l["r2"] == .null && l["write_norm"] == .null) } else { #expect(l["r2"]!.double! <= 1 + 1e-12) }
        }
        #expect(try svgTexts(dir + "/w.svg").contains("0 emb") && svgTexts(dir + "/s.svg").contains("0 emb"))
        let table = try wk("analyze", "depth-mixing", Fixtures.path("llama-gqa"), "--tokens", tokens)
        #expect(table.status == 0 && table.stdout.split(separator: "\n").count == 2 + 3, "\(table.stdout)\(table.stderr)")
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
        ["analyze", "depth-mixing", RepoPaths.fixtures("gpt2-tiny"), "--prompt", "no tokenizer here"],
        ["analyze", "depth-mixing", RepoPaths.fixtures("gpt2-tiny"), "--tokens", "1,2,999"],
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

    @Test("argument mistakes are usage errors (exit 2, as all bad input): both or neither of --tokens/--reference, --json with --csv")
    func usage() throws {
        let m = RepoPaths.fixtures("gpt2-tiny")
        for args in [
            ["analyze", "attention-spectrum", m],
            ["analyze", "attention-spectrum", m, "--tokens", "1", "--reference", m + "/reference.safetensors"],
            ["analyze", "attention-spectrum", m, "--tokens", "1", "--json", "--csv"],
            ["analyze", "logit-lens", m, "--tokens", "1", "--top", "0"],
            ["analyze", "rank-collapse", "--mask", "sideways"],
            ["analyze", "rank-collapse", "--mask", "none,none"],
            ["analyze", "rank-collapse", "--setup", "bogus"],
            ["analyze", "rank-collapse", "--prompt", "hello"],
            ["analyze", "rank-collapse", "--model", m, "--tokens", "1,2", "--mask", "none"],
            ["analyze", "depth-mixing", m],
            ["analyze", "depth-mixing", m, "--tokens", "1,2", "--prompt", "x"],
        ] {
            let r = try Subprocess.run([CLITests.binary] + args)
            #expect(r.status == 2, "\(args): \(r.stderr)")
        }
    }

    @Test("--help teaches: each subcommand's help has examples")
    func help() throws {
        for sub in ["attention-spectrum", "rank-collapse", "logit-lens", "depth-mixing"] {
            let r = try wk("analyze", sub, "--help")
            #expect(r.status == 0)
            #expect(r.stdout.contains("Examples:") && r.stdout.contains("weightkit analyze \(sub)"))
        }
    }
}
