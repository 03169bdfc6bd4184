// llama.cpp's BPE pre-tokenizers by their `tokenizer.ggml.pre` names: each is a list of regex steps
// plus two options. Only entries whose every regex this engine supports are listed; an unknown name
// is refused. Names that share a definition map to the same entry.

struct PreTokenizerEntry: Sendable {
    /// Names llama.cpp accepts for this definition; the first is what WeightKit writes.
    let names: [String]
    let regexes: [String]
    /// Take a word that is itself a token whole, before merging (Llama-3).
    let ignoreMerges: Bool
    /// Whether llama.cpp adds BOS when the file does not say.
    let addBos: Bool
}

enum PreTokenizerTable {
    static let gpt2NoTail = #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)"#
    static let llama3Adapted =
        #"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
    static let qwen2Adapted =
        #"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#

    static let entries: [PreTokenizerEntry] = [
        .init(names: ["gpt-2", "mpt", "olmo", "phi-2", "jais", "roberta-bpe"], regexes: [gpt2NoTail],
              ignoreMerges: false, addBos: false),
        .init(names: ["llama-bpe", "llama3", "llama-v3", "dbrx", "smaug-bpe"], regexes: [llama3Adapted],
              ignoreMerges: true, addBos: true),
        .init(names: ["default"],
              regexes: [#"[\p{P}\$\+<=>\^~\|]+"#, gpt2NoTail, #"\p{N}+"#, "[0-9][0-9][0-9]"],
              ignoreMerges: false, addBos: false),
        .init(names: ["qwen2", "stablelm2", "deepseek-r1-qwen", "megrez"], regexes: [qwen2Adapted],
              ignoreMerges: false, addBos: false),
        .init(names: ["starcoder", "refact", "command-r", "smollm", "codeshell", "exaone", "minerva-7b"],
              regexes: [#"\p{N}"#, gpt2NoTail], ignoreMerges: false, addBos: false),
        .init(names: ["falcon"], regexes: [#"[\p{P}\$\+<=>\^~\|`]+"#, gpt2NoTail, "[0-9][0-9][0-9]"],
              ignoreMerges: false, addBos: false),
        .init(names: ["deepseek-coder"],
              regexes: ["[\r\n]", #"\s?\p{L}+"#, #"\s?\p{P}+"#, "[一-龥ࠀ-一가-퟿]+", #"\p{N}"#],
              ignoreMerges: false, addBos: false),
        .init(names: ["deepseek-llm"],
              regexes: [
                  "[\r\n]",
                  #"\s?[A-Za-zµÀ-ÖØ-öø-ƺƼ-ƿǄ-ʓʕ-ʯͰ-ͳͶͷͻ-ͽͿΆΈ-ΊΌΎ-ΡΣ-ϵϷ-ҁҊ-ԯԱ-ՖႠ-ჅᎠ-Ᏽᏸ-ᏽᲐ-ᲺᲽ-Ჿᴀ-ᴫᵫ-ᵷᵹ-ᶚḀ-ἕἘ-Ἕἠ-ὅὈ-Ὅὐ-ὗὙὛὝὟ-ώᾀ-ᾴᾶ-ᾼιῂ-ῄῆ-ῌῐ-ΐῖ-Ίῠ-Ῥῲ-ῴῶ-ῼℂℇℊ-ℓℕℙ-ℝℤΩℨK-ℭℯ-ℴℹℼ-ℿⅅ-ⅉⅎↃↄⰀ-ⱻⱾ-ⳤⳫ-ⳮⳲⳳꙀ-ꙭꚀ-ꚛꜢ-ꝯꝱ-ꞇꞋ-ꞎꭰ-ꮿﬀ-ﬆﬓ-ﬗＡ-Ｚａ-ｚ𐐀-𐑏𐒰-𐓓𐓘-𐓻𐲀-𐲲𐳀-𐳲𑢠-𑣟𞤀-𞥃]+"#,
                  #"\s?[!-/:-~！-／：-～‘-‟　-。]+"#,
                  #"\s+$"#,
                  "[一-龥ࠀ-一가-퟿]+",
                  #"\p{N}+"#,
              ],
              ignoreMerges: false, addBos: false),
        .init(names: ["chatglm-bpe"], regexes: [llama3Adapted], ignoreMerges: false, addBos: false),
    ]

    static func entry(named name: String) -> PreTokenizerEntry? {
        entries.first { $0.names.contains(name) }
    }

    /// Every supported name, for error messages and docs.
    static var supportedNames: [String] { entries.flatMap(\.names) }

    /// The compiled steps of an entry.
    static func steps(_ e: PreTokenizerEntry, path: String) throws(TokenizerError) -> [SplitPattern] {
        var out: [SplitPattern] = []
        for r in e.regexes {
            switch r {
            case gpt2NoTail, SplitPattern.gpt2Source: out.append(.gpt2)
            case llama3Adapted: out.append(.llama3(maxDigits: 3))
            case qwen2Adapted: out.append(.llama3(maxDigits: 1))
            default: out.append(try SplitPattern.from(regex: r, path: path))
            }
        }
        return out
    }
}

extension Tokenizer {
    /// The `tokenizer.ggml.pre` name for a tokenizer.json pre-tokenizer, from its definition (the regexes
    /// and options), or nil when llama.cpp has no equivalent.
    static func llamaCppPreName(pre: PreTokenization, byteLevel: Bool, ignoreMerges: Bool) -> String? {
        guard byteLevel, !pre.addPrefixSpace, pre.metaspace == nil, !pre.steps.contains(where: \.removed) else { return nil }
        let patterns = pre.steps.map(\.pattern)
        for e in PreTokenizerTable.entries where e.ignoreMerges == ignoreMerges {
            guard let steps = try? PreTokenizerTable.steps(e, path: "") else { continue }
            if steps == patterns { return e.names[0] }
        }
        return nil
    }
}
