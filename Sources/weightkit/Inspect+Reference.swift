// inspect on a reference activation file: what it holds and what it was recorded from, instead
// of a failed attempt to read it as a model.

import Foundation
import WeightKit

extension Inspect {
    func showReference(_ c: Checkpoint) throws {
        let ref = try ReferenceFile.open(c.path)
        func shape(_ name: String) -> [Int]? { c[name]?.shape }
        let layers = c.entries.filter { $0.name.hasPrefix("attentions.") }.count
        let states = c.entries.filter { $0.name.hasPrefix("hidden_states.") }.count
        let hidden = shape("hidden_states.0")?.last
        let heads = shape("attentions.0").flatMap { $0.count == 4 ? $0[1] : nil }
        let vocab = shape("logits")?.last
        let m = c.metadata
        var recordedFrom: JSONValue = .null
        if let arch = m["architecture"]?.string {
            var o: [(String, JSONValue)] = [("architecture", .string(arch))]
            if let text = m["config"]?.string, let j = try? JSONParser.parse(text) { o.append(("config", j)) }
            if let h = m["config_sha256"]?.string { o.append(("config_sha256", .string(h))) }
            recordedFrom = .object(o)
        }
        if json {
            printJSON(.object([
                ("format", .string(c.format.rawValue)), ("files", .array(c.files.map { .string($0) })),
                ("kind", .string("reference activations")), ("tokenizer", .null),
                ("metadata", .object(m.entries.map { ($0.key, metadataJSON($0.value)) })),
                ("architecture", .null), ("naming", .null), ("config", .null), ("model_error", .null),
                ("parameters", .int(c.parameterCount)),
                ("reference", .object([
                    ("input_ids", .array(ref.inputIDs.map { .array($0.map { .int($0) }) })),
                    ("layers", layers > 0 ? .int(layers) : (states > 0 ? .int(states - 1) : .null)),
                    ("hidden_size", hidden.map { .int($0) } ?? .null), ("heads", heads.map { .int($0) } ?? .null),
                    ("vocab_size", vocab.map { .int($0) } ?? .null), ("recorded_from", recordedFrom),
                ])),
                ("tensors", .array(c.entries.map { e in
                    .object([
                        ("name", .string(e.name)), ("dtype", .string(e.dtype.rawValue)), ("shape", .array(e.shape.map { .int($0) })),
                        ("bytes", .int(e.byteCount)),
                    ])
                })),
            ]))
            return
        }
        func dims(_ s: [Int]?) -> String { s.map { "[" + $0.map(String.init).joined(separator: ", ") + "]" } ?? "" }
        func range(_ prefix: String, _ n: Int) -> String? {
            n == 0 ? nil : "\(prefix)0\(n > 1 ? "…\(n - 1)" : "") \(dims(shape(prefix + "0")))"
        }
        print(c.path)
        print("  format        \(c.format.rawValue) (\(c.files.count) file\(c.files.count == 1 ? "" : "s"))")
        print("  kind          reference activations: check a model against them with")
        print("                weightkit verify MODEL --reference \(c.path)")
        let t = ref.inputIDs.first?.count ?? 0
        let shown = ref.inputIDs.first.map { ids in ids.prefix(16).map(String.init).joined(separator: " ") + (ids.count > 16 ? " …" : "") } ?? ""
        let batch = ref.inputIDs.count
        print("  input_ids     \(batch) sequence\(batch == 1 ? "" : "s") of \(t) token\(t == 1 ? "" : "s"): \(shown)")
        let acts = [range("hidden_states.", states), range("attentions.", layers), c["logits"].map { "logits \(dims($0.shape))" }].compactMap { $0 }
        print("  activations   \(acts.joined(separator: ", "))")
        var model = [String]()
        if layers > 0 || states > 0 { model.append("\(layers > 0 ? layers : states - 1) layers") }
        if let hidden { model.append("hidden \(hidden)") }
        if let heads { model.append("\(heads) heads") }
        if let vocab { model.append("vocab \(vocab)") }
        if !model.isEmpty { print("  of a model    \(model.joined(separator: ", "))") }
        let producer = m["producer"]?.string.map { p -> String in
            var parts = [p + (m["transformers_version"]?.string.map { " " + $0 } ?? "")]
            if let tv = m["torch_version"]?.string { parts.append("torch \(tv)") }
            return parts.joined(separator: ", ")
        }
        if let producer { print("  recorded by   \(producer)") }
        if let arch = m["architecture"]?.string {
            print("  recorded from \(arch)\(m["config_sha256"]?.string.map { " (config_sha256 \($0.prefix(12))…)" } ?? ""); verify warns when the model differs")
        }
        if !m.isEmpty {
            print("  metadata (\(m.entries.count))")
            let w = min(48, m.keys.map(\.count).max() ?? 0)
            for e in m.entries { print("    \(e.key.padded(w))  \(e.value.summary())") }
        }
        print("  tensors (\(c.entries.count), \(grouped(c.entries.reduce(0) { $0 + $1.byteCount })) bytes)")
        let nw = min(56, c.entries.map(\.name.count).max() ?? 0)
        for e in c.entries {
            let s = dims(e.shape)
            print("    \(e.name.padded(nw))  \(e.dtype.rawValue.padded(7)) \(s.padded(16)) \(grouped(e.byteCount).leftPadded(12))")
        }
    }
}
