import Foundation
import Testing
import TestSupport
@testable import Executor
@testable import Models
@testable import TensorCore

/// Each kernel against the same computation done independently in numpy (float64), on small
/// random inputs.
@Suite("kernels against numpy")
struct KernelTests {
    func numpy(_ script: String, _ inputs: [String: [Float]]) throws -> [Float] {
        let json = JSONValue.object(inputs.map { ($0.key, .array($0.value.map { .float($0) })) }).serialized()
        let out = try Python.check("import sys, json, numpy as np, math\nI = {k: np.array(v, dtype=np.float64) for k, v in json.loads(sys.argv[1]).items()}\n" + script + "\nprint(json.dumps([float(x) for x in np.asarray(R).reshape(-1)]))", [json])
        return try JSONParser.parse(out).array!.map { Float($0.double!) }
    }

    func random(_ n: Int, seed: UInt64, scale: Float = 1) -> [Float] {
        var s = seed
        return (0..<n).map { _ in
            s = s &* 6364136223846793005 &+ 1442695040888963407
            return (Float(s >> 40) / Float(1 << 24) * 2 - 1) * scale
        }
    }

    func expectClose(_ a: [Float], _ b: [Float], tol: Float, _ what: String) {
        #expect(a.count == b.count, "\(what): count")
        let worst = zip(a, b).map { abs($0 - $1) }.max() ?? 0
        #expect(worst <= tol, "\(what): max |Δ| = \(worst)")
    }

    @Test func layerNorm() throws {
        let x = random(3 * 16, seed: 1, scale: 3), g = random(16, seed: 2), b = random(16, seed: 3)
        var y = [Float](repeating: 0, count: x.count)
        Kernels.layerNorm(x, rows: 3, width: 16, gamma: g, beta: b, eps: 1e-5, into: &y)
        let want = try numpy("X=I['x'].reshape(3,16); m=X.mean(-1,keepdims=True); v=((X-m)**2).mean(-1,keepdims=True); R=(X-m)/np.sqrt(v+1e-5)*I['g']+I['b']", ["x": x, "g": g, "b": b])
        expectClose(y, want, tol: 2e-6, "layer norm")
    }

    @Test func rmsNorm() throws {
        let x = random(2 * 12, seed: 4, scale: 2), g = random(12, seed: 5)
        var y = [Float](repeating: 0, count: x.count)
        Kernels.rmsNorm(x, rows: 2, width: 12, gamma: g, eps: 1e-6, into: &y)
        let want = try numpy("X=I['x'].reshape(2,12); R=X/np.sqrt((X**2).mean(-1,keepdims=True)+1e-6)*I['g']", ["x": x, "g": g])
        expectClose(y, want, tol: 2e-6, "rms norm")
    }

    @Test("activations", arguments: [
        (Activation.geluTanh, "R=0.5*X*(1+np.tanh(math.sqrt(2/math.pi)*(X+0.044715*X**3)))"),
        (.geluErf, "R=np.array([0.5*v*(1+math.erf(v/math.sqrt(2))) for v in X])"),
        (.silu, "R=X/(1+np.exp(-X))"), (.relu, "R=np.maximum(X,0)"),
    ])
    func activation(kind: Activation, formula: String) throws {
        let x = random(64, seed: 6, scale: 6)
        var y = [Float](repeating: 0, count: 64)
        Kernels.activation(kind, x, count: 64, into: &y)
        expectClose(y, try numpy("X=I['x']\n" + formula, ["x": x]), tol: 2e-6, kind.rawValue)
    }

    @Test("linear: [out,in] and Conv1D [in,out] weights give x·Wᵀ + b")
    func linear() throws {
        let x = random(3 * 5, seed: 7), w = random(4 * 5, seed: 8), b = random(4, seed: 9)
        var y = [Float](repeating: 0, count: 12)
        Kernels.linear(x, rows: 3, inFeatures: 5, weight: w, outFeatures: 4, transposed: false, bias: b, into: &y)
        let want = try numpy("R=I['x'].reshape(3,5)@I['w'].reshape(4,5).T+I['b']", ["x": x, "w": w, "b": b])
        expectClose(y, want, tol: 1e-6, "linear")
        let wt = try numpy("R=I['w'].reshape(4,5).T", ["w": w])  // the same matrix stored [in, out]
        var y2 = [Float](repeating: 0, count: 12)
        Kernels.linear(x, rows: 3, inFeatures: 5, weight: wt, outFeatures: 4, transposed: true, bias: b, into: &y2)
        expectClose(y2, want, tol: 1e-6, "linear, Conv1D layout")
    }

    @Test("half-split RoPE on HF rows equals interleaved RoPE on Meta rows")
    func ropeStyles() throws {
        let hd = 8, heads = 2, rows = 5
        let x = random(rows * heads * hd, seed: 10)
        let rope = RoPEConfig(theta: 10000, rotaryDim: hd, style: .half, scaling: .none)
        let inv = Kernels.ropeInverseFrequencies(rope)
        var half = x
        Kernels.rope(&half, rows: rows, heads: heads, headDim: hd, start: 3, rope: rope, inverseFrequencies: inv)
        // numpy: HF's rotate_half formula on positions 3…7.
        let want = try numpy("""
            X=I['x'].reshape(5,2,8); inv=1/(10000**(np.arange(0,8,2)/8)); pos=np.arange(3,8)[:,None]*inv[None,:]
            emb=np.concatenate([pos,pos],-1)[:,None,:]; rot=np.concatenate([-X[...,4:],X[...,:4]],-1)
            R=X*np.cos(emb)+rot*np.sin(emb)
            """, ["x": x])
        expectClose(half, want, tol: 2e-6, "half-split rope")
        // Meta order: within each head, row 2i is HF row i and row 2i+1 is HF row i + hd/2.
        func toMeta(_ v: [Float]) -> [Float] {
            var m = v
            for r in 0..<rows { for h in 0..<heads { for i in 0..<(hd / 2) {
                m[(r * heads + h) * hd + 2 * i] = v[(r * heads + h) * hd + i]
                m[(r * heads + h) * hd + 2 * i + 1] = v[(r * heads + h) * hd + i + hd / 2]
            } } }
            return m
        }
        var inter = toMeta(x)
        var ropeI = rope
        ropeI.style = .interleaved
        Kernels.rope(&inter, rows: rows, heads: heads, headDim: hd, start: 3, rope: ropeI, inverseFrequencies: inv)
        expectClose(inter, toMeta(half), tol: 0, "interleaved = permuted half-split")
    }

    @Test("llama3 frequency scaling matches the HF formula")
    func llama3() throws {
        let rope = RoPEConfig(theta: 500000, rotaryDim: 16, style: .half, scaling: .llama3(factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 64))
        let got = Kernels.ropeInverseFrequencies(rope)
        let want = try numpy("""
            inv=1/(500000**(np.arange(0,16,2)/16)); wl=2*math.pi/inv; lo=64/1; hi=64/4
            s=np.where(wl>lo, inv/8, inv); sm=(64/wl-1)/(4-1); med=~(wl<hi)&~(wl>lo)
            R=np.where(med,(1-sm)*s/8+sm*s,s)
            """, [:])
        #expect(zip(got, want).allSatisfy { abs($0 - $1) <= 1e-6 * abs($1) + 1e-12 }, "\(got) vs \(want)")
        #expect(Set(zip(got, Kernels.ropeInverseFrequencies(RoPEConfig(theta: 500000, rotaryDim: 16, style: .half, scaling: .none))).map { $0 == $1 }) == [true, false], "scaling changes some frequencies and keeps others")
    }

    @Test("causal attention with grouped KV heads matches numpy, and rows sum to one")
    func attention() throws {
        let t = 4, heads = 4, kv = 2, hd = 3
        let q = random(t * heads * hd, seed: 11), k = random(t * kv * hd, seed: 12), v = random(t * kv * hd, seed: 13)
        let c = ModelConfig(
            architecture: .llama, vocabSize: 8, hiddenSize: 12, layers: 1, heads: heads, kvHeads: kv, headDim: hd, intermediateSize: 8,
            maxPositions: 8, norm: .rmsNorm, normEps: 1e-6, placement: .pre, finalNorm: true, activation: .silu, gatedMLP: true,
            learnedPositions: false, rope: nil, attentionScale: 1 / Float(3).squareRoot(), scaleByInverseLayer: false, mask: .minimum,
            tiedHead: false, attentionBias: false, outputBias: false, mlpBias: false, normBias: false, fusedQKV: false)
        var out = [Float](repeating: 0, count: t * heads * hd)
        var probs = [Float](repeating: 0, count: heads * t * t)
        Kernels.attention(q: q, k: k, v: v, rows: t, start: 0, config: c, layer: 0, into: &out, probs: &probs)
        let want = try numpy("""
            Q=I['q'].reshape(4,4,3); K=I['k'].reshape(4,2,3); V=I['v'].reshape(4,2,3); O=np.zeros((4,4,3))
            for h in range(4):
                kv=h//2; s=Q[:,h,:]@K[:,kv,:].T/math.sqrt(3); s=np.where(np.tril(np.ones((4,4)))>0,s,-np.inf)
                p=np.exp(s-s.max(-1,keepdims=True)); p/=p.sum(-1,keepdims=True); O[:,h,:]=p@V[:,kv,:]
            R=O
            """, ["q": q, "k": k, "v": v])
        expectClose(out, want, tol: 2e-6, "attention output")
        for h in 0..<heads { for i in 0..<t {
            let row = probs[(h * t + i) * t..<(h * t + i + 1) * t]
            #expect(abs(row.reduce(0, +) - 1) < 1e-6)
            #expect(row.enumerated().allSatisfy { $0.offset <= i || $0.element == 0 }, "future positions get zero")
        } }
    }
}

extension KernelTests {
    @Test("a single row (decode step) takes the gemv path and agrees with numpy, both weight layouts")
    func singleRow() throws {
        let x = random(6, seed: 21), w = random(4 * 6, seed: 22), b = random(4, seed: 23)
        var y = [Float](repeating: 0, count: 4)
        Kernels.linear(x, rows: 1, inFeatures: 6, weight: w, outFeatures: 4, transposed: false, bias: b, into: &y)
        let want = try numpy("R=I['x']@I['w'].reshape(4,6).T+I['b']", ["x": x, "w": w, "b": b])
        expectClose(y, want, tol: 1e-6, "gemv")
        let wt = try numpy("R=I['w'].reshape(4,6).T", ["w": w])
        var y2 = [Float](repeating: 0, count: 4)
        Kernels.linear(x, rows: 1, inFeatures: 6, weight: wt, outFeatures: 4, transposed: true, bias: nil, into: &y2)
        expectClose(y2, try numpy("R=I['x']@I['w'].reshape(4,6).T", ["x": x, "w": w]), tol: 1e-6, "gemv, Conv1D layout")
    }
}

extension KernelTests {
    /// HF's LlamaForCausalLM cannot run partial rotary (it multiplies all head_dim channels by
    /// rotary-dim cos/sin), so there is no HF reference; this checks WeightKit's convention — the
    /// first rotary_dim channels rotate half-split (GPT-NeoX/Phi style), the rest pass through —
    /// against numpy.
    @Test("partial rotary rotates the first rotary_dim channels and passes the rest through")
    func partialRotary() throws {
        let hd = 8, rows = 3
        let x = random(rows * hd, seed: 31)
        let rope = RoPEConfig(theta: 10000, rotaryDim: 4, style: .half, scaling: .linear(factor: 2))
        var y = x
        Kernels.rope(&y, rows: rows, heads: 1, headDim: hd, start: 0, rope: rope, inverseFrequencies: Kernels.ropeInverseFrequencies(rope))
        let want = try numpy("""
            X=I['x'].reshape(3,8); r=X[:,:4]; inv=1/(10000**(np.arange(0,4,2)/4))/2; f=np.arange(3)[:,None]*inv[None,:]
            e=np.concatenate([f,f],-1); rot=np.concatenate([-r[:,2:],r[:,:2]],-1)
            R=np.concatenate([r*np.cos(e)+rot*np.sin(e), X[:,4:]],-1)
            """, ["x": x])
        expectClose(y, want, tol: 2e-6, "partial rotary")
    }
}

extension KernelTests {
    @Test("causal softmax: masked entries are exactly 0, or take part as −1e4 as GPT-1 computes them")
    func softmaxRows() throws {
        var row: [Float] = [0.5, -1.25, 3, 7, 9]
        Kernels.softmaxRow(&row, keys: 5, visible: 3, mask: .minimum)
        let want = try numpy("s=np.array([0.5,-1.25,3.0]); e=np.exp(s-s.max()); R=np.concatenate([e/e.sum(),[0,0]])", [:])
        expectClose(row, want, tol: 1e-7, "minimum mask")
        #expect(row[3] == 0 && row[4] == 0)
        // Scores near −1e4: the replaced entries carry real probability, as in HF's GPT-1.
        var low: [Float] = [-10000.5, -9999.25, 0, 0]
        Kernels.softmaxRow(&low, keys: 4, visible: 2, mask: .replace(-1e4))
        let want2 = try numpy("s=np.array([-10000.5,-9999.25,-1e4,-1e4]); e=np.exp(s-s.max()); R=e/e.sum()", [:])
        expectClose(low, want2, tol: 1e-6, "replace mask")
        #expect(low[2] > 0.1)
    }
}
