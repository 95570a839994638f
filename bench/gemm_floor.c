/* gemm_floor: how long cblas_sgemm alone needs for exactly the matrix products of one forward
 * pass, the floor that libswin's latency is compared with (docs/performance.md).
 *
 *   gemm_floor --arch PRESET | --model MODEL [--batch N] [--size S] [--threads T] [--runs R]
 *              [--breakdown] [--json]
 *
 * This program defines cblas_sgemm itself, so libswin's calls resolve to it (the executable
 * comes first in symbol lookup): one forward pass on one thread records every call's shape
 * (the logical products, unsplit), which are then replayed on OpenBLAS's own function in three
 * arrangements, each timed R times (median):
 *   blas_threads  the calls one after another, OpenBLAS using T threads per call;
 *   single        the calls one after another on one thread (single / T: a perfect split);
 *   split         T threads each running single-threaded calls, the calls dealt out by
 *                 FLOPs (longest first), all started together.
 * The floor is the smallest of blas_threads, single / T and split. The replayed calls read the
 * forward pass's own operands (the mapped weights and the context's activations, so memory
 * traffic is the real one) and write to a private output buffer per thread; subnormals are
 * flushed as in a forward pass (docs/threading.md).
 *
 * --breakdown also times three more forward passes on one thread and the sgemm calls inside
 * them: the share of the pass that is not matrix products. */
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
    const float *A, *B; /* the forward pass's own operands (weights, activations) */
    const float *C;     /* where it wrote (only to merge row blocks) */
} call;

typedef void (*sgemm_fn)(int, int, int, int, int, int, float, const float *, int, const float *,
                         int, float, float *, int);
typedef void (*set_threads_fn)(int);

static sgemm_fn real_sgemm;
static set_threads_fn set_blas_threads;
static call *calls;
static size_t ncalls, cap;
static bool recording, record_failed, timing;
static double live_ms; /* sgemm time inside forward passes, while timing */

void cblas_sgemm(int order, int ta, int tb, int m, int n, int k, float alpha, const float *A,
                 int lda, const float *B, int ldb, float beta, float *C, int ldc);
void cblas_sgemm(int order, int ta, int tb, int m, int n, int k, float alpha, const float *A,
                 int lda, const float *B, int ldb, float beta, float *C, int ldc) {
    if (recording) {
        /* libswin runs a product's rows in blocks (for cache locality) even on one thread:
         * a block that continues the previous call's rows is merged back into it, so that the
         * floor is that of the whole products */
        call *last = ncalls ? &calls[ncalls - 1] : NULL;
        const bool merge =
            last && last->order == order && last->ta == ta && last->tb == tb &&
            order == ROW_MAJOR && ta == NO_TRANS && last->n == n && last->k == k &&
            last->lda == lda && last->ldb == ldb && last->ldc == ldc && last->alpha == alpha &&
            last->beta == beta && last->B == B && last->A + (size_t)last->m * (size_t)lda == A &&
            last->C + (size_t)last->m * (size_t)ldc == C;
        if (merge) {
            last->m += m;
        } else {
            if (ncalls == cap) {
                size_t nc = cap ? 2 * cap : 4096;
                call *p = realloc(calls, nc * sizeof *p);
                if (p) {
                    calls = p;
                    cap = nc;
                }
            }
            if (ncalls < cap)
                calls[ncalls++] =
                    (call){order, ta, tb, m, n, k, lda, ldb, ldc, alpha, beta, A, B, C};
            else
                record_failed = true;
        }
    }
    const double t0 = timing ? bench_now_ms() : 0.0;
    real_sgemm(order, ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
    if (timing) live_ms += bench_now_ms() - t0;
}

/* A private output buffer big enough for every call of a list. */
static float *out_buffer(const call *list, size_t n) {
    size_t nc = 1;
    for (size_t i = 0; i < n; i++) {
        const size_t c = (size_t)list[i].m * (size_t)list[i].ldc;
        nc = c > nc ? c : nc;
    }
    return calloc(nc, sizeof(float));
}

static void flush_subnormals(void) {
#if defined(__x86_64__)
    unsigned csr;
    __asm__ volatile("stmxcsr %0" : "=m"(csr));
    csr |= 0x8040u;
    __asm__ volatile("ldmxcsr %0" : : "m"(csr));
#endif
}

static void replay(const call *list, size_t n, float *C) {
    for (size_t i = 0; i < n; i++) {
        const call *c = &list[i];
        real_sgemm(c->order, c->ta, c->tb, c->m, c->n, c->k, c->alpha, c->A, c->lda, c->B, c->ldb,
                   c->beta, C, c->ldc);
    }
}

static double flops_of(const call *c) {
    return 2.0 * c->m * c->n * c->k;
}

/* ---- the split arrangement ---- */

typedef struct lane {
    call *list;
    size_t n;
    float *C;
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
    flush_subnormals();
    for (int r = 0; r < a->sp->rounds; r++) {
        pthread_barrier_wait(&a->sp->start);
        replay(a->sp->lanes[a->i].list, a->sp->lanes[a->i].n, a->sp->lanes[a->i].C);
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
        if (!(sp.lanes[t].C = out_buffer(sp.lanes[t].list, sp.lanes[t].n))) goto out;
    pthread_barrier_init(&sp.start, NULL, (unsigned)T + 1);
    pthread_barrier_init(&sp.stop, NULL, (unsigned)T + 1);
    for (int t = 0; t < T; t++) {
        args[t] = (lane_arg){&sp, t};
        pthread_create(&sp.lanes[t].thread, NULL, lane_main, &args[t]);
    }
    for (int r = 0; r < sp.rounds; r++) {
        const double t0 = bench_now_ms();
        pthread_barrier_wait(&sp.start);
        pthread_barrier_wait(&sp.stop);
        if (r > 0) times[r - 1] = bench_now_ms() - t0; /* round 0 warms up */
    }
    for (int t = 0; t < T; t++)
        pthread_join(sp.lanes[t].thread, NULL);
    pthread_barrier_destroy(&sp.start);
    pthread_barrier_destroy(&sp.stop);
    result = bench_median(times, runs);
out:
    if (sp.lanes)
        for (int t = 0; t < T; t++) {
            free(sp.lanes[t].list);
            free(sp.lanes[t].C);
        }
    free(sp.lanes);
    free(sorted);
    free(load);
    free(times);
    free(args);
    return result;
}

static double time_serial(int blas_threads, int runs, float *C) {
    double *times = malloc((size_t)runs * sizeof *times);
    if (!times) return -1.0;
    set_blas_threads(blas_threads);
    replay(calls, ncalls, C); /* warm-up */
    for (int r = 0; r < runs; r++) {
        const double t0 = bench_now_ms();
        replay(calls, ncalls, C);
        times[r] = bench_now_ms() - t0;
    }
    const double m = bench_median(times, runs);
    free(times);
    return m;
}

static int usage(void) {
    fprintf(stderr, "usage: gemm_floor --arch PRESET | --model MODEL [--batch N] [--size S] "
                    "[--threads T] [--runs R] [--breakdown] [--json]\n");
    return 2;
}

int main(int argc, char **argv) {
    const char *arch = NULL, *model = NULL;
    int batch = 1, threads = 2, runs = 10;
    long long size = 0;
    bool json = false, breakdown = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--json")) {
            json = true;
            continue;
        }
        if (!strcmp(a, "--breakdown")) {
            breakdown = true;
            continue;
        }
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

    /* one forward pass on one thread, recording (the model and context stay alive: the replay
     * reads their memory) */
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
        s = swin_context_run(ctx, x); /* plans and warms up */
    }
    if (s == SWIN_OK) {
        recording = true;
        s = swin_context_run(ctx, x);
        recording = false;
    }
    if (s != SWIN_OK || record_failed) {
        fprintf(stderr, "gemm_floor: %s\n", s != SWIN_OK ? swin_last_error() : "out of memory");
        return 1;
    }
    double fwd_ms = 0, fwd_gemm_ms = 0;
    if (breakdown) {
        double f[3], g[3];
        for (int r = 0; r < 3; r++) {
            timing = true;
            live_ms = 0;
            const double t0 = bench_now_ms();
            swin_context_run(ctx, x);
            f[r] = bench_now_ms() - t0;
            g[r] = live_ms;
            timing = false;
        }
        int best = 0; /* the fastest pass and its own sgemm time */
        for (int r = 1; r < 3; r++)
            if (f[r] < f[best]) best = r;
        fwd_ms = f[best];
        fwd_gemm_ms = g[best];
    }
    double gflop = 0.0;
    for (size_t i = 0; i < ncalls; i++)
        gflop += flops_of(&calls[i]) / 1e9;

    float *C = out_buffer(calls, ncalls);
    if (!C) {
        fprintf(stderr, "gemm_floor: out of memory\n");
        return 1;
    }
    flush_subnormals();
    const double t_blas = time_serial(threads, runs, C);
    const double t_single = time_serial(1, runs, C);
    const double t_split = threads > 1 ? time_split(threads, runs) : t_single;
    free(C);
    double floor_ms = t_blas;
    if (t_single / threads < floor_ms) floor_ms = t_single / threads;
    if (t_split > 0 && t_split < floor_ms) floor_ms = t_split;
    const char *name = model ? model : arch;
    if (json) {
        printf("{\"model\": \"%s\", \"batch\": %d, \"size\": %lld, \"threads\": %d, \"runs\": %d, "
               "\"calls\": %zu, \"gflop\": %.4f, \"ms_blas_threads\": %.3f, \"ms_single\": %.3f, "
               "\"ms_single_over_threads\": %.3f, \"ms_split\": %.3f, \"floor_ms\": %.3f",
               name, batch, (long long)S, threads, runs, ncalls, gflop, t_blas, t_single,
               t_single / threads, t_split, floor_ms);
        if (breakdown)
            printf(", \"forward_1thread_ms\": %.3f, \"forward_1thread_sgemm_ms\": %.3f", fwd_ms,
                   fwd_gemm_ms);
        printf("}\n");
    } else {
        printf("model            %s, batch %d, size %lld\n", name, batch, (long long)S);
        printf("sgemm calls      %zu, %.3f GFLOP\n", ncalls, gflop);
        printf("blas threads     %.2f ms (OpenBLAS %d threads per call)\n", t_blas, threads);
        printf("single           %.2f ms (1 thread; / %d = %.2f ms)\n", t_single, threads,
               t_single / threads);
        printf("split            %.2f ms (%d single-threaded lanes)\n", t_split, threads);
        printf("floor            %.2f ms\n", floor_ms);
        if (breakdown)
            printf("forward, 1 thread %.2f ms, of which sgemm %.2f ms (%.1f %%)\n", fwd_ms,
                   fwd_gemm_ms, 100.0 * fwd_gemm_ms / fwd_ms);
    }
    swin_context_free(ctx);
    swin_tensor_free(x);
    swin_model_free(m);
    free(synth);
    free(calls);
    return 0;
}
