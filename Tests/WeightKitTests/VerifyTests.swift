import Foundation
import Testing
import TestSupport
@testable import WeightKit

@Suite("verify against Hugging Face reference activations")
struct VerifyTests {
    @Test("the fixture list is complete")
    func fixturesPresent() {
        #expect(Set(Fixtures.modelDirectories).isSuperset(of: ["gpt2-tiny", "gpt2-untied", "gpt2-hub", "gpt1-tiny", "llama-gqa", "llama-tied", "llama3-rope", "llama-meta", "llama-linear"]))
    }

    @Test("every fixture passes at the default tolerances (1e-4)", arguments: Fixtures.modelDirectories)
    func passes(fixture: String) throws {
        let m = try LoadedModel.open(Fixtures.path(fixture))
        let ref = try ReferenceFile.open(Fixtures.path(fixture, "reference.safetensors"))
        let r = try Verifier.verify(model: m, reference: ref)
        #expect(r.passed, "\(fixture): first failure \(r.firstFailure?.name ?? "")")
        // Every tensor the reference holds was compared: logits, all hidden states, all attentions.
        let L = m.graph.config.layers
        #expect(r.rows.count == 1 + (L + 1) + L)
        let worst = r.rows.map(\.maxAbsError).max() ?? 0
        #expect(worst < 1e-4)
    }

    /// Shifts one tensor of a fixture copy by `delta` with numpy and the safetensors package
    /// (not WeightKit's writer), so the checkpoint under test is altered independently.
    func perturbed(_ fixture: String, tensor: String, delta: Float) throws -> String {
        let dir = try Fixtures.copy(fixture)
        try Python.check("""
            import sys
            from safetensors.numpy import load_file, save_file
            from safetensors import safe_open
            p = sys.argv[1] + "/model.safetensors"
            with safe_open(p, framework="np") as f: meta = f.metadata()
            d = load_file(p)
            d[sys.argv[2]] = d[sys.argv[2]] + float(sys.argv[3])
            save_file(d, p, metadata=meta)
            """, [dir, tensor, "\(delta)"])
        return dir
    }

    @Test("a bias shifted by 0.01 fails, naming the first tensor downstream of it", arguments: [
        // (fixture, tensor, first reference tensor it reaches in network order)
        ("gpt2-tiny", "transformer.h.0.attn.c_proj.bias", "hidden_states.1"),  // after attentions.0, inside block 0's output
        ("gpt2-tiny", "transformer.h.1.ln_1.bias", "attentions.1"),  // feeds block 1's attention scores
        ("gpt2-tiny", "transformer.ln_f.bias", "hidden_states.2"),  // only the final norm
        ("gpt1-tiny", "transformer.h.0.mlp.c_fc.bias", "hidden_states.1"),
        ("llama-tied", "model.layers.1.self_attn.k_proj.bias", "attentions.1"),
    ])
    func shiftedBiasFails(fixture: String, tensor: String, firstFailing: String) throws {
        let dir = try perturbed(fixture, tensor: tensor, delta: 0.01)
        let m = try LoadedModel.open(dir)
        let r = try Verifier.verify(model: m, reference: try ReferenceFile.open(dir + "/reference.safetensors"))
        #expect(!r.passed)
        #expect(r.firstFailure?.name == firstFailing)
        // Everything upstream of the change still passes.
        let upstream = r.rows.prefix { $0.name != firstFailing }
        #expect(upstream.allSatisfy { $0.passed })
    }

    @Test("a reference holding a tensor the model cannot produce is bad input")
    func unknownTensor() throws {
        let dir = RepoPaths.temporaryDirectory("ref")
        try Python.check("""
            import sys, numpy as np
            from safetensors.numpy import save_file
            save_file({"input_ids": np.array([[1, 2]], dtype=np.int64), "attentions.9": np.zeros((1, 4, 2, 2), np.float32)}, sys.argv[1])
            """, [dir + "/r.safetensors"])
        let m = try LoadedModel.open(Fixtures.path("gpt2-tiny"))
        #expect(throws: WeightKitError.self) { try Verifier.verify(model: m, reference: try ReferenceFile.open(dir + "/r.safetensors")) }
    }

    @Test("the KV cache gives the same logits as a full pass")
    func kvCache() throws {
        for fixture in ["gpt2-tiny", "llama-gqa", "gpt1-tiny"] {
            let m = try LoadedModel.open(Fixtures.path(fixture))
            let ex = Executor(graph: m.graph)
            let ids = [3, 1, 4, 1, 5, 9, 2]
            let full = try ex.run(tokens: ids, session: ex.makeSession(), record: ["logits"])["logits"]!.values
            let s = ex.makeSession()
            _ = try ex.run(tokens: Array(ids.prefix(4)), session: s, record: [])
            var stepped = [Float]()
            for t in ids.dropFirst(4) { stepped += try ex.run(tokens: [t], session: s, record: ["logits"])["logits"]!.values }
            let v = m.graph.config.vocabSize
            let tail = Array(full[(4 * v)...])
            #expect(zip(tail, stepped).map { abs($0 - $1) }.max()! < 1e-5, "\(fixture)")
        }
    }
}
