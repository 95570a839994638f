/* WindowAttention: multi-head self-attention inside each window, with Swin's relative position
 * bias and the shifted-window mask (both additive). Without bias and mask it is plain global
 * self-attention, which the ViT encoder uses.
 * Legend: B_ sequences (B * nW windows), N tokens each, C channels, nH heads, hd = C/nH,
 * wh x ww window, nW windows per image. */
#include <math.h>
#include <string.h>

#include "layers.h"

void swin__relative_position_index(int32_t *idx, int64_t wh, int64_t ww) {
    const int64_t N = wh * ww;
    for (int64_t i = 0; i < N; i++)
        for (int64_t j = 0; j < N; j++) {
            const int64_t dh = i / ww - j / ww + (wh - 1);
            const int64_t dw = i % ww - j % ww + (ww - 1);
            idx[i * N + j] = (int32_t)(dh * (2 * ww - 1) + dw);
        }
}

/* Region label of a padded coordinate along one axis: the official code's three slices
 * [0, P-w), [P-w, P-s), [P-s, P). */
static int region(int64_t y, int64_t P, int64_t w, int64_t s) {
    if (y < P - w) return 0;
    return y < P - s ? 1 : 2;
}

void swin__shift_mask(float *mask, int64_t Hp, int64_t Wp, int64_t wh, int64_t ww, int64_t sh,
                      int64_t sw) {
    const int64_t nWw = Wp / ww, nW = (Hp / wh) * nWw, N = wh * ww;
    for (int64_t w = 0; w < nW; w++) {
        const int64_t y0 = (w / nWw) * wh, x0 = (w % nWw) * ww;
        float *m = mask + w * N * N;
        for (int64_t i = 0; i < N; i++) {
            const int li = region(y0 + i / ww, Hp, wh, sh) * 3 + region(x0 + i % ww, Wp, ww, sw);
            for (int64_t j = 0; j < N; j++) {
                const int lj =
                    region(y0 + j / ww, Hp, wh, sh) * 3 + region(x0 + j % ww, Wp, ww, sw);
                m[i * N + j] = li == lj ? 0.0f : -100.0f;
            }
        }
    }
}

swin_status swin__attention_bind(swin_attention *a, swin_weights *w, const char *prefix,
                                 int64_t dim, int64_t heads, int64_t wh, int64_t ww, bool qkv_bias,
                                 bool table) {
    char name[256];
    memset(a, 0, sizeof *a);
    if (heads < 1 || dim % heads != 0)
        return swin__error(SWIN_ERR_CONFIG, "%s: %lld channels cannot be split into %lld heads",
                           prefix, (long long)dim, (long long)heads);
    a->dim = dim;
    a->heads = heads;
    a->wh = wh;
    a->ww = ww;
    const int64_t qkv[2] = {3 * dim, dim}, qkvb = 3 * dim, proj[2] = {dim, dim};
    SWIN_TRY(
        swin__w_get(w, swin__name(name, sizeof name, prefix, ".qkv.weight"), 2, qkv, &a->qkv_w));
    if (qkv_bias)
        SWIN_TRY(swin__w_get(w, swin__name(name, sizeof name, prefix, ".qkv.bias"), 1, &qkvb,
                             &a->qkv_b));
    SWIN_TRY(
        swin__w_get(w, swin__name(name, sizeof name, prefix, ".proj.weight"), 2, proj, &a->proj_w));
    SWIN_TRY(
        swin__w_get(w, swin__name(name, sizeof name, prefix, ".proj.bias"), 1, &dim, &a->proj_b));
    if (table) {
        const int64_t t[2] = {(2 * wh - 1) * (2 * ww - 1), heads};
        SWIN_TRY(swin__w_get(w,
                             swin__name(name, sizeof name, prefix, ".relative_position_bias_table"),
                             2, t, &a->rel_table));
    }
    return SWIN_OK;
}

swin_status swin__attention_bind_cosine(swin_attention *a, swin_weights *w, const char *prefix) {
    char name[256];
    swin__name(name, sizeof name, prefix, ".logit_scale");
    const swin_weight *t = swin__w_find(w, name);
    const int64_t shape[3] = {a->heads, 1, 1};
    /* timm's SwinTransformerV2 and transformers: [nH, 1, 1]; swinv2_cr: [nH] */
    return swin__w_get(w, name, t && t->ndim == 1 ? 1 : 3, shape, &a->logit_scale);
}

swin_status swin__attention_check_index(swin_weights *w, const char *prefix, int64_t wh,
                                        int64_t ww) {
    char name[256];
    const swin_weight *t =
        swin__w_find(w, swin__name(name, sizeof name, prefix, ".relative_position_index"));
    if (!t) return SWIN_OK;
    const int64_t N = wh * ww;
    if (t->dtype != SWIN_DT_I64)
        return swin__error(SWIN_ERR_DTYPE, "tensor \"%s\" has dtype %s; I64 expected", t->source,
                           swin__dtype_name(t->dtype));
    if (t->ndim != 2 || t->shape[0] != N || t->shape[1] != N)
        return swin__error(SWIN_ERR_BUFFER_MISMATCH,
                           "tensor \"%s\" is not [%lld, %lld] as a %lldx%lld window needs",
                           t->source, (long long)N, (long long)N, (long long)wh, (long long)ww);
    for (int64_t k = 0; k < N * N; k++) {
        uint64_t u = 0; /* little-endian in the file, on any host */
        for (int b = 7; b >= 0; b--)
            u = u << 8 | t->raw[8 * k + b];
        const int64_t v = (int64_t)u;
        const int64_t i = k / N, j = k % N;
        const int64_t want = (i / ww - j / ww + wh - 1) * (2 * ww - 1) + (i % ww - j % ww + ww - 1);
        if (v != want)
            return swin__error(SWIN_ERR_BUFFER_MISMATCH,
                               "tensor \"%s\" element %lld is %lld; %lld expected", t->source,
                               (long long)k, (long long)v, (long long)want);
    }
    swin__w_mark(w, t);
    return SWIN_OK;
}

void swin__attention_bias(float *bias, const swin_attention *a, const int32_t *index) {
    const int64_t N = a->wh * a->ww, nH = a->heads;
    for (int64_t h = 0; h < nH; h++)
        for (int64_t k = 0; k < N * N; k++)
            bias[h * N * N + k] = a->rel_table[index[k] * nH + h];
}

size_t swin__attention_scores_floats(int64_t N) {
    size_t n;
    if (N < 0 || !swin__mul_size((size_t)N + 1, (size_t)N, &n) || !swin__add_size(n, 15, &n))
        return SIZE_MAX;
    return n & ~(size_t)15; /* whole cache lines: threads do not share one */
}

size_t swin__attention_scratch(const swin_attention *a, int64_t B_, int64_t N, int threads) {
    /* qkv [B_, N, 3C], merged heads [B_, N, C], per thread the scores of one (sequence, head)
     * and their row factors */
    const size_t per_thread = swin__attention_scores_floats(N);
    size_t n, scores;
    if (per_thread == SIZE_MAX || B_ < 0 || threads < 0 ||
        !swin__mul_size((size_t)B_, (size_t)N, &n) || !swin__mul_size(n, 4 * (size_t)a->dim, &n) ||
        !swin__mul_size(per_thread, (size_t)threads, &scores) || !swin__add_size(n, scores, &n))
        return SIZE_MAX;
    return n;
}

typedef struct attn_job {
    float *merged;
    float *qkv; /* cosine attention normalises q and k in place */
    const swin_attention *a;
    int64_t N, nW;
    const float *bias, *mask;
    float *scores;
} attn_job;

/* Tasks t = sequence * nH + head, each on its thread's [N, N] scores. */
static void attn_task(void *arg, int64_t begin, int64_t end, int tid) {
    const attn_job *j = arg;
    const int64_t N = j->N, C = j->a->dim, nH = j->a->heads, hd = C / nH;
    const float scale = 1.0f / sqrtf((float)hd);
    float *S = j->scores + (size_t)tid * swin__attention_scores_floats(N), *inv = S + N * N;
    for (int64_t t = begin; t < end; t++) {
        const int64_t i = t / nH, h = t % nH;
        float *base = j->qkv + i * N * 3 * C;
        float s = scale;
        if (j->a->logit_scale) {
            /* cosine: q and k of this head normalised in place (no other task reads them),
             * the logit scale folded into q */
            const double alpha = exp(fmin((double)j->a->logit_scale[h], log(100.0)));
            swin__unit_rows(base + h * hd, 3 * C, N, hd, alpha);
            swin__unit_rows(base + C + h * hd, 3 * C, N, hd, 1.0);
            s = 1.0f;
        }
        /* S = (q * scale) k^T, then + bias + mask, softmax; out = S v. The softmax's division
         * is applied to out (N x hd) rather than to S (N x N). */
        swin__sgemm(false, true, N, N, hd, s, base + h * hd, 3 * C, base + C + h * hd, 3 * C, 0.0f,
                    S, N);
        swin__softmax_rows_add(S, N, N, j->bias ? j->bias + h * N * N : NULL,
                               j->mask ? j->mask + (i % j->nW) * N * N : NULL, inv);
        float *o = j->merged + i * N * C + h * hd;
        swin__sgemm(false, false, N, hd, N, 1.0f, S, N, base + 2 * C + h * hd, 3 * C, 0.0f, o, C);
        swin__scale_rows(o, C, N, hd, inv);
    }
}

void swin__attention_core(float *merged, float *qkv, const swin_attention *a, int64_t B_, int64_t N,
                          const float *bias, const float *mask, int64_t nW, float *scores,
                          swin_pool *pool) {
    attn_job j = {merged, qkv, a, N, nW, bias, mask, scores};
    const int64_t tasks = B_ * a->heads;
    int64_t chunk = tasks / (8 * swin__pool_size(pool));
    swin__parallel_for(pool, tasks, chunk < 1 ? 1 : chunk, attn_task, &j);
}

void swin__attention_windows(float *merged, float *qkv, const swin_attention *a, int64_t N,
                             const float *bias, const float *mask, int64_t nW, float *scores,
                             int64_t i0, int64_t i1, int tid) {
    const attn_job j = {merged, qkv, a, N, nW, bias, mask, scores};
    attn_task((void *)&j, i0 * a->heads, i1 * a->heads, tid);
}

void swin__attention_forward(float *out, const float *x, const swin_attention *a, int64_t B_,
                             int64_t N, const float *bias, const float *mask, int64_t nW,
                             float *scratch, swin_pool *pool) {
    const int64_t C = a->dim;
    float *qkv = scratch;
    float *merged = qkv + B_ * N * 3 * C;
    float *scores = merged + B_ * N * C;
    swin__linear(qkv, x, a->qkv_w, a->qkv_b, B_ * N, C, 3 * C, pool);
    swin__attention_core(merged, qkv, a, B_, N, bias, mask, nW, scores, pool);
    swin__linear(out, merged, a->proj_w, a->proj_b, B_ * N, C, C, pool);
}
