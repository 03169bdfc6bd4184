// The small files a single HF-named output takes beside it: config.json (transformers loads a
// single file only with one) and the tokenizer files. They go into OUT's own directory, never
// anywhere else, and are decided before anything is written:
//
//   absent                      written
//   the same bytes              left as they are
//   the same model / tokenizer  left as they are, with a note (a config.json that resolves to the
//                               same config for these weights; tokenizer files with the same
//                               vocabulary and special tokens)
//   anything else               an error naming the file (nothing is written), or with --force
//                               replaced, with a note
//
// The output file carries its resolved config in its own metadata as well (ConvertPlan), and
// WeightKit prefers that when it reads the file, so a stale config.json cannot mislead WeightKit;
// the rule above keeps it from misleading transformers.

import Foundation
import Models
import TensorCore
import Tokenizers

extension Converter {
    /// A file to write beside the output once the output is in place.
    struct BesideFile {
        let path: String
        let bytes: [UInt8]
        /// Replaces a different existing file (only with force).
        let replace: Bool
    }

    /// Decides which of config.json and the tokenizer files to write beside a single-file output.
    /// Throws, before anything is written, when one that is there belongs to another model and
    /// `force` is off.
    static func besideFiles(
        target: String, format: ConvertOutputFormat, plan: inout ConvertPlan,
        tokenizerFiles: [(name: String, bytes: [UInt8])], input: String, checkpoint: Checkpoint, force: Bool
    ) throws -> [BesideFile] {
        guard format != .directory, plan.naming == .hf else { return [] }
        let dir = (target as NSString).deletingLastPathComponent
        func place(_ name: String) -> String { dir.isEmpty ? name : dir + "/" + name }
        var out = [BesideFile]()

        if let config = plan.config {
            let path = place("config.json")
            let bytes = Array((config.serialized(indent: 2) + "\n").utf8)
            if let existing = FileManager.default.contents(atPath: path) {
                if [UInt8](existing) != bytes {
                    let differences = configDifferences(existing, path: path, plan: plan)
                    if differences.isEmpty {
                        plan.notes.append("\(path) is already there and describes the same model; left as it is")
                    } else if force {
                        out.append(BesideFile(path: path, bytes: bytes, replace: true))
                        plan.notes.append("\(path) described another model (\(differences.joined(separator: "; "))); replaced (--force)")
                    } else {
                        throw WeightKitError(
                            "\(path): is another model's config.json (\(differences.joined(separator: "; "))); "
                                + "transformers would load \(target) with it. Use --force to replace it, or write OUT into another directory")
                    }
                }
            } else {
                out.append(BesideFile(path: path, bytes: bytes, replace: false))
            }
        }

        guard format == .safetensors || format == .hdf5, !tokenizerFiles.isEmpty else { return out }
        var absent = [BesideFile]()
        var different = [BesideFile]()
        for (name, bytes) in tokenizerFiles {
            let path = place(name)
            if let existing = FileManager.default.contents(atPath: path) {
                if [UInt8](existing) != bytes { different.append(BesideFile(path: path, bytes: bytes, replace: true)) }
            } else {
                absent.append(BesideFile(path: path, bytes: bytes, replace: false))
            }
        }
        if different.isEmpty { return out + absent }
        let names = different.map { ($0.path as NSString).lastPathComponent }.joined(separator: ", ")
        if let why = tokenizerDifference(directory: dir.isEmpty ? "." : dir, input: input, checkpoint: checkpoint) {
            if force {
                plan.notes.append("\(names) in \(dir.isEmpty ? "." : dir) belonged to another tokenizer (\(why)); replaced (--force)")
                return out + absent + different
            }
            throw WeightKitError(
                "\(different[0].path): belongs to another tokenizer (\(why)). Use --force to replace \(names), or write OUT into another directory")
        }
        // The same tokenizer in other files: keep the set that is there whole rather than mix two.
        plan.notes.append("tokenizer files in \(dir.isEmpty ? "." : dir) (\(names)) differ from the input's but hold the same tokenizer; left as they are")
        return out
    }

    /// Writes the files `besideFiles` chose; returns their paths.
    static func writeBeside(_ files: [BesideFile]) throws -> [String] {
        for f in files { try writeBytes(f.bytes, to: f.path, overwrite: f.replace) }
        return files.map(\.path)
    }

    /// How the config.json `bytes` at `path` differs from the output's resolved config, when it
    /// is read with the output's tensors (names and shapes; no bytes are read); empty when it
    /// resolves to the same config.
    static func configDifferences(_ bytes: Data, path: String, plan: ConvertPlan) -> [String] {
        let json: JSONValue
        do {
            json = try bytes.withUnsafeBytes { try JSONParser.parse($0, rejectDuplicateKeys: false) }
        } catch {
            return ["not valid JSON"]
        }
        guard let ours = plan.modelConfig, let entries = try? plan.recipes.map({ try $0.entry() }) else { return ["not the same text"] }
        let c = Checkpoint(path: path, format: .safetensors, files: [], metadata: Metadata(), entries: entries, config: json, configPath: path)
        guard let arch = ModelLayouts.detect(c) else { return ["no model it names"] }
        if arch != ours.architecture {
            return ["a \(arch.displayName) model's; these are \(ours.architecture.displayName) weights"]
        }
        func described(_ d: [String]) -> [String] { d.isEmpty ? [] : ["config.json vs output: " + d.prefix(4).joined(separator: ", ")] }
        if let g = try? ModelLayouts.graph(for: c) { return described(Differ.compareConfigs(g.config, ours)) }
        if let cfg = try? ModelLayouts.layout(for: arch).config(for: c) {
            let d = described(Differ.compareConfigs(cfg, ours))
            if !d.isEmpty { return d }
        }
        return ["a \(arch.displayName) config that does not fit these weights"]
    }

    /// Why the tokenizer in `directory` is not the one the output comes with, or nil when it is
    /// (the same vocabulary and BOS/EOS ids).
    static func tokenizerDifference(directory: String, input: String, checkpoint c: Checkpoint) -> String? {
        guard Tokenizer.exists(inDirectory: directory) else { return "no tokenizer is readable there" }
        let there: Tokenizer
        do { there = try Tokenizer.load(path: directory) } catch { return "\(error)" }
        let ours: Tokenizer?
        if c.format == .gguf {
            ours = try? ggufTokenizer(c.metadata, path: input)
        } else {
            ours = try? ModelTokenizer.load(for: input)
        }
        guard let ours else { return "the input's tokenizer cannot be read" }
        if there.vocabulary.count != ours.vocabulary.count {
            return "\(there.vocabulary.count) tokens there, \(ours.vocabulary.count) in the input's"
        }
        if let i = zip(there.vocabulary, ours.vocabulary).enumerated().first(where: { $0.element.0 != $0.element.1 })?.offset {
            return "token \(i) is \(there.vocabulary[i].debugDescription) there, \(ours.vocabulary[i].debugDescription) in the input's"
        }
        if there.specials.bos != ours.specials.bos || there.specials.eos != ours.specials.eos {
            return "BOS/EOS ids \(there.specials.bos.map(String.init) ?? "none")/\(there.specials.eos.map(String.init) ?? "none") there, "
                + "\(ours.specials.bos.map(String.init) ?? "none")/\(ours.specials.eos.map(String.init) ?? "none") in the input's"
        }
        return nil
    }
}
