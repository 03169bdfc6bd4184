// Linear layers and embeddings over weights kept in their stored dtype (f16, bf16, q8_0, q4_0, q4_1,
// q5_0, q5_1, q2_k, q3_k, q4_k, q5_k, q6_k), read straight from the memory map:
//
//   one token (decode)   q8_0/q4_0/q4_1/q5_0/q5_1/q4_k/q5_k/q6_k: the activation row quantised to 8 bits per block of 32
//                        once, then integer dot products per block (C, wk_stored_gemv_act8; the default, as
//                        in llama.cpp; off with WEIGHTKIT_F32_ACTIVATIONS=1); other dtypes, or with it off:
//                        a fused decode-and-dot per row in float32 (wk_stored_gemv). Rows split across threads.
//   many tokens          the same dtypes: every row quantised as above, then an integer GEMM over panels
//                        of eight or sixteen weight rows decoded to 8-bit levels (C, wk_stored_gemm_act8; where the
//                        CPU has AVX2, off with WEIGHTKIT_INT8_PREFILL=0 or WEIGHTKIT_F32_ACTIVATIONS=1), so a
//                        prefill computes what decoding its tokens one by one would; f16/bf16 (and float32
//                        weights, from Kernels.linear, with WEIGHTKIT_F32_GEMM=packed): a packed float32 GEMM that
//                        converts twelve rows at a time into a buffer in L1 and runs every token over them
//                        (C, wk_half_gemm; off with WEIGHTKIT_HALF_GEMM=0); other dtypes, or with those off:
//                        panels of rows decoded into a small float32 buffer that stays in cache, each
//                        multiplied by OpenBLAS sgemm into its columns of the output
//   embedding            only the looked-up rows are decoded
//
// Apart from the 8-bit activations, the arithmetic is the float32 arithmetic of the widened path with the
// decoded values; only the order of the sums differs, so results agree with it to float32 rounding. The
// 8-bit activations add an error of at most Σ_blocks Σ|w|·max|x_block|/254 per output (each element of x is
// off by at most half its block's step); Formats/ and README give the error measured on the fixtures.

internal import CKernels
internal import COpenBLAS
import Foundation
import TensorCore

/// A `[rows, cols]` weight in its stored dtype: `[out, in]`, or `[in, out]` when `transposed` (f16/bf16 only).
struct StoredMatrix: @unchecked Sendable {
    // The pointer is into a memory map kept alive by `data`.
    let type: Int32
    let base: UnsafeRawPointer
    let rows: Int
    let cols: Int
    let data: TensorData
    /// Laid out `[in, out]` (GPT-2's Conv1D): read by linearStoredColumns.
    var transposed = false

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

    /// Whether one-token products quantise the activation row to 8 bits (default; WEIGHTKIT_F32_ACTIVATIONS=1
    /// keeps it float32).
    static let int8ActivationsDefault = ProcessInfo.processInfo.environment["WEIGHTKIT_F32_ACTIVATIONS"] != "1"

    /// Whether WEIGHTKIT_INT8_EVERY_ROW=1 asks for every row of a many-token product to go through the
    /// one-token kernel (8-bit activations) instead of sgemm: a prefill then computes what decoding the same
    /// tokens one by one would, which is how the error of the 8-bit activations is measured
    /// (Benchmarks/int8/measure.py). Slow; for measurements only.
    static let int8EveryRow = ProcessInfo.processInfo.environment["WEIGHTKIT_INT8_EVERY_ROW"] == "1"
}

extension Kernels {
    /// Panel height for prefill: rows of W decoded at a time.
    static let panelRows = 256

    /// y[T, out] = x[T, in] · Wᵀ (+ b) with W `[out, in]` in its stored dtype (`[in, out]` f16/bf16 when
    /// `w.transposed`: linearStoredColumns). With `int8Activations`, one
    /// row of x times a q8_0/q4_0/q4_1/q5_0/q5_1/q4_k/q5_k/q6_k weight goes through x quantised to 8 bits per block of 32;
    /// `level` picks the kernel version (−1: the best this CPU runs; tests pass each).
    static func linearStored(
        _ x: UnsafePointer<Float>, rows: Int, weight w: StoredMatrix, bias: UnsafePointer<Float>?, into y: UnsafeMutablePointer<Float>,
        int8Activations: Bool = StoredMatrix.int8ActivationsDefault, int8Prefill: Bool = true, level: Int32 = -1
    ) {
        if w.transposed { return linearStoredColumns(x, rows: rows, weight: w, bias: bias, into: y) }
        let outF = w.rows, inF = w.cols
        if rows > 1, int8Activations, StoredMatrix.int8EveryRow, wk_act8_supported(w.type) != 0 {
            for r in 0..<rows {
                linearStored(x + r * inF, rows: 1, weight: w, bias: bias, into: y + r * outF, int8Activations: true, level: level)
            }
            return
        }
        if rows == 1 {
            let threads = min(WorkerPool.threads, max(1, outF / 64))
            let chunk = (outF + threads - 1) / threads
            let yAddress = Int(bitPattern: y), xAddress = Int(bitPattern: x)
            var act: UnsafeMutableRawPointer?
            if int8Activations, wk_act8_supported(w.type) != 0 {
                act = UnsafeMutableRawPointer.allocate(byteCount: wk_act8_bytes(inF), alignment: 64)
                wk_quantize_act8(x, inF, act)
            }
            defer { act?.deallocate() }
            let actAddress = act.map { Int(bitPattern: $0) }
            WorkerPool.run(threads) { t in
                let r0 = t * chunk
                let n = min(chunk, outF - r0)
                guard n > 0 else { return }
                let yr = UnsafeMutablePointer<Float>(bitPattern: yAddress)! + r0
                if let actAddress {
                    wk_stored_gemv_act8(w.type, w.base, inF, r0, n, UnsafeRawPointer(bitPattern: actAddress)!, yr, level)
                } else {
                    wk_stored_gemv(w.type, w.base, inF, r0, n, UnsafePointer<Float>(bitPattern: xAddress)!, yr)
                }
            }
            if let bias { addBias(bias, rows: 1, width: outF, to: y) }
            return
        }
        if int8Activations, int8Prefill, int8PrefillRuns, wk_act8_gemm_supported(w.type) != 0 {
            return linearStoredInt8(x, rows: rows, weight: w, bias: bias, into: y, level: level)
        }
        if packedGemmRuns(type: w.type) {
            return packedGemm(x, rows: rows, type: w.type, weight: w.base, outFeatures: outF, inFeatures: inF, bias: bias, into: y)
        }
        // Panels dealt round-robin to the workers, each decoding into its own buffer and calling
        // single-threaded sgemm (WorkerPool); with WEIGHTKIT_BLAS_POOL=openblas one thread decodes and
        // OpenBLAS threads each sgemm.
        // As many panels for every worker: 768 rows in three panels of 256 left one of two workers idle
        // for a third of the product; four of 192 do not.
        let workers = WorkerPool.openBLASThreads ? 1 : min(WorkerPool.threads, (outF + panelRows - 1) / panelRows)
        let panels = ((outF + panelRows - 1) / panelRows + workers - 1) / workers * workers
        let height = (outF + panels - 1) / panels
        let xAddress = Int(bitPattern: x), yAddress = Int(bitPattern: y)
        WorkerPool.run(workers) { t in
            let panel = UnsafeMutablePointer<Float>.allocate(capacity: height * inF)
            defer { panel.deallocate() }
            let x = UnsafePointer<Float>(bitPattern: xAddress)!, y = UnsafeMutablePointer<Float>(bitPattern: yAddress)!
            for p in stride(from: t, to: panels, by: workers) {
                let r0 = p * height, n = min(height, outF - r0)
                guard n > 0 else { continue }
                wk_stored_decode_rows(w.type, w.base, inF, r0, n, panel)
                cblas_sgemm(
                    CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(n), Int32(inF), 1, x, Int32(inF), panel, Int32(inF), 0,
                    y + r0, Int32(outF))
            }
        }
        if let bias { addBias(bias, rows: rows, width: outF, to: y) }
    }

    /// Whether many-token products of the types the 8-bit GEMM reads may go through it (default, where the
    /// CPU has AVX2, in executors made with int8Prefill; WEIGHTKIT_INT8_PREFILL=0 keeps the float32 panels
    /// and sgemm everywhere, for comparisons).
    static let int8PrefillRuns = ProcessInfo.processInfo.environment["WEIGHTKIT_INT8_PREFILL"] != "0"

    /// y[T, out] = x̂[T, in] · Wᵀ (+ b) with every row of x quantised to 8 bits per block of 32, as the
    /// one-token product quantises it: the records are made in parallel by token, then each worker takes a
    /// range of rows (a multiple of sixteen, the widest panel) and runs every token over it (wk_stored_gemm_act8).
    static func linearStoredInt8(
        _ x: UnsafePointer<Float>, rows: Int, weight w: StoredMatrix, bias: UnsafePointer<Float>?, into y: UnsafeMutablePointer<Float>,
        level: Int32
    ) {
        let outF = w.rows, inF = w.cols
        let stride = wk_act8_rows_stride(inF)
        let acts = UnsafeMutableRawPointer.allocate(byteCount: rows * stride, alignment: 64)
        defer { acts.deallocate() }
        let xAddress = Int(bitPattern: x), yAddress = Int(bitPattern: y), actAddress = Int(bitPattern: acts)
        forRanges(rows, tile: 1, minPerWorker: 8) { r0, n in
            wk_quantize_act8_rows(UnsafePointer<Float>(bitPattern: xAddress)!, r0, n, inF, UnsafeMutableRawPointer(bitPattern: actAddress)!)
        }
        forRanges(outF, tile: 16, minPerWorker: 32) { r0, n in
            let scratch = UnsafeMutableRawPointer.allocate(byteCount: wk_gemm8_scratch_bytes(inF), alignment: 64)
            defer { scratch.deallocate() }
            wk_stored_gemm_act8(
                w.type, w.base, inF, r0, n, UnsafeRawPointer(bitPattern: actAddress)!, rows,
                UnsafeMutablePointer<Float>(bitPattern: yAddress)! + r0, outF, scratch, level)
        }
        if let bias { addBias(bias, rows: rows, width: outF, to: y) }
    }

    /// The version of the packed float32 GEMM (wk_half_gemm) this CPU runs: 2 AVX-512F, 1 AVX2+FMA+F16C, 0 none.
    static let halfGemmLevel = wk_half_gemm_best_level()

    /// Whether many-token products of f16/bf16 weights go through the packed GEMM (where the CPU has AVX2;
    /// WEIGHTKIT_HALF_GEMM=0 keeps the float32 panels and sgemm, for comparisons).
    static let halfGemmEnabled = ProcessInfo.processInfo.environment["WEIGHTKIT_HALF_GEMM"] != "0"

    /// Whether many-token products of float32 `[out, in]` weights go through the packed GEMM instead of
    /// sgemm: only with WEIGHTKIT_F32_GEMM=packed, where the CPU has 512-bit FMA. Alone it runs at about
    /// the rate of OpenBLAS's Cooperlake sgemm (0.9–1.1×, one thread), and in whole passes sgemm was as fast
    /// at 128 tokens and 2–5% faster at 512 (README), so sgemm stays the default.
    static let packedGemmForFloat32 =
        halfGemmLevel >= 2 && ProcessInfo.processInfo.environment["WEIGHTKIT_F32_GEMM"] == "packed" && !WorkerPool.openBLASThreads

    /// Whether a many-token product of a stored f16/bf16 weight goes through the packed GEMM.
    static func packedGemmRuns(type: Int32) -> Bool {
        (type == Int32(WK_F16) || type == Int32(WK_BF16)) && halfGemmEnabled && halfGemmLevel >= 1 && !WorkerPool.openBLASThreads
    }

    /// y[T, out] = x[T, in] · Wᵀ (+ b) for W `[out, in]` in f32, f16 or bf16, in float32 arithmetic
    /// (wk_half_gemm): x packed once into slabs of 32 tokens (in parallel, by slab), then each worker takes a
    /// range of rows (a multiple of twelve, the kernel's tile) and runs every token over it, converting each
    /// weight once. `level` picks the kernel version (−1: the best this CPU runs; tests pass each).
    static func packedGemm(
        _ x: UnsafePointer<Float>, rows: Int, type: Int32, weight: UnsafeRawPointer, outFeatures outF: Int, inFeatures inF: Int,
        bias: UnsafePointer<Float>?, into y: UnsafeMutablePointer<Float>, level: Int32 = -1
    ) {
        let xp = UnsafeMutablePointer<Float>.allocate(capacity: wk_half_gemm_xp_floats(rows, inF))
        defer { xp.deallocate() }
        let xAddress = Int(bitPattern: x), yAddress = Int(bitPattern: y), xpAddress = Int(bitPattern: xp), wAddress = Int(bitPattern: weight)
        forRanges(wk_half_gemm_slabs(rows), tile: 1, minPerWorker: 1) { s0, n in
            wk_half_gemm_pack_x(UnsafePointer<Float>(bitPattern: xAddress)!, rows, inF, s0, n, UnsafeMutablePointer<Float>(bitPattern: xpAddress)!)
        }
        forRanges(outF, tile: 12, minPerWorker: 24) { r0, n in
            let scratch = UnsafeMutableRawPointer.allocate(byteCount: wk_half_gemm_scratch_bytes(rows), alignment: 64)
            defer { scratch.deallocate() }
            wk_half_gemm(
                type, UnsafeRawPointer(bitPattern: wAddress)!, inF, r0, n, UnsafePointer<Float>(bitPattern: xpAddress)!, rows,
                UnsafeMutablePointer<Float>(bitPattern: yAddress)! + r0, outF, scratch, level)
        }
        if let bias { addBias(bias, rows: rows, width: outF, to: y) }
    }

    /// body(i0, n) on the workers, one call each, for consecutive ranges of `count` items (weight rows,
    /// tokens, slabs) that are multiples of `tile` (a GEMM kernel's panel height, or 1), with no more
    /// workers than count / minPerWorker.
    static func forRanges(_ count: Int, tile: Int, minPerWorker: Int, _ body: @Sendable (Int, Int) -> Void) {
        let threads = min(WorkerPool.threads, max(1, count / minPerWorker))
        let chunk = ((count + threads - 1) / threads + tile - 1) / tile * tile
        WorkerPool.run(threads) { t in
            let i0 = t * chunk, n = min(chunk, count - i0)
            if n > 0 { body(i0, n) }
        }
    }

    /// y[r·width + j] += bias[j] for every row r: the bias of a product whose kernel leaves it out.
    static func addBias(_ bias: UnsafePointer<Float>, rows: Int, width: Int, to y: UnsafeMutablePointer<Float>) {
        for r in 0..<rows { for j in 0..<width { y[r * width + j] += bias[j] } }
    }

    /// The versions of the 8-bit-activation GEMV this CPU runs (0 portable C, 1 AVX2+FMA, 2 AVX-512 VNNI).
    static var int8KernelLevels: [Int32] { Array(0...wk_act8_best_level()) }

    /// The rows `tokens` of an embedding table in its stored dtype, decoded into y[T, cols].
    static func embeddingStored(_ w: StoredMatrix, tokens: [Int], into y: UnsafeMutablePointer<Float>) {
        for (r, t) in tokens.enumerated() { wk_stored_decode_rows(w.type, w.base, w.cols, t, 1, y + r * w.cols) }
    }
}
