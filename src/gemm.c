/* The GEMM seam: every matrix product of libswin goes through swin__sgemm, and this is the only
 * file that includes <cblas.h>. */
#include <cblas.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "internal.h"

void swin__sgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                 const float *A, int64_t lda, const float *B, int64_t ldb, float beta, float *C,
                 int64_t ldc) {
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, (blasint)M, (blasint)N, (blasint)K, alpha, A,
                (blasint)lda, B, (blasint)ldb, beta, C, (blasint)ldc);
}

void swin__sgemm_naive(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                       const float *A, int64_t lda, const float *B, int64_t ldb, float beta,
                       float *C, int64_t ldc) {
    for (int64_t i = 0; i < M; i++) {
        for (int64_t j = 0; j < N; j++) {
            double acc = 0.0;
            for (int64_t k = 0; k < K; k++) {
                double a = trans_a ? A[k * lda + i] : A[i * lda + k];
                double b = trans_b ? B[j * ldb + k] : B[k * ldb + j];
                acc += a * b;
            }
            float *c = &C[i * ldc + j];
            *c = (float)(alpha * acc + (beta == 0.0f ? 0.0 : (double)beta * *c));
        }
    }
}

typedef struct linear_job {
    float *out;
    int64_t ldo;
    const float *in, *W, *b;
    int64_t M, K, N;
    swin_epilogue epi;
    bool split_rows;
    const swin_rows_hook *before, *after;
} linear_job;

swin_epilogue swin__epilogue_of(swin_activation act) {
    switch (act) {
    case SWIN_ACT_GELU:
        return SWIN_EPI_BIAS_GELU;
    case SWIN_ACT_RELU:
        return SWIN_EPI_BIAS_RELU;
    case SWIN_ACT_GELU_TANH:
        return SWIN_EPI_BIAS_GELU_TANH;
    case SWIN_ACT_QUICK_GELU:
        return SWIN_EPI_BIAS_QUICK_GELU;
    case SWIN_ACT_SILU:
        return SWIN_EPI_BIAS_SILU;
    case SWIN_ACT_NONE:
        break;
    }
    return SWIN_EPI_BIAS;
}

/* The activation an epilogue applies after its bias; false for BIAS and ACCUMULATE. */
static bool epi_act(swin_epilogue e, swin_activation *act) {
    switch (e) {
    case SWIN_EPI_BIAS_GELU:
        *act = SWIN_ACT_GELU;
        return true;
    case SWIN_EPI_BIAS_RELU:
        *act = SWIN_ACT_RELU;
        return true;
    case SWIN_EPI_BIAS_GELU_TANH:
        *act = SWIN_ACT_GELU_TANH;
        return true;
    case SWIN_EPI_BIAS_QUICK_GELU:
        *act = SWIN_ACT_QUICK_GELU;
        return true;
    case SWIN_EPI_BIAS_SILU:
        *act = SWIN_ACT_SILU;
        return true;
    case SWIN_EPI_BIAS:
    case SWIN_EPI_ACCUMULATE:
        break;
    }
    return false;
}

/* Rows [r0, r1) x columns [c0, c1) of the product and its epilogue. */
static void linear_block(const linear_job *j, int64_t r0, int64_t r1, int64_t c0, int64_t c1) {
    const int64_t m = r1 - r0, n = c1 - c0;
    float *out = j->out + r0 * j->ldo + c0;
    const float *b = j->b ? j->b + c0 : NULL;
    float beta = 0.0f;
    if (j->epi == SWIN_EPI_ACCUMULATE) {
        if (b)
            for (int64_t i = 0; i < m; i++)
                swin__add_inplace(out + i * j->ldo, b, n);
        beta = 1.0f;
    } else if (b && j->epi == SWIN_EPI_BIAS) {
        for (int64_t i = 0; i < m; i++)
            memcpy(out + i * j->ldo, b, (size_t)n * sizeof(float));
        beta = 1.0f;
    }
    swin__sgemm(false, true, m, n, j->K, 1.0f, j->in + r0 * j->K, j->K, j->W + c0 * j->K, j->K,
                beta, out, j->ldo);
    swin_activation act;
    if (epi_act(j->epi, &act))
        for (int64_t i = 0; i < m; i++)
            swin__bias_act(out + i * j->ldo, b, n, act);
}

void swin__linear_rows(float *out, int64_t ldo, const float *in, const float *W, const float *b,
                       int64_t K, int64_t N, int64_t r0, int64_t r1, swin_epilogue epi) {
    const linear_job j = {out, ldo, in, W, b, r1, K, N, epi, true, NULL, NULL};
    linear_block(&j, r0, r1, 0, N);
}

static void linear_task(void *arg, int64_t begin, int64_t end, int tid) {
    (void)tid;
    const linear_job *j = arg;
    if (j->split_rows) {
        if (j->before) j->before->fn(j->before->arg, begin, end);
        linear_block(j, begin, end, 0, j->N);
        if (j->after) j->after->fn(j->after->arg, begin, end);
    } else {
        linear_block(j, 0, j->M, begin, end);
    }
}

/* ---- splitting K: for few rows and K >= N, each thread multiplies a slice of K (no operand
 * is packed twice) and the partial products are summed by rows afterwards. Chunk 0 writes into
 * out (with the bias prefilled, or onto the residual), chunk c > 0 into the pool's partial
 * buffer c - 1 [M, N]. ---- */

typedef struct ksplit_job {
    const linear_job *j;
    int64_t parts;
    float *partials;
} ksplit_job;

static void ksplit_gemm_task(void *arg, int64_t begin, int64_t end, int tid) {
    (void)tid;
    const ksplit_job *k = arg;
    const linear_job *j = k->j;
    for (int64_t c = begin; c < end; c++) {
        const int64_t k0 = c * j->K / k->parts, k1 = (c + 1) * j->K / k->parts;
        float *dst = j->out;
        int64_t ld = j->ldo;
        float beta = 0.0f;
        if (c > 0) {
            dst = k->partials + (c - 1) * j->M * j->N;
            ld = j->N;
        } else if (j->epi == SWIN_EPI_ACCUMULATE) {
            beta = 1.0f;
        } else if (j->epi == SWIN_EPI_BIAS && j->b) {
            for (int64_t i = 0; i < j->M; i++)
                memcpy(j->out + i * j->ldo, j->b, (size_t)j->N * sizeof(float));
            beta = 1.0f;
        }
        swin__sgemm(false, true, j->M, j->N, k1 - k0, 1.0f, j->in + k0, j->K, j->W + k0, j->K, beta,
                    dst, ld);
    }
}

/* Rows [begin, end): the partial products summed, the epilogue, then the after hook. */
static void ksplit_reduce_task(void *arg, int64_t begin, int64_t end, int tid) {
    (void)tid;
    const ksplit_job *k = arg;
    const linear_job *j = k->j;
    const int64_t N = j->N;
    for (int64_t i = begin; i < end; i++) {
        float *row = j->out + i * j->ldo;
        for (int64_t c = 1; c < k->parts; c++)
            swin__add_inplace(row, k->partials + ((c - 1) * j->M + i) * N, N);
        swin_activation act;
        if (j->epi == SWIN_EPI_ACCUMULATE && j->b)
            swin__add_inplace(row, j->b, N);
        else if (epi_act(j->epi, &act))
            swin__bias_act(row, j->b, N, act);
    }
    if (j->after) j->after->fn(j->after->arg, begin, end);
}

static void hook_task(void *arg, int64_t begin, int64_t end, int tid) {
    (void)tid;
    const swin_rows_hook *h = arg;
    h->fn(h->arg, begin, end);
}

int64_t swin__block_items(int64_t n, int64_t fit, int64_t T) {
    fit = fit < 1 ? 1 : fit;
    const int64_t blocks = T * ((n + T * fit - 1) / (T * fit));
    return (n + blocks - 1) / blocks;
}

void swin__rows_parallel(swin_pool *pool, int64_t rows, const swin_rows_hook *h) {
    swin__parallel_split(pool, rows, 1, hook_task, (void *)h);
}

void swin__linear_fused(float *out, int64_t ldo, const float *in, const float *W, const float *b,
                        int64_t M, int64_t K, int64_t N, swin_epilogue epi,
                        const swin_rows_hook *before, const swin_rows_hook *after,
                        swin_pool *pool) {
    /* Each thread packs the operand it shares with the others: splitting the rows repeats the
     * packing of W (K*N), splitting the columns repeats that of in (M*K). */
    linear_job j = {out, ldo, in, W, b, M, K, N, epi, M >= N, before, after};
    const int64_t T = swin__pool_size(pool);
    if (M * N * K < 65536) {
        j.split_rows = true;
        linear_task(&j, 0, M, 0);
        return;
    }
    size_t cap = 0;
    float *partials = T > 1 ? swin__pool_partials(pool, &cap) : NULL;
    if (partials && M < 512 && K >= N && K >= 64 * T && (size_t)(M * N * (T - 1)) <= cap) {
        /* Few rows and K >= N: splitting K scales best (bench/README.md); the before hook runs
         * as a loop of its own, the after hook with the summing of the partial products */
        ksplit_job k = {&j, T, partials};
        if (before) swin__rows_parallel(pool, M, before);
        swin__parallel_for(pool, T, 1, ksplit_gemm_task, &k);
        swin__parallel_split(pool, M, 1, ksplit_reduce_task, &k);
        return;
    }
    if (j.split_rows) {
        /* Blocks of about 8 MB of output, at least 64 rows (ViT-B/16, batch 4, 2 threads:
         * 685 ms with 512 KB blocks, 640 ms with 2 to 8 MB). */
        const int64_t target = SWIN_BLOCK_FLOATS / N;
        const int64_t rows = (swin__block_items(M, target < 64 ? 64 : target, T) + 15) / 16 * 16;
        swin__parallel_for(pool, M, rows, linear_task, &j);
    } else {
        /* every thread needs every input row: the hooks run as loops of their own */
        if (before) swin__rows_parallel(pool, M, before);
        swin__parallel_split(pool, N, 16, linear_task, &j);
        if (after) swin__rows_parallel(pool, M, after);
    }
}

void swin__linear_ex(float *out, int64_t ldo, const float *in, const float *W, const float *b,
                     int64_t M, int64_t K, int64_t N, swin_epilogue epi, swin_pool *pool) {
    swin__linear_fused(out, ldo, in, W, b, M, K, N, epi, NULL, NULL, pool);
}

void swin__linear(float *out, const float *in, const float *W, const float *b, int64_t M, int64_t K,
                  int64_t N, swin_pool *pool) {
    swin__linear_ex(out, N, in, W, b, M, K, N, SWIN_EPI_BIAS, pool);
}

/* OpenBLAS's pthread build starts its own server threads when it is loaded, and each spins for
 * about 2^28 cycles (a tenth of a second) after its start, and after each threaded call, before
 * it sleeps: during a process's first pass they took a core from libswin's own threads
 * (docs/performance.md, "First pass"). libswin never hands OpenBLAS more than one thread, so it
 * stops them: blas_thread_shutdown_ is OpenBLAS's own, exported, which it runs itself before a
 * fork; a later threaded call in the application starts them again. A BLAS without it (another
 * OpenBLAS build, or another library behind the same alternatives link) leaves the weak
 * reference null. */
extern int blas_thread_shutdown_(void) __attribute__((weak));

/* The address-space limit (ulimit -v) in *lim; false when there is none. */
static bool address_space_limited(struct rlimit *lim) {
    return getrlimit(RLIMIT_AS, lim) == 0 && lim->rlim_cur != RLIM_INFINITY;
}

static void set_one_thread(void) {
    openblas_set_num_threads(1);
    /* Under an address-space limit a server thread may be stuck for good in its first buffer's
     * allocation (below), and the shutdown would wait for it: the threads are left alone. */
    struct rlimit lim;
    if (blas_thread_shutdown_ && !address_space_limited(&lim)) blas_thread_shutdown_();
}

void swin__blas_single_threaded(void) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, set_one_thread);
}

/* ---- OpenBLAS's work buffers under an address-space limit ----
 * OpenBLAS gives every thread that is inside a product at the same moment a work buffer of its
 * own, mapped on first need and kept for reuse: 128 MiB each in Debian 12's OpenBLAS 0.3.21 on
 * x86-64 (measured: mmap(134217728) in blas_memory_alloc). When the mapping fails under
 * RLIMIT_AS (ulimit -v), it retries forever (its upstream fix ends the process). So before a pass
 * that may need more buffers than the process has made so far, libswin checks that the address
 * space left under the limit can take them, and refuses the pass otherwise. */
enum { BLAS_BUFFER_BYTES = 128 << 20, BLAS_MARGIN_BYTES = 16 << 20 };
static atomic_int blas_running; /* threads of passes running now */
static atomic_int blas_buffers; /* the most that ever ran at once: buffers OpenBLAS has */

/* The process's mapped address space in bytes (/proc/self/statm), or -1. */
static long long address_space_used(void) {
    FILE *fp = fopen("/proc/self/statm", "r");
    if (!fp) return -1;
    long long pages = -1;
    if (fscanf(fp, "%lld", &pages) != 1) pages = -1;
    fclose(fp);
    const long page = sysconf(_SC_PAGESIZE);
    return pages < 0 || page <= 0 ? -1 : pages * page;
}

swin_status swin__blas_enter(int threads) {
    const int running = atomic_fetch_add(&blas_running, threads) + threads;
    int have = atomic_load(&blas_buffers);
    if (running <= have) return SWIN_OK;
    struct rlimit lim;
    if (address_space_limited(&lim)) {
        const long long used = address_space_used();
        const long long need =
            (long long)(running - have) * (BLAS_BUFFER_BYTES + BLAS_MARGIN_BYTES);
        if (used >= 0 && used + need > (long long)lim.rlim_cur) {
            atomic_fetch_sub(&blas_running, threads);
            return swin__error(
                SWIN_ERR_OUT_OF_MEMORY,
                "out of memory: the address-space limit (ulimit -v) of %lld MiB, with %lld MiB "
                "in use, leaves no room for OpenBLAS's work buffers (%d more of 128 MiB, one per "
                "thread in a product at once); raise the limit or use fewer threads",
                (long long)lim.rlim_cur >> 20, used >> 20, running - have);
        }
    }
    while (have < running && !atomic_compare_exchange_weak(&blas_buffers, &have, running)) {
    }
    return SWIN_OK;
}

void swin__blas_leave(int threads) {
    atomic_fetch_sub(&blas_running, threads);
}
