/* The per-ISA kernels: one table of vector routines per instruction set, one file per target
 * (scalar.c, avx2.c, avx512.c, neon.c), and dispatch.c, which picks a table once at first use
 * (or as SWIN_ISA says) and wraps it in the swin__* kernel functions of internal.h.
 * Shapes as in internal.h: rows of n (or C) floats, ld the row stride. */
#ifndef SWIN_KERNELS_H
#define SWIN_KERNELS_H

#include <stdbool.h>
#include <stdint.h>

/* The instruction sets, in the order the x86 ones nest; also the values of swin__kernels_force. */
typedef enum swin_isa {
    SWIN_ISA_SCALAR = 0,
    SWIN_ISA_AVX2 = 1,   /* AVX2 and FMA */
    SWIN_ISA_AVX512 = 2, /* AVX-512F */
    SWIN_ISA_NEON = 3,   /* AArch64's Advanced SIMD */
    SWIN_ISA_COUNT
} swin_isa;

typedef struct swin_kernel_table {
    swin_isa isa;
    const char *name;
    /* out[r] = (in[r] - mean) / sqrt(var + eps) * gamma + beta, biased variance in double */
    void (*layernorm_rows)(float *out, const float *in, const float *gamma, const float *beta,
                           int64_t rows, int64_t C, float eps);
    /* softmax of each row of x[rows, n] after adding bias and mask rows (either may be NULL);
     * with inv_sum, rows are left unnormalised and inv_sum[r] gets 1 / their sum */
    void (*softmax_rows_add)(float *x, int64_t rows, int64_t n, const float *bias,
                             const float *mask, float *inv_sum);
    /* x = gelu(x + b), exact erf; b may be NULL */
    void (*bias_gelu)(float *x, const float *b, int64_t n);
    /* x = v sigmoid(c1 v + c3 v^3), v = x + b; b may be NULL */
    void (*bias_gated)(float *x, const float *b, int64_t n, float c1, float c3);
    /* out += in */
    void (*add)(float *restrict out, const float *restrict in, int64_t n);
    /* out[r * ld + c] *= s[r] for c < n */
    void (*scale_rows)(float *out, int64_t ld, int64_t rows, int64_t n, const float *s);
    /* rows scaled to length f, as F.normalize (eps 1e-12) then times f */
    void (*unit_rows)(float *x, int64_t ld, int64_t rows, int64_t n, double f);
} swin_kernel_table;

/* Each target's table; the SIMD ones exist only where their file compiles to code
 * (swin__kernels_avx2 and _avx512 on x86-64, swin__kernels_neon on AArch64). */
extern const swin_kernel_table swin__kernels_scalar;
extern const swin_kernel_table swin__kernels_avx2;
extern const swin_kernel_table swin__kernels_avx512;
extern const swin_kernel_table swin__kernels_neon;

/* The scalar routines, for the SIMD files' tails. */
float swin__gelu1(float v);
float swin__gated1(float v, float c1, float c3);

/* Coefficients shared by the vector paths. erfc(z) = t exp(-z^2 + P(t)), t = 1 / (1 + z/2)
 * (Numerical Recipes' erfcc, relative error below 1.2e-7), P's highest degree first; and
 * Cephes's exp(r) = 1 + r + r^2 Q(r) on |r| <= ln2 / 2, Q's highest degree first. exp's
 * argument is clamped at SWIN_EXP_LO so that 2^n stays a normal number. */
static const float SWIN_NR_ERFC[10] = {0.17087277f, -0.82215223f, 1.48851587f, -1.13520398f,
                                       0.27886807f, -0.18628806f, 0.09678418f, 0.37409196f,
                                       1.00002368f, -1.26551223f};
static const float SWIN_CEPHES_EXP[6] = {1.9875691500E-4f, 1.3981999507E-3f, 8.3334519073E-3f,
                                         4.1665795894E-2f, 1.6666665459E-1f, 5.0000001201E-1f};
#define SWIN_EXP_LO (-87.3365448f)
#define SWIN_LOG2E 1.44269504088896341f
#define SWIN_LN2_HI 0.693359375f
#define SWIN_LN2_LO (-2.12194440e-4f)
#define SWIN_SQRT1_2 0.70710678118654752440f

#endif
