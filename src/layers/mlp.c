/* Mlp: fc1 -> activation (swin_activation) -> fc2; and timm's GluMlp, whose fc1 makes two halves,
 * one gating the other (SwiGLUPacked: act(first half) * second half; gate_last: first half *
 * act(second half)), and whose fc2 reads the gated half width.
 * Legend: rows tokens, C channels, F fc1's outputs, G = F/2 gated width. */
#include <string.h>

#include "layers.h"

swin_status swin__mlp_bind_ex(swin_mlp *m, swin_weights *w, const char *fc1, const char *fc2,
                              int64_t dim, int64_t hidden, swin_activation act, swin_glu glu) {
    char name[256];
    if (glu != SWIN_GLU_NONE && hidden % 2 != 0)
        return swin__error(SWIN_ERR_CONFIG,
                           "a gated MLP needs an even hidden width, and %s has %lld outputs", fc1,
                           (long long)hidden);
    const int64_t in2 = glu != SWIN_GLU_NONE ? hidden / 2 : hidden;
    memset(m, 0, sizeof *m);
    const int64_t w1[2] = {hidden, dim}, w2[2] = {dim, in2};
    SWIN_TRY(swin__w_get(w, swin__name(name, sizeof name, fc1, ".weight"), 2, w1, &m->fc1_w));
    SWIN_TRY(swin__w_get(w, swin__name(name, sizeof name, fc1, ".bias"), 1, &hidden, &m->fc1_b));
    SWIN_TRY(swin__w_get(w, swin__name(name, sizeof name, fc2, ".weight"), 2, w2, &m->fc2_w));
    SWIN_TRY(swin__w_get(w, swin__name(name, sizeof name, fc2, ".bias"), 1, &dim, &m->fc2_b));
    m->dim = dim;
    m->hidden = hidden;
    m->act = act;
    m->glu = glu;
    return SWIN_OK;
}

swin_status swin__mlp_bind_split(swin_mlp *m, swin_weights *w, const char *prefix, int64_t dim,
                                 int64_t gated, swin_activation act, bool norm, float eps) {
    char name[256];
    memset(m, 0, sizeof *m);
    const int64_t w1[2] = {gated, dim}, w2[2] = {dim, gated};
    SWIN_TRY(
        swin__w_get(w, swin__name(name, sizeof name, prefix, ".fc1_g.weight"), 2, w1, &m->fc1_w));
    SWIN_TRY(
        swin__w_get(w, swin__name(name, sizeof name, prefix, ".fc1_g.bias"), 1, &gated, &m->fc1_b));
    SWIN_TRY(
        swin__w_get(w, swin__name(name, sizeof name, prefix, ".fc1_x.weight"), 2, w1, &m->fc1x_w));
    SWIN_TRY(swin__w_get(w, swin__name(name, sizeof name, prefix, ".fc1_x.bias"), 1, &gated,
                         &m->fc1x_b));
    if (norm)
        SWIN_TRY(swin__norm_bind(&m->norm, w, swin__name(name, sizeof name, prefix, ".norm"), gated,
                                 eps));
    SWIN_TRY(
        swin__w_get(w, swin__name(name, sizeof name, prefix, ".fc2.weight"), 2, w2, &m->fc2_w));
    SWIN_TRY(
        swin__w_get(w, swin__name(name, sizeof name, prefix, ".fc2.bias"), 1, &dim, &m->fc2_b));
    m->dim = dim;
    m->hidden = 2 * gated;
    m->act = act;
    m->glu = SWIN_GLU_ACT_FIRST;
    return SWIN_OK;
}

swin_status swin__mlp_bind_norm(swin_mlp *m, swin_weights *w, const char *prefix, float eps) {
    char name[256];
    const int64_t width = m->glu != SWIN_GLU_NONE ? m->hidden / 2 : m->hidden;
    return swin__norm_bind(&m->norm, w, swin__name(name, sizeof name, prefix, ".norm"), width, eps);
}

swin_status swin__mlp_bind(swin_mlp *m, swin_weights *w, const char *fc1, const char *fc2,
                           int64_t dim, int64_t hidden, swin_activation act) {
    return swin__mlp_bind_ex(m, w, fc1, fc2, dim, hidden, act, SWIN_GLU_NONE);
}

size_t swin__mlp_scratch(const swin_mlp *m, int64_t rows) {
    size_t n;
    const int64_t width = m->glu != SWIN_GLU_NONE ? m->hidden + m->hidden / 2 : m->hidden;
    if (rows < 0 || !swin__mul_size((size_t)rows, (size_t)width, &n)) return SIZE_MAX;
    return n;
}

typedef struct gate_job {
    float *gated;        /* [rows, G] */
    const float *hidden; /* [rows, F] */
    const swin_mlp *m;
} gate_job;

/* Rows [r0, r1): gated = act(a) * b (or a * act(b) with the gate last), a and b fc1's halves;
 * then the MLP's norm. */
static void gate_rows(void *arg, int64_t r0, int64_t r1) {
    const gate_job *j = arg;
    const int64_t F = j->m->hidden, G = F / 2;
    const bool first = j->m->glu == SWIN_GLU_ACT_FIRST;
    for (int64_t r = r0; r < r1; r++) {
        const float *h = j->hidden + r * F, *other = first ? h + G : h;
        float *g = j->gated + r * G;
        memcpy(g, first ? h : h + G, (size_t)G * sizeof(float));
        swin__bias_act(g, NULL, G, j->m->act);
        for (int64_t c = 0; c < G; c++)
            g[c] *= other[c];
    }
    const swin_norm *n = &j->m->norm;
    if (n->weight)
        swin__layernorm(j->gated + r0 * G, j->gated + r0 * G, n->weight, n->bias, r1 - r0, G,
                        n->eps, NULL);
}

/* Rows [r0, r1) of an Mlp's activated hidden layer through its norm. */
static void norm_rows(void *arg, int64_t r0, int64_t r1) {
    const gate_job *j = arg;
    const int64_t F = j->m->hidden;
    const swin_norm *n = &j->m->norm;
    swin__layernorm(j->gated + r0 * F, j->gated + r0 * F, n->weight, n->bias, r1 - r0, F, n->eps,
                    NULL);
}

static void mlp(float *out, const float *x, const swin_mlp *m, int64_t rows, float *hidden,
                swin_epilogue last, swin_pool *pool) {
    if (m->glu == SWIN_GLU_NONE) {
        gate_job j = {hidden, hidden, m};
        const swin_rows_hook norm = {norm_rows, &j};
        swin__linear_fused(hidden, m->hidden, x, m->fc1_w, m->fc1_b, rows, m->dim, m->hidden,
                           swin__epilogue_of(m->act), NULL, m->norm.weight ? &norm : NULL, pool);
        swin__linear_ex(out, m->dim, hidden, m->fc2_w, m->fc2_b, rows, m->hidden, m->dim, last,
                        pool);
        return;
    }
    const int64_t G = m->hidden / 2;
    float *gated = hidden + rows * m->hidden;
    gate_job j = {gated, hidden, m};
    const swin_rows_hook gate = {gate_rows, &j};
    if (m->fc1x_w) { /* split fc1: the gate's half, then the other, side by side */
        swin__linear_ex(hidden, m->hidden, x, m->fc1_w, m->fc1_b, rows, m->dim, G, SWIN_EPI_BIAS,
                        pool);
        swin__linear_fused(hidden + G, m->hidden, x, m->fc1x_w, m->fc1x_b, rows, m->dim, G,
                           SWIN_EPI_BIAS, NULL, &gate, pool);
    } else {
        swin__linear_fused(hidden, m->hidden, x, m->fc1_w, m->fc1_b, rows, m->dim, m->hidden,
                           SWIN_EPI_BIAS, NULL, &gate, pool);
    }
    swin__linear_ex(out, m->dim, gated, m->fc2_w, m->fc2_b, rows, G, m->dim, last, pool);
}

/* out [rows, C] <- fc2(act(fc1(x [rows, C]))); hidden: swin__mlp_scratch(m, rows) floats. */
void swin__mlp_forward(float *out, const float *x, const swin_mlp *m, int64_t rows, float *hidden,
                       swin_pool *pool) {
    mlp(out, x, m, rows, hidden, SWIN_EPI_BIAS, pool);
}

void swin__mlp_forward_residual(float *out, const float *x, const swin_mlp *m, int64_t rows,
                                float *hidden, swin_pool *pool) {
    mlp(out, x, m, rows, hidden, SWIN_EPI_ACCUMULATE, pool);
}
