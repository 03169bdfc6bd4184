// The byte-level transforms convert applies to one tensor: a 2-D transpose and a row
// permutation on raw elements of any plain dtype (exact: bytes are moved, never converted),
// float32 widening, and narrowing/quantization spread over the cores. Each output is a fresh
// heap region the size of the tensor; nothing else is allocated per tensor.

import Dispatch
import TensorCore

enum ConvertKernels {
    /// Work items smaller than this run on the calling thread.
    static let parallelThreshold = 1 << 16

    /// Runs `body(i)` for i in 0..<count, on all cores when `work` (bytes or elements) is large.
    static func parallel(_ count: Int, work: Int, _ body: (Int) -> Void) {
        if count <= 1 || work < parallelThreshold {
            for i in 0..<count { body(i) }
        } else {
            // The callers split disjoint output ranges between iterations.
            withoutActuallyEscaping(body) { b in
                nonisolated(unsafe) let run = b
                DispatchQueue.concurrentPerform(iterations: count) { run($0) }
            }
        }
    }

    /// `dst[c, r] = src[r, c]` for a row-major `[rows, cols]` matrix of `size`-byte elements.
    static func transpose(_ src: UnsafeRawPointer, _ dst: UnsafeMutableRawPointer, rows: Int, cols: Int, size: Int) {
        let tile = 64
        let strips = (cols + tile - 1) / tile  // strips of destination rows (= source columns)
        parallel(strips, work: rows * cols * size) { s in
            let c0 = s * tile
            let c1 = min(cols, c0 + tile)
            var r0 = 0
            while r0 < rows {
                let r1 = min(rows, r0 + tile)
                switch size {
                case 4:
                    let sp = src.assumingMemoryBound(to: UInt32.self)
                    let dp = dst.assumingMemoryBound(to: UInt32.self)
                    for c in c0..<c1 { for r in r0..<r1 { dp[c * rows + r] = sp[r * cols + c] } }
                case 2:
                    let sp = src.assumingMemoryBound(to: UInt16.self)
                    let dp = dst.assumingMemoryBound(to: UInt16.self)
                    for c in c0..<c1 { for r in r0..<r1 { dp[c * rows + r] = sp[r * cols + c] } }
                default:
                    for c in c0..<c1 {
                        for r in r0..<r1 { (dst + (c * rows + r) * size).copyMemory(from: src + (r * cols + c) * size, byteCount: size) }
                    }
                }
                r0 = r1
            }
        }
    }

    /// Destination row i is source row `map[i]`, rows of `rowBytes` bytes.
    static func permuteRows(_ src: UnsafeRawPointer, _ dst: UnsafeMutableRawPointer, map: [Int], rowBytes: Int) {
        for (i, s) in map.enumerated() { (dst + i * rowBytes).copyMemory(from: src + s * rowBytes, byteCount: rowBytes) }
    }

    /// Widens (or dequantizes) `count` elements to float32 into `dst`, in parallel chunks.
    static func widen(_ dtype: DType, _ src: UnsafeRawBufferPointer, into dst: UnsafeMutablePointer<Float>, count: Int, tensor: String) throws {
        if dtype == .f32 || dtype.isQuantized || count < parallelThreshold {
            try Widen.toFloat32(dtype, src, into: dst, count: count, tensor: tensor)
            return
        }
        let chunk = 1 << 16
        let n = (count + chunk - 1) / chunk
        let base = src.baseAddress!
        nonisolated(unsafe) var failure: Error?
        let dstAddress = UInt(bitPattern: dst)
        parallel(n, work: count) { i in
            let lo = i * chunk
            let m = min(chunk, count - lo)
            let d = UnsafeMutablePointer<Float>(bitPattern: dstAddress)! + lo
            let s = UnsafeRawBufferPointer(start: base + lo * dtype.blockBytes, count: m * dtype.blockBytes)
            do { try Widen.toFloat32(dtype, s, into: d, count: m, tensor: tensor) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// float32 → `dtype` (f32, f16, bf16, or a block type WeightKit encodes), in parallel chunks of
    /// whole rows (`rowLength` values, default one row of everything; a whole number of blocks);
    /// bit-identical to numpy's `astype`, gguf-py (32-element types) and llama.cpp (K-quants).
    /// `importance` (one weight per column) goes to the types that take it.
    static func narrow(_ src: UnsafeBufferPointer<Float>, to dtype: DType, rowLength: Int? = nil, importance: [Float]? = nil,
                       tensor: String) throws -> TensorData {
        let count = src.count
        guard let bytes = dtype.byteCount(elements: count) else {
            throw WeightKitError("tensor '\(tensor)': \(count) elements are not whole \(dtype.rawValue) blocks")
        }
        guard count > 0, let s = src.baseAddress else { return TensorData(bytes: []) }
        let srcAddress = UInt(bitPattern: s)
        guard let codec = dtype.codec else {
            switch dtype {
            case .f32:
                return TensorData(region: ByteRegion(copying: UnsafeRawBufferPointer(src)), offset: 0, count: bytes)!
            case .f16, .bf16:
                let region = ByteRegion(count: bytes) { out in
                    let o = UInt(bitPattern: out.baseAddress!)
                    let chunk = 1 << 16
                    parallel((count + chunk - 1) / chunk, work: count) { i in
                        let lo = i * chunk
                        let m = min(chunk, count - lo)
                        let sp = UnsafeBufferPointer(start: UnsafePointer<Float>(bitPattern: srcAddress)! + lo, count: m)
                        let dp = UnsafeMutablePointer<UInt16>(bitPattern: o)! + lo
                        if dtype == .f16 { Narrow.toF16Branchless(sp.baseAddress!, dp, count: m) } else { Narrow.toBF16(sp, into: dp) }
                    }
                }
                return TensorData(region: region, offset: 0, count: bytes)!
            default:
                throw WeightKitError("tensor '\(tensor)': cannot convert float32 to \(dtype.rawValue)")
            }
        }
        let rowLength = rowLength ?? count
        guard rowLength > 0, count % rowLength == 0, rowLength % codec.blockSize == 0 else {
            throw WeightKitError("tensor '\(tensor)': rows of \(rowLength) values are not whole \(dtype.rawValue) blocks of \(codec.blockSize)")
        }
        let rows = count / rowLength
        // Work items of whole rows, or of whole blocks of one row when rows are long and few.
        let blocksPerRow = rowLength / codec.blockSize
        let perItem = max(1, (1 << 16) / codec.blockSize)  // blocks per work item
        let split = importance == nil && blocksPerRow > perItem
        let itemsPerRow = split ? (blocksPerRow + perItem - 1) / perItem : 1
        let rowsPerItem = split ? 1 : max(1, perItem / blocksPerRow)
        let items = split ? rows * itemsPerRow : (rows + rowsPerItem - 1) / rowsPerItem
        nonisolated(unsafe) var failure: Error?
        let region = ByteRegion(count: bytes) { out in
            let o = UInt(bitPattern: out.baseAddress!)
            parallel(items, work: count * (codec.blockSize == 32 ? 1 : 16)) { i in
                let (r0, b0, nb): (Int, Int, Int)
                if split {
                    r0 = i / itemsPerRow
                    b0 = (i % itemsPerRow) * perItem
                    nb = min(perItem, blocksPerRow - b0)
                } else {
                    r0 = i * rowsPerItem
                    b0 = 0
                    nb = (min(rows, r0 + rowsPerItem) - r0) * blocksPerRow
                }
                let first = r0 * rowLength + b0 * codec.blockSize
                let sp = UnsafeBufferPointer(start: UnsafePointer<Float>(bitPattern: srcAddress)! + first, count: nb * codec.blockSize)
                let dp = UnsafeMutableRawPointer(bitPattern: o)! + (first / codec.blockSize) * codec.blockBytes
                do {
                    if let importance {
                        try importance.withUnsafeBufferPointer { w in
                            try GGMLQuants.quantize(codec, sp, into: dp, rowLength: rowLength, importance: w, tensor: tensor, firstRow: r0)
                        }
                    } else {
                        try GGMLQuants.quantize(codec, sp, into: dp, rowLength: split ? sp.count : rowLength, importance: nil, tensor: tensor,
                                                firstRow: r0, firstColumn: b0 * codec.blockSize)
                    }
                } catch { failure = error }
            }
        }
        if let failure { throw failure }
        return TensorData(region: region, offset: 0, count: bytes)!
    }
}
