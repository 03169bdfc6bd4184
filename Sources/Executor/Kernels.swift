// Reference kernels, one function per op, over row-major float32 buffers. Matrix products go
// through OpenBLAS's cblas_sgemm; everything else is a readable loop.

internal import COpenBLAS
import Foundation
import Models

/// The executor's kernels.
enum Kernels {
    /// y[T, out] = x[T, in] · Wᵀ (+ b), with W stored `[out, in]`, or `[in, out]` when `transposed`.
    static func linear(
        _ x: UnsafePointer<Float>, rows: Int, inFeatures: Int, weight: UnsafePointer<Float>, outFeatures: Int, transposed: Bool,
        bias: UnsafePointer<Float>?, into y: UnsafeMutablePointer<Float>
    ) {
        if let bias {
            for r in 0..<rows { (y + r * outFeatures).update(from: bias, count: outFeatures) }
        }
        cblas_sgemm(
            CblasRowMajor, CblasNoTrans, transposed ? CblasNoTrans : CblasTrans, Int32(rows), Int32(outFeatures), Int32(inFeatures),
            1, x, Int32(inFeatures), weight, Int32(transposed ? outFeatures : inFeatures), bias == nil ? 0 : 1, y, Int32(outFeatures))
    }

    /// LayerNorm over the last dimension: biased variance, eps inside the square root,
    /// statistics accumulated in double.
    static func layerNorm(
        _ x: UnsafePointer<Float>, rows: Int, width: Int, gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>?, eps: Float,
        into y: UnsafeMutablePointer<Float>
    ) {
        for r in 0..<rows {
            let xr = x + r * width
            let yr = y + r * width
            var sum = 0.0
            for j in 0..<width { sum += Double(xr[j]) }
            let mean = sum / Double(width)
            var sq = 0.0
            for j in 0..<width {
                let d = Double(xr[j]) - mean
                sq += d * d
            }
            let inv = Float(1 / (sq / Double(width) + Double(eps)).squareRoot())
            let m = Float(mean)
            if let beta {
                for j in 0..<width { yr[j] = (xr[j] - m) * inv * gamma[j] + beta[j] }
            } else {
                for j in 0..<width { yr[j] = (xr[j] - m) * inv * gamma[j] }
            }
        }
    }

    /// RMSNorm as HF computes it: x · rsqrt(mean(x²) + eps), then · γ.
    static func rmsNorm(
        _ x: UnsafePointer<Float>, rows: Int, width: Int, gamma: UnsafePointer<Float>, eps: Float, into y: UnsafeMutablePointer<Float>
    ) {
        for r in 0..<rows {
            let xr = x + r * width
            let yr = y + r * width
            var sq = 0.0
            for j in 0..<width { sq += Double(xr[j]) * Double(xr[j]) }
            let inv = 1 / (Float(sq / Double(width)) + eps).squareRoot()
            for j in 0..<width { yr[j] = gamma[j] * (xr[j] * inv) }
        }
    }

    /// Elementwise activation.
    static func activation(_ kind: Activation, _ x: UnsafePointer<Float>, count: Int, into y: UnsafeMutablePointer<Float>) {
        switch kind {
        case .geluTanh:
            let c = Float((2.0 / Double.pi).squareRoot())
            for i in 0..<count {
                let v = x[i]
                y[i] = 0.5 * v * (1 + tanhf(c * (v + 0.044715 * (v * v * v))))
            }
        case .geluErf:
            for i in 0..<count {
                let v = x[i]
                y[i] = v * 0.5 * (1 + erff(v * Float(0.5.squareRoot())))
            }
        case .relu:
            for i in 0..<count { y[i] = max(x[i], 0) }
        case .silu:
            for i in 0..<count {
                let v = x[i]
                y[i] = v / (1 + expf(-v))
            }
        }
    }

    /// Inverse frequencies of rotary embedding, as HF computes them in float32, with scaling.
    static func ropeInverseFrequencies(_ rope: RoPEConfig) -> [Float] {
        let dim = rope.rotaryDim
        var inv = (0..<(dim / 2)).map { i in 1 / powf(rope.theta, Float(2 * i) / Float(dim)) }
        switch rope.scaling {
        case .none: break
        case .linear(let factor): inv = inv.map { $0 / factor }
        case .freqFactors(let f): for i in 0..<min(inv.count, f.count) { inv[i] /= f[i] }
        case .llama3(let factor, let low, let high, let original):
            let lowWavelen = Float(original) / low
            let highWavelen = Float(original) / high
            inv = inv.map { f in
                let wavelen = 2 * Float.pi / f
                let scaled = wavelen > lowWavelen ? f / factor : f
                let medium = !(wavelen < highWavelen) && !(wavelen > lowWavelen)
                guard medium else { return scaled }
                let smooth = (Float(original) / wavelen - low) / (high - low)
                return (1 - smooth) * scaled / factor + smooth * scaled
            }
        }
        return inv
    }

    /// Rotates x `[T, heads·headDim]` in place for positions `start ..< start+T`.
    static func rope(
        _ x: UnsafeMutablePointer<Float>, rows: Int, heads: Int, headDim: Int, start: Int, rope: RoPEConfig, inverseFrequencies inv: [Float]
    ) {
        let half = rope.rotaryDim / 2
        var cosv = [Float](repeating: 0, count: half)
        var sinv = [Float](repeating: 0, count: half)
        for t in 0..<rows {
            let pos = Float(start + t)
            for i in 0..<half {
                let f = pos * inv[i]
                cosv[i] = cosf(f)
                sinv[i] = sinf(f)
            }
            for h in 0..<heads {
                let v = x + t * heads * headDim + h * headDim
                switch rope.style {
                case .half:
                    for i in 0..<half {
                        let a = v[i]
                        let b = v[i + half]
                        v[i] = a * cosv[i] - b * sinv[i]
                        v[i + half] = b * cosv[i] + a * sinv[i]
                    }
                case .interleaved:
                    for i in 0..<half {
                        let a = v[2 * i]
                        let b = v[2 * i + 1]
                        v[2 * i] = a * cosv[i] - b * sinv[i]
                        v[2 * i + 1] = b * cosv[i] + a * sinv[i]
                    }
                }
            }
        }
    }

    /// Causal attention for queries at positions `start ..< start+T` over `keys` cached positions
    /// `0 ..< start+T`. q `[T, H·hd]`, k and v `[S, KV·hd]`, out `[T, H·hd]`; probabilities
    /// `[H, T, S]` written to `probs` when given. Heads run in parallel.
    static func attention(
        q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>, rows: Int, start: Int, config c: ModelConfig,
        layer: Int, into out: UnsafeMutablePointer<Float>, probs: UnsafeMutablePointer<Float>?
    ) {
        let hd = c.headDim
        let heads = c.heads
        let kvw = c.kvHeads * hd
        let qw = heads * hd
        let keys = start + rows
        let group = c.groupSize
        let scale = c.scaleByInverseLayer ? c.attentionScale / Float(layer + 1) : c.attentionScale
        let mask = c.mask
        let qAddr = Int(bitPattern: q)
        let kAddr = Int(bitPattern: k)
        let vAddr = Int(bitPattern: v)
        let oAddr = Int(bitPattern: out)
        let pAddr = probs.map { Int(bitPattern: $0) }
        DispatchQueue.concurrentPerform(iterations: heads) { h in
            let q = UnsafePointer<Float>(bitPattern: qAddr)!
            let k = UnsafePointer<Float>(bitPattern: kAddr)!
            let v = UnsafePointer<Float>(bitPattern: vAddr)!
            let out = UnsafeMutablePointer<Float>(bitPattern: oAddr)!
            let kvh = h / group
            var scores = [Float](repeating: 0, count: keys)
            for t in 0..<rows {
                let qi = q + t * qw + h * hd
                let limit = start + t  // last visible key
                var maxv = -Float.greatestFiniteMagnitude
                for j in 0..<keys {
                    var s: Float = 0
                    if j <= limit {
                        let kj = k + j * kvw + kvh * hd
                        for d in 0..<hd { s += qi[d] * kj[d] }
                        s *= scale
                    } else {
                        switch mask {
                        case .replace(let value): s = value
                        case .minimum: s = -Float.greatestFiniteMagnitude
                        }
                    }
                    scores[j] = s
                    maxv = max(maxv, s)
                }
                var sum: Float = 0
                for j in 0..<keys {
                    let e = expf(scores[j] - maxv)
                    scores[j] = e
                    sum += e
                }
                let o = out + t * qw + h * hd
                for d in 0..<hd { o[d] = 0 }
                for j in 0..<keys {
                    let p = scores[j] / sum
                    scores[j] = p
                    if p == 0 { continue }
                    let vj = v + j * kvw + kvh * hd
                    for d in 0..<hd { o[d] += p * vj[d] }
                }
                if let pAddr {
                    let pr = UnsafeMutablePointer<Float>(bitPattern: pAddr)! + (h * rows + t) * keys
                    for j in 0..<keys { pr[j] = scores[j] }
                }
            }
        }
    }

    /// Sets OpenBLAS's thread count.
    static func setBLASThreads(_ n: Int) { openblas_set_num_threads(Int32(n)) }
}
