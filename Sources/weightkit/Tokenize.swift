// weightkit tokenize: text to token ids and back, with the model's own tokenizer.

import ArgumentParser
import WeightKit

struct Tokenize: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Encode text to token ids (or decode ids to text) with a model's tokenizer.",
        discussion: """
            MODEL is anything that carries or sits next to a tokenizer: a GGUF file (its \
            tokenizer.ggml.* keys), a model directory or weight file with tokenizer.json, \
            tokenizer.model or vocab.json + merges.txt beside it, or one of those files alone.

            Special tokens (BOS/EOS) are added as the tokenizer's own configuration says, as \
            transformers' tokenizer(text).input_ids does; --no-special leaves them out. Special-token \
            strings inside TEXT (e.g. <|endoftext|>) are matched as tokens.

            Examples:
              weightkit tokenize Fixtures/gpt2-text "Hello world"
              weightkit tokenize model.gguf "Hello world" --json
              weightkit tokenize Fixtures/llama-spm --decode 1,15043,3186
            """)

    @Argument(help: "A model (GGUF, directory, weight file) or a tokenizer file.") var model: String
    @Argument(help: "The text to encode.") var text: String?
    @Option(help: "Comma-separated ids to decode instead of encoding text.") var decode: String?
    @Flag(name: .customLong("no-special"), help: "Add no BOS/EOS.") var noSpecial = false
    @Flag(help: "Print JSON: {\"ids\": [...], \"tokens\": [...]} (with --decode: {\"text\": ...}).") var json = false

    func validate() throws {
        if (text == nil) == (decode == nil) { throw ValidationError("give either TEXT or --decode IDS") }
    }

    func run() throws {
        try guarded {
            try checkArgumentsAreUTF8()
            let tok = try ModelTokenizer.require(for: model)
            if let decode {
                let ids = try parseTokens(decode, option: "--decode")
                for id in ids where id < 0 || id >= tok.vocabularySize {
                    throw TokenizerError(model, "id \(id) is outside the vocabulary (0..<\(tok.vocabularySize))")
                }
                let text = tok.decode(ids)
                if json { printJSON(.object([("text", .string(text))])) } else { print(text) }
                return
            }
            let ids = tok.encode(text!, addSpecialTokens: !noSpecial)
            let tokens = ids.map { tok.vocabulary[$0] }
            if json {
                printJSON(.object([("ids", .array(ids.map { .int($0) })), ("tokens", .array(tokens.map { .string($0) }))]))
                return
            }
            print(ids.map(String.init).joined(separator: " "))
            for (id, t) in zip(ids, tokens) { print("  \(String(id).leftPadded(7))  \(t.debugDescription)") }
        }
    }
}
