// weightkit compare, checked against numpy on activations that transformers recorded for the same
// tokens: gpt2-tiny's f32 reference and its Q8_0 reference (HF run on the dequantized Q8_0 weights).
import Foundation
import TestSupport
import Testing
import WeightKit

@Suite("weightkit compare")
struct CompareCLITests {
    func wk(_ args: [String]) throws -> ProcessResult { try Subprocess.run([CLITests.binary] + args) }

    @Test("per-layer errors, KL and top-1 agreement equal numpy's on transformers' activations")
    func againstReferences() throws {
        let r = try wk([
            "compare", Fixtures.path("gpt2-tiny"), Fixtures.path("gpt2-tiny", "model-q8_0.gguf"), "--tokens",
            "0,95,7,36,65,94,27,56", "--json",
        ])
        #expect(r.status == 0, "\(r.stderr)")
        let got = try JSONParser.parse(r.stdout)
        let expected = try JSONParser.parse(try Python.check("""
            import json, sys, numpy as np
            from safetensors.numpy import load_file
            a = load_file(sys.argv[1]); b = load_file(sys.argv[2])
            layers = [{'name': n, 'rel_error': float(np.linalg.norm(b[n].astype(np.float64) - a[n]) / np.linalg.norm(a[n].astype(np.float64)))}
                      for n in ['hidden_states.0', 'hidden_states.1', 'hidden_states.2']]
            la = a['logits'][0].astype(np.float64); lb = b['logits'][0].astype(np.float64)
            def lsm(x): m = x.max(-1, keepdims=True); return x - m - np.log(np.exp(x - m).sum(-1, keepdims=True))
            pa, pb = lsm(la), lsm(lb)
            kl = (np.exp(pa) * (pa - pb)).sum(-1)
            print(json.dumps({'layers': layers, 'kl_mean': kl.mean(), 'kl_max': kl.max(),
                              'top1': float((la.argmax(-1) == lb.argmax(-1)).mean())}))
            """, [Fixtures.path("gpt2-tiny", "reference.safetensors"), Fixtures.path("gpt2-tiny", "reference-q8_0.safetensors")]))
        let gl = got["layers"]?.array ?? []
        let el = expected["layers"]?.array ?? []
        #expect(gl.count == 3 && el.count == 3)
        for (g, e) in zip(gl, el) {
            #expect(g["name"]?.string == e["name"]?.string)
            let x = g["rel_error"]?.double ?? .nan, y = e["rel_error"]?.double ?? .nan
            #expect(abs(x - y) <= 1e-3 * y, "\(g["name"]?.string ?? ""): \(x) vs numpy \(y)")
        }
        for (k, ek) in [("kl_mean", "kl_mean"), ("kl_max", "kl_max"), ("top1_agreement", "top1")] {
            let x = got["logits"]?[k]?.double ?? .nan, y = expected[ek]?.double ?? .nan
            #expect(abs(x - y) <= 1e-3 * abs(y) + 1e-12, "\(k): \(x) vs numpy \(y)")
        }
        #expect((got["logits"]?["kl_mean"]?.double ?? 0) > 1e-5, "Q8_0 must cost something")
    }

    @Test("a checkpoint compared with itself: no error, no divergence")
    func itself() throws {
        let r = try wk(["compare", Fixtures.path("llama-gqa"), Fixtures.path("llama-gqa", "model.gguf"), "--tokens", "1,2,3,4", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let j = try JSONParser.parse(r.stdout)
        #expect(j["logits"]?["top1_agreement"]?.double == 1)
        #expect((j["logits"]?["kl_max"]?.double ?? 1) < 1e-9)
        for l in j["layers"]?.array ?? [] { #expect((l["rel_error"]?.double ?? 1) < 1e-5) }
    }

    @Test("--max-kl turns it into a check")
    func maxKL() throws {
        let base = ["compare", Fixtures.path("gpt2-tiny"), Fixtures.path("gpt2-tiny", "model-q8_0.gguf"), "--tokens", "0,95,7,36"]
        let strict = try wk(base + ["--max-kl", "1e-9"])
        #expect(strict.status == 1)
        #expect(strict.stderr.contains("exceeds --max-kl"))
        #expect(try wk(base + ["--max-kl", "0.1"]).status == 0)
    }

    @Test("--text-file: perplexity equals numpy's from transformers' logits")
    func perplexity() throws {
        let gen = try JSONParser.parse(try String(contentsOfFile: Fixtures.path("gpt2-text", "generation.json"), encoding: .utf8))
        let dir = RepoPaths.temporaryDirectory("cmp")
        let text = dir + "/prompt.txt"
        try gen["prompt"]!.string!.write(toFile: text, atomically: true, encoding: .utf8)
        let r = try wk(["compare", Fixtures.path("gpt2-text"), Fixtures.path("gpt2-text"), "--text-file", text, "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let j = try JSONParser.parse(r.stdout)
        let ppl = try Double(Python.check("""
            import sys, numpy as np
            from safetensors.numpy import load_file
            ref = load_file(sys.argv[1]); ids = ref['input_ids'][0]; x = ref['logits'][0].astype(np.float64)
            m = x.max(-1, keepdims=True); lp = x - m - np.log(np.exp(x - m).sum(-1, keepdims=True))
            print(float(np.exp(-np.mean([lp[t, ids[t + 1]] for t in range(len(ids) - 1)]))))
            """, [Fixtures.path("gpt2-text", "reference.safetensors")]).trimmingCharacters(in: .whitespacesAndNewlines))!
        let a = j["perplexity"]?["a"]?.double ?? .nan
        #expect(abs(a - ppl) <= 1e-4 * ppl, "perplexity \(a) vs numpy \(ppl)")
        #expect(j["perplexity"]?["b"]?.double == a)
    }

    @Test("different vocabularies are refused")
    func mismatch() throws {
        let r = try wk(["compare", Fixtures.path("gpt2-tiny"), Fixtures.path("gpt2-untied"), "--tokens", "1,2"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("different vocabularies"))
    }
}
