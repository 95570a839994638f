/* Attention pooling with a latent query: timm's AttentionPoolLatent (global_pool map, SigLIP,
 * the Perception Encoder) with one latent and pool "token":
 * y = proj(attention(q(latent), kv(tokens))); y += mlp(norm(y)).
 * Legend: B batch, N tokens, D channels, nH heads, hd = D / nH, F the MLP's hidden width. */
#include <math.h>
#include <string.h>

#include "layers.h"

swin_status swin__attn_pool_bind(swin_attn_pool *a, swin_weights *w, const char *prefix,
                                 int64_t dim, int64_t heads, bool qkv_bias, float eps,
                                 swin_activation act) {
    char name[256];
    memset(a, 0, sizeof *a);
    const int64_t D = dim, D2 = 2 * D, lat[3] = {1, 1, D}, dd[2] = {D, D}, kv[2] = {2 * D, D};
    const swin_weight *lw = swin__w_find(w, swin__name(name, sizeof name, prefix, ".latent"));
    if (lw && lw->ndim == 3 && lw->shape[1] != 1)
        return swin__error(SWIN_ERR_UNSUPPORTED,
                           "attention pooling with %lld latent queries (\"%s\") is not supported "
                           "yet (one is)",
                           (long long)lw->shape[1], lw->source);
    if (heads < 1 || D % heads != 0)
        return swin__error(SWIN_ERR_CONFIG, "attention pooling: %lld heads do not divide %lld",
                           (long long)heads, (long long)D);
    SWIN_TRY(swin__w_get(w, name, 3, lat, &a->latent));
    SWIN_TRY(swin__w_get(w, swin__name(name, sizeof name, prefix, ".q.weight"), 2, dd, &a->q_w));
    SWIN_TRY(swin__w_get(w, swin__name(name, sizeof name, prefix, ".kv.weight"), 2, kv, &a->kv_w));
    if (qkv_bias) {
        SWIN_TRY(swin__w_get(w, swin__name(name, sizeof name, prefix, ".q.bias"), 1, &D, &a->q_b));
        SWIN_TRY(
            swin__w_get(w, swin__name(name, sizeof name, prefix, ".kv.bias"), 1, &D2, &a->kv_b));
    }
    SWIN_TRY(
        swin__w_get(w, swin__name(name, sizeof name, prefix, ".proj.weight"), 2, dd, &a->proj_w));
    SWIN_TRY(
        swin__w_get(w, swin__name(name, sizeof name, prefix, ".proj.bias"), 1, &D, &a->proj_b));
    SWIN_TRY(swin__norm_bind(&a->norm, w, swin__name(name, sizeof name, prefix, ".norm"), D, eps));
    /* timm: Mlp(D, int(D * mlp_ratio)), never gated: the tensors give its width */
    const swin_weight *f =
        swin__w_find(w, swin__name(name, sizeof name, prefix, ".mlp.fc1.weight"));
    char fc1[256], fc2[256];
    swin__name(fc1, sizeof fc1, prefix, ".mlp.fc1");
    swin__name(fc2, sizeof fc2, prefix, ".mlp.fc2");
    a->dim = D;
    a->heads = heads;
    return swin__mlp_bind(&a->mlp, w, fc1, fc2, D, f && f->ndim == 2 ? f->shape[0] : 4 * D, act);
}

size_t swin__attn_pool_scratch(const swin_attn_pool *a, int64_t B, int64_t N) {
    /* kv [B*N, 2D], q [D], one head's scores [N], merged, normed [B, D], the Mlp's */
    const size_t D = (size_t)a->dim, mlp = swin__mlp_scratch(&a->mlp, B);
    size_t n;
    if (mlp == SIZE_MAX || B < 0 || N < 0 || !swin__mul_size((size_t)(B * N), 2 * D, &n) ||
        !swin__add_size(n, D + (size_t)N + 2 * (size_t)B * D, &n) || !swin__add_size(n, mlp, &n))
        return SIZE_MAX;
    return n;
}

void swin__attn_pool_forward(float *out, const float *tokens, const swin_attn_pool *a, int64_t B,
                             int64_t N, int64_t skip, float *scratch, swin_pool *pool) {
    const int64_t D = a->dim, nH = a->heads, hd = D / nH;
    float *kv = scratch, *q = kv + B * N * 2 * D, *sc = q + D, *merged = sc + N;
    float *normed = merged + B * D, *hidden = normed + B * D;
    swin__linear(kv, tokens, a->kv_w, a->kv_b, B * N, D, 2 * D, pool);
    swin__linear(q, a->latent, a->q_w, a->q_b, 1, D, D, NULL);
    const float scale = 1.0f / sqrtf((float)hd);
    for (int64_t b = 0; b < B; b++)
        for (int64_t h = 0; h < nH; h++) {
            const float *kb = kv + (b * N + skip) * 2 * D + h * hd;
            const int64_t n = N - skip;
            swin__sgemm(false, true, 1, n, hd, scale, q + h * hd, hd, kb, 2 * D, 0.0f, sc, n);
            swin__softmax_rows(sc, 1, n);
            swin__sgemm(false, false, 1, hd, n, 1.0f, sc, n, kb + D, 2 * D, 0.0f,
                        merged + b * D + h * hd, hd);
        }
    swin__linear(out, merged, a->proj_w, a->proj_b, B, D, D, pool);
    swin__layernorm(normed, out, a->norm.weight, a->norm.bias, B, D, a->norm.eps, pool);
    swin__mlp_forward_residual(out, normed, &a->mlp, B, hidden, pool);
}
