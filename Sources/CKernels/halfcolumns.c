// Kernels over f16/bf16 matrices laid out [in, out] (GPT-2's Conv1D weights in Hugging Face checkpoints),
// read in their stored dtype: a product y = x·W walks the rows of W (one per input feature) and adds
// x[i]·W[i, c0 ..< c0 + n] into a slice of y, so a thread owns a range of output columns and reads only
// its columns of every row; prefill decodes the same column ranges into a float32 panel for sgemm.
// Element (i, c) is 2 bytes at (i·cols + c)·2, little-endian; bf16 is the top half of a float32.
#include "ckernels.h"
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) && defined(__clang__)
#define WK_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define WK_CLONES
#endif

// Row i, columns c0 ..< c0 + n, times xi, added into y[0 ..< n] — four rows at a time, so y is loaded
// and stored once per four rows.
WK_CLONES void wk_half_gemv_cols(int type, const void *weights, long rows, long cols, long c0, long n, const float *x, float *y) {
    for (long j = 0; j < n; j++) y[j] = 0;
    long i = 0;
    if (type == WK_F16) {
        const _Float16 *w = (const _Float16 *)weights + c0;
        for (; i + 4 <= rows; i += 4) {
            const _Float16 *w0 = w + i * cols, *w1 = w0 + cols, *w2 = w1 + cols, *w3 = w2 + cols;
            const float x0 = x[i], x1 = x[i + 1], x2 = x[i + 2], x3 = x[i + 3];
            for (long j = 0; j < n; j++)
                y[j] += x0 * (float)w0[j] + x1 * (float)w1[j] + x2 * (float)w2[j] + x3 * (float)w3[j];
        }
        for (; i < rows; i++) {
            const _Float16 *w0 = w + i * cols;
            for (long j = 0; j < n; j++) y[j] += x[i] * (float)w0[j];
        }
    } else {
        const uint16_t *w = (const uint16_t *)weights + c0;
#define WK_BF(p) ({ uint32_t u_ = (uint32_t)(p) << 16; float f_; memcpy(&f_, &u_, 4); f_; })
        for (; i + 4 <= rows; i += 4) {
            const uint16_t *w0 = w + i * cols, *w1 = w0 + cols, *w2 = w1 + cols, *w3 = w2 + cols;
            const float x0 = x[i], x1 = x[i + 1], x2 = x[i + 2], x3 = x[i + 3];
            for (long j = 0; j < n; j++)
                y[j] += x0 * WK_BF(w0[j]) + x1 * WK_BF(w1[j]) + x2 * WK_BF(w2[j]) + x3 * WK_BF(w3[j]);
        }
        for (; i < rows; i++) {
            const uint16_t *w0 = w + i * cols;
            for (long j = 0; j < n; j++) y[j] += x[i] * WK_BF(w0[j]);
        }
    }
}

WK_CLONES void wk_half_decode_cols(int type, const void *weights, long rows, long cols, long c0, long n, float *out) {
    if (type == WK_F16) {
        const _Float16 *w = (const _Float16 *)weights + c0;
        for (long i = 0; i < rows; i++)
            for (long j = 0; j < n; j++) out[i * n + j] = (float)w[i * cols + j];
    } else {
        const uint16_t *w = (const uint16_t *)weights + c0;
        for (long i = 0; i < rows; i++)
            for (long j = 0; j < n; j++) out[i * n + j] = WK_BF(w[i * cols + j]);
    }
#undef WK_BF
}
