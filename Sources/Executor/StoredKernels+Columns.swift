// Linear layers over f16/bf16 weights laid out [in, out] (GPT-2's Conv1D in Hugging Face checkpoints),
// read from the memory map as stored instead of widened (C: halfcolumns.c):
//
//   one token    y = x·W: each worker owns a range of output columns and adds x[i]·W[i, its columns] over
//                every row i (wk_half_gemv_cols)
//   many tokens  panels of output columns decoded into a float32 buffer [in, panel] (wk_half_decode_cols),
//                each multiplied by sgemm (no transpose) into its columns of the output
//
// The decoded values are the widened path's; only the order of the sums differs.

internal import CKernels
internal import COpenBLAS

extension Kernels {
    /// Output columns per prefill panel of an `[in, out]` weight.
    static let panelColumns = 256

    /// y[T, out] = x[T, in] · W (+ b) with W an f16/bf16 `[in, out]` matrix (`w.rows` = in, `w.cols` = out).
    static func linearStoredColumns(
        _ x: UnsafePointer<Float>, rows: Int, weight w: StoredMatrix, bias: UnsafePointer<Float>?, into y: UnsafeMutablePointer<Float>
    ) {
        let inF = w.rows, outF = w.cols
        let xAddress = Int(bitPattern: x), yAddress = Int(bitPattern: y)
        if rows == 1 {
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
        if let bias {
            for r in 0..<rows { for j in 0..<outF { y[r * outF + j] += bias[j] } }
        }
    }
}
