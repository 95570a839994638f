/* Swin Transformer v1 as timm computes it (and as transformers computes it, for transformers
 * folders): the architecture, the model-constant tables, the memory plan and the stage loop.
 * The layers compute; this file wires. It sees canonical tensor names only (naming.h).
 * Legend: B batch, S stages, C_s = embed_dim * 2^s channels of stage s, H_s x W_s its grid,
 * N = wh*ww tokens per window. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../layers/layers.h"
#include "../model.h"

static const char *const timm_classes[] = {"SwinTransformer", NULL};
static const char *const model_types[] = {"swin", NULL};

/* The keys: libswin's and timm's SwinTransformer arguments (the table generated from timm
 * holds each swin_* architecture's values of the latter). */
static const swin_key keys[] = {
    {"img_size", SWIN_K_LIST, "input size the model is configured for (windows follow it)", NULL,
     NULL},
    {"patch_size", SWIN_K_INT, "patch embedding stride and kernel", NULL, NULL},
    {"in_chans", SWIN_K_INT, "input channels", NULL, NULL},
    {"embed_dim", SWIN_K_INT, "channels of stage 0 (stage s has embed_dim * 2^s)", NULL, NULL},
    {"depths", SWIN_K_LIST, "blocks per stage", NULL, NULL},
    {"num_heads", SWIN_K_LIST, "attention heads per stage", NULL, NULL},
    {"window_size", SWIN_K_LIST, "attention window: one, or one per stage (Swin S3)", NULL, NULL},
    {"mlp_ratio", SWIN_K_REAL, "MLP hidden width over channels", NULL, NULL},
    {"num_classes", SWIN_K_INT, "classifier outputs; 0 for a backbone", NULL, NULL},
    {"norm_eps", SWIN_K_REAL, "LayerNorm epsilon", NULL, NULL},
    {"qkv_bias", SWIN_K_BOOL, "whether qkv has a bias", NULL, NULL},
    {"patch_norm", SWIN_K_BOOL, "LayerNorm after the patch embedding", "1|true|True",
     "a patch embedding without its norm"},
    {"windowing", SWIN_K_STR,
     "timm: windows from the configured size, pad after the shift; transformers: from the "
     "input size, pad before the shift",
     "timm|transformers", "another windowing"},
    {"activation", SWIN_K_STR, "MLP activation", "gelu", "an MLP activation other than exact GELU"},
    {"ape", SWIN_K_BOOL, "absolute position embedding", "0|false|False",
     "an absolute position embedding"},
    /* timm's other SwinTransformer arguments */
    {"global_pool", SWIN_K_STR, "timm's pooling", "avg", "no pooling before the head"},
    {"head_dim", SWIN_K_STR, "timm's attention head width", "none",
     "a head width other than channels / heads"},
    {"always_partition", SWIN_K_BOOL, "timm: windows not clamped to small stages", "0|false|False",
     "windows not clamped to the stage size"},
    {"strict_img_size", SWIN_K_BOOL, "timm: only the configured input size", NULL, NULL},
    {"embed_layer", SWIN_K_STR, "timm's patch embedding", "PatchEmbed", "another patch embedding"},
    {"norm_layer", SWIN_K_STR, "timm's norm: LayerNorm, optionally with eps", NULL, NULL},
    {NULL, 0, NULL, NULL, NULL},
};

/* transformers' SwinConfig keys. */
static const swin_hf_key hf_keys[] = {
    {"embed_dim", "embed_dim"},   {"depths", "depths"},
    {"num_heads", "num_heads"},   {"window_size", "window_size"},
    {"mlp_ratio", "mlp_ratio"},   {"qkv_bias", "qkv_bias"},
    {"hidden_act", "activation"}, {"layer_norm_eps", "norm_eps"},
    {"image_size", "img_size"},   {"patch_size", "patch_size"},
    {"num_channels", "in_chans"}, {"use_absolute_embeddings", "ape"},
    {"path_norm", "patch_norm"},  {NULL, NULL},
};

typedef struct stage {
    int64_t depth, heads, dim, hidden;
    int64_t H, W;             /* grid at the model's img_size: (img_size / patch) >> s */
    int64_t window;           /* the target window */
    int64_t wh, ww;           /* the window the relative position tables are made for */
    int64_t sh, sw;           /* timm: shift of the odd blocks */
    swin_patch_merging merge; /* s >= 1: PatchMerging that starts the stage */
    swin_block *blocks;
    float *bias;         /* [depth, nH, N, N]: relative position bias, gathered once at load */
    float *mask;         /* [nW, N, N]: shift mask at img_size, or NULL */
    swin_geom mask_geom; /* the geometry it was made for */
} stage;

typedef struct impl {
    int64_t img_size, patch, in_chans, embed_dim, num_classes;
    double mlp_ratio;
    double eps;       /* the blocks' and the final norm's */
    double eps_embed; /* the patch embedding's and PatchMerging's norms (1e-5 in transformers) */
    bool qkv_bias, patch_norm;
    bool hf; /* transformers: windows from the input size, pad before the shift, padded patches */
    int S;
    swin_patch_embed pe;
    stage st[SWIN_MAX_STAGES];
    swin_norm norm;
    const float *head_w, *head_b;
} impl;

static bool detect(const swin_weights *w) {
    return swin__w_find(w, "layers.0.blocks.0.attn.relative_position_bias_table") != NULL;
}

/* ---- geometry ---- */

/* Geometry of a block (odd: an odd block) of stage g on a runtime grid H x W. timm takes the
 * window and shift from the configured grid; transformers from the runtime one, with a square
 * window of the smaller side when that side is not larger than the window, whose relative
 * position table (made for the configured window) must then still fit: false when not. */
static bool block_geom(const impl *I, const stage *g, int64_t H, int64_t W, bool odd,
                       swin_geom *out) {
    if (!I->hf) {
        swin__geom(out, H, W, g->wh, g->ww, odd ? g->sh : 0, odd ? g->sw : 0, false);
        return true;
    }
    const int64_t m = H < W ? H : W, ws = g->window;
    if (m <= ws) {
        swin__geom(out, H, W, m, m, 0, 0, true);
        return m == g->wh;
    }
    swin__geom(out, H, W, ws, ws, odd ? ws / 2 : 0, odd ? ws / 2 : 0, true);
    return ws == g->wh;
}

/* ---- architecture resolution ---- */

static void list_str(char *buf, size_t cap, const int64_t *v, int n) {
    size_t k = 0;
    buf[0] = '\0';
    for (int i = 0; i < n && k < cap; i++)
        k += (size_t)snprintf(buf + k, cap - k, i ? ",%lld" : "%lld", (long long)v[i]);
}

static swin_status get_list(const swin_source *src, const char *key, int have,
                            const int64_t *inferred, int64_t *out, int *n, const char **origin) {
    const char *v = swin__src_value(src, key, origin);
    if (v) {
        if (!swin__parse_int_list(v, out, SWIN_MAX_STAGES, n))
            return swin__error(SWIN_ERR_CONFIG,
                               "%s: \"%.64s\" (%s) is not a list of 1..%d integers", key, v,
                               *origin, SWIN_MAX_STAGES);
        return SWIN_OK;
    }
    if (!have)
        return swin__error(SWIN_ERR_CONFIG, "%s: not given and cannot be inferred from the tensors",
                           key);
    memcpy(out, inferred, (size_t)have * sizeof *out);
    *n = have;
    *origin = "the tensors";
    return SWIN_OK;
}

static swin_status resolve(swin_model *m, const swin_source *src, impl *I) {
    swin_weights *w = &m->w;
    I->hf = false;
    const char *v = swin__src_value(src, "windowing", NULL);
    if (v) I->hf = strcmp(v, "transformers") == 0;

    /* What the tensors say. */
    const swin_weight *pe = swin__w_find(w, "patch_embed.proj.weight");
    const bool have_pe = pe && pe->ndim == 4;
    int64_t depths_i[SWIN_MAX_STAGES], heads_i[SWIN_MAX_STAGES], rows_i[SWIN_MAX_STAGES];
    const swin_weight *tables[SWIN_MAX_STAGES] = {0};
    int ns = 0, nh = 0;
    for (int s = 0; s < SWIN_MAX_STAGES; s++) {
        int64_t d = 0;
        while (d < 4096 && swin__w_findf(w, "layers.%d.blocks.%lld.norm1.weight", s, (long long)d))
            d++;
        if (!d) break;
        depths_i[ns++] = d;
        const swin_weight *t =
            swin__w_findf(w, "layers.%d.blocks.0.attn.relative_position_bias_table", s);
        tables[s] = t && t->ndim == 2 ? t : NULL;
        rows_i[s] = tables[s] ? t->shape[0] : 0;
        if (nh == s && tables[s]) heads_i[nh++] = t->shape[1];
    }
    if (nh != ns) nh = 0;
    int64_t window_i = 0;
    if (tables[0]) {
        const int64_t side = (int64_t)llround(sqrt((double)rows_i[0]));
        if (side * side == rows_i[0] && side % 2 == 1) window_i = (side + 1) / 2;
    }
    const swin_weight *head = swin__w_find(w, "head.weight");
    const swin_weight *fc1 = swin__w_find(w, "layers.0.blocks.0.mlp.fc1.weight");

    SWIN_TRY(swin__src_int(src, "embed_dim", 1, have_pe, have_pe ? pe->shape[0] : 0, pe, "channels",
                           &I->embed_dim));
    SWIN_TRY(swin__src_int(src, "in_chans", 1, have_pe, have_pe ? pe->shape[1] : 0, pe,
                           "input channels", &I->in_chans));
    SWIN_TRY(swin__src_int(src, "patch_size", 1, have_pe, have_pe ? pe->shape[2] : 0, pe,
                           "a patch side of", &I->patch));
    int64_t windows[SWIN_MAX_STAGES], depths[SWIN_MAX_STAGES], heads[SWIN_MAX_STAGES];
    int nw, nd, nhh;
    const char *window_origin, *depths_origin, *heads_origin;
    SWIN_TRY(get_list(src, "window_size", window_i > 0, &window_i, windows, &nw, &window_origin));
    SWIN_TRY(get_list(src, "depths", ns, depths_i, depths, &nd, &depths_origin));
    SWIN_TRY(get_list(src, "num_heads", nh, heads_i, heads, &nhh, &heads_origin));
    if (nd != nhh)
        return swin__error(SWIN_ERR_CONFIG, "depths has %d stages (%s) but num_heads has %d (%s)",
                           nd, depths_origin, nhh, heads_origin);
    if (nw != 1 && nw != nd)
        return swin__error(SWIN_ERR_CONFIG,
                           "window_size lists %d windows (%s) for %d stages: give one, or one "
                           "per stage",
                           nw, window_origin, nd);
    if (swin__src_value(src, "img_size", NULL))
        SWIN_TRY(swin__src_int(src, "img_size", 1, false, 0, NULL, NULL, &I->img_size));
    else
        I->img_size = windows[0] == 12 ? 384 : 224; /* timm's presets */
    const bool have_fc1 = fc1 && fc1->ndim == 2 && I->embed_dim > 0;
    SWIN_TRY(swin__src_real(src, "mlp_ratio",
                            have_fc1 ? (double)fc1->shape[0] / (double)I->embed_dim : 4.0,
                            &I->mlp_ratio));
    I->eps = 1e-5;
    if ((v = swin__src_value(src, "norm_layer", NULL))) SWIN_TRY(swin__norm_layer_eps(v, &I->eps));
    SWIN_TRY(swin__src_real(src, "norm_eps", I->eps, &I->eps));
    SWIN_TRY(swin__src_bool(src, "qkv_bias", true, &I->qkv_bias));
    SWIN_TRY(swin__src_bool(src, "patch_norm", true, &I->patch_norm));
    SWIN_TRY(swin__src_int(src, "num_classes", 0, head && head->ndim == 2,
                           head && head->ndim == 2 ? head->shape[0] : 0, head, "rows",
                           &I->num_classes));

    /* Consistency. */
    if (I->img_size % I->patch != 0)
        return swin__error(SWIN_ERR_CONFIG, "img_size %lld is not a multiple of patch_size %lld",
                           (long long)I->img_size, (long long)I->patch);
    if (I->embed_dim > (1 << 16) || I->patch > 4096 || I->in_chans > 4096 || I->mlp_ratio > 64.0 ||
        I->img_size > (1 << 20))
        return swin__error(SWIN_ERR_CONFIG, "architecture sizes are implausibly large");
    I->S = nd;
    I->eps_embed = I->hf ? 1e-5 : I->eps;
    /* the grid of each stage at img_size: timm configures floor(img / patch) >> s; in
     * transformers each merge pads an odd grid, so the stages run at ceil halvings */
    int64_t res = I->img_size / I->patch;
    for (int s = 0; s < nd; s++) {
        stage *g = &I->st[s];
        g->window = windows[nw == 1 ? 0 : s];
        if (depths[s] < 1 || depths[s] > 4096 || heads[s] < 1 || g->window < 1 || g->window > 4096)
            return swin__error(SWIN_ERR_CONFIG,
                               "stage %d: depth %lld, heads %lld and window %lld must be >= 1", s,
                               (long long)depths[s], (long long)heads[s], (long long)g->window);
        g->depth = depths[s];
        g->heads = heads[s];
        g->dim = I->embed_dim << s;
        g->hidden = (int64_t)((double)g->dim * I->mlp_ratio);
        if (g->dim % g->heads != 0 || g->hidden < 1)
            return swin__error(SWIN_ERR_CONFIG,
                               "stage %d: %lld channels do not split into %lld heads", s,
                               (long long)g->dim, (long long)g->heads);
        if (s > 0) res = I->hf ? (res + 1) / 2 : res / 2;
        g->H = g->W = res;
        if (g->H < 1)
            return swin__error(SWIN_ERR_CONFIG, "img_size %lld leaves stage %d without tokens",
                               (long long)I->img_size, s);
        if (I->hf) {
            /* the table is made for the configured window; the runtime clamps (block_geom) */
            g->wh = g->ww = g->window;
            g->sh = g->sw = g->window / 2;
        } else {
            swin__stage_window(g->H, g->W, g->window, &g->wh, &g->ww, &g->sh, &g->sw);
        }
        /* the file's tables against what the architecture makes */
        if (s < ns && tables[s] && rows_i[s] != (2 * g->wh - 1) * (2 * g->ww - 1))
            return swin__error(SWIN_ERR_SHAPE,
                               "window_size %lld (from %s) gives stage %d a %lldx%lld window at "
                               "img_size %lld, but tensor \"%s\" has %lld rows, not %lld",
                               (long long)g->window, window_origin, s, (long long)g->wh,
                               (long long)g->ww, (long long)I->img_size, tables[s]->source,
                               (long long)rows_i[s],
                               (long long)((2 * g->wh - 1) * (2 * g->ww - 1)));
        if (s < nh && heads_i[s] != g->heads)
            return swin__error(
                SWIN_ERR_SHAPE,
                "num_heads %lld for stage %d (from %s) disagrees with tensor \"%s\", "
                "which has %lld heads",
                (long long)g->heads, s, heads_origin, tables[s]->source, (long long)heads_i[s]);
        if (s < ns && depths_i[s] != g->depth) {
            char last[160], file[512];
            snprintf(last, sizeof last, "layers.%d.blocks.%lld.norm1.weight", s,
                     (long long)depths_i[s] - 1);
            return swin__error(SWIN_ERR_SHAPE,
                               "depths gives stage %d %lld blocks (from %s) but the file has %lld "
                               "(the last is \"%s\")",
                               s, (long long)g->depth, depths_origin, (long long)depths_i[s],
                               swin__w_source(w, last, file, sizeof file));
        }
    }
    if (ns > nd)
        return swin__error(SWIN_ERR_SHAPE,
                           "the file has a stage %d but depths lists %d stages (%s)", nd, nd,
                           depths_origin);

    SWIN_TRY(swin__config_set(m, "embed_dim", "%lld", (long long)I->embed_dim));
    char buf[256];
    list_str(buf, sizeof buf, depths, nd);
    SWIN_TRY(swin__config_set(m, "depths", "%s", buf));
    list_str(buf, sizeof buf, heads, nd);
    SWIN_TRY(swin__config_set(m, "num_heads", "%s", buf));
    list_str(buf, sizeof buf, windows, nw);
    SWIN_TRY(swin__config_set(m, "window_size", "%s", buf));
    SWIN_TRY(swin__config_set(m, "img_size", "%lld", (long long)I->img_size));
    SWIN_TRY(swin__config_set(m, "patch_size", "%lld", (long long)I->patch));
    SWIN_TRY(swin__config_set(m, "in_chans", "%lld", (long long)I->in_chans));
    SWIN_TRY(swin__config_set(m, "mlp_ratio", "%g", I->mlp_ratio));
    SWIN_TRY(swin__config_set(m, "qkv_bias", "%s", I->qkv_bias ? "true" : "false"));
    SWIN_TRY(swin__config_set(m, "num_classes", "%lld", (long long)I->num_classes));
    SWIN_TRY(swin__config_set(m, "norm_eps", "%g", I->eps));
    SWIN_TRY(swin__config_set(m, "windowing", "%s", I->hf ? "transformers" : "timm"));
    return SWIN_OK;
}

/* ---- binding ---- */

static void unbind(swin_model *m) {
    impl *I = m->impl;
    for (int s = 0; s < I->S; s++) {
        swin__free(I->st[s].blocks);
        swin__aligned_free(I->st[s].bias);
        swin__aligned_free(I->st[s].mask);
    }
    swin__free(I);
    m->impl = NULL;
}

static int64_t count_params(const impl *I) {
    const int64_t D = I->embed_dim;
    int64_t n = D * I->in_chans * I->patch * I->patch + D; /* proj, bias */
    if (I->patch_norm) n += 2 * D;
    for (int s = 0; s < I->S; s++) {
        const stage *g = &I->st[s];
        const int64_t C = g->dim, F = g->hidden;
        if (s > 0) n += 2 * (2 * C) + (2 * C) * C; /* norm(4C') + reduction, C' = C/2 */
        const int64_t per_block = 4 * C + 3 * C * C + (I->qkv_bias ? 3 * C : 0) + C * C + C +
                                  (2 * g->wh - 1) * (2 * g->ww - 1) * g->heads + 2 * F * C + F + C;
        n += g->depth * per_block;
    }
    const int64_t C = I->st[I->S - 1].dim;
    return n + 2 * C + I->num_classes * (C + 1);
}

/* The model-constant tables of stage g: each block's relative position bias gathered to
 * [nH, N, N], and the shift mask of the geometry at img_size. */
static swin_status tables(const impl *I, stage *g) {
    const int64_t N = g->wh * g->ww;
    size_t per_block, all;
    if (!swin__mul_size((size_t)(N * N), (size_t)g->heads, &per_block) ||
        !swin__mul_size(per_block, (size_t)g->depth, &all) || all > SIZE_MAX / sizeof(float))
        return swin__error(SWIN_ERR_CONFIG, "the relative position bias does not fit in memory");
    int32_t *index = swin__malloc((size_t)(N * N) * sizeof *index);
    g->bias = swin__aligned_alloc(all * sizeof(float));
    if (!index || !g->bias) {
        swin__free(index);
        return swin__oom();
    }
    swin__relative_position_index(index, g->wh, g->ww);
    for (int64_t b = 0; b < g->depth; b++)
        swin__attention_bias(g->bias + (size_t)b * per_block, &g->blocks[b].attn, index);
    swin__free(index);
    if (g->depth < 2) return SWIN_OK;
    swin_geom q;
    if (!block_geom(I, g, g->H, g->W, true, &q) || (!q.sh && !q.sw)) return SWIN_OK;
    g->mask = swin__aligned_alloc((size_t)(q.nW * N * N) * sizeof(float));
    if (!g->mask) return swin__oom();
    swin__shift_mask(g->mask, q.Hp, q.Wp, q.wh, q.ww, q.sh, q.sw);
    g->mask_geom = q;
    return SWIN_OK;
}

static swin_status bind(swin_model *m, const swin_source *src) {
    impl *I = swin__calloc(1, sizeof *I);
    if (!I) return swin__oom();
    m->impl = I;
    swin_weights *w = &m->w;
    SWIN_TRY(resolve(m, src, I));
    const float eps = (float)I->eps;
    SWIN_TRY(swin__patch_embed_bind(&I->pe, w, "patch_embed", I->in_chans, I->embed_dim, I->patch,
                                    true, I->patch_norm, (float)I->eps_embed));
    I->pe.pad = I->hf;
    char prefix[128];
    for (int s = 0; s < I->S; s++) {
        stage *g = &I->st[s];
        if (s > 0) {
            snprintf(prefix, sizeof prefix, "layers.%d.downsample", s);
            SWIN_TRY(
                swin__patch_merging_bind(&g->merge, w, prefix, g->dim / 2, (float)I->eps_embed));
        }
        g->blocks = swin__calloc((size_t)g->depth, sizeof *g->blocks);
        if (!g->blocks) return swin__oom();
        for (int b = 0; b < g->depth; b++) {
            snprintf(prefix, sizeof prefix, "layers.%d.blocks.%d", s, b);
            /* the geometry the file's buffers (if any) were made for: timm's configured one;
             * transformers' relative position index is always for the configured window */
            swin_geom cfg;
            if (I->hf)
                swin__geom(&cfg, g->H, g->W, g->wh, g->ww, b % 2 ? g->sh : 0, b % 2 ? g->sw : 0,
                           true);
            else
                block_geom(I, g, g->H, g->W, b % 2 == 1, &cfg);
            SWIN_TRY(swin__block_bind(&g->blocks[b], w, prefix, g->dim, g->heads, g->hidden,
                                      I->qkv_bias, eps, &cfg));
        }
        SWIN_TRY(tables(I, g));
    }
    const int64_t C = I->st[I->S - 1].dim, K = I->num_classes;
    SWIN_TRY(swin__norm_bind(&I->norm, w, "norm", C, eps));
    if (K > 0) {
        const int64_t shape[2] = {K, C};
        SWIN_TRY(swin__w_get(w, "head.weight", 2, shape, &I->head_w));
        SWIN_TRY(swin__w_get(w, "head.bias", 1, &K, &I->head_b));
    }
    swin__drop_head(w, K);
    m->num_classes = K;
    m->in_chans = I->in_chans;
    m->num_stages = I->S;
    m->num_params = count_params(I);
    return SWIN_OK;
}

/* ---- facts ---- */

static swin_status stage_dims(const swin_model *m, int s, int64_t out[6]) {
    const impl *I = m->impl;
    const stage *g = &I->st[s];
    swin_geom q;
    block_geom(I, g, g->H, g->W, false, &q);
    out[0] = g->depth;
    out[1] = g->heads;
    out[2] = g->dim;
    out[3] = g->H;
    out[4] = g->W;
    out[5] = q.wh;
    return SWIN_OK;
}

/* Multiply-accumulates of stage s at img_size: (windowed, global attention). */
static void stage_flops(const impl *I, int s, double *f, double *fg) {
    const stage *g = &I->st[s];
    const double C = (double)g->dim, L = (double)(g->H * g->W), F = (double)g->hidden;
    double merge = 0.0;
    if (s > 0) merge = L * (4.0 * C / 2.0) * C; /* 4C' -> 2C' on the merged grid */
    double win = 0.0, glob = 0.0;
    for (int b = 0; b < g->depth; b++) {
        swin_geom geom;
        block_geom(I, g, g->H, g->W, b % 2 == 1, &geom);
        const double Lp = (double)(geom.Hp * geom.Wp), N = (double)(geom.wh * geom.ww);
        win += 4.0 * Lp * C * C + 2.0 * N * Lp * C + 2.0 * L * C * F;
        glob += 4.0 * L * C * C + 2.0 * L * L * C + 2.0 * L * C * F;
    }
    *f = merge + win;
    *fg = merge + glob;
}

static swin_status flops(const swin_model *m, int stage_index, double *f, double *fg) {
    const impl *I = m->impl;
    if (stage_index >= 0) {
        stage_flops(I, stage_index, f, fg);
        return SWIN_OK;
    }
    const double L0 = (double)(I->st[0].H * I->st[0].W);
    const double embed = L0 * (double)I->embed_dim * (double)(I->in_chans * I->patch * I->patch);
    const double head = (double)I->st[I->S - 1].dim * (double)I->num_classes;
    *f = *fg = embed + head;
    for (int s = 0; s < I->S; s++) {
        double a, b;
        stage_flops(I, s, &a, &b);
        *f += a;
        *fg += b;
    }
    return SWIN_OK;
}

/* ---- memory plan ---- */

typedef struct plan_stage {
    int64_t H, W;
    swin_geom geom[2]; /* even (unshifted) and odd (shifted) blocks */
    float *out;        /* [B, H, W, C]: the residual stream, then the stage output */
    const float *mask; /* [nW, N, N] for the shifted blocks: the model's, or in the arena */
    float *own_mask;   /* the arena's, when the geometry differs from the model's */
} plan_stage;

typedef struct plan {
    plan_stage st[SWIN_MAX_STAGES];
    float *scratch;
    float *tokens;   /* [B, L, C]: the token map, the last stage after the final norm */
    float *features; /* [B, C] */
    float *logits;   /* [B, K] */
} plan;

static bool same_geom(const swin_geom *a, const swin_geom *b) {
    return a->Hp == b->Hp && a->Wp == b->Wp && a->wh == b->wh && a->ww == b->ww && a->sh == b->sh &&
           a->sw == b->sw;
}

static size_t max_size(size_t a, size_t b) {
    return a > b ? a : b;
}

/* T: the threads of the pool the plan runs on. The scratch holds the largest layer's (the
 * layers say how much they need) and the final norm's output. */
static void layout(swin_arena *bp, plan *P, const impl *I, int64_t B, int64_t H, int64_t W, int T) {
    size_t scratch = swin__arena_size(bp, swin__patch_embed_scratch(&I->pe, B, H, W));
    for (int s = 0; s < I->S; s++) {
        const stage *g = &I->st[s];
        plan_stage *ps = &P->st[s];
        const int64_t N = ps->geom[1].wh * ps->geom[1].ww;
        ps->out = swin__arena_take(bp, swin__arena_count(bp, B, ps->H, ps->W, g->dim));
        ps->own_mask = NULL;
        if (g->depth > 1 && (ps->geom[1].sh || ps->geom[1].sw)) {
            if (g->mask && same_geom(&g->mask_geom, &ps->geom[1])) {
                ps->mask = g->mask;
            } else {
                ps->own_mask = swin__arena_take(bp, swin__arena_count(bp, ps->geom[1].nW, N, N, 1));
                ps->mask = ps->own_mask;
            }
        } else {
            ps->mask = NULL;
        }
        for (int k = 0; k < 2; k++)
            scratch = max_size(scratch, swin__arena_size(bp, swin__block_scratch(&g->blocks[0], B,
                                                                                 &ps->geom[k], T)));
        if (s > 0)
            scratch = max_size(
                scratch, swin__arena_size(bp, swin__patch_merging_scratch(
                                                  &g->merge, B, P->st[s - 1].H, P->st[s - 1].W)));
    }
    const plan_stage *last = &P->st[I->S - 1];
    const int64_t C = I->st[I->S - 1].dim;
    P->tokens = swin__arena_take(bp, swin__arena_count(bp, B, last->H * last->W, C, 1));
    P->features = swin__arena_take(bp, swin__arena_count(bp, B, C, 1, 1));
    P->logits = I->num_classes
                    ? swin__arena_take(bp, swin__arena_count(bp, B, I->num_classes, 1, 1))
                    : NULL;
    P->scratch = swin__arena_take(bp, scratch);
}

static swin_status plan_fn(swin_context *ctx, int64_t B, int64_t H, int64_t W) {
    const impl *I = ctx->model->impl;
    /* transformers pads the image to the patch; timm requires a multiple */
    if (!I->hf && (H % I->patch != 0 || W % I->patch != 0))
        return swin__error(SWIN_ERR_INPUT_SIZE,
                           "input %lldx%lld is not a multiple of the patch size %lld", (long long)H,
                           (long long)W, (long long)I->patch);
    plan *P = swin__calloc(1, sizeof *P);
    if (!P) return swin__oom();
    ctx->plan = P;
    int64_t h = (H + I->patch - 1) / I->patch, w = (W + I->patch - 1) / I->patch;
    for (int s = 0; s < I->S; s++) {
        const stage *g = &I->st[s];
        plan_stage *ps = &P->st[s];
        if (s > 0) {
            h = (h + 1) / 2;
            w = (w + 1) / 2;
        }
        ps->H = h;
        ps->W = w;
        for (int k = 0; k < 2; k++)
            if (!block_geom(I, g, h, w, k == 1, &ps->geom[k]))
                return swin__error(SWIN_ERR_INPUT_SIZE,
                                   "input %lldx%lld leaves stage %d a %lldx%lld grid, smaller "
                                   "than its window %lld, which transformers' Swin cannot run",
                                   (long long)H, (long long)W, s, (long long)h, (long long)w,
                                   (long long)g->window);
    }
    const int T = swin__pool_size(ctx->pool);
    swin_arena count = {0};
    layout(&count, P, I, B, H, W, T);
    SWIN_TRY(swin__arena_alloc(ctx, &count, B, H, W));
    swin_arena real = {.base = ctx->arena};
    layout(&real, P, I, B, H, W, T);

    for (int s = 0; s < I->S; s++) {
        const stage *g = &I->st[s];
        plan_stage *ps = &P->st[s];
        if (ps->own_mask) {
            const swin_geom *q = &ps->geom[1];
            swin__shift_mask(ps->own_mask, q->Hp, q->Wp, q->wh, q->ww, q->sh, q->sw);
        }
        const int64_t shape[4] = {B, ps->H, ps->W, g->dim};
        swin__tensor_view(&ctx->stages[s], ps->out, 4, shape);
    }
    const plan_stage *last = &P->st[I->S - 1];
    const int64_t fshape[2] = {B, I->st[I->S - 1].dim}, lshape[2] = {B, I->num_classes};
    const int64_t tshape[3] = {B, last->H * last->W, I->st[I->S - 1].dim};
    swin__tensor_view(&ctx->tokens, P->tokens, 3, tshape);
    swin__tensor_view(&ctx->features, P->features, 2, fshape);
    if (P->logits) swin__tensor_view(&ctx->logits, P->logits, 2, lshape);
    return SWIN_OK;
}

/* ---- forward ---- */

static void forward(swin_context *ctx, const float *input) {
    const impl *I = ctx->model->impl;
    const plan *P = ctx->plan;
    const int64_t B = ctx->B;
    swin_pool *pool = ctx->pool;
    swin__patch_embed_forward(P->st[0].out, input, &I->pe, B, ctx->H, ctx->W, P->scratch, pool);
    for (int s = 0; s < I->S; s++) {
        const stage *g = &I->st[s];
        const plan_stage *ps = &P->st[s];
        if (s > 0)
            swin__patch_merging_forward(ps->out, P->st[s - 1].out, &g->merge, B, P->st[s - 1].H,
                                        P->st[s - 1].W, P->scratch, pool);
        const int64_t N = g->wh * g->ww;
        for (int64_t b = 0; b < g->depth; b++) {
            const bool odd = b % 2 == 1;
            swin__block_forward(ps->out, &g->blocks[b], &ps->geom[odd], B,
                                g->bias + b * g->heads * N * N, odd ? ps->mask : NULL, P->scratch,
                                pool);
        }
    }
    /* final norm, mean over tokens, head */
    const plan_stage *last = &P->st[I->S - 1];
    const int64_t C = I->st[I->S - 1].dim, L = last->H * last->W;
    swin__layernorm(P->tokens, last->out, I->norm.weight, I->norm.bias, B * L, C, I->norm.eps,
                    pool);
    for (int64_t b = 0; b < B; b++)
        for (int64_t c = 0; c < C; c++) {
            double acc = 0.0;
            for (int64_t t = 0; t < L; t++)
                acc += P->tokens[(b * L + t) * C + c];
            P->features[b * C + c] = (float)(acc / (double)L);
        }
    if (P->logits)
        swin__linear(P->logits, P->features, I->head_w, I->head_b, B, C, I->num_classes, pool);
}

const swin_family swin__family_swin = {
    .name = "swin",
    .description = "Swin Transformer v1 (timm, the official release, transformers)",
    .timm_classes = timm_classes,
    .model_types = model_types,
    .keys = keys,
    .hf_keys = hf_keys,
    .mean = {0.485f, 0.456f, 0.406f},
    .std = {0.229f, 0.224f, 0.225f},
    .interpolation = "bicubic",
    .crop_pct = 0.9,
    .detect = detect,
    .bind = bind,
    .unbind = unbind,
    .stage_dims = stage_dims,
    .flops = flops,
    .plan = plan_fn,
    .forward = forward,
};
