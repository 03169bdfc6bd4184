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
#include "ckernels.h"
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) && defined(__clang__)
#define WK_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define WK_CLONES
#endif

static inline float wk_half(const uint8_t *p) {
    _Float16 h;
    memcpy(&h, p, 2);
    return (float)h;
}

static inline float wk_bf16(const uint8_t *p) {
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
    default: return -1;
    }
}

// One block of 32 decoded into out[0..<32].
static inline void wk_decode_block(int type, const uint8_t *b, float *out) {
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

static inline long wk_block_bytes(int type) {
    switch (type) {
    case WK_Q8_0: return 34;
    case WK_Q4_0: return 18;
    case WK_Q4_1: return 20;
    case WK_Q5_0: return 22;
    case WK_Q5_1: return 24;
    default: return 0;
    }
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
        default: break;
        }
        y[r] = acc;
    }
}
