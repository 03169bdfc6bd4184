// ggml block quantization (formats.md §2.3, §2.4).
//
// Dequantizers for Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 Q8_1 Q2_K Q3_K Q4_K Q5_K Q6_K Q8_K that give
// the same float32 bits as gguf-py's `gguf.quants.dequantize` (numpy float32 arithmetic,
// no fused multiply-add): each formula below keeps gguf-py's order of operations, e.g.
// Q4_K is `(d·sc)·q − (dmin·m)` with both products rounded to float32 first.
// Quantizers for Q8_0 Q4_0 Q4_1 Q5_0 Q5_1 that give the same bytes as gguf-py's numpy
// reference `gguf.quants.quantize` (no FMA either, so they can differ from ggml's C
// reference in the last bit of a rounding decision, as gguf-py's own notes say).
//
// Hot loops read raw pointers, take float16 scales from `Widen.f16Table`, and work one
// block (or one 32-element group of a K-quant block) at a time so the compiler vectorizes
// the inner loop. Large tensors are split over the cores with `concurrentPerform`.

import Dispatch

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Dequantization and quantization of ggml block types.
public enum GGMLQuants {
    /// A kernel dequantizes `blocks` whole blocks starting at `src` into `dst`.
    typealias Kernel = @Sendable (_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ blocks: Int, _ f16: UnsafePointer<Float>) -> Void

    /// Block types this build can dequantize.
    public static let decodable: Set<DType> = [.q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q8_1, .q2_k, .q3_k, .q4_k, .q5_k, .q6_k, .q8_k]

    /// Block types this build can quantize (bit-identical to gguf-py).
    public static let encodable: Set<DType> = [.q8_0, .q4_0, .q4_1, .q5_0, .q5_1]

    /// Tensors with at least this many elements are split over the cores.
    public static let parallelThreshold = 1 << 18

    /// Dequantizes `count` elements of block type `dtype` from `src` into `dst`.
    /// `count` must be a whole number of blocks and `src` must hold at least their bytes.
    /// IQ*, TQ* and MXFP4 throw: WeightKit does not decode them.
    public static func dequantize(
        _ dtype: DType, _ src: UnsafeRawBufferPointer, into dst: UnsafeMutablePointer<Float>, count: Int,
        tensor: String
    ) throws {
        guard let kernel = kernel(for: dtype) else {
            throw TensorCoreError("tensor '\(tensor)': values of type \(dtype.rawValue) cannot be decoded (not supported)")
        }
        guard let need = dtype.byteCount(elements: count), need <= src.count else {
            throw TensorCoreError("tensor '\(tensor)': \(count) elements of \(dtype.rawValue) do not fit in \(src.count) bytes")
        }
        guard count > 0, let base = src.baseAddress else { return }
        run(kernel, src: base, dst: dst, blocks: count / dtype.blockSize, blockBytes: dtype.blockBytes, blockSize: dtype.blockSize)
    }

    static func kernel(for dtype: DType) -> Kernel? {
        switch dtype {
        case .q4_0: return q4_0
        case .q4_1: return q4_1
        case .q5_0: return q5_0
        case .q5_1: return q5_1
        case .q8_0: return q8_0
        case .q8_1: return q8_1
        case .q2_k: return q2_k
        case .q3_k: return q3_k
        case .q4_k: return q4_k
        case .q5_k: return q5_k
        case .q6_k: return q6_k
        case .q8_k: return q8_k
        default: return nil
        }
    }

    static let cores: Int = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))

    /// Runs `kernel` over all blocks, in parallel chunks for large tensors.
    static func run(
        _ kernel: Kernel, src: UnsafeRawPointer, dst: UnsafeMutablePointer<Float>, blocks: Int, blockBytes: Int, blockSize: Int
    ) {
        let table = UnsafePointer(Widen.f16Table)
        let elements = blocks * blockSize
        if cores == 1 || elements < parallelThreshold {
            kernel(src, dst, blocks, table)
            return
        }
        let chunks = min(blocks, cores * 4)
        // Addresses cross into the worker closure as integers (pointers are not Sendable);
        // each chunk writes a disjoint range of `dst`.
        let s = Int(bitPattern: src), o = Int(bitPattern: dst), t = Int(bitPattern: table)
        DispatchQueue.concurrentPerform(iterations: chunks) { i in
            let lo = blocks * i / chunks
            let hi = blocks * (i + 1) / chunks
            guard let src = UnsafeRawPointer(bitPattern: s), let dst = UnsafeMutablePointer<Float>(bitPattern: o),
                let table = UnsafePointer<Float>(bitPattern: t)
            else { return }
            kernel(src + lo * blockBytes, dst + lo * blockSize, hi - lo, table)
        }
    }

    @inline(__always) static func u16(_ p: UnsafeRawPointer, _ off: Int) -> Int {
        Int(UInt16(littleEndian: p.loadUnaligned(fromByteOffset: off, as: UInt16.self)))
    }

    // MARK: 32-element blocks

    /// Q4_0 (18 bytes): d:half, qs[16]. y[j] = d·(lo(qs[j]) − 8), y[j+16] = d·(hi(qs[j]) − 8).
    static func q4_0(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ blocks: Int, _ f16: UnsafePointer<Float>) {
        for b in 0..<blocks {
            let p = src + b * 18
            let d = f16[u16(p, 0)]
            let q = (p + 2).assumingMemoryBound(to: UInt8.self)
            let o = dst + b * 32
            for j in 0..<16 {
                let v = q[j]
                o[j] = d * Float(Int32(v & 0x0F) - 8)
                o[j + 16] = d * Float(Int32(v >> 4) - 8)
            }
        }
    }

    /// Q4_1 (20 bytes): d:half, m:half, qs[16]. y = d·q + m.
    static func q4_1(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ blocks: Int, _ f16: UnsafePointer<Float>) {
        for b in 0..<blocks {
            let p = src + b * 20
            let d = f16[u16(p, 0)]
            let m = f16[u16(p, 2)]
            let q = (p + 4).assumingMemoryBound(to: UInt8.self)
            let o = dst + b * 32
            for j in 0..<16 {
                let v = q[j]
                o[j] = d * Float(v & 0x0F) + m
                o[j + 16] = d * Float(v >> 4) + m
            }
        }
    }

    /// Q5_0 (22 bytes): d:half, qh:u32 (bit j is the fifth bit of element j), qs[16]. y = d·(q − 16).
    static func q5_0(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ blocks: Int, _ f16: UnsafePointer<Float>) {
        for b in 0..<blocks {
            let p = src + b * 22
            let d = f16[u16(p, 0)]
            let qh = UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 2, as: UInt32.self))
            let q = (p + 6).assumingMemoryBound(to: UInt8.self)
            let o = dst + b * 32
            for j in 0..<16 {
                let v = UInt32(q[j])
                let lo = (v & 0x0F) | (((qh >> UInt32(j)) & 1) << 4)
                let hi = (v >> 4) | (((qh >> UInt32(j + 16)) & 1) << 4)
                o[j] = d * Float(Int32(lo) - 16)
                o[j + 16] = d * Float(Int32(hi) - 16)
            }
        }
    }

    /// Q5_1 (24 bytes): d:half, m:half, qh:u32, qs[16]. y = d·q + m.
    static func q5_1(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ blocks: Int, _ f16: UnsafePointer<Float>) {
        for b in 0..<blocks {
            let p = src + b * 24
            let d = f16[u16(p, 0)]
            let m = f16[u16(p, 2)]
            let qh = UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
            let q = (p + 8).assumingMemoryBound(to: UInt8.self)
            let o = dst + b * 32
            for j in 0..<16 {
                let v = UInt32(q[j])
                let lo = (v & 0x0F) | (((qh >> UInt32(j)) & 1) << 4)
                let hi = (v >> 4) | (((qh >> UInt32(j + 16)) & 1) << 4)
                o[j] = d * Float(lo) + m
                o[j + 16] = d * Float(hi) + m
            }
        }
    }

    /// Q8_0 (34 bytes): d:half, qs[32] int8. y = q·d.
    static func q8_0(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ blocks: Int, _ f16: UnsafePointer<Float>) {
        for b in 0..<blocks {
            let p = src + b * 34
            let d = f16[u16(p, 0)]
            let q = (p + 2).assumingMemoryBound(to: Int8.self)
            let o = dst + b * 32
            for j in 0..<32 { o[j] = Float(q[j]) * d }
        }
    }

    /// Q8_1 (36 bytes): d:half, s:half, qs[32] int8. y = q·d (s is a cached sum, unused).
    static func q8_1(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ blocks: Int, _ f16: UnsafePointer<Float>) {
        for b in 0..<blocks {
            let p = src + b * 36
            let d = f16[u16(p, 0)]
            let q = (p + 4).assumingMemoryBound(to: Int8.self)
            let o = dst + b * 32
            for j in 0..<32 { o[j] = Float(q[j]) * d }
        }
    }

    // MARK: 256-element K-quant blocks

    /// Q2_K (84 bytes): scales[16] (low nibble scale, high nibble min), qs[64], d:half, dmin:half.
    /// Element e = 128h + 32s + l has q = (qs[32h+l] >> 2s) & 3 and group g = e/16:
    /// y = (d·(sc_g & 15))·q − (dmin·(sc_g >> 4)).
    static func q2_k(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ blocks: Int, _ f16: UnsafePointer<Float>) {
        for b in 0..<blocks {
            let p = src + b * 84
            let sc = p.assumingMemoryBound(to: UInt8.self)
            let qs = sc + 16
            let d = f16[u16(p, 80)]
            let dmin = f16[u16(p, 82)]
            let o = dst + b * 256
            for h in 0..<2 {
                for s in 0..<4 {
                    let q = qs + 32 * h
                    let shift = UInt8(2 * s)
                    let g = 8 * h + 2 * s
                    let dl0 = d * Float(sc[g] & 0x0F), ml0 = dmin * Float(sc[g] >> 4)
                    let dl1 = d * Float(sc[g + 1] & 0x0F), ml1 = dmin * Float(sc[g + 1] >> 4)
                    let out = o + 128 * h + 32 * s
                    for l in 0..<16 { out[l] = dl0 * Float((q[l] >> shift) & 3) - ml0 }
                    for l in 16..<32 { out[l] = dl1 * Float((q[l] >> shift) & 3) - ml1 }
                }
            }
        }
    }

    /// Q3_K (110 bytes): hmask[32], qs[64], scales[12] (16 × 6 bits), d:half.
    /// Element e = 128h + 32s + l: q = ((qs[32h+l] >> 2s) & 3) − (bit (4h+s) of hmask[l] ? 0 : 4);
    /// y = (d·(scale_{e/16} − 32))·q.
    static func q3_k(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ blocks: Int, _ f16: UnsafePointer<Float>) {
        let t = UnsafeMutablePointer<Float>.allocate(capacity: 16)
        defer { t.deallocate() }
        for b in 0..<blocks {
            let p = src + b * 110
            let hm = p.assumingMemoryBound(to: UInt8.self)
            let qs = hm + 32
            let sc = hm + 96
            let d = f16[u16(p, 108)]
            let o = dst + b * 256
            for i in 0..<16 {
                let low = i < 8 ? sc[i] & 0x0F : sc[i - 8] >> 4
                let high = (sc[8 + (i & 3)] >> UInt8(2 * (i >> 2))) & 3
                t[i] = d * Float(Int32(low | (high << 4)) - 32)
            }
            for h in 0..<2 {
                for s in 0..<4 {
                    let q = qs + 32 * h
                    let shift = UInt8(2 * s)
                    let bit = UInt8(4 * h + s)
                    let g = 8 * h + 2 * s
                    let out = o + 128 * h + 32 * s
                    let d0 = t[g], d1 = t[g + 1]
                    for l in 0..<16 {
                        let v = Int32((q[l] >> shift) & 3) - (((hm[l] >> bit) & 1) == 0 ? 4 : 0)
                        out[l] = d0 * Float(v)
                    }
                    for l in 16..<32 {
                        let v = Int32((q[l] >> shift) & 3) - (((hm[l] >> bit) & 1) == 0 ? 4 : 0)
                        out[l] = d1 * Float(v)
                    }
                }
            }
        }
    }

    /// The 6-bit scale and min of sub-block `k` (0..<8) of a Q4_K/Q5_K block's 12 scale bytes.
    @inline(__always) static func scaleMin(_ s: UnsafePointer<UInt8>, _ k: Int) -> (Float, Float) {
        if k < 4 { return (Float(s[k] & 63), Float(s[k + 4] & 63)) }
        return (Float((s[k + 4] & 0x0F) | ((s[k - 4] >> 6) << 4)), Float((s[k + 4] >> 4) | ((s[k] >> 6) << 4)))
    }

    /// Q4_K (144 bytes): d:half, dmin:half, scales[12], qs[128]. Chunk c (64 elements): low
    /// nibbles of qs[32c..<32c+32] with sub-block 2c, then high nibbles with 2c+1;
    /// y = (d·sc)·q − (dmin·m).
    static func q4_k(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ blocks: Int, _ f16: UnsafePointer<Float>) {
        for b in 0..<blocks {
            let p = src + b * 144
            let d = f16[u16(p, 0)]
            let dmin = f16[u16(p, 2)]
            let s = (p + 4).assumingMemoryBound(to: UInt8.self)
            let qs = s + 12
            let o = dst + b * 256
            for c in 0..<4 {
                let (sc0, m0) = scaleMin(s, 2 * c)
                let (sc1, m1) = scaleMin(s, 2 * c + 1)
                let d0 = d * sc0, n0 = dmin * m0
                let d1 = d * sc1, n1 = dmin * m1
                let q = qs + 32 * c
                let out = o + 64 * c
                for l in 0..<32 { out[l] = d0 * Float(q[l] & 0x0F) - n0 }
                for l in 0..<32 { out[32 + l] = d1 * Float(q[l] >> 4) - n1 }
            }
        }
    }

    /// Q5_K (176 bytes): d:half, dmin:half, scales[12], qh[32], qs[128]. As Q4_K, plus 16
    /// when bit 2c (low nibbles) or 2c+1 (high nibbles) of qh[l] is set.
    static func q5_k(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ blocks: Int, _ f16: UnsafePointer<Float>) {
        for b in 0..<blocks {
            let p = src + b * 176
            let d = f16[u16(p, 0)]
            let dmin = f16[u16(p, 2)]
            let s = (p + 4).assumingMemoryBound(to: UInt8.self)
            let qh = s + 12
            let qs = qh + 32
            let o = dst + b * 256
            for c in 0..<4 {
                let (sc0, m0) = scaleMin(s, 2 * c)
                let (sc1, m1) = scaleMin(s, 2 * c + 1)
                let d0 = d * sc0, n0 = dmin * m0
                let d1 = d * sc1, n1 = dmin * m1
                let q = qs + 32 * c
                let out = o + 64 * c
                let b0 = UInt8(2 * c), b1 = UInt8(2 * c + 1)
                for l in 0..<32 { out[l] = d0 * Float((q[l] & 0x0F) | (((qh[l] >> b0) & 1) << 4)) - n0 }
                for l in 0..<32 { out[32 + l] = d1 * Float((q[l] >> 4) | (((qh[l] >> b1) & 1) << 4)) - n1 }
            }
        }
    }

    /// Q6_K (210 bytes): ql[128], qh[64], scales[16] int8, d:half. Half h (128 elements),
    /// r = 0..<128: low 4 bits from ql[64h + r%64] (low nibble for r < 64, high otherwise),
    /// high 2 bits from qh[32h + r%32] >> 2(r/32); y = (d·sc_{e/16})·(q − 32).
    static func q6_k(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ blocks: Int, _ f16: UnsafePointer<Float>) {
        for b in 0..<blocks {
            let p = src + b * 210
            let ql = p.assumingMemoryBound(to: UInt8.self)
            let qh = ql + 128
            let sc = (p + 192).assumingMemoryBound(to: Int8.self)
            let d = f16[u16(p, 208)]
            let o = dst + b * 256
            for h in 0..<2 {
                let l4 = ql + 64 * h
                let h2 = qh + 32 * h
                for k in 0..<4 {
                    // 32 outputs r = 32k ..< 32k+32
                    let lo = l4 + 32 * (k & 1)
                    let nib = UInt8(4 * (k >> 1))
                    let shift = UInt8(2 * k)
                    let g = 8 * h + 2 * k
                    let d0 = d * Float(sc[g]), d1 = d * Float(sc[g + 1])
                    let out = o + 128 * h + 32 * k
                    for l in 0..<16 {
                        let q = ((lo[l] >> nib) & 0x0F) | (((h2[l] >> shift) & 3) << 4)
                        out[l] = d0 * Float(Int32(q) - 32)
                    }
                    for l in 16..<32 {
                        let q = ((lo[l] >> nib) & 0x0F) | (((h2[l] >> shift) & 3) << 4)
                        out[l] = d1 * Float(Int32(q) - 32)
                    }
                }
            }
        }
    }

    /// Q8_K (292 bytes): d:f32, qs[256] int8, bsums[16] int16 (unused). y = d·q.
    static func q8_k(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ blocks: Int, _ f16: UnsafePointer<Float>) {
        for b in 0..<blocks {
            let p = src + b * 292
            let d = Float(bitPattern: UInt32(littleEndian: p.loadUnaligned(as: UInt32.self)))
            let q = (p + 4).assumingMemoryBound(to: Int8.self)
            let o = dst + b * 256
            for j in 0..<256 { o[j] = d * Float(q[j]) }
        }
    }
}

// MARK: Quantization (gguf-py's numpy reference quantizers, bit for bit)

extension GGMLQuants {
    /// Quantizes `src` (a whole number of 32-element blocks) to `dtype`, one of `encodable`
    /// (Q8_0, Q4_0, Q4_1, Q5_0, Q5_1), giving the same bytes as gguf-py's
    /// `gguf.quants.quantize(src, type)`. Float32 arithmetic in gguf-py's order with no
    /// fused multiply-add; numpy's float → int casts are reproduced as x86 does them
    /// (a NaN or out-of-range value becomes 0x80000000 and keeps its low byte), so NaN
    /// and infinite inputs give gguf-py's bytes too.
    public static func quantize(_ dtype: DType, _ src: UnsafeBufferPointer<Float>) throws -> [UInt8] {
        guard encodable.contains(dtype) else {
            throw TensorCoreError("cannot quantize to \(dtype.rawValue): WeightKit quantizes only to q8_0, q4_0, q4_1, q5_0 and q5_1")
        }
        guard src.count % 32 == 0 else {
            throw TensorCoreError("cannot quantize \(src.count) values to \(dtype.rawValue): not a multiple of the block size 32")
        }
        let blocks = src.count / 32
        let bytes = blocks * dtype.blockBytes
        guard blocks > 0, let base = src.baseAddress else { return [] }
        return [UInt8](unsafeUninitializedCapacity: bytes) { out, initialized in
            let o = out.baseAddress!
            for b in 0..<blocks {
                let x = base + 32 * b
                let p = o + b * dtype.blockBytes
                switch dtype {
                case .q8_0: quantizeQ8_0(x, p)
                case .q4_0: quantizeQ4_0(x, p)
                case .q4_1: quantizeQ4_1(x, p)
                case .q5_0: quantizeQ5_0(x, p)
                default: quantizeQ5_1(x, p)
                }
            }
            initialized = bytes
        }
    }

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
}
