// WeightKit test-vector helper: quantizes float32 rows with a llama.cpp build through ggml's public
// API, so that the expected K-quant blocks come from llama.cpp's own code. Built and run by
// make_vectors.py (which passes the include and library paths); not part of WeightKit's build.
//
//   quantize_ref quantize TYPE N_PER_ROW ROWS IN.f32 OUT.bin [IMATRIX.f32]
//       ggml_quantize_chunk(TYPE, …, imatrix) over ROWS rows of N_PER_ROW values; with IMATRIX
//       (N_PER_ROW float32 weights) the importance-weighted path. TYPE is ggml's name (q4_K, …).
//       q8_K has no ggml_quantize_chunk case and no from_float_ref in ggml's public type traits; its
//       reference quantizer is called directly (exported by libggml-base, declared below because
//       its header, ggml-quants.h, is internal to ggml).
//   quantize_ref bench TYPE N_PER_ROW ROWS IN.f32 REPEATS
//       prints the best single-thread time of ggml_quantize_chunk without imatrix (seconds of the
//       thread's CPU time, so that other processes on a busy machine do not count).
#include <ggml.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

void quantize_row_q8_K_ref(const float *x, void *y, int64_t k);

static enum ggml_type type_named(const char *name) {
    for (int t = 0; t < GGML_TYPE_COUNT; t++) {
        const char *n = ggml_type_name((enum ggml_type)t);
        if (n && strcasecmp(n, name) == 0) return (enum ggml_type)t;
    }
    fprintf(stderr, "unknown ggml type %s\n", name);
    exit(2);
}

static float *read_floats(const char *path, size_t count) {
    FILE *f = fopen(path, "rb");
    if (!f) { perror(path); exit(2); }
    float *v = malloc(count * sizeof(float));
    if (fread(v, sizeof(float), count, f) != count) { fprintf(stderr, "%s: short read\n", path); exit(2); }
    fclose(f);
    return v;
}

static size_t run(enum ggml_type type, const float *src, void *dst, long n_per_row, long rows, const float *imatrix) {
    size_t bytes = ggml_row_size(type, n_per_row) * (size_t)rows;
    memset(dst, 0, bytes);
    if (type == GGML_TYPE_Q8_K) {
        quantize_row_q8_K_ref(src, dst, (int64_t)n_per_row * rows);
        return bytes;
    }
    return ggml_quantize_chunk(type, src, dst, 0, rows, n_per_row, imatrix);
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    if (argc < 7) {
        fprintf(stderr, "usage: %s quantize TYPE N_PER_ROW ROWS IN.f32 OUT.bin [IMATRIX.f32] | bench TYPE N_PER_ROW ROWS IN.f32 REPEATS\n", argv[0]);
        return 2;
    }
    enum ggml_type type = type_named(argv[2]);
    long n_per_row = atol(argv[3]), rows = atol(argv[4]);
    float *src = read_floats(argv[5], (size_t)n_per_row * rows);
    size_t bytes = ggml_row_size(type, n_per_row) * (size_t)rows;
    void *dst = malloc(bytes);
    ggml_quantize_init(type);
    if (strcmp(argv[1], "bench") == 0) {
        int repeats = atoi(argv[6]);
        double best = 1e30;
        for (int r = 0; r < repeats; r++) {
            double t0 = now();
            run(type, src, dst, n_per_row, rows, NULL);
            double t = now() - t0;
            if (t < best) best = t;
        }
        printf("%.6f\n", best);
        return 0;
    }
    float *imatrix = argc > 7 ? read_floats(argv[7], (size_t)n_per_row) : NULL;
    size_t got = run(type, src, dst, n_per_row, rows, imatrix);
    if (got != bytes) { fprintf(stderr, "ggml wrote %zu bytes, expected %zu\n", got, bytes); return 1; }
    FILE *out = fopen(argv[6], "wb");
    if (!out || fwrite(dst, 1, bytes, out) != bytes) { perror(argv[6]); return 1; }
    fclose(out);
    return 0;
}
