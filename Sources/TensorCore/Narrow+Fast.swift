// float32 → float16 without branches, beside the reference `Narrow.half` it must equal bit for bit
// (tested against it on every rounding boundary): selects only, so the optimizer vectorizes the
// loops that call it (convert's narrowing and its fused transpose). Plain scalar Swift, no CPU flags.

extension Narrow {
    /// `Narrow.half` with selects instead of branches: numpy's float32 → float16 (round to nearest
    /// even, subnormals, overflow to infinity, NaN keeps its top payload bits, 0x7C01 when they are
    /// all zero).
    @inlinable @inline(__always)
    public static func halfBranchless(_ x: Float) -> UInt16 {
        let u = x.bitPattern
        let sign = (u >> 16) & 0x8000
        let a = u & 0x7FFF_FFFF
        // Normal: rebias, round the 13 dropped bits to nearest even (a carry may reach infinity).
        let normal = (a &- 0x3800_0000 &+ 0x0FFF &+ ((a >> 13) & 1)) >> 13
        // Subnormal (and below 2^-25, which gives 0): adding 0.5 aligns the 10 mantissa bits at
        // the bottom, rounding to nearest even.
        let sub = (Float(bitPattern: a) + 0.5).bitPattern &- 0x3F00_0000
        var r = a < 0x3880_0000 ? sub : normal
        r = a >= 0x4780_0000 ? (a > 0x7F80_0000 ? (0x7C00 | max(1, (a & 0x007F_FFFF) >> 13)) : 0x7C00) : r
        return UInt16(truncatingIfNeeded: r | sign)
    }

    /// `toF16` with the branch-free conversion, `count` elements.
    public static func toF16Branchless(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<UInt16>, count: Int) {
        for i in 0..<count { dst[i] = halfBranchless(src[i]) }
    }
}
