// llama.cpp's own tokenizer test vectors (tests/test-tokenizer-0 format) for real vocabularies:
// `ggml-vocab-NAME.gguf` holds the vocabulary, `.inp` the texts, `.out` the expected ids.
// They are encoded as that test does: no BOS/EOS added, special tokens not parsed.
import Foundation
import GGUFFormat
import TestSupport
import Testing

@testable import Tokenizers

enum LlamaCppVocab {
    /// The three vocabularies in the shared peer data.
    static let shared = RepoPaths.root + "/../shared/peer-data/llama.cpp-vocab"
    /// The rest, fetched from the llama-cpp-python source package by scripts/fetch-llama-vocab.
    static let fetched = RepoPaths.root + "/.build/llama-vocab"

    static func directory(_ name: String) -> String {
        FileManager.default.fileExists(atPath: shared + "/ggml-vocab-\(name).gguf") ? shared : fetched
    }

    static func cases(_ name: String) throws -> [(text: String, ids: [Int])] {
        let base = directory(name) + "/ggml-vocab-\(name).gguf"
        let inp = try String(contentsOfFile: base + ".inp", encoding: .utf8)
        let out = try String(contentsOfFile: base + ".out", encoding: .utf8)
        var texts: [String] = []
        var rest = Substring(inp)
        let sep = "\n__ggml_vocab_test__\n"
        while !rest.isEmpty {
            if let r = rest.range(of: sep) {
                texts.append(String(rest[..<r.lowerBound]))
                rest = rest[r.upperBound...]
            } else {
                texts.append(String(rest))
                break
            }
        }
        let lines = out.split(separator: "\n", omittingEmptySubsequences: false).dropLast(out.hasSuffix("\n") ? 1 : 0)
        #expect(texts.count == lines.count, "\(name): \(texts.count) inputs, \(lines.count) outputs")
        return zip(texts, lines).map { t, l in (t, l.split(separator: " ").map { Int($0)! }) }
    }

    static func tokenizer(_ name: String) throws -> Tokenizer {
        let path = directory(name) + "/ggml-vocab-\(name).gguf"
        let file = try GGUFFile.open(path: path)
        return try #require(try Tokenizer.fromGGUF(file.metadata, path: path))
    }
}

@Suite struct LlamaCppVocabTests {
    /// Every BPE vocabulary llama.cpp ships vectors for whose pre-tokenizer is a regex list.
    static let bpe = ["gpt-2", "llama-bpe", "qwen2", "qwen35", "deepseek-coder", "deepseek-llm", "falcon", "mpt",
                      "starcoder", "refact", "command-r"]

    /// SentencePiece vocabularies (`tokenizer.ggml.model = llama`).
    static let sentencePiece = ["llama-spm", "phi-3"]

    @Test(arguments: bpe + sentencePiece)
    func everyCaseMatches(_ name: String) throws {
        let tok = try LlamaCppVocab.tokenizer(name)
        let cases = try LlamaCppVocab.cases(name)
        #expect(!cases.isEmpty)
        var failures: [String] = []
        for c in cases {
            let got = tok.encode(c.text, addSpecialTokens: false, parseSpecial: false)
            if got != c.ids { failures.append("\(c.text.debugDescription): got \(got), expected \(c.ids)") }
        }
        #expect(failures.isEmpty, "\(name): \(failures.count) of \(cases.count) cases differ:\n\(failures.prefix(10).joined(separator: "\n"))")
    }
}
