// Linear layers over f16/bf16 weights laid out [in, out] (GPT-2's Conv1D in Hugging Face checkpoints),
// read from the memory map as stored instead of widened (C: halfcolumns.c):
//
//   one token    y = x·W: each worker streams a contiguous block of rows i and adds x[i]·W[i, :] into a
//                partial sum of its own; the partial sums are added at the end (wk_half_gemv_cols over
//                all columns; WEIGHTKIT_HALF_COLUMNS=split gives each worker a range of output columns of
//                every row instead, which reads memory in strides and measured slower)
//   many tokens  panels of output columns decoded into a float32 buffer [in, panel] (wk_half_decode_cols),
//                each multiplied by sgemm (no transpose) into its columns of the output
//
// The decoded values are the widened path's; only the order of the sums differs.

internal import CKernels
internal import COpenBLAS
import Foundation

extension Kernels {
    /// Output columns per prefill panel of an `[in, out]` weight.
    static let panelColumns = 256

    /// WEIGHTKIT_HALF_COLUMNS=split: the one-token product splits output columns between workers (each
    /// reads its columns of every row) instead of rows (each streams a contiguous block); for comparison.
    static let splitColumns = ProcessInfo.processInfo.environment["WEIGHTKIT_HALF_COLUMNS"] == "split"

    /// y[T, out] = x[T, in] · W (+ b) with W an f16/bf16 `[in, out]` matrix (`w.rows` = in, `w.cols` = out).
    static func linearStoredColumns(
        _ x: UnsafePointer<Float>, rows: Int, weight w: StoredMatrix, bias: UnsafePointer<Float>?, into y: UnsafeMutablePointer<Float>
    ) {
        let inF = w.rows, outF = w.cols
        let xAddress = Int(bitPattern: x), yAddress = Int(bitPattern: y)
        if rows == 1 && !splitColumns {
            // Each worker streams a contiguous block of rows (all columns) into a partial sum of its own;
            // the partial sums are added at the end (out floats per extra worker).
            let (parts, range) = WorkerPool.split(inF, align: 4, minimum: 64)
            let partial = UnsafeMutablePointer<Float>.allocate(capacity: max(0, parts - 1) * outF)
            defer { partial.deallocate() }
            let partialAddress = Int(bitPattern: partial), elementBytes = 2
            WorkerPool.run(parts) { t in
                let (r0, n) = range(t)
                let out = t == 0 ? UnsafeMutablePointer<Float>(bitPattern: yAddress)! : UnsafeMutablePointer<Float>(bitPattern: partialAddress)! + (t - 1) * outF
                guard n > 0 else { out.initialize(repeating: 0, count: outF); return }
                wk_half_gemv_cols(
                    w.type, w.base + r0 * outF * elementBytes, n, outF, 0, outF, UnsafePointer<Float>(bitPattern: xAddress)! + r0, out)
            }
            for t in 1..<max(parts, 1) {
                let p = partial + (t - 1) * outF
                for j in 0..<outF { y[j] += p[j] }
            }
        } else if rows == 1 {
            let (parts, range) = WorkerPool.split(outF)
            WorkerPool.run(parts) { t in
                let (c0, n) = range(t)
                guard n > 0 else { return }
                wk_half_gemv_cols(
                    w.type, w.base, inF, outF, c0, n, UnsafePointer<Float>(bitPattern: xAddress)!, UnsafeMutablePointer<Float>(bitPattern: yAddress)! + c0)
            }
        } else {
            let panels = (outF + panelColumns - 1) / panelColumns
            let workers = WorkerPool.openBLASThreads ? 1 : min(WorkerPool.threads, panels)
            WorkerPool.run(workers) { t in
                let panel = UnsafeMutablePointer<Float>.allocate(capacity: inF * panelColumns)
                defer { panel.deallocate() }
                let x = UnsafePointer<Float>(bitPattern: xAddress)!, y = UnsafeMutablePointer<Float>(bitPattern: yAddress)!
                for p in stride(from: t, to: panels, by: workers) {
                    let c0 = p * panelColumns, n = min(panelColumns, outF - c0)
                    wk_half_decode_cols(w.type, w.base, inF, outF, c0, n, panel)
                    cblas_sgemm(
                        CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(rows), Int32(n), Int32(inF), 1, x, Int32(inF), panel, Int32(n), 0,
                        y + c0, Int32(outF))
                }
            }
        }
        if let bias { addBias(bias, rows: rows, width: outF, to: y) }
    }
}
