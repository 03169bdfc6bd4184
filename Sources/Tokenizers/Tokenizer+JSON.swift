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
        try fromTokenizerJSON(bytes: try readFileBytes(path), path: path)
    }

    /// Reads `tokenizer.json` bytes held in memory; `path` names the file in errors.
    static func fromTokenizerJSON(bytes: [UInt8], path: String) throws(TokenizerError) -> Tokenizer {
        // The vocabulary and merges, most of the file, are read by VocabularyScan; the rest, with those two
        // values emptied, by JSONParser. A file the scan does not follow goes through JSONParser whole.
        if let scan = VocabularyScan(bytes) {
            let json: JSONValue
            do {
                json = try parseJSONFile(scan.skeleton, path: path)
            } catch {
                // The skeleton's byte offsets are not the file's: the file's own reading names the place.
                _ = try parseJSONFile(bytes, path: path, skippingKeysOf: ["model", "vocab"])
                throw error
            }
            return try fromTokenizerJSON(json, path: path, scanned: scan)
        }
        // Keys of the vocabulary are not checked there (BPEModel refuses a vocabulary with byte-identical
        // entries, and names both ids).
        let json = try parseJSONFile(bytes, path: path, skippingKeysOf: ["model", "vocab"])
        return try fromTokenizerJSON(json, path: path)
    }

    static func fromTokenizerJSON(_ json: JSONValue, path: String, scanned: VocabularyScan? = nil) throws(TokenizerError) -> Tokenizer {
        func fail(_ m: String) -> TokenizerError { TokenizerError(path, m) }
        guard json.object != nil else { throw fail("the top level is not a JSON object") }
        guard let model = json["model"], model.object != nil else { throw fail("no \"model\" object") }
        guard let type = model["type"]?.string ?? (model["merges"] != nil ? "BPE" : nil) else {
            throw fail("the model has no \"type\" (only BPE is supported)")
        }
        guard type == "BPE" else {
            throw fail("model type \(excerpt(type)) is not supported (BPE is; WordPiece, Unigram and WordLevel are not)")
        }
        if let p = model["continuing_subword_prefix"]?.string, !p.isEmpty {
            throw fail("BPE continuing_subword_prefix is not supported")
        }
        if let p = model["end_of_word_suffix"]?.string, !p.isEmpty { throw fail("BPE end_of_word_suffix is not supported") }
        if let d = model["dropout"]?.double, d > 0 { throw fail("BPE dropout \(d) is not supported (encoding would be random)") }

        // Vocabulary: token → id, ids 0..<n without gaps. Merges: "a b" strings or ["a", "b"] pairs.
        let modelTokens: [String]
        var texts: PackedStrings? = nil
        var packedMerges = PackedMerges()
        if let scanned {
            (modelTokens, texts) = try scanned.vocabulary(path: path)
            packedMerges = scanned.merges
        } else {
            guard let vocabObject = model["vocab"]?.object else { throw fail("the model has no \"vocab\" object of token → id") }
            var tokens = [String?](repeating: nil, count: vocabObject.count)
            for (text, idValue) in vocabObject {
                guard let id = idValue.int, id >= 0, id < vocabObject.count else {
                    throw fail("vocab id of \(excerpt(text)) is \(jsonExcerpt(idValue)); \(vocabularyIdRule(vocabObject.count))")
                }
                if let other = tokens[id] { throw fail("vocab id \(id) is given to both \(excerpt(other)) and \(excerpt(text))") }
                tokens[id] = text
            }
            modelTokens = tokens.map { $0! }

            var merges: [(String, String)] = []
            if let list = model["merges"]?.array {
                merges.reserveCapacity(list.count)
                for (i, m) in list.enumerated() {
                    if let s = m.string {
                        let parts = s.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: false)
                        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty, !parts[1].contains(" ") else {
                            throw fail("merge \(i) \(excerpt(s)) is not two tokens separated by one space")
                        }
                        merges.append((String(parts[0]), String(parts[1])))
                    } else if let pair = m.array, pair.count == 2, let a = pair[0].string, let b = pair[1].string {
                        merges.append((a, b))
                    } else {
                        throw fail("merge \(i) is \(jsonExcerpt(m)), neither \"a b\" nor [\"a\", \"b\"]")
                    }
                }
            }
            packedMerges = PackedMerges(merges)
        }

        // Pre-tokenizer, and whether the model sees GPT-2's byte-level alphabet.
        var pre = PreTokenization()
        var byteLevel = false
        try readPreTokenizer(json["pre_tokenizer"], into: &pre, byteLevel: &byteLevel, path: path)
        let normalizers = try readNormalizer(json["normalizer"], path: path)
        var decoder = try readDecoder(json["decoder"], path: path)
        if decoder.isEmpty, byteLevel { decoder = [.byteLevel] }

        let packed = texts ?? PackedStrings(modelTokens)
        let unkId: Int32? = try model["unk_token"]?.string.map { (u: String) throws(TokenizerError) -> Int32 in
            guard let id = packed.firstIndex(of: u) else { throw fail("unk_token \(excerpt(u)) is not in the vocabulary") }
            return Int32(id)
        }
        let bpe = try BPEModel(
            tokens: modelTokens, texts: packed, merges: packedMerges, byteLevel: byteLevel,
            ignoreMerges: model["ignore_merges"]?.bool ?? false, byteFallback: model["byte_fallback"]?.bool ?? false,
            unknownId: unkId, fuseUnknown: model["fuse_unk"]?.bool ?? false, path: path)
        if let (a, b) = bpe.duplicate {
            throw fail("vocab has \(excerpt(modelTokens[a])) twice, as ids \(a) and \(b)")
        }

        // Added tokens; they may also extend the vocabulary past the model's ids.
        var added: [AddedToken] = []
        var vocabulary = modelTokens
        let addedList: [JSONValue]
        switch json["added_tokens"] {
        case nil, .null?: addedList = []
        case .array(let list)?: addedList = list
        default: throw fail("added_tokens is not a list")
        }
        // Ids past the vocabulary may leave gaps, but only as many as the file could fill (see addedIdLimit):
        // a small file cannot make the vocabulary huge.
        let idLimit = addedIdLimit(modelTokens.count, addedList.count)
        for (i, a) in addedList.enumerated() {
            guard let id = a["id"]?.int, let content = a["content"]?.string else {
                throw fail("added token \(i) has no integer id or no content")
            }
            guard id >= 0 else { throw fail("added token \(excerpt(content)) has id \(id); ids cannot be negative") }
            guard id < idLimit else {
                throw fail("added token \(excerpt(content)) has id \(id), too far past the \(modelTokens.count) vocabulary tokens (added ids here must be below \(idLimit))")
            }
            if id < vocabulary.count {
                if id < modelTokens.count, modelTokens[id] != content {
                    throw fail("added token \(excerpt(content)) has id \(id), which the vocabulary gives to \(excerpt(modelTokens[id]))")
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
        let type = try componentType(v, "pre-tokenizer", path: path)
        switch type {
        case "Sequence":
            guard let list = v["pretokenizers"]?.array else { throw TokenizerError(path, "Sequence pre-tokenizer has no \"pretokenizers\" list") }
            for p in list { try readPreTokenizer(p, into: &pre, byteLevel: &byteLevel, path: path) }
        case "ByteLevel":
            byteLevel = true
            if v["add_prefix_space"]?.bool == true { pre.addPrefixSpace = true }
            if v["use_regex"]?.bool ?? true { pre.steps.append((.gpt2, false)) }
        case "Split":
            guard let pattern = v["pattern"] else { throw TokenizerError(path, "Split pre-tokenizer has no pattern") }
            if v["invert"]?.bool == true { throw TokenizerError(path, "Split pre-tokenizer with invert: true is not supported") }
            let behavior = v["behavior"]?.string ?? "Isolated"
            guard behavior == "Isolated" || behavior == "Removed" else {
                throw TokenizerError(path, "Split pre-tokenizer behavior \(excerpt(behavior)) is not supported (Isolated and Removed are)")
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
            let replacement = try short(v["replacement"]?.string ?? "\u{2581}", "Metaspace pre-tokenizer replacement", path: path)
            let scheme: PreTokenization.PrependScheme
            if let s = v["prepend_scheme"]?.string {
                guard let p = PreTokenization.PrependScheme(rawValue: s) else {
                    throw TokenizerError(path, "Metaspace prepend_scheme \(excerpt(s)) is not known (first, always and never are)")
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
            throw TokenizerError(path, "pre-tokenizer type \(excerpt(type)) is not supported")
        }
    }

    static func readNormalizer(_ v: JSONValue?, path: String) throws(TokenizerError) -> [Normalizer] {
        guard let v, !v.isNull else { return [] }
        let type = try componentType(v, "normalizer", path: path)
        switch type {
        case "Sequence":
            guard let list = v["normalizers"]?.array else { throw TokenizerError(path, "Sequence normalizer has no \"normalizers\" list") }
            var out: [Normalizer] = []
            for n in list { out += try readNormalizer(n, path: path) }
            return out
        case "Prepend":
            guard let p = v["prepend"]?.string else { throw TokenizerError(path, "Prepend normalizer has no prepend") }
            return [.prepend(try short(p, "Prepend normalizer text", path: path))]
        case "Replace":
            guard let a = v["pattern"]?["String"]?.string, let b = v["content"]?.string else {
                throw TokenizerError(path, "Replace normalizer: only a String pattern is supported")
            }
            return [.replace(a, try short(b, "Replace normalizer content", path: path))]
        case "NFC": return [.nfc]
        case "NFD": return [.nfd]
        case "NFKC": return [.nfkc]
        case "NFKD": return [.nfkd]
        case "Lowercase": return [.lowercase]
        default: throw TokenizerError(path, "normalizer type \(excerpt(type)) is not supported")
        }
    }

    static func readDecoder(_ v: JSONValue?, path: String) throws(TokenizerError) -> [DecoderStep] {
        guard let v, !v.isNull else { return [] }
        let type = try componentType(v, "decoder", path: path)
        switch type {
        case "Sequence":
            guard let list = v["decoders"]?.array else { throw TokenizerError(path, "Sequence decoder has no \"decoders\" list") }
            var out: [DecoderStep] = []
            for d in list { out += try readDecoder(d, path: path) }
            return out
        case "ByteLevel": return [.byteLevel]
        case "ByteFallback": return [.byteFallback]
        case "Fuse": return [.fuse]
        case "Replace":
            guard let a = v["pattern"]?["String"]?.string, let b = v["content"]?.string else {
                throw TokenizerError(path, "Replace decoder: only a String pattern is supported")
            }
            return [.replace(a, try short(b, "Replace decoder content", path: path))]
        case "Strip":
            return [.strip(content: v["content"]?.string ?? " ", start: v["start"]?.int ?? 0, stop: v["stop"]?.int ?? 0)]
        case "Metaspace":
            let replacement = try short(v["replacement"]?.string ?? "\u{2581}", "Metaspace decoder replacement", path: path)
            let scheme = v["prepend_scheme"]?.string.flatMap(PreTokenization.PrependScheme.init(rawValue:))
                ?? ((v["add_prefix_space"]?.bool ?? true) ? .always : .never)
            return [.metaspace(replacement: replacement, prependScheme: scheme)]
        default: throw TokenizerError(path, "decoder type \(excerpt(type)) is not supported")
        }
    }

    static func readPostProcessor(
        _ v: JSONValue?, prefix: inout [Int], suffix: inout [Int], vocabulary: [String], path: String
    ) throws(TokenizerError) {
        guard let v, !v.isNull else { return }
        let type = try componentType(v, "post-processor", path: path)
        switch type {
        case "Sequence":
            guard let list = v["processors"]?.array else { throw TokenizerError(path, "Sequence post-processor has no \"processors\" list") }
            for p in list {
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
                    guard let list = v["special_tokens"]?[name]?["ids"]?.array, !list.isEmpty else {
                        throw TokenizerError(path, "TemplateProcessing names special token \(excerpt(name)) without ids")
                    }
                    var ids: [Int] = []
                    for x in list {
                        guard let id = x.int, id >= 0, id < vocabulary.count else {
                            throw TokenizerError(path, "TemplateProcessing token \(excerpt(name)) has id \(jsonExcerpt(x)), outside the vocabulary (0..<\(vocabulary.count))")
                        }
                        ids.append(id)
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
            for (name, id) in [("cls", cls), ("sep", sep)] where id < 0 || id >= vocabulary.count {
                throw TokenizerError(path, "\(type) \(name) id \(id) is outside the vocabulary (0..<\(vocabulary.count))")
            }
            prefix = [cls]
            suffix = [sep]
        default: throw TokenizerError(path, "post-processor type \(excerpt(type)) is not supported")
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

extension Tokenizer {
    /// The type of a normalizer, pre-tokenizer, decoder or post-processor object.
    static func componentType(_ v: JSONValue, _ what: String, path: String) throws(TokenizerError) -> String {
        guard v.object != nil else { throw TokenizerError(path, "the \(what) is \(jsonExcerpt(v)), not an object with a \"type\"") }
        guard let type = v["type"]?.string else { throw TokenizerError(path, "a \(what) has no \"type\"") }
        return type
    }

    /// Longest text a normalizer or decoder may put in place of another: each application can grow the
    /// text by this much, so it is kept small (real tokenizers use one character).
    static let maxReplacementBytes = 1024

    static func short(_ s: String, _ what: String, path: String) throws(TokenizerError) -> String {
        guard s.utf8.count <= maxReplacementBytes else {
            throw TokenizerError(path, "\(what) is \(s.utf8.count) bytes long, more than the \(maxReplacementBytes) supported")
        }
        return s
    }

    /// The bound on added token ids: the vocabulary, then room for each added token and a gap as large,
    /// and 1,024 more.
    static func addedIdLimit(_ vocabularyCount: Int, _ addedCount: Int) -> Int {
        vocabularyCount + 2 * addedCount + 1024
    }
}

/// What a tokenizer.json vocabulary's ids must be.
func vocabularyIdRule(_ n: Int) -> String { "the \(n) ids must be the integers 0..<\(n), each once" }

/// A JSON value for a message, cut to 60 characters.
func jsonExcerpt(_ v: JSONValue) -> String {
    let s = v.serialized()
    return s.unicodeScalars.count > 60 ? String(String.UnicodeScalarView(s.unicodeScalars.prefix(60))) + "…" : s
}

/// Parses a JSON file's bytes. A file that is something else (a Git LFS pointer, an HTML page, a GGUF
/// file) is named as such. Keys that appear twice in one object are refused (readers disagree on which
/// counts: Python takes the last, serde refuses), except inside the object at the path `skippingKeysOf`
/// (`[]` for the top level), a vocabulary whose duplicate tokens the caller reports itself.
func parseJSONFile(_ bytes: [UInt8], path: String, skippingKeysOf skip: [String]? = nil) throws(TokenizerError) -> JSONValue {
    let kind = bytes.withUnsafeBytes { FileKind.sniff($0) }
    switch kind {
    case .json, .unknown: break
    case .empty: throw TokenizerError(path, "the file is empty, not JSON")
    case .gitLFSPointer: throw TokenizerError(path, "this is a Git LFS pointer, not the file itself (run `git lfs pull` to fetch it)")
    case .html: throw TokenizerError(path, "this is an HTML page (a failed download?), not JSON")
    case .gguf: throw TokenizerError(path, "this is a GGUF file, not JSON (its tokenizer is in its tokenizer.ggml.* keys)")
    case .safetensors, .hdf5, .zstd, .zip, .gzip, .pickle:
        throw TokenizerError(path, "this is \(kind.phrase.split(separator: ",")[0]), not JSON")
    }
    let json: JSONValue
    do {
        json = try bytes.withUnsafeBytes { buf throws(JSONError) in try JSONParser.parse(buf, rejectDuplicateKeys: false) }
    } catch {
        throw TokenizerError(path, "not valid JSON: \(error)")
    }
    if let (key, place) = firstDuplicateKey(json, skipping: skip?[...]) {
        throw TokenizerError(path, "key \(excerpt(key)) appears twice in \(place); JSON readers disagree on which one counts")
    }
    return json
}

/// The first key that appears twice in one object, and where ("the top-level object", "model",
/// "added_tokens[2]"). `skip` is the path, from `v`, of an object whose own keys are not checked.
private func firstDuplicateKey(_ v: JSONValue, skipping skip: ArraySlice<String>?) -> (key: String, place: String)? {
    guard let (key, path) = duplicateKey(v, skipping: skip) else { return nil }
    guard !path.isEmpty else { return (key, "the top-level object") }
    let place = path.reversed().joined()
    return (key, place.hasPrefix(".") ? String(place.dropFirst()) : place)
}

/// The duplicate key and the path to its object, innermost part first (the path is built only when found).
private func duplicateKey(_ v: JSONValue, skipping skip: ArraySlice<String>?) -> (String, [String])? {
    switch v {
    case .object(let members):
        if skip?.isEmpty != true {
            // Keys compared as bytes: Swift's == would take canonically equivalent keys for one.
            var seen = Set<[UInt8]>()
            for (k, _) in members where !seen.insert(Array(k.utf8)).inserted { return (k, []) }
        }
        for (k, member) in members {
            switch member {
            case .object, .array:
                let inner = skip?.first == k ? skip?.dropFirst() : nil
                if let (d, path) = duplicateKey(member, skipping: inner) { return (d, path + ["." + k]) }
            default: continue
            }
        }
    case .array(let items):
        for (i, item) in items.enumerated() {
            switch item {
            case .object, .array:
                if let (d, path) = duplicateKey(item, skipping: nil) { return (d, path + ["[\(i)]"]) }
            default: continue
            }
        }
    default: break
    }
    return nil
}

/// The whole file's bytes, with the file named in any error. A file larger than `limit` is refused before
/// anything is read.
func readFileBytes(_ path: String, limit: Int = 1 << 30) throws(TokenizerError) -> [UInt8] {
    guard let f = fopen(path, "rb") else { throw TokenizerError(path, "cannot open: \(String(cString: strerror(errno)))") }
    defer { fclose(f) }
    var st = stat()
    if fstat(fileno(f), &st) == 0 {
        if (st.st_mode & S_IFMT) == S_IFDIR { throw TokenizerError(path, "is a directory, not a file") }
        if (st.st_mode & S_IFMT) == S_IFREG, st.st_size > limit {
            throw TokenizerError(path, "the file is \(st.st_size) bytes, larger than the \(limit >> 20) MiB a tokenizer file may be")
        }
    }
    var out: [UInt8] = []
    if (st.st_mode & S_IFMT) == S_IFREG, st.st_size > 0 { out.reserveCapacity(Int(st.st_size)) }
    var chunk = [UInt8](repeating: 0, count: 1 << 20)
    while true {
        let n = fread(&chunk, 1, chunk.count, f)
        if n > 0 { out.append(contentsOf: chunk[0..<n]) }
        if out.count > limit { throw TokenizerError(path, "larger than the \(limit >> 20) MiB a tokenizer file may be") }
        if n < chunk.count {
            if ferror(f) != 0 { throw TokenizerError(path, "read error: \(String(cString: strerror(errno)))") }
            break
        }
    }
    return out
}

/// `model.vocab` and `model.merges` of a tokenizer.json read straight from the file's bytes: for a 128k
/// vocabulary with 280k merges they are nearly all of the file, and a `JSONValue` per entry (each string
/// a Swift `String`, each merge an array) cost more than the rest of loading. The scan follows JSON's
/// grammar for the two values and only skips over the rest, which JSONParser then reads with the two
/// values emptied (`skeleton`). It gives up (nil) on anything it does not expect, such as a number that
/// is not a plain non-negative integer or a merge that is not "a b" or ["a", "b"], and the whole file then
/// goes through JSONParser, whose errors name the problem.
struct VocabularyScan {
    /// The file with the vocabulary emptied to `{}` and the merges to `[]`.
    let skeleton: [UInt8]
    /// Vocabulary texts (unescaped) and their ids, in file order.
    let entries: PackedStrings
    let ids: [Int]
    let merges: PackedMerges

    init?(_ bytes: [UInt8]) {
        guard let r = bytes.withUnsafeBufferPointer({ VocabularyScan.scan($0) }) else { return nil }
        var skeleton: [UInt8] = []
        var at = 0
        var emptied: [(Range<Int>, [UInt8])] = []
        if let v = r.vocabRange { emptied.append((v, Array("{}".utf8))) }
        if let m = r.mergesRange { emptied.append((m, Array("[]".utf8))) }
        for (range, empty) in emptied.sorted(by: { $0.0.lowerBound < $1.0.lowerBound }) {
            skeleton += bytes[at..<range.lowerBound]
            skeleton += empty
            at = range.upperBound
        }
        skeleton += bytes[at...]
        self.skeleton = skeleton
        entries = r.entries
        ids = r.ids
        merges = r.merges
    }

    /// The tokens in id order, as strings and packed; ids must be 0..<n, each once.
    func vocabulary(path: String) throws(TokenizerError) -> ([String], PackedStrings) {
        let n = ids.count
        var byId = [Int32](repeating: -1, count: n)
        for (k, id) in ids.enumerated() {
            guard id < n else {
                throw TokenizerError(path, "vocab id of \(excerpt(entries.string(k))) is \(id); \(vocabularyIdRule(n))")
            }
            if byId[id] >= 0 {
                throw TokenizerError(path, "vocab id \(id) is given to both \(excerpt(entries.string(Int(byId[id])))) and \(excerpt(entries.string(k)))")
            }
            byId[id] = Int32(k)
        }
        if byId.enumerated().allSatisfy({ $0.offset == Int($0.element) }) { return (entries.strings(), entries) }
        var texts = PackedStrings()
        texts.offsets.reserveCapacity(n + 1)
        texts.bytes.reserveCapacity(entries.bytes.count)
        for k in byId {
            texts.bytes += entries.bytes[entries.range(Int(k))]
            texts.offsets.append(Int32(texts.bytes.count))
        }
        return (texts.strings(), texts)
    }

    private struct Found {
        var vocabRange: Range<Int>? = nil
        var mergesRange: Range<Int>? = nil
        var entries = PackedStrings()
        var ids: [Int] = []
        var merges = PackedMerges()
    }

    private static func scan(_ b: UnsafeBufferPointer<UInt8>) -> Found? {
        guard b.count < Int(Int32.max), isValidUTF8(b) else { return nil }
        var c = Cursor(b: b)
        var found = Found()
        c.skipWhitespace()
        guard c.eat(0x7B) else { return nil }  // {
        guard c.members({ c, key in
            guard key == "model", c.peek == 0x7B else { return c.skipValue(depth: 1) }
            c.i += 1
            return c.members { c, key in
                let start = c.i
                if key == "vocab", found.vocabRange == nil {
                    guard c.vocabulary(&found.entries, &found.ids) else { return false }
                    found.vocabRange = start..<c.i
                    return true
                }
                if key == "merges", found.mergesRange == nil {
                    guard c.merges(&found.merges) else { return false }
                    found.mergesRange = start..<c.i
                    return true
                }
                return c.skipValue(depth: 2)
            }
        }) else { return nil }
        return found.vocabRange == nil ? nil : found
    }

    /// A position in the file, and JSON's grammar for what the scan reads.
    private struct Cursor {
        let b: UnsafeBufferPointer<UInt8>
        var i = 0

        var peek: UInt8 { i < b.count ? b[i] : 0 }

        mutating func skipWhitespace() {
            while i < b.count, b[i] == 0x20 || b[i] == 0x0A || b[i] == 0x0D || b[i] == 0x09 { i += 1 }
        }

        mutating func eat(_ c: UInt8) -> Bool {
            guard peek == c else { return false }
            i += 1
            return true
        }

        /// The members of an object whose `{` has been read, each key (nil when it has escapes) handed
        /// to `value` with the cursor at its value, up to and including the `}`.
        mutating func members(_ value: (inout Cursor, String?) -> Bool) -> Bool {
            skipWhitespace()
            if eat(0x7D) { return true }
            while true {
                skipWhitespace()
                guard peek == 0x22 else { return false }
                let start = i + 1
                guard skipString() else { return false }
                let raw = UnsafeBufferPointer(rebasing: b[start..<(i - 1)])
                let key = raw.contains(0x5C) ? nil : String(decoding: raw, as: UTF8.self)
                skipWhitespace()
                guard eat(0x3A) else { return false }  // :
                skipWhitespace()
                guard value(&self, key) else { return false }
                skipWhitespace()
                if eat(0x2C) { continue }  // ,
                return eat(0x7D)
            }
        }

        mutating func skipString() -> Bool {
            i += 1
            while i < b.count {
                let c = b[i]
                if c == 0x22 {
                    i += 1
                    return true
                }
                if c < 0x20 { return false }
                i += c == 0x5C ? 2 : 1
            }
            return false
        }

        mutating func skipValue(depth: Int) -> Bool {
            guard depth < 100 else { return false }
            switch peek {
            case 0x22: return skipString()
            case 0x7B:
                i += 1
                return members { c, _ in c.skipValue(depth: depth + 1) }
            case 0x5B:
                i += 1
                skipWhitespace()
                if eat(0x5D) { return true }
                while true {
                    skipWhitespace()
                    guard skipValue(depth: depth + 1) else { return false }
                    skipWhitespace()
                    if eat(0x2C) { continue }
                    return eat(0x5D)
                }
            default:
                // A number or literal; JSONParser checks it in the skeleton.
                let start = i
                while i < b.count, b[i] == 0x2D || b[i] == 0x2B || b[i] == 0x2E || (b[i] | 0x20 >= 0x61 && b[i] | 0x20 <= 0x7A)
                    || (b[i] >= 0x30 && b[i] <= 0x39)
                {
                    i += 1
                }
                return i > start
            }
        }

        /// A JSON string, unescaped, appended to `out`.
        mutating func string(into out: inout [UInt8]) -> Bool {
            guard eat(0x22) else { return false }
            while true {
                let start = i
                while i < b.count, b[i] != 0x22, b[i] != 0x5C, b[i] >= 0x20 { i += 1 }
                out.append(contentsOf: UnsafeBufferPointer(rebasing: b[start..<i]))
                guard i < b.count else { return false }
                if b[i] == 0x22 {
                    i += 1
                    return true
                }
                guard b[i] == 0x5C, i + 1 < b.count else { return false }
                let e = b[i + 1]
                i += 2
                switch e {
                case 0x22, 0x5C, 0x2F: out.append(e)
                case 0x62: out.append(0x08)
                case 0x66: out.append(0x0C)
                case 0x6E: out.append(0x0A)
                case 0x72: out.append(0x0D)
                case 0x74: out.append(0x09)
                case 0x75:
                    guard var v = hex4() else { return false }
                    if v >= 0xD800 && v < 0xDC00 {
                        guard eat(0x5C), eat(0x75), let low = hex4(), low >= 0xDC00 && low < 0xE000 else { return false }
                        v = 0x10000 + ((v - 0xD800) << 10) + (low - 0xDC00)
                    } else if v >= 0xDC00 && v < 0xE000 {
                        return false
                    }
                    guard let u = Unicode.Scalar(v) else { return false }
                    out.append(contentsOf: UTF8.encode(u)!)
                default: return false
                }
            }
        }

        mutating func hex4() -> UInt32? {
            guard i + 4 <= b.count else { return nil }
            var v: UInt32 = 0
            for _ in 0..<4 {
                let c = b[i]
                let d: UInt8
                switch c {
                case 0x30...0x39: d = c - 0x30
                case 0x41...0x46: d = c - 0x41 + 10
                case 0x61...0x66: d = c - 0x61 + 10
                default: return nil
                }
                v = v << 4 | UInt32(d)
                i += 1
            }
            return v
        }

        /// `{"text": id, …}` with plain non-negative integer ids.
        mutating func vocabulary(_ entries: inout PackedStrings, _ ids: inout [Int]) -> Bool {
            guard eat(0x7B) else { return false }
            skipWhitespace()
            if eat(0x7D) { return true }
            while true {
                skipWhitespace()
                guard string(into: &entries.bytes) else { return false }
                entries.offsets.append(Int32(entries.bytes.count))
                skipWhitespace()
                guard eat(0x3A) else { return false }
                skipWhitespace()
                let start = i
                var id = 0
                while i < b.count, b[i] >= 0x30 && b[i] <= 0x39, i - start < 18 {
                    id = id * 10 + Int(b[i] - 0x30)
                    i += 1
                }
                // A fraction, exponent, sign, leading zero or long number is left to JSONParser.
                guard i > start, !(b[start] == 0x30 && i - start > 1),
                    i == b.count || !(b[i] == 0x2E || b[i] | 0x20 == 0x65 || (b[i] >= 0x30 && b[i] <= 0x39))
                else { return false }
                ids.append(id)
                skipWhitespace()
                if eat(0x2C) { continue }
                return eat(0x7D)
            }
        }

        /// `["a b", …]` or `[["a", "b"], …]`.
        mutating func merges(_ m: inout PackedMerges) -> Bool {
            guard eat(0x5B) else { return false }
            skipWhitespace()
            if eat(0x5D) { return true }
            while true {
                skipWhitespace()
                let s = Int32(m.bytes.count)
                if peek == 0x22 {
                    guard string(into: &m.bytes) else { return false }
                    // Two tokens separated by one space.
                    let e = m.bytes.count
                    guard let sp = m.bytes[Int(s)..<e].firstIndex(of: 0x20), sp > Int(s), sp + 1 < e,
                        !m.bytes[(sp + 1)..<e].contains(0x20)
                    else { return false }
                    m.append(s, Int32(sp), Int32(sp + 1), Int32(e))
                } else {
                    guard eat(0x5B) else { return false }
                    skipWhitespace()
                    guard string(into: &m.bytes) else { return false }
                    let mid = Int32(m.bytes.count)
                    skipWhitespace()
                    guard eat(0x2C) else { return false }
                    skipWhitespace()
                    guard string(into: &m.bytes) else { return false }
                    skipWhitespace()
                    guard eat(0x5D) else { return false }
                    m.append(s, mid, mid, Int32(m.bytes.count))
                }
                skipWhitespace()
                if eat(0x2C) { continue }
                return eat(0x5D)
            }
        }
    }
}

extension PackedStrings {
    /// The index of the first string whose bytes are those of `s`.
    func firstIndex(of s: String) -> Int? {
        let target = Array(s.utf8)
        for i in 0..<count where bytes[range(i)].elementsEqual(target) { return i }
        return nil
    }
}
