// convert carries the tokenizer: into GGUF as `tokenizer.ggml.*` keys, into Hugging Face
// directories (and beside single HF files) as tokenizer files: copied as they are from an HF
// input, written from the GGUF keys for a GGUF input.

import Foundation
import Models
import TensorCore
import Tokenizers

extension Converter {
    /// Adds the tokenizer to the plan (GGUF keys) or returns the tokenizer files to write beside the
    /// output. A tokenizer that cannot be read or written stops the conversion before anything is written.
    static func carryTokenizer(
        _ input: String, checkpoint c: Checkpoint, format: ConvertOutputFormat, plan: inout ConvertPlan,
        options: ConvertOptions
    ) throws -> [(name: String, bytes: [UInt8])] {
        guard options.tokenizer else { return [] }
        let inputIsGGUF = c.format == .gguf
        // A GGUF input's own keys go into a GGUF output as they are (the plan carries them), unless
        // --pre asks for another name.
        if inputIsGGUF, format == .gguf, options.pre == nil { return [] }
        let tokenizer: Tokenizer?
        if inputIsGGUF {
            tokenizer = try ggufTokenizer(c.metadata, path: input)
        } else if format == .gguf {
            let dir = directoryOf(input)
            tokenizer = Tokenizer.exists(inDirectory: dir) ? try Tokenizer.loadForGGUF(path: dir) : nil
        } else {
            tokenizer = try ModelTokenizer.load(for: input)
        }
        guard let tokenizer else {
            if format == .gguf, plan.naming != .keep {
                plan.notes.append("no tokenizer found beside the input: the GGUF has no tokenizer.ggml.* keys, so llama.cpp cannot run it as a language model")
            }
            return []
        }
        let rows = try? ModelLayouts.graph(for: c).config.vocabSize
        if let rows, tokenizer.vocabularySize > rows {
            throw TokenizerError(input, "the tokenizer has \(tokenizer.vocabularySize) tokens but the model's embedding has \(rows) rows")
        }
        switch format {
        case .gguf:
            for key in plan.metadata.keys where key.hasPrefix("tokenizer.") { plan.metadata[key] = nil }
            for e in try tokenizer.ggufMetadata(pre: options.pre, embeddingRows: rows, path: input) {
                plan.metadata[e.key] = e.value
            }
            return []
        case .directory, .safetensors, .hdf5:
            if format != .directory, plan.naming != .hf { return [] }
            if !inputIsGGUF {
                // The input's own files, byte for byte.
                let dir = directoryOf(input)
                return Tokenizer.fileNames.compactMap { name in
                    let path = dir + "/" + name
                    guard let data = FileManager.default.contents(atPath: path) else { return nil }
                    return (name, [UInt8](data))
                }
            }
            let maxLength = try? ModelLayouts.graph(for: c).config.maxPositions
            return try tokenizer.huggingFaceFiles(modelMaxLength: maxLength)
        }
    }

    /// A GGUF input's tokenizer, with a hint when its keys are unusable.
    static func ggufTokenizer(_ metadata: Metadata, path: String) throws -> Tokenizer? {
        let result = Result { () throws(TokenizerError) -> Tokenizer? in try Tokenizer.fromGGUF(metadata, path: path) }
        switch result {
        case .success(let t): return t
        case .failure(let e):
            throw TokenizerError(path, "the tokenizer keys cannot be used: \(e.message) (--no-tokenizer converts without them)")
        }
    }

    static func directoryOf(_ path: String) -> String {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue { return path }
        let d = (path as NSString).deletingLastPathComponent
        return d.isEmpty ? "." : d
    }
}
