// Fast paths for convert's hot loops, each bit-identical to the reference it stands beside
// (tested against it): float32 → float16 with selects instead of branches (Narrow.half's
// arithmetic), a tiled transpose (optionally narrowing to f16 on the way), and Q8_0 quantization
// without libm's floorf (GGMLQuants.quantize's arithmetic; blocks holding NaN or infinity go to the
// reference). Plain scalar Swift the optimizer vectorizes: no CPU flags needed.

import TensorCore

extension ConvertKernels {
    /// Narrow.half without branches (selects only, so the loop vectorizes): numpy's float32 →
    /// float16 (round to nearest even, subnormals, overflow to infinity, NaN keeps its top
    /// payload bits, 0x7C01 when they are all zero).
    @inline(__always)
    static func halfBits(_ x: Float) -> UInt16 {
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

    /// Narrow.toF16 with the branch-free conversion.
    static func toF16(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<UInt16>, count: Int) {
        for i in 0..<count { dst[i] = halfBits(src[i]) }
    }

    /// `dst[c, r] = src[r, c]` for a row-major float32 `[rows, cols]` (read unaligned), written as
    /// float32 bits (`half` false) or narrowed to float16 (`half` true), in 32×32 tiles. Each task
    /// takes a block of 32 source rows and walks it left to right, so the source is read as 32
    /// sequential streams (prefetch-friendly) and each destination row gets 32 contiguous elements.
    static func transposeF32(_ raw: UnsafeRawPointer, _ dst: UnsafeMutableRawPointer, rows: Int, cols: Int, half: Bool) {
        try! transposeTiles(raw, dst, rows: rows, cols: cols, output: half ? .f16 : .f32)
    }

    /// The transpose of a float32 `[rows, cols]` quantized to Q8_0 in the same pass: with rows a
    /// multiple of 32, each 32-row tile column is exactly one block of a destination row.
    static func transposeQ8_0(_ raw: UnsafeRawPointer, _ dst: UnsafeMutableRawPointer, rows: Int, cols: Int) throws {
        precondition(rows % 32 == 0, "Q8_0 rows must be whole blocks")
        try transposeTiles(raw, dst, rows: rows, cols: cols, output: .q8_0)
    }

    static func transposeTiles(_ raw: UnsafeRawPointer, _ dst: UnsafeMutableRawPointer, rows: Int, cols: Int, output: DType) throws {
        let half = output == .f16
        nonisolated(unsafe) var failure: Error?
        let tile = 32
        let s = UInt(bitPattern: raw), d = UInt(bitPattern: dst)
        let blocks = (rows + tile - 1) / tile
        parallel(blocks, work: rows * cols * 4) { block in
            let src = UnsafeRawPointer(bitPattern: s)!
            let r0 = block * tile
            let r1 = min(rows, r0 + tile)
            let h = r1 - r0
            let b = UnsafeMutablePointer<UInt32>.allocate(capacity: tile * tile)
            defer { b.deallocate() }
            var c0 = 0
            while c0 < cols {
                let c1 = min(cols, c0 + tile)
                let w = c1 - c0
                for r in r0..<r1 {
                    var sp = src + 4 &* (r &* cols &+ c0)
                    var bp = b + (r &- r0)
                    for _ in 0..<w {
                        bp.pointee = sp.loadUnaligned(as: UInt32.self)
                        sp += 4
                        bp += tile
                    }
                }
                if output == .q8_0 {
                    let o = UnsafeMutableRawPointer(bitPattern: d)!
                    let blocksPerRow = rows / 32
                    for c in c0..<c1 {
                        let col = UnsafeRawPointer(b + (c - c0) * tile).assumingMemoryBound(to: Float.self)
                        do { try quantizeQ8_0(col, o + 34 * (c * blocksPerRow + r0 / 32), blocks: 1) } catch { failure = error }
                    }
                } else if half {
                    let o = UnsafeMutablePointer<UInt16>(bitPattern: d)!
                    for c in c0..<c1 {
                        let out = o + c * rows + r0
                        let col = b + (c - c0) * tile
                        for k in 0..<h { out[k] = halfBits(Float(bitPattern: col[k])) }
                    }
                } else {
                    let o = UnsafeMutablePointer<UInt32>(bitPattern: d)!
                    for c in c0..<c1 { (o + c * rows + r0).update(from: b + (c - c0) * tile, count: h) }
                }
                c0 = c1
            }
        }
        if let failure { throw failure }
    }

    /// GGMLQuants.quantize(.q8_0, …) for `blocks` blocks of 32 floats: d = amax/127 stored as
    /// float16, each value x·(1/d) rounded half away from zero to int8. For |q| < 2^22, round half
    /// away from zero is f + (a − f ≥ 0.5), f = floor(a) computed with the 2^23 trick, which equals
    /// gguf-py's floor(a) + floor(2(a − floor(a))) without calling floorf. Blocks with NaN or
    /// infinity, or whose 1/d overflows, use the reference.
    static func quantizeQ8_0(_ src: UnsafePointer<Float>, _ dst: UnsafeMutableRawPointer, blocks: Int) throws {
        for b in 0..<blocks {
            let x = src + 32 * b
            var top: UInt32 = 0
            for j in 0..<32 { top = max(top, x[j].bitPattern & 0x7FFF_FFFF) }
            let p = dst + 34 * b
            let d = Float(bitPattern: top) / 127
            let id: Float = d == 0 ? 0 : 1 / d
            if top >= 0x7F80_0000 || !id.isFinite || Float(bitPattern: top) * id >= 4_194_304 {
                let q = try GGMLQuants.quantize(.q8_0, UnsafeBufferPointer(start: x, count: 32))
                q.withUnsafeBytes { p.copyMemory(from: $0.baseAddress!, byteCount: 34) }
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
