/* The AVX2 + FMA kernels (x86-64, chosen at run time): eight float lanes, masked loads and
 * stores for row tails where the row is short, the C library for the rest. exp: Cephes's range
 * reduction and polynomial (about 1 ulp). GELU: 1 + erf(u) is 2 - erfc(u) for u >= 0 and
 * erfc(-u) below, with erfc from Numerical Recipes' Chebyshev fit (relative error below 1.2e-7
 * for every u), so the result keeps about float precision relative to itself on both sides. */
#include <math.h>

#include "kernels.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2,fma")))

/* LayerNorm as the AVX-512 version: float lanes (two vectors of eight, so each lane sums C/16
 * values), added in double in a fixed order; the last, partial vector through masked loads. */
AVX2 static inline double ln_hsum8(__m256 a, __m256 b) {
    const __m256d s = _mm256_add_pd(_mm256_add_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(a)),
                                                  _mm256_cvtps_pd(_mm256_extractf128_ps(a, 1))),
                                    _mm256_add_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(b)),
                                                  _mm256_cvtps_pd(_mm256_extractf128_ps(b, 1))));
    double lanes[4];
    _mm256_storeu_pd(lanes, s);
    return (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
}

AVX2 static void layernorm_rows_avx2(float *out, const float *in, const float *gamma,
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

AVX2 static inline __m256 exp8(__m256 x) {
    /* For x <= 88 (callers pass x - max(x) and p - z^2, both <= 0 up to rounding); below
     * -87.34 clamped, so 2^n stays a normal number. NaN passes through (second operand). */
    x = _mm256_max_ps(_mm256_set1_ps(SWIN_EXP_LO), x);
    /* x = n ln2 + r, |r| <= ln2 / 2; n = round(x log2 e) by adding 1.5 * 2^23, whose low
     * mantissa bits then hold n */
    const __m256 magic = _mm256_set1_ps(12582912.0f);
    const __m256 nb = _mm256_fmadd_ps(x, _mm256_set1_ps(SWIN_LOG2E), magic);
    const __m256 n = _mm256_sub_ps(nb, magic);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(SWIN_LN2_HI), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(SWIN_LN2_LO), r);
    __m256 p = _mm256_set1_ps(SWIN_CEPHES_EXP[0]);
    for (int i = 1; i < 6; i++)
        p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(SWIN_CEPHES_EXP[i]));
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
    const __m256 z =
        _mm256_mul_ps(_mm256_andnot_ps(_mm256_set1_ps(-0.0f), v), _mm256_set1_ps(SWIN_SQRT1_2));
    const __m256 d = _mm256_fmadd_ps(half, z, one);
    __m256 t = _mm256_rcp_ps(d);
    t = _mm256_mul_ps(t, _mm256_fnmadd_ps(d, t, _mm256_set1_ps(2.0f)));
    __m256 p = _mm256_set1_ps(SWIN_NR_ERFC[0]);
    for (int i = 1; i < 10; i++)
        p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(SWIN_NR_ERFC[i]));
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
    for (; i < n; i++)
        x[i] = swin__gelu1(x[i] + (b ? b[i] : 0.0f));
}

/* The sigmoid-gated activations as swin__gated1 (scalar.c) computes them. */
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
    for (; i < n; i++)
        x[i] = swin__gated1(x[i] + (b ? b[i] : 0.0f), c1, c3);
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

/* Rows to length f, as F.normalize (eps 1e-12) then times f: the sum of squares in double
 * (four lanes), the factor rounded to float once per row. */
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

const swin_kernel_table swin__kernels_avx2 = {
    SWIN_ISA_AVX2,   "avx2",   layernorm_rows_avx2, softmax_rows_avx2, bias_gelu_avx2,
    bias_gated_avx2, add_avx2, scale_rows_avx2,     unit_rows_avx2,
};
#endif
