/* Mlp: fc1 -> activation (exact-erf GELU or ReLU) -> fc2. Legend: rows tokens, C channels. */
#include "layers.h"

swin_status swin__mlp_bind(swin_mlp *m, swin_weights *w, const char *fc1, const char *fc2,
                           int64_t dim, int64_t hidden, swin_activation act) {
    char name[256];
    const int64_t w1[2] = {hidden, dim}, w2[2] = {dim, hidden};
    SWIN_TRY(swin__w_get(w, swin__name(name, sizeof name, fc1, ".weight"), 2, w1, &m->fc1_w));
    SWIN_TRY(swin__w_get(w, swin__name(name, sizeof name, fc1, ".bias"), 1, &hidden, &m->fc1_b));
    SWIN_TRY(swin__w_get(w, swin__name(name, sizeof name, fc2, ".weight"), 2, w2, &m->fc2_w));
    SWIN_TRY(swin__w_get(w, swin__name(name, sizeof name, fc2, ".bias"), 1, &dim, &m->fc2_b));
    m->dim = dim;
    m->hidden = hidden;
    m->act = act;
    return SWIN_OK;
}

static void mlp(float *out, const float *x, const swin_mlp *m, int64_t rows, float *hidden,
                swin_epilogue last, swin_pool *pool) {
    swin__linear_ex(hidden, m->hidden, x, m->fc1_w, m->fc1_b, rows, m->dim, m->hidden,
                    m->act == SWIN_ACT_GELU ? SWIN_EPI_BIAS_GELU : SWIN_EPI_BIAS_RELU, pool);
    swin__linear_ex(out, m->dim, hidden, m->fc2_w, m->fc2_b, rows, m->hidden, m->dim, last, pool);
}

/* out [rows, C] <- fc2(act(fc1(x [rows, C]))); hidden [rows, hidden] scratch. */
void swin__mlp_forward(float *out, const float *x, const swin_mlp *m, int64_t rows, float *hidden,
                       swin_pool *pool) {
    mlp(out, x, m, rows, hidden, SWIN_EPI_BIAS, pool);
}

void swin__mlp_forward_residual(float *out, const float *x, const swin_mlp *m, int64_t rows,
                                float *hidden, swin_pool *pool) {
    mlp(out, x, m, rows, hidden, SWIN_EPI_ACCUMULATE, pool);
}
