// Narrowing of float32 to the 16-bit float types, bit for bit as the reference tools do it:
// float16 like numpy's `astype(np.float16)` (round to nearest even, subnormals, overflow to
// infinity, NaN payload kept in the top mantissa bits), bfloat16 like gguf-py's reference
// quantizer (`gguf.quants.BF16`, itself ggml's `ggml_compute_fp32_to_bf16`).

/// Bulk float32 → float16 / bfloat16 conversions (little-endian-agnostic: they produce
/// native `UInt16` bit patterns; store them with `.littleEndian`, a no-op on x86_64 and arm64).
public enum Narrow {
    /// IEEE binary16 bits of `x`, rounded to nearest even; exactly numpy's
    /// `np.float32(x).astype(np.float16)`:
    /// - magnitudes at or above 65520 become ±infinity;
    /// - magnitudes below 2^-25 become ±0 (exactly 2^-25 rounds to even, 0);
    /// - NaN keeps its sign and the top 10 bits of its payload (`0x7C00 + (mantissa >> 13)`,
    ///   bumped to `0x7C01` when that would read as infinity).
    @inlinable public static func half(_ x: Float) -> UInt16 {
        let f = x.bitPattern
        let sign = UInt16(truncatingIfNeeded: (f >> 16) & 0x8000)
        let a = f & 0x7FFF_FFFF
        if a >= 0x4780_0000 {  // |x| ≥ 65536, infinity or NaN
            if a > 0x7F80_0000 {
                var r = UInt16(truncatingIfNeeded: 0x7C00 + ((a & 0x007F_FFFF) >> 13))
                if r == 0x7C00 { r = 0x7C01 }
                return sign | r
            }
            return sign | 0x7C00
        }
        if a < 0x3880_0000 {  // |x| < 2^-14: float16 subnormal or zero
            if a < 0x3300_0000 { return sign }  // below 2^-25: rounds to zero
            // Align the 10 subnormal mantissa bits at the bottom of a float by adding 0.5;
            // the float addition rounds to nearest even, which is what float16 needs.
            let magic = Float(bitPattern: 0x3F00_0000)  // 0.5 = 2^-1: ulp 2^-24
            let y = Float(bitPattern: a) + magic
            return sign | UInt16(truncatingIfNeeded: y.bitPattern - 0x3F00_0000)
        }
        // Normal: rebias the exponent and round the 13 dropped bits to nearest even.
        // A carry out of the mantissa bumps the exponent, up to infinity (0x7C00).
        let odd = (a >> 13) & 1
        let r = (a &- 0x3800_0000 &+ 0x0FFF &+ odd) >> 13
        return sign | UInt16(truncatingIfNeeded: r)
    }

    /// bfloat16 bits of `x` as gguf-py writes them: a NaN is made quiet (its upper half
    /// kept with bit 0x0040 set), then the upper 16 bits are rounded to nearest even
    /// (which may round a large finite value up to infinity).
    @inlinable public static func bfloat(_ x: Float) -> UInt16 {
        var n = x.bitPattern
        if n & 0x7FFF_FFFF > 0x7F80_0000 { n = (n & 0xFFFF_0000) | 0x0040_0000 }
        let r = (UInt64(n) + 0x7FFF + UInt64((n >> 16) & 1)) >> 16
        return UInt16(truncatingIfNeeded: r)
    }

    /// Converts every element of `src` to float16 bits in `into[0 ..< src.count]`.
    public static func toF16(_ src: UnsafeBufferPointer<Float>, into dst: UnsafeMutablePointer<UInt16>) {
        guard let s = src.baseAddress else { return }
        for i in 0..<src.count { dst[i] = half(s[i]) }
    }

    /// Converts every element of `src` to bfloat16 bits in `into[0 ..< src.count]`.
    public static func toBF16(_ src: UnsafeBufferPointer<Float>, into dst: UnsafeMutablePointer<UInt16>) {
        guard let s = src.baseAddress else { return }
        for i in 0..<src.count { dst[i] = bfloat(s[i]) }
    }
}
