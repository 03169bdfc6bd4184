// Reading a tokenizer from GGUF metadata (`tokenizer.ggml.*`), as llama.cpp writes and reads it:
// model `gpt2` (byte-level BPE with merges and a named pre-tokenizer) or `llama` (SentencePiece:
// pieces with scores and types). Token types: 1 normal, 2 unknown, 3 control, 4 user-defined,
// 5 unused, 6 byte.
import TensorCore

extension Tokenizer {
    /// The tokenizer a GGUF file carries, or nil when it has none (`tokenizer.ggml.model` absent, `none` or
    /// `no_vocab`, as llama.cpp reads them).
    public static func fromGGUF(_ md: Metadata, path: String) throws(TokenizerError) -> Tokenizer? {
        try fromGGUF(md, path: path, strings: { _ in nil }, numbers: { _ in nil })
    }

    /// The same, with the long arrays (tokens, merges, token types, scores) handed over packed, so that no
    /// `MetadataValue` is built per token: `strings(key)` gives a string array's UTF-8 bytes back to back
    /// and each one's end, `numbers(key)` a numeric array's values; either gives nil for an array `md`
    /// holds itself. With GGUFFormat: `fromGGUF(file.metadata(arraysUpTo: 64), path: path,
    /// strings: file.packedStrings, numbers: file.numbers)`, where `md` gives the long arrays empty.
    public static func fromGGUF(
        _ md: Metadata, path: String, strings: (String) -> (utf8: [UInt8], ends: [Int])?,
        numbers: (String) -> [Double]?
    ) throws(TokenizerError) -> Tokenizer? {
        func fail(_ m: String) -> TokenizerError { TokenizerError(path, m) }
        guard let modelValue = md["tokenizer.ggml.model"] else { return nil }
        guard let modelName = modelValue.string else { throw fail("tokenizer.ggml.model is not a string") }
        if modelName == "none" || modelName == "no_vocab" || modelName.isEmpty { return nil }
        guard modelName == "gpt2" || modelName == "llama" else {
            throw fail("tokenizer.ggml.model \(excerpt(modelName)) is not supported (gpt2 and llama are)")
        }
        let packedTokens = try packedStringArray(md, "tokenizer.ggml.tokens", strings, path: path)
        guard packedTokens.count > 0 else { throw fail("tokenizer.ggml.tokens is empty") }
        guard packedTokens.count <= 1 << 24 else { throw fail("tokenizer.ggml.tokens has \(packedTokens.count) entries, more than 2^24") }
        let tokens = packedTokens.strings()
        let types = try intArray(md, "tokenizer.ggml.token_type", numbers, path: path) ?? Array(repeating: 1, count: tokens.count)
        guard types.count == tokens.count else {
            throw fail("tokenizer.ggml.token_type has \(types.count) entries but tokenizer.ggml.tokens has \(tokens.count)")
        }
        // llama.cpp stores a token type as int32; a value outside it is no type at all.
        if let (i, t) = types.enumerated().first(where: { Int32(exactly: $0.element) == nil }) {
            throw fail("tokenizer.ggml.token_type[\(i)] = \(t) is not a 32-bit token type")
        }
        func tokenId(_ key: String) throws(TokenizerError) -> Int? {
            guard let v = md[key] else { return nil }
            guard let id = v.int else { throw fail("\(key) is not an integer") }
            // llama.cpp writes -1 (as u32 0xFFFFFFFF) for "none".
            if id == -1 || id == 0xFFFF_FFFF { return nil }
            guard id >= 0, id < tokens.count else { throw fail("\(key) = \(id) is outside the vocabulary (\(tokens.count) tokens)") }
            return id
        }
        var specials = SpecialTokens()
        specials.bos = try tokenId("tokenizer.ggml.bos_token_id")
        specials.eos = try tokenId("tokenizer.ggml.eos_token_id")
        specials.unk = try tokenId("tokenizer.ggml.unknown_token_id")
        specials.pad = try tokenId("tokenizer.ggml.padding_token_id")
        specials.endOfGeneration = [specials.eos, try tokenId("tokenizer.ggml.eot_token_id"), try tokenId("tokenizer.ggml.eom_token_id")]
            .compactMap { $0 }.reduce(into: []) { if !$0.contains($1) { $0.append($1) } }

        var added: [AddedToken] = []
        for (i, t) in types.enumerated() where t == 2 || t == 3 || t == 4 {
            guard !tokens[i].isEmpty else { continue }
            added.append(AddedToken(id: i, content: tokens[i], special: t != 4))
        }
        let chatTemplate = md["tokenizer.chat_template"]?.string

        if modelName == "llama" {
            let scores = try floatArray(md, "tokenizer.ggml.scores", numbers, path: path) ?? Array(repeating: 0, count: tokens.count)
            guard scores.count == tokens.count else {
                throw fail("tokenizer.ggml.scores has \(scores.count) entries but tokenizer.ggml.tokens has \(tokens.count)")
            }
            specials.addBos = md["tokenizer.ggml.add_bos_token"]?.bool ?? true
            specials.addEos = md["tokenizer.ggml.add_eos_token"]?.bool ?? false
            let addSpacePrefix = md["tokenizer.ggml.add_space_prefix"]?.bool ?? true
            let spm = try makeSentencePiece(
                tokens: tokens, scores: scores, types: types.map(Int32.init), addDummyPrefix: addSpacePrefix,
                unkId: specials.unk, path: path)
            return Tokenizer(
                kind: "SentencePiece", source: "GGUF tokenizer.ggml.* (llama)", vocabulary: tokens, addedTokens: added,
                specials: specials, chatTemplate: chatTemplate, preName: nil, model: .sentencePiece(spm), normalizers: [],
                pre: PreTokenization(), byteLevel: false, prefix: specials.addBos ? specials.bos.map { [$0] } ?? [] : [],
                suffix: specials.addEos ? specials.eos.map { [$0] } ?? [] : [], decoder: [])
        }

        // gpt2: byte-level BPE.
        let preName: String
        switch md["tokenizer.ggml.pre"] {
        case nil: preName = "default"
        case let v?:
            guard let name = v.string else { throw fail("tokenizer.ggml.pre is not a string") }
            preName = name
        }
        guard let entry = PreTokenizerTable.entry(named: preName) else {
            throw fail("tokenizer.ggml.pre \(excerpt(preName)) is not supported; supported: \(PreTokenizerTable.supportedNames.joined(separator: ", "))")
        }
        // Each merge "a b": the two tokens split at the first space.
        let mergeStrings = try packedStringArray(md, "tokenizer.ggml.merges", strings, path: path)
        var merges = PackedMerges()
        merges.bytes = mergeStrings.bytes
        var badMerge: Int? = nil
        merges.bounds = [Int32](unsafeUninitializedCapacity: 4 * mergeStrings.count) { bounds, filled in
            mergeStrings.bytes.withUnsafeBufferPointer { b in
                mergeStrings.offsets.withUnsafeBufferPointer { off in
                    for i in 0..<(off.count - 1) {
                        let lo = Int(off[i]), hi = Int(off[i + 1])
                        var sp = lo
                        while sp < hi, b[sp] != 0x20 { sp += 1 }
                        guard sp > lo, sp + 1 < hi else {
                            badMerge = i
                            return
                        }
                        bounds[4 * i] = Int32(lo)
                        bounds[4 * i + 1] = Int32(sp)
                        bounds[4 * i + 2] = Int32(sp + 1)
                        bounds[4 * i + 3] = Int32(hi)
                        filled = 4 * (i + 1)
                    }
                }
            }
        }
        if let i = badMerge {
            throw fail("tokenizer.ggml.merges[\(i)] \(excerpt(mergeStrings.string(i))) is not two tokens separated by a space")
        }
        let bpe = try BPEModel(
            tokens: tokens, texts: packedTokens, merges: merges, byteLevel: true, ignoreMerges: entry.ignoreMerges, byteFallback: false,
            unknownId: specials.unk.map(Int32.init), fuseUnknown: false, path: path)
        specials.addBos = md["tokenizer.ggml.add_bos_token"]?.bool ?? entry.addBos
        specials.addEos = md["tokenizer.ggml.add_eos_token"]?.bool ?? false
        var pre = PreTokenization()
        pre.steps = try PreTokenizerTable.steps(entry, path: path).map { ($0, false) }
        return Tokenizer(
            kind: "BPE", source: "GGUF tokenizer.ggml.* (gpt2, pre \(preName))", vocabulary: tokens, addedTokens: added,
            specials: specials, chatTemplate: chatTemplate, preName: entry.names[0], model: .bpe(bpe), normalizers: [],
            pre: pre, byteLevel: true, prefix: specials.addBos ? specials.bos.map { [$0] } ?? [] : [],
            suffix: specials.addEos ? specials.eos.map { [$0] } ?? [] : [], decoder: [.byteLevel])
    }

    /// A string array, packed: from `strings` when it has the key, else from `md`.
    static func packedStringArray(
        _ md: Metadata, _ key: String, _ strings: (String) -> (utf8: [UInt8], ends: [Int])?, path: String
    ) throws(TokenizerError) -> PackedStrings {
        if let p = strings(key) {
            guard p.utf8.count < Int(Int32.max) else { throw TokenizerError(path, "\(key) holds more than 2 GiB of text") }
            return PackedStrings(utf8: p.utf8, ends: p.ends.map { Int32(truncatingIfNeeded: $0) })
        }
        guard let v = md[key] else { throw TokenizerError(path, "\(key) is missing") }
        guard case .array(.string, let items) = v else { throw TokenizerError(path, "\(key) is not an array of strings") }
        var out = PackedStrings()
        out.offsets.reserveCapacity(items.count + 1)
        for case .string(let s) in items { out.append(s) }
        guard out.bytes.count < Int(Int32.max) else { throw TokenizerError(path, "\(key) holds more than 2 GiB of text") }
        return out
    }

    /// An integer array: the element type from `md`, the values from `numbers` when it has them.
    static func intArray(_ md: Metadata, _ key: String, _ numbers: (String) -> [Double]?, path: String) throws(TokenizerError) -> [Int]? {
        guard let v = md[key] else { return nil }
        guard case .array(let type, let items) = v else { throw TokenizerError(path, "\(key) is not an array") }
        if let values = numbers(key) {
            let integer: Set<MetadataType> = [.uint8, .int8, .uint16, .int16, .uint32, .int32, .uint64, .int64]
            guard integer.contains(type) else { throw TokenizerError(path, "\(key) holds a value that is not an integer") }
            var out: [Int] = []
            out.reserveCapacity(values.count)
            for x in values {
                guard let i = Int(exactly: x) else { throw TokenizerError(path, "\(key) holds a value that is not an integer") }
                out.append(i)
            }
            return out
        }
        var out: [Int] = []
        out.reserveCapacity(items.count)
        for x in items {
            guard let i = x.int else { throw TokenizerError(path, "\(key) holds a value that is not an integer") }
            out.append(i)
        }
        return out
    }

    /// A numeric array: the element type from `md`, the values from `numbers` when it has them.
    static func floatArray(_ md: Metadata, _ key: String, _ numbers: (String) -> [Double]?, path: String) throws(TokenizerError) -> [Float]? {
        guard let v = md[key] else { return nil }
        guard case .array(let type, let items) = v else { throw TokenizerError(path, "\(key) is not an array") }
        if let values = numbers(key) {
            guard type != .string, type != .bool, type != .array else {
                throw TokenizerError(path, "\(key) holds a value that is not a number")
            }
            return values.map { Float($0) }
        }
        var out: [Float] = []
        out.reserveCapacity(items.count)
        for x in items {
            guard let d = x.double else { throw TokenizerError(path, "\(key) holds a value that is not a number") }
            out.append(Float(d))
        }
        return out
    }
}
