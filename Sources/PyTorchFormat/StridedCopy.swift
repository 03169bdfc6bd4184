// Materialising a view: elements gathered from a storage by strides into a fresh row-major
// buffer, optionally byte-swapped (big-endian files). The bounds were checked when the tensor was
// rebuilt: every index reached lies inside the storage.

enum StridedCopy {
    /// Copies the view (`shape`, `strides` in elements) starting at `src` into `dst`, row-major.
    static func gather(
        _ src: UnsafeRawPointer, into dst: UnsafeMutableRawPointer, elementSize es: Int, shape: [Int], strides: [Int]
    ) {
        // Drop size-1 dimensions; they never move the index.
        var dims = [(n: Int, stride: Int)]()
        for (n, s) in zip(shape, strides) where n != 1 { dims.append((n, s)) }
        if dims.contains(where: { $0.n == 0 }) { return }
        guard let inner = dims.last else {
            dst.copyMemory(from: src, byteCount: es)
            return
        }
        let outer = dims.dropLast()
        var index = [Int](repeating: 0, count: outer.count)
        var out = dst
        var rows = 1
        for d in outer { rows *= d.n }
        for _ in 0..<rows {
            var off = 0
            for (i, d) in outer.enumerated() { off += index[i] * d.stride }
            let row = src + off * es
            if inner.stride == 1 {
                out.copyMemory(from: row, byteCount: inner.n * es)
            } else {
                let step = inner.stride * es
                switch es {
                case 1: for j in 0..<inner.n { out.storeBytes(of: row.load(fromByteOffset: j * step, as: UInt8.self), toByteOffset: j, as: UInt8.self) }
                case 2: for j in 0..<inner.n { out.storeBytes(of: row.loadUnaligned(fromByteOffset: j * step, as: UInt16.self), toByteOffset: 2 * j, as: UInt16.self) }
                case 4: for j in 0..<inner.n { out.storeBytes(of: row.loadUnaligned(fromByteOffset: j * step, as: UInt32.self), toByteOffset: 4 * j, as: UInt32.self) }
                default:
                    for j in 0..<inner.n { (out + es * j).copyMemory(from: row + j * step, byteCount: es) }
                }
            }
            out += inner.n * es
            // Advance the outer index, last dimension fastest.
            var k = outer.count - 1
            while k >= 0 {
                index[k] += 1
                if index[k] < outer[outer.startIndex + k].n { break }
                index[k] = 0
                k -= 1
            }
        }
    }

    /// Reverses the bytes of each `elementSize`-byte element in place.
    static func swapBytes(_ p: UnsafeMutableRawPointer, count: Int, elementSize es: Int) {
        guard es > 1 else { return }
        let b = p.assumingMemoryBound(to: UInt8.self)
        var i = 0
        while i + es <= count {
            var lo = i, hi = i + es - 1
            while lo < hi {
                let t = b[lo]
                b[lo] = b[hi]
                b[hi] = t
                lo += 1
                hi -= 1
            }
            i += es
        }
    }
}
