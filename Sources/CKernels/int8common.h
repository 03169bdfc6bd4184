// Shared by the 8-bit-activation kernels, int8gemv.c (one token) and int8gemm.c (prefill); private to
// CKernels: the x86 target attributes, the block levels as unsigned bytes, and the version a call runs.
#ifndef WEIGHTKIT_INT8COMMON_H
#define WEIGHTKIT_INT8COMMON_H
#include "ckernels.h"
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#define WK_X86 1
#else
#define WK_X86 0
#endif

#define WK_INLINE __attribute__((always_inline))
#include "kscales.h"

// The version a call runs: `level`, or the best this CPU runs when level is −1 or above it.
static inline int wk_act8_level(int level) {
    static int best = -1;
    int b = __atomic_load_n(&best, __ATOMIC_RELAXED);
    if (b < 0) {
        b = wk_act8_best_level();
        __atomic_store_n(&best, b, __ATOMIC_RELAXED);
    }
    return level < 0 || level > b ? b : level;
}

#if WK_X86
#define WK_AVX2 __attribute__((target("avx2,fma,f16c")))
#define WK_VNNI __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")))

// Element j < 16 from the low nibble of byte j, element j + 16 from its high nibble.
WK_INLINE WK_AVX2 static inline __m256i wk_nibbles(const uint8_t *p) {
    const __m128i t = _mm_loadu_si128((const __m128i *)(const void *)p);
    return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(t, 4), t), _mm256_set1_epi8(15));
}

// 16 where bit j of the 32-bit word at p is set (byte j), else 0: byte j takes byte j/8 of the word,
// then keeps bit j%8.
WK_INLINE WK_AVX2 static inline __m256i wk_fifth_bits(const uint8_t *p) {
    uint32_t h;
    memcpy(&h, p, 4);
    const __m256i spread = _mm256_shuffle_epi8(
        _mm256_set1_epi32((int)h), _mm256_set_epi64x(0x0303030303030303LL, 0x0202020202020202LL, 0x0101010101010101LL, 0));
    const __m256i sel = _mm256_set1_epi64x((long long)0x8040201008040201ULL);
    return _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(spread, sel), sel), _mm256_set1_epi8(16));
}

// The levels (unsigned bytes) of one block of 32 (q8_0, q4_0, q4_1, q5_0, q5_1) in element order; q8_0
// gives its signed bytes as they are.
#define WK_LEVELS(type, b)                                                                              \
    ((type) == WK_Q8_0   ? _mm256_loadu_si256((const __m256i *)(const void *)((b) + 2))                 \
     : (type) == WK_Q4_0 ? wk_nibbles((b) + 2)                                                         \
     : (type) == WK_Q4_1 ? wk_nibbles((b) + 4)                                                         \
     : (type) == WK_Q5_0 ? _mm256_or_si256(wk_nibbles((b) + 6), wk_fifth_bits((b) + 2))              \
                         : _mm256_or_si256(wk_nibbles((b) + 8), wk_fifth_bits((b) + 4)))
#endif

#endif
