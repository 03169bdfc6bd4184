// Finding and loading the tokenizer of a model directory, and applying the configuration files that
// transformers reads beside it:
//
//   tokenizer.json                      the tokenizer itself (preferred)
//   tokenizer.model                     SentencePiece, when there is no tokenizer.json
//   vocab.json + merges.txt             GPT-2's classic pair, when there is neither
//   tokenizer_config.json               bos/eos/unk/pad tokens, add_bos_token/add_eos_token, chat_template,
//                                       added_tokens_decoder
//   special_tokens_map.json             bos/eos/unk/pad tokens (tokenizer_config.json wins)
//   generation_config.json              eos_token_id (one or a list): what ends generation
//   chat_template.jinja                 the chat template, when tokenizer_config.json has none
import TensorCore

#if canImport(Glibc)
    import Glibc
#endif

extension Tokenizer {
    /// The tokenizer files in a directory that WeightKit reads or copies.
    public static let fileNames = [
        "tokenizer.json", "tokenizer.model", "vocab.json", "merges.txt", "tokenizer_config.json",
        "special_tokens_map.json", "generation_config.json", "chat_template.jinja", "added_tokens.json",
    ]

    /// Whether a directory holds a tokenizer (tokenizer.json, tokenizer.model, or vocab.json + merges.txt).
    public static func exists(inDirectory dir: String) -> Bool {
        fileExists(dir + "/tokenizer.json") || fileExists(dir + "/tokenizer.model")
            || (fileExists(dir + "/vocab.json") && fileExists(dir + "/merges.txt"))
    }

    /// Loads a tokenizer from a directory, or from a `tokenizer.json`, `tokenizer.model` or `vocab.json` file
    /// (whose directory's configuration files then apply too).
    public static func load(path: String) throws(TokenizerError) -> Tokenizer {
        var isDir = false
        let dir: String
        let base: Tokenizer
        if directoryExists(path) {
            isDir = true
            dir = path
        } else {
            dir = parentDirectory(path)
        }
        if isDir {
            if fileExists(dir + "/tokenizer.json") {
                base = try fromTokenizerJSON(path: dir + "/tokenizer.json")
            } else if fileExists(dir + "/tokenizer.model") {
                base = try fromSentencePieceModel(path: dir + "/tokenizer.model")
            } else if fileExists(dir + "/vocab.json"), fileExists(dir + "/merges.txt") {
                base = try fromVocabAndMerges(vocab: dir + "/vocab.json", merges: dir + "/merges.txt")
            } else {
                throw TokenizerError(path, "no tokenizer here (tokenizer.json, tokenizer.model, or vocab.json + merges.txt)")
            }
        } else {
            guard fileExists(path) else { throw TokenizerError(path, "no such file") }
            let name = path.split(separator: "/").last.map(String.init) ?? path
            if name.hasSuffix(".model") {
                base = try fromSentencePieceModel(path: path)
            } else if name == "vocab.json" || (name.hasSuffix(".json") && fileExists(dir + "/merges.txt") && !name.contains("tokenizer")) {
                base = try fromVocabAndMerges(vocab: path, merges: dir + "/merges.txt")
            } else {
                base = try fromTokenizerJSON(path: path)
            }
        }
        return try base.configured(directory: dir)
    }

    /// The tokenizer to write into a GGUF file: as `load`, except that a SentencePiece-style BPE
    /// tokenizer.json gives way to the directory's `tokenizer.model` when there is one (its scores and
    /// piece types are what llama.cpp's `llama` vocabulary holds).
    public static func loadForGGUF(path: String) throws(TokenizerError) -> Tokenizer {
        let t = try load(path: path)
        let dir = directoryExists(path) ? path : parentDirectory(path)
        if case .bpe = t.model, !t.byteLevel, fileExists(dir + "/tokenizer.model") {
            return try fromSentencePieceModel(path: dir + "/tokenizer.model").configured(directory: dir)
        }
        return t
    }

    /// GPT-2's `vocab.json` + `merges.txt`: byte-level BPE with GPT-2's pre-tokenizer.
    public static func fromVocabAndMerges(vocab: String, merges: String) throws(TokenizerError) -> Tokenizer {
        let json = try parseJSONFile(try readFileBytes(vocab), path: vocab, skippingKeysOf: [])
        guard let entries = json.object else {
            throw TokenizerError(vocab, "the top level is not a JSON object of token → id")
        }
        // merges.txt is checked here, by line, so that its errors name it (the checks below would name vocab.json).
        var known = Set<[UInt8]>()
        known.reserveCapacity(entries.count)
        for (token, _) in entries { known.insert(Array(token.utf8)) }
        let mergeBytes = try readFileBytes(merges)
        guard let mergeText = String(validating: mergeBytes, as: UTF8.self) else {
            throw TokenizerError(merges, "not valid UTF-8 text")
        }
        var mergeList: [JSONValue] = []
        for (n, line) in mergeText.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let l = line.hasSuffix("\r") ? line.dropLast() : line
            if l.isEmpty || (n == 0 && l.hasPrefix("#version")) { continue }
            let parts = l.split(separator: " ", omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw TokenizerError(merges, "line \(n + 1): \(excerpt(String(l))) is not two tokens separated by one space")
            }
            for t in [String(parts[0]), String(parts[1]), String(parts[0] + parts[1])] where !known.contains(Array(t.utf8)) {
                let what = t == String(parts[0] + parts[1]) && parts.allSatisfy { known.contains(Array($0.utf8)) } ? "makes" : "names"
                throw TokenizerError(merges, "line \(n + 1): \(excerpt(String(l))) \(what) \(excerpt(t)), which is not in vocab.json")
            }
            mergeList.append(.string(String(l)))
        }
        let doc: JSONValue = .object([
            ("model", .object([("type", .string("BPE")), ("vocab", json), ("merges", .array(mergeList))])),
            ("pre_tokenizer", .object([("type", .string("ByteLevel")), ("add_prefix_space", .bool(false))])),
            ("decoder", .object([("type", .string("ByteLevel"))])),
        ])
        let t = try fromTokenizerJSON(doc, path: vocab)
        // GPT2Tokenizer's unk, bos and eos default to <|endoftext|>, matched in text as a special token.
        var added = t.addedTokens
        var specials = t.specials
        if let id = t.vocabulary.firstIndex(of: "<|endoftext|>") {
            added.append(AddedToken(id: id, content: "<|endoftext|>", special: true))
            specials.bos = id
            specials.eos = id
            specials.unk = id
            specials.endOfGeneration = [id]
        }
        return t.copy(source: "vocab.json + merges.txt", addedTokens: added, specials: specials)
    }

    /// This tokenizer with the configuration files of `dir` applied.
    func configured(directory dir: String) throws(TokenizerError) -> Tokenizer {
        let config = try readJSONIfPresent(dir + "/tokenizer_config.json")
        let map = try readJSONIfPresent(dir + "/special_tokens_map.json")
        let generation = try readJSONIfPresent(dir + "/generation_config.json")
        let configPath = dir + "/tokenizer_config.json"

        var added = addedTokens
        var vocab = vocabulary
        // added_tokens_decoder: {"id": {"content": …, "special": …}}
        if let decoderTokens = config?["added_tokens_decoder"]?.object {
            let idLimit = Self.addedIdLimit(vocab.count, decoderTokens.count)
            for (key, v) in decoderTokens {
                guard let id = Int(key), let content = v["content"]?.string else {
                    throw TokenizerError(configPath, "added_tokens_decoder entry \(excerpt(key)) has no integer id or no content")
                }
                guard id >= 0 else { throw TokenizerError(configPath, "added_tokens_decoder gives \(excerpt(content)) the id \(id); ids cannot be negative") }
                guard id < idLimit else {
                    throw TokenizerError(configPath, "added_tokens_decoder gives \(excerpt(content)) the id \(id), too far past the \(vocab.count) vocabulary tokens (added ids here must be below \(idLimit))")
                }
                if id < vocab.count, !vocab[id].isEmpty, vocab[id] != content {
                    throw TokenizerError(configPath, "added token \(excerpt(content)) has id \(id), which the vocabulary gives to \(excerpt(vocab[id]))")
                }
                if added.contains(where: { $0.id == id }) { continue }
                while vocab.count <= id { vocab.append("") }
                vocab[id] = content
                added.append(AddedToken(
                    id: id, content: content, special: v["special"]?.bool ?? false, lstrip: v["lstrip"]?.bool ?? false,
                    rstrip: v["rstrip"]?.bool ?? false, singleWord: v["single_word"]?.bool ?? false,
                    normalized: v["normalized"]?.bool ?? false))
            }
        }

        // A token named in tokenizer_config.json (which wins) or special_tokens_map.json, and that file.
        let mapPath = dir + "/special_tokens_map.json"
        func tokenText(_ key: String) throws(TokenizerError) -> (text: String, file: String)? {
            for (source, file) in [(config, configPath), (map, mapPath)] {
                guard let v = source?[key], !v.isNull else { continue }
                if let s = v.string { return (s, file) }
                if let s = v["content"]?.string { return (s, file) }
                throw TokenizerError(file, "\(key) is \(jsonExcerpt(v)), neither a string nor an object with \"content\"")
            }
            return nil
        }
        func idOf(_ text: String) -> Int? {
            if let a = added.first(where: { $0.content == text }) { return a.id }
            return vocab.firstIndex(of: text)
        }
        var specials = self.specials
        var prefix = self.prefix
        var suffix = self.suffix
        for (key, path) in [("bos_token", \SpecialTokens.bos), ("eos_token", \.eos), ("unk_token", \.unk), ("pad_token", \.pad)] {
            guard let (text, file) = try tokenText(key) else { continue }
            guard let id = idOf(text) else {
                throw TokenizerError(file, "\(key) \(excerpt(text)) is not in the vocabulary")
            }
            specials[keyPath: path] = id
            // A special token named by the configuration is matched in text, as transformers does.
            if !added.contains(where: { $0.id == id }) { added.append(AddedToken(id: id, content: text, special: true)) }
        }
        if let b = config?["add_bos_token"]?.bool {
            specials.addBos = b
            prefix = b ? specials.bos.map { [$0] } ?? [] : []
        }
        if let e = config?["add_eos_token"]?.bool {
            specials.addEos = e
            suffix = e ? specials.eos.map { [$0] } ?? [] : []
        }
        var endIds = specials.endOfGeneration
        if let eos = specials.eos, !endIds.contains(eos) { endIds.append(eos) }
        if let g = generation?["eos_token_id"], !g.isNull {
            let generationPath = dir + "/generation_config.json"
            for x in g.array ?? [g] {
                guard let id = x.int else {
                    throw TokenizerError(generationPath, "eos_token_id holds \(jsonExcerpt(x)), not an integer id")
                }
                guard id >= 0, id < vocab.count else {
                    throw TokenizerError(generationPath, "eos_token_id \(id) is outside the vocabulary (0..<\(vocab.count))")
                }
                if !endIds.contains(id) { endIds.append(id) }
            }
        }
        specials.endOfGeneration = endIds

        var template = chatTemplate
        if let t = config?["chat_template"] {
            if let s = t.string {
                template = s
            } else if let list = t.array {
                template = list.first(where: { $0["name"]?.string == "default" })?["template"]?.string
                    ?? list.first?["template"]?.string
            }
        }
        if template == nil, fileExists(dir + "/chat_template.jinja") {
            template = String(decoding: try readFileBytes(dir + "/chat_template.jinja"), as: UTF8.self)
        }
        return copy(vocabulary: vocab, addedTokens: added, specials: specials, chatTemplate: template, prefix: prefix, suffix: suffix)
    }

    /// A copy with some parts replaced.
    func copy(
        source: String? = nil, vocabulary: [String]? = nil, addedTokens: [AddedToken]? = nil, specials: SpecialTokens? = nil,
        chatTemplate: String?? = nil, prefix: [Int]? = nil, suffix: [Int]? = nil
    ) -> Tokenizer {
        Tokenizer(
            kind: kind, source: source ?? self.source, vocabulary: vocabulary ?? self.vocabulary,
            addedTokens: addedTokens ?? self.addedTokens, specials: specials ?? self.specials,
            chatTemplate: chatTemplate ?? self.chatTemplate, preName: preName, model: model, normalizers: normalizers,
            pre: pre, byteLevel: byteLevel, prefix: prefix ?? self.prefix, suffix: suffix ?? self.suffix, decoder: decoder)
    }
}

func readJSONIfPresent(_ path: String) throws(TokenizerError) -> JSONValue? {
    guard fileExists(path) else { return nil }
    let json = try parseJSONFile(try readFileBytes(path, limit: 64 << 20), path: path)
    guard json.object != nil else { throw TokenizerError(path, "the top level is not a JSON object") }
    return json
}

func fileExists(_ path: String) -> Bool {
    var st = stat()
    return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG
}

func directoryExists(_ path: String) -> Bool {
    var st = stat()
    return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
}

func parentDirectory(_ path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return "." }
    return slash == path.startIndex ? "/" : String(path[..<slash])
}
