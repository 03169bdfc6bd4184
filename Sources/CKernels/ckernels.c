// See ckernels.h. exp uses the same scheme as the Swift kernel (Kernels.exp): Cody–Waite range
// reduction, a degree-7 Taylor polynomial, 2^n in the exponent bits, and 0 below −87.3. Relative
// error below 3e-7; tests compare against numpy.
#include "ckernels.h"
#include <stdint.h>
#include <string.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#if defined(__x86_64__) && defined(__clang__)
#define WK_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define WK_CLONES
#endif

static inline float wk_exp(float x) {
    float xc = x < -87.3f ? -87.3f : (x > 88.3f ? 88.3f : x);
    float t = xc * 1.44269504f + 12582912.0f;
    float n = t - 12582912.0f;
    float r = (xc - n * 0.693359375f) + n * 2.1219444e-4f;
    float p = 1.0f / 5040;
    p = p * r + 1.0f / 720;
    p = p * r + 1.0f / 120;
    p = p * r + 1.0f / 24;
    p = p * r + 1.0f / 6;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    uint32_t tb;
    memcpy(&tb, &t, 4);
    uint32_t sb = (tb - 0x4B400000u + 127u) << 23;
    float scale;
    memcpy(&scale, &sb, 4);
    return x < -87.3f ? 0.0f : p * scale;
}

WK_CLONES void wk_gelu_tanh(const float *restrict x, float *restrict y, long n) {
    const float c = 0.7978845608028654f;  // √(2/π)
    for (long i = 0; i < n; i++) {
        float v = x[i];
        float inner = c * (v + 0.044715f * (v * v * v));
        y[i] = v / (1.0f + wk_exp(-2.0f * inner));
    }
}

WK_CLONES void wk_silu(const float *restrict x, float *restrict y, long n) {
    for (long i = 0; i < n; i++) {
        float v = x[i];
        y[i] = v / (1.0f + wk_exp(-v));
    }
}

WK_CLONES float wk_exp_shifted_sum(float *restrict x, long n, float m) {
    for (long i = 0; i < n; i++) x[i] = wk_exp(x[i] - m);
    float lanes[16] = {0};
    long i = 0;
    for (; i + 16 <= n; i += 16)
        for (int k = 0; k < 16; k++) lanes[k] += x[i + k];
    float s = 0;
    for (int k = 0; k < 16; k++) s += lanes[k];
    for (; i < n; i++) s += x[i];
    return s;
}

// Sixteen running maxima, so each clone compares a vector at a time (max is exact in any order; a NaN
// among the scores makes every probability NaN through the exponentials whichever maximum is taken).
WK_CLONES float wk_max_f32(const float *restrict x, long n) {
    float lanes[16];
    for (int k = 0; k < 16; k++) lanes[k] = -3.40282347e38f;
    long i = 0;
    for (; i + 16 <= n; i += 16)
        for (int k = 0; k < 16; k++) lanes[k] = x[i + k] > lanes[k] ? x[i + k] : lanes[k];
    float m = -3.40282347e38f;
    for (int k = 0; k < 16; k++) m = lanes[k] > m ? lanes[k] : m;
    for (; i < n; i++) m = x[i] > m ? x[i] : m;
    return m;
}

WK_CLONES void wk_scale_f32(float *restrict x, long n, float s) {
    for (long i = 0; i < n; i++) x[i] *= s;
}

// glibc returns a freed block above its mmap threshold (128 KiB at first, raised as such blocks are freed)
// to the kernel, and trims the heap's top above 128 KiB free: an activation array of a few MB, freed
// after its last use and allocated again by the next op, then costs fresh zeroed pages every time.
void wk_keep_freed_memory(void) {
#if defined(__GLIBC__)
    static int done = 0;
    if (__atomic_exchange_n(&done, 1, __ATOMIC_RELAXED)) return;
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
#endif
}
