// SentencePiece vocabularies (GGUF `llama`, `tokenizer.model`) through `SentencePieceTokenizer`.
// Text between special tokens is encoded as llama.cpp does: the dummy-prefix space goes before the
// first piece of text and before text that follows a special token, not before other text.

/// The encoder twice: with and without the dummy prefix.
struct SentencePiecePair: SentencePieceEncoding {
    let prefixed: SentencePieceTokenizer
    let plain: SentencePieceTokenizer

    func encode(_ text: String, dummyPrefix: Bool) -> [Int] {
        (dummyPrefix ? prefixed : plain).encode(text)
    }
    func decode(_ ids: [Int]) -> String { prefixed.decode(ids) }
    func pieceBytes(_ id: Int) -> [UInt8] { prefixed.pieceBytes(id) }
    var stripsLeadingSpace: Bool { prefixed.addDummyPrefix || prefixed.removeExtraWhitespaces }
}

extension Tokenizer {
    static func makeSentencePiece(
        tokens: [String], scores: [Float], types: [Int32], addDummyPrefix: Bool, unkId: Int?, path: String
    ) throws(TokenizerError) -> any SentencePieceEncoding {
        let byteFallback = types.contains(6)
        let a = try SentencePieceTokenizer(
            tokens: tokens, scores: scores, types: types, addDummyPrefix: addDummyPrefix, byteFallback: byteFallback,
            unkId: unkId, path: path)
        let b = try SentencePieceTokenizer(
            tokens: tokens, scores: scores, types: types, addDummyPrefix: false, byteFallback: byteFallback,
            unkId: unkId, path: path)
        return SentencePiecePair(prefixed: a, plain: b)
    }

    /// Reads a SentencePiece `tokenizer.model` (BPE models only; see `SentencePieceTokenizer`).
    public static func fromSentencePieceModel(path: String) throws(TokenizerError) -> Tokenizer {
        try fromSentencePieceModel(try SentencePieceModel(contentsOf: path), path: path)
    }

    /// The tokenizer of a parsed `tokenizer.model`; `path` names the file in errors.
    static func fromSentencePieceModel(_ model: SentencePieceModel, path: String) throws(TokenizerError) -> Tokenizer {
        let prefixed = try SentencePieceTokenizer(model: model, path: path)
        var plainModel = model
        plainModel.addDummyPrefix = false
        let plain = try SentencePieceTokenizer(model: plainModel, path: path)
        var added: [AddedToken] = []
        for (i, p) in model.pieces.enumerated() {
            switch p.type {
            case .control, .unknown: added.append(AddedToken(id: i, content: p.piece, special: true))
            case .userDefined: added.append(AddedToken(id: i, content: p.piece, special: false))
            default: break
            }
        }
        func valid(_ id: Int) -> Int? { id >= 0 && id < model.pieces.count ? id : nil }
        var specials = SpecialTokens()
        specials.bos = valid(model.bosId)
        specials.eos = valid(model.eosId)
        specials.unk = valid(model.unkId)
        specials.pad = valid(model.padId)
        specials.endOfGeneration = specials.eos.map { [$0] } ?? []
        // The LLaMA convention, which tokenizer_config.json may change.
        specials.addBos = specials.bos != nil
        return Tokenizer(
            kind: "SentencePiece", source: "tokenizer.model", vocabulary: model.pieces.map(\.piece), addedTokens: added,
            specials: specials, chatTemplate: nil, preName: nil,
            model: .sentencePiece(SentencePiecePair(prefixed: prefixed, plain: plain)), normalizers: [],
            pre: PreTokenization(), byteLevel: false, prefix: specials.bos.map { [$0] } ?? [], suffix: [], decoder: [])
    }
}
