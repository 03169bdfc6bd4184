// Finding the tokenizer that belongs to a model: a GGUF file's own `tokenizer.ggml.*` keys, or the
// tokenizer files in the model directory (or beside a weight file), or a tokenizer file given directly.

import Foundation
@_exported import Tokenizers

/// The tokenizer of a model path.
public enum ModelTokenizer {
    /// The tokenizer for `path`, or nil when there is none. `path` is a model directory, a weight file
    /// (GGUF: its metadata; others: the files beside it), or a tokenizer file (`tokenizer.json`,
    /// `tokenizer.model`, `vocab.json`).
    public static func load(for path: String) throws -> Tokenizer? {
        let name = path.split(separator: "/").last.map(String.init) ?? path
        if name.hasSuffix(".json") || name.hasSuffix(".model") {
            return try Tokenizer.load(path: path)
        }
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue {
            return Tokenizer.exists(inDirectory: path) ? try Tokenizer.load(path: path) : nil
        }
        let kind = try Checkpoint.sniff(path)
        if kind == .gguf || kind == .zstd {
            let c = try Checkpoint.open(path)
            if c.format == .gguf { return try Tokenizer.fromGGUF(c.metadata, path: path) }
        }
        let dir = (path as NSString).deletingLastPathComponent.isEmpty ? "." : (path as NSString).deletingLastPathComponent
        return Tokenizer.exists(inDirectory: dir) ? try Tokenizer.load(path: dir) : nil
    }

    /// The tokenizer for `path`, or an error that says where WeightKit looked.
    public static func require(for path: String) throws -> Tokenizer {
        if let t = try load(for: path) { return t }
        throw TokenizerError(path, "no tokenizer found (a GGUF file's tokenizer.ggml.* keys, or tokenizer.json, tokenizer.model, or vocab.json + merges.txt in the model's directory)")
    }

    /// Refuses a tokenizer whose ids reach past the model's embedding rows (a smaller vocabulary, as in
    /// padded embeddings, is fine).
    public static func check(_ t: Tokenizer, against config: ModelConfig, path: String) throws {
        if t.vocabularySize > config.vocabSize {
            throw TokenizerError(path, "the tokenizer has \(t.vocabularySize) tokens but the model's embedding has \(config.vocabSize) rows")
        }
    }
}
