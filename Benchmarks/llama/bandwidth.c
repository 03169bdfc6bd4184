// Read bandwidth of this machine: T threads each sum their slice of a 512 MiB buffer (wider than any
// cache), best of 7 rounds. Prints GB/s (10^9 bytes). The decode limit of a model is the bytes of weights
// read per token divided by this.
//   cc -O2 -march=native -pthread bandwidth.c -o bandwidth && ./bandwidth 2
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BYTES (512L << 20)

typedef struct { const double *p; long n; double sum; } job;

static void *reader(void *a) {
    job *j = a;
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
    for (long i = 0; i + 8 <= j->n; i += 8) {
        s0 += j->p[i]; s1 += j->p[i + 1]; s2 += j->p[i + 2]; s3 += j->p[i + 3];
        s4 += j->p[i + 4]; s5 += j->p[i + 5]; s6 += j->p[i + 6]; s7 += j->p[i + 7];
    }
    j->sum = s0 + s1 + s2 + s3 + s4 + s5 + s6 + s7;
    return NULL;
}

int main(int argc, char **argv) {
    int threads = argc > 1 ? atoi(argv[1]) : 2;
    if (threads < 1 || threads > 64) return 2;
    double *buf = malloc(BYTES);
    if (!buf) return 1;
    for (long i = 0; i < BYTES / 8; i++) buf[i] = (double)(i & 1023);
    double best = 0, check = 0;
    for (int round = 0; round < 7; round++) {
        pthread_t t[64];
        job j[64];
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        for (int k = 0; k < threads; k++) {
            j[k].n = BYTES / 8 / threads;
            j[k].p = buf + k * j[k].n;
            pthread_create(&t[k], NULL, reader, &j[k]);
        }
        for (int k = 0; k < threads; k++) { pthread_join(t[k], NULL); check += j[k].sum; }
        clock_gettime(CLOCK_MONOTONIC, &b);
        double s = (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) * 1e-9;
        double gbs = BYTES / s / 1e9;
        if (gbs > best) best = gbs;
    }
    printf("%.2f\n", best);
    fprintf(stderr, "checksum %g\n", check);
    free(buf);
    return 0;
}
