/* ViT encoder blocks: timm's pre-norm Block (with optional layer scale and qk-norm), timm's
 * ResPostBlock, and PyTorch's post-norm nn.TransformerEncoderLayer (the naming layer gives all
 * of them timm's names). They attend over the whole sequence with the shared multi-head
 * attention (window_attention.c) as one "window" of N tokens, without relative position bias
 * or mask.
 * Legend: B batch, N tokens per sequence, C channels, nH heads, hd = C/nH, F MLP hidden width. */
#include <stdint.h>
#include <string.h>

#include "layers.h"

swin_status swin__vit_block_bind(swin_vit_block *blk, swin_weights *w, const char *prefix,
                                 const swin_vit_block_cfg *cfg) {
    char name[256], fc1[256], fc2[256];
    const int64_t C = cfg->dim;
    memset(blk, 0, sizeof *blk);
    blk->kind = cfg->kind;
    SWIN_TRY(swin__norm_bind(&blk->norm1, w, swin__name(name, sizeof name, prefix, ".norm1"), C,
                             cfg->eps));
    SWIN_TRY(swin__attention_bind(&blk->attn, w, swin__name(name, sizeof name, prefix, ".attn"), C,
                                  cfg->heads, 0, 0, cfg->qkv_bias, false));
    if (cfg->qk_norm) {
        const int64_t hd = C / cfg->heads;
        SWIN_TRY(swin__norm_bind(
            &blk->q_norm, w, swin__name(name, sizeof name, prefix, ".attn.q_norm"), hd, cfg->eps));
        SWIN_TRY(swin__norm_bind(
            &blk->k_norm, w, swin__name(name, sizeof name, prefix, ".attn.k_norm"), hd, cfg->eps));
    }
    if (cfg->attn_norm)
        SWIN_TRY(swin__norm_bind(&blk->attn_norm, w,
                                 swin__name(name, sizeof name, prefix, ".attn.norm"), C, cfg->eps));
    SWIN_TRY(swin__norm_bind(&blk->norm2, w, swin__name(name, sizeof name, prefix, ".norm2"), C,
                             cfg->eps));
    if (cfg->layer_scale) {
        SWIN_TRY(
            swin__w_get(w, swin__name(name, sizeof name, prefix, ".ls1.gamma"), 1, &C, &blk->ls1));
        SWIN_TRY(
            swin__w_get(w, swin__name(name, sizeof name, prefix, ".ls2.gamma"), 1, &C, &blk->ls2));
    }
    swin__name(name, sizeof name, prefix, ".mlp");
    if (cfg->split_glu)
        return swin__mlp_bind_split(&blk->mlp, w, name, C, cfg->hidden / 2, cfg->act, cfg->mlp_norm,
                                    cfg->eps);
    swin__name(fc1, sizeof fc1, prefix, ".mlp.fc1");
    swin__name(fc2, sizeof fc2, prefix, ".mlp.fc2");
    SWIN_TRY(swin__mlp_bind_ex(&blk->mlp, w, fc1, fc2, C, cfg->hidden, cfg->act, cfg->glu));
    return cfg->mlp_norm ? swin__mlp_bind_norm(&blk->mlp, w, name, cfg->eps) : SWIN_OK;
}

/* normed x [B*N, C], branch output [B*N, C], then the larger of the attention's scratch (qkv,
 * and per thread swin__attention_scores_floats(N)) and the Mlp's. SIZE_MAX when the count
 * overflows. */
size_t swin__vit_block_scratch(const swin_vit_block *blk, int64_t B, int64_t N, int threads) {
    const size_t C = (size_t)blk->attn.dim, per_thread = swin__attention_scores_floats(N);
    size_t rows, scores, attn, two, total;
    const size_t mlp = swin__mlp_scratch(&blk->mlp, B * N);
    if (per_thread == SIZE_MAX || mlp == SIZE_MAX || !swin__mul_size((size_t)B, (size_t)N, &rows) ||
        !swin__mul_size(rows, 4 * C, &attn) ||
        !swin__mul_size(per_thread, (size_t)threads, &scores) ||
        !swin__add_size(attn, scores, &attn) || !swin__mul_size(rows, 2 * C, &two) ||
        !swin__add_size(two, attn > mlp ? attn : mlp, &total))
        return SIZE_MAX;
    return total;
}

typedef struct rows_job {
    float *x;              /* [rows, C] the residual stream */
    float *branch;         /* [rows, C] a branch's output */
    const float *gamma;    /* layer scale [C] */
    const swin_norm *norm; /* ResPostBlock's norm of the branch */
    const swin_vit_block *blk;
    float *qkv; /* [rows, 3C] */
    const swin_rope *rope;
    int64_t N, index;
} rows_job;

/* x += gamma * branch, rows [r0, r1). */
static void scaled_add_rows(void *arg, int64_t r0, int64_t r1) {
    const rows_job *j = arg;
    const int64_t C = j->blk->attn.dim;
    for (int64_t r = r0; r < r1; r++) {
        float *restrict x = j->x + r * C;
        const float *restrict br = j->branch + r * C, *restrict g = j->gamma;
        for (int64_t c = 0; c < C; c++)
            x[c] += g[c] * br[c];
    }
}

/* x += norm(branch), rows [r0, r1). */
static void norm_add_rows(void *arg, int64_t r0, int64_t r1) {
    const rows_job *j = arg;
    const int64_t C = j->blk->attn.dim;
    float *br = j->branch + r0 * C;
    swin__layernorm(br, br, j->norm->weight, j->norm->bias, r1 - r0, C, j->norm->eps, NULL);
    swin__add_inplace(j->x + r0 * C, br, (r1 - r0) * C);
}

/* x (hd floats) <- x * cos + rot(x) * sin, each product rounded, as torch computes it. */
static void rotate(float *restrict x, const float *restrict s, const float *restrict c, int64_t hd,
                   bool half) {
    if (half) {
        const int64_t h = hd / 2;
        for (int64_t i = 0; i < h; i++) {
            const float a = x[i], b = x[i + h];
            const float lo = a * c[i], hi = b * c[i + h];
            const float rlo = -b * s[i], rhi = a * s[i + h];
            x[i] = lo + rlo;
            x[i + h] = hi + rhi;
        }
        return;
    }
    for (int64_t i = 0; i < hd; i += 2) {
        const float a = x[i], b = x[i + 1];
        const float p0 = a * c[i], p1 = b * c[i + 1];
        const float r0 = -b * s[i], r1 = a * s[i + 1];
        x[i] = p0 + r0;
        x[i + 1] = p1 + r1;
    }
}

/* qk-norm (LayerNorm over each head's hd channels of q and k), then the rotary embedding of
 * the patch tokens' q and k, rows [r0, r1) of qkv. */
static void qk_rows(void *arg, int64_t r0, int64_t r1) {
    const rows_job *j = arg;
    const swin_vit_block *b = j->blk;
    const int64_t C = b->attn.dim, nH = b->attn.heads, hd = C / nH;
    const swin_rope *rp = j->rope;
    for (int64_t r = r0; r < r1; r++) {
        float *q = j->qkv + r * 3 * C, *k = q + C;
        if (b->q_norm.weight) {
            swin__layernorm(q, q, b->q_norm.weight, b->q_norm.bias, nH, hd, b->q_norm.eps, NULL);
            swin__layernorm(k, k, b->k_norm.weight, b->k_norm.bias, nH, hd, b->k_norm.eps, NULL);
        }
        const int64_t t = r % j->N;
        if (!rp || t < rp->npt) continue;
        const int64_t p = t - rp->npt;
        for (int64_t h = 0; h < nH; h++) {
            const int64_t tab = rp->per_head ? j->index * nH + h : 0;
            const float *s = rp->sin + (tab * rp->L + p) * hd,
                        *c = rp->cos + (tab * rp->L + p) * hd;
            rotate(q + h * hd, s, c, hd, rp->half);
            rotate(k + h * hd, s, c, hd, rp->half);
        }
    }
}

void swin__vit_block_forward(float *x, const swin_vit_block *blk, int64_t B, int64_t N,
                             const swin_rope *rope, int64_t index, float *scratch,
                             swin_pool *pool) {
    const int64_t C = blk->attn.dim, rows = B * N;
    float *normed = scratch;
    float *branch = normed + rows * C;
    float *work = branch + rows * C;
    const swin_norm *n1 = &blk->norm1, *n2 = &blk->norm2;
    if (blk->kind == SWIN_VIT_POST) {
        swin__attention_forward(branch, x, &blk->attn, B, N, NULL, NULL, 1, work, pool);
        swin__add_inplace(x, branch, rows * C);
        swin__layernorm(x, x, n1->weight, n1->bias, rows, C, n1->eps, pool);
        swin__mlp_forward(branch, x, &blk->mlp, rows, work, pool);
        swin__add_inplace(x, branch, rows * C);
        swin__layernorm(x, x, n2->weight, n2->bias, rows, C, n2->eps, pool);
        return;
    }
    const bool res_post = blk->kind == SWIN_VIT_RES_POST;
    const swin_attention *a = &blk->attn;
    float *qkv = work, *scores = qkv + rows * 3 * C;
    rows_job j = {x, branch, NULL, NULL, blk, qkv, rope, N, index};
    const swin_rows_hook qk = {qk_rows, &j};
    /* attention: pre-norm reads norm1(x), ResPostBlock x itself */
    const float *in = x;
    if (!res_post) {
        swin__layernorm(normed, x, n1->weight, n1->bias, rows, C, n1->eps, pool);
        in = normed;
    }
    swin__linear_fused(qkv, 3 * C, in, a->qkv_w, a->qkv_b, rows, C, 3 * C, SWIN_EPI_BIAS, NULL,
                       blk->q_norm.weight || rope ? &qk : NULL, pool);
    swin__attention_core(branch, qkv, a, B, N, blk->attn_bias, NULL, 1, scores, pool);
    if (blk->attn_norm.weight) /* EVA's scale_attn_inner: a norm of the heads' output */
        swin__layernorm(branch, branch, blk->attn_norm.weight, blk->attn_norm.bias, rows, C,
                        blk->attn_norm.eps, pool);
    /* the residual addition, fused into proj: plain, scaled (ls1) or normed (ResPostBlock) */
    const swin_rows_hook scaled = {scaled_add_rows, &j}, normed_add = {norm_add_rows, &j};
    j.branch = normed; /* proj's output */
    if (res_post) {
        j.norm = n1;
        swin__linear_fused(normed, C, branch, a->proj_w, a->proj_b, rows, C, C, SWIN_EPI_BIAS, NULL,
                           &normed_add, pool);
    } else if (blk->ls1) {
        j.gamma = blk->ls1;
        swin__linear_fused(normed, C, branch, a->proj_w, a->proj_b, rows, C, C, SWIN_EPI_BIAS, NULL,
                           &scaled, pool);
    } else {
        swin__linear_ex(x, C, branch, a->proj_w, a->proj_b, rows, C, C, SWIN_EPI_ACCUMULATE, pool);
    }
    /* the MLP */
    j.branch = branch;
    if (res_post) {
        swin__mlp_forward(branch, x, &blk->mlp, rows, work, pool);
        j.norm = n2;
        swin__rows_parallel(pool, rows, &normed_add);
        return;
    }
    swin__layernorm(normed, x, n2->weight, n2->bias, rows, C, n2->eps, pool);
    if (blk->ls2) {
        swin__mlp_forward(branch, normed, &blk->mlp, rows, work, pool);
        j.gamma = blk->ls2;
        swin__rows_parallel(pool, rows, &scaled);
    } else {
        swin__mlp_forward_residual(x, normed, &blk->mlp, rows, work, pool);
    }
}
