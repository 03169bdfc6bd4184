// Decode GEMV with the activation row quantised to 8 bits (see ckernels.h). The row x is cut into
// blocks of 32; block b is stored as d_b = max|x|/127 and q = round(x/d_b) (int8, |q| ≤ 127), with
// Σq (int32) and d_b·Σq (float) beside it. A weight block of 32 with integer levels w and scale s (and
// min m) then contributes
//     s·d_b·(Σ w·q − o·Σq)                          (q8_0: o = 0, q4_0: o = 8, q5_0: o = 16)
//     s·d_b·Σ w·q + m·d_b·Σq                        (q4_1, q5_1)
// where the integer sums are exact (|w| ≤ 31 or 127, 32 terms): each is the block's dot product of the
// decoded weights with x̂ = d_b·q, so the error is Σ w·(x − x̂), each |x − x̂| ≤ d_b/2 = max|x_block|/254.
// (The min term takes d_b·Σq rather than the exact Σx on purpose: with Σx the error would be
// Σ (w − m)·(x − x̂), larger where m is far from 0 — measured 2-3x larger on the fixtures.)
//
// The K-quants q4_k, q5_k and q6_k go the same way, a 32-element group (q6_k: two 16-element groups)
// against one activation block: s·d_b·Σ w·q − m·d_b·Σq (q4_k, q5_k: levels 0..31, scale and min per 32),
// d_b·(s₀·Σ_{first 16} w·q + s₁·Σ_{last 16} w·q) (q6_k: signed levels −32..31, a scale per 16).
//
// Three versions, chosen at run time (or by the caller, for tests):
//   2  AVX-512 VNNI (vpdpbusd on 256-bit vectors: unsigned levels × signed activations into int32)
//   1  AVX2 + FMA (vpmaddubsw into int16 pairs, vpmaddwd into int32)
//   0  portable C
#include "int8common.h"
#include <math.h>

long wk_act8_bytes(long cols) { return cols / 32 * 12 + cols; }

// The parts of an activation buffer: d[nb] (float), isum[nb] (int32), dsum[nb] (float), then q[cols] (int8).
typedef struct {
    const float *d;
    const int32_t *isum;
    const float *dsum;
    const int8_t *q;
} wk_act8;

static inline wk_act8 wk_act8_parts(const void *act, long cols) {
    const long nb = cols / 32;
    const float *f = (const float *)act;
    wk_act8 a = {f, (const int32_t *)(const void *)(f + nb), f + 2 * nb, (const int8_t *)(f + 3 * nb)};
    return a;
}

static void wk_quantize_act8_c(const float *x, long cols, void *act) {
    const long nb = cols / 32;
    float *d = (float *)act, *dsum = d + 2 * nb;
    int32_t *isums = (int32_t *)(void *)(d + nb);
    int8_t *q = (int8_t *)(d + 3 * nb);
    for (long b = 0; b < nb; b++) {
        const float *xb = x + 32 * b;
        // A NaN anywhere in the block makes amax NaN (and an infinity makes it infinite), so the block's scale
        // carries it into every product, as float32 arithmetic would; the levels are then 0.
        float amax = 0;
        for (int j = 0; j < 32; j++) {
            const float a = fabsf(xb[j]);
            amax = (a > amax || a != a) ? a : amax;
        }
        // A block below 2^-100 (subnormal values among them) is scaled up by 2^100 first, exactly, so that
        // 127/amax stays finite (it overflowed for amax below ~3.7e-37 and the levels were undefined).
        const float up = amax < 0x1p-100f ? 0x1p100f : 1;
        const float db = amax / 127, inv = amax > 0 && amax <= 3.4e38f ? 127 / (amax * up) : 0;
        int isum = 0;
        for (int j = 0; j < 32; j++) {
            const float r = __builtin_rintf(xb[j] * up * inv);  // to nearest, ties to even
            const int v = r == r ? (int)r : 0;
            q[32 * b + j] = (int8_t)v;
            isum += v;
        }
        d[b] = db;
        isums[b] = isum;
        dsum[b] = db * (float)isum;
    }
}

#define wk_h2f wk_half
#if WK_X86
// The same quantisation eight lanes at a time: the same products x·(127/amax), rounded to nearest even by
// vcvtps2dq as rintf rounds them, so the levels and scales are bit for bit the portable version's. A
// block whose scale is not a positive finite number (all zero, or holding a NaN or an infinity) gets
// levels 0, as there.
__attribute__((target("avx2,fma,f16c"))) static void wk_quantize_act8_avx2(const float *x, long cols, void *act) {
    const long nb = cols / 32;
    float *d = (float *)act, *dsum = d + 2 * nb;
    int32_t *isums = (int32_t *)(void *)(d + nb);
    int8_t *q = (int8_t *)(d + 3 * nb);
    const __m256 absMask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    for (long b = 0; b < nb; b++) {
        const float *xb = x + 32 * b;
        __m256 v[4], m = _mm256_setzero_ps(), nan = _mm256_setzero_ps();
        for (int i = 0; i < 4; i++) {
            v[i] = _mm256_loadu_ps(xb + 8 * i);
            m = _mm256_max_ps(m, _mm256_and_ps(v[i], absMask));
            nan = _mm256_or_ps(nan, _mm256_cmp_ps(v[i], v[i], _CMP_UNORD_Q));
        }
        __m128 h = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
        h = _mm_max_ps(h, _mm_movehl_ps(h, h));
        h = _mm_max_ss(h, _mm_movehdup_ps(h));
        float amax = _mm_cvtss_f32(h);
        if (_mm256_movemask_ps(nan)) amax = __builtin_nanf("");
        const float up = amax < 0x1p-100f ? 0x1p100f : 1;
        const float db = amax / 127, inv = amax > 0 && amax <= 3.4e38f ? 127 / (amax * up) : 0;
        int isum = 0;
        if (inv == 0) {
            memset(q + 32 * b, 0, 32);
        } else {
            const __m256 s = _mm256_set1_ps(inv), upv = _mm256_set1_ps(up);
            __m256i l[4];
            for (int i = 0; i < 4; i++) l[i] = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_mul_ps(v[i], upv), s));
            __m256i t = _mm256_add_epi32(_mm256_add_epi32(l[0], l[1]), _mm256_add_epi32(l[2], l[3]));
            __m128i u = _mm_add_epi32(_mm256_castsi256_si128(t), _mm256_extracti128_si256(t, 1));
            u = _mm_add_epi32(u, _mm_shuffle_epi32(u, 0x4e));
            u = _mm_add_epi32(u, _mm_shuffle_epi32(u, 0xb1));
            isum = _mm_cvtsi128_si32(u);
            const __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(l[0], l[1]), _mm256_packs_epi32(l[2], l[3]));
            _mm256_storeu_si256((__m256i *)(void *)(q + 32 * b), _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7)));
        }
        d[b] = db;
        isums[b] = isum;
        dsum[b] = db * (float)isum;
    }
}
#endif

void wk_quantize_act8_at(const float *x, long cols, void *act, int level) {
    level = wk_act8_level(level);
#if WK_X86
    if (level >= 1) {
        wk_quantize_act8_avx2(x, cols, act);
        return;
    }
#endif
    wk_quantize_act8_c(x, cols, act);
}

void wk_quantize_act8(const float *x, long cols, void *act) { wk_quantize_act8_at(x, cols, act, -1); }


// The K-quants the 8-bit kernels read (q2_k and q3_k are not among them).
static inline int wk_act8_kquant(int type) { return type == WK_Q4_K || type == WK_Q5_K || type == WK_Q6_K; }

// ---------------------------------------------------------------------------------------------
// Portable version.

// Σ w·q over one block of 32 with the block's integer levels (unsigned for q4/q5, signed for q8_0).
static inline int wk_blk_idot_c(int type, const uint8_t *b, const int8_t *q) {
    int s = 0;
    switch (type) {
    case WK_Q8_0: {
        const int8_t *w = (const int8_t *)(b + 2);
        for (int j = 0; j < 32; j++) s += w[j] * q[j];
        break;
    }
    case WK_Q4_0: case WK_Q4_1: {
        const uint8_t *n = b + (type == WK_Q4_0 ? 2 : 4);
        for (int j = 0; j < 16; j++) s += (n[j] & 15) * q[j] + (n[j] >> 4) * q[j + 16];
        break;
    }
    case WK_Q5_0: case WK_Q5_1: {
        const int o = type == WK_Q5_0 ? 2 : 4;
        uint32_t qh;
        memcpy(&qh, b + o, 4);
        const uint8_t *n = b + o + 4;
        for (int j = 0; j < 16; j++) {
            const int lo = (n[j] & 15) | (int)(((qh >> j) & 1) << 4);
            const int hi = (n[j] >> 4) | (int)(((qh >> (j + 16)) & 1) << 4);
            s += lo * q[j] + hi * q[j + 16];
        }
        break;
    }
    default: break;
    }
    return s;
}

// q4_k/q5_k/q6_k: group c (0..<8) of super-block b against activation block kb.
static inline float wk_kgroup_c(int type, const uint8_t *b, int c, const int8_t *q, float dx, float dsum, float *accM) {
    int s0 = 0, s1 = 0;
    switch (type) {
    case WK_Q4_K: case WK_Q5_K: {
        const int nib = 4 * (c & 1);
        const uint8_t *qs = b + (type == WK_Q4_K ? 16 : 48) + 32 * (c >> 1), *qh = b + 16;
        for (int l = 0; l < 32; l++) {
            int v = (qs[l] >> nib) & 15;
            if (type == WK_Q5_K) v |= ((qh[l] >> c) & 1) << 4;
            s0 += v * q[l];
        }
        float dl, ml;
        wk_q45k_scale(b, c, &dl, &ml);
        *accM += ml * dsum;
        return dl * dx * (float)s0;
    }
    case WK_Q6_K: {
        const int h = c >> 2, j = c & 3, nib = 4 * (j >> 1), shift = 2 * j, g = 8 * h + 2 * j;
        const uint8_t *ql = b + 64 * h + 32 * (j & 1), *qh = b + 128 + 32 * h;
        for (int l = 0; l < 32; l++) {
            const int v = (((ql[l] >> nib) & 15) | (((qh[l] >> shift) & 3) << 4)) - 32;
            if (l < 16) s0 += v * q[l];
            else s1 += v * q[l];
        }
        return dx * (wk_q6k_scale(b, g) * (float)s0 + wk_q6k_scale(b, g + 1) * (float)s1);
    }
    default: return 0;
    }
}

static void wk_gemv8_k_c(int type, const uint8_t *w, long cols, long nrows, wk_act8 a, float *y) {
    const long ns = cols / 256, bb = wk_kblock_bytes(type);
    for (long r = 0; r < nrows; r++) {
        const uint8_t *row = w + r * ns * bb;
        float acc = 0, accM = 0;
        for (long k = 0; k < ns; k++)
            for (int c = 0; c < 8; c++) {
                const long kb = 8 * k + c;
                acc += wk_kgroup_c(type, row + k * bb, c, a.q + 32 * kb, a.d[kb], a.dsum[kb], &accM);
            }
        y[r] = acc - accM;
    }
}

static void wk_gemv8_c(int type, const uint8_t *w, long cols, long nrows, wk_act8 a, float *y) {
    const long nb = cols / 32, bb = wk_block_bytes(type);
    const int off = type == WK_Q4_0 ? 8 : (type == WK_Q5_0 ? 16 : 0);
    const int hasMin = type == WK_Q4_1 || type == WK_Q5_1;
    for (long r = 0; r < nrows; r++) {
        const uint8_t *row = w + r * nb * bb;
        float acc = 0, accM = 0;
        for (long k = 0; k < nb; k++) {
            const uint8_t *b = row + k * bb;
            acc += wk_h2f(b) * a.d[k] * (float)(wk_blk_idot_c(type, b, a.q + 32 * k) - off * a.isum[k]);
            if (hasMin) accM += wk_h2f(b + 2) * a.dsum[k];
        }
        y[r] = acc + accM;
    }
}

#if WK_X86
// ---------------------------------------------------------------------------------------------
// x86 versions. The block's 32 levels come from WK_LEVELS (int8common.h; q8_0: the signed weights, whose
// signs the caller moves onto the activations).

WK_INLINE WK_AVX2 static inline float wk_hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

// Eight int32 partial sums of levels·q (levels unsigned ≤ 127 after the q8_0 sign move).
WK_INLINE WK_AVX2 static inline __m256i wk_idot_avx2(__m256i u, __m256i q) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(u, q), _mm256_set1_epi16(1));
}
WK_INLINE WK_VNNI static inline __m256i wk_idot_vnni(__m256i u, __m256i q) {
    return _mm256_dpbusd_epi32(_mm256_setzero_si256(), u, q);
}

// Block k of the row into accumulator ACC (the integer sum converted once, scaled by s·d_k).
#define WK_GEMV8_STEP(IDOT, type, ACC)                                                                  \
    {                                                                                                   \
        const uint8_t *b = row + k * bb;                                                                \
        __m256i u = WK_LEVELS(type, b);                                                                 \
        __m256i q = _mm256_loadu_si256((const __m256i *)(const void *)(a.q + 32 * k));                  \
        if ((type) == WK_Q8_0) {                                                                        \
            q = _mm256_sign_epi8(q, u);                                                                 \
            u = _mm256_sign_epi8(u, u);                                                                 \
        }                                                                                               \
        __m256i p = IDOT(u, q);                                                                         \
        /* o·Σq spread over the eight lanes: o/8 of it from each */                                     \
        if ((type) == WK_Q4_0) p = _mm256_sub_epi32(p, _mm256_set1_epi32(a.isum[k]));                  \
        if ((type) == WK_Q5_0) p = _mm256_sub_epi32(p, _mm256_set1_epi32(2 * a.isum[k]));              \
        ACC = _mm256_fmadd_ps(_mm256_set1_ps(wk_h2f(b) * a.d[k]), _mm256_cvtepi32_ps(p), ACC);          \
        if ((type) == WK_Q4_1 || (type) == WK_Q5_1) accM += wk_h2f(b + 2) * a.dsum[k];                 \
    }

// One row loop per version and type: two blocks per step into two accumulators.
#define WK_GEMV8_BODY(IDOT, type)                                                                       \
    {                                                                                                   \
        const long nb = cols / 32, bb = wk_block_bytes(type);                                             \
        for (long r = 0; r < nrows; r++) {                                                              \
            const uint8_t *row = w + r * nb * bb;                                                       \
            __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();                              \
            float accM = 0;                                                                             \
            long k = 0;                                                                                 \
            for (; k + 1 < nb; k++) {                                                                   \
                WK_GEMV8_STEP(IDOT, type, acc0)                                                         \
                k++;                                                                                    \
                WK_GEMV8_STEP(IDOT, type, acc1)                                                         \
            }                                                                                           \
            if (k < nb) WK_GEMV8_STEP(IDOT, type, acc0)                                                 \
            y[r] = wk_hsum8(_mm256_add_ps(acc0, acc1)) + accM;                                          \
        }                                                                                               \
    }

#define WK_GEMV8_VERSION(NAME, ATTR, IDOT)                                                              \
    ATTR static void NAME(int type, const uint8_t *w, long cols, long nrows, wk_act8 a, float *y) {     \
        switch (type) {                                                                                 \
        case WK_Q8_0: WK_GEMV8_BODY(IDOT, WK_Q8_0) break;                                               \
        case WK_Q4_0: WK_GEMV8_BODY(IDOT, WK_Q4_0) break;                                               \
        case WK_Q4_1: WK_GEMV8_BODY(IDOT, WK_Q4_1) break;                                               \
        case WK_Q5_0: WK_GEMV8_BODY(IDOT, WK_Q5_0) break;                                               \
        case WK_Q5_1: WK_GEMV8_BODY(IDOT, WK_Q5_1) break;                                               \
        default: break;                                                                                 \
        }                                                                                               \
    }

WK_GEMV8_VERSION(wk_gemv8_avx2, WK_AVX2, wk_idot_avx2)
WK_GEMV8_VERSION(wk_gemv8_vnni, WK_VNNI, wk_idot_vnni)

// q4_0 with 512-bit VNNI: two blocks per instruction. The 256-bit loop above spends about three cycles a
// block on the nibble split, the integer dot, the offset and the scale, and at 21-23 GB/s a core fell
// short of the memory it could read (30 GB/s on one thread). Here sixteen blocks at a time have their
// scales made in one vector (the sixteen f16 d's gathered, times the activation d's) and their offset
// 8·Σq taken out in one fused multiply-add of those scales with the activation sums; then pairs of
// blocks: k and k + 1 give [k: 0-15 | k+1: 0-15] from their low nibbles and [k: 16-31 | k+1: 16-31]
// from the high ones, one permutation of 64-bit lanes puts each block's 32 levels in element order in
// front of its 32 activations, and the dot, the conversion and the scaling (each lane's scale
// permuted out of the sixteen) are one instruction each for both. Blocks past the last sixteen take
// the 256-bit step.
WK_VNNI static void wk_gemv8_q4_0_512(const uint8_t *w, long cols, long nrows, wk_act8 a, float *y) {
    const long nb = cols / 32, bb = 18;
    const __m256i m4 = _mm256_set1_epi8(15);
    const __m512i order = _mm512_setr_epi64(0, 1, 4, 5, 2, 3, 6, 7);
    const __m512i stride = _mm512_setr_epi32(0, 18, 36, 54, 72, 90, 108, 126, 144, 162, 180, 198, 216, 234, 252, 270);
    for (long r = 0; r < nrows; r++) {
        const uint8_t *row = w + r * nb * bb;
        __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps(), off = _mm512_setzero_ps();
        __m256 acc = _mm256_setzero_ps();
        float accM = 0;
        long k = 0;
        for (; k + 16 <= nb; k += 16) {
            const __m512i dw = _mm512_i32gather_epi32(stride, (const void *)(row + k * bb), 1);
            const __m512 s = _mm512_mul_ps(_mm512_cvtph_ps(_mm512_cvtepi32_epi16(dw)), _mm512_loadu_ps(a.d + k));
            off = _mm512_fmadd_ps(s, _mm512_cvtepi32_ps(_mm512_loadu_si512((const void *)(a.isum + k))), off);
            for (int j = 0; j < 16; j += 2) {
                const uint8_t *b0 = row + (k + j) * bb;
                const __m256i x = _mm256_loadu2_m128i((const __m128i *)(const void *)(b0 + bb + 2), (const __m128i *)(const void *)(b0 + 2));
                const __m512i u = _mm512_permutexvar_epi64(
                    order, _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_and_si256(x, m4)), _mm256_and_si256(_mm256_srli_epi16(x, 4), m4), 1));
                const __m512i p = _mm512_dpbusd_epi32(_mm512_setzero_si512(), u, _mm512_loadu_si512((const void *)(a.q + 32 * (k + j))));
                const __m512 sc = _mm512_permutexvar_ps(_mm512_inserti64x4(_mm512_set1_epi32(j), _mm256_set1_epi32(j + 1), 1), s);
                if (j & 2)
                    acc1 = _mm512_fmadd_ps(sc, _mm512_cvtepi32_ps(p), acc1);
                else
                    acc0 = _mm512_fmadd_ps(sc, _mm512_cvtepi32_ps(p), acc0);
            }
        }
        for (; k < nb; k++) WK_GEMV8_STEP(wk_idot_vnni, WK_Q4_0, acc)
        (void)accM;
        // Each of a block's eight lanes took 8·Σq/8 = Σq (isum) off in the 256-bit step; here all eight at once.
        y[r] = _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1)) - 8 * _mm512_reduce_add_ps(off) + wk_hsum8(acc);
    }
}

// K-quants: one super-block of 256 per step (see wk_kgroup_c for the arithmetic). The group scales of a
// super-block are set up once, eight at a time in float32 (d·scale, then times the activation block's
// d, as the portable version multiplies them), and the products go into four accumulators, so neither a
// scalar chain (the mins) nor one accumulator's fmadd latency limits the loop.
#define WK_ACT(kb) _mm256_loadu_si256((const __m256i *)(const void *)(a.q + 32 * (kb)))
#define WK_U8X8(p) _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(const void *)(p))))
#define WK_I8X8(p) _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(const void *)(p))))
#define WK_GEMV8_K_BODY(IDOT, type)                                                                     \
    {                                                                                                   \
        const long ns = cols / 256, bb = wk_kblock_bytes(type);                                           \
        const __m256i m4 = _mm256_set1_epi8(15);                                                        \
        for (long r = 0; r < nrows; r++) {                                                              \
            const uint8_t *row = w + r * ns * bb;                                                       \
            __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();                              \
            __m256 acc2 = _mm256_setzero_ps(), acc3 = _mm256_setzero_ps(), accMv = _mm256_setzero_ps(); \
            for (long k = 0; k < ns; k++) {                                                             \
                const uint8_t *b = row + k * bb;                                                        \
                const long kb = 8 * k;                                                                  \
                if ((type) == WK_Q6_K) {                                                                \
                    /* fs[g] = (d·scale_g)·d_x of the activation block holding group g (16 per group) */ \
                    float fs[16];                                                                       \
                    const __m256 d6 = _mm256_set1_ps(wk_half(b + 208));                                 \
                    const __m256 dx = _mm256_loadu_ps(a.d + kb);                                        \
                    const __m256i lowHalf = _mm256_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3);                  \
                    const __m256i highHalf = _mm256_setr_epi32(4, 4, 5, 5, 6, 6, 7, 7);                 \
                    _mm256_storeu_ps(fs, _mm256_mul_ps(_mm256_mul_ps(d6, WK_I8X8(b + 192)), _mm256_permutevar8x32_ps(dx, lowHalf))); \
                    _mm256_storeu_ps(fs + 8, _mm256_mul_ps(_mm256_mul_ps(d6, WK_I8X8(b + 200)), _mm256_permutevar8x32_ps(dx, highHalf))); \
                    for (int h = 0; h < 2; h++) {                                                       \
                        const __m256i qh = _mm256_loadu_si256((const __m256i *)(const void *)(b + 128 + 32 * h)); \
                        for (int j = 0; j < 4; j++) {                                                   \
                            const int c = 4 * h + j, g = 8 * h + 2 * j;                                 \
                            __m256i lo = _mm256_loadu_si256((const __m256i *)(const void *)(b + 64 * h + 32 * (j & 1))); \
                            if (j >> 1) lo = _mm256_srli_epi16(lo, 4);                                  \
                            const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(qh, 2 * j), _mm256_set1_epi8(3)); \
                            const __m256i v = _mm256_sub_epi8(_mm256_or_si256(_mm256_and_si256(lo, m4), _mm256_slli_epi16(hi, 4)), _mm256_set1_epi8(32)); \
                            const __m256i p = IDOT(_mm256_sign_epi8(v, v), _mm256_sign_epi8(WK_ACT(kb + c), v)); \
                            const __m256 sc = _mm256_set_m128(_mm_set1_ps(fs[g + 1]), _mm_set1_ps(fs[g])); \
                            switch (j) {                                                                \
                            case 0: acc0 = _mm256_fmadd_ps(sc, _mm256_cvtepi32_ps(p), acc0); break;     \
                            case 1: acc1 = _mm256_fmadd_ps(sc, _mm256_cvtepi32_ps(p), acc1); break;     \
                            case 2: acc2 = _mm256_fmadd_ps(sc, _mm256_cvtepi32_ps(p), acc2); break;     \
                            default: acc3 = _mm256_fmadd_ps(sc, _mm256_cvtepi32_ps(p), acc3); break;    \
                            }                                                                           \
                        }                                                                               \
                    }                                                                                   \
                } else {                                                                                \
                    uint8_t sc8[8], mn8[8];                                                             \
                    wk_q45k_scales8(b, sc8, mn8);                                                       \
                    float ds[8];                                                                        \
                    _mm256_storeu_ps(ds, _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(wk_half(b)), WK_U8X8(sc8)), _mm256_loadu_ps(a.d + kb))); \
                    accMv = _mm256_fmadd_ps(_mm256_mul_ps(_mm256_set1_ps(wk_half(b + 2)), WK_U8X8(mn8)), _mm256_loadu_ps(a.dsum + kb), accMv); \
                    const __m256i qh = (type) == WK_Q5_K ? _mm256_loadu_si256((const __m256i *)(const void *)(b + 16)) : _mm256_setzero_si256(); \
                    for (int p = 0; p < 4; p++) {                                                       \
                        const __m256i raw = _mm256_loadu_si256((const __m256i *)(const void *)(b + ((type) == WK_Q4_K ? 16 : 48) + 32 * p)); \
                        __m256i lo = _mm256_and_si256(raw, m4), hi = _mm256_and_si256(_mm256_srli_epi16(raw, 4), m4); \
                        if ((type) == WK_Q5_K) {                                                        \
                            const __m256i b0 = _mm256_set1_epi8((char)(1 << (2 * p))), b1 = _mm256_set1_epi8((char)(2 << (2 * p))); \
                            lo = _mm256_or_si256(lo, _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(qh, b0), b0), _mm256_set1_epi8(16))); \
                            hi = _mm256_or_si256(hi, _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(qh, b1), b1), _mm256_set1_epi8(16))); \
                        }                                                                               \
                        const long k0 = kb + 2 * p;                                                     \
                        const __m256 plo = _mm256_cvtepi32_ps(IDOT(lo, WK_ACT(k0)));                    \
                        const __m256 phi = _mm256_cvtepi32_ps(IDOT(hi, WK_ACT(k0 + 1)));                \
                        if (p & 1) {                                                                    \
                            acc2 = _mm256_fmadd_ps(_mm256_set1_ps(ds[2 * p]), plo, acc2);               \
                            acc3 = _mm256_fmadd_ps(_mm256_set1_ps(ds[2 * p + 1]), phi, acc3);           \
                        } else {                                                                        \
                            acc0 = _mm256_fmadd_ps(_mm256_set1_ps(ds[2 * p]), plo, acc0);               \
                            acc1 = _mm256_fmadd_ps(_mm256_set1_ps(ds[2 * p + 1]), phi, acc1);           \
                        }                                                                               \
                    }                                                                                   \
                }                                                                                       \
            }                                                                                           \
            y[r] = wk_hsum8(_mm256_add_ps(_mm256_add_ps(acc0, acc1), _mm256_add_ps(acc2, acc3))) - wk_hsum8(accMv); \
        }                                                                                               \
    }

#define WK_GEMV8_K_VERSION(NAME, ATTR, IDOT)                                                            \
    ATTR static void NAME(int type, const uint8_t *w, long cols, long nrows, wk_act8 a, float *y) {     \
        switch (type) {                                                                                 \
        case WK_Q4_K: WK_GEMV8_K_BODY(IDOT, WK_Q4_K) break;                                             \
        case WK_Q5_K: WK_GEMV8_K_BODY(IDOT, WK_Q5_K) break;                                             \
        case WK_Q6_K: WK_GEMV8_K_BODY(IDOT, WK_Q6_K) break;                                             \
        default: break;                                                                                 \
        }                                                                                               \
    }

WK_GEMV8_K_VERSION(wk_gemv8_k_avx2, WK_AVX2, wk_idot_avx2)
WK_GEMV8_K_VERSION(wk_gemv8_k_vnni, WK_VNNI, wk_idot_vnni)

// q4_k with 512-bit VNNI: each 32-byte run of nibbles gives two groups of 32 (low nibbles, then high),
// which sit side by side in one register in front of their 64 activations, so the dot, the conversion
// and the scaling (each half's d·scale·d_x permuted out of the eight) are one instruction each for both
// groups. The super-block's scales and mins are set up as in the 256-bit body.
WK_VNNI static void wk_gemv8_q4k_512(const uint8_t *w, long cols, long nrows, wk_act8 a, float *y) {
    const long ns = cols / 256, bb = 144;
    const __m256i m4 = _mm256_set1_epi8(15);
    const __m512i half0 = _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
    for (long r = 0; r < nrows; r++) {
        const uint8_t *row = w + r * ns * bb;
        __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
        __m256 accMv = _mm256_setzero_ps();
        for (long k = 0; k < ns; k++) {
            const uint8_t *b = row + k * bb;
            const long kb = 8 * k;
            uint8_t sc8[8], mn8[8];
            wk_q45k_scales8(b, sc8, mn8);
            const __m256 ds = _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(wk_half(b)), WK_U8X8(sc8)), _mm256_loadu_ps(a.d + kb));
            const __m512 ds512 = _mm512_castps256_ps512(ds);
            accMv = _mm256_fmadd_ps(_mm256_mul_ps(_mm256_set1_ps(wk_half(b + 2)), WK_U8X8(mn8)), _mm256_loadu_ps(a.dsum + kb), accMv);
            for (int p = 0; p < 4; p++) {
                const __m256i raw = _mm256_loadu_si256((const __m256i *)(const void *)(b + 16 + 32 * p));
                const __m512i u = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_and_si256(raw, m4)),
                                                     _mm256_and_si256(_mm256_srli_epi16(raw, 4), m4), 1);
                const __m512i q = _mm512_loadu_si512((const void *)(a.q + 32 * (kb + 2 * p)));
                const __m512i dot = _mm512_dpbusd_epi32(_mm512_setzero_si512(), u, q);
                const __m512 sc = _mm512_permutexvar_ps(_mm512_add_epi32(half0, _mm512_set1_epi32(2 * p)), ds512);
                if (p & 1)
                    acc1 = _mm512_fmadd_ps(sc, _mm512_cvtepi32_ps(dot), acc1);
                else
                    acc0 = _mm512_fmadd_ps(sc, _mm512_cvtepi32_ps(dot), acc0);
            }
        }
        y[r] = _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1)) - wk_hsum8(accMv);
    }
}
#endif

int wk_act8_best_level(void) {
#if WK_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return 2;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c")) return 1;
#endif
    return 0;
}

int wk_act8_supported(int type) { return wk_block_bytes(type) > 0 || wk_act8_kquant(type); }

void wk_stored_gemv_act8(int type, const void *weights, long cols, long row0, long nrows, const void *act, float *y, int level) {
    level = wk_act8_level(level);
    const wk_act8 a = wk_act8_parts(act, cols);
    const uint8_t *w = (const uint8_t *)weights + row0 * wk_stored_row_bytes(type, cols);
    if (wk_act8_kquant(type)) {
#if WK_X86
        if (level == 2 && type == WK_Q4_K) {
            wk_gemv8_q4k_512(w, cols, nrows, a, y);
            return;
        }
        if (level == 2) {
            wk_gemv8_k_vnni(type, w, cols, nrows, a, y);
            return;
        }
        if (level == 1) {
            wk_gemv8_k_avx2(type, w, cols, nrows, a, y);
            return;
        }
#endif
        wk_gemv8_k_c(type, w, cols, nrows, a, y);
        return;
    }
#if WK_X86
    if (level == 2 && type == WK_Q4_0) {
        wk_gemv8_q4_0_512(w, cols, nrows, a, y);
        return;
    }
    if (level == 2) {
        wk_gemv8_vnni(type, w, cols, nrows, a, y);
        return;
    }
    if (level == 1) {
        wk_gemv8_avx2(type, w, cols, nrows, a, y);
        return;
    }
#endif
    wk_gemv8_c(type, w, cols, nrows, a, y);
}
