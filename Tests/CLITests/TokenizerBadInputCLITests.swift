// Bad tokenizer input on the command line: every vector of Formats/tokenizers/vectors.json through
// `weightkit tokenize`, and the commands that read a tokenizer on the way to something else (convert,
// generate, generate --chat) given a broken one. Each must exit 2 with one stderr line that begins
// "weightkit: " and names the file, print nothing on stdout and write nothing.
import Foundation
import TestSupport
import Testing
import WeightKit

@Suite("bad tokenizer input on the command line")
struct TokenizerBadInputCLITests {
    static let vectors = RepoPaths.formats("tokenizers/vectors")

    /// vectors.json's entries that `weightkit tokenize` reads (chat templates are read by generate --chat).
    static let entries: [(file: String, line: String?)] = {
        guard let text = try? String(contentsOfFile: RepoPaths.formats("tokenizers/vectors.json"), encoding: .utf8),
            let list = (try? JSONParser.parse(text))?["vectors"]?.array
        else { return [] }
        return list.compactMap { v in
            guard let file = v["file"]?.string, v["kind"]?.string != "chat template" else { return nil }
            guard let names = v["names"]?.string, let message = v["message"]?.string else { return (file, nil) }
            return (file, "weightkit: \(vectors)/\(names): \(message)")
        }
    }()

    func wk(_ args: [String]) throws -> ProcessResult { try Subprocess.run([CLITests.binary] + args) }

    /// The files under `dir` with their sizes, to show that a command wrote nothing there.
    func listing(_ dir: String) -> [String] {
        let names = (FileManager.default.subpaths(atPath: dir) ?? []).sorted()
        return names.map { name in
            let size = (try? FileManager.default.attributesOfItem(atPath: dir + "/" + name)[.size] as? Int) ?? -1
            return "\(name) \(size)"
        }
    }

    /// Expects exit 2, exactly `line` (plus a newline) on stderr and nothing on stdout.
    func expectRefused(_ r: ProcessResult, _ line: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(r.status == 2, "\(r.stderr)", sourceLocation: sourceLocation)
        #expect(r.stderr == line + "\n", sourceLocation: sourceLocation)
        #expect(r.stdout.isEmpty, "\(r.stdout)", sourceLocation: sourceLocation)
    }

    @Test func everyVectorThroughTokenize() throws {
        #expect(Self.entries.count >= 100)
        let before = listing(Self.vectors)
        for (file, line) in Self.entries {
            let r = try wk(["tokenize", Self.vectors + "/" + file, "ab c"])
            if let line {
                expectRefused(r, line)
            } else {
                #expect(r.status == 0, "\(file): \(r.stderr)")
            }
        }
        #expect(listing(Self.vectors) == before)
    }

    @Test func convertWithABrokenTokenizerWritesNothing() throws {
        let dir = try Fixtures.copy("gpt2-text")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // A second "decoder" key: Python would take the last, serde would refuse.
        let path = dir + "/tokenizer.json"
        var text = try String(contentsOfFile: path, encoding: .utf8)
        text = String(text.trimmingCharacters(in: .whitespacesAndNewlines).dropLast()) + #", "decoder": null}"#
        try text.write(toFile: path, atomically: false, encoding: .utf8)
        let out = RepoPaths.temporaryDirectory("convert-out")
        defer { try? FileManager.default.removeItem(atPath: out) }
        for target in [out + "/model.gguf", out + "/hf"] {
            let r = try wk(["convert", dir, target])
            expectRefused(r, "weightkit: \(path): key 'decoder' appears twice in the top-level object; JSON readers disagree on which one counts")
            #expect(listing(out).isEmpty, "\(listing(out))")
        }
    }

    @Test func generateWithATokenizerLargerThanTheEmbedding() throws {
        let dir = try Fixtures.copy("gpt2-text")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // One added token past the 512 rows of gpt2-text's embedding.
        let path = dir + "/tokenizer.json"
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let extra = #"{"id": 512, "content": "<extra>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true}, "#
        try text.replacingOccurrences(of: #""added_tokens": ["#, with: #""added_tokens": ["# + extra)
            .write(toFile: path, atomically: false, encoding: .utf8)
        let before = listing(dir)
        let r = try wk(["generate", dir, "--prompt", "Hello", "-n", "2"])
        expectRefused(r, "weightkit: \(dir): the tokenizer has 513 tokens but the model's embedding has 512 rows")
        #expect(listing(dir) == before)
    }

    @Test func aPromptThatIsNotUTF8() throws {
        // Raw bytes reach the process only through a shell: Swift's own strings are always valid UTF-8.
        let model = Fixtures.path("gpt2-text")
        for (command, argument) in [("tokenize '\(model)'", 3), ("generate '\(model)' -n 2 --prompt", 6)] {
            let r = try Subprocess.run(["/bin/sh", "-c", "'\(CLITests.binary)' \(command) \"$(printf 'a\\377b')\""])
            expectRefused(r, "weightkit: argument \(argument) is not valid UTF-8 text")
        }
    }

    @Test func chatWithAnUnsupportedTemplate() throws {
        let dir = try Fixtures.copy("gpt2-text")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/tokenizer_config.json"
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let template = #"{% macro turn(m) %}{{ m.content }}{% endmacro %}{% for m in messages %}{{ turn(m) }}{% endfor %}"#
        try text.replacingOccurrences(of: #""add_bos_token": false,"#, with: #""add_bos_token": false, "chat_template": ""# + template + #"","#)
            .write(toFile: path, atomically: false, encoding: .utf8)
        let before = listing(dir)
        // Without --chat the template is not read, and generation works.
        #expect(try wk(["generate", dir, "--prompt", "Hello", "-n", "2", "--json"]).status == 0)
        let r = try wk(["generate", dir, "--prompt", "Hello", "-n", "2", "--chat"])
        expectRefused(r, "weightkit: \(dir) (chat template): chat template: unsupported tag 'macro' at line 1")
        #expect(listing(dir) == before)
    }

    @Test func anExponentialSplitPatternOnALongPromptIsRefusedAtOnce() throws {
        let dir = RepoPaths.temporaryDirectory("split-regex")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let json = #"{"model": {"type": "BPE", "vocab": {"a": 0, "b": 1}, "merges": []}, "#
            + #""pre_tokenizer": {"type": "Split", "pattern": {"Regex": "(a+)+b"}, "behavior": "Isolated"}}"#
        try json.write(toFile: dir + "/tokenizer.json", atomically: false, encoding: .utf8)
        let clock = ContinuousClock()
        let start = clock.now
        let r = try wk(["tokenize", dir, String(repeating: "a", count: 100_000)])
        expectRefused(r, "weightkit: \(dir)/tokenizer.json: pre-tokenizer pattern '(a+)+b': '(a+)+' at character 0 nests a quantifier inside a repetition over the same characters, which backtracks exponentially; not supported")
        #expect(clock.now - start < .seconds(5))
    }
}
