import Foundation
import Testing
import TestSupport
@testable import WeightKit

/// Namings found in the wild that no fixture directory holds as such: the same weights renamed by
/// Python (safetensors + numpy, not WeightKit), then verified against the original reference.
@Suite("naming variants verify against the original reference")
struct NamingVariantTests {
    /// Copies `fixture` and rewrites its model.safetensors keys with a Python expression `f(k)`.
    func renamed(_ fixture: String, _ expr: String, drop: String = "False") throws -> String {
        let dir = try Fixtures.copy(fixture)
        try Python.check("""
            import sys
            from safetensors.numpy import load_file, save_file
            p = sys.argv[1] + "/model.safetensors"
            d = load_file(p)
            f = lambda k: \(expr)
            keep = lambda k: not (\(drop))
            save_file({f(k): v for k, v in d.items() if keep(k)}, p, metadata={"format": "pt"})
            """, [dir])
        return dir
    }

    @Test("renamed checkpoints map and verify", arguments: [
        ("gpt1-tiny", "k[len('transformer.'):] if k.startswith('transformer.') else k", "False", "no prefix"),
        ("llama-gqa", "k[len('model.'):] if k.startswith('model.') else k", "False", "no prefix"),
        ("gpt2-untied", "k[len('transformer.'):] if k.startswith('transformer.') else k", "False", "no prefix"),
    ])
    func variant(fixture: String, rename: String, drop: String, naming: String) throws {
        let dir = try renamed(fixture, rename, drop: drop)
        let m = try LoadedModel.open(dir)
        #expect(m.graph.naming.contains(naming), "\(m.graph.naming)")
        let r = try Verifier.verify(model: m, reference: try ReferenceFile.open(dir + "/reference.safetensors"))
        #expect(r.passed, "\(fixture): first failure \(r.firstFailure?.name ?? "")")
    }

    @Test("a tied GPT-2 saved from the in-memory state dict (lm_head.weight present as a copy of wte) verifies")
    func tiedWithHeadCopy() throws {
        let dir = try Fixtures.copy("gpt2-tiny")
        try Python.check("""
            import sys
            from safetensors.numpy import load_file, save_file
            p = sys.argv[1] + "/model.safetensors"
            d = load_file(p)
            d["lm_head.weight"] = d["transformer.wte.weight"].copy()
            save_file(d, p, metadata={"format": "pt"})
            """, [dir])
        let m = try LoadedModel.open(dir)
        #expect(m.graph.weights["head.weight"]?.source.name == "lm_head.weight")
        let r = try Verifier.verify(model: m, reference: try ReferenceFile.open(dir + "/reference.safetensors"))
        #expect(r.passed)
    }

    @Test("LLaMA with a stored rotary_emb.inv_freq buffer per layer (older conversions) is accepted")
    func invFreqBuffers() throws {
        let dir = try Fixtures.copy("llama-gqa")
        try Python.check("""
            import sys, numpy as np
            from safetensors.numpy import load_file, save_file
            p = sys.argv[1] + "/model.safetensors"
            d = load_file(p)
            for i in range(2): d[f"model.layers.{i}.self_attn.rotary_emb.inv_freq"] = (1.0 / 10000 ** (np.arange(0, 8, 2) / 8)).astype(np.float32)
            save_file(d, p, metadata={"format": "pt"})
            """, [dir])
        let r = try Verifier.verify(model: try LoadedModel.open(dir), reference: try ReferenceFile.open(dir + "/reference.safetensors"))
        #expect(r.passed)
    }

    @Test("a GPT-2 checkpoint missing a mask-buffer-looking tensor that is not one fails strictly")
    func strictAboutLookalikes() throws {
        let dir = try renamed("gpt2-tiny", "k.replace('ln_f.bias', 'ln_f.bias_extra')")
        let e = try #require(throws: ModelError.self) { try LoadedModel.open(dir) }
        #expect(e.description.contains("final_norm.bias"))
        #expect(e.description.contains("'transformer.ln_f.bias_extra'"))
    }
}
