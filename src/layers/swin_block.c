/* SwinBlock: x += W-MSA/SW-MSA(norm1(x)); x += Mlp(norm2(x)).
 * The cyclic shift, the zero padding to a window multiple, the window partition and their
 * inverses are fused into one gather and one scatter-add over the token grid.
 * Legend: B batch, H x W token grid, C channels, wh x ww window, N = wh*ww, sh x sw shift,
 * Hp x Wp padded grid, nW windows per image. */
#include <string.h>

#include "layers.h"

void swin__stage_window(int64_t cfg_h, int64_t cfg_w, int64_t window, int64_t *wh, int64_t *ww,
                        int64_t *sh, int64_t *sw) {
    *wh = cfg_h <= window ? cfg_h : window;
    *ww = cfg_w <= window ? cfg_w : window;
    *sh = cfg_h <= window ? 0 : window / 2;
    *sw = cfg_w <= window ? 0 : window / 2;
}

void swin__geom(swin_geom *g, int64_t H, int64_t W, int64_t wh, int64_t ww, int64_t sh, int64_t sw,
                bool pad_first) {
    g->pad_first = pad_first;
    g->H = H;
    g->W = W;
    g->wh = wh;
    g->ww = ww;
    g->sh = sh;
    g->sw = sw;
    g->Hp = (H + g->wh - 1) / g->wh * g->wh;
    g->Wp = (W + g->ww - 1) / g->ww * g->ww;
    g->nW = (g->Hp / g->wh) * (g->Wp / g->ww);
}

/* A stored shift mask (the official release's attn_mask) must equal the one computed for the
 * block at the configured size. */
static swin_status check_mask(swin_weights *w, const char *prefix, const swin_geom *g) {
    char name[256];
    const swin_weight *t = swin__w_find(w, swin__name(name, sizeof name, prefix, ".attn_mask"));
    if (!t) return SWIN_OK;
    const int64_t N = g->wh * g->ww;
    if (!g->sh && !g->sw)
        return swin__error(SWIN_ERR_BUFFER_MISMATCH,
                           "tensor \"%s\" is a shift mask but the block is not shifted at the "
                           "configured size (a %lldx%lld grid, window %lldx%lld)",
                           t->source, (long long)g->H, (long long)g->W, (long long)g->wh,
                           (long long)g->ww);
    if (!t->f32)
        return swin__error(SWIN_ERR_DTYPE, "tensor \"%s\" has dtype %s; a float type expected",
                           t->source, swin__dtype_name(t->dtype));
    if (t->ndim != 3 || t->shape[0] != g->nW || t->shape[1] != N || t->shape[2] != N)
        return swin__error(SWIN_ERR_BUFFER_MISMATCH,
                           "tensor \"%s\" is not [%lld, %lld, %lld] as a %lldx%lld grid needs",
                           t->source, (long long)g->nW, (long long)N, (long long)N, (long long)g->H,
                           (long long)g->W);
    const size_t n = (size_t)(g->nW * N * N);
    float *mask = swin__aligned_alloc(n * sizeof(float));
    if (!mask) return swin__oom();
    swin__shift_mask(mask, g->Hp, g->Wp, g->wh, g->ww, g->sh, g->sw);
    swin_status status = SWIN_OK;
    for (size_t k = 0; k < n; k++)
        if (mask[k] != t->f32[k]) {
            status = swin__error(SWIN_ERR_BUFFER_MISMATCH,
                                 "tensor \"%s\" element %zu is %g; %g expected", t->source, k,
                                 (double)t->f32[k], (double)mask[k]);
            break;
        }
    swin__aligned_free(mask);
    if (status == SWIN_OK) swin__w_mark(w, t);
    return status;
}

swin_status swin__block_bind(swin_block *blk, swin_weights *w, const char *prefix,
                             const swin_block_cfg *c, const swin_geom *cfg) {
    char name[256];
    memset(blk, 0, sizeof *blk);
    blk->dim = c->dim;
    blk->res_post = c->v2;
    SWIN_TRY(swin__norm_bind(&blk->norm1, w, swin__name(name, sizeof name, prefix, ".norm1"),
                             c->dim, c->eps));
    swin__name(name, sizeof name, prefix, ".attn");
    SWIN_TRY(swin__attention_bind(&blk->attn, w, name, c->dim, c->heads, cfg->wh, cfg->ww,
                                  c->qkv_bias, !c->v2));
    if (c->v2) SWIN_TRY(swin__attention_bind_cosine(&blk->attn, w, name));
    SWIN_TRY(swin__attention_check_index(w, name, cfg->wh, cfg->ww));
    SWIN_TRY(check_mask(w, prefix, cfg));
    SWIN_TRY(swin__norm_bind(&blk->norm2, w, swin__name(name, sizeof name, prefix, ".norm2"),
                             c->dim, c->eps));
    if (c->norm3)
        SWIN_TRY(swin__norm_bind(&blk->norm3, w, swin__name(name, sizeof name, prefix, ".norm3"),
                                 c->dim, c->eps));
    char fc1[256], fc2[256];
    swin__name(fc1, sizeof fc1, prefix, ".mlp.fc1");
    swin__name(fc2, sizeof fc2, prefix, ".mlp.fc2");
    return swin__mlp_bind(&blk->mlp, w, fc1, fc2, c->dim, c->hidden, SWIN_ACT_GELU);
}

static size_t max_size(size_t a, size_t b) {
    return a > b ? a : b;
}

size_t swin__block_scratch(const swin_block *blk, int64_t B, const swin_geom *g, int threads) {
    /* windows in, windows out, then the larger of attention and (normed x + Mlp hidden) */
    const size_t C = (size_t)blk->dim;
    size_t tokens, padded, mlp, win, bw;
    if (B < 0 || !swin__mul_size((size_t)B, (size_t)(g->H * g->W), &tokens) ||
        !swin__mul_size((size_t)B, (size_t)(g->Hp * g->Wp), &padded) ||
        !swin__mul_size(tokens, C + (size_t)blk->mlp.hidden, &mlp) ||
        !swin__mul_size(padded, 2 * C, &win) || !swin__mul_size((size_t)B, (size_t)g->nW, &bw) ||
        bw > (size_t)INT64_MAX)
        return SIZE_MAX;
    const size_t attn = swin__attention_scratch(&blk->attn, (int64_t)bw, g->wh * g->ww, threads);
    size_t n;
    if (attn == SIZE_MAX || !swin__add_size(win, max_size(attn, mlp), &n)) return SIZE_MAX;
    return n;
}

typedef struct window_job {
    float *win;
    float *x;
    const float *cx;
    const swin_geom *g;
    int64_t C;
    const swin_norm *norm; /* gather: normalise each token on the way (NULL: copy) */
} window_job;

/* Source token of window token t of window w, or -1 for padding. timm rolls the H x W grid,
 * then pads; transformers pads, then rolls the padded Hp x Wp grid. */
static inline int64_t source(const swin_geom *g, int64_t b, int64_t w, int64_t t) {
    const int64_t nWw = g->Wp / g->ww;
    const int64_t y = (w / nWw) * g->wh + t / g->ww, xx = (w % nWw) * g->ww + t % g->ww;
    int64_t sy, sx;
    if (g->pad_first) {
        sy = (y + g->sh) % g->Hp;
        sx = (xx + g->sw) % g->Wp;
        if (sy >= g->H || sx >= g->W) return -1;
    } else {
        if (y >= g->H || xx >= g->W) return -1;
        sy = (y + g->sh) % g->H;
        sx = (xx + g->sw) % g->W;
    }
    return (b * g->H + sy) * g->W + sx;
}

/* Rows are window tokens, row r = (b * nW + w) * N + t: the gather (optionally through norm1)
 * and the scatter-add back (optionally through norm1: res-post-norm), as row hooks of the
 * products and as loops of their own. */
static void gather_rows(void *arg, int64_t r0, int64_t r1) {
    const window_job *j = arg;
    const int64_t N = j->g->wh * j->g->ww, C = j->C;
    for (int64_t r = r0; r < r1; r++) {
        const int64_t bw = r / N;
        const int64_t src = source(j->g, bw / j->g->nW, bw % j->g->nW, r % N);
        float *dst = j->win + r * C;
        if (src < 0)
            memset(dst, 0, (size_t)C * sizeof(float));
        else if (j->norm)
            swin__layernorm(dst, j->cx + src * C, j->norm->weight, j->norm->bias, 1, C,
                            j->norm->eps, NULL);
        else
            memcpy(dst, j->cx + src * C, (size_t)C * sizeof(float));
    }
}

static void scatter_rows(void *arg, int64_t r0, int64_t r1) {
    const window_job *j = arg;
    const int64_t N = j->g->wh * j->g->ww, C = j->C;
    for (int64_t r = r0; r < r1; r++) {
        const int64_t bw = r / N;
        const int64_t src = source(j->g, bw / j->g->nW, bw % j->g->nW, r % N);
        if (src < 0) continue;
        if (j->norm) /* res-post-norm: x += norm1(attn) */
            swin__layernorm(j->win + r * C, j->win + r * C, j->norm->weight, j->norm->bias, 1, C,
                            j->norm->eps, NULL);
        swin__add_inplace(j->x + src * C, j->win + r * C, C);
    }
}

void swin__window_gather(float *restrict out, const float *restrict x, const swin_geom *g,
                         int64_t B, int64_t C, swin_pool *pool) {
    window_job j = {out, NULL, x, g, C, NULL};
    const swin_rows_hook h = {gather_rows, &j};
    swin__rows_parallel(pool, B * g->nW * g->wh * g->ww, &h);
}

void swin__window_scatter_add(float *restrict x, const float *restrict win, const swin_geom *g,
                              int64_t B, int64_t C, swin_pool *pool) {
    window_job j = {(float *)win, x, NULL, g, C, NULL};
    const swin_rows_hook h = {scatter_rows, &j};
    swin__rows_parallel(pool, B * g->nW * g->wh * g->ww, &h);
}

typedef struct norm_rows_job {
    float *out;
    const float *in;
    const swin_norm *norm;
    int64_t C;
} norm_rows_job;

static void norm_rows(void *arg, int64_t r0, int64_t r1) {
    const norm_rows_job *j = arg;
    swin__layernorm(j->out + r0 * j->C, j->in + r0 * j->C, j->norm->weight, j->norm->bias, r1 - r0,
                    j->C, j->norm->eps, NULL);
}

/* Res-post-norm: rows of the Mlp's output y: x += norm2(y), then x = norm3(x) when the block
 * has norm3 (swinv2_cr). y is overwritten. */
typedef struct post_rows_job {
    float *x, *y;
    const swin_block *blk;
} post_rows_job;

static void post_rows(void *arg, int64_t r0, int64_t r1) {
    const post_rows_job *j = arg;
    const swin_block *blk = j->blk;
    const int64_t C = blk->dim;
    for (int64_t r = r0; r < r1; r++) {
        float *y = j->y + r * C, *x = j->x + r * C;
        swin__layernorm(y, y, blk->norm2.weight, blk->norm2.bias, 1, C, blk->norm2.eps, NULL);
        swin__add_inplace(x, y, C);
        if (blk->norm3.weight)
            swin__layernorm(x, x, blk->norm3.weight, blk->norm3.bias, 1, C, blk->norm3.eps, NULL);
    }
}

/* ---- the halves of a block by groups ----
 * With many rows, each half of a block runs as one parallel loop over groups of rows, a whole
 * chain of steps per group with no barrier between them. Groups are sized like the products'
 * row blocks (swin__block_items): about SWIN_BLOCK_FLOATS of the widest intermediate (qkv or
 * the Mlp's hidden units), a multiple of T of them. */

/* The attention half by groups of whole windows: each group gathers (with norm1) its rows,
 * multiplies them by qkv, runs attention on its windows, multiplies by proj and scatters the
 * result back onto x. Groups never touch the same tokens of x (every token belongs to exactly
 * one window), so one group's scatter cannot disturb another's gather. */
typedef struct attn_groups_job {
    window_job gather, scatter;
    const swin_attention *a;
    float *qkv, *merged, *scores;
    int64_t N, nW;
    const float *bias, *mask;
} attn_groups_job;

static void attn_group(void *arg, int64_t w0, int64_t w1, int tid) {
    attn_groups_job *j = arg;
    const swin_attention *a = j->a;
    const int64_t C = a->dim, r0 = w0 * j->N, r1 = w1 * j->N;
    gather_rows(&j->gather, r0, r1);
    swin__linear_rows(j->qkv, 3 * C, j->gather.win, a->qkv_w, a->qkv_b, C, 3 * C, r0, r1,
                      SWIN_EPI_BIAS);
    swin__attention_windows(j->merged, j->qkv, a, j->N, j->bias, j->mask, j->nW, j->scores, w0, w1,
                            tid);
    swin__linear_rows(j->scatter.win, C, j->merged, a->proj_w, a->proj_b, C, C, r0, r1,
                      SWIN_EPI_BIAS);
    scatter_rows(&j->scatter, r0, r1);
}

/* The Mlp half by groups of rows: norm2, fc1 + GELU, fc2 + the residual (res-post-norm: fc1
 * on x, fc2 into the norm's buffer, then post_rows). A group reads and writes only its own
 * rows of x. */
typedef struct mlp_groups_job {
    norm_rows_job norm;
    const swin_mlp *m;
    float *hidden, *x;
    post_rows_job post;
} mlp_groups_job;

static void mlp_group(void *arg, int64_t r0, int64_t r1, int tid) {
    (void)tid;
    mlp_groups_job *j = arg;
    const swin_mlp *m = j->m;
    const int64_t C = j->norm.C;
    const bool post = j->post.blk->res_post;
    if (!post) norm_rows(&j->norm, r0, r1);
    swin__linear_rows(j->hidden, m->hidden, post ? j->x : j->norm.out, m->fc1_w, m->fc1_b, C,
                      m->hidden, r0, r1, swin__epilogue_of(m->act));
    if (!post) {
        swin__linear_rows(j->x, C, j->hidden, m->fc2_w, m->fc2_b, m->hidden, C, r0, r1,
                          SWIN_EPI_ACCUMULATE);
        return;
    }
    swin__linear_rows(j->norm.out, C, j->hidden, m->fc2_w, m->fc2_b, m->hidden, C, r0, r1,
                      SWIN_EPI_BIAS);
    post_rows(&j->post, r0, r1);
}

void swin__block_forward(float *x, const swin_block *blk, const swin_geom *g, int64_t B,
                         const float *bias, const float *mask, float *scratch, swin_pool *pool) {
    const int64_t C = blk->dim, tokens = B * g->H * g->W, padded = B * g->Hp * g->Wp;
    const int64_t B_ = B * g->nW, N = g->wh * g->ww;
    float *win_in = scratch;
    float *win_out = win_in + padded * C;
    float *work = win_out + padded * C;
    const swin_attention *a = &blk->attn;

    /* x += W-MSA(norm1(x)). With many rows, by groups of windows (attn_group). Otherwise
     * norm1 and the gather into windows are made row block by row block just before the qkv
     * product needs them (LayerNorm is per token; padding stays zero, as timm pads after
     * norm1), and the scatter back adds each block of proj's output to x. */
    float *qkv = work, *merged = qkv + B_ * N * 3 * C, *scores = merged + B_ * N * C;
    const bool post = blk->res_post;
    window_job wj = {win_in, x, x, g, C, post ? NULL : &blk->norm1};
    window_job sj = {win_out, x, NULL, g, C, post ? &blk->norm1 : NULL};
    if (B_ * N >= 3 * C) {
        const int64_t per =
            swin__block_items(B_, SWIN_BLOCK_FLOATS / (3 * C * N), swin__pool_size(pool));
        attn_groups_job j = {wj, sj, a, qkv, merged, scores, N, g->nW, bias, mask};
        swin__parallel_for(pool, B_, per, attn_group, &j);
    } else {
        const swin_rows_hook gather = {gather_rows, &wj}, scatter = {scatter_rows, &sj};
        swin__linear_fused(qkv, 3 * C, win_in, a->qkv_w, a->qkv_b, B_ * N, C, 3 * C, SWIN_EPI_BIAS,
                           &gather, NULL, pool);
        swin__attention_core(merged, qkv, a, B_, N, bias, mask, g->nW, scores, pool);
        swin__linear_fused(win_out, C, merged, a->proj_w, a->proj_b, B_ * N, C, C, SWIN_EPI_BIAS,
                           NULL, &scatter, pool);
    }

    /* x += Mlp(norm2(x)) (res-post-norm: x += norm2(Mlp(x)), then norm3). With many rows, by
     * groups of rows (mlp_group). Otherwise norm2 by row blocks before fc1, the residual fused
     * into fc2 (res-post-norm: fc2's rows through post_rows). */
    const swin_mlp *m = &blk->mlp;
    float *normed = work, *hidden = normed + tokens * C;
    norm_rows_job nj = {normed, x, &blk->norm2, C};
    post_rows_job pj = {x, normed, blk};
    if (tokens >= m->hidden) {
        const int64_t per =
            swin__block_items(tokens, SWIN_BLOCK_FLOATS / m->hidden, swin__pool_size(pool));
        mlp_groups_job j = {nj, m, hidden, x, pj};
        swin__parallel_for(pool, tokens, (per + 15) / 16 * 16, mlp_group, &j);
        return;
    }
    if (post) {
        const swin_rows_hook after = {post_rows, &pj};
        swin__linear_fused(hidden, m->hidden, x, m->fc1_w, m->fc1_b, tokens, C, m->hidden,
                           swin__epilogue_of(m->act), NULL, NULL, pool);
        swin__linear_fused(normed, C, hidden, m->fc2_w, m->fc2_b, tokens, m->hidden, C,
                           SWIN_EPI_BIAS, NULL, &after, pool);
        return;
    }
    const swin_rows_hook norm2 = {norm_rows, &nj};
    swin__linear_fused(hidden, m->hidden, normed, m->fc1_w, m->fc1_b, tokens, C, m->hidden,
                       swin__epilogue_of(m->act), &norm2, NULL, pool);
    swin__linear_ex(x, C, hidden, m->fc2_w, m->fc2_b, tokens, m->hidden, C, SWIN_EPI_ACCUMULATE,
                    pool);
}
