// The largest singular value of a small dense matrix, by power iteration on AᵀA in double precision.
//
// Algorithm: v₀ = 1/√n (strictly positive); each step w = Aᵀ(A v), λ = vᵀw (the Rayleigh quotient, a
// lower bound on σ_max²), r = ‖w − λv‖; stop when r ≤ tolerance·λ, else v = w/‖w‖. For a symmetric
// matrix a residual r puts an eigenvalue within r of λ (and within r²/gap for a separated one), so
// at the stop σ = √λ is within tolerance/2 (relative) of a singular value. For an attention matrix
// (A ≥ 0 entrywise) AᵀA ≥ 0 has a nonnegative top eigenvector (Perron–Frobenius), which a strictly
// positive start vector cannot be orthogonal to, so the iteration converges to σ_max itself.

/// Spectral norms (largest singular values).
public enum SpectralNorm {
    /// Stopping rule: ‖AᵀAv − λv‖ ≤ tolerance·λ.
    public static let relativeTolerance = 1e-10
    /// Iteration cap; reached only for near-degenerate spectra, when the returned √λ is still a lower bound.
    public static let maxIterations = 20_000

    /// σ_max of `a`, row-major `[rows, cols]`.
    public static func largestSingularValue(_ a: UnsafeBufferPointer<Float>, rows: Int, cols: Int) -> Double {
        precondition(a.count >= rows * cols, "matrix has \(a.count) elements, needs \(rows)×\(cols)")
        guard rows > 0, cols > 0 else { return 0 }
        let m = a.prefix(rows * cols).map(Double.init)
        var v = [Double](repeating: 1 / Double(cols).squareRoot(), count: cols)
        var u = [Double](repeating: 0, count: rows)
        var w = [Double](repeating: 0, count: cols)
        var lambda = 0.0
        for _ in 0..<maxIterations {
            // u = A v
            for i in 0..<rows {
                var s = 0.0
                let base = i * cols
                for j in 0..<cols { s += m[base + j] * v[j] }
                u[i] = s
            }
            // w = Aᵀ u
            for j in 0..<cols { w[j] = 0 }
            for i in 0..<rows {
                let ui = u[i]
                if ui == 0 { continue }
                let base = i * cols
                for j in 0..<cols { w[j] += m[base + j] * ui }
            }
            lambda = zip(v, w).reduce(0) { $0 + $1.0 * $1.1 }
            let norm = w.reduce(0) { $0 + $1 * $1 }.squareRoot()
            if norm == 0 { return 0 }
            var r2 = 0.0
            for j in 0..<cols {
                let d = w[j] - lambda * v[j]
                r2 += d * d
            }
            if r2.squareRoot() <= relativeTolerance * lambda { break }
            for j in 0..<cols { v[j] = w[j] / norm }
        }
        return max(lambda, 0).squareRoot()
    }

    /// σ_max of `a`, row-major `[rows, cols]`.
    public static func largestSingularValue(_ a: [Float], rows: Int, cols: Int) -> Double {
        a.withUnsafeBufferPointer { largestSingularValue($0, rows: rows, cols: cols) }
    }
}
