// Entry points for the libFuzzer harnesses (Sources/wk-fuzz): each tokenizer reader over bytes held in
// memory, then the tokenizer it made used on a fixed text, so that what a file sets up (vocabulary, merges,
// pieces, pre-tokenizer patterns, added tokens, templates) is exercised as well as read. Errors are the
// expected outcome for most inputs and are dropped; a crash, a hang or an unbounded allocation is a finding.
import TensorCore

/// Tokenizer readers over bytes, for fuzzing.
public enum TokenizerFuzzing {
    /// Mixed scripts, digits, whitespace runs, a special-token lookalike and bytes SentencePiece falls back on.
    static let text = "Hello, world!  It's 2026 — naïve café, 東京, 🙂\n\t<|endoftext|><s> x\u{0}y  \u{7f}"

    /// A `tokenizer.json`.
    public static func tokenizerJSON(_ bytes: [UInt8]) {
        guard let t = try? Tokenizer.fromTokenizerJSON(bytes: bytes, path: "fuzz/tokenizer.json") else { return }
        exercise(t)
    }

    /// A SentencePiece `tokenizer.model` (ModelProto).
    public static func sentencePieceModel(_ bytes: [UInt8]) {
        guard let model = try? SentencePieceModel(bytes: bytes, path: "fuzz/tokenizer.model"),
            let t = try? Tokenizer.fromSentencePieceModel(model, path: "fuzz/tokenizer.model")
        else { return }
        exercise(t)
    }

    /// A chat template (the bytes as UTF-8 text), parsed and rendered with a short conversation.
    public static func chatTemplate(_ bytes: [UInt8]) {
        guard let template = try? ChatTemplate(String(decoding: bytes, as: UTF8.self), path: "fuzz/chat_template.jinja")
        else { return }
        let messages = [
            ChatMessage(role: "system", content: "Be brief."), ChatMessage(role: "user", content: text),
            ChatMessage(role: "assistant", content: "Hi."), ChatMessage(role: "user", content: "Again?"),
        ]
        _ = try? template.render(messages: messages, addGenerationPrompt: true, bosToken: "<s>", eosToken: "</s>")
    }

    /// The tokenizer keys of GGUF metadata (`tokenizer.ggml.*`), as `Tokenizer.fromGGUF` receives them.
    public static func ggufMetadata(
        _ md: Metadata, strings: (String) -> (utf8: [UInt8], ends: [Int])?, numbers: (String) -> [Double]?
    ) {
        guard let t = try? Tokenizer.fromGGUF(md, path: "fuzz.gguf", strings: strings, numbers: numbers)
        else { return }
        exercise(t)
    }

    static func exercise(_ t: Tokenizer) {
        let ids = t.encode(text)
        _ = t.decode(ids)
        _ = t.decode(ids, skipSpecialTokens: true)
        if let source = t.chatTemplate, source.utf8.count <= 1 << 16 { chatTemplate(Array(source.utf8)) }
    }
}
