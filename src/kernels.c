/* Elementwise and data-movement kernels. Shapes: B batch, H x W token grid, C channels,
 * Hp x Wp padded grid, wh x ww window. Channels-last throughout. */
#include <math.h>
#include <string.h>

#include "internal.h"

static void layernorm_rows_scalar(float *out, const float *in, const float *gamma,
                                  const float *beta, int64_t rows, int64_t C, float eps) {
    for (int64_t r = 0; r < rows; r++) {
        const float *x = in + r * C;
        float *y = out + r * C;
        double mean = 0.0;
        for (int64_t c = 0; c < C; c++)
            mean += x[c];
        mean /= (double)C;
        double var = 0.0;
        for (int64_t c = 0; c < C; c++) {
            double d = x[c] - mean;
            var += d * d;
        }
        var /= (double)C; /* biased, as torch.nn.LayerNorm */
        const double rstd = 1.0 / sqrt(var + (double)eps);
        for (int64_t c = 0; c < C; c++)
            y[c] = (float)((x[c] - mean) * rstd) * gamma[c] + beta[c];
    }
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
static bool have_avx2(void);
static bool have_avx512(void);

#define LN_AVX512 __attribute__((target("avx512f")))
#define LN_AVX2 __attribute__((target("avx2,fma")))

/* The mask of the lanes of a 16-float vector that hold data when `left` values remain. */
static inline __mmask16 lanes_left(int64_t left) {
    return left >= 16 ? (__mmask16)0xFFFF : left > 0 ? (__mmask16)((1u << left) - 1u) : 0;
}

/* Sixteen float lanes per row: the mean, then the mean of squared deviations from it (two
 * passes, as the double version); each lane sums C/16 values, and the lanes are added in
 * double. For C up to a few thousand this keeps the sums well within float precision. */
LN_AVX512 static void layernorm_rows_avx512(float *out, const float *in, const float *gamma,
                                            const float *beta, int64_t rows, int64_t C, float eps) {
    for (int64_t r = 0; r < rows; r++) {
        const float *x = in + r * C;
        float *y = out + r * C;
        __m512 s = _mm512_setzero_ps();
        for (int64_t c = 0; c < C; c += 16) {
            const __mmask16 k = lanes_left(C - c);
            s = _mm512_add_ps(s, _mm512_maskz_loadu_ps(k, x + c));
        }
        const __m512d sd = _mm512_add_pd(
            _mm512_cvtps_pd(_mm512_castps512_ps256(s)),
            _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(s), 1))));
        const float mean = (float)(_mm512_reduce_add_pd(sd) / (double)C);
        const __m512 m = _mm512_set1_ps(mean);
        __m512 v = _mm512_setzero_ps();
        for (int64_t c = 0; c < C; c += 16) {
            const __mmask16 k = lanes_left(C - c);
            const __m512 d = _mm512_maskz_sub_ps(k, _mm512_maskz_loadu_ps(k, x + c), m);
            v = _mm512_fmadd_ps(d, d, v);
        }
        const __m512d vd = _mm512_add_pd(
            _mm512_cvtps_pd(_mm512_castps512_ps256(v)),
            _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1))));
        const double var = _mm512_reduce_add_pd(vd) / (double)C; /* biased, as torch */
        const __m512 rs = _mm512_set1_ps((float)(1.0 / sqrt(var + (double)eps)));
        for (int64_t c = 0; c < C; c += 16) {
            const __mmask16 k = lanes_left(C - c);
            const __m512 n = _mm512_mul_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, x + c), m), rs);
            _mm512_mask_storeu_ps(y + c, k,
                                  _mm512_fmadd_ps(n, _mm512_maskz_loadu_ps(k, gamma + c),
                                                  _mm512_maskz_loadu_ps(k, beta + c)));
        }
    }
}

/* As the AVX-512 version: float lanes (two vectors of eight, so each lane sums C/16 values),
 * added in double in a fixed order; the last, partial vector through masked loads. */
LN_AVX2 static inline double ln_hsum8(__m256 a, __m256 b) {
    const __m256d s = _mm256_add_pd(_mm256_add_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(a)),
                                                  _mm256_cvtps_pd(_mm256_extractf128_ps(a, 1))),
                                    _mm256_add_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(b)),
                                                  _mm256_cvtps_pd(_mm256_extractf128_ps(b, 1))));
    double lanes[4];
    _mm256_storeu_pd(lanes, s);
    return (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
}

LN_AVX2 static void layernorm_rows_avx2(float *out, const float *in, const float *gamma,
                                        const float *beta, int64_t rows, int64_t C, float eps) {
    const int64_t full = C / 8 * 8, rem = C - full;
    const __m256i tail =
        _mm256_cmpgt_epi32(_mm256_set1_epi32((int)rem), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    const __m256 tailf = _mm256_castsi256_ps(tail);
    for (int64_t r = 0; r < rows; r++) {
        const float *x = in + r * C;
        float *y = out + r * C;
        __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
        int64_t c = 0;
        for (; c + 16 <= full; c += 16) {
            s0 = _mm256_add_ps(s0, _mm256_loadu_ps(x + c));
            s1 = _mm256_add_ps(s1, _mm256_loadu_ps(x + c + 8));
        }
        if (c < full) s0 = _mm256_add_ps(s0, _mm256_loadu_ps(x + c));
        if (rem) s1 = _mm256_add_ps(s1, _mm256_maskload_ps(x + full, tail));
        const __m256 m = _mm256_set1_ps((float)(ln_hsum8(s0, s1) / (double)C));
        s0 = _mm256_setzero_ps();
        s1 = _mm256_setzero_ps();
        for (c = 0; c + 16 <= full; c += 16) {
            const __m256 d0 = _mm256_sub_ps(_mm256_loadu_ps(x + c), m);
            const __m256 d1 = _mm256_sub_ps(_mm256_loadu_ps(x + c + 8), m);
            s0 = _mm256_fmadd_ps(d0, d0, s0);
            s1 = _mm256_fmadd_ps(d1, d1, s1);
        }
        if (c < full) {
            const __m256 d0 = _mm256_sub_ps(_mm256_loadu_ps(x + c), m);
            s0 = _mm256_fmadd_ps(d0, d0, s0);
        }
        if (rem) {
            const __m256 d1 =
                _mm256_and_ps(_mm256_sub_ps(_mm256_maskload_ps(x + full, tail), m), tailf);
            s1 = _mm256_fmadd_ps(d1, d1, s1);
        }
        const double var = ln_hsum8(s0, s1) / (double)C; /* biased, as torch */
        const __m256 rs = _mm256_set1_ps((float)(1.0 / sqrt(var + (double)eps)));
        for (c = 0; c < full; c += 8) {
            const __m256 n = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(x + c), m), rs);
            _mm256_storeu_ps(
                y + c, _mm256_fmadd_ps(n, _mm256_loadu_ps(gamma + c), _mm256_loadu_ps(beta + c)));
        }
        if (rem) {
            const __m256 n =
                _mm256_mul_ps(_mm256_sub_ps(_mm256_maskload_ps(x + full, tail), m), rs);
            _mm256_maskstore_ps(y + full, tail,
                                _mm256_fmadd_ps(n, _mm256_maskload_ps(gamma + full, tail),
                                                _mm256_maskload_ps(beta + full, tail)));
        }
    }
}
#endif

static void layernorm_rows(float *out, const float *in, const float *gamma, const float *beta,
                           int64_t rows, int64_t C, float eps) {
#if defined(__x86_64__) && defined(__GNUC__)
    if (have_avx512()) {
        layernorm_rows_avx512(out, in, gamma, beta, rows, C, eps);
        return;
    }
    if (have_avx2()) {
        layernorm_rows_avx2(out, in, gamma, beta, rows, C, eps);
        return;
    }
#endif
    layernorm_rows_scalar(out, in, gamma, beta, rows, C, eps);
}

typedef struct ln_job {
    float *out;
    const float *in, *gamma, *beta;
    int64_t C;
    float eps;
} ln_job;

static void ln_task(void *arg, int64_t begin, int64_t end, int tid) {
    (void)tid;
    const ln_job *j = arg;
    layernorm_rows(j->out + begin * j->C, j->in + begin * j->C, j->gamma, j->beta, end - begin,
                   j->C, j->eps);
}

void swin__layernorm(float *out, const float *in, const float *gamma, const float *beta,
                     int64_t rows, int64_t C, float eps, swin_pool *pool) {
    if (rows * C < 16384) {
        layernorm_rows(out, in, gamma, beta, rows, C, eps);
        return;
    }
    ln_job j = {out, in, gamma, beta, C, eps};
    swin__parallel_split(pool, rows, 1, ln_task, &j);
}

/* ---- vectorised exp, softmax and GELU ----
 * With AVX2 and FMA (checked at run time) eight lanes at a time; elsewhere, and for the tails,
 * the C library's expf/erff. exp: Cephes's range reduction and polynomial (about 1 ulp).
 * GELU: 1 + erf(u) is 2 - erfc(u) for u >= 0 and erfc(-u) below, with erfc from Numerical
 * Recipes' Chebyshev fit (relative error below 1.2e-7 for every u), so the result keeps about
 * float precision relative to itself on both sides. */

#if defined(__x86_64__) && defined(__GNUC__)
#define SWIN_X86_SIMD 1
#include <immintrin.h>

/* Coefficients shared by the vector paths. erfc(z) = t exp(-z^2 + P(t)), t = 1 / (1 + z/2)
 * (Numerical Recipes' erfcc, relative error below 1.2e-7), P's highest degree first; and
 * Cephes's exp(r) = 1 + r + r^2 Q(r) on |r| <= ln2 / 2, Q's highest degree first. */
static const float NR_ERFC[10] = {0.17087277f, -0.82215223f, 1.48851587f, -1.13520398f,
                                  0.27886807f, -0.18628806f, 0.09678418f, 0.37409196f,
                                  1.00002368f, -1.26551223f};
static const float CEPHES_EXP[6] = {1.9875691500E-4f, 1.3981999507E-3f, 8.3334519073E-3f,
                                    4.1665795894E-2f, 1.6666665459E-1f, 5.0000001201E-1f};

#define AVX2 __attribute__((target("avx2,fma")))

AVX2 static inline __m256 exp8(__m256 x) {
    /* For x <= 88 (callers pass x - max(x) and p - z^2, both <= 0 up to rounding); below
     * -87.34 clamped, so 2^n stays a normal number. NaN passes through (second operand). */
    x = _mm256_max_ps(_mm256_set1_ps(-87.3365448f), x);
    /* x = n ln2 + r, |r| <= ln2 / 2; n = round(x log2 e) by adding 1.5 * 2^23, whose low
     * mantissa bits then hold n */
    const __m256 magic = _mm256_set1_ps(12582912.0f);
    const __m256 nb = _mm256_fmadd_ps(x, _mm256_set1_ps(1.44269504088896341f), magic);
    const __m256 n = _mm256_sub_ps(nb, magic);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(CEPHES_EXP[0]);
    for (int i = 1; i < 6; i++)
        p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(CEPHES_EXP[i]));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    /* 2^n: (n + 127) << 23, from nb's bits (1.5 * 2^23's own bits vanish in the shift) */
    const __m256i e =
        _mm256_slli_epi32(_mm256_add_epi32(_mm256_castps_si256(nb), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

AVX2 static inline float hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
}

AVX2 static inline float hmax8(__m256 v) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
}

AVX2 static void softmax_rows_avx2(float *x, int64_t rows, int64_t n, const float *bias,
                                   const float *mask, float *inv_sum) {
    /* the last, partial vector of each row goes through masked loads and stores */
    const int64_t full = n / 8 * 8, rem = n - full;
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i tail = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)rem), lane);
    const __m256 tailf = _mm256_castsi256_ps(tail), ninf = _mm256_set1_ps(-INFINITY);
    for (int64_t r = 0; r < rows; r++) {
        float *row = x + r * n;
        const float *br = bias ? bias + r * n : NULL, *mr = mask ? mask + r * n : NULL;
        __m256 vmax = ninf;
        for (int64_t i = 0; i < full; i += 8) {
            __m256 v = _mm256_loadu_ps(row + i);
            if (br) v = _mm256_add_ps(v, _mm256_loadu_ps(br + i));
            if (mr) v = _mm256_add_ps(v, _mm256_loadu_ps(mr + i));
            _mm256_storeu_ps(row + i, v);
            vmax = _mm256_max_ps(vmax, v);
        }
        if (rem) {
            __m256 v = _mm256_maskload_ps(row + full, tail);
            if (br) v = _mm256_add_ps(v, _mm256_maskload_ps(br + full, tail));
            if (mr) v = _mm256_add_ps(v, _mm256_maskload_ps(mr + full, tail));
            _mm256_maskstore_ps(row + full, tail, v);
            vmax = _mm256_max_ps(vmax, _mm256_blendv_ps(ninf, v, tailf));
        }
        const __m256 vmx = _mm256_set1_ps(hmax8(vmax));
        __m256 vsum = _mm256_setzero_ps();
        for (int64_t i = 0; i < full; i += 8) {
            const __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(row + i), vmx));
            _mm256_storeu_ps(row + i, e);
            vsum = _mm256_add_ps(vsum, e);
        }
        if (rem) {
            const __m256 e = _mm256_and_ps(
                exp8(_mm256_sub_ps(_mm256_maskload_ps(row + full, tail), vmx)), tailf);
            _mm256_maskstore_ps(row + full, tail, e);
            vsum = _mm256_add_ps(vsum, e);
        }
        const float is = 1.0f / hsum8(vsum);
        if (inv_sum) {
            inv_sum[r] = is;
            continue;
        }
        const __m256 inv = _mm256_set1_ps(is);
        for (int64_t i = 0; i < full; i += 8)
            _mm256_storeu_ps(row + i, _mm256_mul_ps(_mm256_loadu_ps(row + i), inv));
        if (rem)
            _mm256_maskstore_ps(row + full, tail,
                                _mm256_mul_ps(_mm256_maskload_ps(row + full, tail), inv));
    }
}

/* GELU with z = |v| / sqrt(2) and e = erfc(z) = t exp(p(t) - z^2), t = 1 / (1 + z/2) (Numerical
 * Recipes' erfcc): gelu(v) = (v/2) e for v < 0 and v - (v/2) e for v >= 0. p - z^2 is one
 * fused operation, so z^2 is not rounded before the subtraction. t: a 12-bit reciprocal and
 * one Newton step (about 2^-23 relative). */
AVX2 static inline __m256 gelu8(__m256 v) {
    const __m256 one = _mm256_set1_ps(1.0f), half = _mm256_set1_ps(0.5f);
    const __m256 z = _mm256_mul_ps(_mm256_andnot_ps(_mm256_set1_ps(-0.0f), v),
                                   _mm256_set1_ps(0.70710678118654752440f));
    const __m256 d = _mm256_fmadd_ps(half, z, one);
    __m256 t = _mm256_rcp_ps(d);
    t = _mm256_mul_ps(t, _mm256_fnmadd_ps(d, t, _mm256_set1_ps(2.0f)));
    __m256 p = _mm256_set1_ps(NR_ERFC[0]);
    for (int i = 1; i < 10; i++)
        p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(NR_ERFC[i]));
    const __m256 e = exp8(_mm256_fnmadd_ps(z, z, p));
    const __m256 q = _mm256_mul_ps(_mm256_mul_ps(_mm256_mul_ps(half, v), t), e); /* v/2 erfc */
    /* v >= 0 (or NaN): v - q; v < 0: q */
    const __m256 neg = _mm256_cmp_ps(v, _mm256_setzero_ps(), _CMP_LT_OQ);
    return _mm256_blendv_ps(_mm256_sub_ps(v, q), q, neg);
}

AVX2 static void bias_gelu_avx2(float *x, const float *b, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_loadu_ps(x + i);
        if (b) v = _mm256_add_ps(v, _mm256_loadu_ps(b + i));
        _mm256_storeu_ps(x + i, gelu8(v));
    }
    for (; i < n; i++) {
        const float v = x[i] + (b ? b[i] : 0.0f);
        x[i] = 0.5f * v * erfcf(-v * 0.70710678118654752440f); /* 1 + erf(u) = erfc(-u) */
    }
}

/* The sigmoid-gated activations: act(v) = v * sigmoid(z), z = c1 v + c3 v^3 (SiLU: 1, 0;
 * QuickGELU: 1.702, 0; tanh GELU: 2 sqrt(2/pi) (v + 0.044715 v^3), as 0.5 (1 + tanh(u)) is
 * sigmoid(2u)). sigmoid(z) = 1 / (1 + e) for z >= 0, e / (1 + e) below, e = exp(-|z|): no
 * overflow on either side. */
AVX2 static void bias_gated_avx2(float *x, const float *b, int64_t n, float c1, float c3) {
    const __m256 one = _mm256_set1_ps(1.0f), k1 = _mm256_set1_ps(c1), k3 = _mm256_set1_ps(c3);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_loadu_ps(x + i);
        if (b) v = _mm256_add_ps(v, _mm256_loadu_ps(b + i));
        const __m256 z = _mm256_mul_ps(v, _mm256_fmadd_ps(k3, _mm256_mul_ps(v, v), k1));
        const __m256 e =
            exp8(_mm256_sub_ps(_mm256_setzero_ps(), _mm256_andnot_ps(_mm256_set1_ps(-0.0f), z)));
        const __m256 r = _mm256_div_ps(one, _mm256_add_ps(one, e));
        const __m256 neg = _mm256_cmp_ps(z, _mm256_setzero_ps(), _CMP_LT_OQ);
        _mm256_storeu_ps(x + i, _mm256_mul_ps(v, _mm256_blendv_ps(r, _mm256_mul_ps(e, r), neg)));
    }
    for (; i < n; i++) {
        const float v = x[i] + (b ? b[i] : 0.0f), z = v * (c1 + c3 * v * v);
        const float e = expf(-fabsf(z)), r = 1.0f / (1.0f + e);
        x[i] = v * (z < 0.0f ? e * r : r);
    }
}

#define AVX512 __attribute__((target("avx512f")))

/* The same exp and erfc on sixteen lanes, with fewer instructions: these kernels run at about
 * one 512-bit operation per cycle here, so every operation saved is time saved.
 * exp16: for x <= 88 (its callers pass x - max(x) and p - z^2, both <= 0 up to rounding).
 * n = round(x log2 e) by adding and subtracting 1.5 * 2^23; the polynomial in Horner form. */
AVX512 static inline __m512 exp16(__m512 x) {
    const __m512 magic = _mm512_set1_ps(12582912.0f);
    x = _mm512_max_ps(_mm512_set1_ps(-87.3365448f), x); /* NaN passes (second operand) */
    const __m512 n =
        _mm512_sub_ps(_mm512_fmadd_ps(x, _mm512_set1_ps(1.44269504088896341f), magic), magic);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(CEPHES_EXP[0]);
    for (int i = 1; i < 6; i++)
        p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(CEPHES_EXP[i]));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    return _mm512_scalef_ps(p, n); /* p * 2^n */
}

/* Whole rows through masked loads and stores: no scalar tail.
 * The same erfc and GELU as gelu8: gelu(v) = (v/2) e for v < 0 and v - (v/2) e for v >= 0,
 * e = erfc(|v| / sqrt(2)); t from a 14-bit reciprocal and one Newton step. */
AVX512 static void bias_gelu_avx512(float *x, const float *b, int64_t n) {
    const __m512 one = _mm512_set1_ps(1.0f), half = _mm512_set1_ps(0.5f);
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 k = lanes_left(n - i);
        __m512 v = _mm512_maskz_loadu_ps(k, x + i);
        if (b) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(k, b + i));
        const __m512 z = _mm512_mul_ps(_mm512_abs_ps(v), _mm512_set1_ps(0.70710678118654752440f));
        /* t = 1 / (1 + z/2): 14-bit estimate and one Newton step (about 2^-27 relative) */
        const __m512 d = _mm512_fmadd_ps(half, z, one);
        __m512 t = _mm512_rcp14_ps(d);
        t = _mm512_mul_ps(t, _mm512_fnmadd_ps(d, t, _mm512_set1_ps(2.0f)));
        __m512 p = _mm512_set1_ps(NR_ERFC[0]);
        for (int c = 1; c < 10; c++)
            p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(NR_ERFC[c]));
        const __m512 e = exp16(_mm512_fnmadd_ps(z, z, p));
        const __m512 q = _mm512_mul_ps(_mm512_mul_ps(_mm512_mul_ps(half, v), t), e); /* v/2 erfc */
        const __mmask16 pos = _mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_NLT_UQ);
        _mm512_mask_storeu_ps(x + i, k, _mm512_mask_sub_ps(q, pos, v, q));
    }
}

/* bias_gated_avx2 on sixteen lanes. */
AVX512 static void bias_gated_avx512(float *x, const float *b, int64_t n, float c1, float c3) {
    const __m512 one = _mm512_set1_ps(1.0f), k1 = _mm512_set1_ps(c1), k3 = _mm512_set1_ps(c3);
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 k = lanes_left(n - i);
        __m512 v = _mm512_maskz_loadu_ps(k, x + i);
        if (b) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(k, b + i));
        const __m512 z = _mm512_mul_ps(v, _mm512_fmadd_ps(k3, _mm512_mul_ps(v, v), k1));
        const __m512 e = exp16(_mm512_sub_ps(_mm512_setzero_ps(), _mm512_abs_ps(z)));
        const __m512 r = _mm512_div_ps(one, _mm512_add_ps(one, e));
        const __mmask16 neg = _mm512_cmp_ps_mask(z, _mm512_setzero_ps(), _CMP_LT_OQ);
        _mm512_mask_storeu_ps(x + i, k, _mm512_mul_ps(v, _mm512_mask_mul_ps(r, neg, e, r)));
    }
}

/* One vector of a short row with its bias and mask added; lanes past the row are -inf. */
AVX512 static inline __m512 sm_load(const float *row, const float *br, const float *mr, int q,
                                    __mmask16 k) {
    __m512 v = _mm512_maskz_loadu_ps(k, row + 16 * q);
    if (br) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(k, br + 16 * q));
    if (mr) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(k, mr + 16 * q));
    return _mm512_mask_mov_ps(_mm512_set1_ps(-INFINITY), k, v);
}

/* Rows of up to 64 scores, two at a time: each row stays in four registers from its load to
 * its one store, and the two rows' reductions overlap. */
AVX512 static inline void softmax_2rows64(float *row, const float *br, const float *mr,
                                          float *inv_sum, int64_t n, const __mmask16 *k) {
    float *row2 = row + n;
    const float *br2 = br ? br + n : NULL, *mr2 = mr ? mr + n : NULL;
    __m512 a0 = sm_load(row, br, mr, 0, k[0]), a1 = sm_load(row, br, mr, 1, k[1]);
    __m512 a2 = sm_load(row, br, mr, 2, k[2]), a3 = sm_load(row, br, mr, 3, k[3]);
    __m512 b0 = sm_load(row2, br2, mr2, 0, k[0]), b1 = sm_load(row2, br2, mr2, 1, k[1]);
    __m512 b2 = sm_load(row2, br2, mr2, 2, k[2]), b3 = sm_load(row2, br2, mr2, 3, k[3]);
    const __m512 ma = _mm512_set1_ps(
        _mm512_reduce_max_ps(_mm512_max_ps(_mm512_max_ps(a0, a1), _mm512_max_ps(a2, a3))));
    const __m512 mb = _mm512_set1_ps(
        _mm512_reduce_max_ps(_mm512_max_ps(_mm512_max_ps(b0, b1), _mm512_max_ps(b2, b3))));
    a0 = _mm512_maskz_mov_ps(k[0], exp16(_mm512_sub_ps(a0, ma)));
    b0 = _mm512_maskz_mov_ps(k[0], exp16(_mm512_sub_ps(b0, mb)));
    a1 = _mm512_maskz_mov_ps(k[1], exp16(_mm512_sub_ps(a1, ma)));
    b1 = _mm512_maskz_mov_ps(k[1], exp16(_mm512_sub_ps(b1, mb)));
    a2 = _mm512_maskz_mov_ps(k[2], exp16(_mm512_sub_ps(a2, ma)));
    b2 = _mm512_maskz_mov_ps(k[2], exp16(_mm512_sub_ps(b2, mb)));
    a3 = _mm512_maskz_mov_ps(k[3], exp16(_mm512_sub_ps(a3, ma)));
    b3 = _mm512_maskz_mov_ps(k[3], exp16(_mm512_sub_ps(b3, mb)));
    const float ia =
        1.0f / _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
    const float ib =
        1.0f / _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(b0, b1), _mm512_add_ps(b2, b3)));
    if (inv_sum) {
        inv_sum[0] = ia;
        inv_sum[1] = ib;
    } else {
        const __m512 sa = _mm512_set1_ps(ia), sb = _mm512_set1_ps(ib);
        a0 = _mm512_mul_ps(a0, sa), a1 = _mm512_mul_ps(a1, sa);
        a2 = _mm512_mul_ps(a2, sa), a3 = _mm512_mul_ps(a3, sa);
        b0 = _mm512_mul_ps(b0, sb), b1 = _mm512_mul_ps(b1, sb);
        b2 = _mm512_mul_ps(b2, sb), b3 = _mm512_mul_ps(b3, sb);
    }
    _mm512_mask_storeu_ps(row, k[0], a0);
    _mm512_mask_storeu_ps(row + 16, k[1], a1);
    _mm512_mask_storeu_ps(row + 32, k[2], a2);
    _mm512_mask_storeu_ps(row + 48, k[3], a3);
    _mm512_mask_storeu_ps(row2, k[0], b0);
    _mm512_mask_storeu_ps(row2 + 16, k[1], b1);
    _mm512_mask_storeu_ps(row2 + 32, k[2], b2);
    _mm512_mask_storeu_ps(row2 + 48, k[3], b3);
}

AVX512 static void softmax_rows_avx512(float *x, int64_t rows, int64_t n, const float *bias,
                                       const float *mask, float *inv_sum) {
    int64_t r = 0;
    if (n <= 64) {
        const __mmask16 k[4] = {lanes_left(n), lanes_left(n - 16), lanes_left(n - 32),
                                lanes_left(n - 48)};
        for (; r + 2 <= rows; r += 2)
            softmax_2rows64(x + r * n, bias ? bias + r * n : NULL, mask ? mask + r * n : NULL,
                            inv_sum ? inv_sum + r : NULL, n, k);
    }
    for (; r < rows; r++) {
        float *row = x + r * n;
        const float *br = bias ? bias + r * n : NULL, *mr = mask ? mask + r * n : NULL;
        __m512 vmax = _mm512_set1_ps(-INFINITY);
        for (int64_t i = 0; i < n; i += 16) {
            const __mmask16 k = lanes_left(n - i);
            __m512 v = _mm512_maskz_loadu_ps(k, row + i);
            if (br) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(k, br + i));
            if (mr) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(k, mr + i));
            _mm512_mask_storeu_ps(row + i, k, v);
            vmax = _mm512_mask_max_ps(vmax, k, vmax, v);
        }
        const __m512 vmx = _mm512_set1_ps(_mm512_reduce_max_ps(vmax));
        __m512 vsum = _mm512_setzero_ps();
        for (int64_t i = 0; i < n; i += 16) {
            const __mmask16 k = lanes_left(n - i);
            const __m512 e = exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, row + i), vmx));
            _mm512_mask_storeu_ps(row + i, k, e);
            vsum = _mm512_mask_add_ps(vsum, k, vsum, e);
        }
        const float is = 1.0f / _mm512_reduce_add_ps(vsum);
        if (inv_sum) {
            inv_sum[r] = is;
            continue;
        }
        const __m512 inv = _mm512_set1_ps(is);
        for (int64_t i = 0; i < n; i += 16) {
            const __mmask16 k = lanes_left(n - i);
            _mm512_mask_storeu_ps(row + i, k,
                                  _mm512_mul_ps(_mm512_maskz_loadu_ps(k, row + i), inv));
        }
    }
}

/* out[r * ld + c] *= s[r] for c < n. */
AVX512 static void scale_rows_avx512(float *out, int64_t ld, int64_t rows, int64_t n,
                                     const float *s) {
    for (int64_t r = 0; r < rows; r++) {
        const __m512 f = _mm512_set1_ps(s[r]);
        float *o = out + r * ld;
        for (int64_t c = 0; c < n; c += 16) {
            const __mmask16 k = lanes_left(n - c);
            _mm512_mask_storeu_ps(o + c, k, _mm512_mul_ps(_mm512_maskz_loadu_ps(k, o + c), f));
        }
    }
}

AVX512 static void add_avx512(float *restrict out, const float *restrict in, int64_t n) {
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 k = lanes_left(n - i);
        _mm512_mask_storeu_ps(
            out + i, k,
            _mm512_add_ps(_mm512_maskz_loadu_ps(k, out + i), _mm512_maskz_loadu_ps(k, in + i)));
    }
}

AVX2 static void add_avx2(float *restrict out, const float *restrict in, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(out + i, _mm256_add_ps(_mm256_loadu_ps(out + i), _mm256_loadu_ps(in + i)));
    for (; i < n; i++)
        out[i] += in[i];
}

AVX2 static void scale_rows_avx2(float *out, int64_t ld, int64_t rows, int64_t n, const float *s) {
    for (int64_t r = 0; r < rows; r++) {
        const __m256 f = _mm256_set1_ps(s[r]);
        float *o = out + r * ld;
        int64_t c = 0;
        for (; c + 8 <= n; c += 8)
            _mm256_storeu_ps(o + c, _mm256_mul_ps(_mm256_loadu_ps(o + c), f));
        for (; c < n; c++)
            o[c] *= s[r];
    }
}

/* Rows scaled to length f, as F.normalize (eps 1e-12) then times f: the sum of squares in
 * double (16 or 4 lanes at a time), the factor rounded to float once per row. */
AVX512 static void unit_rows_avx512(float *x, int64_t ld, int64_t rows, int64_t n, double f) {
    for (int64_t r = 0; r < rows; r++) {
        float *row = x + r * ld;
        __m512d acc = _mm512_setzero_pd();
        for (int64_t c = 0; c < n; c += 16) {
            const __m512 v = _mm512_maskz_loadu_ps(lanes_left(n - c), row + c);
            const __m512d lo = _mm512_cvtps_pd(_mm512_castps512_ps256(v));
            const __m512d hi =
                _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
            acc = _mm512_fmadd_pd(hi, hi, _mm512_fmadd_pd(lo, lo, acc));
        }
        const double norm = sqrt(_mm512_reduce_add_pd(acc));
        const __m512 g = _mm512_set1_ps((float)(f / (norm > 1e-12 ? norm : 1e-12)));
        for (int64_t c = 0; c < n; c += 16) {
            const __mmask16 k = lanes_left(n - c);
            _mm512_mask_storeu_ps(row + c, k, _mm512_mul_ps(_mm512_maskz_loadu_ps(k, row + c), g));
        }
    }
}

AVX2 static void unit_rows_avx2(float *x, int64_t ld, int64_t rows, int64_t n, double f) {
    for (int64_t r = 0; r < rows; r++) {
        float *row = x + r * ld;
        __m256d acc = _mm256_setzero_pd();
        int64_t c = 0;
        for (; c + 4 <= n; c += 4) {
            const __m256d v = _mm256_cvtps_pd(_mm_loadu_ps(row + c));
            acc = _mm256_fmadd_pd(v, v, acc);
        }
        double lane[4];
        _mm256_storeu_pd(lane, acc);
        double ss = (lane[0] + lane[1]) + (lane[2] + lane[3]);
        for (int64_t t = c; t < n; t++)
            ss += (double)row[t] * row[t];
        const double norm = sqrt(ss);
        const float gs = (float)(f / (norm > 1e-12 ? norm : 1e-12));
        const __m256 g = _mm256_set1_ps(gs);
        for (c = 0; c + 8 <= n; c += 8)
            _mm256_storeu_ps(row + c, _mm256_mul_ps(_mm256_loadu_ps(row + c), g));
        for (; c < n; c++)
            row[c] *= gs;
    }
}

static int isa_cap = 2; /* tests lower it to reach every path (swin__kernels_isa) */

static bool have_avx512(void) {
    static int cached = -1; /* benign race: every thread computes the same value */
    int c = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (c < 0) {
        __builtin_cpu_init();
        c = __builtin_cpu_supports("avx512f");
        __atomic_store_n(&cached, c, __ATOMIC_RELAXED);
    }
    return c != 0 && __atomic_load_n(&isa_cap, __ATOMIC_RELAXED) >= 2;
}

static bool have_avx2(void) {
    static int cached = -1; /* benign race: every thread computes the same value */
    int c = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (c < 0) {
        __builtin_cpu_init();
        c = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
        __atomic_store_n(&cached, c, __ATOMIC_RELAXED);
    }
    return c != 0 && __atomic_load_n(&isa_cap, __ATOMIC_RELAXED) >= 1;
}
#endif

int swin__kernels_isa(int cap) {
#ifdef SWIN_X86_SIMD
    __atomic_store_n(&isa_cap, cap, __ATOMIC_RELAXED);
    return have_avx512() ? 2 : have_avx2() ? 1 : 0;
#else
    (void)cap;
    return 0;
#endif
}

void swin__softmax_rows_add(float *x, int64_t rows, int64_t n, const float *bias, const float *mask,
                            float *inv_sum) {
#ifdef SWIN_X86_SIMD
    if (have_avx512()) {
        softmax_rows_avx512(x, rows, n, bias, mask, inv_sum);
        return;
    }
    if (have_avx2()) {
        softmax_rows_avx2(x, rows, n, bias, mask, inv_sum);
        return;
    }
#endif
    for (int64_t r = 0; r < rows; r++) {
        float *row = x + r * n;
        for (int64_t i = 0; i < n; i++) {
            if (bias) row[i] += bias[r * n + i];
            if (mask) row[i] += mask[r * n + i];
        }
        float mx = row[0];
        for (int64_t i = 1; i < n; i++)
            mx = row[i] > mx ? row[i] : mx;
        double sum = 0.0;
        for (int64_t i = 0; i < n; i++) {
            row[i] = expf(row[i] - mx);
            sum += row[i];
        }
        const float inv = (float)(1.0 / sum);
        if (inv_sum) {
            inv_sum[r] = inv;
            continue;
        }
        for (int64_t i = 0; i < n; i++)
            row[i] *= inv;
    }
}

void swin__softmax_rows(float *x, int64_t rows, int64_t n) {
    swin__softmax_rows_add(x, rows, n, NULL, NULL, NULL);
}

void swin__bias_gelu(float *x, const float *b, int64_t n) {
#ifdef SWIN_X86_SIMD
    if (have_avx512()) {
        bias_gelu_avx512(x, b, n);
        return;
    }
    if (have_avx2()) {
        bias_gelu_avx2(x, b, n);
        return;
    }
#endif
    for (int64_t i = 0; i < n; i++) {
        const float v = x[i] + (b ? b[i] : 0.0f);
        x[i] = 0.5f * v * erfcf(-v * 0.70710678118654752440f); /* 1 + erf(u) = erfc(-u) */
    }
}

static void bias_gated(float *x, const float *b, int64_t n, float c1, float c3) {
#ifdef SWIN_X86_SIMD
    if (have_avx512()) {
        bias_gated_avx512(x, b, n, c1, c3);
        return;
    }
    if (have_avx2()) {
        bias_gated_avx2(x, b, n, c1, c3);
        return;
    }
#endif
    for (int64_t i = 0; i < n; i++) {
        const float v = x[i] + (b ? b[i] : 0.0f), z = v * (c1 + c3 * v * v);
        const float e = expf(-fabsf(z)), r = 1.0f / (1.0f + e);
        x[i] = v * (z < 0.0f ? e * r : r);
    }
}

void swin__bias_act(float *x, const float *b, int64_t n, swin_activation act) {
    switch (act) {
    case SWIN_ACT_GELU:
        swin__bias_gelu(x, b, n);
        return;
    case SWIN_ACT_RELU:
        for (int64_t i = 0; i < n; i++) {
            const float v = x[i] + (b ? b[i] : 0.0f);
            x[i] = v > 0.0f ? v : 0.0f;
        }
        return;
    case SWIN_ACT_GELU_TANH: /* 2 sqrt(2/pi) (v + 0.044715 v^3) */
        bias_gated(x, b, n, 1.5957691216057308f, 1.5957691216057308f * 0.044715f);
        return;
    case SWIN_ACT_QUICK_GELU:
        bias_gated(x, b, n, 1.702f, 0.0f);
        return;
    case SWIN_ACT_SILU:
        bias_gated(x, b, n, 1.0f, 0.0f);
        return;
    case SWIN_ACT_NONE:
        if (b) swin__add_inplace(x, b, n);
        return;
    }
}

void swin__gelu(float *x, int64_t n) {
    swin__bias_gelu(x, NULL, n);
}

void swin__add_inplace(float *restrict out, const float *restrict in, int64_t n) {
#ifdef SWIN_X86_SIMD
    if (have_avx512()) {
        add_avx512(out, in, n);
        return;
    }
    if (have_avx2()) {
        add_avx2(out, in, n);
        return;
    }
#endif
    for (int64_t i = 0; i < n; i++)
        out[i] += in[i];
}

void swin__scale_rows(float *out, int64_t ld, int64_t rows, int64_t n, const float *s) {
#ifdef SWIN_X86_SIMD
    if (have_avx512()) {
        scale_rows_avx512(out, ld, rows, n, s);
        return;
    }
    if (have_avx2()) {
        scale_rows_avx2(out, ld, rows, n, s);
        return;
    }
#endif
    for (int64_t r = 0; r < rows; r++)
        for (int64_t c = 0; c < n; c++)
            out[r * ld + c] *= s[r];
}

void swin__unit_rows(float *x, int64_t ld, int64_t rows, int64_t n, double f) {
#ifdef SWIN_X86_SIMD
    if (have_avx512()) {
        unit_rows_avx512(x, ld, rows, n, f);
        return;
    }
    if (have_avx2()) {
        unit_rows_avx2(x, ld, rows, n, f);
        return;
    }
#endif
    for (int64_t r = 0; r < rows; r++) {
        float *row = x + r * ld;
        double ss = 0.0;
        for (int64_t c = 0; c < n; c++)
            ss += (double)row[c] * row[c];
        const double norm = sqrt(ss);
        const float g = (float)(f / (norm > 1e-12 ? norm : 1e-12));
        for (int64_t c = 0; c < n; c++)
            row[c] *= g;
    }
}

static inline int64_t wrap(int64_t i, int64_t n) {
    int64_t r = i % n;
    return r < 0 ? r + n : r;
}

void swin__roll(float *restrict out, const float *restrict in, int64_t B, int64_t H, int64_t W,
                int64_t C, int64_t sh, int64_t sw) {
    for (int64_t b = 0; b < B; b++)
        for (int64_t h = 0; h < H; h++) {
            const int64_t hs = wrap(h + sh, H);
            for (int64_t w = 0; w < W; w++) {
                const int64_t ws = wrap(w + sw, W);
                memcpy(out + ((b * H + h) * W + w) * C, in + ((b * H + hs) * W + ws) * C,
                       (size_t)C * sizeof(float));
            }
        }
}

void swin__pad(float *restrict out, const float *restrict in, int64_t B, int64_t H, int64_t W,
               int64_t Hp, int64_t Wp, int64_t C) {
    for (int64_t b = 0; b < B; b++)
        for (int64_t h = 0; h < Hp; h++) {
            float *dst = out + (b * Hp + h) * Wp * C;
            if (h < H) {
                memcpy(dst, in + (b * H + h) * W * C, (size_t)(W * C) * sizeof(float));
                memset(dst + W * C, 0, (size_t)((Wp - W) * C) * sizeof(float));
            } else {
                memset(dst, 0, (size_t)(Wp * C) * sizeof(float));
            }
        }
}

void swin__window_partition(float *restrict out, const float *restrict in, int64_t B, int64_t Hp,
                            int64_t Wp, int64_t C, int64_t wh, int64_t ww) {
    const int64_t nWh = Hp / wh, nWw = Wp / ww;
    for (int64_t b = 0; b < B; b++)
        for (int64_t y = 0; y < nWh; y++)
            for (int64_t x = 0; x < nWw; x++) {
                float *win = out + ((b * nWh + y) * nWw + x) * wh * ww * C;
                for (int64_t i = 0; i < wh; i++)
                    memcpy(win + i * ww * C, in + ((b * Hp + y * wh + i) * Wp + x * ww) * C,
                           (size_t)(ww * C) * sizeof(float));
            }
}

void swin__window_reverse(float *restrict out, const float *restrict in, int64_t B, int64_t Hp,
                          int64_t Wp, int64_t H, int64_t W, int64_t C, int64_t wh, int64_t ww) {
    const int64_t nWh = Hp / wh, nWw = Wp / ww;
    for (int64_t b = 0; b < B; b++)
        for (int64_t h = 0; h < H; h++) {
            const int64_t y = h / wh, i = h % wh;
            for (int64_t x = 0; x < nWw; x++) {
                const int64_t w0 = x * ww;
                if (w0 >= W) break;
                const int64_t n = (W - w0) < ww ? (W - w0) : ww;
                memcpy(out + ((b * H + h) * W + w0) * C,
                       in + (((b * nWh + y) * nWw + x) * wh * ww + i * ww) * C,
                       (size_t)(n * C) * sizeof(float));
            }
        }
}
