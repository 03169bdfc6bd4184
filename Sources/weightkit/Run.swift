// weightkit run: one forward pass; the top-K next tokens at the last position.

import ArgumentParser
import Foundation
import SafetensorsFormat
import WeightKit

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a forward pass and print the top-K next tokens at the last position.",
        discussion: """
            --dump writes every activation (hidden_states.i, attentions.i, logits, and input_ids) in \
            the reference activation format, so it can be compared with a Hugging Face reference.

            --prompt encodes text with the model's tokenizer instead (BOS added as its configuration \
            says); with a tokenizer the next tokens are shown as text with their probabilities.

            Examples:
              weightkit run Fixtures/gpt2-tiny --tokens 1,2,3 --top 5 \\
                  --dump /tmp/acts.safetensors
              weightkit run Fixtures/gpt2-text --prompt "The meaning of"
            """)

    @Argument(help: "A weight file or model directory.") var model: String
    @Option(help: "Comma-separated token ids.") var tokens: String?
    @Option(help: "Text to encode with the model's tokenizer (instead of --tokens).") var prompt: String?
    @Option(help: "How many next tokens to show.") var top = 10
    @Option(help: "Write the activations to this .safetensors file.") var dump: String?
    @Option(help: "KV cache element type: f32 or f16 (half the memory).") var kv: KVCacheType = .f32
    @Flag(help: "Print JSON.") var json = false

    @OptionGroup var limits: InputLimits

    func run() throws {
        limits.apply()
        guard top > 0 else { throw ValidationError("--top must be positive") }
        try guarded {
            let m = try LoadedModel.open(model)
            let (ids, tokenizer) = try resolveInput(tokens: tokens, prompt: prompt, model: model, config: m.graph.config)
            let executor = Executor(graph: m.graph, kv: kv)
            let acts = try executor.run(batch: [ids], record: dump == nil ? ["logits"] : nil)
            let logits = acts["logits"]!
            let v = m.graph.config.vocabSize
            let last = Array(logits.values[((ids.count - 1) * v)..<(ids.count * v)])
            let best = last.enumerated().sorted { $0.element > $1.element || ($0.element == $1.element && $0.offset < $1.offset) }.prefix(top)
            // Probabilities: softmax over the whole row.
            let maxLogit = last.max() ?? 0
            let z = last.reduce(0.0) { $0 + exp(Double($1 - maxLogit)) }
            func probability(_ x: Float) -> Double { exp(Double(x - maxLogit)) / z }
            func text(_ id: Int) -> String? {
                guard let tokenizer, id < tokenizer.vocabularySize else { return nil }
                return tokenizer.decode([id])
            }
            if let dump {
                var tensors = try acts.tensors()
                tensors.insert(try Tensor(name: "input_ids", shape: [1, ids.count], int64s: ids.map(Int64.init)), at: 0)
                try SafetensorsWriter.write(to: dump, metadata: [("producer", "weightkit")] + ReferenceProvenance.metadata(for: m.graph.config), tensors: tensors)
            }
            if json {
                var obj: [(String, JSONValue)] = [
                    ("input_ids", .array(ids.map { .int($0) })),
                    ("top", .array(best.map { .array([.int($0.offset), .float($0.element)]) })),
                    ("probabilities", .array(best.map { .double(probability($0.element)) })),
                ]
                if tokenizer != nil { obj.append(("text", .array(best.map { .string(text($0.offset) ?? "") }))) }
                printJSON(.object(obj))
                return
            }
            print("top \(best.count) next tokens after \(ids.count) tokens:")
            for (rank, b) in best.enumerated() {
                let t = text(b.offset).map { "  \($0.debugDescription)" } ?? ""
                print("  \(String(rank + 1).leftPadded(3)). id \(String(b.offset).leftPadded(6))  logit \(short(b.element))  p \(String(format: "%.4f", probability(b.element)))\(t)")
            }
            if let dump { print("activations written to \(dump)") }
        }
    }
}
