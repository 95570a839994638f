/* The AVX-512F kernels (x86-64, chosen at run time): sixteen float lanes, whole rows through
 * masked loads and stores (no scalar tails). The same exp and erfc as avx2.c, with fewer
 * instructions: these kernels run at about one 512-bit operation per cycle, so every
 * operation saved is time saved. */
#include <math.h>

#include "kernels.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define AVX512 __attribute__((target("avx512f")))

/* The mask of the lanes of a 16-float vector that hold data when `left` values remain. */
static inline __mmask16 lanes_left(int64_t left) {
    return left >= 16 ? (__mmask16)0xFFFF : left > 0 ? (__mmask16)((1u << left) - 1u) : 0;
}

/* Sixteen float lanes per row: the mean, then the mean of squared deviations from it (two
 * passes, as the double version); each lane sums C/16 values, and the lanes are added in
 * double. For C up to a few thousand this keeps the sums well within float precision. */
AVX512 static void layernorm_rows_avx512(float *out, const float *in, const float *gamma,
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

/* exp16: for x <= 88 (its callers pass x - max(x) and p - z^2, both <= 0 up to rounding).
 * n = round(x log2 e) by adding and subtracting 1.5 * 2^23; the polynomial in Horner form. */
AVX512 static inline __m512 exp16(__m512 x) {
    const __m512 magic = _mm512_set1_ps(12582912.0f);
    x = _mm512_max_ps(_mm512_set1_ps(SWIN_EXP_LO), x); /* NaN passes (second operand) */
    const __m512 n = _mm512_sub_ps(_mm512_fmadd_ps(x, _mm512_set1_ps(SWIN_LOG2E), magic), magic);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(SWIN_LN2_HI), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(SWIN_LN2_LO), r);
    __m512 p = _mm512_set1_ps(SWIN_CEPHES_EXP[0]);
    for (int i = 1; i < 6; i++)
        p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(SWIN_CEPHES_EXP[i]));
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
        const __m512 z = _mm512_mul_ps(_mm512_abs_ps(v), _mm512_set1_ps(SWIN_SQRT1_2));
        /* t = 1 / (1 + z/2): 14-bit estimate and one Newton step (about 2^-27 relative) */
        const __m512 d = _mm512_fmadd_ps(half, z, one);
        __m512 t = _mm512_rcp14_ps(d);
        t = _mm512_mul_ps(t, _mm512_fnmadd_ps(d, t, _mm512_set1_ps(2.0f)));
        __m512 p = _mm512_set1_ps(SWIN_NR_ERFC[0]);
        for (int c = 1; c < 10; c++)
            p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(SWIN_NR_ERFC[c]));
        const __m512 e = exp16(_mm512_fnmadd_ps(z, z, p));
        const __m512 q = _mm512_mul_ps(_mm512_mul_ps(_mm512_mul_ps(half, v), t), e); /* v/2 erfc */
        const __mmask16 pos = _mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_NLT_UQ);
        _mm512_mask_storeu_ps(x + i, k, _mm512_mask_sub_ps(q, pos, v, q));
    }
}

/* The sigmoid-gated activations (swin__gated1) on sixteen lanes. */
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

/* Rows scaled to length f, as F.normalize (eps 1e-12) then times f: the sum of squares in
 * double (sixteen lanes), the factor rounded to float once per row. */
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

const swin_kernel_table swin__kernels_avx512 = {
    SWIN_ISA_AVX512,   "avx512",   layernorm_rows_avx512, softmax_rows_avx512, bias_gelu_avx512,
    bias_gated_avx512, add_avx512, scale_rows_avx512,     unit_rows_avx512,
};
#endif
