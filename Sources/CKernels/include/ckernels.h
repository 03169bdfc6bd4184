// Float32 kernels of the executor that Swift's baseline x86-64 target cannot vectorise well:
// exp-based activations and the softmax exponentials, and the kernels over weights kept in their
// stored dtype. Each function is compiled for several targets (target_clones: AVX-512, AVX2+FMA and
// the baseline); the loader picks the clone the CPU supports.
#ifndef WEIGHTKIT_CKERNELS_H
#define WEIGHTKIT_CKERNELS_H

/// y[i] = x[i]·σ(2·√(2/π)·(x[i] + 0.044715·x[i]³))  (the tanh GELU), n elements.
void wk_gelu_tanh(const float *x, float *y, long n);
/// y[i] = x[i]·σ(x[i])  (SiLU), n elements.
void wk_silu(const float *x, float *y, long n);
/// x[i] = exp(x[i] − m) in place, n elements; returns their sum.
float wk_exp_shifted_sum(float *x, long n, float m);
/// The largest of n floats (−FLT_MAX for none).
float wk_max_f32(const float *x, long n);
/// x[i] *= s, n elements.
void wk_scale_f32(float *x, long n, float s);
/// Has glibc keep freed blocks below 32 MiB (and the heap's top below 1 GiB) for reuse instead of
/// returning them to the kernel: the executor frees and allocates activation arrays of a few MB at
/// every op, and fresh pages cost a page fault and zeroing each (18% of a 128-token prefill). Once per
/// process; nothing on other C libraries.
void wk_keep_freed_memory(void);

/// Stored weight dtypes the kernels read directly.
enum {
    WK_F32 = 0, WK_F16 = 1, WK_BF16 = 2, WK_Q8_0 = 3, WK_Q4_0 = 4, WK_Q4_1 = 5, WK_Q5_0 = 6, WK_Q5_1 = 7,
    WK_Q2_K = 8, WK_Q3_K = 9, WK_Q4_K = 10, WK_Q5_K = 11, WK_Q6_K = 12
};

/// Bytes of one row of `cols` elements (block types: cols a multiple of 32, K-quants of 256), or −1 for an unknown type.
long wk_stored_row_bytes(int type, long cols);
/// Rows row0 ..< row0 + nrows of a [rows, cols] stored matrix decoded into out ([nrows, cols] float32).
void wk_stored_decode_rows(int type, const void *weights, long cols, long row0, long nrows, float *out);
/// y[r] = Σ_c W[row0 + r][c]·x[c] for r < nrows, decoding each block as it is used.
void wk_stored_gemv(int type, const void *weights, long cols, long row0, long nrows, const float *x, float *y);

/// y[j] = Σ_i x[i]·W[i][c0 + j] for j < n, W a [rows, cols] f16 or bf16 matrix laid out [in, out] (x has rows
/// elements); each thread takes its own range of columns.
void wk_half_gemv_cols(int type, const void *weights, long rows, long cols, long c0, long n, const float *x, float *y);
/// Columns c0 ..< c0 + n of a [rows, cols] f16 or bf16 matrix decoded into out ([rows, n] float32).
void wk_half_decode_cols(int type, const void *weights, long rows, long cols, long c0, long n, float *out);

/// Bytes of a row of `cols` float32 activations quantised to 8 bits (cols a multiple of 32): per block of
/// 32 its scale d (float32), Σq (int32) and d·Σq (float32), then the cols int8 values.
long wk_act8_bytes(long cols);
/// x[0..<cols] quantised into act (wk_act8_bytes(cols) bytes): per block of 32, d = max|x|/127, q = round(x/d).
void wk_quantize_act8(const float *x, long cols, void *act);
/// The same with a chosen version (1 AVX2, 0 portable C; −1 the best this CPU runs): the bytes are the same.
void wk_quantize_act8_at(const float *x, long cols, void *act, int level);
/// Whether wk_stored_gemv_act8 reads `type` (q8_0, q4_0, q4_1, q5_0, q5_1, q4_k, q5_k, q6_k).
int wk_act8_supported(int type);
/// The fastest version this CPU runs: 2 AVX-512 VNNI, 1 AVX2+FMA, 0 portable C.
int wk_act8_best_level(void);
/// y[r] = Σ_c W[row0 + r][c]·x[c] for r < nrows with x quantised by wk_quantize_act8: integer dot products
/// per block, scaled once per block. `level` picks the version (−1: the best the CPU runs; a level above
/// it runs the best).
void wk_stored_gemv_act8(int type, const void *weights, long cols, long row0, long nrows, const void *act, float *y, int level);

/// Bytes of one token's record for wk_stored_gemm_act8 (its wk_quantize_act8 row, then Σq per 16), a
/// multiple of 64.
long wk_act8_rows_stride(long cols);
/// Rows row0 ..< row0 + nrows of x ([rows, cols] float32) quantised into their records in acts (record r at
/// r·wk_act8_rows_stride(cols)), each as wk_quantize_act8 quantises it.
void wk_quantize_act8_rows(const float *x, long row0, long nrows, long cols, void *acts);
/// Bytes of the scratch buffer wk_stored_gemm_act8 needs for rows of `cols` elements.
long wk_gemm8_scratch_bytes(long cols);
/// Whether the prefill GEMM runs `type` on this CPU with an integer kernel (AVX2 or VNNI).
int wk_act8_gemm_supported(int type);
/// The fastest version of wk_stored_gemm_act8 this CPU runs (3, 1 or 0; see there).
int wk_act8_gemm_best_level(void);
/// y[t·ldy + r] = Σ_c W[row0 + r][c]·x̂_t[c] for r < nrows, t < ntok, the ntok token records in acts
/// (wk_quantize_act8_rows): for each token what wk_stored_gemv_act8 computes, up to the order of the float
/// sums. Rows are taken eight (or sixteen) at a time into an interleaved panel of 8-bit levels (int8gemm.c).
/// `level`: 3 VNNI on 512-bit vectors, 2 VNNI on 256-bit vectors, 1 AVX2, 0 the one-token kernel token by
/// token; −1 the best this CPU runs.
void wk_stored_gemm_act8(int type, const void *weights, long cols, long row0, long nrows, const void *acts, long ntok,
                         float *y, long ldy, void *scratch, int level);
/// Whether wk_half_gemm reads `type` (f32, f16, bf16).
int wk_half_gemm_supported(int type);
/// The fastest version of wk_half_gemm this CPU runs: 2 AVX-512F, 1 AVX2+FMA+F16C, 0 portable C.
int wk_half_gemm_best_level(void);
/// Slabs of 32 tokens that ntok tokens take in the packed activations.
long wk_half_gemm_slabs(long ntok);
/// Floats of the packed activations for ntok tokens of cols elements (slabs of 32 tokens).
long wk_half_gemm_xp_floats(long ntok, long cols);
/// Slabs slab0 ..< slab0 + nslabs of x ([ntok, cols] float32) packed into xp: slab s holds tokens
/// 32s ..< 32s + 32, element c of each at xp[s·32·cols + c·32 + t] (tokens past ntok zero).
void wk_half_gemm_pack_x(const float *x, long ntok, long cols, long slab0, long nslabs, float *xp);
/// Bytes of the scratch buffer wk_half_gemm needs for ntok tokens.
long wk_half_gemm_scratch_bytes(long ntok);
/// y[t·ldy + r] = Σ_c W[row0 + r][c]·x_t[c] for r < nrows, t < ntok, W a [rows, cols] f32/f16/bf16 matrix
/// ([out, in]) and x packed by wk_half_gemm_pack_x; float32 arithmetic, twelve rows at a time over blocks of
/// 256 columns (halfgemm.c). `level`: 2 AVX-512F, 1 AVX2, 0 portable; −1 the best this CPU runs.
void wk_half_gemm(int type, const void *weights, long cols, long row0, long nrows, const float *xp, long ntok, float *y,
                  long ldy, void *scratch, int level);
/// A task of a parallel job: fn(ctx, t) for task t.
typedef void (*wk_task_fn)(void *ctx, long t);
/// fn(ctx, 0) … fn(ctx, n − 1), each once, on the calling thread and up to threads − 1 persistent workers
/// (started on first use; they spin briefly between jobs, then sleep); returns when all have run. A call
/// from inside a task, or while another thread's job runs, runs its tasks inline (pool.c).
void wk_pool_run(long n, int threads, wk_task_fn fn, void *ctx);

#endif
