/* Swin Transformer v1 as timm computes it: the architecture, the naming schemes (timm and the
 * official release), the memory plan and the stage loop. The layers compute; this file wires.
 * Legend: B batch, S stages, C_s = embed_dim * 2^s channels of stage s, H_s x W_s its grid. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../layers/layers.h"
#include "../model.h"

#define PRESET(name, embed, depths, heads, window, img)                                            \
    {name, "embed_dim", embed}, {name, "depths", depths}, {name, "num_heads", heads},              \
        {name, "window_size", window}, {name, "img_size", img}, {name, "patch_size", "4"},         \
        {name, "mlp_ratio", "4"}, {                                                                \
        name, "in_chans", "3"                                                                      \
    }

static const swin_preset_kv presets[] = {
    PRESET("swin_tiny_patch4_window7_224", "96", "2,2,6,2", "3,6,12,24", "7", "224"),
    PRESET("swin_small_patch4_window7_224", "96", "2,2,18,2", "3,6,12,24", "7", "224"),
    PRESET("swin_base_patch4_window7_224", "128", "2,2,18,2", "4,8,16,32", "7", "224"),
    PRESET("swin_large_patch4_window7_224", "192", "2,2,18,2", "6,12,24,48", "7", "224"),
    PRESET("swin_base_patch4_window12_384", "128", "2,2,18,2", "4,8,16,32", "12", "384"),
    PRESET("swin_large_patch4_window12_384", "192", "2,2,18,2", "6,12,24,48", "12", "384"),
    {NULL, NULL, NULL},
};

typedef struct stage {
    int64_t depth, heads, dim, hidden;
    int64_t H, W;             /* grid at the model's img_size, as timm: (img_size / patch) >> s */
    int64_t wh, ww;           /* window (the relative position tables are made for it) */
    int64_t sh, sw;           /* shift of the odd blocks */
    swin_patch_merging merge; /* s >= 1: PatchMerging that starts the stage */
    swin_block *blocks;
} stage;

typedef struct impl {
    int64_t img_size, patch, in_chans, embed_dim, window, num_classes;
    double mlp_ratio;
    double eps;
    bool official;
    int S;
    swin_patch_embed pe;
    stage st[SWIN_MAX_STAGES];
    swin_norm norm;
    const float *head_w, *head_b;
} impl;

static bool accepts(const char *arch, const swin_safetensors *st) {
    if (arch) return strncmp(arch, "swin", 4) == 0;
    return swin__st_find(st, "layers.0.blocks.0.attn.relative_position_bias_table") != NULL;
}

/* ---- architecture resolution ---- */

/* Tensor "layers.{s}.blocks.{b}{suffix}", or NULL. */
static const swin_st_tensor *find_block(const swin_safetensors *st, int s, int b,
                                        const char *suffix) {
    char name[256];
    snprintf(name, sizeof name, "layers.%d.blocks.%d%s", s, b, suffix);
    return swin__st_find(st, name);
}

static swin_status resolve_int(const swin_options *o, const swin_safetensors *st, const char *key,
                               bool have, int64_t inferred, int64_t *out) {
    const char *v = swin__arch_value(o, st, presets, key);
    if (v) {
        if (!swin__parse_int(v, out) || *out < 1)
            return swin__error(SWIN_ERR_CONFIG, "%s: \"%.64s\" is not a positive integer", key, v);
        return SWIN_OK;
    }
    if (!have)
        return swin__error(SWIN_ERR_CONFIG, "%s: not given and cannot be inferred from the tensors",
                           key);
    *out = inferred;
    return SWIN_OK;
}

static swin_status resolve_list(const swin_options *o, const swin_safetensors *st, const char *key,
                                int have, const int64_t *inferred, int64_t *out, int *n) {
    const char *v = swin__arch_value(o, st, presets, key);
    if (v) {
        if (!swin__parse_int_list(v, out, SWIN_MAX_STAGES, n))
            return swin__error(SWIN_ERR_CONFIG, "%s: \"%.64s\" is not a list of 1..%d integers",
                               key, v, SWIN_MAX_STAGES);
        return SWIN_OK;
    }
    if (!have)
        return swin__error(SWIN_ERR_CONFIG, "%s: not given and cannot be inferred from the tensors",
                           key);
    memcpy(out, inferred, (size_t)have * sizeof *out);
    *n = have;
    return SWIN_OK;
}

static swin_status resolve_real(const swin_options *o, const swin_safetensors *st, const char *key,
                                double fallback, double *out) {
    const char *v = swin__arch_value(o, st, presets, key);
    if (!v) {
        *out = fallback;
        return SWIN_OK;
    }
    if (!swin__parse_double(v, out))
        return swin__error(SWIN_ERR_CONFIG, "%s: \"%.64s\" is not a positive number", key, v);
    return SWIN_OK;
}

static void list_str(char *buf, size_t cap, const int64_t *v, int n) {
    size_t k = 0;
    buf[0] = '\0';
    for (int i = 0; i < n && k < cap; i++)
        k += (size_t)snprintf(buf + k, cap - k, i ? ",%lld" : "%lld", (long long)v[i]);
}

static swin_status resolve(swin_model *m, const swin_options *o, impl *I) {
    const swin_safetensors *st = &m->st;
    const char *arch = swin__opt(o, "arch");
    if (!arch) arch = swin__st_meta(st, "arch");
    if (arch && strcmp(arch, "swin") != 0 && !swin__is_preset(presets, arch))
        return swin__error(SWIN_ERR_CONFIG, "unknown Swin preset \"%.64s\"", arch);

    /* What the tensors say. */
    const swin_st_tensor *pe = swin__st_find(st, "patch_embed.proj.weight");
    const bool have_pe = pe && pe->ndim == 4;
    int64_t depths_i[SWIN_MAX_STAGES], heads_i[SWIN_MAX_STAGES];
    int ns = 0, nh = 0;
    for (int s = 0; s < SWIN_MAX_STAGES; s++) {
        int64_t d = 0;
        while (d < 4096 && find_block(st, s, (int)d, ".norm1.weight"))
            d++;
        if (!d) break;
        depths_i[ns++] = d;
        const swin_st_tensor *t = find_block(st, s, 0, ".attn.relative_position_bias_table");
        if (nh == s && t && t->ndim == 2) heads_i[nh++] = t->shape[1];
    }
    if (nh != ns) nh = 0;
    int64_t window_i = 0;
    const swin_st_tensor *tab = find_block(st, 0, 0, ".attn.relative_position_bias_table");
    if (tab && tab->ndim == 2) {
        const int64_t side = (int64_t)llround(sqrt((double)tab->shape[0]));
        if (side * side == tab->shape[0] && side % 2 == 1) window_i = (side + 1) / 2;
    }
    const swin_st_tensor *head = swin__st_find(st, "head.fc.weight");
    I->official = false;
    if (!head && (head = swin__st_find(st, "head.weight"))) I->official = true;
    if (swin__st_find(st, "layers.0.downsample.reduction.weight")) I->official = true;
    const swin_st_tensor *fc1 = find_block(st, 0, 0, ".mlp.fc1.weight");

    SWIN_TRY(resolve_int(o, st, "embed_dim", have_pe, have_pe ? pe->shape[0] : 0, &I->embed_dim));
    SWIN_TRY(resolve_int(o, st, "in_chans", have_pe, have_pe ? pe->shape[1] : 0, &I->in_chans));
    SWIN_TRY(resolve_int(o, st, "patch_size", have_pe, have_pe ? pe->shape[2] : 0, &I->patch));
    SWIN_TRY(resolve_int(o, st, "window_size", window_i > 0, window_i, &I->window));
    SWIN_TRY(resolve_int(o, st, "img_size", true, I->window == 12 ? 384 : 224, &I->img_size));
    int64_t depths[SWIN_MAX_STAGES], heads[SWIN_MAX_STAGES];
    int nd, nhh;
    SWIN_TRY(resolve_list(o, st, "depths", ns, depths_i, depths, &nd));
    SWIN_TRY(resolve_list(o, st, "num_heads", nh, heads_i, heads, &nhh));
    if (nd != nhh)
        return swin__error(SWIN_ERR_CONFIG, "depths has %d stages but num_heads has %d", nd, nhh);
    const bool have_fc1 = fc1 && fc1->ndim == 2 && I->embed_dim > 0;
    SWIN_TRY(resolve_real(o, st, "mlp_ratio",
                          have_fc1 ? (double)fc1->shape[0] / (double)I->embed_dim : 4.0,
                          &I->mlp_ratio));
    SWIN_TRY(resolve_real(o, st, "norm_eps", 1e-5, &I->eps));
    const char *nc = swin__arch_value(o, st, presets, "num_classes");
    if (nc) {
        if (!swin__parse_int(nc, &I->num_classes))
            return swin__error(SWIN_ERR_CONFIG, "num_classes: \"%.64s\" is not an integer", nc);
    } else {
        I->num_classes = head && head->ndim == 2 ? head->shape[0] : 0;
    }

    /* Consistency. */
    if (I->img_size % I->patch != 0)
        return swin__error(SWIN_ERR_CONFIG, "img_size %lld is not a multiple of patch_size %lld",
                           (long long)I->img_size, (long long)I->patch);
    if (I->embed_dim > (1 << 16) || I->window > 4096 || I->patch > 4096 || I->in_chans > 4096 ||
        I->mlp_ratio > 64.0)
        return swin__error(SWIN_ERR_CONFIG, "architecture sizes are implausibly large");
    I->S = nd;
    int64_t res = I->img_size / I->patch;
    for (int s = 0; s < nd; s++) {
        stage *g = &I->st[s];
        if (depths[s] < 1 || depths[s] > 4096 || heads[s] < 1)
            return swin__error(SWIN_ERR_CONFIG, "stage %d: depth %lld and heads %lld must be >= 1",
                               s, (long long)depths[s], (long long)heads[s]);
        g->depth = depths[s];
        g->heads = heads[s];
        g->dim = I->embed_dim << s;
        g->hidden = (int64_t)((double)g->dim * I->mlp_ratio);
        if (g->dim % g->heads != 0 || g->hidden < 1)
            return swin__error(SWIN_ERR_CONFIG,
                               "stage %d: %lld channels do not split into %lld heads", s,
                               (long long)g->dim, (long long)g->heads);
        g->H = g->W = res >> s;
        if (g->H < 1)
            return swin__error(SWIN_ERR_CONFIG, "img_size %lld leaves stage %d without tokens",
                               (long long)I->img_size, s);
        swin__stage_window(g->H, g->W, I->window, &g->wh, &g->ww, &g->sh, &g->sw);
    }
    /* The file must not hold more than the architecture uses. */
    if (find_block(st, nd, 0, ".norm1.weight"))
        return swin__error(SWIN_ERR_SHAPE, "the file has a stage %d but depths lists %d stages", nd,
                           nd);
    for (int s = 0; s < nd; s++)
        if (find_block(st, s, (int)depths[s], ".norm1.weight"))
            return swin__error(SWIN_ERR_SHAPE, "stage %d of the file has more than %lld blocks", s,
                               (long long)depths[s]);

    char buf[SWIN_KV_VALUE];
    swin__config_set(m, "family", "swin");
    swin__config_set(m, "arch", "%s", arch ? arch : "swin");
    swin__config_set(m, "naming", I->official ? "official" : "timm");
    swin__config_set(m, "img_size", "%lld", (long long)I->img_size);
    swin__config_set(m, "patch_size", "%lld", (long long)I->patch);
    swin__config_set(m, "in_chans", "%lld", (long long)I->in_chans);
    swin__config_set(m, "embed_dim", "%lld", (long long)I->embed_dim);
    list_str(buf, sizeof buf, depths, nd);
    swin__config_set(m, "depths", "%s", buf);
    list_str(buf, sizeof buf, heads, nd);
    swin__config_set(m, "num_heads", "%s", buf);
    swin__config_set(m, "window_size", "%lld", (long long)I->window);
    swin__config_set(m, "mlp_ratio", "%g", I->mlp_ratio);
    swin__config_set(m, "num_classes", "%lld", (long long)I->num_classes);
    swin__config_set(m, "norm_eps", "%g", I->eps);
    return SWIN_OK;
}

/* ---- binding ---- */

/* The official release stores the relative position index and the shifted-window mask; they
 * must equal what we compute, or the file was made for another geometry. */
static swin_status check_buffers(const swin_safetensors *st, const impl *I, int s, int b) {
    const stage *g = &I->st[s];
    const int64_t N = g->wh * g->ww;
    char name[256];
    snprintf(name, sizeof name, "layers.%d.blocks.%d.attn.relative_position_index", s, b);
    const swin_st_tensor *t = swin__st_find(st, name);
    if (t) {
        if (t->dtype != SWIN_DT_I64)
            return swin__error(SWIN_ERR_DTYPE, "tensor \"%s\" has dtype %s; I64 expected", name,
                               swin__dtype_name(t->dtype));
        if (t->ndim != 2 || t->shape[0] != N || t->shape[1] != N)
            return swin__error(SWIN_ERR_BUFFER_MISMATCH,
                               "tensor \"%s\" is not [%lld, %lld] as a %lldx%lld window needs",
                               name, (long long)N, (long long)N, (long long)g->wh,
                               (long long)g->ww);
        for (int64_t k = 0; k < N * N; k++) {
            int64_t v;
            memcpy(&v, t->raw + 8 * k, sizeof v);
            const int64_t i = k / N, j = k % N;
            const int64_t want = (i / g->ww - j / g->ww + g->wh - 1) * (2 * g->ww - 1) +
                                 (i % g->ww - j % g->ww + g->ww - 1);
            if (v != want)
                return swin__error(SWIN_ERR_BUFFER_MISMATCH,
                                   "tensor \"%s\" element %lld is %lld; %lld expected", name,
                                   (long long)k, (long long)v, (long long)want);
        }
    }
    snprintf(name, sizeof name, "layers.%d.blocks.%d.attn_mask", s, b);
    t = swin__st_find(st, name);
    if (!t) return SWIN_OK;
    swin_geom geom;
    const bool odd = b % 2 == 1;
    swin__geom(&geom, g->H, g->W, g->wh, g->ww, odd ? g->sh : 0, odd ? g->sw : 0);
    if (!geom.sh && !geom.sw)
        return swin__error(SWIN_ERR_BUFFER_MISMATCH,
                           "tensor \"%s\" is a shift mask but block %d of stage %d is not shifted "
                           "at img_size %lld",
                           name, b, s, (long long)I->img_size);
    if (!t->f32)
        return swin__error(SWIN_ERR_DTYPE, "tensor \"%s\" has dtype %s; a float type expected",
                           name, swin__dtype_name(t->dtype));
    if (t->ndim != 3 || t->shape[0] != geom.nW || t->shape[1] != N || t->shape[2] != N)
        return swin__error(SWIN_ERR_BUFFER_MISMATCH,
                           "tensor \"%s\" is not [%lld, %lld, %lld] as img_size %lld needs", name,
                           (long long)geom.nW, (long long)N, (long long)N, (long long)I->img_size);
    const size_t n = (size_t)(geom.nW * N * N);
    float *mask = swin__aligned_alloc(n * sizeof(float));
    if (!mask) return swin__oom();
    swin__shift_mask(mask, geom.Hp, geom.Wp, geom.wh, geom.ww, geom.sh, geom.sw);
    swin_status status = SWIN_OK;
    for (size_t k = 0; k < n; k++)
        if (mask[k] != t->f32[k]) {
            status = swin__error(SWIN_ERR_BUFFER_MISMATCH,
                                 "tensor \"%s\" element %zu is %g; %g expected", name, k,
                                 (double)t->f32[k], (double)mask[k]);
            break;
        }
    swin__aligned_free(mask);
    return status;
}

static void unbind(swin_model *m) {
    impl *I = m->impl;
    for (int s = 0; s < I->S; s++)
        swin__free(I->st[s].blocks);
    swin__free(I);
    m->impl = NULL;
}

static int64_t count_params(const impl *I) {
    const int64_t D = I->embed_dim;
    int64_t n = D * I->in_chans * I->patch * I->patch + 3 * D; /* proj, bias, norm */
    for (int s = 0; s < I->S; s++) {
        const stage *g = &I->st[s];
        const int64_t C = g->dim, F = g->hidden;
        if (s > 0) n += 2 * (2 * C) + (2 * C) * C; /* norm(4C') + reduction, C' = C/2 */
        const int64_t per_block = 4 * C + 3 * C * C + 3 * C + C * C + C +
                                  (2 * g->wh - 1) * (2 * g->ww - 1) * g->heads + 2 * F * C + F + C;
        n += g->depth * per_block;
    }
    const int64_t C = I->st[I->S - 1].dim;
    return n + 2 * C + I->num_classes * (C + 1);
}

static swin_status bind(swin_model *m, const swin_options *o) {
    impl *I = swin__calloc(1, sizeof *I);
    if (!I) return swin__oom();
    m->impl = I;
    const swin_safetensors *st = &m->st;
    SWIN_TRY(resolve(m, o, I));
    const float eps = (float)I->eps;
    SWIN_TRY(swin__patch_embed_bind(&I->pe, st, "patch_embed", I->in_chans, I->embed_dim, I->patch,
                                    true, true, eps));
    char prefix[128];
    for (int s = 0; s < I->S; s++) {
        stage *g = &I->st[s];
        if (s > 0) {
            snprintf(prefix, sizeof prefix, "layers.%d.downsample", I->official ? s - 1 : s);
            SWIN_TRY(swin__patch_merging_bind(&g->merge, st, prefix, g->dim / 2, eps));
        }
        g->blocks = swin__calloc((size_t)g->depth, sizeof *g->blocks);
        if (!g->blocks) return swin__oom();
        for (int b = 0; b < g->depth; b++) {
            snprintf(prefix, sizeof prefix, "layers.%d.blocks.%d", s, b);
            SWIN_TRY(swin__block_bind(&g->blocks[b], st, prefix, g->dim, g->heads, g->wh, g->ww,
                                      g->hidden, eps));
            SWIN_TRY(check_buffers(st, I, s, b));
        }
    }
    const int64_t C = I->st[I->S - 1].dim, K = I->num_classes;
    SWIN_TRY(swin__norm_bind(&I->norm, st, "norm", C, eps));
    if (K > 0) {
        const char *hw = I->official ? "head.weight" : "head.fc.weight";
        const char *hb = I->official ? "head.bias" : "head.fc.bias";
        const int64_t shape[2] = {K, C};
        SWIN_TRY(swin__st_get_f32(st, hw, 2, shape, &I->head_w));
        SWIN_TRY(swin__st_get_f32(st, hb, 1, &K, &I->head_b));
    }
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
    out[0] = g->depth;
    out[1] = g->heads;
    out[2] = g->dim;
    out[3] = g->H;
    out[4] = g->W;
    out[5] = g->wh;
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
        const bool odd = b % 2 == 1;
        swin__geom(&geom, g->H, g->W, g->wh, g->ww, odd ? g->sh : 0, odd ? g->sw : 0);
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
    float *bias;       /* [depth, nH, N, N] relative position bias per block */
    float *mask;       /* [nW, N, N] for the shifted blocks, or NULL */
} plan_stage;

typedef struct plan {
    plan_stage st[SWIN_MAX_STAGES];
    float *scratch;
    float *features; /* [B, C] */
    float *logits;   /* [B, K] */
} plan;

/* T: the threads of the pool the plan runs on (each has its own attention scores). */
static void layout(swin_arena *bp, plan *P, const impl *I, int64_t B, int64_t H, int64_t W,
                   int64_t T) {
    size_t scratch = 0;
    const int64_t Cin = I->in_chans, p = I->patch;
    scratch = swin__arena_count(bp, B, H / p * Cin, W / p * p, p);
    for (int s = 0; s < I->S; s++) {
        const stage *g = &I->st[s];
        plan_stage *ps = &P->st[s];
        const int64_t N = g->wh * g->ww;
        ps->out = swin__arena_take(bp, swin__arena_count(bp, B, ps->H, ps->W, g->dim));
        ps->bias = swin__arena_take(bp, swin__arena_count(bp, g->depth, g->heads, N, N));
        const swin_geom *sg = &ps->geom[1];
        ps->mask = (g->depth > 1 && (sg->sh || sg->sw))
                       ? swin__arena_take(bp, swin__arena_count(bp, sg->nW, N, N, 1))
                       : NULL;
        for (int k = 0; k < 2; k++) {
            const swin_geom *q = &ps->geom[k];
            /* the block scratch, computed with checked sizes */
            const size_t tokens = swin__arena_count(bp, B, q->H, q->W, g->dim);
            const size_t padded = swin__arena_count(bp, B, q->Hp, q->Wp, g->dim);
            const size_t scores = swin__attention_scores_floats(N); /* -1: counted as overflow */
            const size_t attn =
                swin__arena_count(bp, B * q->nW, N, 4 * g->dim, 1) +
                swin__arena_count(bp, T, scores > (size_t)INT64_MAX ? -1 : (int64_t)scores, 1, 1);
            const size_t mlp = tokens + swin__arena_count(bp, B, q->H, q->W, g->hidden);
            const size_t need = 2 * padded + (attn > mlp ? attn : mlp);
            if (need > scratch) scratch = need;
        }
        if (s > 0) {
            const size_t merge = swin__arena_count(bp, B, (P->st[s - 1].H + 1) / 2,
                                                   (P->st[s - 1].W + 1) / 2, 4 * g->dim / 2);
            if (merge > scratch) scratch = merge;
        }
    }
    const int64_t C = I->st[I->S - 1].dim;
    P->features = swin__arena_take(bp, swin__arena_count(bp, B, C, 1, 1));
    P->logits = I->num_classes
                    ? swin__arena_take(bp, swin__arena_count(bp, B, I->num_classes, 1, 1))
                    : NULL;
    P->scratch = swin__arena_take(
        bp, scratch); /* also holds the final norm: B * H * W * C <= block scratch */
}

static swin_status plan_fn(swin_context *ctx, int64_t B, int64_t H, int64_t W) {
    const impl *I = ctx->model->impl;
    if (H % I->patch != 0 || W % I->patch != 0)
        return swin__error(SWIN_ERR_INPUT_SIZE,
                           "input %lldx%lld is not a multiple of the patch size %lld", (long long)H,
                           (long long)W, (long long)I->patch);
    plan *P = swin__calloc(1, sizeof *P);
    if (!P) return swin__oom();
    ctx->plan = P;
    int64_t h = H / I->patch, w = W / I->patch;
    for (int s = 0; s < I->S; s++) {
        const stage *g = &I->st[s];
        plan_stage *ps = &P->st[s];
        if (s > 0) {
            h = (h + 1) / 2;
            w = (w + 1) / 2;
        }
        ps->H = h;
        ps->W = w;
        swin__geom(&ps->geom[0], h, w, g->wh, g->ww, 0, 0);
        swin__geom(&ps->geom[1], h, w, g->wh, g->ww, g->sh, g->sw);
    }
    const int64_t T = swin__pool_size(ctx->pool);
    swin_arena count = {0};
    layout(&count, P, I, B, H, W, T);
    SWIN_TRY(swin__arena_alloc(ctx, &count, B, H, W));
    swin_arena real = {.base = ctx->arena};
    layout(&real, P, I, B, H, W, T);

    /* Per-size constants: the relative position bias of each block, the shift masks. */
    for (int s = 0; s < I->S; s++) {
        const stage *g = &I->st[s];
        plan_stage *ps = &P->st[s];
        const int64_t N = g->wh * g->ww;
        int32_t *index = swin__malloc((size_t)(N * N) * sizeof *index);
        if (!index) return swin__oom();
        swin__relative_position_index(index, g->wh, g->ww);
        for (int64_t b = 0; b < g->depth; b++)
            swin__attention_bias(ps->bias + b * g->heads * N * N, &g->blocks[b].attn, index);
        swin__free(index);
        if (ps->mask) {
            const swin_geom *q = &ps->geom[1];
            swin__shift_mask(ps->mask, q->Hp, q->Wp, q->wh, q->ww, q->sh, q->sw);
        }
        const int64_t shape[4] = {B, ps->H, ps->W, g->dim};
        swin__tensor_view(&ctx->stages[s], ps->out, 4, shape);
    }
    const int64_t fshape[2] = {B, I->st[I->S - 1].dim}, lshape[2] = {B, I->num_classes};
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
                                ps->bias + b * g->heads * N * N, odd ? ps->mask : NULL, P->scratch,
                                pool);
        }
    }
    /* final norm, mean over tokens, head */
    const plan_stage *last = &P->st[I->S - 1];
    const int64_t C = I->st[I->S - 1].dim, L = last->H * last->W;
    swin__layernorm(P->scratch, last->out, I->norm.weight, I->norm.bias, B * L, C, I->norm.eps,
                    pool);
    for (int64_t b = 0; b < B; b++)
        for (int64_t c = 0; c < C; c++) {
            double acc = 0.0;
            for (int64_t t = 0; t < L; t++)
                acc += P->scratch[(b * L + t) * C + c];
            P->features[b * C + c] = (float)(acc / (double)L);
        }
    if (P->logits)
        swin__linear(P->logits, P->features, I->head_w, I->head_b, B, C, I->num_classes, pool);
}

const swin_family swin__family_swin = {
    .name = "swin",
    .accepts = accepts,
    .bind = bind,
    .unbind = unbind,
    .stage_dims = stage_dims,
    .flops = flops,
    .plan = plan_fn,
    .forward = forward,
};
