// weightkit inspect: format, metadata, architecture, resolved config, parameter count, tensors;
// or one tensor's values with --tensor.

import ArgumentParser
import Foundation
import WeightKit

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show what a checkpoint holds: format, metadata, model, config and every tensor.",
        discussion: """
            Shapes are row-major (PyTorch order) for every format; GGUF's reversed dims are turned back.
            For torch.save files it says which tensors are copied (strided views, unaligned or big-endian
            storages) rather than mapped, which share a storage (tied weights), and lists the values that
            are not model tensors (a snapshot's step, optimizer state), which every other command skips.
            With --tensor, prints that tensor's values in row-major order: floats widened or dequantized
            to float32, integers exact, bool as 0/1.

            Examples:
              weightkit inspect Fixtures/gpt2-tiny
              weightkit inspect Fixtures/gpt2-tiny/model.safetensors --json
              weightkit inspect Fixtures/gpt2-tiny --tensor transformer.ln_f.bias
            """)

    @Argument(help: "A weight file or model directory.") var path: String
    @Flag(help: "Print one JSON object instead of text.") var json = false
    @Option(help: "Show one tensor's values.") var tensor: String?
    @Option(help: "With --tensor and text output, how many values to print.") var limit = 32

    @OptionGroup var limits: InputLimits

    func run() throws {
        limits.apply()
        try guarded {
            let c = try Checkpoint.open(path)
            if let name = tensor { return try showTensor(c, name) }
            // Activations, not weights (Inspect+Reference).
            if ReferenceFile.isReference(c) { return try showReference(c) }
            let graph: ModelGraph?
            let modelError: String?
            do {
                graph = try ModelLayouts.graph(for: c)
                modelError = nil
            } catch {
                graph = nil
                modelError = "\(error)"
            }
            let parameters: Int
            if let graph {
                var seen = Set<String>()
                parameters = graph.weights.values.filter { seen.insert($0.source.name).inserted }.reduce(0) { $0 + $1.source.elementCount }
            } else {
                parameters = c.parameterCount
            }
            // The tokenizer, if any; a broken one is reported here rather than stopping inspect.
            var tokenizer: Tokenizer? = nil
            var tokenizerError: String? = nil
            do { tokenizer = try ModelTokenizer.load(for: path) } catch { tokenizerError = "\(error)" }
            let rows = graph?.config.vocabSize
            // What running it would take (nil when the graph is not runnable; the reason is printed).
            var memoryPlan: MemoryPlan? = nil
            var memoryError: String? = nil
            if let graph {
                do { memoryPlan = try Executor.memoryPlan(graph) } catch { memoryError = "\(error)" }
            }
            if json {
                printJSON(.object([
                    ("format", .string(c.format.rawValue)), ("files", .array(c.files.map { .string($0) })),
                    ("tokenizer", tokenizer.map { tokenizerJSON($0, embeddingRows: rows) } ?? tokenizerError.map { .object([("error", .string($0))]) } ?? .null),
                    ("metadata", .object(c.metadata.entries.map { ($0.key, metadataJSON($0.value)) })),
                    ("architecture", graph.map { .string($0.config.architecture.rawValue) } ?? .null),
                    ("naming", graph.map { .string($0.naming) } ?? .null),
                    ("warnings", .array((graph?.warnings ?? []).map { .string($0) })),
                    ("config", graph?.config.json ?? .null),
                    ("model_error", modelError.map { .string($0) } ?? .null),
                    ("parameters", .int(parameters)),
                    ("memory", memoryPlan.map { p in
                        .object([("mapped_weight_bytes", .int(p.mappedBytes)), ("owned_weight_bytes", .int(p.ownedBytes)), ("kv_bytes_per_token", .int(p.kvBytesPerToken))])
                    } ?? .null),
                    ("tensors", .array(c.entries.map { e in
                        .object([
                            ("name", .string(e.name)), ("dtype", .string(e.dtype.rawValue)), ("shape", .array(e.shape.map { .int($0) })),
                            ("bytes", .int(e.byteCount)),
                        ] + (c.tensorNotes[e.name].map { [("note", JSONValue.string($0))] } ?? []))
                    })),
                ] + formatExtras(c)))
                return
            }
            print(path)
            print("  format        \(c.format.rawValue) (\(c.files.count) file\(c.files.count == 1 ? "" : "s"))")
            if let graph {
                print("  architecture  \(graph.config.architecture.displayName) (\(graph.naming))")
                for w in graph.warnings { print("  warning       \(w)") }
                print("  config        \(graph.config.summary)")
                print("                \(graph.config.shape)")
            } else {
                print("  architecture  not recognised: \(modelError ?? "")")
            }
            print("  parameters    \(grouped(parameters))")
            if let memoryPlan { print("  memory        \(memoryLine(memoryPlan))") }
            if let memoryError { print("  memory        cannot run: \(memoryError)") }
            if let cp = c.configPath {
                print("  config.json   \(cp)")
            } else if c.configIsEmbedded {
                print("  config.json   carried in the file's own metadata")
            }
            for (i, line) in c.details.enumerated() { print("  \(i == 0 ? c.format.rawValue.padded(12) : "".padded(12))  \(line)") }
            if let t = tokenizer {
                for line in tokenizerLines(t, embeddingRows: rows) { print("  " + line) }
            } else if let tokenizerError {
                print("  tokenizer     unreadable: \(tokenizerError)")
            } else {
                print("  tokenizer     none found")
            }
            if !c.metadata.isEmpty {
                print("  metadata (\(c.metadata.entries.count))")
                let w = min(48, c.metadata.keys.map(\.count).max() ?? 0)
                for e in c.metadata.entries {
                    // GGUF values are typed; show the type as gguf-dump does.
                    let type = c.format == .gguf ? e.value.type.name.padded(4) + " " : ""
                    print("    \(e.key.padded(w))  \(type)\(e.value.summary())")
                }
            }
            print("  tensors (\(c.entries.count), \(grouped(c.entries.reduce(0) { $0 + $1.byteCount })) bytes)")
            let nw = min(56, c.entries.map(\.name.count).max() ?? 0)
            for e in c.entries {
                let shape = "[" + e.shape.map(String.init).joined(separator: ", ") + "]"
                let note = c.tensorNotes[e.name].map { "  (\($0))" } ?? ""
                print("    \(e.name.padded(nw))  \(e.dtype.rawValue.padded(7)) \(shape.padded(16)) \(grouped(e.byteCount).leftPadded(12))\(note)")
            }
            if !c.others.isEmpty {
                print("  other entries (\(c.others.count), not tensors of the model: skipped)")
                let ow = min(56, c.others.map(\.name.count).max() ?? 0)
                for o in c.others { print("    \(o.name.padded(ow))  \(o.type.padded(7)) \(o.value)") }
            }
        }
    }

    func specialsList(_ t: Tokenizer) -> [(String, Int)] {
        [("bos", t.specials.bos), ("eos", t.specials.eos), ("unk", t.specials.unk), ("pad", t.specials.pad)]
            .compactMap { name, id in id.map { (name, $0) } }
    }

    func tokenizerLines(_ t: Tokenizer, embeddingRows rows: Int?) -> [String] {
        var lines = ["tokenizer     \(t.kind), \(grouped(t.vocabularySize)) tokens, from \(t.source)"]
        if let rows, t.vocabularySize < rows {
            lines.append("              vocabulary smaller than the embedding (\(grouped(rows)) rows; the rest are padding)")
        } else if let rows, t.vocabularySize > rows {
            lines.append("              vocabulary LARGER than the embedding (\(grouped(rows)) rows): ids past it cannot run")
        }
        lines.append("              pre-tokenizer \(t.preDescription)\(t.preName.map { " (llama.cpp: \($0))" } ?? "")")
        let specials = specialsList(t).map { "\($0.0) \($0.1) \(t.vocabulary[$0.1].debugDescription)" }
        lines.append("              special \(specials.isEmpty ? "none" : specials.joined(separator: ", "))")
        lines.append("              adds \(t.specials.addBos ? "BOS" : "no BOS"), \(t.specials.addEos ? "EOS" : "no EOS"); \(t.addedTokens.count) added tokens; chat template \(t.chatTemplate == nil ? "none" : "present")")
        return lines
    }

    func tokenizerJSON(_ t: Tokenizer, embeddingRows rows: Int?) -> JSONValue {
        .object([
            ("kind", .string(t.kind)), ("source", .string(t.source)), ("vocab_size", .int(t.vocabularySize)),
            ("embedding_rows", rows.map { .int($0) } ?? .null),
            ("pre_tokenizer", .string(t.preDescription)), ("llama_cpp_pre", t.preName.map { .string($0) } ?? .null),
            ("special_tokens", .object(specialsList(t).map { ($0.0, .object([("id", .int($0.1)), ("text", .string(t.vocabulary[$0.1]))])) })),
            ("add_bos", .bool(t.specials.addBos)), ("add_eos", .bool(t.specials.addEos)),
            ("end_of_generation", .array(t.specials.endOfGeneration.map { .int($0) })),
            ("added_tokens", .int(t.addedTokens.count)), ("chat_template", .bool(t.chatTemplate != nil)),
        ])
    }

    /// What only some formats have (a PyTorch file's layout, its other entries), as JSON members.
    func formatExtras(_ c: Checkpoint) -> [(String, JSONValue)] {
        var out = [(String, JSONValue)]()
        if !c.details.isEmpty { out.append(("details", .array(c.details.map { .string($0) }))) }
        if !c.others.isEmpty {
            out.append(("other_entries", .array(c.others.map { o in
                .object([("name", .string(o.name)), ("type", .string(o.type)), ("value", .string(o.value))])
            })))
        }
        return out
    }

    /// A metadata value as JSON. Every array has one shape, whatever its length:
    /// `{"type": "array", "element_type", "count", "values": [the first 16 at most], "complete": count ≤ 16}`.
    func metadataJSON(_ v: MetadataValue) -> JSONValue {
        if case .array(let t, let items) = v {
            return .object([
                ("type", .string("array")), ("element_type", .string(t.name)), ("count", .int(items.count)),
                ("values", .array(items.prefix(16).map(\.json))), ("complete", .bool(items.count <= 16)),
            ])
        }
        return v.json
    }

    func showTensor(_ c: Checkpoint, _ name: String) throws {
        guard let e = c[name] else {
            let close = c.entries.map(\.name).filter { $0.contains(name) || name.contains($0) }.prefix(5)
            let hint = close.isEmpty ? "" : "; similar: \(close.joined(separator: ", "))"
            throw WeightKitError("\(c.path): no tensor named '\(name)'\(hint)")
        }
        let t = try e.load()
        let values = try t.values()
        let items: [JSONValue]
        switch values {
        case .floats(let f): items = f.map { .float($0) }
        case .signed(let s): items = s.map { .number(String($0)) }
        case .unsigned(let u): items = u.map { .number(String($0)) }
        }
        if json {
            printJSON(.object([
                ("name", .string(e.name)), ("dtype", .string(e.dtype.rawValue)), ("shape", .array(e.shape.map { .int($0) })),
                ("bytes", .int(e.byteCount)), ("values", .array(items)),
            ]))
            return
        }
        print("\(e.name)  \(e.dtype.rawValue)  \(e.shape)  \(grouped(e.byteCount)) bytes")
        if case .floats(let f) = values, !f.isEmpty {
            let finite = f.filter(\.isFinite)
            let mean = finite.reduce(0.0) { $0 + Double($1) } / Double(max(finite.count, 1))
            print("  min \(short(finite.min() ?? .nan))  max \(short(finite.max() ?? .nan))  mean \(short(Float(mean)))  non-finite \(f.count - finite.count)")
        }
        let shown = items.prefix(limit).map { $0.serialized() }.joined(separator: " ")
        print("  " + shown + (items.count > limit ? " … (\(items.count) values; --limit or --json for all)" : ""))
    }
}
