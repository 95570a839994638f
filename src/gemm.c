/* The GEMM seam: every matrix product of libswin goes through swin__sgemm, and this is the only
 * file that includes <cblas.h>. */
#include <cblas.h>

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

void swin__linear(float *out, const float *in, const float *W, const float *b, int64_t M, int64_t K,
                  int64_t N) {
    float beta = 0.0f;
    if (b) {
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < N; j++)
                out[i * N + j] = b[j];
        beta = 1.0f;
    }
    swin__sgemm(false, true, M, N, K, 1.0f, in, K, W, K, beta, out, N);
}

swin_status swin_set_num_threads(int n) {
    if (n < 1 || n > 1024)
        return swin__error(SWIN_ERR_INVALID_ARGUMENT, "swin_set_num_threads: %d is outside 1..1024",
                           n);
    openblas_set_num_threads(n);
    return SWIN_OK;
}

int swin_get_num_threads(void) {
    return openblas_get_num_threads();
}
