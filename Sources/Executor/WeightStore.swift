// Weights as float32 pointers: the mapped file bytes themselves when a tensor is f32 and
// aligned, otherwise widened (or dequantized) once, on first use, into memory the store owns.
// A weight whose ExecutionForms row map is not left to RoPE is widened and its rows gathered by
// Canonicalization.apply; a transpose is never copied (BLAS reads the stored matrix).
// Matrices in a dtype the stored kernels read (f16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1, the K-quants; laid out
// [out, in], and f16/bf16 also [in, out]) are not widened: `stored` hands out their mapped bytes
// (StoredKernels.swift, StoredKernels+Columns.swift).

internal import CKernels
import Models
import TensorCore

/// Float32 views of a graph's weights.
final class WeightStore {
    private struct View {
        let pointer: UnsafePointer<Float>
        let count: Int
        /// Keeps mapped bytes alive.
        let data: TensorData?
    }

    private let weights: [String: BoundWeight]
    private let forms: ExecutionForms
    private var views = [String: View]()
    /// Widened copies, freed once each (tied weights share a view).
    private var owned = [UnsafeMutablePointer<Float>]()
    /// Stored matrices by source tensor name (tied weights share one).
    private var storedViews = [String: StoredMatrix]()

    init(weights: [String: BoundWeight], forms: ExecutionForms) {
        self.weights = weights
        self.forms = forms
    }

    deinit {
        for p in owned { p.deallocate() }
    }

    /// The weight named `name` as float32 elements in its stored order.
    func pointer(_ name: String) throws -> UnsafePointer<Float> {
        if let v = views[name] { return v.pointer }
        guard let w = weights[name] else { throw ExecutorError("weight '\(name)' is not bound") }
        let rowMap = forms.rowMaps[name]
        // Tied weights share a source: reuse its view (when neither gathers rows).
        if rowMap == nil, let shared = views.first(where: {
            weights[$0.key]?.source.name == w.source.name && $0.value.count == w.source.elementCount && forms.rowMaps[$0.key] == nil
        }) {
            views[name] = shared.value
            return shared.value.pointer
        }
        let data = try w.source.bytes()
        let n = w.source.elementCount
        if let rowMap {
            var stored = [Float](repeating: 0, count: n)
            try data.withUnsafeBytes { raw in
                try stored.withUnsafeMutableBufferPointer {
                    try Widen.toFloat32(w.source.dtype, raw, into: $0.baseAddress!, count: n, tensor: w.source.name)
                }
            }
            let rows = Canonicalization.apply(TransformSteps(transpose: false, rowMap: rowMap), to: stored, storedShape: w.source.shape)
            let copy = UnsafeMutablePointer<Float>.allocate(capacity: max(n, 1))
            copy.initialize(from: rows, count: n)
            owned.append(copy)
            views[name] = View(pointer: UnsafePointer(copy), count: n, data: nil)
            return UnsafePointer(copy)
        }
        if w.source.dtype == .f32 {
            let aligned: UnsafePointer<Float>? = data.withUnsafeBytes { raw in
                guard let base = raw.baseAddress, Int(bitPattern: base) % 4 == 0 else { return nil }
                return base.assumingMemoryBound(to: Float.self)
            }
            if let aligned {
                views[name] = View(pointer: aligned, count: n, data: data)
                return aligned
            }
        }
        let copy = UnsafeMutablePointer<Float>.allocate(capacity: max(n, 1))
        do {
            try data.withUnsafeBytes { try Widen.toFloat32(w.source.dtype, $0, into: copy, count: n, tensor: w.source.name) }
        } catch {
            copy.deallocate()
            throw error
        }
        owned.append(copy)
        views[name] = View(pointer: UnsafePointer(copy), count: n, data: nil)
        return UnsafePointer(copy)
    }

    /// The weight as a stored matrix the kernels read without widening (`[out, in]`, or `[in, out]` for
    /// f16/bf16), or nil when it is f32, another dtype, a quantized `[in, out]` one, or WEIGHTKIT_WIDEN=1.
    func stored(_ name: String) throws -> StoredMatrix? {
        guard let w = weights[name], Self.keptAsStored(w, name: name, forms), let code = StoredMatrix.code(w.source.dtype) else { return nil }
        let rows = w.source.shape[0], cols = w.source.shape[1]
        if let s = storedViews[w.source.name] { return s }
        let data = try w.source.bytes()
        let base: UnsafeRawPointer? = data.withUnsafeBytes { $0.baseAddress }
        guard let base, data.count >= rows * Int(wk_stored_row_bytes(code, cols)) else { return nil }
        let m = StoredMatrix(type: code, base: base, rows: rows, cols: cols, data: data, transposed: forms.blasTransposed.contains(name))
        storedViews[w.source.name] = m
        return m
    }

    /// Whether `w` is read by the stored kernels rather than widened: a dtype they read, `[out, in]` as
    /// stored (or `[in, out]` — a transpose in its steps to canonical form — for f16/bf16), no rows to
    /// gather, whole blocks per row, and WEIGHTKIT_WIDEN unset.
    static func keptAsStored(_ w: BoundWeight, name: String, _ forms: ExecutionForms) -> Bool {
        guard !StoredMatrix.widenAll, forms.rowMaps[name] == nil, w.source.shape.count == 2, StoredMatrix.code(w.source.dtype) != nil
        else { return false }
        if forms.blasTransposed.contains(name) { return w.source.dtype == .f16 || w.source.dtype == .bf16 }
        return !w.source.dtype.isQuantized || w.source.shape[1] % w.source.dtype.blockSize == 0
    }

    /// Widens every weight the stored kernels do not read (so a benchmark times only the forward pass).
    func preload() throws {
        for name in weights.keys where try stored(name) == nil { _ = try pointer(name) }
    }

    /// Bytes the store owns (widened copies), for memory reports.
    var ownedBytes: Int { views.values.filter { $0.data == nil }.reduce(0) { $0 + $1.count * 4 } }
}
