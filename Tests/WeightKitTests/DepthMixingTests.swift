import Foundation
import Testing
import TestSupport
@testable import WeightKit

/// Depth mixing against numpy: the least-squares solver on its own, and the whole measure on the
/// trained fixtures' residual streams as PyTorch recorded them (stream.safetensors).
@Suite("analysis: depth mixing")
struct DepthMixingTests {
    @Test("least squares equals numpy's lstsq on random and nearly collinear columns; a repeated column gets weight 0")
    func leastSquares() throws {
        var rng = SeededGenerator(seed: 17)
        var cases = [(columns: [[Double]], target: [Double])]()
        for trial in 0..<12 {
            let n = 40 + trial * 7
            let k = 1 + trial % 6
            var cols = (0..<k).map { _ in (0..<n).map { _ in rng.gaussian() } }
            if trial % 3 == 2 {  // columns that differ by a little: r_ℓ ≈ r_{ℓ−1} + small, as in pre-norm streams
                for j in 1..<k { cols[j] = zip(cols[j - 1], cols[j]).map { $0 + 0.01 * $1 } }
            }
            let target = (0..<n).map { i in cols.enumerated().reduce(0.3 * rng.gaussian()) { $0 + Double($1.offset + 1) * $1.element[i] } }
            cases.append((cols, target))
        }
        let spec = "[" + cases.map { c in
            "{\"a\": [" + c.columns.map { "[" + $0.map { "\($0)" }.joined(separator: ",") + "]" }.joined(separator: ",") + "], \"b\": ["
                + c.target.map { "\($0)" }.joined(separator: ",") + "]}"
        }.joined(separator: ",") + "]"
        let dir = RepoPaths.temporaryDirectory("lstsq")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try spec.write(toFile: dir + "/cases.json", atomically: true, encoding: .utf8)
        let out = try Python.check("""
            import sys, json, numpy as np
            res = []
            for c in json.load(open(sys.argv[1])):
                a = np.array(c["a"]).T; b = np.array(c["b"])
                x = np.linalg.lstsq(a, b, rcond=None)[0]
                res.append({"x": x.tolist(), "r2": float(1 - np.sum((b - a @ x) ** 2) / np.sum(b ** 2))})
            print(json.dumps(res))
            """, [dir + "/cases.json"])
        let want = try JSONParser.parse(out).array!
        for (i, c) in cases.enumerated() {
            let (w, r2) = DepthMixing.leastSquares(columns: c.columns, target: c.target)
            let x = want[i]["x"]!.array!.map { $0.double! }
            for (a, b) in zip(w, x) { #expect(abs(a - b) <= 1e-8 * max(1, abs(b)), "case \(i): \(w) vs numpy \(x)") }
            #expect(abs(r2 - want[i]["r2"]!.double!) < 1e-10, "case \(i)")
        }
        // A column repeated exactly adds nothing: the solver keeps the first and gives the copy 0.
        let a: [Double] = [1, 2, 3, 4], b: [Double] = [1, 0, 1, 0]
        let (w, r2) = DepthMixing.leastSquares(columns: [a, b, a], target: a.map { 2 * $0 })
        #expect(abs(w[0] - 2) < 1e-12 && abs(w[1]) < 1e-12 && w[2] == 0 && abs(r2 - 1) < 1e-12, "\(w) \(r2)")
    }

    @Test("shares sum to 1 at every layer, and a stream that only adds gives weight 1 to the layer before and R² 1 for a pure copy")
    func definitions() {
        // r_1 = r_0 (block 1 writes nothing), r_2 = r_1 + w.
        let r0: [Float] = [1, 0, 0, 2, 1, 0], w: [Float] = [0, 1, 0, 0, 0, 3]
        let layers = DepthMixing.measure(stream: [r0, r0, zip(r0, w).map { $0 + $1 }], tokens: 2)
        for l in layers { #expect(abs(l.shares.reduce(0, +) - 1) < 1e-12, "layer \(l.layer): \(l.shares)") }
        #expect(layers[1].writeNorm == 0 && layers[1].weights == [1] && abs(layers[1].r2! - 1) < 1e-12)
        #expect(layers[2].weights.count == 2 && abs(layers[2].writeCosine!) < 1e-12)  // w ⟂ r0 token by token
    }

    @Test("on the trained fixtures: the stream equals PyTorch's, and every measure equals numpy's on PyTorch's stream",
          arguments: ["gpt1-trained", "gpt2-trained"])
    func trained(fixture: String) throws {
        let ref = try ReferenceFile.open(Fixtures.path(fixture, "reference.safetensors"))
        let ids = ref.inputIDs[0]
        let model = try LoadedModel.open(Fixtures.path(fixture))
        let stream = try DepthMixing.residualStream(model, name: fixture, tokens: ids)
        let torch = try Checkpoint.open(Fixtures.path(fixture, "stream.safetensors"))
        #expect(stream.count == model.graph.config.layers + 1)
        for (l, s) in stream.enumerated() {
            let want = try torch["stream.\(l)"]!.load().floats()
            let scale = want.map(abs).max()!
            let diff = zip(s, want).map { abs($0 - $1) }.max()!
            #expect(diff <= 1e-5 * max(1, scale), "\(fixture) stream.\(l): largest difference \(diff) (scale \(scale))")
        }
        let mixing = try DepthMixing.run(model, name: fixture, tokens: ids)
        let out = try Python.check("""
            import sys, json, numpy as np
            from safetensors.numpy import load_file
            s = load_file(sys.argv[1]); L = len(s) - 1
            r = [s[f"stream.{i}"][0].astype(np.float64) for i in range(L + 1)]  # [T, D] each
            u = [r[0]] + [r[i] - r[i - 1] for i in range(1, L + 1)]
            res = []
            for l in range(L + 1):
                n2 = (r[l] ** 2).sum(1)
                e = {"stream_norm": float(np.sqrt(n2).mean()), "shares": [float(((uj * r[l]).sum(1) / n2).mean()) for uj in u[:l + 1]]}
                if l > 0:
                    d, p = u[l], r[l - 1]
                    e["write_norm"] = float(np.linalg.norm(d, axis=1).mean())
                    e["write_cosine"] = float(((d * p).sum(1) / (np.linalg.norm(d, axis=1) * np.linalg.norm(p, axis=1))).mean())
                    a = np.stack([x.ravel() for x in r[:l]], 1); b = r[l].ravel()
                    x = np.linalg.lstsq(a, b, rcond=None)[0]
                    e["weights"] = x.tolist(); e["r2"] = float(1 - ((b - a @ x) ** 2).sum() / (b ** 2).sum())
                    e["cond"] = float(np.linalg.cond(a))
                res.append(e)
            print(json.dumps(res))
            """, [Fixtures.path(fixture, "stream.safetensors")])
        let want = try JSONParser.parse(out).array!
        #expect(mixing.layers.count == want.count)
        var worstWeight = 0.0
        for (l, w) in want.enumerated() {
            let got = mixing.layers[l]
            func close(_ a: Double?, _ b: Double?, _ tol: Double, _ what: String) {
                guard let a, let b else { return #expect(Bool(false), "\(fixture) layer \(l) \(what): missing") }
                #expect(abs(a - b) <= tol * max(1, abs(b)), "\(fixture) layer \(l) \(what): WeightKit \(a), numpy \(b)")
            }
            close(got.streamNorm, w["stream_norm"]!.double, 1e-5, "stream norm")
            for (j, s) in w["shares"]!.array!.enumerated() { close(got.shares[j], s.double, 1e-4, "share \(j)") }
            guard l > 0 else { continue }
            close(got.writeNorm, w["write_norm"]!.double, 1e-4, "write norm")
            close(got.writeCosine, w["write_cosine"]!.double, 1e-4, "write cosine")
            close(got.r2, w["r2"]!.double, 1e-5, "R²")
            // The weights move by up to cond(A)·(float32 differences between the two forwards) ≈ cond·1e-7.
            let cond = w["cond"]!.double!
            for (j, x) in w["weights"]!.array!.enumerated() {
                worstWeight = max(worstWeight, abs(got.weights[j] - x.double!))
                close(got.weights[j], x.double, max(1e-4, cond * 1e-6), "weight \(j) (cond \(cond))")
            }
        }
        print("\(fixture): depth-mixing weights within \(worstWeight) of numpy's")
    }

    @Test("the stream taken before the final norm is the final norm's input: normalising it gives the reference's last hidden state",
          arguments: ["gpt2-tiny", "llama-gqa"])
    func lastStream(fixture: String) throws {
        let ref = try ReferenceFile.open(Fixtures.path(fixture, "reference.safetensors"))
        let model = try LoadedModel.open(Fixtures.path(fixture))
        let stream = try DepthMixing.residualStream(model, name: fixture, tokens: ref.inputIDs[0])
        let l = model.graph.config.layers
        let d = model.graph.config.hiddenSize
        let gamma = try model.graph.weights["final_norm.weight"]!.source.load().floats()
        let beta = try model.graph.weights["final_norm.bias"]?.source.load().floats()
        let want = try ref.tensors["hidden_states.\(l)"]!.floats()
        var worst: Float = 0
        for t in 0..<ref.inputIDs[0].count {
            let x = stream[l][(t * d)..<((t + 1) * d)].map(Double.init)
            let mean = model.graph.config.norm == .layerNorm ? x.reduce(0, +) / Double(d) : 0
            let ms = x.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(d)
            let inv = 1 / (ms + Double(model.graph.config.normEps)).squareRoot()
            for j in 0..<d {
                let y = Float((x[j] - mean) * inv) * gamma[j] + (beta?[j] ?? 0)
                worst = max(worst, abs(y - want[t * d + j]))
            }
        }
        #expect(worst < 1e-4, "\(fixture): normalised last stream differs from hidden_states.\(l) by \(worst)")
        // The earlier layers are the reference's hidden states.
        for i in 0..<l {
            let h = try ref.tensors["hidden_states.\(i)"]!.floats()
            #expect(zip(stream[i], h).map { abs($0 - $1) }.max()! < 1e-4, "\(fixture) stream.\(i)")
        }
    }
}
