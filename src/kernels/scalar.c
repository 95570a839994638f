/* The scalar kernels: every target's fallback, and the reference the vector paths are written
 * against. Plain C and the C library's expf/erfcf. */
#include <math.h>

#include "kernels.h"

static void layernorm_rows(float *out, const float *in, const float *gamma, const float *beta,
                           int64_t rows, int64_t C, float eps) {
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

static void softmax_rows_add(float *x, int64_t rows, int64_t n, const float *bias,
                             const float *mask, float *inv_sum) {
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

float swin__gelu1(float v) {
    return 0.5f * v * erfcf(-v * SWIN_SQRT1_2); /* 1 + erf(u) = erfc(-u) */
}

/* The sigmoid-gated activations: act(v) = v * sigmoid(z), z = c1 v + c3 v^3 (SiLU: 1, 0;
 * QuickGELU: 1.702, 0; tanh GELU: 2 sqrt(2/pi) (v + 0.044715 v^3), as 0.5 (1 + tanh(u)) is
 * sigmoid(2u)). sigmoid(z) = 1 / (1 + e) for z >= 0, e / (1 + e) below, e = exp(-|z|): no
 * overflow on either side. The vector paths compute the same. */
float swin__gated1(float v, float c1, float c3) {
    const float z = v * (c1 + c3 * v * v);
    const float e = expf(-fabsf(z)), r = 1.0f / (1.0f + e);
    return v * (z < 0.0f ? e * r : r);
}

static void bias_gelu(float *x, const float *b, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        x[i] = swin__gelu1(x[i] + (b ? b[i] : 0.0f));
}

static void bias_gated(float *x, const float *b, int64_t n, float c1, float c3) {
    for (int64_t i = 0; i < n; i++)
        x[i] = swin__gated1(x[i] + (b ? b[i] : 0.0f), c1, c3);
}

static void add(float *restrict out, const float *restrict in, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        out[i] += in[i];
}

static void scale_rows(float *out, int64_t ld, int64_t rows, int64_t n, const float *s) {
    for (int64_t r = 0; r < rows; r++)
        for (int64_t c = 0; c < n; c++)
            out[r * ld + c] *= s[r];
}

static void unit_rows(float *x, int64_t ld, int64_t rows, int64_t n, double f) {
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

const swin_kernel_table swin__kernels_scalar = {
    SWIN_ISA_SCALAR, "scalar", layernorm_rows, softmax_rows_add, bias_gelu,
    bias_gated,      add,      scale_rows,     unit_rows,
};
