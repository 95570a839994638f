/* Vision Transformers. Family "vit": timm's ViT and DeiT (pre-norm blocks, timm names). Family
 * "vit_postnorm": the tutorials' ViT built from nn.TransformerEncoder (post-norm layers, PyTorch
 * names). This file resolves the architecture, binds the weights, plans the memory, assembles
 * the tokens and pools; the layers compute.
 * Legend: B batch, p patch, Hg x Wg = H/p x W/p patch grid, L = Hg*Wg patch tokens, P prefix
 * tokens (1 with a class token, else 0), N = P + L tokens, T rows of pos_embed, D channels,
 * F MLP hidden width, K classes. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../layers/layers.h"
#include "../model.h"

/* clang-format off */
#define PRESET(name, embed, depth, heads, patch, img)                                              \
    {name, "embed_dim", embed}, {name, "depth", depth}, {name, "num_heads", heads},                \
    {name, "patch_size", patch}, {name, "img_size", img}, {name, "mlp_ratio", "4"},                \
    {name, "in_chans", "3"}, {name, "class_token", "1"}, {name, "global_pool", "token"}
/* clang-format on */

/* timm's values; DeiT has the dimensions of ViT tiny, small and base. */
static const swin_preset_kv presets[] = {
    PRESET("vit_tiny_patch16_224", "192", "12", "3", "16", "224"),
    PRESET("vit_small_patch16_224", "384", "12", "6", "16", "224"),
    PRESET("vit_base_patch16_224", "768", "12", "12", "16", "224"),
    PRESET("vit_large_patch16_224", "1024", "24", "16", "16", "224"),
    PRESET("vit_base_patch32_224", "768", "12", "12", "32", "224"),
    PRESET("vit_base_patch16_384", "768", "12", "12", "16", "384"),
    PRESET("deit_tiny_patch16_224", "192", "12", "3", "16", "224"),
    PRESET("deit_small_patch16_224", "384", "12", "6", "16", "224"),
    PRESET("deit_base_patch16_224", "768", "12", "12", "16", "224"),
    {NULL, NULL, NULL},
};
static const swin_preset_kv no_presets[] = {{NULL, NULL, NULL}};

typedef struct impl {
    bool post; /* vit_postnorm */
    int64_t img_size, patch, in_chans, dim, depth, heads, hidden, num_classes;
    int64_t prefix;   /* P */
    int64_t pos_rows; /* T */
    bool avg;         /* global_pool avg, else token */
    swin_activation act;
    double eps;
    swin_patch_embed pe;
    const float *cls; /* [D], or NULL */
    const float *pos; /* [T, D] */
    swin_vit_block *blocks;
    swin_norm norm;               /* on the tokens before pooling; weight NULL: none */
    swin_norm fc_norm;            /* on the pooled vector; weight NULL: none */
    const float *head_w, *head_b; /* [K, D], [K] */
} impl;

static bool accepts_vit(const char *arch, const swin_safetensors *st) {
    if (arch)
        return (strncmp(arch, "vit", 3) == 0 || strncmp(arch, "deit", 4) == 0) &&
               strcmp(arch, "vit_postnorm") != 0;
    return swin__st_find(st, "blocks.0.attn.qkv.weight") &&
           swin__st_find(st, "patch_embed.proj.weight");
}

static bool accepts_postnorm(const char *arch, const swin_safetensors *st) {
    if (arch) return strcmp(arch, "vit_postnorm") == 0;
    return swin__st_find(st, "encoder.layers.0.self_attn.in_proj_weight") != NULL;
}

/* ---- architecture resolution ---- */

static const char *block_prefix(char *buf, size_t cap, bool post, int64_t b) {
    snprintf(buf, cap, post ? "encoder.layers.%lld" : "blocks.%lld", (long long)b);
    return buf;
}

static bool has_block(const swin_safetensors *st, bool post, int64_t b) {
    char prefix[64], name[96];
    block_prefix(prefix, sizeof prefix, post, b);
    return swin__st_find(st, swin__name(name, sizeof name, prefix, ".norm1.weight")) != NULL;
}

typedef struct source {
    const swin_options *o;
    const swin_safetensors *st;
    const swin_preset_kv *presets;
} source;

static const char *value(const source *s, const char *key) {
    return swin__arch_value(s->o, s->st, s->presets, key);
}

static swin_status get_int(const source *s, const char *key, int64_t min, bool have,
                           int64_t inferred, int64_t *out) {
    const char *v = value(s, key);
    if (v) {
        if (!swin__parse_int(v, out) || *out < min)
            return swin__error(SWIN_ERR_CONFIG, "%s: \"%.64s\" is not an integer >= %lld", key, v,
                               (long long)min);
        return SWIN_OK;
    }
    if (!have)
        return swin__error(SWIN_ERR_CONFIG, "%s: not given and cannot be inferred from the tensors",
                           key);
    *out = inferred;
    return SWIN_OK;
}

/* *out = index of the value in the NULL-terminated words (two of them), fallback when unset. */
static swin_status get_word(const source *s, const char *key, const char *const *words,
                            int fallback, int *out) {
    const char *v = value(s, key);
    if (!v) {
        *out = fallback;
        return SWIN_OK;
    }
    for (int i = 0; words[i]; i++)
        if (strcmp(v, words[i]) == 0) {
            *out = i;
            return SWIN_OK;
        }
    return swin__error(SWIN_ERR_CONFIG, "%s: \"%.64s\" is not %s or %s", key, v, words[0],
                       words[1]);
}

static swin_status resolve(swin_model *m, const swin_options *o, impl *I) {
    const swin_safetensors *st = &m->st;
    const bool post = I->post;
    const source src = {o, st, post ? no_presets : presets};
    const char *arch = swin__opt(o, "arch");
    if (!arch) arch = swin__st_meta(st, "arch");
    if (!post && arch && strcmp(arch, "vit") != 0 && !swin__is_preset(presets, arch))
        return swin__error(SWIN_ERR_CONFIG, "unknown ViT preset \"%.64s\"", arch);
    /* timm variants this file does not compute: refuse them rather than ignore their tensors */
    static const char *const unsupported[] = {"reg_token", "dist_token", "norm_pre.weight",
                                              "blocks.0.ls1.gamma", "blocks.0.attn.q_norm.weight"};
    for (size_t i = 0; !post && i < sizeof unsupported / sizeof unsupported[0]; i++)
        if (swin__st_find(st, unsupported[i]))
            return swin__error(SWIN_ERR_CONFIG,
                               "tensor \"%s\": this ViT variant (register or distillation "
                               "tokens, norm_pre, layer scale, qk-norm) is not supported",
                               unsupported[i]);

    /* What the tensors say. */
    const swin_st_tensor *pe = swin__st_find(st, "patch_embed.proj.weight");
    const bool have_pe = pe && pe->ndim == 4;
    int64_t depth_i = 0;
    while (depth_i < 4096 && has_block(st, post, depth_i))
        depth_i++;
    const swin_st_tensor *fc1 =
        swin__st_find(st, post ? "encoder.layers.0.linear1.weight" : "blocks.0.mlp.fc1.weight");
    const swin_st_tensor *head = swin__st_find(st, "head.weight");

    SWIN_TRY(get_int(&src, "embed_dim", 1, have_pe, have_pe ? pe->shape[0] : 0, &I->dim));
    SWIN_TRY(get_int(&src, "in_chans", 1, have_pe, have_pe ? pe->shape[1] : 0, &I->in_chans));
    SWIN_TRY(get_int(&src, "patch_size", 1, have_pe, have_pe ? pe->shape[2] : 0, &I->patch));
    SWIN_TRY(get_int(&src, "depth", 1, depth_i > 0, depth_i, &I->depth));
    const char *v = value(&src, "num_heads");
    if (!v)
        return swin__error(SWIN_ERR_CONFIG,
                           "num_heads: not given, and the weights cannot tell it: set num_heads "
                           "(one integer) in the file's metadata or as an option");
    int64_t heads[SWIN_MAX_STAGES];
    int nh = 0;
    if (!swin__parse_int_list(v, heads, SWIN_MAX_STAGES, &nh) || nh != 1 || heads[0] < 1)
        return swin__error(SWIN_ERR_CONFIG, "num_heads: \"%.64s\" is not one positive integer", v);
    I->heads = heads[0];
    SWIN_TRY(
        get_int(&src, "class_token", 0, true, swin__st_find(st, "cls_token") != NULL, &I->prefix));
    if (I->prefix > 1)
        return swin__error(SWIN_ERR_CONFIG, "class_token: %lld is not 0 or 1",
                           (long long)I->prefix);
    static const char *const pools[] = {"token", "avg", NULL};
    static const char *const acts[] = {"gelu", "relu", NULL};
    /* timm's avg pooling comes with fc_norm; without a class token only avg is possible */
    const bool avg_i = post ? !I->prefix : (!I->prefix || swin__st_find(st, "fc_norm.weight"));
    int pool = 0, act = 0;
    SWIN_TRY(get_word(&src, "global_pool", pools, avg_i, &pool));
    SWIN_TRY(get_word(&src, "activation", acts, post, &act));
    I->avg = pool == 1;
    I->act = act == 1 ? SWIN_ACT_RELU : SWIN_ACT_GELU;
    if (!I->avg && !I->prefix)
        return swin__error(SWIN_ERR_CONFIG, "global_pool token needs a class token, and "
                                            "class_token is 0");
    /* mlp_hidden_dim, else mlp_ratio * D, else fc1's rows, else the reference's default */
    double ratio;
    if ((v = value(&src, "mlp_hidden_dim"))) {
        SWIN_TRY(get_int(&src, "mlp_hidden_dim", 1, false, 0, &I->hidden));
    } else if ((v = value(&src, "mlp_ratio"))) {
        if (!swin__parse_double(v, &ratio))
            return swin__error(SWIN_ERR_CONFIG, "mlp_ratio: \"%.64s\" is not a positive number", v);
        const double hidden = (double)I->dim * ratio; /* bounded before the cast (UB) */
        I->hidden = hidden < (double)(1 << 25) ? (int64_t)hidden : (int64_t)1 << 25;
    } else {
        I->hidden = fc1 && fc1->ndim == 2 ? fc1->shape[0] : post ? 2048 : 4 * I->dim;
    }
    I->eps = post ? 1e-5 : 1e-6;
    if ((v = value(&src, "norm_eps")) && !swin__parse_double(v, &I->eps))
        return swin__error(SWIN_ERR_CONFIG, "norm_eps: \"%.64s\" is not a positive number", v);
    SWIN_TRY(get_int(&src, "num_classes", 0, true, head && head->ndim == 2 ? head->shape[0] : 0,
                     &I->num_classes));
    if (I->dim > (1 << 20) || I->depth > 4096 || I->patch > 4096 || I->in_chans > 4096 ||
        I->hidden > (1 << 24) || I->hidden < 1 || I->num_classes > (1 << 24))
        return swin__error(SWIN_ERR_CONFIG, "architecture sizes are implausibly large");

    /* The position table fixes the token count: img_size from it, or checked against it (after
     * the patch embedding, whose mismatch is the more telling one). */
    const int64_t D = I->dim, P = I->prefix;
    const int64_t pe_shape[4] = {D, I->in_chans, I->patch, I->patch};
    const float *unused;
    SWIN_TRY(swin__st_get_f32(st, "patch_embed.proj.weight", 4, pe_shape, &unused));
    const int64_t shape3[3] = {1, -1, D}, shape2[2] = {-1, D};
    SWIN_TRY(swin__st_get_f32(st, "pos_embed", post ? 2 : 3, post ? shape2 : shape3, &I->pos));
    I->pos_rows = swin__st_find(st, "pos_embed")->shape[post ? 0 : 1];
    const int64_t cells = I->pos_rows - P;
    int64_t g = cells > 0 ? (int64_t)sqrt((double)cells) : 0;
    while (g > 0 && g * g > cells)
        g--;
    while ((g + 1) * (g + 1) <= cells)
        g++;
    const char *what = P ? "a class token and " : "";
    if ((v = value(&src, "img_size"))) {
        SWIN_TRY(get_int(&src, "img_size", 1, false, 0, &I->img_size));
    } else {
        if (g < 1 || (!post && g * g != cells))
            return swin__error(SWIN_ERR_SHAPE,
                               "pos_embed holds %lld tokens, which is not %sa square grid of "
                               "patches: set img_size",
                               (long long)I->pos_rows, what);
        I->img_size = g * I->patch;
    }
    if (I->img_size > (1 << 20) || I->img_size % I->patch != 0)
        return swin__error(SWIN_ERR_CONFIG, "img_size %lld is not a multiple of patch_size %lld",
                           (long long)I->img_size, (long long)I->patch);
    const int64_t grid = I->img_size / I->patch, need = P + grid * grid;
    if (post ? need > I->pos_rows : need != I->pos_rows)
        return swin__error(SWIN_ERR_SHAPE,
                           "pos_embed holds %lld tokens, but img_size %lld with patch %lld needs "
                           "%s%lld (%lldx%lld patches%s); interpolating the position embedding "
                           "is not supported",
                           (long long)I->pos_rows, (long long)I->img_size, (long long)I->patch,
                           post ? "at least " : "", (long long)need, (long long)grid,
                           (long long)grid, P ? " and a class token" : "");
    if (has_block(st, post, I->depth))
        return swin__error(SWIN_ERR_SHAPE, "the file has more blocks than depth %lld",
                           (long long)I->depth);

    swin__config_set(m, "family", post ? "vit_postnorm" : "vit");
    swin__config_set(m, "arch", "%s", arch ? arch : post ? "vit_postnorm" : "vit");
    swin__config_set(m, "naming", post ? "pytorch" : "timm");
    swin__config_set(m, "img_size", "%lld", (long long)I->img_size);
    swin__config_set(m, "patch_size", "%lld", (long long)I->patch);
    swin__config_set(m, "in_chans", "%lld", (long long)I->in_chans);
    swin__config_set(m, "embed_dim", "%lld", (long long)D);
    swin__config_set(m, "depth", "%lld", (long long)I->depth);
    swin__config_set(m, "num_heads", "%lld", (long long)I->heads);
    swin__config_set(m, "mlp_ratio", "%g", (double)I->hidden / (double)D);
    swin__config_set(m, "mlp_hidden_dim", "%lld", (long long)I->hidden);
    swin__config_set(m, "activation", "%s", acts[act]);
    swin__config_set(m, "class_token", "%lld", (long long)P);
    swin__config_set(m, "global_pool", "%s", pools[pool]);
    swin__config_set(m, "num_classes", "%lld", (long long)I->num_classes);
    swin__config_set(m, "norm_eps", "%g", I->eps);
    return SWIN_OK;
}

/* ---- binding ---- */

static void unbind(swin_model *m) {
    impl *I = m->impl;
    swin__free(I->blocks);
    swin__free(I);
    m->impl = NULL;
}

static int64_t count_params(const impl *I) {
    const int64_t D = I->dim, F = I->hidden;
    int64_t n = D * I->in_chans * I->patch * I->patch + (I->pe.proj_b ? D : 0);
    n += (I->cls ? D : 0) + I->pos_rows * D;
    n += I->depth * (4 * D + 3 * D * D + 3 * D + D * D + D + 2 * F * D + F + D);
    n += (I->norm.weight ? 2 * D : 0) + (I->fc_norm.weight ? 2 * D : 0);
    return n + I->num_classes * (D + 1);
}

static swin_status bind(swin_model *m, const swin_options *o, bool post) {
    impl *I = swin__calloc(1, sizeof *I);
    if (!I) return swin__oom();
    m->impl = I;
    I->post = post;
    const swin_safetensors *st = &m->st;
    SWIN_TRY(resolve(m, o, I));
    const int64_t D = I->dim, K = I->num_classes;
    const float eps = (float)I->eps;
    /* timm's patch embedding has a bias; the tutorial's convolution may or may not */
    const bool pe_bias = !post || swin__st_find(st, "patch_embed.proj.bias");
    SWIN_TRY(swin__patch_embed_bind(&I->pe, st, "patch_embed", I->in_chans, D, I->patch, pe_bias,
                                    false, eps));
    if (I->prefix) {
        const int64_t shape[3] = {1, 1, D};
        SWIN_TRY(swin__st_get_f32(st, "cls_token", 3, shape, &I->cls));
    }
    I->blocks = swin__calloc((size_t)I->depth, sizeof *I->blocks);
    if (!I->blocks) return swin__oom();
    char prefix[64];
    for (int64_t b = 0; b < I->depth; b++) {
        block_prefix(prefix, sizeof prefix, post, b);
        SWIN_TRY(post ? swin__vit_postnorm_block_bind(&I->blocks[b], st, prefix, D, I->heads,
                                                      I->hidden, eps, I->act)
                      : swin__vit_block_bind(&I->blocks[b], st, prefix, D, I->heads, I->hidden, eps,
                                             I->act));
    }
    if (post) {
        /* nn.TransformerEncoder(..., norm=LayerNorm) */
        if (swin__st_find(st, "encoder.norm.weight"))
            SWIN_TRY(swin__norm_bind(&I->norm, st, "encoder.norm", D, eps));
    } else if (!I->avg) {
        SWIN_TRY(swin__norm_bind(&I->norm, st, "norm", D, eps));
    } else if (swin__st_find(st, "fc_norm.weight") || !swin__st_find(st, "norm.weight")) {
        SWIN_TRY(swin__norm_bind(&I->fc_norm, st, "fc_norm", D, eps));
    } else {
        /* timm's avg pooling with fc_norm=False: the final norm comes before pooling */
        SWIN_TRY(swin__norm_bind(&I->norm, st, "norm", D, eps));
    }
    if (K > 0) {
        const int64_t shape[2] = {K, D};
        SWIN_TRY(swin__st_get_f32(st, "head.weight", 2, shape, &I->head_w));
        SWIN_TRY(swin__st_get_f32(st, "head.bias", 1, &K, &I->head_b));
    }
    m->num_classes = K;
    m->in_chans = I->in_chans;
    m->num_stages = 1;
    m->num_params = count_params(I);
    return SWIN_OK;
}

static swin_status bind_vit(swin_model *m, const swin_options *o) {
    return bind(m, o, false);
}

static swin_status bind_postnorm(swin_model *m, const swin_options *o) {
    return bind(m, o, true);
}

/* ---- facts ---- */

static swin_status stage_dims(const swin_model *m, int s, int64_t out[6]) {
    (void)s;
    const impl *I = m->impl;
    out[0] = I->depth;
    out[1] = I->heads;
    out[2] = I->dim;
    out[3] = out[4] = I->img_size / I->patch;
    out[5] = 0; /* no windows: global attention */
    return SWIN_OK;
}

/* Multiply-accumulates at img_size; attention is global, so both counts are the same. */
static swin_status flops(const swin_model *m, int stage_index, double *f, double *fg) {
    const impl *I = m->impl;
    const double grid = (double)(I->img_size / I->patch), L = grid * grid;
    const double N = L + (double)I->prefix, C = (double)I->dim, F = (double)I->hidden;
    double total = (double)I->depth * (4.0 * N * C * C + 2.0 * N * N * C + 2.0 * N * C * F);
    if (stage_index < 0)
        total += L * C * (double)(I->in_chans * I->patch * I->patch) + C * (double)I->num_classes;
    *f = *fg = total;
    return SWIN_OK;
}

/* ---- memory plan ---- */

typedef struct plan {
    int64_t L, N;
    float *x;        /* [B, N, D]: the residual stream */
    float *stage;    /* [B, L, D]: the patch embedding, then the last block's patch tokens */
    float *features; /* [B, D] */
    float *logits;   /* [B, K] */
    float *scratch;
} plan;

/* threads: the threads of the pool the plan runs on (each has its own attention scores). */
static void layout(swin_arena *bp, plan *P, const impl *I, int64_t B, int threads) {
    const int64_t D = I->dim;
    P->x = swin__arena_take(bp, swin__arena_count(bp, B, P->N, D, 1));
    P->stage = swin__arena_take(bp, swin__arena_count(bp, B, P->L, D, 1));
    P->features = swin__arena_take(bp, swin__arena_count(bp, B, D, 1, 1));
    P->logits = I->num_classes
                    ? swin__arena_take(bp, swin__arena_count(bp, B, I->num_classes, 1, 1))
                    : NULL;
    size_t scratch =
        swin__arena_count(bp, B, P->L, I->in_chans * I->patch * I->patch, 1); /* im2col */
    const size_t block = swin__vit_block_scratch(&I->blocks[0], B, P->N, threads);
    if (block == SIZE_MAX) bp->overflow = true;
    if (block > scratch) scratch = block; /* also holds the final norm of all tokens */
    P->scratch = swin__arena_take(bp, scratch);
}

static swin_status plan_fn(swin_context *ctx, int64_t B, int64_t H, int64_t W) {
    const impl *I = ctx->model->impl;
    const int64_t p = I->patch, D = I->dim;
    if (H % p != 0 || W % p != 0)
        return swin__error(SWIN_ERR_INPUT_SIZE,
                           "input %lldx%lld is not a multiple of the patch size %lld", (long long)H,
                           (long long)W, (long long)p);
    const int64_t Hg = H / p, Wg = W / p, L = Hg * Wg, N = L + I->prefix;
    if (I->post ? N > I->pos_rows : N != I->pos_rows)
        return swin__error(SWIN_ERR_INPUT_SIZE,
                           "input %lldx%lld makes %lld tokens (%lldx%lld patches%s), but pos_embed "
                           "holds %s%lld (img_size %lld); interpolating the position embedding "
                           "is not supported",
                           (long long)H, (long long)W, (long long)N, (long long)Hg, (long long)Wg,
                           I->prefix ? " and a class token" : "", I->post ? "only " : "",
                           (long long)I->pos_rows, (long long)I->img_size);
    plan *P = swin__calloc(1, sizeof *P);
    if (!P) return swin__oom();
    ctx->plan = P;
    P->L = L;
    P->N = N;
    const int threads = swin__pool_size(ctx->pool);
    swin_arena count = {0};
    layout(&count, P, I, B, threads);
    SWIN_TRY(swin__arena_alloc(ctx, &count, B, H, W));
    swin_arena real = {.base = ctx->arena};
    layout(&real, P, I, B, threads);
    const int64_t sshape[4] = {B, Hg, Wg, D}, fshape[2] = {B, D}, lshape[2] = {B, I->num_classes};
    swin__tensor_view(&ctx->stages[0], P->stage, 4, sshape);
    swin__tensor_view(&ctx->features, P->features, 2, fshape);
    if (P->logits) swin__tensor_view(&ctx->logits, P->logits, 2, lshape);
    return SWIN_OK;
}

/* ---- forward ---- */

static void forward(swin_context *ctx, const float *input) {
    const impl *I = ctx->model->impl;
    const plan *P = ctx->plan;
    const int64_t B = ctx->B, D = I->dim, L = P->L, N = P->N, Pf = I->prefix;
    const size_t row = (size_t)D * sizeof(float);
    swin_pool *pool = ctx->pool;
    /* tokens: [class token; patches] + the first N rows of the position table */
    swin__patch_embed_forward(P->stage, input, &I->pe, B, ctx->H, ctx->W, P->scratch, pool);
    for (int64_t b = 0; b < B; b++) {
        float *xb = P->x + b * N * D;
        if (I->cls) memcpy(xb, I->cls, row);
        memcpy(xb + Pf * D, P->stage + b * L * D, (size_t)L * row);
        swin__add_inplace(xb, I->pos, N * D);
    }
    for (int64_t k = 0; k < I->depth; k++)
        swin__vit_block_forward(P->x, &I->blocks[k], B, N, P->scratch, pool);
    for (int64_t b = 0; b < B; b++)
        memcpy(P->stage + b * L * D, P->x + (b * N + Pf) * D, (size_t)L * row);

    if (!I->avg) { /* the class token, after the final norm */
        for (int64_t b = 0; b < B; b++) {
            const float *cls = P->x + b * N * D;
            if (I->norm.weight)
                swin__layernorm(P->features + b * D, cls, I->norm.weight, I->norm.bias, 1, D,
                                I->norm.eps, pool);
            else
                memcpy(P->features + b * D, cls, row);
        }
    } else { /* mean of the patch tokens, then fc_norm */
        const float *tok = P->x;
        if (I->norm.weight) {
            swin__layernorm(P->scratch, P->x, I->norm.weight, I->norm.bias, B * N, D, I->norm.eps,
                            pool);
            tok = P->scratch;
        }
        for (int64_t b = 0; b < B; b++)
            for (int64_t c = 0; c < D; c++) {
                double acc = 0.0;
                for (int64_t t = Pf; t < N; t++)
                    acc += tok[(b * N + t) * D + c];
                P->features[b * D + c] = (float)(acc / (double)L);
            }
        if (I->fc_norm.weight)
            swin__layernorm(P->features, P->features, I->fc_norm.weight, I->fc_norm.bias, B, D,
                            I->fc_norm.eps, pool);
    }
    if (P->logits)
        swin__linear(P->logits, P->features, I->head_w, I->head_b, B, D, I->num_classes, pool);
}

const swin_family swin__family_vit = {
    .name = "vit",
    .accepts = accepts_vit,
    .bind = bind_vit,
    .unbind = unbind,
    .stage_dims = stage_dims,
    .flops = flops,
    .plan = plan_fn,
    .forward = forward,
};

const swin_family swin__family_vit_postnorm = {
    .name = "vit_postnorm",
    .accepts = accepts_postnorm,
    .bind = bind_postnorm,
    .unbind = unbind,
    .stage_dims = stage_dims,
    .flops = flops,
    .plan = plan_fn,
    .forward = forward,
};
