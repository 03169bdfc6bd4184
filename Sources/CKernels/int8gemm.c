// Prefill GEMM with 8-bit activations (see ckernels.h): Y[t][r] = Σ_c W[r][c]·x̂_t[c] for many tokens t,
// with each activation row quantised exactly as the one-token kernel quantises it (wk_quantize_act8), so
// every token's result is the one-token GEMV's (int8gemv.c) up to the order of the float sums.
//
// The weights are read eight rows at a time into a small panel of unsigned 8-bit levels, interleaved so
// that one 256-bit vector holds four consecutive levels of each of the eight rows (vector j of a 32-element
// group: row r's elements 4j..4j+3 in bytes 4r..4r+3). One multiply-add instruction (vpdpbusd, or
// vpmaddubsw + vpmaddwd without VNNI) against four activation bytes broadcast to all lanes then adds four
// products into each of the eight rows' sums; the panel stays in L1 while every token passes over it, so
// each weight is decoded once per prefill chunk and used by up to a few hundred tokens.
//
// Per group of 32 (or 16, q6_k) elements, the exact integer sum Σ l·q is corrected and scaled once:
//     S·d_x·(Σ l·q − o·Σq)  +  M·d_x·Σq
// where l are the stored levels (q8_0: the signed weight plus 128 with VNNI, o = 128; q4_0: o = 8; q5_0:
// o = 16; q6_k: o = 32; otherwise 0), S the weight block's scale (K-quants: d·scale of the group) and M
// its min term (q4_1, q5_1: +m; q4_k, q5_k: −dmin·min). The integer sums are exact (|l| ≤ 255, 32 terms),
// as in the one-token kernel; S·d_x is the same float product it forms.
//
// Versions: 3 AVX-512 VNNI with 512-bit vectors over sixteen-row panels (the default where the CPU has it:
// twice the throughput of 2 on the machines measured), 2 the same with 256-bit vectors, 1 AVX2 (levels ≤ 63 cannot saturate vpmaddubsw's 16-bit
// pair sums: 2·63·127 < 2^15; q8_0 keeps its signed weights and moves their signs onto the activations),
// 0 the one-token kernel row by row.
#include "int8common.h"

// A token's record: its wk_quantize_act8 row (d, Σq and d·Σq per 32, then the int8 levels), then Σq per
// 16 (int32), padded to 64 bytes.
long wk_act8_rows_stride(long cols) {
    const long n = wk_act8_bytes(cols) + cols / 16 * 4;
    return (n + 63) / 64 * 64;
}

void wk_quantize_act8_rows(const float *x, long row0, long nrows, long cols, void *acts) {
    const long stride = wk_act8_rows_stride(cols), nb = cols / 32;
    for (long r = row0; r < row0 + nrows; r++) {
        uint8_t *rec = (uint8_t *)acts + r * stride;
        wk_quantize_act8(x + r * cols, cols, rec);
        const int8_t *q = (const int8_t *)(rec + 12 * nb);
        int32_t *s16 = (int32_t *)(void *)(rec + wk_act8_bytes(cols));
        for (long s = 0; s < cols / 16; s++) {
            int v = 0;
            for (int j = 0; j < 16; j++) v += q[16 * s + j];
            s16[s] = v;
        }
    }
}

long wk_gemm8_scratch_bytes(long cols) { return 16 * cols + 2 * (cols / 16) * 16 * (long)sizeof(float) + 64; }

// The GEMM reads the types the one-token kernel reads (wk_act8_supported).
int wk_act8_gemm_supported(int type) { return wk_act8_supported(type) && wk_act8_level(-1) >= 1; }

int wk_act8_gemm_best_level(void) { return wk_act8_level(-1) == 2 ? 3 : wk_act8_level(-1); }

#if WK_X86
// Rows r < nr of a panel (row r at w + r·rowBytes) into lv (cols/32 groups of eight 32-byte vectors), S and
// M (per sub-block, eight floats: one per row). Rows nr..<8 are zero.
// With parts = 2 the panel is half (part 0 or 1) of a sixteen-row panel: vector j of a group is then 64 bytes,
// rows 0-7 in the first 32 and rows 8-15 in the next, and each sub-block has sixteen scales.
WK_AVX2 static void wk_panel8(int type, const uint8_t *w, long rowBytes, long cols, int nr, uint8_t *lv, float *S, float *M,
                              int parts, int part) {
    const long ng = cols / 32, bb = wk_block_bytes(type), kb = wk_kblock_bytes(type);
    const __m256i m4 = _mm256_set1_epi8(15);
    for (long g = 0; g < ng; g++) {
        __m256i L[8];
        for (int r = 0; r < 8; r++) {
            float s0 = 0, s1 = 0, m = 0;
            L[r] = _mm256_setzero_si256();
            if (r < nr) {
                const uint8_t *row = w + r * rowBytes;
                if (bb > 0) {
                    const uint8_t *b = row + g * bb;
                    s0 = wk_half(b);
                    L[r] = WK_LEVELS(type, b);
                    if (type == WK_Q4_1 || type == WK_Q5_1) m = wk_half(b + 2);
                } else {
                    const uint8_t *b = row + (g >> 3) * kb;
                    const int c = (int)(g & 7);
                    if (type == WK_Q6_K) {
                        const int h = c >> 2, j = c & 3;
                        __m256i lo = _mm256_loadu_si256((const __m256i *)(const void *)(b + 64 * h + 32 * (j & 1)));
                        if (j >> 1) lo = _mm256_srli_epi16(lo, 4);
                        const __m256i qh = _mm256_loadu_si256((const __m256i *)(const void *)(b + 128 + 32 * h));
                        const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(qh, 2 * j), _mm256_set1_epi8(3));
                        L[r] = _mm256_or_si256(_mm256_and_si256(lo, m4), _mm256_slli_epi16(hi, 4));
                        s0 = wk_q6k_scale(b, 2 * c);
                        s1 = wk_q6k_scale(b, 2 * c + 1);
                    } else {
                        const __m256i raw = _mm256_loadu_si256((const __m256i *)(const void *)(b + (type == WK_Q4_K ? 16 : 48) + 32 * (c >> 1)));
                        L[r] = _mm256_and_si256(_mm256_srli_epi16(raw, 4 * (c & 1)), m4);
                        if (type == WK_Q5_K) {
                            const __m256i qh = _mm256_loadu_si256((const __m256i *)(const void *)(b + 16));
                            const __m256i bit = _mm256_set1_epi8((char)(1 << c));
                            L[r] = _mm256_or_si256(L[r], _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(qh, bit), bit), _mm256_set1_epi8(16)));
                        }
                        float ml;
                        wk_q45k_scale(b, c, &s0, &ml);
                        m = -ml;
                    }
                }
            }
            if (type == WK_Q6_K) {
                S[(2 * g) * 8 * parts + 8 * part + r] = s0;
                S[(2 * g + 1) * 8 * parts + 8 * part + r] = s1;
            } else {
                S[g * 8 * parts + 8 * part + r] = s0;
                M[g * 8 * parts + 8 * part + r] = m;
            }
        }
        // 8×8 transpose of 32-bit lanes: vector j ← lane j of every row.
        __m256i t[8], u[8];
        for (int i = 0; i < 4; i++) {
            t[2 * i] = _mm256_unpacklo_epi32(L[2 * i], L[2 * i + 1]);
            t[2 * i + 1] = _mm256_unpackhi_epi32(L[2 * i], L[2 * i + 1]);
        }
        for (int i = 0; i < 2; i++) {
            u[4 * i + 0] = _mm256_unpacklo_epi64(t[4 * i], t[4 * i + 2]);
            u[4 * i + 1] = _mm256_unpackhi_epi64(t[4 * i], t[4 * i + 2]);
            u[4 * i + 2] = _mm256_unpacklo_epi64(t[4 * i + 1], t[4 * i + 3]);
            u[4 * i + 3] = _mm256_unpackhi_epi64(t[4 * i + 1], t[4 * i + 3]);
        }
        __m256i *out = (__m256i *)(void *)(lv + g * 256 * parts + 32 * part);
        for (int j = 0; j < 4; j++) {
            _mm256_storeu_si256(out + parts * j, _mm256_permute2x128_si256(u[j], u[4 + j], 0x20));
            _mm256_storeu_si256(out + parts * (4 + j), _mm256_permute2x128_si256(u[j], u[4 + j], 0x31));
        }
    }
}

// Four products per lane into the int32 sums: VNNI, and AVX2 (unsigned levels ≤ 63, or with Q80 the signed
// q8_0 weights, their signs moved onto the activations).
#define WK_IDOT_VNNI(acc, w, a, Q80) _mm256_dpbusd_epi32((acc), (Q80) ? _mm256_xor_si256((w), _mm256_set1_epi8((char)0x80)) : (w), (a))
#define WK_IDOT_AVX2(acc, w, a, Q80)                                                                               \
    _mm256_add_epi32((acc), _mm256_madd_epi16((Q80) ? _mm256_maddubs_epi16(_mm256_abs_epi8(w), _mm256_sign_epi8((a), (w))) \
                                                    : _mm256_maddubs_epi16((w), (a)),                           \
                                              _mm256_set1_epi16(1)))

// NT tokens (records at act + t·astride) against one panel; out[t·ldo + r] for r < nr. SB: 32, or 16 for
// q6_k; OFF the level offset o; MIN whether the type has a min term; Q80 q8_0's signed levels.
#define WK_GEMM8_TILE(NAME, ATTR, IDOT)                                                                              \
    ATTR WK_INLINE static inline void NAME(const int NT, const int SB, const int OFF, const int MIN, const int Q80,      \
                                           const uint8_t *lv, const float *S, const float *M, long cols,             \
                                           const uint8_t *act, long astride, float *out, long ldo, int nr) {        \
        const long ng = cols / 32;                                                                                    \
        const float *d[4], *ds[4];                                                                                    \
        const int32_t *is32[4], *is16[4];                                                                             \
        const int8_t *q[4];                                                                                           \
        __m256 acc[4];                                                                                                \
        for (int t = 0; t < NT; t++) {                                                                                \
            const uint8_t *rec = act + t * astride;                                                                   \
            d[t] = (const float *)(const void *)rec;                                                                  \
            is32[t] = (const int32_t *)(const void *)(rec + 4 * ng);                                                  \
            ds[t] = (const float *)(const void *)(rec + 8 * ng);                                                      \
            q[t] = (const int8_t *)(rec + 12 * ng);                                                                   \
            is16[t] = (const int32_t *)(const void *)(rec + 12 * ng + cols);                                          \
            acc[t] = _mm256_setzero_ps();                                                                             \
        }                                                                                                             \
        for (long g = 0; g < ng; g++) {                                                                               \
            const __m256i *p = (const __m256i *)(const void *)(lv + g * 256);                                         \
            for (int half = 0; half < (SB == 16 ? 2 : 1); half++) {                                                   \
                /* two sums per token (even and odd j), so that no chain of dependent multiply-adds is long */        \
                __m256i it[4], iu[4];                                                                                 \
                for (int t = 0; t < NT; t++) it[t] = iu[t] = _mm256_setzero_si256();                                  \
                const int j0 = SB == 16 ? 4 * half : 0, j1 = SB == 16 ? j0 + 4 : 8;                                   \
                for (int j = j0; j < j1; j += 2) {                                                                    \
                    const __m256i wv = _mm256_loadu_si256(p + j), wu = _mm256_loadu_si256(p + j + 1);                 \
                    for (int t = 0; t < NT; t++) {                                                                    \
                        int32_t a4, b4;                                                                               \
                        memcpy(&a4, q[t] + 32 * g + 4 * j, 4);                                                        \
                        memcpy(&b4, q[t] + 32 * g + 4 * j + 4, 4);                                                    \
                        it[t] = IDOT(it[t], wv, _mm256_set1_epi32(a4), Q80);                                          \
                        iu[t] = IDOT(iu[t], wu, _mm256_set1_epi32(b4), Q80);                                          \
                    }                                                                                                 \
                }                                                                                                     \
                const long s = SB == 16 ? 2 * g + half : g;                                                           \
                const __m256 Sv = _mm256_loadu_ps(S + 8 * s);                                                         \
                for (int t = 0; t < NT; t++) {                                                                        \
                    __m256i v = _mm256_add_epi32(it[t], iu[t]);                                                                          \
                    if (OFF) v = _mm256_sub_epi32(v, _mm256_set1_epi32(OFF * (SB == 16 ? is16[t][s] : is32[t][g])));  \
                    acc[t] = _mm256_fmadd_ps(_mm256_mul_ps(Sv, _mm256_set1_ps(d[t][g])), _mm256_cvtepi32_ps(v), acc[t]); \
                    if (MIN) acc[t] = _mm256_fmadd_ps(_mm256_loadu_ps(M + 8 * s), _mm256_set1_ps(ds[t][g]), acc[t]); \
                }                                                                                                     \
            }                                                                                                         \
        }                                                                                                             \
        for (int t = 0; t < NT; t++) {                                                                                \
            if (nr == 8) {                                                                                            \
                _mm256_storeu_ps(out + t * ldo, acc[t]);                                                              \
            } else {                                                                                                  \
                float tmp[8];                                                                                         \
                _mm256_storeu_ps(tmp, acc[t]);                                                                        \
                for (int r = 0; r < nr; r++) out[t * ldo + r] = tmp[r];                                               \
            }                                                                                                         \
        }                                                                                                             \
    }

WK_GEMM8_TILE(wk_gemm8_tile_vnni, WK_VNNI, WK_IDOT_VNNI)
WK_GEMM8_TILE(wk_gemm8_tile_avx2, WK_AVX2, WK_IDOT_AVX2)

// The same over sixteen-row panels with 512-bit vectors (AVX-512 VNNI): one vpdpbusd adds four products to
// each of sixteen rows.
WK_VNNI WK_INLINE static inline void wk_gemm16_tile(const int NT, const int SB, const int OFF, const int MIN, const int Q80,
                                                    const uint8_t *lv, const float *S, const float *M, long cols,
                                                    const uint8_t *act, long astride, float *out, long ldo, int nr) {
    const long ng = cols / 32;
    const float *d[4], *ds[4];
    const int32_t *is32[4], *is16[4];
    const int8_t *q[4];
    __m512 acc[4];
    for (int t = 0; t < NT; t++) {
        const uint8_t *rec = act + t * astride;
        d[t] = (const float *)(const void *)rec;
        is32[t] = (const int32_t *)(const void *)(rec + 4 * ng);
        ds[t] = (const float *)(const void *)(rec + 8 * ng);
        q[t] = (const int8_t *)(rec + 12 * ng);
        is16[t] = (const int32_t *)(const void *)(rec + 12 * ng + cols);
        acc[t] = _mm512_setzero_ps();
    }
    const __m512i flip = _mm512_set1_epi8((char)0x80);
    for (long g = 0; g < ng; g++) {
        const __m512i *p = (const __m512i *)(const void *)(lv + g * 512);
        for (int half = 0; half < (SB == 16 ? 2 : 1); half++) {
            __m512i it[4], iu[4];
            for (int t = 0; t < NT; t++) it[t] = iu[t] = _mm512_setzero_si512();
            const int j0 = SB == 16 ? 4 * half : 0, j1 = SB == 16 ? j0 + 4 : 8;
            for (int j = j0; j < j1; j += 2) {
                __m512i wv = _mm512_loadu_si512(p + j), wu = _mm512_loadu_si512(p + j + 1);
                if (Q80) {
                    wv = _mm512_xor_si512(wv, flip);
                    wu = _mm512_xor_si512(wu, flip);
                }
                for (int t = 0; t < NT; t++) {
                    int32_t a4, b4;
                    memcpy(&a4, q[t] + 32 * g + 4 * j, 4);
                    memcpy(&b4, q[t] + 32 * g + 4 * j + 4, 4);
                    it[t] = _mm512_dpbusd_epi32(it[t], wv, _mm512_set1_epi32(a4));
                    iu[t] = _mm512_dpbusd_epi32(iu[t], wu, _mm512_set1_epi32(b4));
                }
            }
            const long s = SB == 16 ? 2 * g + half : g;
            const __m512 Sv = _mm512_loadu_ps(S + 16 * s);
            for (int t = 0; t < NT; t++) {
                __m512i v = _mm512_add_epi32(it[t], iu[t]);
                if (OFF) v = _mm512_sub_epi32(v, _mm512_set1_epi32(OFF * (SB == 16 ? is16[t][s] : is32[t][g])));
                acc[t] = _mm512_fmadd_ps(_mm512_mul_ps(Sv, _mm512_set1_ps(d[t][g])), _mm512_cvtepi32_ps(v), acc[t]);
                if (MIN) acc[t] = _mm512_fmadd_ps(_mm512_loadu_ps(M + 16 * s), _mm512_set1_ps(ds[t][g]), acc[t]);
            }
        }
    }
    for (int t = 0; t < NT; t++) {
        if (nr == 16) {
            _mm512_storeu_ps(out + t * ldo, acc[t]);
        } else {
            float tmp[16];
            _mm512_storeu_ps(tmp, acc[t]);
            for (int r = 0; r < nr; r++) out[t * ldo + r] = tmp[r];
        }
    }
}

// Tokens in chunks whose records stay within 512 KiB (they are read once per panel); within a chunk, each
// panel of H rows (8 or 16; decoded as one or two halves of eight) is decoded once and met by the tokens
// four at a time, while the next panel's bytes are prefetched.
#define WK_GEMM_RUN(H, TILE, SB, OFF, MIN, Q80)                                                                       \
    for (long t0 = 0; t0 < ntok; t0 += chunk) {                                                                       \
        const long tn = ntok - t0 < chunk ? ntok - t0 : chunk;                                                        \
        for (long r0 = 0; r0 < nrows; r0 += (H)) {                                                                    \
            const int nr = nrows - r0 < (H) ? (int)(nrows - r0) : (H);                                                \
            for (int part = 0; part < (H) / 8; part++) {                                                              \
                const int np = nr - 8 * part < 0 ? 0 : (nr - 8 * part > 8 ? 8 : nr - 8 * part);                       \
                wk_panel8(type, w + (r0 + 8 * part) * rowBytes, rowBytes, cols, np, lv, S, M, (H) / 8, part);         \
            }                                                                                                         \
            if (r0 + (H) < nrows) {                                                                                   \
                const uint8_t *next_ = w + (r0 + (H)) * rowBytes;                                                     \
                const long n_ = (nrows - r0 - (H) < (H) ? nrows - r0 - (H) : (H)) * rowBytes;                         \
                for (long o_ = 0; o_ < n_; o_ += 64) __builtin_prefetch(next_ + o_);                                  \
            }                                                                                                         \
            long t = 0;                                                                                               \
            for (; t + 4 <= tn; t += 4)                                                                               \
                TILE(4, SB, OFF, MIN, Q80, lv, S, M, cols, acts + (t0 + t) * astride, astride, y + (t0 + t) * ldy + r0, ldy, nr);\
            for (; t < tn; t++)                                                                                       \
                TILE(1, SB, OFF, MIN, Q80, lv, S, M, cols, acts + (t0 + t) * astride, astride, y + (t0 + t) * ldy + r0, ldy, nr);\
        }                                                                                                             \
    }

// One driver per version: H-row panels in scratch (levels, then H scales and H min terms per sub-block).
#define WK_GEMM_DRIVER(NAME, ATTR, H, TILE, Q80OFF)                                                                   \
    ATTR static void NAME(int type, const uint8_t *w, long rowBytes, long cols, long nrows, const uint8_t *acts,      \
                          long astride, long ntok, float *y, long ldy, uint8_t *scratch) {                            \
        uint8_t *lv = scratch;                                                                                        \
        float *S = (float *)(void *)(scratch + (H) * cols), *M = S + (cols / 16) * (H);                               \
        long chunk = (512L << 10) / astride;                                                                          \
        chunk = chunk < 16 ? 16 : chunk / 4 * 4;                                                                      \
        switch (type) {                                                                                               \
        case WK_Q8_0: WK_GEMM_RUN(H, TILE, 32, Q80OFF, 0, 1) break;                                                   \
        case WK_Q4_0: WK_GEMM_RUN(H, TILE, 32, 8, 0, 0) break;                                                        \
        case WK_Q5_0: WK_GEMM_RUN(H, TILE, 32, 16, 0, 0) break;                                                       \
        case WK_Q6_K: WK_GEMM_RUN(H, TILE, 16, 32, 0, 0) break;                                                       \
        default: WK_GEMM_RUN(H, TILE, 32, 0, 1, 0) break; /* q4_1, q5_1, q4_k, q5_k */                                \
        }                                                                                                             \
    }

WK_GEMM_DRIVER(wk_gemm16_vnni, WK_VNNI, 16, wk_gemm16_tile, 128)
WK_GEMM_DRIVER(wk_gemm8_vnni, WK_VNNI, 8, wk_gemm8_tile_vnni, 128)
WK_GEMM_DRIVER(wk_gemm8_avx2, WK_AVX2, 8, wk_gemm8_tile_avx2, 0)
#endif

void wk_stored_gemm_act8(int type, const void *weights, long cols, long row0, long nrows, const void *acts, long ntok,
                         float *y, long ldy, void *scratch, int level) {
    if (!wk_act8_supported(type)) return;
    const int best = wk_act8_gemm_best_level();
    if (level < 0 || level > best) level = best;
    const long rowBytes = wk_stored_row_bytes(type, cols), astride = wk_act8_rows_stride(cols);
    const uint8_t *w = (const uint8_t *)weights + row0 * rowBytes;
#if WK_X86
    if (level == 3) {
        wk_gemm16_vnni(type, w, rowBytes, cols, nrows, (const uint8_t *)acts, astride, ntok, y, ldy, (uint8_t *)scratch);
        return;
    }
    if (level == 2) {
        wk_gemm8_vnni(type, w, rowBytes, cols, nrows, (const uint8_t *)acts, astride, ntok, y, ldy, (uint8_t *)scratch);
        return;
    }
    if (level == 1) {
        wk_gemm8_avx2(type, w, rowBytes, cols, nrows, (const uint8_t *)acts, astride, ntok, y, ldy, (uint8_t *)scratch);
        return;
    }
#endif
    (void)scratch;
    for (long t = 0; t < ntok; t++) {
        wk_stored_gemv_act8(type, weights, cols, row0, nrows, (const uint8_t *)acts + t * astride, y + t * ldy, 0);
    }
}
