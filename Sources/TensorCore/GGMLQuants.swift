// ggml block quantization (Formats/gguf.md §2, Dequantization and Quantization): the entry points (`dequantize`, `quantize`)
// and the dequantizers. Which type has which kernels is one table, `QuantCodec`.
//
// Dequantizers for Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 Q8_1 Q2_K Q3_K Q4_K Q5_K Q6_K Q8_K give the same
// float32 bits as gguf-py's `gguf.quants.dequantize` (numpy float32 arithmetic, no fused
// multiply-add): each formula below keeps gguf-py's order of operations, e.g. Q4_K is
// `(d·sc)·q − (dmin·m)` with both products rounded to float32 first. Encoders: Q8_0 Q4_0 Q4_1
// Q5_0 Q5_1 as gguf-py (GGMLQuants+Legacy.swift), the K-quants as llama.cpp's C reference
// (GGMLQuants+KQuants.swift).
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
    /// A decoder dequantizes `blocks` whole blocks starting at `src` into `dst`.
    typealias Decoder = @Sendable (_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ blocks: Int, _ f16: UnsafePointer<Float>) -> Void

    /// An encoder quantizes `blocks` whole blocks of float32 at `src` into `dst`; `weights`, when
    /// given, are importance weights alongside the values (one per element).
    typealias Encoder = @Sendable (_ src: UnsafePointer<Float>, _ dst: UnsafeMutableRawPointer, _ blocks: Int, _ weights: UnsafePointer<Float>?) -> Void

    /// Block types this build can dequantize (from `QuantCodec`).
    public static var decodable: Set<DType> { Set(DType.allCases.filter { $0.codec?.canDecode == true }) }

    /// Block types this build can quantize (from `QuantCodec`).
    public static var encodable: Set<DType> { Set(DType.allCases.filter { $0.codec?.canEncode == true }) }

    /// Tensors with at least this many elements are split over the cores.
    public static let parallelThreshold = 1 << 18

    /// Dequantizes `count` elements of block type `dtype` from `src` into `dst`.
    /// `count` must be a whole number of blocks and `src` must hold at least their bytes.
    /// IQ*, TQ* and MXFP4 throw: WeightKit does not decode them.
    public static func dequantize(
        _ dtype: DType, _ src: UnsafeRawBufferPointer, into dst: UnsafeMutablePointer<Float>, count: Int,
        tensor: String
    ) throws {
        guard let codec = dtype.codec, let decode = codec.decoder else {
            throw TensorCoreError("tensor '\(tensor)': values of type \(dtype.rawValue) cannot be decoded (not supported)")
        }
        guard let need = dtype.byteCount(elements: count), need <= src.count else {
            throw TensorCoreError("tensor '\(tensor)': \(count) elements of \(dtype.rawValue) do not fit in \(src.count) bytes")
        }
        guard count > 0, let base = src.baseAddress else { return }
        run(decode, src: base, dst: dst, blocks: count / codec.blockSize, blockBytes: codec.blockBytes, blockSize: codec.blockSize)
    }

    /// Quantizes `src` to `dtype`, returning the blocks. `rowLength` (default: all of `src`) is
    /// the length of one row, a whole number of blocks; `importance` holds one weight per column
    /// of a row (an importance matrix's entry for this tensor), for types that take one.
    /// Q8_0 Q4_0 Q4_1 Q5_0 Q5_1 give gguf-py's bytes (NaN and infinity included); the K-quants give
    /// llama.cpp's and refuse NaN and infinity, naming the row.
    public static func quantize(
        _ dtype: DType, _ src: UnsafeBufferPointer<Float>, rowLength: Int? = nil, importance: UnsafeBufferPointer<Float>? = nil,
        tensor: String = "values"
    ) throws -> [UInt8] {
        guard let codec = dtype.codec, codec.canEncode else { throw cannotEncode(dtype, tensor) }
        guard src.count % codec.blockSize == 0 else {
            throw TensorCoreError("tensor '\(tensor)': cannot quantize \(src.count) values to \(dtype.rawValue): not a multiple of the block size \(codec.blockSize)")
        }
        let bytes = src.count / codec.blockSize * codec.blockBytes
        guard bytes > 0 else { return [] }
        return try [UInt8](unsafeUninitializedCapacity: bytes) { out, initialized in
            try quantize(codec, src, into: UnsafeMutableRawPointer(out.baseAddress!), rowLength: rowLength ?? src.count, importance: importance,
                         tensor: tensor)
            initialized = bytes
        }
    }

    static func cannotEncode(_ dtype: DType, _ tensor: String) -> TensorCoreError {
        let names = DType.allCases.filter { $0.codec?.canEncode == true }.map(\.rawValue).joined(separator: ", ")
        return TensorCoreError("tensor '\(tensor)': cannot quantize to \(dtype.rawValue): WeightKit quantizes to \(names)")
    }

    /// Quantizes whole rows of `src` (serially) into `dst`, which holds their blocks. `firstRow`
    /// and `firstColumn` place `src` in its tensor for messages when it is a slice of one.
    public static func quantize(
        _ codec: QuantCodec, _ src: UnsafeBufferPointer<Float>, into dst: UnsafeMutableRawPointer, rowLength: Int,
        importance: UnsafeBufferPointer<Float>?, tensor: String, firstRow: Int = 0, firstColumn: Int = 0
    ) throws {
        let dtype = codec.dtype
        guard codec.canEncode else { throw cannotEncode(dtype, tensor) }
        guard rowLength > 0, rowLength % codec.blockSize == 0, src.count % rowLength == 0 else {
            throw TensorCoreError("tensor '\(tensor)': rows of \(rowLength) values are not whole \(dtype.rawValue) blocks of \(codec.blockSize)")
        }
        if let importance {
            guard codec.takesImportance else {
                throw TensorCoreError("tensor '\(tensor)': \(dtype.rawValue) takes no importance weights (only \(DType.allCases.filter { $0.codec?.takesImportance == true }.map(\.rawValue).joined(separator: ", ")) do)")
            }
            guard importance.count == rowLength else {
                throw TensorCoreError("tensor '\(tensor)': \(importance.count) importance weights for rows of \(rowLength) values")
            }
        }
        guard let base = src.baseAddress else { return }
        let rows = src.count / rowLength
        let blocksPerRow = rowLength / codec.blockSize
        if !codec.encodesNonFinite {
            for r in 0..<rows {
                let x = base + r * rowLength
                var bad = -1
                for i in 0..<rowLength where !x[i].isFinite { bad = i; break }
                if bad >= 0 {
                    throw TensorCoreError("tensor '\(tensor)': row \(firstRow + r) holds \(x[bad]) at column \(firstColumn + bad); \(dtype.rawValue) cannot encode NaN or infinity")
                }
            }
        }
        if let importance, let w = importance.baseAddress {
            for r in 0..<rows { codec.encode(base + r * rowLength, into: dst + r * blocksPerRow * codec.blockBytes, blocks: blocksPerRow, weights: w) }
        } else {
            codec.encode(base, into: dst, blocks: rows * blocksPerRow)
        }
    }

    static let cores: Int = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))

    /// Runs `kernel` over all blocks, in parallel chunks for large tensors.
    static func run(
        _ kernel: Decoder, src: UnsafeRawPointer, dst: UnsafeMutablePointer<Float>, blocks: Int, blockBytes: Int, blockSize: Int
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
