// Reading Hugging Face `tokenizer.json` (the `tokenizers` library's serialization): the BPE model,
// normalizers, pre-tokenizers, post-processor, decoders and added tokens. Every component type that is
// not supported is refused by name, never ignored.
import TensorCore

#if canImport(Glibc)
    import Glibc
#endif

extension Tokenizer {
    /// Reads a `tokenizer.json` file.
    public static func fromTokenizerJSON(path: String) throws(TokenizerError) -> Tokenizer {
        let bytes = try readFileBytes(path)
        let json: JSONValue
        do {
            json = try bytes.withUnsafeBytes { buf throws(JSONError) in try JSONParser.parse(buf, rejectDuplicateKeys: false) }
        } catch {
            throw TokenizerError(path, "not valid JSON: \(error)")
        }
        return try fromTokenizerJSON(json, path: path)
    }

    static func fromTokenizerJSON(_ json: JSONValue, path: String) throws(TokenizerError) -> Tokenizer {
        func fail(_ m: String) -> TokenizerError { TokenizerError(path, m) }
        guard json.object != nil else { throw fail("the top level is not a JSON object") }
        guard let model = json["model"], model.object != nil else { throw fail("no \"model\"") }
        let type = model["type"]?.string ?? (model["merges"] != nil ? "BPE" : "?")
        guard type == "BPE" else {
            throw fail("model type \(quoted(type)) is not supported (BPE is; WordPiece, Unigram and WordLevel are not)")
        }
        if let p = model["continuing_subword_prefix"]?.string, !p.isEmpty {
            throw fail("BPE continuing_subword_prefix is not supported")
        }
        if let p = model["end_of_word_suffix"]?.string, !p.isEmpty { throw fail("BPE end_of_word_suffix is not supported") }
        if let d = model["dropout"]?.double, d > 0 { throw fail("BPE dropout \(d) is not supported (encoding would be random)") }

        // Vocabulary: token → id, ids 0..<n without gaps.
        guard let vocabObject = model["vocab"]?.object else { throw fail("model has no \"vocab\" object") }
        var tokens = [String?](repeating: nil, count: vocabObject.count)
        for (text, idValue) in vocabObject {
            guard let id = idValue.int, id >= 0, id < vocabObject.count else {
                throw fail("vocab id of \(quoted(text)) is \(idValue.int.map(String.init) ?? "not an integer"); ids must be 0..<\(vocabObject.count)")
            }
            if let other = tokens[id] { throw fail("vocab id \(id) is given to both \(quoted(other)) and \(quoted(text))") }
            tokens[id] = text
        }
        let modelTokens = tokens.map { $0! }

        // Merges: "a b" strings or ["a", "b"] pairs.
        var merges: [(String, String)] = []
        if let list = model["merges"]?.array {
            merges.reserveCapacity(list.count)
            for (i, m) in list.enumerated() {
                if let s = m.string {
                    let parts = s.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: false)
                    guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty, !parts[1].contains(" ") else {
                        throw fail("merge \(i) \(quoted(s)) is not two tokens separated by one space")
                    }
                    merges.append((String(parts[0]), String(parts[1])))
                } else if let pair = m.array, pair.count == 2, let a = pair[0].string, let b = pair[1].string {
                    merges.append((a, b))
                } else {
                    throw fail("merge \(i) is neither \"a b\" nor [\"a\", \"b\"]")
                }
            }
        }

        // Pre-tokenizer, and whether the model sees GPT-2's byte-level alphabet.
        var pre = PreTokenization()
        var byteLevel = false
        try readPreTokenizer(json["pre_tokenizer"], into: &pre, byteLevel: &byteLevel, path: path)
        let normalizers = try readNormalizer(json["normalizer"], path: path)
        var decoder = try readDecoder(json["decoder"], path: path)
        if decoder.isEmpty, byteLevel { decoder = [.byteLevel] }

        let unkId: Int32? = try model["unk_token"]?.string.map { (u: String) throws(TokenizerError) -> Int32 in
            guard let id = modelTokens.firstIndex(of: u) else { throw fail("unk_token \(quoted(u)) is not in the vocabulary") }
            return Int32(id)
        }
        let bpe = try BPEModel(
            tokens: modelTokens, merges: merges, byteLevel: byteLevel,
            ignoreMerges: model["ignore_merges"]?.bool ?? false, byteFallback: model["byte_fallback"]?.bool ?? false,
            unknownId: unkId, fuseUnknown: model["fuse_unk"]?.bool ?? false, path: path)
        if let (a, b) = bpe.duplicate {
            throw fail("vocab has \(quoted(modelTokens[a])) twice, as ids \(a) and \(b)")
        }

        // Added tokens; they may also extend the vocabulary past the model's ids.
        var added: [AddedToken] = []
        var vocabulary = modelTokens
        for (i, a) in (json["added_tokens"]?.array ?? []).enumerated() {
            guard let id = a["id"]?.int, let content = a["content"]?.string else {
                throw fail("added token \(i) has no integer id or no content")
            }
            guard id >= 0, id < 1 << 24 else { throw fail("added token \(quoted(content)) has id \(id), out of range") }
            if id < vocabulary.count {
                if id < modelTokens.count, modelTokens[id] != content {
                    throw fail("added token \(quoted(content)) has id \(id), which the vocabulary gives to \(quoted(modelTokens[id]))")
                }
            } else {
                while vocabulary.count < id { vocabulary.append("") }
                vocabulary.append(content)
            }
            if added.contains(where: { $0.id == id }) { throw fail("added token id \(id) appears twice") }
            added.append(AddedToken(
                id: id, content: content, special: a["special"]?.bool ?? false, lstrip: a["lstrip"]?.bool ?? false,
                rstrip: a["rstrip"]?.bool ?? false, singleWord: a["single_word"]?.bool ?? false,
                normalized: a["normalized"]?.bool ?? false))
        }

        // Post-processor: the ids before and after a single sequence.
        var prefix: [Int] = []
        var suffix: [Int] = []
        try readPostProcessor(json["post_processor"], prefix: &prefix, suffix: &suffix, vocabulary: vocabulary, path: path)

        var specials = SpecialTokens()
        specials.unk = unkId.map(Int.init)
        specials.addBos = !prefix.isEmpty
        specials.addEos = !suffix.isEmpty
        if let first = prefix.first { specials.bos = first }
        if let last = suffix.last { specials.eos = last }

        let preName = llamaCppPreName(pre: pre, byteLevel: byteLevel, ignoreMerges: bpe.ignoreMerges)
        return Tokenizer(
            kind: "BPE", source: "tokenizer.json", vocabulary: vocabulary, addedTokens: added, specials: specials,
            chatTemplate: nil, preName: preName, model: .bpe(bpe), normalizers: normalizers, pre: pre,
            byteLevel: byteLevel, prefix: prefix, suffix: suffix, decoder: decoder)
    }

    static func readPreTokenizer(
        _ v: JSONValue?, into pre: inout PreTokenization, byteLevel: inout Bool, path: String
    ) throws(TokenizerError) {
        guard let v, !v.isNull else { return }
        let type = v["type"]?.string ?? "?"
        switch type {
        case "Sequence":
            for p in v["pretokenizers"]?.array ?? [] { try readPreTokenizer(p, into: &pre, byteLevel: &byteLevel, path: path) }
        case "ByteLevel":
            byteLevel = true
            if v["add_prefix_space"]?.bool == true { pre.addPrefixSpace = true }
            if v["use_regex"]?.bool ?? true { pre.steps.append((.gpt2, false)) }
        case "Split":
            guard let pattern = v["pattern"] else { throw TokenizerError(path, "Split pre-tokenizer has no pattern") }
            if v["invert"]?.bool == true { throw TokenizerError(path, "Split pre-tokenizer with invert: true is not supported") }
            let behavior = v["behavior"]?.string ?? "Isolated"
            guard behavior == "Isolated" || behavior == "Removed" else {
                throw TokenizerError(path, "Split pre-tokenizer behavior \(quoted(behavior)) is not supported (Isolated and Removed are)")
            }
            let step: SplitPattern
            if let rx = pattern["Regex"]?.string {
                step = try SplitPattern.from(regex: rx, path: path)
            } else if let s = pattern["String"]?.string {
                step = .regex(try PatternRegex(escapeRegex(s), path: path))
            } else {
                throw TokenizerError(path, "Split pre-tokenizer pattern is neither Regex nor String")
            }
            pre.steps.append((step, behavior == "Removed"))
        case "Metaspace":
            let replacement = v["replacement"]?.string ?? "\u{2581}"
            let scheme: PreTokenization.PrependScheme
            if let s = v["prepend_scheme"]?.string {
                guard let p = PreTokenization.PrependScheme(rawValue: s) else {
                    throw TokenizerError(path, "Metaspace prepend_scheme \(quoted(s)) is not known")
                }
                scheme = p
            } else {
                scheme = (v["add_prefix_space"]?.bool ?? true) ? .always : .never
            }
            pre.metaspace = (replacement, scheme, v["split"]?.bool ?? true)
        case "Digits":
            let individual = v["individual_digits"]?.bool ?? false
            pre.steps.append((.regex(try PatternRegex(individual ? #"\p{N}"# : #"\p{N}+"#, path: path)), false))
        default:
            throw TokenizerError(path, "pre-tokenizer type \(quoted(type)) is not supported")
        }
    }

    static func readNormalizer(_ v: JSONValue?, path: String) throws(TokenizerError) -> [Normalizer] {
        guard let v, !v.isNull else { return [] }
        let type = v["type"]?.string ?? "?"
        switch type {
        case "Sequence":
            var out: [Normalizer] = []
            for n in v["normalizers"]?.array ?? [] { out += try readNormalizer(n, path: path) }
            return out
        case "Prepend":
            guard let p = v["prepend"]?.string else { throw TokenizerError(path, "Prepend normalizer has no prepend") }
            return [.prepend(p)]
        case "Replace":
            guard let a = v["pattern"]?["String"]?.string, let b = v["content"]?.string else {
                throw TokenizerError(path, "Replace normalizer: only a String pattern is supported")
            }
            return [.replace(a, b)]
        case "NFC": return [.nfc]
        case "NFD": return [.nfd]
        case "NFKC": return [.nfkc]
        case "NFKD": return [.nfkd]
        case "Lowercase": return [.lowercase]
        default: throw TokenizerError(path, "normalizer type \(quoted(type)) is not supported")
        }
    }

    static func readDecoder(_ v: JSONValue?, path: String) throws(TokenizerError) -> [DecoderStep] {
        guard let v, !v.isNull else { return [] }
        let type = v["type"]?.string ?? "?"
        switch type {
        case "Sequence":
            var out: [DecoderStep] = []
            for d in v["decoders"]?.array ?? [] { out += try readDecoder(d, path: path) }
            return out
        case "ByteLevel": return [.byteLevel]
        case "ByteFallback": return [.byteFallback]
        case "Fuse": return [.fuse]
        case "Replace":
            guard let a = v["pattern"]?["String"]?.string, let b = v["content"]?.string else {
                throw TokenizerError(path, "Replace decoder: only a String pattern is supported")
            }
            return [.replace(a, b)]
        case "Strip":
            return [.strip(content: v["content"]?.string ?? " ", start: v["start"]?.int ?? 0, stop: v["stop"]?.int ?? 0)]
        case "Metaspace":
            let replacement = v["replacement"]?.string ?? "\u{2581}"
            let scheme = v["prepend_scheme"]?.string.flatMap(PreTokenization.PrependScheme.init(rawValue:))
                ?? ((v["add_prefix_space"]?.bool ?? true) ? .always : .never)
            return [.metaspace(replacement: replacement, prependScheme: scheme)]
        default: throw TokenizerError(path, "decoder type \(quoted(type)) is not supported")
        }
    }

    static func readPostProcessor(
        _ v: JSONValue?, prefix: inout [Int], suffix: inout [Int], vocabulary: [String], path: String
    ) throws(TokenizerError) {
        guard let v, !v.isNull else { return }
        let type = v["type"]?.string ?? "?"
        switch type {
        case "Sequence":
            for p in v["processors"]?.array ?? [] {
                try readPostProcessor(p, prefix: &prefix, suffix: &suffix, vocabulary: vocabulary, path: path)
            }
        case "ByteLevel": return  // offsets only
        case "TemplateProcessing":
            guard let single = v["single"]?.array else { throw TokenizerError(path, "TemplateProcessing has no single template") }
            var seenSequence = false
            for item in single {
                if item["Sequence"] != nil {
                    seenSequence = true
                } else if let name = item["SpecialToken"]?["id"]?.string {
                    guard let ids = v["special_tokens"]?[name]?["ids"]?.array?.compactMap(\.int), !ids.isEmpty else {
                        throw TokenizerError(path, "TemplateProcessing names special token \(quoted(name)) without ids")
                    }
                    for id in ids where id < 0 || id >= vocabulary.count {
                        throw TokenizerError(path, "TemplateProcessing token \(quoted(name)) has id \(id), out of range")
                    }
                    if seenSequence { suffix += ids } else { prefix += ids }
                } else {
                    throw TokenizerError(path, "TemplateProcessing item is neither Sequence nor SpecialToken")
                }
            }
        case "RobertaProcessing", "BertProcessing":
            guard let cls = v["cls"]?.array?.last?.int, let sep = v["sep"]?.array?.last?.int else {
                throw TokenizerError(path, "\(type) has no cls/sep ids")
            }
            prefix = [cls]
            suffix = [sep]
        default: throw TokenizerError(path, "post-processor type \(quoted(type)) is not supported")
        }
    }

    static func escapeRegex(_ s: String) -> String {
        var out = ""
        for ch in s.unicodeScalars {
            if "\\^$.|?*+()[]{}".unicodeScalars.contains(ch) { out += "\\" }
            out.unicodeScalars.append(ch)
        }
        return out
    }
}

/// The whole file's bytes, with the file named in any error.
func readFileBytes(_ path: String, limit: Int = 1 << 30) throws(TokenizerError) -> [UInt8] {
    guard let f = fopen(path, "rb") else { throw TokenizerError(path, "cannot open: \(String(cString: strerror(errno)))") }
    defer { fclose(f) }
    var out: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 20)
    while true {
        let n = fread(&chunk, 1, chunk.count, f)
        if n > 0 { out.append(contentsOf: chunk[0..<n]) }
        if out.count > limit { throw TokenizerError(path, "larger than \(limit >> 20) MiB; not a tokenizer file") }
        if n < chunk.count {
            if ferror(f) != 0 { throw TokenizerError(path, "read error: \(String(cString: strerror(errno)))") }
            break
        }
    }
    return out
}
