/* The NEON kernels (AArch64's Advanced SIMD, present on every AArch64 Linux system): four float
 * lanes, the same exp (Cephes), erfc (Numerical Recipes) and summation orders as avx2.c, with
 * true division where x86 refines a reciprocal estimate. Row tails go through a small buffer,
 * so every element sees the same polynomial. */
#include <math.h>
#include <string.h>

#include "kernels.h"

#if defined(__aarch64__) && defined(__ARM_NEON)
#include <arm_neon.h>

/* exp for x <= 88 (callers pass x - max(x), p - z^2 and -|z|, all <= 0 up to rounding); below
 * SWIN_EXP_LO clamped, so 2^n stays a normal number; NaN passes through (FMAX propagates it).
 * x = n ln2 + r with |r| <= ln2 / 2, n = round(x log2 e) to nearest even. */
static inline float32x4_t exp4(float32x4_t x) {
    x = vmaxq_f32(x, vdupq_n_f32(SWIN_EXP_LO));
    const float32x4_t n = vrndnq_f32(vmulq_n_f32(x, SWIN_LOG2E));
    float32x4_t r = vfmsq_f32(x, n, vdupq_n_f32(SWIN_LN2_HI));
    r = vfmsq_f32(r, n, vdupq_n_f32(SWIN_LN2_LO));
    float32x4_t p = vdupq_n_f32(SWIN_CEPHES_EXP[0]);
    for (int i = 1; i < 6; i++)
        p = vfmaq_f32(vdupq_n_f32(SWIN_CEPHES_EXP[i]), p, r);
    p = vfmaq_f32(vdupq_n_f32(1.0f), p, r);
    p = vfmaq_f32(vdupq_n_f32(1.0f), p, r);
    /* 2^n: (n + 127) << 23 */
    const int32x4_t e = vshlq_n_s32(vaddq_s32(vcvtq_s32_f32(n), vdupq_n_s32(127)), 23);
    return vmulq_f32(p, vreinterpretq_f32_s32(e));
}

/* The lanes of a 4-float vector that hold data when `left` (1..3) values remain. */
static inline uint32x4_t lanes_left(int64_t left) {
    const uint32_t idx[4] = {0, 1, 2, 3};
    return vcltq_u32(vld1q_u32(idx), vdupq_n_u32((uint32_t)left));
}

/* LayerNorm as avx2.c: float lanes (two vectors of four), added in double in a fixed order. */
static inline double hsum_d(float32x4_t a, float32x4_t b) {
    const float64x2_t s = vaddq_f64(vaddq_f64(vcvt_f64_f32(vget_low_f32(a)), vcvt_high_f64_f32(a)),
                                    vaddq_f64(vcvt_f64_f32(vget_low_f32(b)), vcvt_high_f64_f32(b)));
    return vgetq_lane_f64(s, 0) + vgetq_lane_f64(s, 1);
}

static void layernorm_rows_neon(float *out, const float *in, const float *gamma, const float *beta,
                                int64_t rows, int64_t C, float eps) {
    const int64_t full = C / 4 * 4;
    for (int64_t r = 0; r < rows; r++) {
        const float *x = in + r * C;
        float *y = out + r * C;
        float32x4_t s0 = vdupq_n_f32(0.0f), s1 = vdupq_n_f32(0.0f);
        int64_t c = 0;
        for (; c + 8 <= full; c += 8) {
            s0 = vaddq_f32(s0, vld1q_f32(x + c));
            s1 = vaddq_f32(s1, vld1q_f32(x + c + 4));
        }
        if (c < full) s0 = vaddq_f32(s0, vld1q_f32(x + c));
        double sum = hsum_d(s0, s1);
        for (c = full; c < C; c++)
            sum += x[c];
        const float mf = (float)(sum / (double)C);
        const float32x4_t m = vdupq_n_f32(mf);
        s0 = vdupq_n_f32(0.0f);
        s1 = vdupq_n_f32(0.0f);
        for (c = 0; c + 8 <= full; c += 8) {
            const float32x4_t d0 = vsubq_f32(vld1q_f32(x + c), m);
            const float32x4_t d1 = vsubq_f32(vld1q_f32(x + c + 4), m);
            s0 = vfmaq_f32(s0, d0, d0);
            s1 = vfmaq_f32(s1, d1, d1);
        }
        if (c < full) {
            const float32x4_t d0 = vsubq_f32(vld1q_f32(x + c), m);
            s0 = vfmaq_f32(s0, d0, d0);
        }
        double ss = hsum_d(s0, s1);
        for (c = full; c < C; c++) {
            const float d = x[c] - mf;
            ss += (double)(d * d);
        }
        const float rs = (float)(1.0 / sqrt(ss / (double)C + (double)eps)); /* biased, as torch */
        const float32x4_t vrs = vdupq_n_f32(rs);
        for (c = 0; c < full; c += 4) {
            const float32x4_t n = vmulq_f32(vsubq_f32(vld1q_f32(x + c), m), vrs);
            vst1q_f32(y + c, vfmaq_f32(vld1q_f32(beta + c), n, vld1q_f32(gamma + c)));
        }
        for (c = full; c < C; c++)
            y[c] = fmaf((x[c] - mf) * rs, gamma[c], beta[c]);
    }
}

static void softmax_rows_neon(float *x, int64_t rows, int64_t n, const float *bias,
                              const float *mask, float *inv_sum) {
    const int64_t full = n / 4 * 4, rem = n - full;
    const uint32x4_t tail = lanes_left(rem);
    for (int64_t r = 0; r < rows; r++) {
        float *row = x + r * n;
        const float *br = bias ? bias + r * n : NULL, *mr = mask ? mask + r * n : NULL;
        float32x4_t vmax = vdupq_n_f32(-INFINITY);
        for (int64_t i = 0; i < full; i += 4) {
            float32x4_t v = vld1q_f32(row + i);
            if (br) v = vaddq_f32(v, vld1q_f32(br + i));
            if (mr) v = vaddq_f32(v, vld1q_f32(mr + i));
            vst1q_f32(row + i, v);
            vmax = vmaxq_f32(vmax, v);
        }
        float last[4] = {-INFINITY, -INFINITY, -INFINITY, -INFINITY};
        for (int64_t i = 0; i < rem; i++) {
            last[i] = row[full + i];
            if (br) last[i] += br[full + i];
            if (mr) last[i] += mr[full + i];
        }
        if (rem) vmax = vmaxq_f32(vmax, vld1q_f32(last));
        const float32x4_t vmx = vdupq_n_f32(vmaxvq_f32(vmax));
        float32x4_t vsum = vdupq_n_f32(0.0f);
        for (int64_t i = 0; i < full; i += 4) {
            const float32x4_t e = exp4(vsubq_f32(vld1q_f32(row + i), vmx));
            vst1q_f32(row + i, e);
            vsum = vaddq_f32(vsum, e);
        }
        float32x4_t et = vdupq_n_f32(0.0f);
        if (rem) {
            et = vreinterpretq_f32_u32(
                vandq_u32(vreinterpretq_u32_f32(exp4(vsubq_f32(vld1q_f32(last), vmx))), tail));
            vsum = vaddq_f32(vsum, et);
        }
        const float is = 1.0f / vaddvq_f32(vsum);
        if (!inv_sum) et = vmulq_n_f32(et, is);
        vst1q_f32(last, et);
        memcpy(row + full, last, (size_t)rem * sizeof(float));
        if (inv_sum) {
            inv_sum[r] = is;
            continue;
        }
        for (int64_t i = 0; i < full; i += 4)
            vst1q_f32(row + i, vmulq_n_f32(vld1q_f32(row + i), is));
    }
}

/* GELU as avx2.c's gelu8: z = |v| / sqrt(2), e = erfc(z) = t exp(p(t) - z^2) with
 * t = 1 / (1 + z/2); gelu(v) = (v/2) e for v < 0 and v - (v/2) e otherwise (NaN included). */
static inline float32x4_t gelu4(float32x4_t v) {
    const float32x4_t one = vdupq_n_f32(1.0f), half = vdupq_n_f32(0.5f);
    const float32x4_t z = vmulq_n_f32(vabsq_f32(v), SWIN_SQRT1_2);
    const float32x4_t t = vdivq_f32(one, vfmaq_f32(one, half, z));
    float32x4_t p = vdupq_n_f32(SWIN_NR_ERFC[0]);
    for (int i = 1; i < 10; i++)
        p = vfmaq_f32(vdupq_n_f32(SWIN_NR_ERFC[i]), p, t);
    const float32x4_t e = exp4(vfmsq_f32(p, z, z));
    const float32x4_t q = vmulq_f32(vmulq_f32(vmulq_f32(half, v), t), e); /* v/2 erfc */
    return vbslq_f32(vcltq_f32(v, vdupq_n_f32(0.0f)), q, vsubq_f32(v, q));
}

static void bias_gelu_neon(float *x, const float *b, int64_t n) {
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        float32x4_t v = vld1q_f32(x + i);
        if (b) v = vaddq_f32(v, vld1q_f32(b + i));
        vst1q_f32(x + i, gelu4(v));
    }
    if (i < n) {
        float last[4] = {0};
        for (int64_t k = i; k < n; k++)
            last[k - i] = x[k] + (b ? b[k] : 0.0f);
        vst1q_f32(last, gelu4(vld1q_f32(last)));
        memcpy(x + i, last, (size_t)(n - i) * sizeof(float));
    }
}

/* The sigmoid-gated activations as swin__gated1 (scalar.c) computes them. */
static inline float32x4_t gated4(float32x4_t v, float c1, float c3) {
    const float32x4_t one = vdupq_n_f32(1.0f);
    const float32x4_t z =
        vmulq_f32(v, vfmaq_f32(vdupq_n_f32(c1), vdupq_n_f32(c3), vmulq_f32(v, v)));
    const float32x4_t e = exp4(vnegq_f32(vabsq_f32(z)));
    const float32x4_t r = vdivq_f32(one, vaddq_f32(one, e));
    return vmulq_f32(v, vbslq_f32(vcltq_f32(z, vdupq_n_f32(0.0f)), vmulq_f32(e, r), r));
}

static void bias_gated_neon(float *x, const float *b, int64_t n, float c1, float c3) {
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        float32x4_t v = vld1q_f32(x + i);
        if (b) v = vaddq_f32(v, vld1q_f32(b + i));
        vst1q_f32(x + i, gated4(v, c1, c3));
    }
    if (i < n) {
        float last[4] = {0};
        for (int64_t k = i; k < n; k++)
            last[k - i] = x[k] + (b ? b[k] : 0.0f);
        vst1q_f32(last, gated4(vld1q_f32(last), c1, c3));
        memcpy(x + i, last, (size_t)(n - i) * sizeof(float));
    }
}

static void add_neon(float *restrict out, const float *restrict in, int64_t n) {
    int64_t i = 0;
    for (; i + 4 <= n; i += 4)
        vst1q_f32(out + i, vaddq_f32(vld1q_f32(out + i), vld1q_f32(in + i)));
    for (; i < n; i++)
        out[i] += in[i];
}

static void scale_rows_neon(float *out, int64_t ld, int64_t rows, int64_t n, const float *s) {
    for (int64_t r = 0; r < rows; r++) {
        float *o = out + r * ld;
        int64_t c = 0;
        for (; c + 4 <= n; c += 4)
            vst1q_f32(o + c, vmulq_n_f32(vld1q_f32(o + c), s[r]));
        for (; c < n; c++)
            o[c] *= s[r];
    }
}

/* Rows to length f: the sum of squares in double (two lanes of two), the factor a float. */
static void unit_rows_neon(float *x, int64_t ld, int64_t rows, int64_t n, double f) {
    for (int64_t r = 0; r < rows; r++) {
        float *row = x + r * ld;
        float64x2_t a0 = vdupq_n_f64(0.0), a1 = vdupq_n_f64(0.0);
        int64_t c = 0;
        for (; c + 4 <= n; c += 4) {
            const float32x4_t v = vld1q_f32(row + c);
            const float64x2_t lo = vcvt_f64_f32(vget_low_f32(v)), hi = vcvt_high_f64_f32(v);
            a0 = vfmaq_f64(a0, lo, lo);
            a1 = vfmaq_f64(a1, hi, hi);
        }
        double ss = vaddvq_f64(vaddq_f64(a0, a1));
        for (int64_t t = c; t < n; t++)
            ss += (double)row[t] * row[t];
        const double norm = sqrt(ss);
        const float g = (float)(f / (norm > 1e-12 ? norm : 1e-12));
        for (c = 0; c + 4 <= n; c += 4)
            vst1q_f32(row + c, vmulq_n_f32(vld1q_f32(row + c), g));
        for (; c < n; c++)
            row[c] *= g;
    }
}

const swin_kernel_table swin__kernels_neon = {
    SWIN_ISA_NEON,   "neon",   layernorm_rows_neon, softmax_rows_neon, bias_gelu_neon,
    bias_gated_neon, add_neon, scale_rows_neon,     unit_rows_neon,
};
#endif
