// Reference kernels, one function per op, over row-major float32 buffers. Matrix products go
// through OpenBLAS's cblas_sgemm (or, with WEIGHTKIT_F32_GEMM=packed on a CPU with AVX-512, many tokens
// over `[out, in]` weights through the packed GEMM of StoredKernels.swift); everything else is a readable loop.

internal import CKernels
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
        if rows > 1, !transposed, packedGemmForFloat32 {
            return packedGemm(
                x, rows: rows, type: Int32(WK_F32), weight: UnsafeRawPointer(weight), outFeatures: outFeatures, inFeatures: inFeatures,
                bias: bias, into: y)
        }
        if let bias {
            for r in 0..<rows { (y + r * outFeatures).update(from: bias, count: outFeatures) }
        }
        // The output columns split into one panel per worker (OpenBLAS single-threaded in each; see
        // WorkerPool), unless OpenBLAS threads its own calls.
        let (parts, range): (Int, @Sendable (Int) -> (Int, Int)) =
            WorkerPool.openBLASThreads ? (1, { _ in (0, outFeatures) }) : WorkerPool.split(outFeatures)
        let beta: Float = bias == nil ? 0 : 1
        let xa = Int(bitPattern: x), wa = Int(bitPattern: weight), ya = Int(bitPattern: y)
        WorkerPool.run(parts) { p in
            let (c0, n) = range(p)
            guard n > 0 else { return }
            let x = UnsafePointer<Float>(bitPattern: xa)!, y = UnsafeMutablePointer<Float>(bitPattern: ya)! + c0
            // Columns c0 ..< c0 + n of Wᵀ: rows of W [out, in], or columns of W [in, out].
            let w = UnsafePointer<Float>(bitPattern: wa)! + (transposed ? c0 : c0 * inFeatures)
            if rows == 1 {
                // One token (a decode step): a matrix-vector product, bound by reading the weights.
                if transposed {
                    cblas_sgemv(CblasRowMajor, CblasTrans, Int32(inFeatures), Int32(n), 1, w, Int32(outFeatures), x, 1, beta, y, 1)
                } else {
                    cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(n), Int32(inFeatures), 1, w, Int32(inFeatures), x, 1, beta, y, 1)
                }
                return
            }
            cblas_sgemm(
                CblasRowMajor, CblasNoTrans, transposed ? CblasNoTrans : CblasTrans, Int32(rows), Int32(n), Int32(inFeatures),
                1, x, Int32(inFeatures), w, Int32(transposed ? outFeatures : inFeatures), beta, y, Int32(outFeatures))
        }
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

    /// e^x in float32 with relative error below 3e-7, written with plain arithmetic and bit
    /// operations so loops over it vectorize (expf is a call per element). Range reduction
    /// x = n·ln2 + r with |r| ≤ ln2/2 (Cody–Waite split of ln2), e^r by its degree-7 Taylor
    /// polynomial (truncation ≤ 6e-9), 2^n built in the exponent bits. Below −87.3 the result
    /// is 0, so masked attention scores give exactly zero probability.
    @inline(__always) static func exp(_ x: Float) -> Float {
        let xc = min(max(x, -87.3), 88.3)
        let t = xc * 1.442_695_04 + 12_582_912  // round-to-nearest of x/ln2, kept in the mantissa
        let n = t - 12_582_912
        let r = (xc - n * 0.693_359_375) + n * 2.121_944_4e-4
        var p: Float = 1.0 / 5040
        p = p * r + 1.0 / 720
        p = p * r + 1.0 / 120
        p = p * r + 1.0 / 24
        p = p * r + 1.0 / 6
        p = p * r + 0.5
        p = p * r + 1
        p = p * r + 1
        let scale = Float(bitPattern: (t.bitPattern &- 0x4B40_0000 &+ 127) << 23)
        return x < -87.3 ? 0 : p * scale
    }

    /// Elementwise activation. GELU (tanh) is computed as x·σ(2y), which equals
    /// 0.5·x·(1 + tanh(y)) for y = √(2/π)·(x + 0.044715·x³).
    static func activation(_ kind: Activation, _ x: UnsafePointer<Float>, count: Int, into y: UnsafeMutablePointer<Float>) {
        switch kind {
        case .geluTanh:
            wk_gelu_tanh(x, y, count)
        case .geluErf:
            for i in 0..<count {
                let v = x[i]
                y[i] = v * 0.5 * (1 + erff(v * Float(0.5.squareRoot())))
            }
        case .relu:
            for i in 0..<count { y[i] = max(x[i], 0) }
        case .silu:
            wk_silu(x, y, count)
        }
    }

    /// `activation` split over the cores for large inputs.
    static func parallelActivation(_ kind: Activation, _ x: UnsafePointer<Float>, count: Int, into y: UnsafeMutablePointer<Float>) {
        let parts = count >= 1 << 16 ? WorkerPool.threads : 1
        if parts <= 1 { return activation(kind, x, count: count, into: y) }
        let xa = Int(bitPattern: x), ya = Int(bitPattern: y)
        let chunk = (count + parts - 1) / parts
        WorkerPool.run(parts) { p in
            let lo = p * chunk, n = min(count, lo + chunk) - lo
            guard n > 0 else { return }
            activation(kind, UnsafePointer<Float>(bitPattern: xa)! + lo, count: n, into: UnsafeMutablePointer<Float>(bitPattern: ya)! + lo)
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
    /// `0 ..< start+T` (every query sees every key when the config's mask is `.none`). q `[T, H·hd]`, k and v `[S, KV·hd]`, out `[T, H·hd]`; probabilities
    /// `[H, T, S]` written to `probs` when given. Per head: scores = scale·Q·Kᵀ and out = P·V by
    /// sgemm (reading the head's columns in place through the leading dimension), the causal mask
    /// and a max-subtracted softmax in between. Heads run in parallel, BLAS single-threaded.
    static func attention(
        q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>, rows: Int, start: Int, config c: ModelConfig,
        layer: Int, into out: UnsafeMutablePointer<Float>, probs: UnsafeMutablePointer<Float>?, first: Int = 0
    ) {
        // Cached key j is position first + j (a sliding-window cache drops the oldest); query row t
        // is position start + t and sees positions ≤ start + t, and with a window W only the last W.
        let hd = c.headDim
        let heads = c.heads
        let kvw = c.kvHeads * hd
        let qw = heads * hd
        let keys = start + rows - first
        let window = c.slidingWindow
        let group = c.groupSize
        let scale = c.scaleByInverseLayer ? c.attentionScale / Float(layer + 1) : c.attentionScale
        let mask = c.mask
        let bidirectional = mask == .none
        let qAddr = Int(bitPattern: q), kAddr = Int(bitPattern: k), vAddr = Int(bitPattern: v), oAddr = Int(bitPattern: out)
        let pAddr = probs.map { Int(bitPattern: $0) }
        let threads = Int(openblas_get_num_threads())
        let workers = min(heads, WorkerPool.threads)
        if workers > 1, threads > 1 { openblas_set_num_threads(1) }
        defer { if workers > 1, threads > 1 { openblas_set_num_threads(Int32(threads)) } }
        WorkerPool.run(workers) { w in
            let scores = UnsafeMutablePointer<Float>.allocate(capacity: rows * keys)
            defer { scores.deallocate() }
            for h in stride(from: w, to: heads, by: workers) {
                let kvh = h / group
                let qh = UnsafePointer<Float>(bitPattern: qAddr)! + h * hd
                let kh = UnsafePointer<Float>(bitPattern: kAddr)! + kvh * hd
                let vh = UnsafePointer<Float>(bitPattern: vAddr)! + kvh * hd
                let oh = UnsafeMutablePointer<Float>(bitPattern: oAddr)! + h * hd
                // Query rows in blocks: a block only needs the keys up to its last row, so the
                // masked upper triangle is neither multiplied nor exponentiated.
                var r0 = 0
                while r0 < rows {
                    let r1 = min(rows, r0 + attentionRowBlock)
                    let visibleKeys = bidirectional ? keys : start + r1 - first
                    let block = scores + r0 * keys
                    // One query row (a decode step): sgemv, which reads K and V in place; sgemm would
                    // first pack them (OpenBLAS's copy routines were ~10% of a q4_k_m decode).
                    if r1 - r0 == 1 {
                        cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(visibleKeys), Int32(hd), scale, kh, Int32(kvw), qh + r0 * qw, 1, 0, block, 1)
                    } else {
                        cblas_sgemm(
                            CblasRowMajor, CblasNoTrans, CblasTrans, Int32(r1 - r0), Int32(visibleKeys), Int32(hd), scale,
                            qh + r0 * qw, Int32(qw), kh, Int32(kvw), 0, block, Int32(keys))
                    }
                    for t in r0..<r1 {
                        let visible = bidirectional ? keys : start + t + 1 - first
                        // Keys before the window get probability exactly 0.
                        let lo = window.map { max(0, visible - $0) } ?? 0
                        if lo > 0 { (scores + t * keys).update(repeating: 0, count: lo) }
                        softmaxRow(scores + t * keys + lo, keys: keys - lo, visible: visible - lo, mask: mask)
                    }
                    // Past visibleKeys every probability is exactly 0 under the minimum mask, so P·V
                    // skips those columns; GPT-1's replaced scores keep their (normally zero)
                    // probability, so there every key takes part.
                    let pvKeys: Int
                    if case .replace = mask { pvKeys = keys } else { pvKeys = visibleKeys }
                    if r1 - r0 == 1 {
                        cblas_sgemv(CblasRowMajor, CblasTrans, Int32(pvKeys), Int32(hd), 1, vh, Int32(kvw), block, 1, 0, oh + r0 * qw, 1)
                    } else {
                        cblas_sgemm(
                            CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(r1 - r0), Int32(hd), Int32(pvKeys), 1, block, Int32(keys),
                            vh, Int32(kvw), 0, oh + r0 * qw, Int32(qw))
                    }
                    r0 = r1
                }
                if let pAddr {
                    (UnsafeMutablePointer<Float>(bitPattern: pAddr)! + h * rows * keys).update(from: scores, count: rows * keys)
                }
            }
        }
    }

    /// Query rows per attention block.
    static let attentionRowBlock = 64

    /// Causal softmax of one score row in place: positions `0 ..< visible` are real scores,
    /// the rest are masked. With `.minimum` masking their probability is exactly 0; with
    /// `.replace(v)` (GPT-1) they take part as the value v, as Hugging Face computes it.
    @inline(__always) static func softmaxRow(_ row: UnsafeMutablePointer<Float>, keys: Int, visible: Int, mask: MaskStyle) {
        let masked = keys - visible
        var maxv = wk_max_f32(row, visible)
        var maskedValue: Float = 0
        if masked > 0, case .replace(let v) = mask {
            maxv = max(maxv, v)
            maskedValue = v
        }
        var sum = wk_exp_shifted_sum(row, visible, maxv)
        var maskedProbability: Float = 0
        if masked > 0, case .replace = mask {
            maskedProbability = exp(maskedValue - maxv)
            sum += Float(masked) * maskedProbability
        }
        let inv = 1 / sum
        wk_scale_f32(row, visible, inv)
        if masked > 0 { (row + visible).update(repeating: maskedProbability * inv, count: masked) }
    }

    /// Sets the executor's worker count (WorkerPool; OpenBLAS runs inside those workers).
    static func setBLASThreads(_ n: Int) { WorkerPool.setThreads(n) }
}
