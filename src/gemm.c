/* The GEMM seam: every matrix product of libswin goes through swin__sgemm, and this is the only
 * file that includes <cblas.h>. */
#include <cblas.h>
#include <pthread.h>
#include <string.h>

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
    if (j->epi == SWIN_EPI_BIAS_GELU) {
        for (int64_t i = 0; i < m; i++)
            swin__bias_gelu(out + i * j->ldo, b, n);
    } else if (j->epi == SWIN_EPI_BIAS_RELU) {
        for (int64_t i = 0; i < m; i++) {
            float *row = out + i * j->ldo;
            for (int64_t c = 0; c < n; c++) {
                const float v = row[c] + (b ? b[c] : 0.0f);
                row[c] = v > 0.0f ? v : 0.0f;
            }
        }
    }
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

static void hook_task(void *arg, int64_t begin, int64_t end, int tid) {
    (void)tid;
    const swin_rows_hook *h = arg;
    h->fn(h->arg, begin, end);
}

void swin__linear_fused(float *out, int64_t ldo, const float *in, const float *W, const float *b,
                        int64_t M, int64_t K, int64_t N, swin_epilogue epi,
                        const swin_rows_hook *before, const swin_rows_hook *after) {
    /* Each thread packs the operand it shares with the others: splitting the rows repeats the
     * packing of W (K*N), splitting the columns repeats that of in (M*K). */
    linear_job j = {out, ldo, in, W, b, M, K, N, epi, M >= N, before, after};
    const int64_t T = swin__threads();
    if (M * N * K < 65536) {
        j.split_rows = true;
        linear_task(&j, 0, M, 0);
        return;
    }
    if (j.split_rows) {
        /* Blocks of rows whose output stays in L2 (about 512 KB) while the epilogue and the
         * hooks run over it, and that balance across threads; each block repacks W, 1/rows of
         * its work. */
        int64_t target = (int64_t)(512 * 1024 / sizeof(float)) / N;
        target = target < 64 ? 64 : target;
        /* a multiple of T blocks of equal size, so that no thread gets one more */
        const int64_t blocks = T * ((M + T * target - 1) / (T * target));
        const int64_t rows = ((M + blocks - 1) / blocks + 15) / 16 * 16;
        swin__parallel_for(M, rows, linear_task, &j);
    } else {
        /* every thread needs every input row: the hooks run as loops of their own */
        if (before) swin__parallel_split(M, 1, hook_task, (void *)before);
        swin__parallel_split(N, 16, linear_task, &j);
        if (after) swin__parallel_split(M, 1, hook_task, (void *)after);
    }
}

void swin__linear_ex(float *out, int64_t ldo, const float *in, const float *W, const float *b,
                     int64_t M, int64_t K, int64_t N, swin_epilogue epi) {
    swin__linear_fused(out, ldo, in, W, b, M, K, N, epi, NULL, NULL);
}

void swin__linear(float *out, const float *in, const float *W, const float *b, int64_t M, int64_t K,
                  int64_t N) {
    swin__linear_ex(out, N, in, W, b, M, K, N, SWIN_EPI_BIAS);
}

static void set_one_thread(void) {
    openblas_set_num_threads(1);
}

void swin__blas_single_threaded(void) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, set_one_thread);
}
