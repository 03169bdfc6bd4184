import Foundation
import SafetensorsFormat
import Testing
import TestSupport
@testable import WeightKit

/// Row-major matrices as JSON for numpy.
private func json(_ m: [[Double]]) -> String { "[" + m.map { "[" + $0.map { "\($0)" }.joined(separator: ",") + "]" }.joined(separator: ",") + "]" }

/// A random row-stochastic [n, n] matrix (causal when asked): rows of exp(scale·N(0,1)) normalised.
private func stochastic(_ n: Int, causal: Bool, scale: Double, rng: inout SeededGenerator) -> [Float] {
    var m = [Float](repeating: 0, count: n * n)
    for i in 0..<n {
        let visible = causal ? i + 1 : n
        let e = (0..<visible).map { _ in Foundation.exp(scale * rng.gaussian()) }
        let s = e.reduce(0, +)
        for j in 0..<visible { m[i * n + j] = Float(e[j] / s) }
    }
    return m
}

@Suite("analysis: spectral norms of attention matrices")
struct SpectralNormTests {
    @Test("identity gives 1 and all weight on token 0 gives √T (the two ends of [1, √T])", arguments: [1, 2, 3, 8, 17, 64])
    func ends(t: Int) {
        var identity = [Float](repeating: 0, count: t * t)
        var sink = identity
        for i in 0..<t {
            identity[i * t + i] = 1
            sink[i * t] = 1
        }
        #expect(abs(SpectralNorm.largestSingularValue(identity, rows: t, cols: t) - 1) < 1e-12)
        #expect(abs(SpectralNorm.largestSingularValue(sink, rows: t, cols: t) - Double(t).squareRoot()) < 1e-9)
    }

    @Test("random row-stochastic matrices lie in [1, √(max column sum)] ⊆ [1, √T]", arguments: [false, true])
    func bounds(causal: Bool) {
        var rng = SeededGenerator(seed: causal ? 11 : 12)
        for trial in 0..<200 {
            let t = 1 + trial % 40
            let scale = [0.1, 1, 3, 10][trial % 4]
            let p = stochastic(t, causal: causal, scale: scale, rng: &rng)
            let s = SpectralNorm.largestSingularValue(p, rows: t, cols: t)
            let maxColumn = (0..<t).map { j in (0..<t).reduce(0.0) { $0 + Double(p[$1 * t + j]) } }.max()!
            #expect(s >= 1 - 1e-6, "T=\(t) scale \(scale): σ = \(s) < 1")
            #expect(s <= maxColumn.squareRoot() + 1e-6, "T=\(t): σ = \(s) > √(max column sum) = \(maxColumn.squareRoot())")
            #expect(s <= Double(t).squareRoot() + 1e-6)
        }
    }

    @Test("agrees with numpy's np.linalg.norm(A, 2) on random matrices, signed and stochastic, square and not")
    func numpy() throws {
        var rng = SeededGenerator(seed: 3)
        var matrices = [[[Double]]]()
        var ours = [Double]()
        for trial in 0..<30 {
            let (r, c) = (1 + trial % 9, 1 + (trial * 7) % 13)
            let m: [Float] = trial % 2 == 0 ? rng.gaussians(r * c, std: 1) : stochastic(r, causal: trial % 4 == 1, scale: 2, rng: &rng)
            let cols = trial % 2 == 0 ? c : r
            matrices.append((0..<r).map { i in (0..<cols).map { Double(m[i * cols + $0]) } })
            ours.append(SpectralNorm.largestSingularValue(m, rows: r, cols: cols))
        }
        let out = try Python.check("""
            import sys, json, numpy as np
            print(json.dumps([float(np.linalg.norm(np.array(m, dtype=np.float64), 2)) for m in json.loads(sys.stdin.read() if False else sys.argv[1])]))
            """, ["[" + matrices.map(json).joined(separator: ",") + "]"])
        let want = try JSONParser.parse(out).array!.map { $0.double! }
        for (i, (a, b)) in zip(ours, want).enumerated() {
            // Signed random matrices can have close top singular values; 1e-6 relative still pins the answer.
            #expect(abs(a - b) <= 1e-6 * b, "matrix \(i): ours \(a), numpy \(b)")
        }
    }

    @Test("the fixtures' reference attentions: per-head σ_max equals numpy's to 1e-9, and the executor's run to 1e-4",
          arguments: ["gpt1-tiny", "gpt2-tiny", "llama-gqa", "gpt1-trained", "gpt2-trained"])
    func fixtures(fixture: String) throws {
        let refPath = Fixtures.path(fixture, "reference.safetensors")
        let ref = try ReferenceFile.open(refPath)
        let out = try Python.check("""
            import sys, json, numpy as np
            from safetensors.numpy import load_file
            r = load_file(sys.argv[1])
            L = sum(1 for k in r if k.startswith("attentions."))
            print(json.dumps([[float(np.mean([np.linalg.norm(r[f"attentions.{l}"][b, h].astype(np.float64), 2)
                                               for b in range(r[f"attentions.{l}"].shape[0])]))
                               for h in range(r[f"attentions.{l}"].shape[1])] for l in range(L)]))
            """, [refPath])
        let want = try JSONParser.parse(out).array!.map { $0.array!.map { $0.double! } }
        let model = try LoadedModel.open(Fixtures.path(fixture))
        let measured = try AttentionSpectrum.measure(model, name: fixture, batch: ref.inputIDs)
        #expect(measured.layers.count == want.count)
        let t = Double(ref.inputIDs[0].count)
        for (l, heads) in want.enumerated() {
            let a = ref.tensors["attentions.\(l)"]!
            let fromReference = try AttentionSpectrum.layer(l, shape: a.shape, values: try a.floats())
            for (h, w) in heads.enumerated() {
                #expect(abs(fromReference.heads[h] - w) <= 1e-9 * w, "\(fixture) layer \(l) head \(h): \(fromReference.heads[h]) vs numpy \(w)")
                #expect(abs(measured.layers[l].heads[h] - w) <= 1e-4, "\(fixture) layer \(l) head \(h): run \(measured.layers[l].heads[h]) vs numpy \(w)")
                #expect(measured.layers[l].heads[h] >= 1 - 1e-6 && measured.layers[l].heads[h] <= t.squareRoot() + 1e-6)
            }
            let lay = measured.layers[l]
            #expect(abs(lay.mean - lay.heads.reduce(0, +) / Double(lay.heads.count)) < 1e-12)
            #expect(lay.min == lay.heads.min() && lay.max == lay.heads.max())
        }
    }
}

@Suite("analysis: rank collapse")
struct RankCollapseTests {
    @Test("res(X) is 0 for identical rows and equals numpy's ‖X − mean‖_F otherwise")
    func residual() throws {
        let row: [Float] = [1, -2, 3.5, 0.25]
        #expect(Residual.tokenMeanRemoved(Array([[Float]](repeating: row, count: 5).joined()), rows: 5, cols: 4) < 1e-12)
        var rng = SeededGenerator(seed: 5)
        let x = rng.gaussians(7 * 6, std: 2)
        let want = try Double(Python.check("""
            import sys, json, numpy as np
            x = np.array(json.loads(sys.argv[1]), dtype=np.float64).reshape(7, 6)
            print(repr(float(np.linalg.norm(x - x.mean(axis=0, keepdims=True)))))
            """, ["[" + x.map { "\(Double($0))" }.joined(separator: ",") + "]"]).trimmingCharacters(in: .whitespacesAndNewlines))!
        #expect(abs(Residual.tokenMeanRemoved(x, rows: 7, cols: 6) - want) <= 1e-12 * want)
    }

    @Test("the same seed gives the same numbers; another seed does not")
    func deterministic() throws {
        let shape = StackShape(depth: 3, tokens: 5, width: 16, heads: 2)
        let a = try RankCollapse.synthetic(shape: shape, samples: 2, seed: 42)
        let b = try RankCollapse.synthetic(shape: shape, samples: 2, seed: 42)
        let c = try RankCollapse.synthetic(shape: shape, samples: 2, seed: 43)
        #expect(a.series.map(\.absolute) == b.series.map(\.absolute))
        #expect(a.series.map(\.absolute) != c.series.map(\.absolute))
        #expect(a.series.map(\.name) == ["attention", "attention+skip", "attention+mlp", "attention+skip+mlp"])
        #expect(a.layers == [0, 1, 2, 3])
    }

    @Test("SplitMix64 matches its published reference output (seed 1234567)")
    func splitMix() {
        // First outputs of SplitMix64 seeded with 1234567, from the reference C implementation (Vigna, prng.di.unimi.it).
        var g = SeededGenerator(seed: 1_234_567)
        #expect([g.next(), g.next(), g.next()] == [6_457_827_717_110_365_317, 3_203_168_211_198_807_973, 9_817_491_932_198_370_423])
    }

    @Test("each synthetic stack's graph computes what its definition says (numpy recomputes the four stacks from the same weights)")
    func stackMatchesNumpy() throws {
        let shape = StackShape(depth: 3, tokens: 6, width: 16, heads: 2)
        var rng = SeededGenerator(seed: 9)
        let stack = try SyntheticStack(shape: shape, rng: &rng)
        let dir = RepoPaths.temporaryDirectory("stack")
        let path = dir + "/stack.safetensors"
        try SafetensorsWriter.write(to: path, tensors: stack.tensors.keys.sorted().map { stack.tensors[$0]! })
        let out = try Python.check("""
            import sys, json, math, numpy as np
            from safetensors.numpy import load_file
            w = {k: v.astype(np.float64) for k, v in load_file(sys.argv[1]).items()}
            L, H = int(sys.argv[2]), int(sys.argv[3])
            def ln(x):
                m = x.mean(-1, keepdims=True); v = ((x - m) ** 2).mean(-1, keepdims=True)
                return (x - m) / np.sqrt(v + 1e-5)
            def attn(x, i):
                T, D = x.shape; hd = D // H; p = f"layers.{i}.attn."
                q, k, v = (x @ w[p + n + ".weight"].T for n in "qkv")
                out = np.zeros_like(q)
                for h in range(H):
                    s = q[:, h*hd:(h+1)*hd] @ k[:, h*hd:(h+1)*hd].T / math.sqrt(hd)
                    s = np.where(np.tril(np.ones((T, T))) > 0, s, -np.inf)
                    e = np.exp(s - s.max(1, keepdims=True)); pr = e / e.sum(1, keepdims=True)
                    out[:, h*hd:(h+1)*hd] = pr @ v[:, h*hd:(h+1)*hd]
                return out @ w[p + "out.weight"].T
            def gelu(x): return 0.5 * x * (1 + np.vectorize(math.erf)(x / math.sqrt(2)))
            def mlp(x, i): return gelu(x @ w[f"layers.{i}.mlp.up.weight"].T) @ w[f"layers.{i}.mlp.down.weight"].T
            res = {}
            for name in ["attention", "attention+skip", "attention+mlp", "attention+skip+mlp"]:
                x = w["tok_embed.weight"]; r = [float(np.linalg.norm(x - x.mean(0)))]
                for i in range(L):
                    a = attn(ln(x), i)
                    h = x + a if "skip" in name else a
                    if "mlp" in name:
                        m = mlp(ln(h), i)
                        h = h + m if "skip" in name else m
                    x = h; r.append(float(np.linalg.norm(x - x.mean(0))))
                res[name] = r
            print(json.dumps(res))
            """, [path, "\(shape.depth)", "\(shape.heads)"])
        let want = try JSONParser.parse(out)
        for v in StackVariant.allCases {
            let acts = try Executor(graph: try stack.graph(v)).run(batch: [Array(0..<shape.tokens)])
            let expected = want[v.rawValue]!.array!.map { $0.double! }
            for l in 0...shape.depth {
                let got = Residual.tokenMeanRemoved(acts["hidden_states.\(l)"]!.values, rows: shape.tokens, cols: shape.width)
                #expect(abs(got - expected[l]) <= 1e-4 * expected[l], "\(v.rawValue) layer \(l): \(got) vs numpy \(expected[l])")
            }
        }
    }

    /// Depth 12, T = 10, D = 64, 1 head, 8 samples: smaller than the command's defaults so the debug
    /// build runs it in seconds; the command's defaults (D = 128, 32 samples) give the same picture.
    @Test("the qualitative result: attention alone collapses, skips prevent it, an MLP alone does not")
    func qualitative() throws {
        let r = try RankCollapse.synthetic(shape: StackShape(depth: 12, tokens: 10, width: 64, heads: 1), samples: 8, seed: 1)
        func rel(_ name: String) -> [Double] { r.series.first { $0.name == name }!.relative }
        let (a, s, m, sm) = (rel("attention"), rel("attention+skip"), rel("attention+mlp"), rel("attention+skip+mlp"))
        let input = a[0]
        #expect(input > 0.8)  // N(0,1) rows of 10 tokens: ‖res‖/‖X‖ ≈ √(1 − 1/T) ≈ 0.95
        // Attention only: falls at every layer, by more than 10× within 5 layers and below 1e-2 by layer 12.
        for l in 1...12 { #expect(a[l] < a[l - 1], "attention-only residual rose at layer \(l): \(a)") }
        #expect(a[5] < input / 10, "\(a)")
        #expect(a[12] < 1e-2, "\(a)")
        // Skips: every layer stays within a factor 3 of the input's level.
        for l in 0...12 {
            #expect(s[l] > input / 3 && s[l] < input * 1.05, "attention+skip layer \(l): \(s[l])")
            #expect(sm[l] > input / 3 && sm[l] < input * 1.05, "attention+skip+mlp layer \(l): \(sm[l])")
        }
        // An MLP without skips does not prevent collapse: below 5e-2 by layer 12, 30× under the skip stacks.
        #expect(m[12] < 5e-2, "\(m)")
        #expect(s[12] > 30 * a[12] && s[12] > 30 * m[12])
    }

    @Test("on a model: one value per hidden state, equal to numpy's on the reference hidden states")
    func model() throws {
        let refPath = Fixtures.path("gpt2-tiny", "reference.safetensors")
        let ref = try ReferenceFile.open(refPath)
        let r = try RankCollapse.model(try LoadedModel.open(Fixtures.path("gpt2-tiny")), name: "gpt2-tiny", tokens: ref.inputIDs[0])
        let out = try Python.check("""
            import sys, json, numpy as np
            from safetensors.numpy import load_file
            r = load_file(sys.argv[1]); L = sum(1 for k in r if k.startswith("hidden_states."))
            print(json.dumps([float(np.linalg.norm((x := r[f"hidden_states.{i}"][0].astype(np.float64)) - x.mean(0))) for i in range(L)]))
            """, [refPath])
        let want = try JSONParser.parse(out).array!.map { $0.double! }
        #expect(r.layers == Array(0..<want.count))
        for (l, w) in want.enumerated() { #expect(abs(r.series[0].absolute[l] - w) <= 1e-4 * w, "layer \(l)") }
    }
}

@Suite("analysis: logit lens")
struct LogitLensTests {
    @Test("the last layer's top-1 at every position is the model's own prediction",
          arguments: ["gpt1-tiny", "gpt2-tiny", "llama-gqa", "gpt1-trained", "gpt2-trained"])
    func lastLayer(fixture: String) throws {
        let m = try LoadedModel.open(Fixtures.path(fixture))
        let ref = try ReferenceFile.open(Fixtures.path(fixture, "reference.safetensors"))
        let tokens = ref.inputIDs[0]
        let lens = try LogitLens.run(m, name: fixture, tokens: tokens, top: 3)
        let v = m.graph.config.vocabSize
        let logits = try Executor(graph: m.graph).run(batch: [tokens], record: ["logits"])["logits"]!.values
        let refLogits = try ref.tensors["logits"]!.floats()
        #expect(lens.layers.count == m.graph.config.layers + 1)
        let last = lens.layers.last!
        #expect(!last.normalised)
        for p in 0..<tokens.count {
            let row = Array(logits[(p * v)..<((p + 1) * v)])
            let argmax = row.indices.max { row[$0] < row[$1] || (row[$0] == row[$1] && $0 > $1) }!
            let refRow = Array(refLogits[(p * v)..<((p + 1) * v)])
            let refArgmax = refRow.indices.max { refRow[$0] < refRow[$1] }!
            #expect(last.positions[p].top[0].id == argmax, "\(fixture) position \(p)")
            #expect(last.positions[p].top[0].id == refArgmax, "\(fixture) position \(p): reference logits")
            #expect(abs(last.positions[p].top[0].logit - row[argmax]) <= 1e-5 * max(1, abs(row[argmax])))
            #expect(last.positions[p].top.count == 3)
        }
    }

    @Test("every layer's top-3 and logits match numpy's lens on the reference hidden states (final norm only where HF's is raw)",
          arguments: [("gpt1-tiny", "none"), ("gpt2-tiny", "layer_norm"), ("llama-gqa", "rms_norm"), ("gpt1-trained", "none"), ("gpt2-trained", "layer_norm")])
    func numpy(fixture: String, norm: String) throws {
        let m = try LoadedModel.open(Fixtures.path(fixture))
        let refPath = Fixtures.path(fixture, "reference.safetensors")
        let ref = try ReferenceFile.open(refPath)
        let lens = try LogitLens.run(m, name: fixture, tokens: ref.inputIDs[0], top: 3)
        let out = try Python.check("""
            import sys, json, numpy as np
            from safetensors.numpy import load_file
            r = load_file(sys.argv[1]); w = load_file(sys.argv[2]); norm = sys.argv[3]
            w = {k.removeprefix("transformer.").removeprefix("model."): v.astype(np.float64) for k, v in w.items()}
            head = w.get("lm_head.weight", w.get("wte.weight", w.get("tokens_embed.weight", w.get("embed_tokens.weight"))))
            L = sum(1 for k in r if k.startswith("hidden_states.")) - 1
            out = []
            for i in range(L + 1):
                h = r[f"hidden_states.{i}"][0].astype(np.float64)
                if norm == "layer_norm" and i < L:
                    mu = h.mean(-1, keepdims=True); var = ((h - mu) ** 2).mean(-1, keepdims=True)
                    h = (h - mu) / np.sqrt(var + 1e-5) * w["ln_f.weight"] + w["ln_f.bias"]
                elif norm == "rms_norm" and i < L:
                    h = h / np.sqrt((h ** 2).mean(-1, keepdims=True) + 1e-5) * w["norm.weight"]
                z = h @ head.T
                out.append([[[int(j), float(z[p, j])] for j in np.argsort(-z[p], kind="stable")[:3]] for p in range(z.shape[0])])
            print(json.dumps(out))
            """, [refPath, Fixtures.path(fixture, "model.safetensors"), norm])
        let want = try JSONParser.parse(out).array!
        #expect(want.count == lens.layers.count)
        for (l, layer) in want.enumerated() {
            #expect(lens.layers[l].normalised == (norm != "none" && l < want.count - 1))
            for (p, top) in layer.array!.enumerated() {
                let expected = top.array!.map { ($0.array![0].int!, $0.array![1].double!) }
                let got = lens.layers[l].positions[p].top
                #expect(got[0].id == expected[0].0, "\(fixture) layer \(l) position \(p): top-1 \(got[0].id) vs numpy \(expected[0].0)")
                for (g, e) in zip(got, expected) where g.id == e.0 {
                    #expect(abs(Double(g.logit) - e.1) <= 1e-3 * max(1, abs(e.1)), "\(fixture) layer \(l) position \(p) id \(g.id)")
                }
            }
        }
    }
}

@Suite("analysis: SVG plots")
struct SVGTests {
    @Test("charts and heatmaps are well-formed XML with their labels, legends and colour bar")
    func wellFormed() throws {
        let chart = LineChart(
            title: "t <&>", xLabel: "layer", yLabel: "y", logY: true,
            series: [.init(name: "a", points: [(0, 1), (1, 1e-3), (2, 1e-6)]), .init(name: "b", points: [(0, 1), (1, 0.5), (2, 0.4)])],
            references: [.init(y: 0.1, label: "ref")]).svg()
        let heat = Heatmap(
            title: "h", xLabel: "x", yLabel: "y", rowLabels: ["1", "0"], columnLabels: ["p0", "p1"], values: [[0, 1], [0.5, 0.25]],
            text: [["7", "8"], ["9", "10"]], colourLabel: "p", range: 0...1).svg()
        let dir = RepoPaths.temporaryDirectory("svg")
        try chart.write(toFile: dir + "/c.svg", atomically: true, encoding: .utf8)
        try heat.write(toFile: dir + "/h.svg", atomically: true, encoding: .utf8)
        let out = try Python.check("""
            import sys, json, xml.etree.ElementTree as ET
            ns = "{http://www.w3.org/2000/svg}"
            res = []
            for p in sys.argv[1:]:
                root = ET.parse(p).getroot()
                res.append({"texts": [t.text for t in root.iter(ns + "text")], "rects": len(list(root.iter(ns + "rect"))),
                            "polylines": len(list(root.iter(ns + "polyline")))})
            print(json.dumps(res))
            """, [dir + "/c.svg", dir + "/h.svg"])
        let j = try JSONParser.parse(out).array!
        let chartTexts = j[0]["texts"]!.array!.compactMap(\.string)
        #expect(chartTexts.contains("t <&>") && chartTexts.contains("a") && chartTexts.contains("b") && chartTexts.contains("ref"))
        #expect(chartTexts.contains("1e-6") && chartTexts.contains("1"))  // log ticks span the data
        #expect(j[0]["polylines"]?.int == 2)
        let heatTexts = j[1]["texts"]!.array!.compactMap(\.string)
        for s in ["7", "8", "9", "10", "p0", "p1", "p"] { #expect(heatTexts.contains(s), "missing \(s)") }
        #expect((j[1]["rects"]?.int ?? 0) >= 4 + 32)  // background, 4 cells, colour bar steps
    }

    @Test("ticks are round numbers covering the range")
    func ticks() {
        #expect(SVG.ticks(0, 1, count: 5) == [0, 0.2, 0.4, 0.6000000000000001, 0.8, 1] || SVG.ticks(0, 1, count: 5).count == 6)
        let t = SVG.ticks(1.3, 2.9)
        #expect(t.first! >= 1.3 && t.last! <= 2.9 && t.count >= 3)
        #expect(SVG.viridis(0) == (68, 1, 84) && SVG.viridis(1) == (253, 231, 37))
    }
}
