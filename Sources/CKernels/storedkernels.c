// Kernels over weights kept in their stored dtype (see ckernels.h): each row is decoded block by
// block as it is used, never widened for the whole model. Block layouts (little-endian, as ggml
// stores them; the f16 scales are unaligned within the row):
//   q8_0  34 bytes: d (f16), 32 × int8 q                          x = d·q
//   q4_0  18 bytes: d (f16), 16 bytes of nibbles                   x = d·(q − 8)
//   q4_1  20 bytes: d, m (f16), 16 bytes of nibbles                x = d·q + m
//   q5_0  22 bytes: d (f16), 4 bytes of high bits, 16 of nibbles   x = d·(q − 16)
//   q5_1  24 bytes: d, m (f16), 4 bytes of high bits, 16 nibbles   x = d·q + m
// In a block, element j < 16 takes the low nibble of byte j, element j + 16 the high nibble; the fifth
// bit of element j is bit j of the 32-bit high-bits word.
// K-quants (256-element super-blocks, read in eight chunks of 32; see wk_kquant_chunk):
//   q2_k   84 bytes: scales[16] (scale low nibble, min high), qs[64], d, dmin (f16)
//   q3_k  110 bytes: hmask[32], qs[64], scales[12] (16 × 6 bits, biased by 32), d (f16)
//   q4_k  144 bytes: d, dmin (f16), scales[12] (8 × 6-bit scale and min), qs[128]
//   q5_k  176 bytes: d, dmin (f16), scales[12], qh[32], qs[128]
//   q6_k  210 bytes: ql[128], qh[64], scales[16] (int8), d (f16)
#include "ckernels.h"
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) && defined(__clang__)
#define WK_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define WK_CLONES
#endif
// Helpers are forced inline so that each clone compiles them for its own target (a helper left out of
// line is built for the baseline only: the K-quant GEMV ran 4x slower that way).
#define WK_INLINE __attribute__((always_inline))
#include "kscales.h"

WK_INLINE static inline float wk_bf16(const uint8_t *p) {
    uint16_t b;
    memcpy(&b, p, 2);
    uint32_t u = (uint32_t)b << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

long wk_stored_row_bytes(int type, long cols) {
    switch (type) {
    case WK_F32: return cols * 4;
    case WK_F16: case WK_BF16: return cols * 2;
    case WK_Q8_0: return cols / 32 * 34;
    case WK_Q4_0: return cols / 32 * 18;
    case WK_Q4_1: return cols / 32 * 20;
    case WK_Q5_0: return cols / 32 * 22;
    case WK_Q5_1: return cols / 32 * 24;
    case WK_Q2_K: return cols / 256 * 84;
    case WK_Q3_K: return cols / 256 * 110;
    case WK_Q4_K: return cols / 256 * 144;
    case WK_Q5_K: return cols / 256 * 176;
    case WK_Q6_K: return cols / 256 * 210;
    default: return -1;
    }
}

// One block of 32 decoded into out[0..<32].
WK_INLINE static inline void wk_decode_block(int type, const uint8_t *b, float *out) {
    switch (type) {
    case WK_Q8_0: {
        float d = wk_half(b);
        const int8_t *q = (const int8_t *)(b + 2);
        for (int j = 0; j < 32; j++) out[j] = d * (float)q[j];
        break;
    }
    case WK_Q4_0: {
        float d = wk_half(b);
        const uint8_t *q = b + 2;
        for (int j = 0; j < 16; j++) {
            out[j] = d * (float)((int)(q[j] & 15) - 8);
            out[j + 16] = d * (float)((int)(q[j] >> 4) - 8);
        }
        break;
    }
    case WK_Q4_1: {
        float d = wk_half(b), m = wk_half(b + 2);
        const uint8_t *q = b + 4;
        for (int j = 0; j < 16; j++) {
            out[j] = d * (float)(q[j] & 15) + m;
            out[j + 16] = d * (float)(q[j] >> 4) + m;
        }
        break;
    }
    case WK_Q5_0: {
        float d = wk_half(b);
        uint32_t qh;
        memcpy(&qh, b + 2, 4);
        const uint8_t *q = b + 6;
        for (int j = 0; j < 16; j++) {
            int lo = (q[j] & 15) | (int)(((qh >> j) & 1) << 4);
            int hi = (q[j] >> 4) | (int)(((qh >> (j + 16)) & 1) << 4);
            out[j] = d * (float)(lo - 16);
            out[j + 16] = d * (float)(hi - 16);
        }
        break;
    }
    case WK_Q5_1: {
        float d = wk_half(b), m = wk_half(b + 2);
        uint32_t qh;
        memcpy(&qh, b + 4, 4);
        const uint8_t *q = b + 8;
        for (int j = 0; j < 16; j++) {
            int lo = (q[j] & 15) | (int)(((qh >> j) & 1) << 4);
            int hi = (q[j] >> 4) | (int)(((qh >> (j + 16)) & 1) << 4);
            out[j] = d * (float)lo + m;
            out[j + 16] = d * (float)hi + m;
        }
        break;
    }
    default: break;
    }
}

// Chunk c (0..<8) of a K-quant super-block — elements 32c ..< 32c + 32 — decoded into v[0..<32] with
// the reference dequantizer's arithmetic, operation for operation (no fused multiply-adds here, so the
// values are bit-identical to it): a per-16 or per-32 scale (and min) times the integer level.
__attribute__((always_inline)) static inline void wk_kquant_chunk(int type, const uint8_t *b, int c, float *v) {
#pragma clang fp contract(off)
    switch (type) {
    case WK_Q2_K: {
        const uint8_t *q = b + 16 + 32 * (c >> 2);
        const int shift = 2 * (c & 3), g = 8 * (c >> 2) + 2 * (c & 3);
        float dl0, ml0, dl1, ml1;
        wk_q2k_scale(b, g, &dl0, &ml0);
        wk_q2k_scale(b, g + 1, &dl1, &ml1);
        for (int l = 0; l < 16; l++) v[l] = dl0 * (float)((q[l] >> shift) & 3) - ml0;
        for (int l = 16; l < 32; l++) v[l] = dl1 * (float)((q[l] >> shift) & 3) - ml1;
        break;
    }
    case WK_Q3_K: {
        const uint8_t *hm = b, *q = b + 32 + 32 * (c >> 2);
        const int shift = 2 * (c & 3), bit = c, g = 8 * (c >> 2) + 2 * (c & 3);
        const float t[2] = {wk_q3k_scale(b, g), wk_q3k_scale(b, g + 1)};
        for (int l = 0; l < 16; l++) v[l] = t[0] * (float)(((q[l] >> shift) & 3) - (((hm[l] >> bit) & 1) ? 0 : 4));
        for (int l = 16; l < 32; l++) v[l] = t[1] * (float)(((q[l] >> shift) & 3) - (((hm[l] >> bit) & 1) ? 0 : 4));
        break;
    }
    case WK_Q4_K: case WK_Q5_K: {
        float dl, ml;
        wk_q45k_scale(b, c, &dl, &ml);
        const int nib = 4 * (c & 1);
        if (type == WK_Q4_K) {
            const uint8_t *q = b + 16 + 32 * (c >> 1);
            for (int l = 0; l < 32; l++) v[l] = dl * (float)((q[l] >> nib) & 15) - ml;
        } else {
            const uint8_t *qh = b + 16, *q = b + 48 + 32 * (c >> 1);
            for (int l = 0; l < 32; l++) v[l] = dl * (float)(((q[l] >> nib) & 15) | (((qh[l] >> c) & 1) << 4)) - ml;
        }
        break;
    }
    case WK_Q6_K: {
        const int h = c >> 2, k = c & 3;
        const uint8_t *lo = b + 64 * h + 32 * (k & 1), *h2 = b + 128 + 32 * h;
        const int nib = 4 * (k >> 1), shift = 2 * k, g = 8 * h + 2 * k;
        const float d0 = wk_q6k_scale(b, g), d1 = wk_q6k_scale(b, g + 1);
        for (int l = 0; l < 16; l++) v[l] = d0 * (float)((((lo[l] >> nib) & 15) | (((h2[l] >> shift) & 3) << 4)) - 32);
        for (int l = 16; l < 32; l++) v[l] = d1 * (float)((((lo[l] >> nib) & 15) | (((h2[l] >> shift) & 3) << 4)) - 32);
        break;
    }
    default: break;
    }
}

// One K-quant row decoded, chunk by chunk (bit-identical to the reference dequantizer).
#define WK_KQUANT_DECODE(T)                                                                       \
    WK_INLINE static inline void wk_kdecode_##T(const uint8_t *row, long cols, float *out) {                \
        for (long k = 0; k < cols / 256; k++)                                                     \
            for (int c = 0; c < 8; c++) wk_kquant_chunk(T, row + k * wk_kblock_bytes(T), c, out + 256 * k + 32 * c); \
    }
WK_KQUANT_DECODE(WK_Q2_K)
WK_KQUANT_DECODE(WK_Q3_K)
WK_KQUANT_DECODE(WK_Q4_K)
WK_KQUANT_DECODE(WK_Q5_K)
WK_KQUANT_DECODE(WK_Q6_K)

// One K-quant row dotted with x. Each loop runs over 16 or 32 bytes with every shift and scale fixed
// for the loop, so it vectorises; each element's value is its scale times its level (minus its min),
// as decoded, multiplied by x and summed in 16 or 32 float lanes.
WK_INLINE static inline float wk_lanes_sum(const float *lanes, int n) {
    float acc = 0;
    for (int j = 0; j < n; j++) acc += lanes[j];
    return acc;
}

WK_INLINE static inline float wk_kdot_WK_Q2_K(const uint8_t *row, long cols, const float *x) {
    float lanes[16] = {0};
    for (long k = 0; k < cols / 256; k++) {
        const uint8_t *b = row + k * 84;
        for (int h = 0; h < 2; h++) {
            const uint8_t *q = b + 16 + 32 * h;
            for (int sh = 0; sh < 4; sh++) {
                for (int half = 0; half < 2; half++) {
                    float dl, ml;
                    wk_q2k_scale(b, 8 * h + 2 * sh + half, &dl, &ml);
                    const uint8_t *qq = q + 16 * half;
                    const float *xs = x + 256 * k + 128 * h + 32 * sh + 16 * half;
                    for (int l = 0; l < 16; l++) lanes[l] += (dl * (float)((qq[l] >> (2 * sh)) & 3) - ml) * xs[l];
                }
            }
        }
    }
    return wk_lanes_sum(lanes, 16);
}

WK_INLINE static inline float wk_kdot_WK_Q3_K(const uint8_t *row, long cols, const float *x) {
    float lanes[16] = {0};
    for (long k = 0; k < cols / 256; k++) {
        const uint8_t *b = row + k * 110, *hm = b;
        for (int h = 0; h < 2; h++) {
            const uint8_t *q = b + 32 + 32 * h;
            for (int sh = 0; sh < 4; sh++) {
                const int bit = 4 * h + sh;
                for (int half = 0; half < 2; half++) {
                    const float dl = wk_q3k_scale(b, 8 * h + 2 * sh + half);
                    const uint8_t *qq = q + 16 * half, *hh = hm + 16 * half;
                    const float *xs = x + 256 * k + 128 * h + 32 * sh + 16 * half;
                    for (int l = 0; l < 16; l++)
                        lanes[l] += dl * (float)(((qq[l] >> (2 * sh)) & 3) - 4 + 4 * ((hh[l] >> bit) & 1)) * xs[l];
                }
            }
        }
    }
    return wk_lanes_sum(lanes, 16);
}

WK_INLINE static inline float wk_kdot_WK_Q4_K(const uint8_t *row, long cols, const float *x) {
    float lanes[32] = {0};
    for (long k = 0; k < cols / 256; k++) {
        const uint8_t *b = row + k * 144;
        for (int p = 0; p < 4; p++) {
            float d0, n0, d1, n1;
            wk_q45k_scale(b, 2 * p, &d0, &n0);
            wk_q45k_scale(b, 2 * p + 1, &d1, &n1);
            const uint8_t *q = b + 16 + 32 * p;
            const float *xs = x + 256 * k + 64 * p;
            for (int l = 0; l < 32; l++)
                lanes[l] += (d0 * (float)(q[l] & 15) - n0) * xs[l] + (d1 * (float)(q[l] >> 4) - n1) * xs[l + 32];
        }
    }
    return wk_lanes_sum(lanes, 32);
}

WK_INLINE static inline float wk_kdot_WK_Q5_K(const uint8_t *row, long cols, const float *x) {
    float lanes[32] = {0};
    for (long k = 0; k < cols / 256; k++) {
        const uint8_t *b = row + k * 176, *qh = b + 16;
        for (int p = 0; p < 4; p++) {
            float d0, n0, d1, n1;
            wk_q45k_scale(b, 2 * p, &d0, &n0);
            wk_q45k_scale(b, 2 * p + 1, &d1, &n1);
            const uint8_t *q = b + 48 + 32 * p;
            const float *xs = x + 256 * k + 64 * p;
            for (int l = 0; l < 32; l++) {
                const int lo = (q[l] & 15) | (((qh[l] >> (2 * p)) & 1) << 4);
                const int hi = (q[l] >> 4) | (((qh[l] >> (2 * p + 1)) & 1) << 4);
                lanes[l] += (d0 * (float)lo - n0) * xs[l] + (d1 * (float)hi - n1) * xs[l + 32];
            }
        }
    }
    return wk_lanes_sum(lanes, 32);
}

WK_INLINE static inline float wk_kdot_WK_Q6_K(const uint8_t *row, long cols, const float *x) {
    float lanes[16] = {0};
    for (long k = 0; k < cols / 256; k++) {
        const uint8_t *b = row + k * 210;
        for (int h = 0; h < 2; h++) {
            const uint8_t *ql = b + 64 * h, *qh = b + 128 + 32 * h;
            for (int half = 0; half < 2; half++) {
                const int g = 8 * h + half, o = 16 * half;
                const float s1 = wk_q6k_scale(b, g), s2 = wk_q6k_scale(b, g + 2), s3 = wk_q6k_scale(b, g + 4), s4 = wk_q6k_scale(b, g + 6);
                const float *xs = x + 256 * k + 128 * h + o;
                for (int l = 0; l < 16; l++) {
                    const int a = ql[o + l], c = ql[o + l + 32], hb = qh[o + l];
                    const int q1 = ((a & 15) | ((hb & 3) << 4)) - 32;
                    const int q2 = ((c & 15) | (((hb >> 2) & 3) << 4)) - 32;
                    const int q3 = ((a >> 4) | (((hb >> 4) & 3) << 4)) - 32;
                    const int q4 = ((c >> 4) | (((hb >> 6) & 3) << 4)) - 32;
                    lanes[l] += s1 * (float)q1 * xs[l] + s2 * (float)q2 * xs[l + 32] + s3 * (float)q3 * xs[l + 64] + s4 * (float)q4 * xs[l + 96];
                }
            }
        }
    }
    return wk_lanes_sum(lanes, 16);
}

WK_CLONES void wk_stored_decode_rows(int type, const void *weights, long cols, long row0, long nrows, float *out) {
    const long rb = wk_stored_row_bytes(type, cols);
    for (long r = 0; r < nrows; r++) {
        const uint8_t *row = (const uint8_t *)weights + (row0 + r) * rb;
        float *o = out + r * cols;
        switch (type) {
        case WK_F32: memcpy(o, row, (size_t)cols * 4); break;
        case WK_F16:
            for (long c = 0; c < cols; c++) o[c] = wk_half(row + 2 * c);
            break;
        case WK_BF16:
            for (long c = 0; c < cols; c++) o[c] = wk_bf16(row + 2 * c);
            break;
        case WK_Q2_K: wk_kdecode_WK_Q2_K(row, cols, o); break;
        case WK_Q3_K: wk_kdecode_WK_Q3_K(row, cols, o); break;
        case WK_Q4_K: wk_kdecode_WK_Q4_K(row, cols, o); break;
        case WK_Q5_K: wk_kdecode_WK_Q5_K(row, cols, o); break;
        case WK_Q6_K: wk_kdecode_WK_Q6_K(row, cols, o); break;
        default: {
            const long bb = wk_block_bytes(type);
            for (long k = 0; k < cols / 32; k++) wk_decode_block(type, row + k * bb, o + 32 * k);
        }
        }
    }
}

// Dot of x with each row: for blocks, the integer part times x summed first, then scaled once.
WK_CLONES void wk_stored_gemv(int type, const void *weights, long cols, long row0, long nrows, const float *x, float *y) {
    const long rb = wk_stored_row_bytes(type, cols);
    for (long r = 0; r < nrows; r++) {
        const uint8_t *row = (const uint8_t *)weights + (row0 + r) * rb;
        float acc = 0;
        switch (type) {
        case WK_F32: {
            const float *w = (const float *)(const void *)row;
            float lanes[16] = {0};
            long c = 0;
            for (; c + 16 <= cols; c += 16)
                for (int k = 0; k < 16; k++) lanes[k] += w[c + k] * x[c + k];
            for (int k = 0; k < 16; k++) acc += lanes[k];
            for (; c < cols; c++) acc += w[c] * x[c];
            break;
        }
        case WK_F16: {
            const _Float16 *w = (const _Float16 *)(const void *)row;
            float lanes[16] = {0};
            long c = 0;
            for (; c + 16 <= cols; c += 16)
                for (int k = 0; k < 16; k++) lanes[k] += (float)w[c + k] * x[c + k];
            for (int k = 0; k < 16; k++) acc += lanes[k];
            for (; c < cols; c++) acc += (float)w[c] * x[c];
            break;
        }
        case WK_BF16: {
            const uint16_t *w = (const uint16_t *)(const void *)row;
            float lanes[16] = {0};
            long c = 0;
            for (; c + 16 <= cols; c += 16)
                for (int k = 0; k < 16; k++) {
                    uint32_t u = (uint32_t)w[c + k] << 16;
                    float f;
                    memcpy(&f, &u, 4);
                    lanes[k] += f * x[c + k];
                }
            for (int k = 0; k < 16; k++) acc += lanes[k];
            for (; c < cols; c++) acc += wk_bf16(row + 2 * c) * x[c];
            break;
        }
        case WK_Q8_0: {
            // Eight lanes per block (vectorisable without reassociating one float sum), scaled per block.
            float lanes[8] = {0};
            for (long k = 0; k < cols / 32; k++) {
                const uint8_t *b = row + k * 34;
                const int8_t *q = (const int8_t *)(b + 2);
                const float *xs = x + 32 * k;
                float p[8] = {0};
                for (int j = 0; j < 32; j += 8)
                    for (int t = 0; t < 8; t++) p[t] += (float)q[j + t] * xs[j + t];
                const float d = wk_half(b);
                for (int t = 0; t < 8; t++) lanes[t] += d * p[t];
            }
            for (int t = 0; t < 8; t++) acc += lanes[t];
            break;
        }
        case WK_Q4_0: {
            float lanes[8] = {0};
            for (long k = 0; k < cols / 32; k++) {
                const uint8_t *b = row + k * 18;
                const uint8_t *q = b + 2;
                const float *xs = x + 32 * k;
                float p[8] = {0};
                for (int j = 0; j < 16; j += 8)
                    for (int t = 0; t < 8; t++)
                        p[t] += (float)((int)(q[j + t] & 15) - 8) * xs[j + t] + (float)((int)(q[j + t] >> 4) - 8) * xs[j + t + 16];
                const float d = wk_half(b);
                for (int t = 0; t < 8; t++) lanes[t] += d * p[t];
            }
            for (int t = 0; t < 8; t++) acc += lanes[t];
            break;
        }
        case WK_Q4_1: case WK_Q5_0: case WK_Q5_1: {
            const long bb = wk_block_bytes(type);
            float tmp[32];
            float lanes[8] = {0};
            for (long k = 0; k < cols / 32; k++) {
                wk_decode_block(type, row + k * bb, tmp);
                const float *xs = x + 32 * k;
                for (int j = 0; j < 32; j += 8)
                    for (int t = 0; t < 8; t++) lanes[t] += tmp[j + t] * xs[j + t];
            }
            for (int t = 0; t < 8; t++) acc += lanes[t];
            break;
        }
        case WK_Q2_K: acc = wk_kdot_WK_Q2_K(row, cols, x); break;
        case WK_Q3_K: acc = wk_kdot_WK_Q3_K(row, cols, x); break;
        case WK_Q4_K: acc = wk_kdot_WK_Q4_K(row, cols, x); break;
        case WK_Q5_K: acc = wk_kdot_WK_Q5_K(row, cols, x); break;
        case WK_Q6_K: acc = wk_kdot_WK_Q6_K(row, cols, x); break;
        default: break;
        }
        y[r] = acc;
    }
}
