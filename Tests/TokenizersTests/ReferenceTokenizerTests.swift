// Encoding and decoding compared with the reference libraries (the Python `tokenizers` package and
// `sentencepiece`) on the tokenizers trained for the fixtures, over the 5,500 strings of
// Fixtures/tokenizers/strings.jsonl. The expected values are computed here, by
// scripts/tokenizer-reference.py, not stored.
import Foundation
import TensorCore
import TestSupport
import Testing

@testable import Tokenizers

struct ReferenceError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

enum ReferenceStrings {
    static let path = RepoPaths.fixtures("tokenizers/strings.jsonl")

    static func load() throws -> [String] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        return try text.split(separator: "\n", omittingEmptySubsequences: true).map { line in
            guard let s = try JSONParser.parse(String(line)).string else { throw ReferenceError( "not a string: \(line)") }
            return s
        }
    }

    /// (ids with special tokens, ids without, decoded text) per string, from the reference library.
    static func expected(_ tokenizerPath: String) throws -> [(ids: [Int], plain: [Int], decoded: String)] {
        let r = try Subprocess.run([
            "/usr/bin/env", Python.executable, RepoPaths.root + "/scripts/tokenizer-reference.py", tokenizerPath, path,
        ])
        guard r.status == 0 else { throw ReferenceError( "tokenizer-reference.py failed: \(r.stderr)") }
        return try r.stdout.split(separator: "\n").map { line in
            let v = try JSONParser.parse(String(line))
            let ids = v["ids"]?.array?.compactMap(\.int) ?? []
            let plain = v["ids_plain"]?.array?.compactMap(\.int) ?? []
            return (ids, plain, v["decoded"]?.string ?? "")
        }
    }
}

@Suite struct ReferenceTokenizerTests {
    enum Source: String, CaseIterable, CustomStringConvertible {
        case gpt2JSON = "gpt2-bpe/tokenizer.json"
        case gpt2VocabMerges = "gpt2-bpe"
        case llama3JSON = "llama3-bpe/tokenizer.json"
        case spmJSON = "llama-spm/tokenizer.json"
        case spmLegacyJSON = "llama-spm/tokenizer-legacy.json"
        case spmModel = "llama-spm/tokenizer.model"
        var description: String { rawValue }

        func load() throws -> Tokenizer {
            let path = RepoPaths.fixtures("tokenizers/" + rawValue)
            switch self {
            case .gpt2VocabMerges: return try Tokenizer.fromVocabAndMerges(vocab: path + "/vocab.json", merges: path + "/merges.txt")
            case .spmModel: return try Tokenizer.fromSentencePieceModel(path: path)
            default: return try Tokenizer.fromTokenizerJSON(path: path)
            }
        }
    }

    @Test(arguments: Source.allCases)
    func matchesTheReferenceLibrary(_ source: Source) throws {
        let strings = try ReferenceStrings.load()
        #expect(strings.count >= 3000)
        let expected = try ReferenceStrings.expected(RepoPaths.fixtures("tokenizers/" + source.rawValue))
        try #require(expected.count == strings.count)
        let tok = try source.load()
        // sentencepiece does not parse control pieces in text; tokenizers matches every added token.
        let parseSpecial = source != .spmModel
        var idFailures: [String] = []
        var decodeFailures: [String] = []
        for (s, e) in zip(strings, expected) {
            let ids = tok.encode(s, addSpecialTokens: true, parseSpecial: parseSpecial)
            let plain = tok.encode(s, addSpecialTokens: false, parseSpecial: parseSpecial)
            if ids != e.ids || plain != e.plain {
                idFailures.append("\(s.debugDescription): got \(plain), expected \(e.plain) (with specials \(ids) vs \(e.ids))")
            }
            let decoded = tok.decode(e.plain)
            if decoded != e.decoded { decodeFailures.append("\(e.plain): got \(decoded.debugDescription), expected \(e.decoded.debugDescription)") }
        }
        #expect(idFailures.isEmpty, "\(source): \(idFailures.count) of \(strings.count) encodings differ:\n\(idFailures.prefix(8).joined(separator: "\n"))")
        #expect(decodeFailures.isEmpty, "\(source): \(decodeFailures.count) of \(strings.count) decodings differ:\n\(decodeFailures.prefix(8).joined(separator: "\n"))")
    }
}
