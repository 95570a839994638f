/* The kernel dispatch: which table of kernels/ runs, chosen once at first use from what the
 * CPU has (or what SWIN_ISA names), and the swin__* kernel functions of internal.h over it. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "kernels/kernels.h"

static const char *const ISA_NAMES[SWIN_ISA_COUNT] = {"scalar", "avx2", "avx512", "neon"};

static const swin_kernel_table *table_of(swin_isa isa) {
    switch (isa) {
#if defined(__x86_64__) && defined(__GNUC__)
    case SWIN_ISA_AVX2:
        return &swin__kernels_avx2;
    case SWIN_ISA_AVX512:
        return &swin__kernels_avx512;
#endif
#if defined(__aarch64__) && defined(__ARM_NEON)
    case SWIN_ISA_NEON:
        return &swin__kernels_neon;
#endif
    default:
        return &swin__kernels_scalar;
    }
}

/* Whether this build has the path and the CPU can run it. */
static bool cpu_has(swin_isa isa) {
    switch (isa) {
    case SWIN_ISA_SCALAR:
        return true;
#if defined(__x86_64__) && defined(__GNUC__)
    case SWIN_ISA_AVX2:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case SWIN_ISA_AVX512:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx512f");
#endif
#if defined(__aarch64__) && defined(__ARM_NEON)
    case SWIN_ISA_NEON:
        return true; /* Advanced SIMD is part of every AArch64 Linux system */
#endif
    default:
        return false;
    }
}

static swin_isa best_isa(void) {
    if (cpu_has(SWIN_ISA_AVX512)) return SWIN_ISA_AVX512;
    if (cpu_has(SWIN_ISA_AVX2)) return SWIN_ISA_AVX2;
    if (cpu_has(SWIN_ISA_NEON)) return SWIN_ISA_NEON;
    return SWIN_ISA_SCALAR;
}

static _Atomic(const swin_kernel_table *) active;
static pthread_once_t chosen = PTHREAD_ONCE_INIT;
/* What was wrong with SWIN_ISA, if anything: models refuse to load until it is fixed, so a
 * forced path is never silently replaced by another (the kernels themselves keep the best). */
static char isa_error[256];
static swin_status isa_status = SWIN_OK;

static void choose(void) {
    swin_isa isa = best_isa();
    const char *want = getenv("SWIN_ISA");
    if (want && *want) {
        int k = 0;
        while (k < SWIN_ISA_COUNT && strcmp(want, ISA_NAMES[k]) != 0)
            k++;
        char have[64] = "";
        for (int h = 0; h < SWIN_ISA_COUNT; h++)
            if (cpu_has((swin_isa)h))
                snprintf(have + strlen(have), sizeof have - strlen(have), "%s%s", *have ? ", " : "",
                         ISA_NAMES[h]);
        if (k == SWIN_ISA_COUNT) {
            isa_status = SWIN_ERR_CONFIG;
            snprintf(isa_error, sizeof isa_error,
                     "SWIN_ISA=%.64s is not a kernel path: use one of scalar, avx2, avx512, neon "
                     "(this CPU and build have %s), or unset it",
                     want, have);
        } else if (!cpu_has((swin_isa)k)) {
            isa_status = SWIN_ERR_UNSUPPORTED;
            snprintf(isa_error, sizeof isa_error,
                     "SWIN_ISA=%s: this CPU or build cannot run that kernel path (it has %s)", want,
                     have);
        } else {
            isa = (swin_isa)k;
        }
    }
    atomic_store(&active, table_of(isa));
}

static inline const swin_kernel_table *K(void) {
    const swin_kernel_table *t = atomic_load_explicit(&active, memory_order_acquire);
    if (!t) {
        pthread_once(&chosen, choose);
        t = atomic_load(&active);
    }
    return t;
}

swin_status swin__kernels_ready(void) {
    pthread_once(&chosen, choose);
    return isa_status != SWIN_OK ? swin__error(isa_status, "%s", isa_error) : SWIN_OK;
}

const char *swin_kernel_isa(void) {
    return K()->name;
}

bool swin__kernels_force(int isa) {
    pthread_once(&chosen, choose);
    if (isa < 0 || isa >= SWIN_ISA_COUNT || !cpu_has((swin_isa)isa)) return false;
    atomic_store(&active, table_of((swin_isa)isa));
    return true;
}

int swin__kernels_current(void) {
    return (int)K()->isa;
}

const char *swin__kernels_name(int isa) {
    return isa >= 0 && isa < SWIN_ISA_COUNT ? ISA_NAMES[isa] : "?";
}

/* ---- the kernel functions ---- */

typedef struct ln_job {
    float *out;
    const float *in, *gamma, *beta;
    int64_t C;
    float eps;
} ln_job;

static void ln_task(void *arg, int64_t begin, int64_t end, int tid) {
    (void)tid;
    const ln_job *j = arg;
    K()->layernorm_rows(j->out + begin * j->C, j->in + begin * j->C, j->gamma, j->beta, end - begin,
                        j->C, j->eps);
}

void swin__layernorm(float *out, const float *in, const float *gamma, const float *beta,
                     int64_t rows, int64_t C, float eps, swin_pool *pool) {
    if (rows * C < 16384) {
        K()->layernorm_rows(out, in, gamma, beta, rows, C, eps);
        return;
    }
    ln_job j = {out, in, gamma, beta, C, eps};
    swin__parallel_split(pool, rows, 1, ln_task, &j);
}

void swin__softmax_rows_add(float *x, int64_t rows, int64_t n, const float *bias, const float *mask,
                            float *inv_sum) {
    K()->softmax_rows_add(x, rows, n, bias, mask, inv_sum);
}

void swin__softmax_rows(float *x, int64_t rows, int64_t n) {
    K()->softmax_rows_add(x, rows, n, NULL, NULL, NULL);
}

void swin__bias_gelu(float *x, const float *b, int64_t n) {
    K()->bias_gelu(x, b, n);
}

void swin__bias_act(float *x, const float *b, int64_t n, swin_activation act) {
    switch (act) {
    case SWIN_ACT_GELU:
        K()->bias_gelu(x, b, n);
        return;
    case SWIN_ACT_RELU:
        for (int64_t i = 0; i < n; i++) {
            const float v = x[i] + (b ? b[i] : 0.0f);
            x[i] = v > 0.0f ? v : 0.0f;
        }
        return;
    case SWIN_ACT_GELU_TANH: /* 2 sqrt(2/pi) (v + 0.044715 v^3) */
        K()->bias_gated(x, b, n, 1.5957691216057308f, 1.5957691216057308f * 0.044715f);
        return;
    case SWIN_ACT_QUICK_GELU:
        K()->bias_gated(x, b, n, 1.702f, 0.0f);
        return;
    case SWIN_ACT_SILU:
        K()->bias_gated(x, b, n, 1.0f, 0.0f);
        return;
    case SWIN_ACT_NONE:
        if (b) K()->add(x, b, n);
        return;
    }
}

void swin__gelu(float *x, int64_t n) {
    K()->bias_gelu(x, NULL, n);
}

void swin__add_inplace(float *restrict out, const float *restrict in, int64_t n) {
    K()->add(out, in, n);
}

void swin__scale_rows(float *out, int64_t ld, int64_t rows, int64_t n, const float *s) {
    K()->scale_rows(out, ld, rows, n, s);
}

void swin__unit_rows(float *x, int64_t ld, int64_t rows, int64_t n, double f) {
    K()->unit_rows(x, ld, rows, n, f);
}
