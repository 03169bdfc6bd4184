// Linear layers and embeddings over weights kept in their stored dtype (f16, bf16, q8_0, q4_0, q4_1,
// q5_0, q5_1, q2_k, q3_k, q4_k, q5_k, q6_k), read straight from the memory map:
//
//   one token (decode)   a fused decode-and-dot per row (C, wk_stored_gemv), rows split across threads
//   many tokens          panels of rows decoded into a small float32 buffer that stays in cache, each
//                        multiplied by OpenBLAS sgemm into its columns of the output
//   embedding            only the looked-up rows are decoded
//
// The arithmetic is the float32 arithmetic of the widened path with the decoded values; only the
// order of the sums differs, so results agree with it to float32 rounding.

internal import CKernels
internal import COpenBLAS
import Foundation
import TensorCore

/// A `[rows, cols]` weight in its stored dtype.
struct StoredMatrix: @unchecked Sendable {
    // The pointer is into a memory map kept alive by `data`.
    let type: Int32
    let base: UnsafeRawPointer
    let rows: Int
    let cols: Int
    let data: TensorData

    /// The C kernels' code for a dtype they read directly, nil otherwise.
    static func code(_ d: DType) -> Int32? {
        switch d {
        case .f16: return Int32(WK_F16)
        case .bf16: return Int32(WK_BF16)
        case .q8_0: return Int32(WK_Q8_0)
        case .q4_0: return Int32(WK_Q4_0)
        case .q4_1: return Int32(WK_Q4_1)
        case .q5_0: return Int32(WK_Q5_0)
        case .q5_1: return Int32(WK_Q5_1)
        case .q2_k: return Int32(WK_Q2_K)
        case .q3_k: return Int32(WK_Q3_K)
        case .q4_k: return Int32(WK_Q4_K)
        case .q5_k: return Int32(WK_Q5_K)
        case .q6_k: return Int32(WK_Q6_K)
        default: return nil
        }
    }

    /// Whether WEIGHTKIT_WIDEN=1 asks for every weight widened to float32 (the earlier behaviour, for
    /// comparisons).
    static let widenAll = ProcessInfo.processInfo.environment["WEIGHTKIT_WIDEN"] == "1"
}

extension Kernels {
    /// Panel height for prefill: rows of W decoded at a time.
    static let panelRows = 256

    /// y[T, out] = x[T, in] · Wᵀ (+ b) with W `[out, in]` in its stored dtype.
    static func linearStored(
        _ x: UnsafePointer<Float>, rows: Int, weight w: StoredMatrix, bias: UnsafePointer<Float>?, into y: UnsafeMutablePointer<Float>
    ) {
        let outF = w.rows, inF = w.cols
        if rows == 1 {
            let threads = min(ProcessInfo.processInfo.activeProcessorCount, max(1, outF / 64))
            let chunk = (outF + threads - 1) / threads
            let yAddress = Int(bitPattern: y), xAddress = Int(bitPattern: x)
            DispatchQueue.concurrentPerform(iterations: threads) { t in
                let r0 = t * chunk
                let n = min(chunk, outF - r0)
                guard n > 0 else { return }
                wk_stored_gemv(w.type, w.base, inF, r0, n, UnsafePointer<Float>(bitPattern: xAddress)!,
                               UnsafeMutablePointer<Float>(bitPattern: yAddress)! + r0)
            }
            if let bias { for j in 0..<outF { y[j] += bias[j] } }
            return
        }
        let panel = UnsafeMutablePointer<Float>.allocate(capacity: panelRows * inF)
        defer { panel.deallocate() }
        var r0 = 0
        while r0 < outF {
            let n = min(panelRows, outF - r0)
            wk_stored_decode_rows(w.type, w.base, inF, r0, n, panel)
            cblas_sgemm(
                CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(n), Int32(inF), 1, x, Int32(inF), panel, Int32(inF), 0,
                y + r0, Int32(outF))
            r0 += n
        }
        if let bias {
            for r in 0..<rows { for j in 0..<outF { y[r * outF + j] += bias[j] } }
        }
    }

    /// The rows `tokens` of an embedding table in its stored dtype, decoded into y[T, cols].
    static func embeddingStored(_ w: StoredMatrix, tokens: [Int], into y: UnsafeMutablePointer<Float>) {
        for (r, t) in tokens.enumerated() { wk_stored_decode_rows(w.type, w.base, w.cols, t, 1, y + r * w.cols) }
    }
}
