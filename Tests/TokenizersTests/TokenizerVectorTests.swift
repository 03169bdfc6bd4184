// Walks Formats/tokenizers/vectors.json: every malformed tokenizer input is refused with its exact one-line
// message, naming the file that is wrong, and every base it is made from loads. Then the two cases too big to
// keep in the repository (a 10 MB vocabulary entry, a file over the read limit), and the bounds of the
// pre-tokenizer regex engine on patterns that backtrack exponentially.

import Foundation
import GGUFFormat
import TensorCore
import TestSupport
import Testing

@testable import Tokenizers

/// One entry of vectors.json.
struct TokenizerVector: Sendable, CustomTestStringConvertible {
    let file: String
    let kind: String
    /// The file the message names (relative to vectors/), and the message after "PATH: "; nil when the input loads.
    let names: String?
    let message: String?
    var testDescription: String { file }

    static let directory = RepoPaths.formats("tokenizers/vectors")

    static func all() throws -> [TokenizerVector] {
        let text = try String(contentsOfFile: RepoPaths.formats("tokenizers/vectors.json"), encoding: .utf8)
        return try (JSONParser.parse(text)["vectors"]?.array ?? []).map { v in
            TokenizerVector(
                file: try #require(v["file"]?.string), kind: try #require(v["kind"]?.string), names: v["names"]?.string,
                message: v["message"]?.string)
        }
    }

    /// The full line WeightKit must give, or nil when the input loads.
    var expectedLine: String? {
        guard let names, let message else { return nil }
        return "\(Self.directory)/\(names): \(message)"
    }

    /// Loads the vector as WeightKit does for its kind: the error line, or nil when it loaded.
    func load() -> String? {
        let path = Self.directory + "/" + file
        do {
            switch kind {
            case "gguf":
                // Both readings: typed metadata, and long arrays handed over packed (every array, here).
                let f = try GGUFFile.open(path: path)
                let packed = Result { () throws(TokenizerError) in
                    try Tokenizer.fromGGUF(f.metadata(arraysUpTo: 0), path: path, strings: f.packedStrings, numbers: f.numbers)
                }
                let typed = Result { () throws(TokenizerError) in try Tokenizer.fromGGUF(f.metadata, path: path) }
                if case .failure(let a) = packed, case .failure(let b) = typed, a.description != b.description {
                    return "packed: \(a); typed: \(b)"
                }
                if case .failure(let e) = typed { throw e }
                if case .failure(let e) = packed { throw e }
            case "chat template":
                let t = try Tokenizer.load(path: path)
                guard let source = t.chatTemplate else { return "no chat template" }
                _ = try ChatTemplate(source, path: path + " (chat template)")
            default:
                _ = try Tokenizer.load(path: path)
            }
            return nil
        } catch {
            return "\(error)"
        }
    }
}

@Suite struct TokenizerVectorTests {
    static let vectors = (try? TokenizerVector.all()) ?? []

    @Test func theListIsComplete() throws {
        let kinds = Dictionary(grouping: Self.vectors, by: \.kind).mapValues(\.count)
        #expect(Self.vectors.count >= 100, "\(Self.vectors.count)")
        #expect(kinds.keys.sorted() == ["chat template", "directory", "gguf", "tokenizer.json", "tokenizer.model", "vocab+merges"])
        // Every file listed exists, and every file present is listed.
        let listed = Set(Self.vectors.map(\.file))
        for v in Self.vectors {
            #expect(FileManager.default.fileExists(atPath: TokenizerVector.directory + "/" + v.file), "\(v.file)")
        }
        for sub in ["json", "model", "gguf", "dirs"] {
            for name in try FileManager.default.contentsOfDirectory(atPath: TokenizerVector.directory + "/" + sub) {
                #expect(listed.contains(sub + "/" + name), "\(sub)/\(name) is not in vectors.json")
            }
        }
    }

    @Test(arguments: vectors)
    func vector(_ v: TokenizerVector) {
        let got = v.load()
        #expect(got == v.expectedLine)
        if let got { #expect(!got.contains("\n")) }
    }

    @Test func aTenMegabyteVocabularyEntryLoadsAndEncodesQuickly() throws {
        let dir = RepoPaths.temporaryDirectory("tok-bomb")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let base = try String(contentsOfFile: TokenizerVector.directory + "/json/base.json", encoding: .utf8)
        let long = String(repeating: "ab", count: 5 << 20)
        let text = base.replacingOccurrences(of: #""<s>": 6"#, with: #""<s>": 6, ""# + long + #"": 7"#)
        #expect(text.utf8.count > 10 << 20)
        try text.write(toFile: dir + "/tokenizer.json", atomically: false, encoding: .utf8)
        let clock = ContinuousClock()
        let start = clock.now
        let t = try Tokenizer.load(path: dir + "/tokenizer.json")
        #expect(t.vocabularySize == 8)
        #expect(t.encode("ab c", addSpecialTokens: false) == [3, 5, 4])
        #expect(clock.now - start < .seconds(10))
    }

    @Test func aFileOverTheReadLimitIsRefusedUnread() throws {
        let dir = RepoPaths.temporaryDirectory("tok-huge")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/tokenizer.json"
        // A sparse file: one byte over the limit takes no disk space, and is refused before a byte is read.
        #expect(FileManager.default.createFile(atPath: path, contents: Data("{".utf8)))
        #expect(truncate(path, off_t(1 << 30) + 1) == 0)
        let clock = ContinuousClock()
        let start = clock.now
        #expect(throws: TokenizerError(path, "the file is 1073741825 bytes, larger than the 1024 MiB a tokenizer file may be")) {
            try Tokenizer.load(path: path)
        }
        #expect(clock.now - start < .seconds(1))
    }
}

extension TokenizerError: Equatable {
    public static func == (a: TokenizerError, b: TokenizerError) -> Bool { a.description == b.description }
}

/// The regex engine's bounds: what is refused when a pattern is read, and how long matching may take when a
/// pattern gets past those checks.
@Suite struct PatternRegexBoundsTests {
    static let manyA = String(repeating: "a", count: 100_000)
    /// GPT-4o's pre-tokenizer pattern, as tokenizer.json files write it.
    static let gpt4o =
        #"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+"#

    /// Splits `text` with `r`: the pieces, whether it finished within its budget, and the time taken.
    func split(_ r: PatternRegex, _ text: String) -> (pieces: [Range<Int>], finished: Bool, seconds: Double) {
        var buffer = ScalarBuffer()
        Array(text.utf8).withUnsafeBufferPointer { buffer.load($0) }
        var out: [Range<Int>] = []
        let clock = ContinuousClock()
        let start = clock.now
        let finished = r.split(buffer, 0, buffer.values.count, into: &out)
        let d = clock.now - start
        return (out, finished, Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18)
    }

    func refusal(_ pattern: String) -> String? {
        do {
            _ = try PatternRegex(pattern, path: "t.json")
            return nil
        } catch {
            return error.description
        }
    }

    @Test func exponentialPatternsAreRefusedWhenRead() {
        #expect(refusal("(a+)+b") == "t.json: pre-tokenizer pattern '(a+)+b': '(a+)+' at character 0 nests a quantifier inside a repetition over the same characters, which backtracks exponentially; not supported")
        #expect(refusal("(a|a)*c") == "t.json: pre-tokenizer pattern '(a|a)*c': '(a|a)*' at character 0 repeats alternatives that can begin with the same character, which backtracks exponentially; not supported")
        #expect(refusal("x(?:a*)*") == "t.json: pre-tokenizer pattern 'x(?:a*)*': '(?:a*)*' at character 1 nests a quantifier inside a repetition over the same characters, which backtracks exponentially; not supported")
        // \p{L}+ can be followed by a new iteration's letter (\s? may match nothing): ambiguous.
        #expect(refusal(#"(?:\p{L}+\s?)+$"#) != nil)
        #expect(refusal(#"(?:\s*\S)+x"#) == nil)  // each iteration ends at its one \S: not ambiguous
        #expect(refusal("(?:ab|a)+") != nil)
        #expect(refusal("(?:AB|(?i:a))+").map { $0.contains("alternatives") } == true)
        #expect(refusal("((a+)b)+") == nil)
        #expect(refusal("(?:ab)+") == nil)
        #expect(refusal(#"(?:\p{L}|\p{N})+"#) == nil)
        #expect(refusal("(?:a+b)+") == nil)
        #expect(refusal("(?:a+){2}") != nil)
        #expect(refusal("(?:a+)?b") == nil)
        #expect(refusal(String(repeating: "a?", count: 600)) == "t.json: pre-tokenizer pattern 'a?a?a?a?a?a?a?a?a?a?a?a?a?a?a?a?a?a?a?a?a?a?a?a?a?a?a?a?a?a?'… has too many parts in a row: matching it nests 601 levels, more than the 500 supported")
    }

    @Test func everyPatternInUseIsAccepted() throws {
        for e in PreTokenizerTable.entries {
            for r in e.regexes { #expect(refusal(r) == nil, "\(e.names[0])") }
        }
        for r in [SplitPattern.gpt2Source, SplitPattern.llama3Source, SplitPattern.qwen2Source,
                  // GPT-4o's pattern, as tokenizer.json files write it.
                  Self.gpt4o] {
            #expect(refusal(r) == nil, "\(r)")
        }
    }

    /// A tokenizer.json whose Split pattern is `(a+)+b` or `(a|a)*c` is refused as it is read, so encoding
    /// 100,000 'a's with it never starts.
    @Test(arguments: [
        ("(a+)+b", "'(a+)+' at character 0 nests a quantifier inside a repetition over the same characters, which backtracks exponentially; not supported"),
        ("(a|a)*c", "'(a|a)*' at character 0 repeats alternatives that can begin with the same character, which backtracks exponentially; not supported"),
    ])
    func exponentialSplitPatternsNeverRun(_ pattern: String, _ why: String) throws {
        let dir = RepoPaths.temporaryDirectory("tok-regex")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let json = #"{"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "c": 2}, "merges": []}, "#
            + #""pre_tokenizer": {"type": "Split", "pattern": {"Regex": "\#(pattern)"}, "behavior": "Isolated"}}"#
        try json.write(toFile: dir + "/tokenizer.json", atomically: false, encoding: .utf8)
        let clock = ContinuousClock()
        let start = clock.now
        var message = ""
        do {
            let t = try Tokenizer.load(path: dir + "/tokenizer.json")
            _ = t.encode(Self.manyA)
        } catch {
            message = error.description
        }
        #expect(message == "\(dir)/tokenizer.json: pre-tokenizer pattern '\(pattern)': \(why)")
        #expect(clock.now - start < .milliseconds(500))
    }

    /// The same two patterns built by hand, past the load-time check: the step budget ends the search and
    /// leaves the text as one piece. On 100,000 'a's that is 6.5 million steps: about 0.3 s optimised, a few
    /// seconds in a debug build, so the timed run uses 10,000.
    @Test func anExhaustedBudgetEndsTheSearch() {
        let a = RegexNode.char(0x61, fold: false)
        let nested = PatternRegex(source: "(a+)+b", unchecked: .sequence([
            .repetition(.repetition(a, min: 1, max: .max, greedy: true), min: 1, max: .max, greedy: true),
            .char(0x62, fold: false),
        ]))
        let alternatives = PatternRegex(source: "(a|a)*c", unchecked: .sequence([
            .repetition(.alternation([a, a]), min: 0, max: .max, greedy: true), .char(0x63, fold: false),
        ]))
        for r in [nested, alternatives] {
            let s = split(r, String(repeating: "a", count: 10_000))
            #expect(s.pieces == [0..<10_000], "\(r.source)")
            #expect(!s.finished)
            #expect(s.seconds < 2, "\(r.source): \(s.seconds) s")
            // A text that matches finishes within the budget.
            let end = r.source.hasSuffix("b") ? "b" : "c"
            let short = split(r, "xaaaa" + end + "x")
            #expect(short.finished)
            #expect(short.pieces == [0..<1, 1..<6, 6..<7], "\(r.source)")
        }
    }

    @Test func quadraticBacktrackingIsLinearOrBounded() throws {
        // \s+$ over spaces that do not reach a line end: every start inside the run is skipped.
        let lead = try PatternRegex(#"\s+$"#, path: "t")
        let s = split(lead, String(repeating: " ", count: 100_000) + "x")
        #expect(s.finished)
        #expect(s.pieces == [0..<100_001])
        #expect(s.seconds < 0.5, "\(s.seconds) s")
        #expect(split(lead, "a  \n b  ").pieces == [0..<1, 1..<3, 3..<6, 6..<8])
        // The same inside an alternation is not skipped: the budget ends it.
        let alternation = try PatternRegex(#"\s+$|x"#, path: "t")
        let t = split(alternation, String(repeating: " ", count: 20_000) + "y")
        #expect(!t.finished)
        #expect(t.pieces == [0..<20_001])
        #expect(t.seconds < 2, "\(t.seconds) s")
    }

    /// The patterns in use stay far inside the budget on the reference strings: at most about 20 steps per
    /// scalar where the budget allows 64.
    @Test func thePatternsInUseStayWithinTheBudget() throws {
        let lines = try String(contentsOfFile: RepoPaths.fixtures("tokenizers/strings.jsonl"), encoding: .utf8)
            .split(separator: "\n")
        let all = try lines.compactMap { try JSONParser.parse(String($0)).string }
        // Every seventh string alone (the short ones check the base allowance), and all of them joined.
        var texts = stride(from: 0, to: all.count, by: 7).map { all[$0] }
        texts.append(all.joined(separator: "\n"))
        let patterns = Set(PreTokenizerTable.entries.flatMap(\.regexes) + [SplitPattern.gpt2Source, SplitPattern.llama3Source, Self.gpt4o])
        var worst = 0.0
        for p in patterns {
            let r = try PatternRegex(p, path: "t")
            for text in texts {
                var buffer = ScalarBuffer()
                Array(text.utf8).withUnsafeBufferPointer { buffer.load($0) }
                var out: [Range<Int>] = []
                let (finished, steps) = r.splitCountingSteps(buffer, 0, buffer.values.count, into: &out)
                #expect(finished)
                if buffer.values.count < 200 {
                    #expect(steps < PatternRegex.baseSteps / 20, "\(p): \(steps) steps")
                } else {
                    worst = max(worst, Double(steps) / Double(buffer.values.count))
                }
            }
        }
        #expect(worst < Double(PatternRegex.stepsPerScalar) / 2, "\(worst) steps per scalar")
    }

    @Test func aLongRunOfARepeatedGroupBecomesSeveralMatches() throws {
        let r = try PatternRegex("(?:ab)+", path: "t")
        let s = split(r, String(repeating: "ab", count: 2_000))
        #expect(s.finished)
        #expect(s.pieces.count > 1)
        #expect(s.pieces.allSatisfy { $0.count <= 2 * PatternRegex.maxGroupIterations && $0.count % 2 == 0 })
        #expect(s.pieces.last?.upperBound == 4_000)
        // A short run is one match.
        #expect(split(r, "ababx").pieces == [0..<4, 4..<5])
    }
}
