// Text in, text out on the command line: tokenize, generate (greedy ids against transformers' own,
// recorded by Fixtures/generate.py), conversions that carry the tokenizer (read back by gguf-py,
// tokenizers and sentencepiece), and bad input.
import Foundation
import TestSupport
import Testing
import WeightKit

@Suite("text in, text out")
struct TextCLITests {
    static let models = ["gpt2-text", "llama-spm", "llama3-text"]

    func wk(_ args: [String]) throws -> ProcessResult { try Subprocess.run([CLITests.binary] + args) }

    /// generation.json: the prompt, its ids and transformers' 16 greedy ids.
    func recorded(_ model: String) throws -> (prompt: String, promptIds: [Int], ids: [Int]) {
        let j = try JSONParser.parse(try String(contentsOfFile: Fixtures.path(model, "generation.json"), encoding: .utf8))
        return (j["prompt"]!.string!, j["prompt_ids"]!.array!.compactMap(\.int), j["greedy_ids"]!.array!.compactMap(\.int))
    }

    func generate(_ path: String, _ prompt: String, _ extra: [String] = []) throws -> (promptIds: [Int], ids: [Int], text: String) {
        let r = try wk(["generate", path, "--prompt", prompt, "-n", "16", "--json"] + extra)
        #expect(r.status == 0, "\(r.stderr)")
        let j = try JSONParser.parse(r.stdout)
        return (j["prompt_ids"]?.array?.compactMap(\.int) ?? [], j["ids"]?.array?.compactMap(\.int) ?? [], j["text"]?.string ?? "")
    }

    @Test("tokenize gives transformers' prompt ids, with and without special tokens", arguments: models)
    func tokenize(_ model: String) throws {
        let rec = try recorded(model)
        let r = try wk(["tokenize", Fixtures.path(model), rec.prompt, "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let j = try JSONParser.parse(r.stdout)
        #expect(j["ids"]?.array?.compactMap(\.int) == rec.promptIds)
        #expect(j["tokens"]?.array?.count == rec.promptIds.count)
        let plain = try JSONParser.parse(try wk(["tokenize", Fixtures.path(model), rec.prompt, "--json", "--no-special"]).stdout)
        let plainIds = plain["ids"]?.array?.compactMap(\.int) ?? []
        // gpt2-text adds no BOS; the LLaMAs add one.
        #expect(plainIds == (model == "gpt2-text" ? rec.promptIds : Array(rec.promptIds.dropFirst())))
        let d = try wk(["tokenize", Fixtures.path(model), "--decode", plainIds.map(String.init).joined(separator: ","), "--json"])
        #expect(try JSONParser.parse(d.stdout)["text"]?.string == rec.prompt)
    }

    @Test("greedy generation equals transformers' generate(do_sample=False) from the HF directory", arguments: models)
    func generateHF(_ model: String) throws {
        let rec = try recorded(model)
        let g = try generate(Fixtures.path(model), rec.prompt)
        #expect(g.promptIds == rec.promptIds)
        #expect(g.ids == rec.ids)
    }

    @Test("HF -> GGUF (f32, f16) -> HF keeps the tokenizer: the same 16 greedy tokens everywhere", arguments: models)
    func convertCarriesTokenizer(_ model: String) throws {
        let rec = try recorded(model)
        let dir = RepoPaths.temporaryDirectory("text")
        for dtype in ["f32", "f16"] {
            let gguf = dir + "/\(model)-\(dtype).gguf"
            let c = try wk(["convert", Fixtures.path(model), gguf, "--dtype", dtype])
            #expect(c.status == 0, "\(c.stderr)")
            let g = try generate(gguf, rec.prompt)
            #expect(g.promptIds == rec.promptIds, "\(dtype)")
            #expect(g.ids == rec.ids, "\(dtype)")
        }
        let back = dir + "/\(model)-hf"
        let c = try wk(["convert", dir + "/\(model)-f32.gguf", back])
        #expect(c.status == 0, "\(c.stderr)")
        for f in ["tokenizer.json", "tokenizer_config.json"] { #expect(FileManager.default.fileExists(atPath: back + "/" + f), "\(f)") }
        let g = try generate(back, rec.prompt)
        #expect(g.promptIds == rec.promptIds)
        #expect(g.ids == rec.ids)
        // HF -> HF copies the tokenizer files byte for byte.
        let copy = dir + "/\(model)-copy"
        #expect(try wk(["convert", Fixtures.path(model), copy]).status == 0)
        for f in ["tokenizer.json", "tokenizer_config.json"] {
            #expect(FileManager.default.contents(atPath: copy + "/" + f) == FileManager.default.contents(atPath: Fixtures.path(model, f)), "\(f)")
        }
    }

    @Test("gguf-py reads the tokenizer keys WeightKit writes", arguments: models)
    func ggufPyReadsKeys(_ model: String) throws {
        let gguf = RepoPaths.temporaryDirectory("text") + "/m.gguf"
        #expect(try wk(["convert", Fixtures.path(model), gguf]).status == 0)
        let out = try Python.check("""
            import sys, gguf
            r = gguf.GGUFReader(sys.argv[1])
            def s(k): f = r.fields[k]; return bytes(f.parts[f.data[0]]).decode()
            def n(k): f = r.fields[k]; return int(f.parts[f.data[0]][0])
            toks = r.fields['tokenizer.ggml.tokens']
            types = r.fields['tokenizer.ggml.token_type']
            print(s('tokenizer.ggml.model'), s('tokenizer.ggml.pre'), len(toks.data), len(types.data), n('tokenizer.ggml.bos_token_id') if 'tokenizer.ggml.bos_token_id' in r.fields else -1, 'tokenizer.ggml.merges' in r.fields, 'tokenizer.ggml.scores' in r.fields)
            """, [gguf])
        let parts = out.split(separator: " ").map(String.init)
        let expected: [String: [String]] = [
            "gpt2-text": ["gpt2", "gpt-2", "512", "512", "511", "True", "False"],
            "llama-spm": ["llama", "default", "512", "512", "1", "False", "True"],
            "llama3-text": ["gpt2", "llama-bpe", "600", "600", "590", "True", "False"],
        ]
        #expect(parts.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) } == expected[model])
    }

    @Test("GGUF -> HF tokenizer files encode as the original in the reference libraries", arguments: models)
    func referenceLibrariesReadExport(_ model: String) throws {
        let dir = RepoPaths.temporaryDirectory("text")
        #expect(try wk(["convert", Fixtures.path(model), dir + "/m.gguf"]).status == 0)
        #expect(try wk(["convert", dir + "/m.gguf", dir + "/hf"]).status == 0)
        let strings = RepoPaths.fixtures("tokenizers/strings.jsonl")
        func reference(_ tokenizer: String) throws -> String {
            let r = try Subprocess.run(["/usr/bin/env", Python.executable, RepoPaths.root + "/scripts/tokenizer-reference.py", tokenizer, strings])
            #expect(r.status == 0, "\(r.stderr)")
            return r.stdout
        }
        // SentencePiece: the original's behaviour is sentencepiece's (and llama.cpp's); the GGUF keeps it.
        let original = model == "llama-spm"
            ? RepoPaths.fixtures("tokenizers/llama-spm/tokenizer-legacy.json") : Fixtures.path(model, "tokenizer.json")
        let a = try reference(original).split(separator: "\n")
        let b = try reference(dir + "/hf/tokenizer.json").split(separator: "\n")
        #expect(a.count >= 3000 && a.count == b.count)
        let differing = zip(a, b).filter { $0 != $1 }.count
        #expect(differing == 0, "\(model): \(differing) of \(a.count) strings differ")
        if model == "llama-spm" {
            let m1 = try reference(Fixtures.path(model, "tokenizer.model")).split(separator: "\n")
            let m2 = try reference(dir + "/hf/tokenizer.model").split(separator: "\n")
            #expect(m1 == m2, "the rebuilt tokenizer.model encodes differently in sentencepiece")
        }
    }

    @Test("sampling: a seed repeats a run; top-k 1 is greedy")
    func sampling() throws {
        let rec = try recorded("llama3-text")
        let path = Fixtures.path("llama3-text")
        let a = try generate(path, rec.prompt, ["--temperature", "1.5", "--seed", "7"])
        let b = try generate(path, rec.prompt, ["--temperature", "1.5", "--seed", "7"])
        let c = try generate(path, rec.prompt, ["--temperature", "1.5", "--seed", "8"])
        #expect(a.ids == b.ids)
        #expect(a.ids != c.ids)
        let k1 = try generate(path, rec.prompt, ["--temperature", "0.7", "--top-k", "1", "--seed", "3"])
        #expect(k1.ids == rec.ids)
    }

    @Test("--chat renders the chat template as jinja2 does and encodes it as tokenizers does, without a second BOS")
    func chat() throws {
        let r = try wk(["generate", Fixtures.path("llama3-text"), "--prompt", "Hi there", "--chat", "-n", "2", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let ids = try JSONParser.parse(r.stdout)["prompt_ids"]?.array?.compactMap(\.int) ?? []
        let expected = try Python.check("""
            import json, sys
            from jinja2.sandbox import ImmutableSandboxedEnvironment
            from tokenizers import Tokenizer
            d = sys.argv[1]
            cfg = json.load(open(d + '/tokenizer_config.json'))
            env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
            text = env.from_string(cfg['chat_template']).render(
                messages=[{'role': 'user', 'content': 'Hi there'}], add_generation_prompt=True,
                bos_token=cfg['bos_token'], eos_token=cfg['eos_token'])
            print(json.dumps(Tokenizer.from_file(d + '/tokenizer.json').encode(text, add_special_tokens=False).ids))
            """, [Fixtures.path("llama3-text")])
        #expect(ids == (try JSONParser.parse(expected).array?.compactMap(\.int)))
        #expect(ids.first == 590)
        #expect(ids.filter { $0 == 590 }.count == 1)
    }

    @Test("streamed text is the decoded continuation")
    func streaming() throws {
        let rec = try recorded("gpt2-text")
        let r = try wk(["generate", Fixtures.path("gpt2-text"), "--prompt", rec.prompt, "-n", "16"])
        #expect(r.status == 0)
        let j = try generate(Fixtures.path("gpt2-text"), rec.prompt)
        #expect(r.stdout == j.text + "\n")
    }

    @Test("run --prompt shows the next tokens as text")
    func runPrompt() throws {
        let rec = try recorded("gpt2-text")
        let r = try wk(["run", Fixtures.path("gpt2-text"), "--prompt", rec.prompt, "--top", "3", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let j = try JSONParser.parse(r.stdout)
        #expect(j["input_ids"]?.array?.compactMap(\.int) == rec.promptIds)
        #expect(j["top"]?.array?.first?.array?.first?.int == rec.ids.first)
        #expect(j["text"]?.array?.count == 3)
    }
}
