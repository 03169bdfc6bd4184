// Encoders for the 32-element types Q8_0 Q4_0 Q4_1 Q5_0 Q5_1 that give the same bytes as gguf-py's
// numpy reference `gguf.quants.quantize`: float32 arithmetic in gguf-py's order with no fused
// multiply-add; numpy's float → int casts reproduced as x86 does them (a NaN or out-of-range value
// becomes 0x80000000 and keeps its low byte), so NaN and infinite inputs give gguf-py's bytes too.
// (gguf-py's quantizers can differ from ggml's C ones in the last bit of a rounding decision, as
// gguf-py's own notes say.) Beside the Q8_0 reference, a fast path tested against it.

extension GGMLQuants {
    /// numpy's float32 → integer cast on x86: truncation toward zero through a 32-bit
    /// integer; NaN and values outside Int32 give Int32.min.
    @inline(__always) static func npCast(_ x: Float) -> Int32 {
        (x >= -2_147_483_648 && x < 2_147_483_648) ? Int32(x) : Int32.min
    }

    /// `x.astype(np.uint8).clip(0, hi)`.
    @inline(__always) static func npU8Clip(_ x: Float, _ hi: UInt8) -> UInt8 {
        min(UInt8(truncatingIfNeeded: npCast(x)), hi)
    }

    /// gguf-py's `np_roundf`: round half away from zero as floor(a) + floor(2(a − floor(a))).
    @inline(__always) static func npRoundf(_ n: Float) -> Float {
        let a = abs(n)
        let floored = a.rounded(.down)
        let b = floored + (2 * (a - floored)).rounded(.down)
        let sign: Float = n.isNaN ? .nan : (n > 0 ? 1 : (n < 0 ? -1 : 0))
        return sign * b
    }

    @inline(__always) static func putHalf(_ p: UnsafeMutablePointer<UInt8>, _ x: Float) {
        let h = Narrow.half(x)
        p[0] = UInt8(truncatingIfNeeded: h)
        p[1] = UInt8(truncatingIfNeeded: h >> 8)
    }

    /// The element of largest magnitude, signed (numpy `argmax(abs)`: the first NaN, else
    /// the first maximum).
    @inline(__always) static func signedAbsMax(_ x: UnsafePointer<Float>) -> Float {
        var best = x[0]
        if best.isNaN { return best }
        for j in 1..<32 {
            let v = x[j]
            if v.isNaN { return v }
            if abs(v) > abs(best) { best = v }
        }
        return best
    }

    /// numpy `max`/`min` over a block: NaN when any element is NaN.
    @inline(__always) static func maxMin(_ x: UnsafePointer<Float>) -> (Float, Float) {
        var hi = x[0], lo = x[0]
        for j in 0..<32 {
            let v = x[j]
            if v.isNaN { return (v, v) }
            if v > hi { hi = v }
            if v < lo { lo = v }
        }
        return (hi, lo)
    }

    static func quantizeQ8_0(_ x: UnsafePointer<Float>, _ p: UnsafeMutablePointer<UInt8>) {
        var amax: Float = 0
        for j in 0..<32 {
            let a = abs(x[j])
            if a.isNaN { amax = a; break }
            if a > amax { amax = a }
        }
        let d = amax / 127
        let id: Float = d == 0 ? 0 : 1 / d
        putHalf(p, d)
        for j in 0..<32 {
            p[2 + j] = UInt8(truncatingIfNeeded: npCast(npRoundf(x[j] * id)))
        }
    }

    static func quantizeQ4_0(_ x: UnsafePointer<Float>, _ p: UnsafeMutablePointer<UInt8>) {
        let d = signedAbsMax(x) / -8
        let id: Float = d == 0 ? 0 : 1 / d
        putHalf(p, d)
        for j in 0..<16 {
            let a = npU8Clip((x[j] * id + 8.5).rounded(.towardZero), 15)
            let b = npU8Clip((x[j + 16] * id + 8.5).rounded(.towardZero), 15)
            p[2 + j] = a | (b << 4)
        }
    }

    static func quantizeQ4_1(_ x: UnsafePointer<Float>, _ p: UnsafeMutablePointer<UInt8>) {
        let (hi, lo) = maxMin(x)
        let d = (hi - lo) / 15
        let id: Float = d == 0 ? 0 : 1 / d
        putHalf(p, d)
        putHalf(p + 2, lo)
        for j in 0..<16 {
            let a = npU8Clip(((x[j] - lo) * id + 0.5).rounded(.towardZero), 15)
            let b = npU8Clip(((x[j + 16] - lo) * id + 0.5).rounded(.towardZero), 15)
            p[4 + j] = a | (b << 4)
        }
    }

    static func quantizeQ5_0(_ x: UnsafePointer<Float>, _ p: UnsafeMutablePointer<UInt8>) {
        let d = signedAbsMax(x) / -16
        let id: Float = d == 0 ? 0 : 1 / d
        putHalf(p, d)
        var qh: UInt32 = 0
        for j in 0..<16 {
            let a = npU8Clip((x[j] * id + 16.5).rounded(.towardZero), 31)
            let b = npU8Clip((x[j + 16] * id + 16.5).rounded(.towardZero), 31)
            p[6 + j] = (a & 0x0F) | (b << 4)
            qh |= UInt32(a >> 4) << UInt32(j) | UInt32(b >> 4) << UInt32(j + 16)
        }
        for k in 0..<4 { p[2 + k] = UInt8(truncatingIfNeeded: qh >> UInt32(8 * k)) }
    }

    static func quantizeQ5_1(_ x: UnsafePointer<Float>, _ p: UnsafeMutablePointer<UInt8>) {
        let (hi, lo) = maxMin(x)
        let d = (hi - lo) / 31
        let id: Float = d == 0 ? 0 : 1 / d
        putHalf(p, d)
        putHalf(p + 2, lo)
        var qh: UInt32 = 0
        for j in 0..<16 {
            let a = npU8Clip(((x[j] - lo) * id + 0.5).rounded(.towardZero), 31)
            let b = npU8Clip(((x[j + 16] - lo) * id + 0.5).rounded(.towardZero), 31)
            p[8 + j] = (a & 0x0F) | (b << 4)
            qh |= UInt32(a >> 4) << UInt32(j) | UInt32(b >> 4) << UInt32(j + 16)
        }
        for k in 0..<4 { p[4 + k] = UInt8(truncatingIfNeeded: qh >> UInt32(8 * k)) }
    }

    /// Runs a 32-element block encoder over `blocks` blocks of `bytes` bytes.
    @inline(__always) static func run32(
        _ src: UnsafePointer<Float>, _ dst: UnsafeMutableRawPointer, _ blocks: Int, _ bytes: Int,
        _ body: (UnsafePointer<Float>, UnsafeMutablePointer<UInt8>) -> Void
    ) {
        let o = dst.assumingMemoryBound(to: UInt8.self)
        for b in 0..<blocks { body(src + 32 * b, o + bytes * b) }
    }

    /// quantizeQ8_0 for `blocks` blocks of 32 floats without libm's floorf: d = amax/127 stored as
    /// float16, each value x·(1/d) rounded half away from zero to int8. For |q| < 2^22, round half
    /// away from zero is f + (a − f ≥ 0.5), f = floor(a) computed with the 2^23 trick, which equals
    /// gguf-py's floor(a) + floor(2(a − floor(a))). Blocks with NaN or infinity, or whose 1/d
    /// overflows, use the reference.
    static func quantizeQ8_0Fast(_ src: UnsafePointer<Float>, _ dst: UnsafeMutableRawPointer, blocks: Int) {
        for b in 0..<blocks {
            let x = src + 32 * b
            var top: UInt32 = 0
            for j in 0..<32 { top = max(top, x[j].bitPattern & 0x7FFF_FFFF) }
            let p = dst + 34 * b
            let d = Float(bitPattern: top) / 127
            let id: Float = d == 0 ? 0 : 1 / d
            if top >= 0x7F80_0000 || !id.isFinite || Float(bitPattern: top) * id >= 4_194_304 {
                quantizeQ8_0(x, p.assumingMemoryBound(to: UInt8.self))
                continue
            }
            p.storeBytes(of: Narrow.half(d).littleEndian, as: UInt16.self)
            let qs = (p + 2).assumingMemoryBound(to: UInt8.self)
            let big: Float = 8_388_608
            for j in 0..<32 {
                let q = x[j] * id
                let a = Float(bitPattern: q.bitPattern & 0x7FFF_FFFF)
                var f = (a + big) - big  // a rounded to nearest even
                f = f > a ? f - 1 : f  // floor(a)
                let r = (a - f) >= 0.5 ? f + 1 : f
                let byte = ((r + big).bitPattern & 0xFF)  // low byte of the integer r
                let signed = q.bitPattern >> 31 == 1 ? (0 &- byte) & 0xFF : byte
                qs[j] = UInt8(truncatingIfNeeded: signed)
            }
        }
    }
}
