// Shared by storedkernels.c and int8gemv.c (private to CKernels): block sizes, the f16 read and the
// per-group scales of the K-quants (block layouts in storedkernels.c).
#ifndef WEIGHTKIT_KSCALES_H
#define WEIGHTKIT_KSCALES_H
#include <stdint.h>
#include <string.h>

#ifndef WK_INLINE
#define WK_INLINE __attribute__((always_inline))
#endif

// Bytes per block: 32-element types (q8_0, q4_0, q4_1, q5_0, q5_1), 256-element K-quants; 0 otherwise.
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

static inline long wk_kblock_bytes(int type) {
    switch (type) {
    case WK_Q2_K: return 84;
    case WK_Q3_K: return 110;
    case WK_Q4_K: return 144;
    case WK_Q5_K: return 176;
    case WK_Q6_K: return 210;
    default: return 0;
    }
}

WK_INLINE static inline float wk_half(const uint8_t *p) {
    _Float16 h;
    memcpy(&h, p, 2);
    return (float)h;
}

// The per-group scales of the K-quants, shared by the decoder (wk_kquant_chunk) and the dot products
// (wk_kdot_*): each is the super-block's f16 scale times the group's integer scale, computed the same way
// in both, so a decoded value and a dotted one use the same float.

// q2_k group g (0..<16, 16 elements each): scale d·(sc & 15) and min dmin·(sc >> 4).
WK_INLINE static inline void wk_q2k_scale(const uint8_t *b, int g, float *dl, float *ml) {
    *dl = wk_half(b + 80) * (float)(b[g] & 15);
    *ml = wk_half(b + 82) * (float)(b[g] >> 4);
}

// q3_k group i (0..<16): d times the 6-bit scale (low 4 bits from scales[0..<8], high 2 from
// scales[8..<12]) minus its bias of 32.
WK_INLINE static inline float wk_q3k_scale(const uint8_t *b, int i) {
    const uint8_t *sc = b + 96;
    const int low = i < 8 ? sc[i] & 15 : sc[i - 8] >> 4;
    const int high = (sc[8 + (i & 3)] >> (2 * (i >> 2))) & 3;
    return wk_half(b + 108) * (float)((low | (high << 4)) - 32);
}

// q4_k/q5_k group c (0..<8, 32 elements each): d·scale and dmin·min from the 12 packed bytes of 6-bit
// scales and mins.
WK_INLINE static inline void wk_q45k_scale(const uint8_t *b, int c, float *dl, float *ml) {
    const uint8_t *s = b + 4;
    int sc, m;
    if (c < 4) {
        sc = s[c] & 63;
        m = s[c + 4] & 63;
    } else {
        sc = (s[c + 4] & 15) | ((s[c - 4] >> 6) << 4);
        m = (s[c + 4] >> 4) | ((s[c] >> 6) << 4);
    }
    *dl = wk_half(b) * (float)sc;
    *ml = wk_half(b + 2) * (float)m;
}

// q4_k/q5_k: the eight 6-bit scales and mins of a super-block as integers (wk_q45k_scale's unpacking).
WK_INLINE static inline void wk_q45k_scales8(const uint8_t *b, uint8_t sc[8], uint8_t mn[8]) {
    const uint8_t *s = b + 4;
    for (int c = 0; c < 4; c++) {
        sc[c] = s[c] & 63;
        mn[c] = s[c + 4] & 63;
        sc[c + 4] = (uint8_t)((s[c + 8] & 15) | ((s[c] >> 6) << 4));
        mn[c + 4] = (uint8_t)((s[c + 8] >> 4) | ((s[c + 4] >> 6) << 4));
    }
}

// q6_k group g (0..<16): d times the signed 8-bit scale.
WK_INLINE static inline float wk_q6k_scale(const uint8_t *b, int g) {
    return wk_half(b + 208) * (float)((const int8_t *)(b + 192))[g];
}

#endif
