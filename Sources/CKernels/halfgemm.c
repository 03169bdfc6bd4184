// Prefill GEMM over f32, f16 and bf16 weights laid out [out, in] (see ckernels.h), in float32 arithmetic:
// Y[t][r] = Σ_c W[r][c]·x_t[c]. It takes the place of "decode a panel of rows to float32, then sgemm" for
// the half-precision types, where the separate decode pass cost 20–30% of a prefill. It reads f32 weights
// too (the executor's WEIGHTKIT_F32_GEMM=packed: alone it runs at about the rate of OpenBLAS's sgemm with
// 512-bit FMA, and no faster in whole passes, so sgemm stays the default there).
//
// The activations are packed once per product into slabs of 32 tokens, element c of the slab's 32 tokens
// contiguous ([c][32], tokens past the last zero), so that two 512-bit loads give one column for 32
// tokens. Each caller takes a range of weight rows and goes through it twelve rows at a time: for every
// block of 256 columns it converts the twelve rows' 256 elements to float32 in a 12 KiB buffer (row r at
// r·256) that stays in L1, then every slab passes over the block: 12 rows × 32 tokens of sums in 24 vector
// registers, each step two loads of activations and twelve broadcast weights into 24 fused multiply-adds.
// Each block's sums start from zero and are then added to the slab's running sums ([slab][12][32]),
// written to Y, transposed, after the last block: a 14,336-term product is 56 sums of 256 added
// together, not one running sum (against transformers' float32 reference on the 8B-shaped model, one
// running sum had 3–4× the error of OpenBLAS's sgemm, which blocks its sums the same way). Every weight
// element is converted once per product.
//
// Versions: 2 AVX-512F (the 12 × 32 tile above), 1 AVX2 + FMA + F16C (four 6-row × 16-token tiles per
// 12 × 32, twelve 256-bit accumulators), 0 portable C over the same buffers (for tests and CPUs without
// AVX2; the executor keeps its decode-and-sgemm panels there).
#include "ckernels.h"
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#define WK_X86 1
#define WK_HG512 __attribute__((target("avx512f,avx512vl,avx2,fma,f16c")))
#define WK_HG256 __attribute__((target("avx2,fma,f16c")))
#else
#define WK_X86 0
#endif

enum { WK_HG_ROWS = 12, WK_HG_TOK = 32, WK_HG_KB = 256 };

int wk_half_gemm_supported(int type) { return type == WK_F32 || type == WK_F16 || type == WK_BF16; }

int wk_half_gemm_best_level(void) {
#if WK_X86
    static int best = -1;
    int b = __atomic_load_n(&best, __ATOMIC_RELAXED);
    if (b >= 0) return b;
    __builtin_cpu_init();
    b = 0;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c")) b = 1;
    if (b == 1 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl")) b = 2;
    __atomic_store_n(&best, b, __ATOMIC_RELAXED);
    return b;
#else
    return 0;
#endif
}

long wk_half_gemm_slabs(long ntok) { return (ntok + WK_HG_TOK - 1) / WK_HG_TOK; }

long wk_half_gemm_xp_floats(long ntok, long cols) { return wk_half_gemm_slabs(ntok) * WK_HG_TOK * cols; }

void wk_half_gemm_pack_x(const float *x, long ntok, long cols, long slab0, long nslabs, float *xp) {
    for (long s = slab0; s < slab0 + nslabs; s++) {
        float *dst = xp + s * WK_HG_TOK * cols;
        const long t0 = s * WK_HG_TOK;
        const long nt = ntok - t0 < WK_HG_TOK ? ntok - t0 : WK_HG_TOK;
        if (nt < WK_HG_TOK) memset(dst, 0, sizeof(float) * WK_HG_TOK * cols);
        for (long t = 0; t < nt; t++) {
            const float *src = x + (t0 + t) * cols;
            for (long c = 0; c < cols; c++) dst[c * WK_HG_TOK + t] = src[c];
        }
    }
}

long wk_half_gemm_scratch_bytes(long ntok) {
    return (long)sizeof(float) * (WK_HG_ROWS * WK_HG_KB + wk_half_gemm_slabs(ntok) * WK_HG_ROWS * WK_HG_TOK) + 64;
}

// Elements c0 ..< c0 + n of rows r < nr (row r at w + r·rowBytes) as float32 into buf (row r at r·256);
// rows nr ..< 12 are zero. One body per version, so each converts with its own instructions.
#define WK_HG_CONVERT_BODY                                                                               \
    for (int r = 0; r < WK_HG_ROWS; r++) {                                                               \
        float *dst = buf + r * WK_HG_KB;                                                                 \
        if (r >= nr) {                                                                                   \
            for (long j = 0; j < n; j++) dst[j] = 0;                                                     \
            continue;                                                                                    \
        }                                                                                                \
        const uint8_t *row = w + r * rowBytes;                                                           \
        if (type == WK_F32) {                                                                            \
            memcpy(dst, row + 4 * c0, sizeof(float) * (size_t)n);                                        \
        } else if (type == WK_F16) {                                                                     \
            const _Float16 *h = (const _Float16 *)(const void *)row + c0;                                \
            for (long j = 0; j < n; j++) dst[j] = (float)h[j];                                           \
        } else {                                                                                         \
            const uint16_t *h = (const uint16_t *)(const void *)row + c0;                                \
            uint32_t *d32 = (uint32_t *)(void *)dst;                                                     \
            for (long j = 0; j < n; j++) d32[j] = (uint32_t)h[j] << 16;                                  \
        }                                                                                                \
    }

static void wk_hg_convert0(int type, const uint8_t *w, long rowBytes, int nr, long c0, long n, float *buf) {
    WK_HG_CONVERT_BODY
}

// One 12 × 32 tile over n ≤ 256 columns: c[r·32 + t] (+)= Σ_k buf[r·256 + k]·xp[k·32 + t].
static void wk_hg_tile0(const float *buf, const float *xp, long n, float *c, int first) {
    for (int r = 0; r < WK_HG_ROWS; r++) {
        float acc[WK_HG_TOK];
        for (int t = 0; t < WK_HG_TOK; t++) acc[t] = 0;
        for (long k = 0; k < n; k++) {
            const float b = buf[r * WK_HG_KB + k];
            for (int t = 0; t < WK_HG_TOK; t++) acc[t] += b * xp[k * WK_HG_TOK + t];
        }
        for (int t = 0; t < WK_HG_TOK; t++) c[r * WK_HG_TOK + t] = first ? acc[t] : c[r * WK_HG_TOK + t] + acc[t];
    }
}

#if WK_X86
WK_HG256 static void wk_hg_convert1(int type, const uint8_t *w, long rowBytes, int nr, long c0, long n, float *buf) {
    WK_HG_CONVERT_BODY
}

WK_HG512 static void wk_hg_convert2(int type, const uint8_t *w, long rowBytes, int nr, long c0, long n, float *buf) {
    WK_HG_CONVERT_BODY
}

// Rows r0 ..< r0 + 6, tokens t0 ..< t0 + 16 of the tile: twelve 256-bit sums.
__attribute__((always_inline)) WK_HG256 static inline void wk_hg_quarter1(const float *buf, const float *xp, long n, float *c,
                                                                          int first, int r0, int t0) {
    __m256 acc[6][2];
    _Pragma("clang loop unroll(full)") for (int r = 0; r < 6; r++) {
        acc[r][0] = _mm256_setzero_ps();
        acc[r][1] = _mm256_setzero_ps();
    }
    const float *b = buf + r0 * WK_HG_KB;
    for (long k = 0; k < n; k++) {
        const __m256 x0 = _mm256_loadu_ps(xp + k * WK_HG_TOK + t0), x1 = _mm256_loadu_ps(xp + k * WK_HG_TOK + t0 + 8);
        _Pragma("clang loop unroll(full)") for (int r = 0; r < 6; r++) {
            const __m256 wv = _mm256_broadcast_ss(b + r * WK_HG_KB + k);
            acc[r][0] = _mm256_fmadd_ps(wv, x0, acc[r][0]);
            acc[r][1] = _mm256_fmadd_ps(wv, x1, acc[r][1]);
        }
    }
    _Pragma("clang loop unroll(full)") for (int r = 0; r < 6; r++) {
        float *o = c + (r0 + r) * WK_HG_TOK + t0;
        _mm256_storeu_ps(o, first ? acc[r][0] : _mm256_add_ps(_mm256_loadu_ps(o), acc[r][0]));
        _mm256_storeu_ps(o + 8, first ? acc[r][1] : _mm256_add_ps(_mm256_loadu_ps(o + 8), acc[r][1]));
    }
}

WK_HG256 static void wk_hg_tile1(const float *buf, const float *xp, long n, float *c, int first) {
    wk_hg_quarter1(buf, xp, n, c, first, 0, 0);
    wk_hg_quarter1(buf, xp, n, c, first, 0, 16);
    wk_hg_quarter1(buf, xp, n, c, first, 6, 0);
    wk_hg_quarter1(buf, xp, n, c, first, 6, 16);
}

// The whole 12 × 32 tile in 24 512-bit sums. Without the full unroll clang kept the sums in an array on
// the stack (half the speed).
WK_HG512 static void wk_hg_tile2(const float *buf, const float *xp, long n, float *c, int first) {
    __m512 acc[WK_HG_ROWS][2];
    _Pragma("clang loop unroll(full)") for (int r = 0; r < WK_HG_ROWS; r++) {
        acc[r][0] = _mm512_setzero_ps();
        acc[r][1] = _mm512_setzero_ps();
    }
    for (long k = 0; k < n; k++) {
        const __m512 x0 = _mm512_loadu_ps(xp + k * WK_HG_TOK), x1 = _mm512_loadu_ps(xp + k * WK_HG_TOK + 16);
        _Pragma("clang loop unroll(full)") for (int r = 0; r < WK_HG_ROWS; r++) {
            const __m512 wv = _mm512_set1_ps(buf[r * WK_HG_KB + k]);
            acc[r][0] = _mm512_fmadd_ps(wv, x0, acc[r][0]);
            acc[r][1] = _mm512_fmadd_ps(wv, x1, acc[r][1]);
        }
    }
    _Pragma("clang loop unroll(full)") for (int r = 0; r < WK_HG_ROWS; r++) {
        float *o = c + r * WK_HG_TOK;
        _mm512_storeu_ps(o, first ? acc[r][0] : _mm512_add_ps(_mm512_loadu_ps(o), acc[r][0]));
        _mm512_storeu_ps(o + 16, first ? acc[r][1] : _mm512_add_ps(_mm512_loadu_ps(o + 16), acc[r][1]));
    }
}
#endif

void wk_half_gemm(int type, const void *weights, long cols, long row0, long nrows, const float *xp, long ntok, float *y,
                  long ldy, void *scratch, int level) {
    if (!wk_half_gemm_supported(type) || nrows <= 0 || ntok <= 0) return;
    const int best = wk_half_gemm_best_level();
    if (level < 0 || level > best) level = best;
    const long rowBytes = wk_stored_row_bytes(type, cols);
    const long slabs = wk_half_gemm_slabs(ntok);
    float *buf = (float *)(((uintptr_t)scratch + 63) & ~(uintptr_t)63);
    float *sums = buf + WK_HG_ROWS * WK_HG_KB;
    // The version's conversion and tile, called once per block and once per slab and block.
    void (*convert)(int, const uint8_t *, long, int, long, long, float *) = wk_hg_convert0;
    void (*tile)(const float *, const float *, long, float *, int) = wk_hg_tile0;
#if WK_X86
    if (level == 2) convert = wk_hg_convert2, tile = wk_hg_tile2;
    if (level == 1) convert = wk_hg_convert1, tile = wk_hg_tile1;
#endif
    for (long p = 0; p < nrows; p += WK_HG_ROWS) {
        const int nr = nrows - p < WK_HG_ROWS ? (int)(nrows - p) : WK_HG_ROWS;
        const uint8_t *w = (const uint8_t *)weights + (row0 + p) * rowBytes;
        for (long c0 = 0; c0 < cols; c0 += WK_HG_KB) {
            const long n = cols - c0 < WK_HG_KB ? cols - c0 : WK_HG_KB;
            convert(type, w, rowBytes, nr, c0, n, buf);
            for (long s = 0; s < slabs; s++)
                tile(buf, xp + s * WK_HG_TOK * cols + c0 * WK_HG_TOK, n, sums + s * WK_HG_ROWS * WK_HG_TOK, c0 == 0);
        }
        // The tile's sums into Y, transposed: token t, row row0 + p + r at y[t·ldy + p + r].
        for (long s = 0; s < slabs; s++) {
            const float *c = sums + s * WK_HG_ROWS * WK_HG_TOK;
            const long t0 = s * WK_HG_TOK;
            const long nt = ntok - t0 < WK_HG_TOK ? ntok - t0 : WK_HG_TOK;
            for (long t = 0; t < nt; t++)
                for (int r = 0; r < nr; r++) y[(t0 + t) * ldy + p + r] = c[r * WK_HG_TOK + t];
        }
    }
}
