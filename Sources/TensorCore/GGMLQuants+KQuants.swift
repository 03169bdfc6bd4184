// K-quant encoders (Q2_K Q3_K Q4_K Q5_K Q6_K Q8_K) that give the same bytes as llama.cpp's
// reference quantizers in ggml-quants.c: `quantize_row_q*_K_ref` when no importance weights are
// given (what llama-quantize does without --imatrix) and `quantize_q*_K` with `quant_weights`
// otherwise. ggml-quants.c is compiled for baseline x86-64 (no FMA, no fast-math), so every sum
// below is a plain float32 loop in the reference's order and every product is rounded on its own:
// `w·x·l` is `(w·x)·l`, `s·l + m − x` is `((s·l) + m) − x`. Storage widths matter where the C code
// truncates (`uint8_t ls = nearest(…)`, int8 scales); those are spelled out with
// `truncatingIfNeeded`. Block layouts are in Formats/gguf.md §2.
//
// Each encoder takes one 256-element super-block at a time; `Scratch` holds the per-block working
// arrays so a run of blocks allocates once.

extension GGMLQuants {
    /// ggml rounds float → int by adding 1.5·2^23 and reading the low mantissa bits (round half to
    /// even, exact for |v| < 2^22; larger values wrap as ggml's do).
    @inline(__always) static func nearest(_ v: Float) -> Int32 {
        let t = v + 12_582_912
        return Int32(bitPattern: t.bitPattern & 0x007F_FFFF) &- 0x0040_0000
    }

    /// float32 → float16 as ggml's GGML_FP32_TO_FP16 on a CPU without F16C: round to nearest even
    /// (Narrow.half) except that every NaN becomes the quiet NaN 0x7E00 with its sign.
    @inline(__always) static func ggmlHalf(_ x: Float) -> UInt16 {
        if x.isNaN { return x.sign == .minus ? 0xFE00 : 0x7E00 }
        return Narrow.half(x)
    }

    @inline(__always) static func storeHalf(_ p: UnsafeMutableRawPointer, _ offset: Int, _ x: Float) -> Float {
        let h = ggmlHalf(x)
        p.storeBytes(of: h.littleEndian, toByteOffset: offset, as: UInt16.self)
        return Widen.f16Table[Int(h)]
    }

    /// Group magnitudes below this are treated as all zero (ggml's GROUP_MAX_EPS).
    static let groupEps: Float = 1e-15

    /// Working arrays for one super-block.
    struct Scratch {
        let f: UnsafeMutablePointer<Float>  // weights[32] scales[16] mins[16] sw[16]
        let b: UnsafeMutablePointer<UInt8>  // L[256] aux[32] ls[16] lm[16]
        var weights: UnsafeMutablePointer<Float> { f }
        var scales: UnsafeMutablePointer<Float> { f + 32 }
        var mins: UnsafeMutablePointer<Float> { f + 48 }
        var sw: UnsafeMutablePointer<Float> { f + 64 }
        var levels: UnsafeMutablePointer<UInt8> { b }
        var aux: UnsafeMutablePointer<UInt8> { b + 256 }
        var ls: UnsafeMutablePointer<UInt8> { b + 288 }
        var lm: UnsafeMutablePointer<UInt8> { b + 304 }

        static func with<R>(_ body: (Scratch) throws -> R) rethrows -> R {
            try withUnsafeTemporaryAllocation(of: Float.self, capacity: 80) { f in
                try withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 320) { b in
                    try body(Scratch(f: f.baseAddress!, b: b.baseAddress!))
                }
            }
        }
    }

    // MARK: Level searches

    /// Signed levels −nmax…nmax−1 for `n` values with one scale (ggml's make_qx_quants with
    /// rmse_type 1): start from the scale that maps the largest magnitude to −nmax, then try 18
    /// nearby scales and keep the one with the best weighted least-squares fit (weights `w`; ggml's
    /// x² when it has none is passed in as such). Levels are stored offset by nmax (0…2·nmax−1).
    @inline(__always)
    static func signedLevels(_ n: Int, _ nmax: Int32, _ x: UnsafePointer<Float>, _ levels: UnsafeMutablePointer<UInt8>,
                             _ w: UnsafePointer<Float>) -> Float {
        var peak: Float = 0, amax: Float = 0
        for i in 0..<n {
            let a = abs(x[i])
            if a > amax { amax = a; peak = x[i] }
        }
        if amax < groupEps {
            for i in 0..<n { levels[i] = 0 }
            return 0
        }
        let fmax = Float(nmax)
        var iscale = Float(-nmax) / peak
        return withUnsafeTemporaryAllocation(of: Float.self, capacity: 4 * n) { buf in
            let fl = buf.baseAddress!, t0 = fl + n, t1 = t0 + n, wx = t1 + n
            // ggml's w·x·l is (w·x)·l: the first product is the same for every candidate scale.
            for i in 0..<n { wx[i] = w[i] * x[i] }
            // Levels and weighted terms for every value (vectorized), then summed in ggml's order.
            @inline(__always) func terms(_ iscale: Float) -> (Float, Float) {
                for i in 0..<n { fl[i] = Float(min(max(nearest(iscale * x[i]), -nmax), nmax &- 1)) }
                for i in 0..<n {
                    t0[i] = wx[i] * fl[i]
                    t1[i] = w[i] * fl[i] * fl[i]
                }
                var sumlx: Float = 0, suml2: Float = 0
                for i in 0..<n {
                    sumlx += t0[i]
                    suml2 += t1[i]
                }
                return (sumlx, suml2)
            }
            @inline(__always) func keep() {
                for i in 0..<n { levels[i] = UInt8(truncatingIfNeeded: Int32(fl[i]) &+ nmax) }
            }
            var (sumlx, suml2) = terms(iscale)
            keep()
            var scale: Float = suml2 != 0 ? sumlx / suml2 : 0
            var best = scale * sumlx
            for step in -9...9 where step != 0 {
                iscale = -(fmax + 0.1 * Float(step)) / peak
                (sumlx, suml2) = terms(iscale)
                if suml2 > 0 && sumlx * sumlx > best * suml2 {
                    keep()
                    scale = sumlx / suml2
                    best = scale * sumlx
                }
            }
            return scale
        }
    }

    /// Q3_K's 16-value search without importance weights (ggml's make_q3_quants with do_rmse):
    /// levels −4…3 from the largest magnitude, then up to five sweeps that move single levels while
    /// the x²-weighted fit improves. Levels are stored offset by 4.
    static func q3Levels(_ x: UnsafePointer<Float>, _ levels: UnsafeMutablePointer<UInt8>) -> Float {
        let n = 16
        let nmax: Int32 = 4
        var peak: Float = 0, amax: Float = 0
        for i in 0..<n {
            let a = abs(x[i])
            if a > amax { amax = a; peak = x[i] }
        }
        if amax < groupEps {
            for i in 0..<n { levels[i] = 0 }
            return 0
        }
        let iscale = Float(-nmax) / peak
        // Signed levels live in `levels` as int8 bit patterns until the final offset.
        @inline(__always) func get(_ i: Int) -> Int32 { Int32(Int8(bitPattern: levels[i])) }
        @inline(__always) func set(_ i: Int, _ v: Int32) { levels[i] = UInt8(bitPattern: Int8(truncatingIfNeeded: v)) }
        var sumlx: Float = 0, suml2: Float = 0
        for i in 0..<n {
            let v = min(max(nearest(iscale * x[i]), -nmax), nmax - 1)
            set(i, v)
            let w = x[i] * x[i]
            sumlx += w * x[i] * Float(v)
            suml2 += w * Float(v) * Float(v)
        }
        for _ in 0..<5 {
            var changed = 0
            for i in 0..<n {
                let w = x[i] * x[i]
                let li = get(i)
                var slx = sumlx - w * x[i] * Float(li)
                if slx > 0 {
                    var sl2 = suml2 - w * Float(li) * Float(li)
                    let nl = min(max(nearest(x[i] * sl2 / slx), -nmax), nmax - 1)
                    if nl != li {
                        slx += w * x[i] * Float(nl)
                        sl2 += w * Float(nl) * Float(nl)
                        if sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2 {
                            set(i, nl)
                            sumlx = slx
                            suml2 = sl2
                            changed += 1
                        }
                    }
                }
            }
            if changed == 0 { break }
        }
        for i in 0..<n { levels[i] = UInt8(truncatingIfNeeded: get(i) + nmax) }
        return suml2 > 0 ? sumlx / suml2 : 0
    }

    /// Levels 0…nmax with a scale and a min for `n` values (ggml's make_qkx2_quants and
    /// make_qkx3_quants, which agree for finite input): the min is clamped to ≤ 0; the first guess
    /// spreads [min, max] over the levels, then `steps + 1` scales (nmax + rmin + rdelta·k over
    /// max − min, where min is the best fit's so far) are tried, each followed by the weighted
    /// least-squares scale and min for its levels; the fit with the smallest weighted error
    /// (absolute when `mad`, else squared) wins. Returns (scale, −min).
    @inline(__always)
    static func affineLevels(_ n: Int, _ nmax: Int32, _ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>,
                             _ levels: UnsafeMutablePointer<UInt8>, _ aux: UnsafeMutablePointer<UInt8>,
                             rmin: Float, rdelta: Float, steps: Int, mad: Bool) -> (Float, Float) {
        var lo = x[0], hi = x[0]
        var sumW = w[0]
        var sumX = sumW * x[0]
        for i in 1..<n {
            if x[i] < lo { lo = x[i] }
            if x[i] > hi { hi = x[i] }
            sumW += w[i]
            sumX += w[i] * x[i]
        }
        if lo > 0 { lo = 0 }
        if hi == lo {
            for i in 0..<n { levels[i] = 0 }
            return (0, -lo)
        }
        let fmax = Float(nmax)
        var iscale = fmax / (hi - lo)
        var scale = 1 / iscale
        var bestError: Float = 0
        for i in 0..<n {
            let l = min(max(nearest(iscale * (x[i] - lo)), 0), nmax)
            levels[i] = UInt8(truncatingIfNeeded: l)
            var diff = scale * Float(l) + lo - x[i]
            diff = mad ? abs(diff) : diff * diff
            bestError += w[i] * diff
        }
        // Per step: levels and the weighted terms for every value first (loops the compiler
        // vectorizes), then the terms summed in order, as ggml's single loop adds them.
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 3 * n) { buf in
            let t0 = buf.baseAddress!, t1 = t0 + n, t2 = t1 + n
            for k in 0...steps {
                iscale = (rmin + rdelta * Float(k) + fmax) / (hi - lo)  // lo moves with the best fit so far
                for i in 0..<n { aux[i] = UInt8(truncatingIfNeeded: min(max(nearest(iscale * (x[i] - lo)), 0), nmax)) }
                for i in 0..<n {
                    let fl = Float(aux[i])
                    let wl = w[i] * fl
                    t0[i] = wl
                    t1[i] = wl * fl
                    t2[i] = wl * x[i]
                }
                var sumL: Float = 0, sumL2: Float = 0, sumXL: Float = 0
                for i in 0..<n {
                    sumL += t0[i]
                    sumL2 += t1[i]
                    sumXL += t2[i]
                }
                let det = sumW * sumL2 - sumL * sumL
                if det > 0 {
                    var thisScale = (sumW * sumXL - sumX * sumL) / det
                    var thisMin = (sumL2 * sumX - sumL * sumXL) / det
                    if thisMin > 0 {
                        thisMin = 0
                        thisScale = sumXL / sumL2
                    }
                    if mad {
                        for i in 0..<n { t0[i] = w[i] * abs(thisScale * Float(aux[i]) + thisMin - x[i]) }
                    } else {
                        for i in 0..<n {
                            let diff = thisScale * Float(aux[i]) + thisMin - x[i]
                            t0[i] = w[i] * (diff * diff)
                        }
                    }
                    var err: Float = 0
                    for i in 0..<n { err += t0[i] }
                    if err < bestError {
                        for i in 0..<n { levels[i] = aux[i] }
                        bestError = err
                        scale = thisScale
                        lo = thisMin
                    }
                }
            }
        }
        return (scale, -lo)
    }

    /// Levels 0…nmax for non-negative values (a super-block's scales or mins) with importance
    /// weights (ggml's make_qp_quants): the best of nine scales around nmax/max by weighted squared
    /// error, then up to five sweeps moving single levels while the least-squares fit improves.
    static func positiveLevels(_ n: Int, _ nmax: Int32, _ x: UnsafePointer<Float>, _ levels: UnsafeMutablePointer<UInt8>,
                               _ w: UnsafePointer<Float>) -> Float {
        var peak: Float = 0
        for i in 0..<n { peak = peak > x[i] ? peak : x[i] }
        if peak < groupEps {
            for i in 0..<n { levels[i] = 0 }
            return 0
        }
        let fmax = Float(nmax)
        var iscale = fmax / peak
        for i in 0..<n { levels[i] = UInt8(truncatingIfNeeded: nearest(iscale * x[i])) }
        let scale = 1 / iscale
        var bestErr: Float = 0
        for i in 0..<n {
            let diff = x[i] - scale * Float(levels[i])
            bestErr += w[i] * diff * diff
        }
        for step in -4...4 where step != 0 {
            let tryIscale = (0.1 * Float(step) + fmax) / peak
            let tryScale = 1 / tryIscale
            var err: Float = 0
            for i in 0..<n {
                let l = min(nmax, nearest(tryIscale * x[i]))
                let diff = x[i] - tryScale * Float(l)
                err += w[i] * diff * diff
            }
            if err < bestErr {
                bestErr = err
                iscale = tryIscale
            }
        }
        var sumlx: Float = 0, suml2: Float = 0
        for i in 0..<n {
            let l = min(nmax, nearest(iscale * x[i]))
            levels[i] = UInt8(truncatingIfNeeded: l)
            sumlx += w[i] * x[i] * Float(l)
            suml2 += w[i] * Float(l) * Float(l)
        }
        for _ in 0..<5 {
            var changed = 0
            for i in 0..<n {
                let li = Float(levels[i])
                var slx = sumlx - w[i] * x[i] * li
                var sl2 = suml2 - w[i] * li * li
                if slx > 0 && sl2 > 0 {
                    let nl = min(nmax, nearest(x[i] * sl2 / slx))
                    if nl != Int32(levels[i]) {
                        slx += w[i] * x[i] * Float(nl)
                        sl2 += w[i] * Float(nl) * Float(nl)
                        if slx * slx * suml2 > sumlx * sumlx * sl2 {
                            levels[i] = UInt8(truncatingIfNeeded: nl)
                            sumlx = slx
                            suml2 = sl2
                            changed += 1
                        }
                    }
                }
            }
            if changed == 0 { break }
        }
        return suml2 > 0 ? sumlx / suml2 : 0
    }

    // MARK: Packing shared by several types

    /// Two bits per level, four 32-element strips per 32 bytes: byte 32h + l holds levels
    /// 128h + l, +32, +64, +96 in bits 0-1, 2-3, 4-5, 6-7 (Q2_K and Q3_K's low bits).
    @inline(__always) static func packTwoBits(_ levels: UnsafePointer<UInt8>, _ out: UnsafeMutablePointer<UInt8>) {
        for h in 0..<2 {
            let l = levels + 128 * h
            for i in 0..<32 {
                out[32 * h + i] = l[i] | (l[i + 32] << 2) | (l[i + 64] << 4) | (l[i + 96] << 6)
            }
        }
    }

    /// The 12-byte 6-bit scale/min table of Q4_K and Q5_K: sub-blocks 0-3 in the low six bits of
    /// bytes 0-3 (scales) and 4-7 (mins); sub-blocks 4-7 as nibbles of bytes 8-11 (scale low,
    /// min high) with their top two bits in the top bits of bytes 0-3 and 4-7.
    @inline(__always) static func packScaleMins(_ ls: UnsafePointer<UInt8>, _ lm: UnsafePointer<UInt8>, _ s: UnsafeMutablePointer<UInt8>) {
        for j in 0..<4 {
            s[j] = ls[j]
            s[j + 4] = lm[j]
        }
        for j in 4..<8 {
            s[j + 4] = (ls[j] & 0x0F) | ((lm[j] & 0x0F) << 4)
            s[j - 4] |= (ls[j] >> 4) << 6
            s[j] |= (lm[j] >> 4) << 6
        }
    }

    /// Re-derives each 32-element sub-block's levels from the stored (rounded) scales:
    /// round((x + d_min·m)/(d·sc)), clamped to 0…nmax; sub-blocks whose step is zero keep theirs.
    @inline(__always) static func requantizeAffine32(_ x: UnsafePointer<Float>, _ s: UnsafePointer<UInt8>, d: Float, dmin: Float,
                                                     nmax: Int32, _ levels: UnsafeMutablePointer<UInt8>) {
        for j in 0..<8 {
            let (sc, m) = scaleMin(s, j)
            let step = d * sc
            if step == 0 { continue }
            let off = dmin * m
            for i in 0..<32 {
                let l = min(max(nearest((x[32 * j + i] + off) / step), 0), nmax)
                levels[32 * j + i] = UInt8(truncatingIfNeeded: l)
            }
        }
    }

    /// Σ x² over a super-block, in order.
    @inline(__always) static func sumSquares256(_ x: UnsafePointer<Float>) -> Float {
        var s: Float = 0
        for i in 0..<256 { s += x[i] * x[i] }
        return s
    }

    // MARK: Q2_K

    /// One Q2_K block (84 bytes: scales[16], qs[64], d, dmin). Without weights each 16-value
    /// group gets an |x|-weighted affine fit (15 steps from −0.5, least absolute error), scales and
    /// mins are rounded to 4 bits against their maxima. With weights w·√(σ² + x²) (σ² the block's
    /// mean square) the fits take 36 steps from −0.9 by squared error, and the 4-bit scales and
    /// mins come from the weighted search over the 16 group values.
    static func encodeQ2_K(_ x: UnsafePointer<Float>, _ out: UnsafeMutableRawPointer, _ qw: UnsafePointer<Float>?, _ t: Scratch) {
        let y = out.assumingMemoryBound(to: UInt8.self)
        let sc = y, qs = y + 16
        let L = t.levels, w = t.weights
        var d: Float, dmin: Float
        if let qw {
            let sigma2 = sumSquares256(x) / 256
            for j in 0..<16 {
                let xs = x + 16 * j
                for l in 0..<16 { w[l] = qw[16 * j + l] * (sigma2 + xs[l] * xs[l]).squareRoot() }
                var sum: Float = 0
                for l in 0..<16 { sum += w[l] }
                t.sw[j] = sum
                (t.scales[j], t.mins[j]) = affineLevels(16, 3, xs, w, L + 16 * j, t.aux, rmin: -0.9, rdelta: 0.05, steps: 36, mad: false)
            }
            let dm = positiveLevels(16, 15, t.scales, t.ls, t.sw)
            let mm = positiveLevels(16, 15, t.mins, t.lm, t.sw)
            d = storeHalf(out, 80, dm)
            dmin = storeHalf(out, 82, mm)
            for j in 0..<16 { sc[j] = t.ls[j] | (t.lm[j] << 4) }
        } else {
            var maxScale: Float = 0, maxMin: Float = 0
            for j in 0..<16 {
                let xs = x + 16 * j
                for l in 0..<16 { w[l] = abs(xs[l]) }
                let (s, m) = affineLevels(16, 3, xs, w, L + 16 * j, t.aux, rmin: -0.5, rdelta: 0.1, steps: 15, mad: true)
                t.scales[j] = s
                t.mins[j] = m
                if s > maxScale { maxScale = s }
                if m > maxMin { maxMin = m }
            }
            if maxScale > 0 {
                let iscale = 15 / maxScale
                for j in 0..<16 { sc[j] = UInt8(truncatingIfNeeded: nearest(iscale * t.scales[j])) }
                d = storeHalf(out, 80, maxScale / 15)
            } else {
                for j in 0..<16 { sc[j] = 0 }
                d = storeHalf(out, 80, 0)
            }
            if maxMin > 0 {
                let iscale = 15 / maxMin
                for j in 0..<16 { sc[j] |= UInt8(truncatingIfNeeded: nearest(iscale * t.mins[j]) << 4) }
                dmin = storeHalf(out, 82, maxMin / 15)
            } else {
                dmin = storeHalf(out, 82, 0)
            }
        }
        for j in 0..<16 {
            let step = d * Float(sc[j] & 0x0F)
            if step == 0 { continue }
            let off = dmin * Float(sc[j] >> 4)
            for i in 0..<16 {
                L[16 * j + i] = UInt8(truncatingIfNeeded: min(max(nearest((x[16 * j + i] + off) / step), 0), 3))
            }
        }
        packTwoBits(L, qs)
    }

    // MARK: Q3_K

    /// Writes Q3_K's 16 six-bit scales (stored offset by 32) into its 12 scale bytes: the low
    /// nibbles of groups 0-7 and 8-15 share bytes 0-7, the top two bits go to bytes 8-11.
    @inline(__always) static func packQ3Scales(_ ls: UnsafePointer<UInt8>, _ s: UnsafeMutablePointer<UInt8>) {
        for k in 0..<12 { s[k] = 0 }
        for j in 0..<16 {
            let l = ls[j]
            if j < 8 { s[j] = l & 0x0F } else { s[j - 8] |= (l & 0x0F) << 4 }
            s[8 + j % 4] |= (l >> 4) << UInt8(2 * (j / 4))
        }
    }

    /// One Q3_K block (110 bytes: hmask[32], qs[64], scales[12], d). Without weights each
    /// 16-value group gets the x²-weighted signed search (levels −4…3) and the scales are rounded
    /// to 6 bits against the largest; with weights w·√(σ² + x²) (σ² twice the mean square) the
    /// groups use the weighted signed search and the scales a weighted 6-bit search.
    static func encodeQ3_K(_ x: UnsafePointer<Float>, _ out: UnsafeMutableRawPointer, _ qw: UnsafePointer<Float>?, _ t: Scratch) {
        let y = out.assumingMemoryBound(to: UInt8.self)
        let hmask = y, qs = y + 32, s = y + 96
        let L = t.levels
        let d: Float
        if let qw {
            let sigma2 = 2 * sumSquares256(x) / 256
            let w = t.weights
            for j in 0..<16 {
                let xs = x + 16 * j
                for l in 0..<16 { w[l] = qw[16 * j + l] * (sigma2 + xs[l] * xs[l]).squareRoot() }
                var sum: Float = 0
                for l in 0..<16 { sum += w[l] }
                t.sw[j] = sum
                t.scales[j] = signedLevels(16, 4, xs, L + 16 * j, UnsafePointer(w))
            }
            let block = signedLevels(16, 32, t.scales, t.ls, UnsafePointer(t.sw))
            packQ3Scales(t.ls, s)
            d = storeHalf(out, 108, block)
        } else {
            var maxScale: Float = 0, amax: Float = 0
            for j in 0..<16 {
                let sj = q3Levels(x + 16 * j, L + 16 * j)
                t.scales[j] = sj
                if abs(sj) > amax { amax = abs(sj); maxScale = sj }
            }
            if maxScale != 0 {
                let iscale = -32 / maxScale
                for j in 0..<16 {
                    let l = Int32(Int8(truncatingIfNeeded: nearest(iscale * t.scales[j])))
                    t.ls[j] = UInt8(truncatingIfNeeded: min(max(l, -32), 31) + 32)
                }
                packQ3Scales(t.ls, s)
                d = storeHalf(out, 108, 1 / iscale)
            } else {
                for k in 0..<12 { s[k] = 0 }
                d = storeHalf(out, 108, 0)
            }
        }
        for j in 0..<16 {
            let low = j < 8 ? s[j] & 0x0F : s[j - 8] >> 4
            let sc = Int32(low | (((s[8 + j % 4] >> UInt8(2 * (j / 4))) & 3) << 4)) - 32
            let step = d * Float(sc)
            if step == 0 { continue }
            for i in 0..<16 {
                L[16 * j + i] = UInt8(truncatingIfNeeded: min(max(nearest(x[16 * j + i] / step), -4), 3) + 4)
            }
        }
        for k in 0..<32 { hmask[k] = 0 }
        for j in 0..<256 where L[j] > 3 {
            hmask[j % 32] |= UInt8(1) << UInt8(j / 32)
            L[j] -= 4
        }
        packTwoBits(L, qs)
    }

    // MARK: Q4_K and Q5_K

    /// The eight 32-element affine fits and their 6-bit scales/mins shared by Q4_K and Q5_K.
    /// Without weights: weights √(mean x² of the sub-block) + |x|, `steps` from `rmin` by 0.1,
    /// scales and mins rounded against their maxima. With weights w·√(σ² + x²): 36 steps from −0.9
    /// by 0.05 and the weighted 6-bit search. Writes d, dmin and the scale bytes; returns them.
    static func affine32Header(_ x: UnsafePointer<Float>, _ out: UnsafeMutableRawPointer, _ qw: UnsafePointer<Float>?, _ t: Scratch,
                               nmax: Int32, rmin: Float, steps: Int) -> (Float, Float) {
        let s = (out + 4).assumingMemoryBound(to: UInt8.self)
        let L = t.levels, w = t.weights
        if let qw {
            let sigma2 = 2 * sumSquares256(x) / 256
            for j in 0..<8 {
                let xs = x + 32 * j
                for l in 0..<32 { w[l] = qw[32 * j + l] * (sigma2 + xs[l] * xs[l]).squareRoot() }
                var sum: Float = 0
                for l in 0..<32 { sum += w[l] }
                t.sw[j] = sum
                (t.scales[j], t.mins[j]) = affineLevels(32, nmax, xs, w, L + 32 * j, t.aux, rmin: -0.9, rdelta: 0.05, steps: 36, mad: false)
            }
            let db = positiveLevels(8, 63, t.scales, t.ls, t.sw)
            let mb = positiveLevels(8, 63, t.mins, t.lm, t.sw)
            for j in 0..<8 {
                t.ls[j] = min(63, t.ls[j])
                t.lm[j] = min(63, t.lm[j])
            }
            packScaleMins(t.ls, t.lm, s)
            return (storeHalf(out, 0, db), storeHalf(out, 2, mb))
        }
        var maxScale: Float = 0, maxMin: Float = 0
        for j in 0..<8 {
            let xs = x + 32 * j
            var sum: Float = 0
            for l in 0..<32 { sum += xs[l] * xs[l] }
            let av = (sum / 32).squareRoot()
            for l in 0..<32 { w[l] = av + abs(xs[l]) }
            let (sc, m) = affineLevels(32, nmax, xs, w, L + 32 * j, t.aux, rmin: rmin, rdelta: 0.1, steps: steps, mad: false)
            t.scales[j] = sc
            t.mins[j] = m
            if sc > maxScale { maxScale = sc }
            if m > maxMin { maxMin = m }
        }
        let invScale: Float = maxScale > 0 ? 63 / maxScale : 0
        let invMin: Float = maxMin > 0 ? 63 / maxMin : 0
        for j in 0..<8 {
            t.ls[j] = min(63, UInt8(truncatingIfNeeded: nearest(invScale * t.scales[j])))
            t.lm[j] = min(63, UInt8(truncatingIfNeeded: nearest(invMin * t.mins[j])))
        }
        packScaleMins(t.ls, t.lm, s)
        return (storeHalf(out, 0, maxScale / 63), storeHalf(out, 2, maxMin / 63))
    }

    /// One Q4_K block (144 bytes: d, dmin, scales[12], qs[128]): 4-bit levels, 32-element sub-blocks.
    static func encodeQ4_K(_ x: UnsafePointer<Float>, _ out: UnsafeMutableRawPointer, _ qw: UnsafePointer<Float>?, _ t: Scratch) {
        let (d, dmin) = affine32Header(x, out, qw, t, nmax: 15, rmin: -1, steps: 20)
        let y = out.assumingMemoryBound(to: UInt8.self)
        let L = t.levels
        requantizeAffine32(x, y + 4, d: d, dmin: dmin, nmax: 15, L)
        let q = y + 16
        for c in 0..<4 {
            for l in 0..<32 { q[32 * c + l] = L[64 * c + l] | (L[64 * c + l + 32] << 4) }
        }
    }

    /// One Q5_K block (176 bytes: d, dmin, scales[12], qh[32], qs[128]): 5-bit levels.
    static func encodeQ5_K(_ x: UnsafePointer<Float>, _ out: UnsafeMutableRawPointer, _ qw: UnsafePointer<Float>?, _ t: Scratch) {
        let (d, dmin) = affine32Header(x, out, qw, t, nmax: 31, rmin: -0.5, steps: 15)
        let y = out.assumingMemoryBound(to: UInt8.self)
        let L = t.levels
        requantizeAffine32(x, y + 4, d: d, dmin: dmin, nmax: 31, L)
        let qh = y + 16, ql = y + 48
        for k in 0..<32 { qh[k] = 0 }
        for c in 0..<4 {
            let b0 = UInt8(1) << UInt8(2 * c), b1 = UInt8(2) << UInt8(2 * c)
            for l in 0..<32 {
                var lo = L[64 * c + l], hi = L[64 * c + l + 32]
                if lo > 15 { lo -= 16; qh[l] |= b0 }
                if hi > 15 { hi -= 16; qh[l] |= b1 }
                ql[32 * c + l] = lo | (hi << 4)
            }
        }
    }

    // MARK: Q6_K

    /// One Q6_K block (210 bytes: ql[128], qh[64], scales[16] int8, d): each 16-value group gets
    /// the signed search with levels −32…31 (weights x², or the importance weights as given), the
    /// int8 scales are rounded against the largest magnitude (−128 maps to it).
    static func encodeQ6_K(_ x: UnsafePointer<Float>, _ out: UnsafeMutableRawPointer, _ qw: UnsafePointer<Float>?, _ t: Scratch) {
        let y = out.assumingMemoryBound(to: UInt8.self)
        let ql = y, qh = y + 128, sc = y + 192
        let L = t.levels
        var maxScale: Float = 0, maxAbs: Float = 0
        for g in 0..<16 {
            let xs = x + 16 * g
            let w: UnsafePointer<Float>
            if let qw { w = qw + 16 * g } else {
                for i in 0..<16 { t.weights[i] = xs[i] * xs[i] }
                w = UnsafePointer(t.weights)
            }
            let s = signedLevels(16, 32, xs, L + 16 * g, w)
            t.scales[g] = s
            if abs(s) > maxAbs { maxAbs = abs(s); maxScale = s }
        }
        if maxAbs < groupEps {
            for k in 0..<210 { y[k] = 0 }
            _ = storeHalf(out, 208, 0)
            return
        }
        let iscale = -128 / maxScale
        let d = storeHalf(out, 208, 1 / iscale)
        for g in 0..<16 { sc[g] = UInt8(truncatingIfNeeded: min(127, nearest(iscale * t.scales[g]))) }
        for g in 0..<16 {
            let step = d * Float(Int8(bitPattern: sc[g]))
            if step == 0 { continue }
            for i in 0..<16 {
                L[16 * g + i] = UInt8(truncatingIfNeeded: min(max(nearest(x[16 * g + i] / step), -32), 31) + 32)
            }
        }
        for h in 0..<2 {
            let l = L + 128 * h
            for i in 0..<32 {
                ql[64 * h + i] = (l[i] & 0x0F) | ((l[i + 64] & 0x0F) << 4)
                ql[64 * h + i + 32] = (l[i + 32] & 0x0F) | ((l[i + 96] & 0x0F) << 4)
                qh[32 * h + i] = (l[i] >> 4) | ((l[i + 32] >> 4) << 2) | ((l[i + 64] >> 4) << 4) | ((l[i + 96] >> 4) << 6)
            }
        }
    }

    // MARK: Q8_K

    /// One Q8_K block (292 bytes: d float32, qs[256] int8, bsums[16] int16): q = round(−127·x/m)
    /// capped at 127 where m is the value of largest magnitude (so m itself becomes −127), d = −m/127,
    /// bsums the sums of each 16 quants. Importance weights do not apply.
    static func encodeQ8_K(_ x: UnsafePointer<Float>, _ out: UnsafeMutableRawPointer, _ qw: UnsafePointer<Float>?, _ t: Scratch) {
        let qs = (out + 4).assumingMemoryBound(to: Int8.self)
        var peak: Float = 0, amax: Float = 0
        for j in 0..<256 {
            let a = abs(x[j])
            if a > amax { amax = a; peak = x[j] }
        }
        if amax == 0 {
            out.initializeMemory(as: UInt8.self, repeating: 0, count: 292)
            return
        }
        let iscale = -127 / peak
        for j in 0..<256 { qs[j] = Int8(truncatingIfNeeded: min(127, nearest(iscale * x[j]))) }
        for g in 0..<16 {
            var sum: Int32 = 0
            for i in 0..<16 { sum += Int32(qs[16 * g + i]) }
            out.storeBytes(of: Int16(truncatingIfNeeded: sum).littleEndian, toByteOffset: 260 + 2 * g, as: Int16.self)
        }
        out.storeBytes(of: (1 / iscale).bitPattern.littleEndian, as: UInt32.self)
    }

    /// Runs a K-quant block encoder over `blocks` consecutive super-blocks of `blockBytes` bytes;
    /// `weights` (when given) run alongside the values, one per element.
    @inline(__always) static func runK(
        _ src: UnsafePointer<Float>, _ dst: UnsafeMutableRawPointer, _ blocks: Int, _ weights: UnsafePointer<Float>?, _ blockBytes: Int,
        _ body: (UnsafePointer<Float>, UnsafeMutableRawPointer, UnsafePointer<Float>?, Scratch) -> Void
    ) {
        Scratch.with { t in
            for b in 0..<blocks { body(src + 256 * b, dst + blockBytes * b, weights.map { $0 + 256 * b }, t) }
        }
    }
}
