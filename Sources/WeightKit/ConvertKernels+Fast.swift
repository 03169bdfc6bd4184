// Convert's fused transpose: a tiled transpose that writes float32, narrows to float16
// (`Narrow.halfBranchless`) or quantizes each tile column as one block of the destination row
// (`QuantCodec.encode`) in the same pass. Tested against a plain transpose followed by the reference.

import TensorCore

extension ConvertKernels {
    /// `dst[c, r] = src[r, c]` for a row-major float32 `[rows, cols]` (read unaligned), written as
    /// float32 bits (`half` false) or narrowed to float16 (`half` true), in 32×32 tiles. Each task
    /// takes a block of 32 source rows and walks it left to right, so the source is read as 32
    /// sequential streams (prefetch-friendly) and each destination row gets 32 contiguous elements.
    static func transposeF32(_ raw: UnsafeRawPointer, _ dst: UnsafeMutableRawPointer, rows: Int, cols: Int, half: Bool) {
        try! transposeTiles(raw, dst, rows: rows, cols: cols, output: half ? .f16 : .f32, tensor: "")
    }

    /// The transpose of a float32 `[rows, cols]` quantized to `codec` in the same pass: with rows a
    /// multiple of the block size, each tile column (one block tall) is exactly one block of a
    /// destination row. Types that refuse NaN and infinity throw naming the destination row.
    static func transposeQuantized(_ raw: UnsafeRawPointer, _ dst: UnsafeMutableRawPointer, rows: Int, cols: Int, codec: QuantCodec,
                                   tensor: String) throws {
        precondition(rows % codec.blockSize == 0, "\(codec.dtype.rawValue) rows must be whole blocks")
        try transposeTiles(raw, dst, rows: rows, cols: cols, output: codec.dtype, tensor: tensor)
    }

    static func transposeTiles(_ raw: UnsafeRawPointer, _ dst: UnsafeMutableRawPointer, rows: Int, cols: Int, output: DType,
                               tensor: String) throws {
        let half = output == .f16
        let codec = output.codec
        nonisolated(unsafe) var failure: Error?
        let tile = codec?.blockSize ?? 32  // source rows per task: one block of each destination row
        let width = 32  // source columns per tile
        let s = UInt(bitPattern: raw), d = UInt(bitPattern: dst)
        let blocks = (rows + tile - 1) / tile
        parallel(blocks, work: rows * cols * 4) { block in
            let src = UnsafeRawPointer(bitPattern: s)!
            let r0 = block * tile
            let r1 = min(rows, r0 + tile)
            let h = r1 - r0
            let b = UnsafeMutablePointer<UInt32>.allocate(capacity: tile * width)
            defer { b.deallocate() }
            var c0 = 0
            while c0 < cols {
                let c1 = min(cols, c0 + width)
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
                if let codec {
                    let o = UnsafeMutableRawPointer(bitPattern: d)!
                    let blocksPerRow = rows / tile
                    for c in c0..<c1 {
                        let col = UnsafeRawPointer(b + (c - c0) * tile).assumingMemoryBound(to: Float.self)
                        if !codec.encodesNonFinite, let k = (0..<tile).first(where: { !col[$0].isFinite }) {
                            failure = WeightKitError("tensor '\(tensor)': row \(c) holds \(col[k]) at column \(r0 + k); \(output.rawValue) cannot encode NaN or infinity")
                            continue
                        }
                        codec.encode(col, into: o + codec.blockBytes * (c * blocksPerRow + r0 / tile), blocks: 1)
                    }
                } else if half {
                    let o = UnsafeMutablePointer<UInt16>(bitPattern: d)!
                    for c in c0..<c1 {
                        let out = o + c * rows + r0
                        let col = b + (c - c0) * tile
                        for k in 0..<h { out[k] = Narrow.halfBranchless(Float(bitPattern: col[k])) }
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
}
