/* gemm_floor: how long cblas_sgemm alone needs for exactly the matrix products of one forward
 * pass, the floor that libswin's latency is compared with (docs/performance.md).
 *
 *   gemm_floor --arch PRESET | --model MODEL [--batch N] [--size S] [--threads T] [--runs R]
 *              [--json]
 *
 * This program defines cblas_sgemm itself, so libswin's calls resolve to it (the executable
 * comes first in symbol lookup): one forward pass on one thread records every call's shape
 * (the logical products, unsplit), which are then replayed on OpenBLAS's own function in three
 * arrangements, each timed R times (median):
 *   blas_threads  the calls one after another, OpenBLAS using T threads per call;
 *   single        the calls one after another on one thread (single / T: a perfect split);
 *   split         T threads each running single-threaded calls, the calls dealt out by
 *                 FLOPs (longest first), all started together.
 * The floor is the smallest of blas_threads, single / T and split. Operands are fixed buffers
 * of random numbers (data does not change sgemm's time). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <swin/swin.h>

#include "../tools/bench.h"

/* The CBLAS enums, as in cblas.h (not included: this file defines the function). */
enum { ROW_MAJOR = 101, NO_TRANS = 111 };

typedef struct call {
    int order, ta, tb;
    int m, n, k, lda, ldb, ldc;
    float alpha, beta;
} call;

typedef void (*sgemm_fn)(int, int, int, int, int, int, float, const float *, int, const float *,
                         int, float, float *, int);
typedef void (*set_threads_fn)(int);

static sgemm_fn real_sgemm;
static set_threads_fn set_blas_threads;
static call *calls;
static size_t ncalls, cap;
static bool recording, record_failed;
static double live_small, live_big;
static double now_ms(void);

void cblas_sgemm(int order, int ta, int tb, int m, int n, int k, float alpha, const float *A,
                 int lda, const float *B, int ldb, float beta, float *C, int ldc);
void cblas_sgemm(int order, int ta, int tb, int m, int n, int k, float alpha, const float *A,
                 int lda, const float *B, int ldb, float beta, float *C, int ldc) {
    if (recording) {
        if (ncalls == cap) {
            size_t nc = cap ? 2 * cap : 4096;
            call *p = realloc(calls, nc * sizeof *p);
            if (!p) {
                record_failed = true;
            } else {
                calls = p;
                cap = nc;
            }
        }
        if (ncalls < cap) calls[ncalls++] = (call){order, ta, tb, m, n, k, lda, ldb, ldc, alpha, beta};
    }
    double t0 = now_ms();
    real_sgemm(order, ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
    double dt = now_ms() - t0;
    if (m <= 197 && k <= 197 && n <= 197) live_small += dt; else live_big += dt;
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *x, const void *y) {
    const double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Operand buffers big enough for every recorded call. */
typedef struct buffers {
    float *A, *B, *C;
} buffers;

static size_t rows_a(const call *c) {
    return (size_t)(c->ta == NO_TRANS ? c->m : c->k);
}
static size_t rows_b(const call *c) {
    return (size_t)(c->tb == NO_TRANS ? c->k : c->n);
}

static bool buffers_make(buffers *b, const call *list, size_t n) {
    size_t na = 1, nb = 1, nc = 1;
    for (size_t i = 0; i < n; i++) {
        const call *c = &list[i];
        const size_t a = rows_a(c) * (size_t)c->lda, bb = rows_b(c) * (size_t)c->ldb,
                     cc = (size_t)c->m * (size_t)c->ldc;
        na = a > na ? a : na;
        nb = bb > nb ? bb : nb;
        nc = cc > nc ? cc : nc;
    }
    b->A = malloc(na * sizeof(float));
    b->B = malloc(nb * sizeof(float));
    b->C = malloc(nc * sizeof(float));
    if (!b->A || !b->B || !b->C) return false;
    uint32_t s = 7;
    for (size_t i = 0; i < na; i++) b->A[i] = (float)((s = s * 1664525u + 1013904223u) >> 8) / 16777216.0f - 0.5f;
    for (size_t i = 0; i < nb; i++) b->B[i] = (float)((s = s * 1664525u + 1013904223u) >> 8) / 16777216.0f - 0.5f;
    memset(b->C, 0, nc * sizeof(float));
    return true;
}

static void buffers_free(buffers *b) {
    free(b->A);
    free(b->B);
    free(b->C);
}

static void replay(const call *list, size_t n, const buffers *b) {
    for (size_t i = 0; i < n; i++) {
        const call *c = &list[i];
        real_sgemm(c->order, c->ta, c->tb, c->m, c->n, c->k, c->alpha, b->A, c->lda, b->B, c->ldb,
                   c->beta, b->C, c->ldc);
    }
}

static double flops_of(const call *c) {
    return 2.0 * c->m * c->n * c->k;
}

/* ---- the split arrangement ---- */

typedef struct lane {
    call *list;
    size_t n;
    buffers buf;
    pthread_t thread;
} lane;

typedef struct split {
    lane *lanes;
    int T;
    pthread_barrier_t start, stop;
    int rounds;
} split;

typedef struct lane_arg {
    split *sp;
    int i;
} lane_arg;

static void *lane_main(void *v) {
    lane_arg *a = v;
    for (int r = 0; r < a->sp->rounds; r++) {
        pthread_barrier_wait(&a->sp->start);
        double t0 = now_ms();
        replay(a->sp->lanes[a->i].list, a->sp->lanes[a->i].n, &a->sp->lanes[a->i].buf);
        if (getenv("GF_DEBUG")) fprintf(stderr, "lane %d: %zu calls %.2f ms\n", a->i, a->sp->lanes[a->i].n, now_ms() - t0);
        pthread_barrier_wait(&a->sp->stop);
    }
    return NULL;
}

static int by_flops_desc(const void *x, const void *y) {
    const double a = flops_of(x), b = flops_of(y);
    return (a < b) - (a > b);
}

/* Median of `runs` rounds with the calls dealt to T single-threaded lanes; < 0 on failure. */
static double time_split(int T, int runs) {
    split sp = {.T = T, .rounds = runs + 1};
    sp.lanes = calloc((size_t)T, sizeof *sp.lanes);
    call *sorted = malloc(ncalls * sizeof *sorted);
    double *load = calloc((size_t)T, sizeof *load);
    double *times = malloc((size_t)runs * sizeof *times);
    lane_arg *args = calloc((size_t)T, sizeof *args);
    double result = -1.0;
    if (!sp.lanes || !sorted || !load || !times || !args) goto out;
    memcpy(sorted, calls, ncalls * sizeof *sorted);
    qsort(sorted, ncalls, sizeof *sorted, by_flops_desc);
    for (int t = 0; t < T; t++) {
        sp.lanes[t].list = malloc(ncalls * sizeof(call));
        if (!sp.lanes[t].list) goto out;
    }
    for (size_t i = 0; i < ncalls; i++) { /* longest first to the least loaded lane */
        int best = 0;
        for (int t = 1; t < T; t++)
            if (load[t] < load[best]) best = t;
        sp.lanes[best].list[sp.lanes[best].n++] = sorted[i];
        load[best] += flops_of(&sorted[i]);
    }
    for (int t = 0; t < T; t++)
        if (!buffers_make(&sp.lanes[t].buf, sp.lanes[t].list, sp.lanes[t].n)) goto out;
    pthread_barrier_init(&sp.start, NULL, (unsigned)T + 1);
    pthread_barrier_init(&sp.stop, NULL, (unsigned)T + 1);
    for (int t = 0; t < T; t++) {
        args[t] = (lane_arg){&sp, t};
        pthread_create(&sp.lanes[t].thread, NULL, lane_main, &args[t]);
    }
    for (int r = 0; r < sp.rounds; r++) {
        const double t0 = now_ms();
        pthread_barrier_wait(&sp.start);
        pthread_barrier_wait(&sp.stop);
        if (r > 0) times[r - 1] = now_ms() - t0; /* round 0 warms up */
    }
    for (int t = 0; t < T; t++)
        pthread_join(sp.lanes[t].thread, NULL);
    pthread_barrier_destroy(&sp.start);
    pthread_barrier_destroy(&sp.stop);
    result = median(times, runs);
out:
    if (sp.lanes)
        for (int t = 0; t < T; t++) {
            free(sp.lanes[t].list);
            buffers_free(&sp.lanes[t].buf);
        }
    free(sp.lanes);
    free(sorted);
    free(load);
    free(times);
    free(args);
    return result;
}

static double time_serial(int blas_threads, int runs, const buffers *b) {
    double *times = malloc((size_t)runs * sizeof *times);
    if (!times) return -1.0;
    set_blas_threads(blas_threads);
    replay(calls, ncalls, b); /* warm-up */
    for (int r = 0; r < runs; r++) {
        const double t0 = now_ms();
        replay(calls, ncalls, b);
        times[r] = now_ms() - t0;
    }
    const double m = median(times, runs);
    free(times);
    return m;
}

static int usage(void) {
    fprintf(stderr, "usage: gemm_floor --arch PRESET | --model MODEL [--batch N] [--size S] "
                    "[--threads T] [--runs R] [--json]\n");
    return 2;
}

int main(int argc, char **argv) {
    const char *arch = NULL, *model = NULL;
    int batch = 1, threads = 2, runs = 10;
    long long size = 0;
    bool json = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--json")) { json = true; continue; }
        if (!v) return usage();
        if (!strcmp(a, "--arch")) arch = v;
        else if (!strcmp(a, "--model")) model = v;
        else if (!strcmp(a, "--batch")) batch = atoi(v);
        else if (!strcmp(a, "--size")) size = atoll(v);
        else if (!strcmp(a, "--threads")) threads = atoi(v);
        else if (!strcmp(a, "--runs")) runs = atoi(v);
        else return usage();
        i++;
    }
    if ((!arch) == (!model) || batch < 1 || threads < 1 || threads > 256 || runs < 1 || size < 0)
        return usage();
    real_sgemm = (sgemm_fn)(uintptr_t)dlsym(RTLD_NEXT, "cblas_sgemm");
    set_blas_threads = (set_threads_fn)(uintptr_t)dlsym(RTLD_DEFAULT, "openblas_set_num_threads");
    if (!real_sgemm || !set_blas_threads) {
        fprintf(stderr, "gemm_floor: OpenBLAS's cblas_sgemm/openblas_set_num_threads not found\n");
        return 1;
    }

    /* one forward pass on one thread, recording */
    uint8_t *synth = NULL;
    size_t synth_size = 0;
    if (!model && !bench_synthesize(arch, size, &synth, &synth_size)) {
        fprintf(stderr, "gemm_floor: --arch %s: unknown preset\n", arch);
        return 2;
    }
    swin_model *m = NULL;
    swin_context *ctx = NULL;
    swin_tensor *x = NULL;
    swin_status s = model ? swin_model_load_file(&m, model, NULL)
                          : swin_model_load_memory(&m, synth, synth_size, NULL);
    const char *cin = s == SWIN_OK ? swin_model_get(m, "in_chans") : NULL;
    const int64_t S = size > 0 ? size : (s == SWIN_OK ? swin_model_input_size(m) : 0);
    const int64_t shape[4] = {batch, cin ? atoll(cin) : 3, S, S};
    if (s == SWIN_OK) s = swin_tensor_create(&x, 4, shape);
    if (s == SWIN_OK) s = swin_context_create(&ctx, m);
    if (s == SWIN_OK) s = swin_context_set_num_threads(ctx, 1);
    if (s == SWIN_OK) {
        float *px = swin_tensor_data(x);
        uint32_t st = 99;
        for (int64_t i = 0; i < swin_tensor_numel(x); i++) {
            st = st * 1664525u + 1013904223u;
            px[i] = (float)(st >> 8) / 16777216.0f * 2.0f - 1.0f;
        }
        recording = true;
        s = swin_context_run(ctx, x);
        recording = false;
        if (getenv("GF_DEBUG")) {
            for (int r = 0; r < 3; r++) {
                live_small = live_big = 0;
                double t0 = now_ms();
                swin_context_run(ctx, x);
                fprintf(stderr, "forward %.2f ms: sgemm small %.2f big %.2f\n", now_ms() - t0, live_small, live_big);
            }
        }
    }
    if (s != SWIN_OK || record_failed) {
        fprintf(stderr, "gemm_floor: %s\n", s != SWIN_OK ? swin_last_error() : "out of memory");
        return 1;
    }
    swin_context_free(ctx);
    swin_tensor_free(x);
    double gflop = 0.0;
    for (size_t i = 0; i < ncalls; i++)
        gflop += flops_of(&calls[i]) / 1e9;

    buffers b;
    if (!buffers_make(&b, calls, ncalls)) {
        fprintf(stderr, "gemm_floor: out of memory\n");
        return 1;
    }
    if (getenv("GF_DEBUG")) {
        set_blas_threads(1);
        double small = 0, big = 0;
        for (int r = 0; r < 3; r++) {
            small = big = 0;
            for (size_t i = 0; i < ncalls; i++) {
                const call *c = &calls[i];
                double t0 = now_ms();
                real_sgemm(c->order, c->ta, c->tb, c->m, c->n, c->k, c->alpha, b.A, c->lda, b.B, c->ldb, c->beta, b.C, c->ldc);
                double dt = now_ms() - t0;
                if (c->m <= 197 && (c->k <= 197 && c->n <= 197)) small += dt; else big += dt;
            }
        }
        fprintf(stderr, "replay: attention-sized %.2f ms, other %.2f ms; live forward: %.2f, %.2f\n", small, big, live_small, live_big);
    }
    const double t_blas = time_serial(threads, runs, &b);
    const double t_single = time_serial(1, runs, &b);
    const double t_split = threads > 1 ? time_split(threads, runs) : t_single;
    buffers_free(&b);
    double floor_ms = t_blas;
    if (t_single / threads < floor_ms) floor_ms = t_single / threads;
    if (t_split > 0 && t_split < floor_ms) floor_ms = t_split;
    const char *name = model ? model : arch;
    if (json) {
        printf("{\"model\": \"%s\", \"batch\": %d, \"size\": %lld, \"threads\": %d, \"runs\": %d, "
               "\"calls\": %zu, \"gflop\": %.4f, \"ms_blas_threads\": %.3f, \"ms_single\": %.3f, "
               "\"ms_single_over_threads\": %.3f, \"ms_split\": %.3f, \"floor_ms\": %.3f}\n",
               name, batch, (long long)S, threads, runs, ncalls, gflop, t_blas, t_single,
               t_single / threads, t_split, floor_ms);
    } else {
        printf("model            %s, batch %d, size %lld\n", name, batch, (long long)S);
        printf("sgemm calls      %zu, %.3f GFLOP\n", ncalls, gflop);
        printf("blas threads     %.2f ms (OpenBLAS %d threads per call)\n", t_blas, threads);
        printf("single           %.2f ms (1 thread; / %d = %.2f ms)\n", t_single, threads,
               t_single / threads);
        printf("split            %.2f ms (%d single-threaded lanes)\n", t_split, threads);
        printf("floor            %.2f ms\n", floor_ms);
    }
    swin_model_free(m);
    free(synth);
    free(calls);
    return 0;
}
