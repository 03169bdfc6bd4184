// Reading a tokenizer from GGUF metadata (`tokenizer.ggml.*`), as llama.cpp writes and reads it:
// model `gpt2` (byte-level BPE with merges and a named pre-tokenizer) or `llama` (SentencePiece:
// pieces with scores and types). Token types: 1 normal, 2 unknown, 3 control, 4 user-defined,
// 5 unused, 6 byte.
import TensorCore

extension Tokenizer {
    /// The tokenizer a GGUF file carries, or nil when it has none (`tokenizer.ggml.model` absent or `none`).
    public static func fromGGUF(_ md: Metadata, path: String) throws(TokenizerError) -> Tokenizer? {
        func fail(_ m: String) -> TokenizerError { TokenizerError(path, m) }
        guard let modelValue = md["tokenizer.ggml.model"] else { return nil }
        guard let modelName = modelValue.string else { throw fail("tokenizer.ggml.model is not a string") }
        if modelName == "none" || modelName.isEmpty { return nil }
        guard modelName == "gpt2" || modelName == "llama" else {
            throw fail("tokenizer.ggml.model \(quoted(modelName)) is not supported (gpt2 and llama are)")
        }
        let tokens = try stringArray(md, "tokenizer.ggml.tokens", path: path)
        guard !tokens.isEmpty else { throw fail("tokenizer.ggml.tokens is empty") }
        guard tokens.count <= 1 << 24 else { throw fail("tokenizer.ggml.tokens has \(tokens.count) entries, more than 2^24") }
        let types = try intArray(md, "tokenizer.ggml.token_type", path: path) ?? Array(repeating: 1, count: tokens.count)
        guard types.count == tokens.count else {
            throw fail("tokenizer.ggml.token_type has \(types.count) entries but tokenizer.ggml.tokens has \(tokens.count)")
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
            let scores = try floatArray(md, "tokenizer.ggml.scores", path: path) ?? Array(repeating: 0, count: tokens.count)
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
        let preName = md["tokenizer.ggml.pre"]?.string ?? "default"
        guard let entry = PreTokenizerTable.entry(named: preName) else {
            throw fail("tokenizer.ggml.pre \(quoted(preName)) is not supported; supported: \(PreTokenizerTable.supportedNames.joined(separator: ", "))")
        }
        let mergeStrings = try stringArray(md, "tokenizer.ggml.merges", path: path)
        var merges: [(String, String)] = []
        merges.reserveCapacity(mergeStrings.count)
        for (i, m) in mergeStrings.enumerated() {
            let parts = m.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw fail("tokenizer.ggml.merges[\(i)] \(quoted(m)) is not two tokens separated by a space")
            }
            merges.append((String(parts[0]), String(parts[1])))
        }
        let bpe = try BPEModel(
            tokens: tokens, merges: merges, byteLevel: true, ignoreMerges: entry.ignoreMerges, byteFallback: false,
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

    static func stringArray(_ md: Metadata, _ key: String, path: String) throws(TokenizerError) -> [String] {
        guard let v = md[key] else { throw TokenizerError(path, "\(key) is missing") }
        guard case .array(.string, let items) = v else { throw TokenizerError(path, "\(key) is not an array of strings") }
        var out: [String] = []
        out.reserveCapacity(items.count)
        for case .string(let s) in items { out.append(s) }
        return out
    }

    static func intArray(_ md: Metadata, _ key: String, path: String) throws(TokenizerError) -> [Int]? {
        guard let v = md[key] else { return nil }
        guard case .array(_, let items) = v else { throw TokenizerError(path, "\(key) is not an array") }
        var out: [Int] = []
        out.reserveCapacity(items.count)
        for x in items {
            guard let i = x.int else { throw TokenizerError(path, "\(key) holds a value that is not an integer") }
            out.append(i)
        }
        return out
    }

    static func floatArray(_ md: Metadata, _ key: String, path: String) throws(TokenizerError) -> [Float]? {
        guard let v = md[key] else { return nil }
        guard case .array(_, let items) = v else { throw TokenizerError(path, "\(key) is not an array") }
        var out: [Float] = []
        out.reserveCapacity(items.count)
        for x in items {
            guard let d = x.double else { throw TokenizerError(path, "\(key) holds a value that is not a number") }
            out.append(Float(d))
        }
        return out
    }
}
