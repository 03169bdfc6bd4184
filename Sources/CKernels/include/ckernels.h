// Elementwise float32 kernels of the executor that Swift's baseline x86-64 target cannot
// vectorise well: exp-based activations and the softmax exponentials. Each function is compiled
// twice (AVX2+FMA and the baseline) with target_clones; the loader picks the clone the CPU supports.
#ifndef WEIGHTKIT_CKERNELS_H
#define WEIGHTKIT_CKERNELS_H

/// y[i] = x[i]·σ(2·√(2/π)·(x[i] + 0.044715·x[i]³))  (the tanh GELU), n elements.
void wk_gelu_tanh(const float *x, float *y, long n);
/// y[i] = x[i]·σ(x[i])  (SiLU), n elements.
void wk_silu(const float *x, float *y, long n);
/// x[i] = exp(x[i] − m) in place, n elements; returns their sum.
float wk_exp_shifted_sum(float *x, long n, float m);

#endif
