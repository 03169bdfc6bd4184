// SentencePiece vocabularies (GGUF `llama`, `tokenizer.model`) through the SentencePiece encoder.

extension Tokenizer {
    static func makeSentencePiece(
        tokens: [String], scores: [Float], types: [Int32], addDummyPrefix: Bool, unkId: Int?, path: String
    ) throws(TokenizerError) -> any SentencePieceEncoding {
        throw TokenizerError(path, "SentencePiece vocabularies are not supported yet")
    }
}
