import Foundation
import Testing
import TestSupport
import WeightKit

/// What a newcomer meets first: usage errors, --version, --help, inspect on a reference file,
/// a reference of another model, a Ctrl-C'd progress bar, files written only beside OUT.
@Suite("weightkit: usage, version, help, references")
struct FirstHourCLITests {
    func wk(_ args: [String], environment: [String: String]? = nil) throws -> ProcessResult {
        try Subprocess.run([CLITests.binary] + args, environment: environment)
    }

    @Test("usage errors exit 2 and show the usage line of the command at hand", arguments: [
        (["run", "Fixtures/gpt2-tiny", "--tokens", "1", "--top", "0"], "Usage: weightkit run "),  // thrown while running
        (["verify", "Fixtures/gpt2-tiny"], "Usage: weightkit verify "),  // a missing option
        (["verify", "Fixtures/gpt2-tiny", "--reference", "r.safetensors", "--atol", "-1"], "Usage: weightkit verify "),
        (["inspect", "--bogus", "x"], "Usage: weightkit inspect "),
        (["analyze", "logit-lens", "Fixtures/gpt2-tiny", "--tokens", "1", "--top", "0"], "Usage: weightkit analyze logit-lens "),
        (["analyze", "rank-collapse", "--model", "Fixtures/gpt2-tiny", "--tokens", "1"], "Usage: weightkit analyze rank-collapse "),
    ])
    func usageErrors(args: [String], usage: String) throws {
        let r = try wk(args)
        #expect(r.status == 2, "\(args): \(r.stderr)")
        #expect(r.stderr.hasPrefix("Error: "), "\(r.stderr)")
        #expect(r.stderr.contains(usage), "\(args): \(r.stderr)")
        #expect(!r.stderr.contains("Usage: weightkit <subcommand>"), "\(r.stderr)")
        #expect(r.stdout.isEmpty)
    }

    @Test("a mistyped command exits 2 and suggests the nearest one", arguments: [
        (["verfy", "x"], "'verfy' is not a weightkit command. Did you mean 'verify'?"),
        (["convrt", "a", "b"], "'convrt' is not a weightkit command. Did you mean 'convert'?"),
        (["analyze", "logit-lenz"], "'logit-lenz' is not a weightkit analyze command. Did you mean 'logit-lens'?"),
        (["analyze", "rank"], "'rank' is not a weightkit analyze command. Did you mean 'rank-collapse'?"),
    ])
    func mistypedCommand(args: [String], message: String) throws {
        let r = try wk(args)
        #expect(r.status == 2)
        #expect(r.stderr.hasPrefix("Error: " + message), "\(r.stderr)")
        let rest = r.stderr.split(separator: "\n").dropFirst()
        #expect(rest.allSatisfy { $0.count <= 80 }, "\(r.stderr)")
    }

    /// --version names the commit scripts/stamp-build recorded (link-time replacement of the weak
    /// default), or says that none was.
    @Test func version() throws {
        let r = try wk(["--version"])
        #expect(r.status == 0)
        let stamp = (try? String(contentsOfFile: RepoPaths.root + "/Sources/CBuildInfo/stamp.c", encoding: .utf8)) ?? ""
        if let start = stamp.range(of: "return \""), let end = stamp[start.upperBound...].firstIndex(of: "\"") {
            let commit = String(stamp[start.upperBound..<end])
            if commit.isEmpty {
                #expect(r.stdout == "0.1.0 (commit unknown: not built from a git checkout)\n", "\(r.stdout)")
            } else if commit.hasSuffix("-modified") {
                #expect(r.stdout == "0.1.0 (commit \(commit.dropLast(9)), with uncommitted changes)\n", "\(r.stdout)")
            } else {
                #expect(r.stdout == "0.1.0 (commit \(commit))\n", "\(r.stdout)")
                #expect(commit.count == 12 && commit.allSatisfy(\.isHexDigit), "\(commit)")
            }
        } else {
            #expect(r.stdout.hasPrefix("0.1.0 (commit not recorded"), "\(r.stdout)")
        }
    }

    /// Every command path, found from the SUBCOMMANDS sections of --help (so new commands are checked too).
    func commandPaths(_ prefix: [String] = []) throws -> [[String]] {
        let help = try wk(prefix + ["--help"], environment: ["COLUMNS": "400"]).stdout
        guard prefix.count < 3, let start = help.range(of: "SUBCOMMANDS:\n") else { return [prefix] }
        // The section ends at its blank line (before "  See 'weightkit help <subcommand>' …").
        let names = help[start.upperBound...].split(separator: "\n", omittingEmptySubsequences: false).prefix { $0.hasPrefix("  ") }
            .compactMap { line -> String? in
                let name = line.trimmingCharacters(in: .whitespaces).split(separator: " ").first.map(String.init)
                return line.hasPrefix("   ") || name == "help" ? nil : name
            }
        return [prefix] + (try names.flatMap { try commandPaths(prefix + [$0]) })
    }

    /// Examples in --help fit 80 columns: rendered at 80 and at 400 columns they are the same
    /// lines (nothing was wrapped mid-command), and no help line is wider than 80.
    @Test func helpFitsEightyColumns() throws {
        let commands = try commandPaths()
        #expect(commands.count >= 15, "\(commands)")
        func examples(_ text: String) -> [Substring] {
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
            guard let start = lines.firstIndex(where: { $0.hasPrefix("Example") }) else { return [] }
            return Array(lines[start...].prefix { !$0.hasPrefix("USAGE:") })
        }
        for command in commands {
            let narrow = try wk(command + ["--help"], environment: ["COLUMNS": "80"])
            let wide = try wk(command + ["--help"], environment: ["COLUMNS": "400"])
            #expect(narrow.status == 0 && wide.status == 0)
            #expect(!examples(narrow.stdout).isEmpty, "\(command): no examples")
            #expect(examples(narrow.stdout) == examples(wide.stdout), "\(command): examples wrapped at 80 columns")
            for line in narrow.stdout.split(separator: "\n") where !line.hasPrefix("USAGE:") {
                #expect(line.count <= 80, "\(command): \(line.count) columns: \(line)")
            }
        }
    }

    @Test("--plot refuses a path that is not .svg, before any work", arguments: [
        ["analyze", "attention-spectrum", "Fixtures/gpt2-tiny", "--tokens", "1,2,3"],
        ["analyze", "logit-lens", "Fixtures/gpt2-tiny", "--tokens", "1,2,3"],
        ["analyze", "rank-collapse", "--samples", "1"],
    ])
    func plotMustBeSVG(args: [String]) throws {
        let dir = RepoPaths.temporaryDirectory("plot-ext")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for name in ["p.png", "p.pdf", "p"] {
            let r = try wk(args + ["--plot", dir + "/" + name])
            #expect(r.status == 2, "\(r.stderr)")
            #expect(r.stderr.contains("--plot writes SVG; give a path ending in .svg"), "\(r.stderr)")
            #expect(r.stdout.isEmpty)
        }
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).isEmpty)
    }

    @Test("inspect on a reference file says what it is and summarises it")
    func inspectReference() throws {
        let ref = Fixtures.path("gpt2-untied", "reference.safetensors")
        let r = try wk(["inspect", ref])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("kind          reference activations"))
        #expect(r.stdout.contains("weightkit verify MODEL --reference \(ref)"))
        #expect(r.stdout.contains("input_ids     1 sequence of 8 tokens: 0 111 7 36 65 94 11 40"), "\(r.stdout)")
        #expect(r.stdout.contains("activations   hidden_states.0…3 [1, 8, 48], attentions.0…2 [1, 3, 8, 8], logits [1, 8, 112]"), "\(r.stdout)")
        #expect(r.stdout.contains("of a model    3 layers, hidden 48, 3 heads, vocab 112"), "\(r.stdout)")
        #expect(!r.stdout.contains("not recognised"))
        let j = try JSONParser.parse(try wk(["inspect", ref, "--json"]).stdout)
        #expect(j["kind"]?.string == "reference activations")
        #expect(j["architecture"] == .null)
        #expect(j["reference"]?["layers"]?.int == 3 && j["reference"]?["heads"]?.int == 3 && j["reference"]?["vocab_size"]?.int == 112)
        #expect(j["reference"]?["input_ids"]?.array?.first?.array?.compactMap(\.int) == [0, 111, 7, 36, 65, 94, 11, 40])
        // A model is still a model.
        #expect(try JSONParser.parse(try wk(["inspect", Fixtures.path("gpt2-tiny"), "--json"]).stdout)["reference"] == nil)
    }

    @Test("inspect --json gives every metadata array one shape, short or long")
    func metadataArrays() throws {
        let r = try wk(["inspect", Fixtures.path("gpt2-tiny", "model.gguf"), "--json"])
        #expect(r.status == 0)
        let meta = try JSONParser.parse(r.stdout)["metadata"]
        let long = meta?["tokenizer.ggml.tokens"]  // 96 items
        let short = meta?["tokenizer.ggml.merges"]  // 11 items
        for (a, count) in [(long, 96), (short, 11)] {
            #expect(a?.object?.map(\.0) == ["type", "element_type", "count", "values", "complete"], "\(String(describing: a))")
            #expect(a?["type"]?.string == "array" && a?["element_type"]?.string == "str" && a?["count"]?.int == count)
            #expect(a?["values"]?.array?.count == min(count, 16))
            #expect(a?["complete"]?.bool == (count <= 16))
        }
        #expect(long?["values"]?.array?.first?.string == "t0")
    }

    // MARK: references of another model

    /// The metadata scripts/make-reference.py writes for gpt2-tiny (its `config` text was taken from
    /// make-reference's output; the hash is computed here by Python's hashlib).
    static let gpt2TinyConfig =
        #"{"architecture":"gpt2","head_dim":8,"heads":4,"hidden_size":32,"intermediate_size":128,"kv_heads":4,"layers":2,"norm_eps":"1e-05","rope_theta":null,"vocab_size":96}"#

    func referenceWithProvenance(_ dir: String) throws -> String {
        let out = dir + "/ref.safetensors"
        try Python.check("""
            import sys, hashlib
            from safetensors.numpy import load_file, save_file
            t = load_file(sys.argv[1])
            c = sys.argv[3]
            save_file(t, sys.argv[2], metadata={"producer": "transformers", "architecture": "gpt2", "model_type": "gpt2",
                                                "config": c, "config_sha256": hashlib.sha256(c.encode()).hexdigest()})
            """, [Fixtures.path("gpt2-tiny", "reference.safetensors"), out, Self.gpt2TinyConfig])
        return out
    }

    @Test("WeightKit writes the model description make-reference writes, byte for byte")
    func provenanceMatchesPython() throws {
        let m = try LoadedModel.open(Fixtures.path("gpt2-tiny", "model.gguf"))
        #expect(ReferenceProvenance.configText(m.graph.config) == Self.gpt2TinyConfig)
        let want = try Python.check("import hashlib, sys; print(hashlib.sha256(sys.argv[1].encode()).hexdigest())", [Self.gpt2TinyConfig])
        #expect(ReferenceProvenance.metadata(for: m.graph.config).last?.1 == want.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    @Test("verify warns when the reference was recorded from another model, and not otherwise")
    func verifyWarnsAboutAnotherModel() throws {
        let dir = RepoPaths.temporaryDirectory("provenance")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let ref = try referenceWithProvenance(dir)
        // The same model in another format: no warning.
        let same = try wk(["verify", Fixtures.path("gpt2-tiny", "model.gguf"), "--reference", ref])
        #expect(same.status == 0 && same.stderr.isEmpty, "\(same.stderr)")
        // GPT-1 with the same shapes: every tensor fails, and the warning says why first.
        let other = try wk(["verify", Fixtures.path("gpt1-tiny"), "--reference", ref])
        #expect(other.status == 1)
        #expect(other.stderr == "weightkit: warning: \(ref) was recorded from a different model (architecture: gpt2 in the reference's model, gpt1 here); what follows compares two different models\n", "\(other.stderr)")
        let j = try JSONParser.parse(try wk(["verify", Fixtures.path("gpt1-tiny"), "--reference", ref, "--json"]).stdout)
        #expect(j["warnings"]?.array?.compactMap(\.string) == ["architecture: gpt2 in the reference's model, gpt1 here"])
        // Other sizes of the same family: each field that differs is named.
        let untied = try wk(["verify", Fixtures.path("gpt2-untied"), "--reference", ref])
        #expect(untied.stderr.contains("vocab_size: 96 in the reference's model, 112 here"), "\(untied.stderr)")
        #expect(untied.stderr.contains("layers: 2 in the reference's model, 3 here"), "\(untied.stderr)")
        // run --dump records the model too, so a dump verifies without a warning against the same model only.
        let dump = try wk(["run", Fixtures.path("llama-gqa"), "--tokens", "1,2,3", "--dump", dir + "/d.safetensors"])
        #expect(dump.status == 0, "\(dump.stderr)")
        #expect(try wk(["verify", Fixtures.path("llama-meta"), "--reference", dir + "/d.safetensors"]).stderr.isEmpty)
        #expect(try wk(["verify", Fixtures.path("llama-linear"), "--reference", dir + "/d.safetensors"]).stderr.contains("was recorded from a different model"))
    }

    /// Whether torch and transformers are importable (not in CI: torch is too big).
    static let hasTorch: Bool = ((try? Python.run("import torch, transformers").status) ?? 1) == 0

    /// scripts/make-reference.py on a fixture's directory and tokens gives the fixture's reference
    /// (to the last bits the CPU's kernels may change), records the model as WeightKit describes it,
    /// and verifies without a warning.
    @Test(.enabled(if: hasTorch, "needs torch and transformers"))
    func makeReferenceMatchesTheFixture() throws {
        let dir = RepoPaths.temporaryDirectory("make-ref")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let out = dir + "/r.safetensors"
        let r = try Subprocess.run([
            "/usr/bin/env", Python.executable, RepoPaths.root + "/scripts/make-reference.py", Fixtures.path("llama-gqa"),
            "--tokens", "0,95,7,36,65,94,27,56", "-o", out, "--threads", "1",
        ])
        #expect(r.status == 0, "\(r.stderr)")
        let check = try Python.check("""
            import sys, numpy as np
            from safetensors import safe_open
            from safetensors.numpy import load_file
            a, b = load_file(sys.argv[1]), load_file(sys.argv[2])
            assert sorted(a) == sorted(b), (sorted(a), sorted(b))
            for k in a:
                assert a[k].dtype == b[k].dtype and a[k].shape == b[k].shape, k
                assert np.abs(a[k].astype(np.float64) - b[k]).max() <= 1e-5, k
            print(safe_open(sys.argv[1], "np").metadata()["config_sha256"])
            """, [out, Fixtures.path("llama-gqa", "reference.safetensors")])
        let m = try LoadedModel.open(Fixtures.path("llama-gqa", "model.gguf"))
        #expect(check.trimmingCharacters(in: .whitespacesAndNewlines) == ReferenceProvenance.metadata(for: m.graph.config).last?.1)
        let v = try wk(["verify", Fixtures.path("llama-gqa", "model.gguf"), "--reference", out])
        #expect(v.status == 0 && v.stderr.isEmpty, "\(v.stdout)\(v.stderr)")
    }

    // MARK: convert

    /// convert writes OUT and the files beside it into OUT's directory only: never into the
    /// current directory unless OUT is there.
    @Test func convertWritesOnlyBesideOut() throws {
        let cwd = RepoPaths.temporaryDirectory("cwd")
        let out = RepoPaths.temporaryDirectory("out")
        defer {
            try? FileManager.default.removeItem(atPath: cwd)
            try? FileManager.default.removeItem(atPath: out)
        }
        func run(_ args: String) throws -> ProcessResult {
            try Subprocess.run(["/bin/sh", "-c", "cd \"$1\" && shift && exec \"$@\"", "sh", cwd, CLITests.binary] + args.split(separator: " ").map(String.init))
        }
        for target in ["\(out)/a.safetensors", "\(out)/b.h5", "\(out)/c.gguf", "\(out)/d/"] {
            let r = try run("convert \(Fixtures.path("gpt2-text")) \(target)")
            #expect(r.status == 0, "\(target): \(r.stderr)")
        }
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: cwd)) ?? []).isEmpty, "wrote into the current directory")
        // OUT in the current directory: its config.json and tokenizer files go there, beside it.
        let r = try run("convert \(Fixtures.path("gpt2-text")) here.safetensors")
        #expect(r.status == 0, "\(r.stderr)")
        let here = ((try? FileManager.default.contentsOfDirectory(atPath: cwd)) ?? []).sorted()
        #expect(here.contains("here.safetensors") && here.contains("config.json") && here.contains("tokenizer.json"), "\(here)")
    }

    /// A progress bar that Ctrl-C interrupts ends its line with "interrupted" (run under a
    /// pseudo-terminal, as the bar is drawn only on a terminal).
    @Test func interruptedProgressBarEndsItsLine() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/script") else { return }
        let dir = RepoPaths.temporaryDirectory("bar")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // 48 tensors of 1M floats (192 MB), written by numpy (fast in a debug build too).
        try Python.check("""
            import sys, numpy as np
            from safetensors.numpy import save_file
            k = np.arange(1 << 20)
            save_file({f"t{i}.weight": (((k * 7 + i) % 1000) * 0.001 - 0.5).astype(np.float32).reshape(1024, 1024)
                       for i in range(48)}, sys.argv[1])
            """, [dir + "/big.safetensors"])
        // In the pseudo-terminal: start the conversion (with SIGINT at its default: a shell starts
        // background jobs with it ignored); once the output (unnamed until complete, so seen through
        // /proc/PID/fd) has grown (the first tensor, and so the bar, is done) stop it, send SIGINT as Ctrl-C would, and let it continue: the signal is
        // handled before it can run on, however fast the conversion.
        let inner = """
            env --default-signal=INT "$1" convert "$2/big.safetensors" "$2/out.gguf" --dtype q4_1 & p=$!
            d=$(cd "$2" && pwd -P)
            for i in $(seq 2000); do
              n=0
              for f in /proc/$p/fd/*; do
                case "$(readlink "$f" 2>/dev/null)" in "$d"/*"(deleted)"|"$d"/*wk-tmp*) n=$(stat -L -c %s "$f" 2>/dev/null || echo 0) ;; esac
                if [ "$n" -gt 1000000 ]; then break 2; fi
              done
            done
            kill -STOP $p; kill -INT $p; kill -CONT $p; wait $p; echo "status $?"
            """
        let r = try Subprocess.run(["/usr/bin/script", "-qec", "sh -c '\(inner.replacingOccurrences(of: "'", with: "'\\''"))' sh \(CLITests.binary) \(dir)", "/dev/null"])
        let text = r.stdout.replacingOccurrences(of: "\r", with: "")
        #expect(text.contains("tensors"), "no progress bar drawn: \(text)")
        #expect(text.contains("  interrupted\n"), "\(text.debugDescription)")
        #expect(text.contains("status 130"), "\(text)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/out.gguf"))
    }
}
