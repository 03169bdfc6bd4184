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
              regexes: ["[\r\n]", #"\s?\p{L}+"#, #"\s?\p{P}+"#, #"[\#u{4E00}-\#u{9FA5}\#u{800}-\#u{4E00}\#u{AC00}-\#u{D7FF}]+"#, #"\p{N}"#],
              ignoreMerges: false, addBos: false),
        .init(names: ["deepseek-llm"],
              regexes: [
                  "[\r\n]",
                  #"\s?[A-Za-z\#u{B5}\#u{C0}-\#u{D6}\#u{D8}-\#u{F6}\#u{F8}-\#u{1BA}\#u{1BC}-\#u{1BF}\#u{1C4}-\#u{293}\#u{295}-\#u{2AF}\#u{370}-\#u{373}\#u{376}\#u{377}\#u{37B}-\#u{37D}\#u{37F}\#u{386}\#u{388}-\#u{38A}\#u{38C}\#u{38E}-\#u{3A1}\#u{3A3}-\#u{3F5}\#u{3F7}-\#u{481}\#u{48A}-\#u{52F}\#u{531}-\#u{556}\#u{10A0}-\#u{10C5}\#u{13A0}-\#u{13F5}\#u{13F8}-\#u{13FD}\#u{1C90}-\#u{1CBA}\#u{1CBD}-\#u{1CBF}\#u{1D00}-\#u{1D2B}\#u{1D6B}-\#u{1D77}\#u{1D79}-\#u{1D9A}\#u{1E00}-\#u{1F15}\#u{1F18}-\#u{1F1D}\#u{1F20}-\#u{1F45}\#u{1F48}-\#u{1F4D}\#u{1F50}-\#u{1F57}\#u{1F59}\#u{1F5B}\#u{1F5D}\#u{1F5F}-\#u{1F7D}\#u{1F80}-\#u{1FB4}\#u{1FB6}-\#u{1FBC}\#u{1FBE}\#u{1FC2}-\#u{1FC4}\#u{1FC6}-\#u{1FCC}\#u{1FD0}-\#u{1FD3}\#u{1FD6}-\#u{1FDB}\#u{1FE0}-\#u{1FEC}\#u{1FF2}-\#u{1FF4}\#u{1FF6}-\#u{1FFC}\#u{2102}\#u{2107}\#u{210A}-\#u{2113}\#u{2115}\#u{2119}-\#u{211D}\#u{2124}\#u{2126}\#u{2128}\#u{212A}-\#u{212D}\#u{212F}-\#u{2134}\#u{2139}\#u{213C}-\#u{213F}\#u{2145}-\#u{2149}\#u{214E}\#u{2183}\#u{2184}\#u{2C00}-\#u{2C7B}\#u{2C7E}-\#u{2CE4}\#u{2CEB}-\#u{2CEE}\#u{2CF2}\#u{2CF3}\#u{A640}-\#u{A66D}\#u{A680}-\#u{A69B}\#u{A722}-\#u{A76F}\#u{A771}-\#u{A787}\#u{A78B}-\#u{A78E}\#u{AB70}-\#u{ABBF}\#u{FB00}-\#u{FB06}\#u{FB13}-\#u{FB17}\#u{FF21}-\#u{FF3A}\#u{FF41}-\#u{FF5A}\#u{10400}-\#u{1044F}\#u{104B0}-\#u{104D3}\#u{104D8}-\#u{104FB}\#u{10C80}-\#u{10CB2}\#u{10CC0}-\#u{10CF2}\#u{118A0}-\#u{118DF}\#u{1E900}-\#u{1E943}]+"#,
                  #"\s?[!-/:-~\#u{FF01}-\#u{FF0F}\#u{FF1A}-\#u{FF5E}\#u{2018}-\#u{201F}\#u{3000}-\#u{3002}]+"#,
                  #"\s+$"#,
                  #"[\#u{4E00}-\#u{9FA5}\#u{800}-\#u{4E00}\#u{AC00}-\#u{D7FF}]+"#,
                  #"\p{N}+"#,
              ],
              ignoreMerges: false, addBos: false),
        .init(names: ["qwen35"],
              regexes: [
                  #"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}| ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
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
