// Weights as float32 pointers: the mapped file bytes themselves when a tensor is f32 and
// aligned, otherwise widened (or dequantized) once, on first use, into memory the store owns.

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
    private var views = [String: View]()
    /// Widened copies, freed once each (tied weights share a view).
    private var owned = [UnsafeMutablePointer<Float>]()

    init(weights: [String: BoundWeight]) { self.weights = weights }

    deinit {
        for p in owned { p.deallocate() }
    }

    /// The weight named `name` as float32 elements in its stored order.
    func pointer(_ name: String) throws -> UnsafePointer<Float> {
        if let v = views[name] { return v.pointer }
        guard let w = weights[name] else { throw ExecutorError("weight '\(name)' is not bound") }
        // Tied weights share a source: reuse its view.
        if let shared = views.first(where: { weights[$0.key]?.source.name == w.source.name && $0.value.count == w.source.elementCount }) {
            views[name] = shared.value
            return shared.value.pointer
        }
        let data = try w.source.bytes()
        let n = w.source.elementCount
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

    /// Widens every weight now (so a benchmark times only the forward pass).
    func preload() throws {
        for name in weights.keys { _ = try pointer(name) }
    }
}
