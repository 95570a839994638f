/* Kernels against closed forms or a naive reference: GEMM layouts, LayerNorm, softmax, GELU,
 * cyclic shift, padding, window partition/reverse, the fused gather/scatter, the relative
 * position index, the shift mask, and the fixture input hash. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "layers/layers.h"
#include "test_util.h"

static float *randv(size_t n, uint32_t seed) {
    float *x = malloc(n * sizeof *x);
    assert_non_null(x);
    swin_test_input(x, n, seed);
    return x;
}

/* All four transpose layouts, padded leading dimensions, alpha and beta. */
static void test_gemm_layouts(void **state) {
    (void)state;
    const int64_t M = 13, N = 17, K = 29, pad = 3;
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            const int64_t lda = (ta ? M : K) + pad, ldb = (tb ? K : N) + pad, ldc = N + pad;
            float *A = randv((size_t)((ta ? K : M) * lda), 11);
            float *B = randv((size_t)((tb ? N : K) * ldb), 12);
            float *C = randv((size_t)(M * ldc), 13);
            float *R = malloc((size_t)(M * ldc) * sizeof *R);
            memcpy(R, C, (size_t)(M * ldc) * sizeof *R);
            swin__sgemm(ta, tb, M, N, K, 0.75f, A, lda, B, ldb, 0.5f, C, ldc);
            swin__sgemm_naive(ta, tb, M, N, K, 0.75f, A, lda, B, ldb, 0.5f, R, ldc);
            assert_true(
                swin_test_check(ta ? (tb ? "gemm TT" : "gemm TN") : (tb ? "gemm NT" : "gemm NN"), C,
                                R, (size_t)(M * ldc), 1e-6));
            free(A);
            free(B);
            free(C);
            free(R);
        }
}

/* The naive GEMM itself on a product known in closed form. */
static void test_gemm_naive_closed_form(void **state) {
    (void)state;
    const float A[6] = {1, 2, 3, 4, 5, 6};    /* 2x3 */
    const float B[6] = {7, 8, 9, 10, 11, 12}; /* 3x2 */
    float C[4] = {1, 1, 1, 1};
    swin__sgemm_naive(false, false, 2, 2, 3, 1.0f, A, 3, B, 2, 2.0f, C, 2);
    const float want[4] = {58 + 2, 64 + 2, 139 + 2, 154 + 2};
    assert_memory_equal(C, want, sizeof want);
    float D[4];
    swin__sgemm(false, false, 2, 2, 3, 1.0f, A, 3, B, 2, 0.0f, D, 2);
    const float want0[4] = {58, 64, 139, 154};
    assert_memory_equal(D, want0, sizeof want0);
}

static void test_linear(void **state) {
    (void)state;
    const int64_t M = 7, K = 11, N = 5;
    float *x = randv((size_t)(M * K), 21), *W = randv((size_t)(N * K), 22),
          *b = randv((size_t)N, 23);
    float out[35], ref[35];
    swin__linear(out, x, W, b, M, K, N, NULL);
    for (int64_t i = 0; i < M; i++)
        for (int64_t j = 0; j < N; j++) {
            double acc = b[j];
            for (int64_t k = 0; k < K; k++)
                acc += (double)x[i * K + k] * W[j * K + k];
            ref[i * N + j] = (float)acc;
        }
    SWIN_CHECK("linear", out, ref, (size_t)(M * N));
    free(x);
    free(W);
    free(b);
}

/* row hooks for test_linear_splits: input rows made by "before", output rows copied by
 * "after", each row exactly once */
typedef struct hook_rows {
    const float *src;
    float *dst;
    int64_t width;
    int *count;
} hook_rows;

static void copy_rows(void *arg, int64_t r0, int64_t r1) {
    const hook_rows *h = arg;
    memcpy(h->dst + r0 * h->width, h->src + r0 * h->width,
           (size_t)((r1 - r0) * h->width) * sizeof(float));
    for (int64_t r = r0; r < r1; r++)
        h->count[r]++;
}

/* Every way the pool splits a product (rows, columns, K) at 1 to 4 threads, each epilogue,
 * with the row hooks, against a double-precision reference. */
static void test_linear_splits(void **state) {
    (void)state;
    static const int64_t shapes[][3] = {
        {600, 40, 48}, /* many rows: row blocks */
        {50, 300, 64}, /* few rows, K < N: columns */
        {90, 64, 512}, /* few rows, K >= N: K slices */
        {3, 5, 7},     /* too small to split */
    };
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
        const int64_t M = shapes[si][0], N = shapes[si][1], K = shapes[si][2], ldo = N + 3;
        float *x = randv((size_t)(M * K), 31), *W = randv((size_t)(N * K), 32);
        float *b = randv((size_t)N, 33), *res = randv((size_t)(M * ldo), 34);
        float *in = calloc((size_t)(M * K), sizeof(float));
        float *out = malloc((size_t)(M * ldo) * sizeof(float));
        float *copy = calloc((size_t)(M * ldo), sizeof(float));
        float *ref = malloc((size_t)(M * N) * sizeof(float));
        float *got = malloc((size_t)(M * N) * sizeof(float));
        int *before_n = calloc((size_t)M, sizeof(int)), *after_n = calloc((size_t)M, sizeof(int));
        assert_non_null(in);
        assert_non_null(out);
        assert_non_null(copy);
        assert_non_null(ref);
        assert_non_null(got);
        assert_non_null(before_n);
        assert_non_null(after_n);
        for (int epi = SWIN_EPI_BIAS; epi <= SWIN_EPI_BIAS_SILU; epi++)
            for (int T = 1; T <= 4; T++) {
                swin_pool *pool = NULL;
                assert_int_equal(swin__pool_create(&pool, T), SWIN_OK);
                memcpy(out, res, (size_t)(M * ldo) * sizeof(float));
                memset(in, 0, (size_t)(M * K) * sizeof(float));
                memset(before_n, 0, (size_t)M * sizeof(int));
                memset(after_n, 0, (size_t)M * sizeof(int));
                hook_rows hb = {x, in, K, before_n}, ha = {out, copy, ldo, after_n};
                const swin_rows_hook before = {copy_rows, &hb}, after = {copy_rows, &ha};
                swin__linear_fused(out, ldo, in, W, b, M, K, N, (swin_epilogue)epi, &before, &after,
                                   pool);
                swin__pool_free(pool);
                for (int64_t i = 0; i < M; i++) {
                    assert_int_equal(before_n[i], 1);
                    assert_int_equal(after_n[i], 1);
                    for (int64_t j = 0; j < N; j++) {
                        double acc = b[j];
                        for (int64_t k = 0; k < K; k++)
                            acc += (double)x[i * K + k] * W[j * K + k];
                        if (epi == SWIN_EPI_BIAS_GELU) acc = 0.5 * acc * erfc(-acc / sqrt(2.0));
                        if (epi == SWIN_EPI_BIAS_RELU) acc = acc > 0 ? acc : 0;
                        if (epi == SWIN_EPI_BIAS_GELU_TANH)
                            acc = 0.5 * acc *
                                  (1 + tanh(sqrt(2 / 3.14159265358979323846) *
                                            (acc + 0.044715 * acc * acc * acc)));
                        if (epi == SWIN_EPI_BIAS_QUICK_GELU) acc = acc / (1 + exp(-1.702 * acc));
                        if (epi == SWIN_EPI_BIAS_SILU) acc = acc / (1 + exp(-acc));
                        if (epi == SWIN_EPI_ACCUMULATE) acc += res[i * ldo + j];
                        ref[i * N + j] = (float)acc;
                        got[i * N + j] = copy[i * ldo + j]; /* what "after" saw */
                        /* the padding between rows is untouched */
                        if (j == N - 1)
                            for (int64_t p = N; p < ldo; p++)
                                assert_true(out[i * ldo + p] == res[i * ldo + p]);
                    }
                }
                char label[64];
                snprintf(label, sizeof label, "linear %lldx%lldx%lld epi %d T %d", (long long)M,
                         (long long)N, (long long)K, epi, T);
                SWIN_CHECK(label, got, ref, (size_t)(M * N));
            }
        free(x);
        free(W);
        free(b);
        free(res);
        free(in);
        free(out);
        free(copy);
        free(ref);
        free(got);
        free(before_n);
        free(after_n);
    }
}

static void test_layernorm(void **state) {
    (void)state;
    /* closed form: x = [1, 2, 3, 4]: mean 2.5, var 1.25 */
    const float x[4] = {1, 2, 3, 4}, g[4] = {1, 2, 1, 0.5f}, b[4] = {0, 1, -1, 0};
    float y[4];
    swin__layernorm(y, x, g, b, 1, 4, 1e-5f, NULL);
    float want[4];
    for (int i = 0; i < 4; i++)
        want[i] = (float)((x[i] - 2.5) / sqrt(1.25 + 1e-5) * g[i] + b[i]);
    SWIN_CHECK("layernorm closed form", y, want, 4);
    /* a constant row normalises to beta (variance 0, eps keeps it finite) */
    const float c[4] = {3, 3, 3, 3};
    swin__layernorm(y, c, g, b, 1, 4, 1e-5f, NULL);
    SWIN_CHECK("layernorm constant row", y, b, 4);
    /* in place, many rows, against a double reference */
    const int64_t rows = 9, C = 37;
    float *v = randv((size_t)(rows * C), 31), *gg = randv((size_t)C, 32),
          *bb = randv((size_t)C, 33);
    float *ref = malloc((size_t)(rows * C) * sizeof *ref);
    for (int64_t r = 0; r < rows; r++) {
        double m = 0, s = 0;
        for (int64_t k = 0; k < C; k++)
            m += v[r * C + k];
        m /= C;
        for (int64_t k = 0; k < C; k++)
            s += (v[r * C + k] - m) * (v[r * C + k] - m);
        s /= C;
        for (int64_t k = 0; k < C; k++)
            ref[r * C + k] = (float)((v[r * C + k] - m) / sqrt(s + 1e-6) * gg[k] + bb[k]);
    }
    swin__layernorm(v, v, gg, bb, rows, C, 1e-6f, NULL);
    SWIN_CHECK("layernorm in place", v, ref, (size_t)(rows * C));
    free(v);
    free(gg);
    free(bb);
    free(ref);
}

static void test_softmax(void **state) {
    (void)state;
    /* closed form: [0, ln 2, ln 3] -> [1/6, 2/6, 3/6] */
    float x[3] = {0, (float)log(2.0), (float)log(3.0)};
    swin__softmax_rows(x, 1, 3);
    const float want[3] = {1 / 6.f, 2 / 6.f, 3 / 6.f};
    assert_true(swin_test_check("softmax closed form", x, want, 3, 1e-6));
    /* a huge offset must not overflow: compare with exp(x - max) / sum in double */
    float y[3] = {1000.0f, 1001.5f, 999.25f};
    double e[3], sum = 0;
    for (int i = 0; i < 3; i++)
        sum += e[i] = exp((double)y[i] - 1001.5);
    const float wy[3] = {(float)(e[0] / sum), (float)(e[1] / sum), (float)(e[2] / sum)};
    swin__softmax_rows(y, 1, 3);
    assert_true(swin_test_check("softmax large values", y, wy, 3, 1e-6));
    /* -100 masked entries get exp(-100) relative weight, as in PyTorch */
    float m[2] = {0, -100};
    swin__softmax_rows(m, 1, 2);
    const float wm[2] = {(float)(1 / (1 + exp(-100.0))), (float)(exp(-100.0) / (1 + exp(-100.0)))};
    assert_true(swin_test_check("softmax masked", m, wm, 2, 1e-7));
}

static void test_gelu(void **state) {
    (void)state;
    /* exact-erf GELU values: x * Phi(x) */
    float x[7] = {-3, -1, -0.5f, 0, 0.5f, 1, 2};
    const float want[7] = {-0.0040496603f, -0.15865525f, -0.15426877f, 0.0f,
                           0.34573123f,    0.84134475f,  1.9544997f};
    swin__gelu(x, 7);
    assert_true(swin_test_check("gelu exact erf", x, want, 7, 1e-6));
    /* and not the tanh approximation: they differ by ~1e-4 near x = -3 */
    const double tanh_approx =
        0.5 * -3 * (1 + tanh(sqrt(2 / 3.14159265358979323846) * (-3 + 0.044715 * -27)));
    assert_true(fabs(x[0] - tanh_approx) > 1e-4);
}

/* Every kernel path the CPU has (scalar, AVX2+FMA, AVX-512, NEON), on a dense range and on
 * lengths that leave every possible tail, against double-precision references. GELU: relative
 * error, which also checks the far negative side where the result is tiny. */
static void test_simd_paths(void **state) {
    (void)state;
    const int was = swin__kernels_current();
    int paths = 0;
    for (int isa = 0; isa < 4; isa++) {
        if (!swin__kernels_force(isa)) continue;
        assert_int_equal(swin__kernels_current(), isa);
        paths++;
        enum { NG = 4001 };
        static float g[NG], gb[NG];
        for (int i = 0; i < NG; i++) {
            g[i] = -14.0f + 24.0f * (float)i / (NG - 1);
            gb[i] = 0.25f * (float)(i % 7) - 0.75f;
        }
        swin__bias_gelu(g, gb, NG);
        double worst = 0;
        for (int i = 0; i < NG; i++) {
            const double v = (double)(-14.0f + 24.0f * (float)i / (NG - 1)) + (double)gb[i];
            const double want = 0.5 * v * erfc(-v / sqrt(2.0));
            const double err = fabs(g[i] - want) / (fabs(want) + 1e-9);
            if (err > worst) worst = err;
        }
        /* Relative to the value (down to 1e-9): the float rounding of x / sqrt(2) alone moves
         * erfc by 2 u^2 * 6e-8 relative, 4e-6 at the far end (u = -5.7, gelu = -5e-15). */
        if (worst > 5e-6) fprintf(stderr, "isa %d: gelu worst relative error %g\n", isa, worst);
        assert_true(worst <= 5e-6);

        /* the sigmoid-gated activations, against double references (relative error) */
        for (int act = SWIN_ACT_GELU_TANH; act <= SWIN_ACT_SILU; act++) {
            for (int i = 0; i < NG; i++)
                g[i] = -30.0f + 60.0f * (float)i / (NG - 1);
            swin__bias_act(g, gb, NG, (swin_activation)act);
            double worst_act = 0;
            for (int i = 0; i < NG; i++) {
                const double v = (double)(-30.0f + 60.0f * (float)i / (NG - 1)) + (double)gb[i];
                double want;
                if (act == SWIN_ACT_GELU_TANH) /* 0.5 (1 + tanh(u)) = 1 / (1 + exp(-2u)),
                                                * without 1 + tanh's cancellation */
                    want = v / (1 + exp(-2 * sqrt(2 / 3.14159265358979323846) *
                                        (v + 0.044715 * v * v * v)));
                else
                    want = v / (1 + exp(-(act == SWIN_ACT_QUICK_GELU ? 1.702 : 1.0) * v));
                const double err = fabs(g[i] - want) / fmax(fabs(want), 1e-4);
                if (err > worst_act) worst_act = err;
            }
            /* relative to the value down to 1e-4 (below it, absolute): z = c1 v + c3 v^3 is
             * rounded before exp, and an ulp of z moves exp(-|z|) by |z| u relative, 1e-6 at
             * |z| = 17 where the value is 1e-7 (the reference's own float tanh GELU is exactly
             * 0 there) */
            if (worst_act > 4e-6)
                fprintf(stderr, "isa %d: act %d worst relative error %g\n", isa, act, worst_act);
            assert_true(worst_act <= 4e-6);
        }

        for (int n = 1; n <= 70; n++) {
            float x[3 * 70], bias[3 * 70], mask[3 * 70];
            for (int i = 0; i < 3 * n; i++) {
                x[i] = (float)sin(0.37 * i + n) * 6.0f;
                bias[i] = (float)cos(0.11 * i) * 2.0f;
                mask[i] = (i * 7 + n) % 5 == 0 ? -100.0f : 0.0f;
            }
            float ref[3 * 70];
            for (int r = 0; r < 3; r++) {
                double v[70], mx = -1e300, sum = 0;
                for (int i = 0; i < n; i++) {
                    v[i] = (double)(x[r * n + i] + bias[r * n + i] + mask[r * n + i]);
                    mx = v[i] > mx ? v[i] : mx;
                }
                for (int i = 0; i < n; i++)
                    sum += v[i] = exp(v[i] - mx);
                for (int i = 0; i < n; i++)
                    ref[r * n + i] = (float)(v[i] / sum);
            }
            float x2[3 * 70], inv[3];
            memcpy(x2, x, sizeof x2);
            swin__softmax_rows_add(x, 3, n, bias, mask, NULL);
            assert_true(
                swin_test_check("softmax with bias and mask", x, ref, (size_t)(3 * n), 1e-6));
            /* unnormalised rows and their factors: the same after the caller's product */
            swin__softmax_rows_add(x2, 3, n, bias, mask, inv);
            for (int r = 0; r < 3; r++)
                for (int i = 0; i < n; i++)
                    x2[r * n + i] *= inv[r];
            assert_true(swin_test_check("softmax factors", x2, ref, (size_t)(3 * n), 1e-6));
        }

        float rows[5 * 37], out[5 * 37], gam[37], bet[37], want[5 * 37];
        for (int i = 0; i < 5 * 37; i++)
            rows[i] = (float)sin(1.3 * i) * 3.0f + 0.5f;
        for (int c = 0; c < 37; c++) {
            gam[c] = 1.0f + 0.01f * c;
            bet[c] = -0.02f * c;
        }
        for (int r = 0; r < 5; r++) {
            double mean = 0, var = 0;
            for (int c = 0; c < 37; c++)
                mean += rows[r * 37 + c];
            mean /= 37;
            for (int c = 0; c < 37; c++)
                var += (rows[r * 37 + c] - mean) * (rows[r * 37 + c] - mean);
            var /= 37;
            for (int c = 0; c < 37; c++)
                want[r * 37 + c] =
                    (float)((rows[r * 37 + c] - mean) / sqrt(var + 1e-5) * gam[c] + bet[c]);
        }
        swin__layernorm(out, rows, gam, bet, 5, 37, 1e-5f, NULL);
        assert_true(swin_test_check("layernorm odd width", out, want, 5 * 37, 1e-6));

        /* additions and row scaling: every length up to 40, so every tail; the results are
         * single float operations, so they must be exact */
        for (int n = 1; n <= 40; n++) {
            float a[40], b[40], sum[40], m[3 * 41], prod[3 * 41], sc[3];
            for (int i = 0; i < n; i++) {
                a[i] = (float)sin(0.7 * i + n);
                b[i] = (float)cos(0.3 * i - n);
                sum[i] = a[i] + b[i];
            }
            swin__add_inplace(a, b, n);
            assert_memory_equal(a, sum, (size_t)n * sizeof(float));
            for (int r = 0; r < 3; r++) {
                sc[r] = 0.5f + 0.25f * (float)r + 0.001f * (float)n;
                for (int c = 0; c <= n; c++) { /* row stride n + 1: the last column is kept */
                    m[r * (n + 1) + c] = (float)sin(0.1 * c + r);
                    prod[r * (n + 1) + c] = c < n ? m[r * (n + 1) + c] * sc[r] : m[r * (n + 1) + c];
                }
            }
            swin__scale_rows(m, n + 1, 3, n, sc);
            assert_memory_equal(m, prod, (size_t)(3 * (n + 1)) * sizeof(float));
        }

        /* rows to length f (cosine attention's q and k): every length up to 40, against the
         * double formula (within two roundings: the factor's and the product's), the stride's
         * other columns kept; a zero row
         * stays zero (F.normalize's eps) */
        for (int n = 1; n <= 40; n++) {
            float x[3 * 41], want[3 * 41];
            const double f = 37.5;
            for (int r = 0; r < 3; r++) {
                double ss = 0.0;
                for (int c = 0; c <= n; c++) {
                    x[r * (n + 1) + c] = r == 2 ? 0.0f : (float)(sin(0.37 * c + r + n) * (r + 1));
                    if (c < n) ss += (double)x[r * (n + 1) + c] * x[r * (n + 1) + c];
                }
                const double g = f / (sqrt(ss) > 1e-12 ? sqrt(ss) : 1e-12);
                for (int c = 0; c <= n; c++) /* the exact product, x * g */
                    want[r * (n + 1) + c] =
                        c < n ? (float)(x[r * (n + 1) + c] * g) : x[r * (n + 1) + c];
            }
            swin__unit_rows(x, n + 1, 3, n, f);
            for (int k = 0; k < 3 * (n + 1); k++)
                assert_true(fabsf(x[k] - want[k]) <= 4e-7f * fabsf(want[k]));
        }
    }
    assert_true(paths >= 1);
    assert_true(swin__kernels_force(was));
}

/* roll, pad, partition and reverse against explicit index formulas; gather/scatter against
 * their composition. */
static void test_window_ops(void **state) {
    (void)state;
    const int64_t B = 2, H = 5, W = 7, C = 3, wh = 3, ww = 4, Hp = 6, Wp = 8, sh = 1, sw = 2;
    const size_t n = (size_t)(B * H * W * C), np = (size_t)(B * Hp * Wp * C);
    float *x = randv(n, 41), *rolled = malloc(n * 4), *padded = malloc(np * 4),
          *win = malloc(np * 4), *back = malloc(n * 4), *fused = malloc(np * 4);
    swin__roll(rolled, x, B, H, W, C, sh, sw);
    for (int64_t b = 0; b < B; b++)
        for (int64_t h = 0; h < H; h++)
            for (int64_t w = 0; w < W; w++)
                for (int64_t c = 0; c < C; c++)
                    assert_true(rolled[((b * H + h) * W + w) * C + c] ==
                                x[((b * H + (h + sh) % H) * W + (w + sw) % W) * C + c]);
    /* rolling back restores the input exactly */
    swin__roll(back, rolled, B, H, W, C, H - sh, W - sw);
    assert_memory_equal(back, x, n * 4);
    swin__pad(padded, rolled, B, H, W, Hp, Wp, C);
    for (int64_t b = 0; b < B; b++)
        for (int64_t h = 0; h < Hp; h++)
            for (int64_t w = 0; w < Wp; w++)
                for (int64_t c = 0; c < C; c++) {
                    const float v = padded[((b * Hp + h) * Wp + w) * C + c];
                    if (h < H && w < W)
                        assert_true(v == rolled[((b * H + h) * W + w) * C + c]);
                    else
                        assert_true(v == 0.0f);
                }
    swin__window_partition(win, padded, B, Hp, Wp, C, wh, ww);
    const int64_t nWw = Wp / ww, nW = (Hp / wh) * nWw;
    for (int64_t b = 0; b < B; b++)
        for (int64_t wi = 0; wi < nW; wi++)
            for (int64_t t = 0; t < wh * ww; t++)
                for (int64_t c = 0; c < C; c++) {
                    const int64_t y = (wi / nWw) * wh + t / ww, xx = (wi % nWw) * ww + t % ww;
                    assert_true(win[((b * nW + wi) * wh * ww + t) * C + c] ==
                                padded[((b * Hp + y) * Wp + xx) * C + c]);
                }
    swin__window_reverse(back, win, B, Hp, Wp, H, W, C, wh, ww);
    assert_memory_equal(back, rolled, n * 4);

    swin_geom g;
    swin__geom(&g, H, W, wh, ww, sh, sw, false);
    assert_int_equal(g.Hp, Hp);
    assert_int_equal(g.Wp, Wp);
    assert_int_equal(g.nW, nW);
    swin__window_gather(fused, x, &g, B, C, NULL);
    assert_memory_equal(fused, win, np * 4);
    /* scatter-add of the windows onto zeros gives back x */
    memset(back, 0, n * 4);
    swin__window_scatter_add(back, win, &g, B, C, NULL);
    assert_memory_equal(back, x, n * 4);
    free(x);
    free(rolled);
    free(padded);
    free(win);
    free(back);
    free(fused);
}

static void test_stage_window(void **state) {
    (void)state;
    int64_t wh, ww, sh, sw;
    swin__stage_window(56, 56, 7, &wh, &ww, &sh, &sw);
    assert_true(wh == 7 && ww == 7 && sh == 3 && sw == 3);
    swin__stage_window(7, 7, 7, &wh, &ww, &sh, &sw); /* not larger than the window */
    assert_true(wh == 7 && ww == 7 && sh == 0 && sw == 0);
    swin__stage_window(6, 12, 7, &wh, &ww, &sh, &sw);
    assert_true(wh == 6 && ww == 7 && sh == 0 && sw == 3);
    swin__stage_window(12, 12, 12, &wh, &ww, &sh, &sw);
    assert_true(wh == 12 && sh == 0);
}

/* The official index for a 2x2 window, written out. */
static void test_relative_position_index(void **state) {
    (void)state;
    int32_t idx[16];
    swin__relative_position_index(idx, 2, 2);
    const int32_t want[16] = {4, 3, 1, 0, 5, 4, 2, 1, 7, 6, 4, 3, 8, 7, 5, 4};
    assert_memory_equal(idx, want, sizeof want);
    /* 7x7: range and the centre on the diagonal */
    int32_t *big = malloc(49 * 49 * sizeof *big);
    swin__relative_position_index(big, 7, 7);
    for (int i = 0; i < 49; i++) {
        assert_int_equal(big[i * 49 + i], 84); /* (6)*(13) + 6 */
        for (int j = 0; j < 49; j++)
            assert_true(big[i * 49 + j] >= 0 && big[i * 49 + j] < 169);
    }
    free(big);
}

/* Shift mask of a 4x4 grid, window 2, shift 1, written out from the official slicing:
 * regions along each axis are [0,2), [2,3), [3,4). */
static void test_shift_mask(void **state) {
    (void)state;
    float mask[4 * 4 * 4];
    swin__shift_mask(mask, 4, 4, 2, 2, 1, 1);
    static const int label[4][4] = {{0, 0, 1, 2}, {0, 0, 1, 2}, {3, 3, 4, 5}, {6, 6, 7, 8}};
    for (int w = 0; w < 4; w++)
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 4; j++) {
                const int y0 = (w / 2) * 2, x0 = (w % 2) * 2;
                const int li = label[y0 + i / 2][x0 + i % 2], lj = label[y0 + j / 2][x0 + j % 2];
                assert_true(mask[(w * 4 + i) * 4 + j] == (li == lj ? 0.0f : -100.0f));
            }
    /* window 0 is one region: all zeros; window 3 has four regions */
    for (int k = 0; k < 16; k++)
        assert_true(mask[k] == 0.0f);
    int masked = 0;
    for (int k = 0; k < 16; k++)
        masked += mask[48 + k] != 0.0f;
    assert_int_equal(masked, 12);
}

static void test_input_hash(void **state) {
    (void)state;
    swin_safetensors st = {0};
    swin_test_open(&st, "layers.safetensors");
    const uint32_t seeds[2] = {1, 3};
    const char *names[2] = {"input_hash.s1", "input_hash.s3"};
    for (int k = 0; k < 2; k++) {
        size_t n;
        const float *want = swin_test_get(&st, names[k], &n);
        float got[64];
        assert_int_equal(n, 64);
        swin_test_input(got, 64, seeds[k]);
        assert_memory_equal(got, want, sizeof got);
    }
    swin__st_close(&st);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gemm_layouts),
        cmocka_unit_test(test_gemm_naive_closed_form),
        cmocka_unit_test(test_linear),
        cmocka_unit_test(test_linear_splits),
        cmocka_unit_test(test_layernorm),
        cmocka_unit_test(test_softmax),
        cmocka_unit_test(test_gelu),
        cmocka_unit_test(test_simd_paths),
        cmocka_unit_test(test_window_ops),
        cmocka_unit_test(test_stage_window),
        cmocka_unit_test(test_relative_position_index),
        cmocka_unit_test(test_shift_mask),
        cmocka_unit_test(test_input_hash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
