// Writing a tokenizer out again: as GGUF `tokenizer.ggml.*` keys (for llama.cpp), and as Hugging Face
// files (tokenizer.json, tokenizer_config.json, and tokenizer.model for SentencePiece vocabularies) that
// transformers' AutoTokenizer loads and that encode as the original does.
//
// GGUF: a byte-level BPE becomes model `gpt2` with its merges and a `pre` name from llama.cpp's table,
// found from the pre-tokenizer's definition (its regexes and options), never from hashing sample
// encodings; a SentencePiece vocabulary becomes model `llama` with scores and token types.
import TensorCore

extension Tokenizer {
    /// The `tokenizer.ggml.*` keys (and `tokenizer.chat_template`) for this tokenizer. `pre` forces the
    /// pre-tokenizer name of a BPE vocabulary; without it an unknown pre-tokenizer is an error.
    /// `embeddingRows` pads the token list with unused `[PAD{id}]` tokens up to the model's rows.
    public func ggufMetadata(pre forced: String? = nil, embeddingRows: Int? = nil, path: String) throws(TokenizerError)
        -> [MetadataEntry]
    {
        var out: [MetadataEntry] = []
        var tokens = vocabulary
        var types = [Int32](repeating: 1, count: tokens.count)
        var scores: [Float]? = nil
        let added = Dictionary(addedTokens.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        switch model {
        case .bpe(let bpe) where byteLevel:
            let name: String
            if let forced {
                guard PreTokenizerTable.entry(named: forced) != nil else {
                    throw TokenizerError(path, "--pre \(quoted(forced)) is not a pre-tokenizer llama.cpp knows; known: \(PreTokenizerTable.supportedNames.joined(separator: ", "))")
                }
                name = forced
            } else if let preName {
                name = preName
            } else {
                throw TokenizerError(path, "the pre-tokenizer (\(preDescription)) is not one of llama.cpp's (\(PreTokenizerTable.supportedNames.joined(separator: ", "))); name the closest with --pre NAME if you know it is equivalent")
            }
            out.append(MetadataEntry("tokenizer.ggml.model", .string("gpt2")))
            out.append(MetadataEntry("tokenizer.ggml.pre", .string(name)))
            for i in tokens.indices {
                if let a = added[i] { types[i] = a.special ? 3 : 4 }
            }
            let merges = bpe.mergeList.map { MetadataValue.string(bpe.tokens[Int($0.0)] + " " + bpe.tokens[Int($0.1)]) }
            out.append(MetadataEntry("tokenizer.ggml.merges", .array(.string, merges)))
        case .bpe(let bpe):
            // SentencePiece-style BPE from a tokenizer.json: scores from the merge ranks (the piece a
            // merge of rank r makes scores −r, the rank order llama.cpp's SentencePiece merging follows).
            var s = [Float](repeating: -1e9, count: tokens.count)
            for (rank, (a, b)) in bpe.mergeList.enumerated() {
                if let id = bpe.ids[bpe.tokens[Int(a)] + bpe.tokens[Int(b)]], s[Int(id)] == -1e9 { s[Int(id)] = -Float(rank) }
            }
            for i in tokens.indices {
                if let a = added[i] { types[i] = a.special ? 3 : 4 }
                if parseByteToken(tokens[i]) != nil { types[i] = 6 }
                if i == specials.unk { types[i] = 2 }
                if i < bpe.tokens.count, types[i] == 1, tokens[i].unicodeScalars.count == 1 { s[i] = 0 }
            }
            scores = s
            out.append(MetadataEntry("tokenizer.ggml.model", .string("llama")))
            out.append(MetadataEntry("tokenizer.ggml.pre", .string("default")))
            out.append(MetadataEntry("tokenizer.ggml.add_space_prefix", .bool(addsSpacePrefix)))
        case .sentencePiece(let enc):
            guard let spm = (enc as? SentencePiecePair)?.prefixed else {
                throw TokenizerError(path, "this SentencePiece tokenizer cannot be written as GGUF keys")
            }
            scores = spm.scores
            types = spm.types.map { Int32($0) }
            out.append(MetadataEntry("tokenizer.ggml.model", .string("llama")))
            out.append(MetadataEntry("tokenizer.ggml.pre", .string("default")))
            out.append(MetadataEntry("tokenizer.ggml.add_space_prefix", .bool(spm.addDummyPrefix)))
        }
        if let rows = embeddingRows {
            if tokens.count > rows {
                throw TokenizerError(path, "the tokenizer has \(tokens.count) tokens but the model's embedding has \(rows) rows")
            }
        }
        // Holes (ids no token names) and padding up to the embedding rows: unused [PAD{id}] tokens.
        for i in tokens.indices where tokens[i].isEmpty {
            tokens[i] = "[PAD\(i)]"
            types[i] = 5
        }
        if let rows = embeddingRows, tokens.count < rows {
            for i in tokens.count..<rows {
                tokens.append("[PAD\(i)]")
                types.append(5)
                scores?.append(-1e9)
            }
        }
        out.insert(MetadataEntry("tokenizer.ggml.tokens", .array(.string, tokens.map { .string($0) })), at: 2)
        out.insert(MetadataEntry("tokenizer.ggml.token_type", .array(.int32, types.map { .int32($0) })), at: 3)
        if let scores { out.insert(MetadataEntry("tokenizer.ggml.scores", .array(.float32, scores.map { .float32($0) })), at: 3) }
        if let b = specials.bos { out.append(MetadataEntry("tokenizer.ggml.bos_token_id", .uint32(UInt32(b)))) }
        if let e = specials.eos { out.append(MetadataEntry("tokenizer.ggml.eos_token_id", .uint32(UInt32(e)))) }
        if let u = specials.unk { out.append(MetadataEntry("tokenizer.ggml.unknown_token_id", .uint32(UInt32(u)))) }
        if let p = specials.pad { out.append(MetadataEntry("tokenizer.ggml.padding_token_id", .uint32(UInt32(p)))) }
        // An end-of-turn token beyond EOS (generation_config.json's extra eos ids).
        if let eot = specials.endOfGeneration.first(where: { $0 != specials.eos }) {
            out.append(MetadataEntry("tokenizer.ggml.eot_token_id", .uint32(UInt32(eot))))
        }
        out.append(MetadataEntry("tokenizer.ggml.add_bos_token", .bool(!prefix.isEmpty)))
        out.append(MetadataEntry("tokenizer.ggml.add_eos_token", .bool(!suffix.isEmpty)))
        if let chatTemplate { out.append(MetadataEntry("tokenizer.chat_template", .string(chatTemplate))) }
        return out
    }

    /// Whether a SentencePiece-style BPE puts `▁` before the text (Prepend normalizer or Metaspace).
    var addsSpacePrefix: Bool {
        if let ms = pre.metaspace { return ms.scheme != .never }
        return normalizers.contains { if case .prepend = $0 { return true } else { return false } }
    }

    /// The pre-tokenizer in words, for messages and inspect.
    public var preDescription: String {
        var parts: [String] = []
        if byteLevel { parts.append("byte-level") }
        if pre.addPrefixSpace { parts.append("prefix space") }
        if let ms = pre.metaspace { parts.append("metaspace \(ms.scheme.rawValue)") }
        for s in pre.steps { parts.append("split \(quoted(s.pattern.source))\(s.removed ? " (removed)" : "")") }
        return parts.isEmpty ? "none" : parts.joined(separator: ", ")
    }

    // MARK: Hugging Face files

    /// tokenizer.json, tokenizer_config.json, and for SentencePiece vocabularies tokenizer.model, as
    /// (file name, bytes). `modelMaxLength` goes into tokenizer_config.json.
    public func huggingFaceFiles(modelMaxLength: Int? = nil) throws(TokenizerError) -> [(name: String, bytes: [UInt8])] {
        var files: [(String, [UInt8])] = []
        let json = try tokenizerJSON()
        files.append(("tokenizer.json", Array((json.serialized(indent: 2) + "\n").utf8)))
        var config: [(String, JSONValue)] = [
            ("add_bos_token", .bool(!prefix.isEmpty)), ("add_eos_token", .bool(!suffix.isEmpty)),
            ("clean_up_tokenization_spaces", .bool(false)),
        ]
        func name(_ id: Int?) -> JSONValue { id.map { .string(vocabulary[$0]) } ?? .null }
        config.append(("bos_token", name(specials.bos)))
        config.append(("eos_token", name(specials.eos)))
        config.append(("unk_token", name(specials.unk)))
        if let p = specials.pad { config.append(("pad_token", name(p))) }
        if let chatTemplate { config.append(("chat_template", .string(chatTemplate))) }
        if let modelMaxLength { config.append(("model_max_length", .int(modelMaxLength))) }
        config.append(("tokenizer_class", .string("PreTrainedTokenizerFast")))
        files.append(("tokenizer_config.json", Array((JSONValue.object(config).serialized(indent: 2) + "\n").utf8)))
        // generation_config.json: every id that ends generation (EOS first, then e.g. an end-of-turn token).
        if !specials.endOfGeneration.isEmpty || specials.bos != nil {
            var gen: [(String, JSONValue)] = []
            if let b = specials.bos { gen.append(("bos_token_id", .int(b))) }
            let ends = specials.endOfGeneration
            if ends.count == 1 { gen.append(("eos_token_id", .int(ends[0]))) } else if !ends.isEmpty {
                gen.append(("eos_token_id", .array(ends.map { .int($0) })))
            }
            files.append(("generation_config.json", Array((JSONValue.object(gen).serialized(indent: 2) + "\n").utf8)))
        }
        if case .sentencePiece(let enc) = model, let spm = (enc as? SentencePiecePair)?.prefixed {
            let pieces = (0..<spm.vocabularySize).map { i in
                SentencePieceModel.Piece(
                    piece: vocabulary[i], score: spm.scores[i],
                    type: SentencePieceModel.PieceType(rawValue: Int(spm.types[i])) ?? .normal)
            }
            let m = SentencePieceModel(
                pieces: pieces, modelType: .bpe, byteFallback: spm.types.contains(6), addDummyPrefix: spm.addDummyPrefix,
                removeExtraWhitespaces: false, escapeWhitespaces: true, normalizerName: "identity",
                unkId: specials.unk ?? -1, bosId: specials.bos ?? -1, eosId: specials.eos ?? -1, padId: specials.pad ?? -1)
            files.append(("tokenizer.model", m.serialized()))
        }
        return files
    }

    /// This tokenizer as a `tokenizers` serialization.
    func tokenizerJSON() throws(TokenizerError) -> JSONValue {
        var vocab: [(String, JSONValue)] = []
        var merges: [JSONValue] = []
        var modelFields: [(String, JSONValue)] = []
        var normalizer: JSONValue = .null
        var preTokenizer: JSONValue = .null
        var decoder: JSONValue
        let addedIds = Set(addedTokens.map(\.id))
        switch model {
        case .bpe(let bpe):
            for (i, t) in bpe.tokens.enumerated() where bpe.ids[t] == Int32(i) { vocab.append((t, .int(i))) }
            merges = bpe.mergeList.map { .array([.string(bpe.tokens[Int($0.0)]), .string(bpe.tokens[Int($0.1)])]) }
            modelFields = [
                ("byte_fallback", .bool(bpe.byteFallback)), ("fuse_unk", .bool(bpe.fuseUnknown)),
                ("ignore_merges", .bool(bpe.ignoreMerges)),
                // A byte-level vocabulary has no unknown text.
                ("unk_token", byteLevel ? .null : bpe.unknownId.map { .string(bpe.tokens[Int($0)]) } ?? .null),
            ]
            preTokenizer = preTokenizerJSON()
            normalizer = normalizerJSON()
            decoder = decoderJSON()
        case .sentencePiece(let enc):
            guard let spm = (enc as? SentencePiecePair)?.prefixed else {
                throw TokenizerError("", "this SentencePiece tokenizer cannot be written as tokenizer.json")
            }
            // Merges from the scores: every split of a piece into two pieces, best-scoring pieces first.
            var idOf: [String: Int] = [:]
            for (i, t) in vocabulary.enumerated() where i < spm.vocabularySize && idOf[t] == nil { idOf[t] = i }
            var candidates: [(score: Float, left: Int, right: Int)] = []
            for i in 0..<spm.vocabularySize where spm.types[i] == 1 || spm.types[i] == 4 {
                let scalars = Array(vocabulary[i].unicodeScalars)
                guard scalars.count > 1 else { continue }
                for cut in 1..<scalars.count {
                    var l = String.UnicodeScalarView(), r = String.UnicodeScalarView()
                    l.append(contentsOf: scalars[..<cut])
                    r.append(contentsOf: scalars[cut...])
                    if let a = idOf[String(l)], let b = idOf[String(r)] { candidates.append((spm.scores[i], a, b)) }
                }
            }
            candidates.sort { ($0.score, -$0.left, -$0.right) > ($1.score, -$1.left, -$1.right) }
            merges = candidates.map { .array([.string(vocabulary[$0.left]), .string(vocabulary[$0.right])]) }
            for i in 0..<spm.vocabularySize { vocab.append((vocabulary[i], .int(i))) }
            modelFields = [
                ("byte_fallback", .bool(spm.types.contains(6))), ("fuse_unk", .bool(true)), ("ignore_merges", .bool(false)),
                ("unk_token", specials.unk.map { .string(vocabulary[$0]) } ?? .null),
            ]
            let replace: JSONValue = .object([
                ("type", .string("Replace")), ("pattern", .object([("String", .string(" "))])), ("content", .string("\u{2581}")),
            ])
            normalizer = spm.addDummyPrefix
                ? .object([("type", .string("Sequence")), ("normalizers", .array([
                    .object([("type", .string("Prepend")), ("prepend", .string("\u{2581}"))]), replace,
                ]))])
                : replace
            decoder = .object([("type", .string("Sequence")), ("decoders", .array([
                .object([("type", .string("Replace")), ("pattern", .object([("String", .string("\u{2581}"))])), ("content", .string(" "))]),
                .object([("type", .string("ByteFallback"))]), .object([("type", .string("Fuse"))]),
                .object([("type", .string("Strip")), ("content", .string(" ")), ("start", .int(spm.addDummyPrefix ? 1 : 0)), ("stop", .int(0))]),
            ]))])
        }
        let added: [JSONValue] = addedTokens.sorted { $0.id < $1.id }.map { a in
            .object([
                ("id", .int(a.id)), ("content", .string(a.content)), ("single_word", .bool(a.singleWord)),
                ("lstrip", .bool(a.lstrip)), ("rstrip", .bool(a.rstrip)), ("normalized", .bool(a.normalized)),
                ("special", .bool(a.special)),
            ])
        }
        // Ids past the model's vocabulary that only added tokens name are listed there.
        _ = addedIds
        return .object([
            ("version", .string("1.0")), ("truncation", .null), ("padding", .null), ("added_tokens", .array(added)),
            ("normalizer", normalizer), ("pre_tokenizer", preTokenizer), ("post_processor", postProcessorJSON()),
            ("decoder", decoder),
            ("model", .object(
                [("type", .string("BPE")), ("dropout", .null), ("continuing_subword_prefix", .null), ("end_of_word_suffix", .null)]
                    + modelFields + [("vocab", .object(vocab)), ("merges", .array(merges))])),
        ])
    }

    func preTokenizerJSON() -> JSONValue {
        var items: [JSONValue] = []
        if let ms = pre.metaspace {
            items.append(.object([
                ("type", .string("Metaspace")), ("replacement", .string(ms.replacement)),
                ("prepend_scheme", .string(ms.scheme.rawValue)), ("split", .bool(ms.split)),
            ]))
        }
        let onlyGPT2 = byteLevel && pre.steps.count == 1 && pre.steps[0].pattern == .gpt2 && !pre.steps[0].removed
        if onlyGPT2 {
            items.append(.object([
                ("type", .string("ByteLevel")), ("add_prefix_space", .bool(pre.addPrefixSpace)), ("trim_offsets", .bool(true)),
                ("use_regex", .bool(true)),
            ]))
        } else {
            for s in pre.steps {
                items.append(.object([
                    ("type", .string("Split")), ("pattern", .object([("Regex", .string(s.pattern.source))])),
                    ("behavior", .string(s.removed ? "Removed" : "Isolated")), ("invert", .bool(false)),
                ]))
            }
            if byteLevel {
                items.append(.object([
                    ("type", .string("ByteLevel")), ("add_prefix_space", .bool(pre.addPrefixSpace)), ("trim_offsets", .bool(true)),
                    ("use_regex", .bool(false)),
                ]))
            }
        }
        if items.isEmpty { return .null }
        return items.count == 1 ? items[0] : .object([("type", .string("Sequence")), ("pretokenizers", .array(items))])
    }

    func normalizerJSON() -> JSONValue {
        let items: [JSONValue] = normalizers.map { n in
            switch n {
            case .prepend(let p): return .object([("type", .string("Prepend")), ("prepend", .string(p))])
            case .replace(let a, let b):
                return .object([("type", .string("Replace")), ("pattern", .object([("String", .string(a))])), ("content", .string(b))])
            case .nfc: return .object([("type", .string("NFC"))])
            case .nfd: return .object([("type", .string("NFD"))])
            case .nfkc: return .object([("type", .string("NFKC"))])
            case .nfkd: return .object([("type", .string("NFKD"))])
            case .lowercase: return .object([("type", .string("Lowercase"))])
            }
        }
        if items.isEmpty { return .null }
        return items.count == 1 ? items[0] : .object([("type", .string("Sequence")), ("normalizers", .array(items))])
    }

    func decoderJSON() -> JSONValue {
        let items: [JSONValue] = decoder.map { d in
            switch d {
            case .byteLevel:
                return .object([
                    ("type", .string("ByteLevel")), ("add_prefix_space", .bool(true)), ("trim_offsets", .bool(true)),
                    ("use_regex", .bool(true)),
                ])
            case .replace(let a, let b):
                return .object([("type", .string("Replace")), ("pattern", .object([("String", .string(a))])), ("content", .string(b))])
            case .byteFallback: return .object([("type", .string("ByteFallback"))])
            case .fuse: return .object([("type", .string("Fuse"))])
            case .strip(let c, let start, let stop):
                return .object([("type", .string("Strip")), ("content", .string(c)), ("start", .int(start)), ("stop", .int(stop))])
            case .metaspace(let r, let scheme):
                return .object([("type", .string("Metaspace")), ("replacement", .string(r)), ("prepend_scheme", .string(scheme.rawValue)), ("split", .bool(true))])
            }
        }
        if items.isEmpty { return .null }
        return items.count == 1 ? items[0] : .object([("type", .string("Sequence")), ("decoders", .array(items))])
    }

    func postProcessorJSON() -> JSONValue {
        if prefix.isEmpty && suffix.isEmpty {
            return byteLevel
                ? .object([("type", .string("ByteLevel")), ("add_prefix_space", .bool(true)), ("trim_offsets", .bool(false)), ("use_regex", .bool(true))])
                : .null
        }
        func special(_ id: Int) -> JSONValue { .object([("SpecialToken", .object([("id", .string(vocabulary[id])), ("type_id", .int(0))]))]) }
        func sequence(_ s: String, _ t: Int) -> JSONValue { .object([("Sequence", .object([("id", .string(s)), ("type_id", .int(t))]))]) }
        let single = prefix.map(special) + [sequence("A", 0)] + suffix.map(special)
        let pair = prefix.map(special) + [sequence("A", 0)] + suffix.map(special) + prefix.map(special) + [sequence("B", 1)] + suffix.map(special)
        var specialTokens: [(String, JSONValue)] = []
        for id in Set(prefix + suffix).sorted() {
            let t = vocabulary[id]
            specialTokens.append((t, .object([("id", .string(t)), ("ids", .array([.int(id)])), ("tokens", .array([.string(t)]))])))
        }
        return .object([
            ("type", .string("TemplateProcessing")), ("single", .array(single)), ("pair", .array(pair)),
            ("special_tokens", .object(specialTokens)),
        ])
    }
}
