import Foundation
import Testing
import TestSupport
@testable import Executor
@testable import Models
@testable import WeightKit

/// Mistral (Fixtures/mistral.py): the sliding window in the causal mask and in the KV cache, GGUF as
/// llama.cpp writes it (`llama`) plus WeightKit's window key, and the configs other families refuse
/// instead of running without the window. verify, the convert chains and the quantized conversions
/// run on mistral-* with every fixture (VerifyTests, ConvertRoundTripTests).
@Suite("Mistral")
struct MistralTests {
    @Test("mistral-tiny is Mistral with a window of 3; verify fails at attentions.0 when the window is ignored")
    func windowInTheMask() throws {
        let m = try LoadedModel.open(Fixtures.path("mistral-tiny"))
        #expect(m.graph.config.architecture == .mistral && m.graph.config.slidingWindow == 3 && m.graph.config.headDim == 8)
        let ref = try ReferenceFile.open(Fixtures.path("mistral-tiny", "reference.safetensors"))
        let r = try Verifier.verify(model: m, reference: ref)
        #expect(r.passed && (r.rows.map(\.maxAbsError).max() ?? 1) < 1e-4)
        var cfg = m.graph.config
        cfg.slidingWindow = nil
        let g = m.graph
        let plain = LoadedModel(checkpoint: m.checkpoint, graph: ModelGraph(config: cfg, ops: g.ops, weights: g.weights, widths: g.widths, naming: g.naming))
        let r2 = try Verifier.verify(model: plain, reference: ref)
        #expect(!r2.passed && r2.firstFailure?.name == "attentions.0")
    }

    @Test("decoding through the KV cache keeps only window − 1 positions and gives transformers' 20 greedy ids")
    func windowInTheCache() throws {
        let j = try JSONParser.parse(try String(contentsOfFile: Fixtures.path("mistral-tiny", "greedy.json"), encoding: .utf8))
        let prompt = j["prompt_ids"]!.array!.compactMap(\.int)
        let want = j["greedy_ids"]!.array!.compactMap(\.int)
        let m = try LoadedModel.open(Fixtures.path("mistral-tiny"))
        let c = m.graph.config
        for kv in [KVCacheType.f32, .f16] {
            let e = Executor(graph: m.graph, kv: kv)
            let s = e.makeSession()
            var acts = try e.run(tokens: prompt, session: s, record: ["logits"])
            var ids = [Int]()
            for _ in want.indices {
                let logits = acts.items.first { $0.name == "logits" }!.values
                let last = Array(logits.suffix(c.vocabSize))
                var next = 0
                for (i, x) in last.enumerated() where x > last[next] { next = i }
                ids.append(next)
                acts = try e.run(tokens: [next], session: s, record: ["logits"])
                #expect(s.length - s.first == 2, "the cache holds window − 1 = 2 positions between steps")
            }
            if kv == .f32 { #expect(ids == want) }
            #expect(s.bytes == 2 * c.layers * 2 * c.kvHeads * c.headDim * (kv == .f32 ? 4 : 2))
        }
    }

    @Test("llama.cpp's GGUF of Mistral (architecture llama, no window key) is LLaMA; WeightKit's adds the window and is Mistral")
    func gguf() throws {
        let theirs = try Checkpoint.open(Fixtures.path("mistral-tiny", "model.gguf"))
        #expect(ModelLayouts.detect(theirs) == .llama)
        let dir = RepoPaths.temporaryDirectory("mistral-gguf")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Converter.convert(Fixtures.path("mistral-tiny"), to: dir + "/out.gguf", options: ConvertOptions())
        let mine = try Checkpoint.open(dir + "/out.gguf")
        #expect(mine.metadata["general.architecture"] == .string("llama"))
        #expect(mine.metadata["llama.attention.sliding_window"]?.int == 3)
        #expect(mine.entries.map(\.name) == theirs.entries.map(\.name))
        for t in theirs.entries {
            let same = try mine[t.name]?.bytes().bytes == t.bytes().bytes
            #expect(same, "\(t.name) differs from llama.cpp's layout (Q/K permuted)")
        }
        for e in theirs.metadata.entries where e.key.hasPrefix("llama.") {
            #expect(mine.metadata[e.key] == e.value, "\(e.key)")
        }
        let g = try ModelLayouts.graph(for: mine)
        #expect(g.config.architecture == .mistral && g.config.slidingWindow == 3)
        // Back to a Hugging Face directory: a Mistral config.json with the window.
        try Converter.convert(dir + "/out.gguf", to: dir + "/hf/", options: ConvertOptions())
        let cfg = try JSONParser.parse(try String(contentsOfFile: dir + "/hf/config.json", encoding: .utf8))
        #expect(cfg["model_type"]?.string == "mistral" && cfg["sliding_window"]?.int == 3)
    }

    @Test("a window in a family without one is refused by name (LLaMA config.json, GGUF keys)")
    func refused() throws {
        let dir = try Fixtures.copy("llama-gqa")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/config.json"
        var json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
        json["sliding_window"] = 4
        try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: path))
        let e = try #require(throws: ModelError.self) { try ModelLayouts.graph(for: try Checkpoint.open(dir)) }
        #expect(e.description.contains("\"sliding_window\" is 4"), "\(e)")

        var g = try Checkpoint.open(Fixtures.path("llama-gqa", "model.gguf"))
        g.metadata["llama.attn_logit_softcapping"] = .float32(30)
        let e2 = try #require(throws: ModelError.self) { try ModelLayouts.graph(for: g) }
        #expect(e2.description.contains("'llama.attn_logit_softcapping'"), "\(e2)")
        var h = try Checkpoint.open(Fixtures.path("gpt2-tiny", "model.gguf"))
        h.metadata["gpt2.attention.sliding_window"] = .uint32(8)
        let e3 = try #require(throws: ModelError.self) { try ModelLayouts.graph(for: h) }
        #expect(e3.description.contains("'gpt2.attention.sliding_window'"), "\(e3)")
    }
}
