/* Vision Transformers. Family "vit": timm's VisionTransformer and VisionTransformerDistilled
 * (DeiT with its distillation token), and transformers' ViT and DeiT; pre-norm blocks. Family
 * "vit_postnorm": the tutorials' ViT built from nn.TransformerEncoder (post-norm layers). This
 * file resolves the architecture, binds the weights (canonical names only), plans the memory,
 * assembles the tokens and pools; the layers compute.
 * Legend: B batch, p patch, Hg x Wg = H/p x W/p patch grid, L = Hg*Wg patch tokens, P prefix
 * tokens (class and distillation tokens), N = P + L tokens, T rows of pos_embed, D channels,
 * F MLP hidden width, K classes. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../layers/layers.h"
#include "../model.h"

static const char *const vit_classes[] = {"VisionTransformer", "VisionTransformerDistilled", NULL};
static const char *const vit_model_types[] = {"vit", "deit", NULL};

#define COMMON_KEYS                                                                                \
    {"img_size", SWIN_K_LIST, "input size the position table is made for", NULL, NULL},            \
        {"patch_size", SWIN_K_INT, "patch embedding stride and kernel", NULL, NULL},               \
        {"in_chans", SWIN_K_INT, "input channels", NULL, NULL},                                    \
        {"embed_dim", SWIN_K_INT, "token channels", NULL, NULL},                                   \
        {"depth", SWIN_K_INT, "encoder blocks", NULL, NULL},                                       \
        {"num_heads", SWIN_K_LIST, "attention heads (one integer)", NULL, NULL},                   \
        {"mlp_ratio", SWIN_K_REAL, "MLP hidden width over channels", NULL, NULL},                  \
        {"mlp_hidden_dim", SWIN_K_INT, "MLP hidden width", NULL, NULL},                            \
        {"num_classes", SWIN_K_INT, "classifier outputs; 0 for a backbone", NULL, NULL},           \
        {"norm_eps", SWIN_K_REAL, "LayerNorm epsilon", NULL, NULL},                                \
        {"class_token", SWIN_K_BOOL, "whether a class token starts the sequence", NULL, NULL}, {   \
        "qkv_bias", SWIN_K_BOOL, "whether qkv has a bias", NULL, NULL                              \
    }

/* libswin's keys, and timm's VisionTransformer arguments (the table generated from timm holds
 * each vit_* / deit* architecture's values of the latter). */
static const swin_key vit_keys[] = {
    COMMON_KEYS,
    {"global_pool", SWIN_K_STR, "what the head reads: token (class token) or avg (patch mean)",
     "token|avg", "attention pooling or another pooling than token and avg"},
    {"activation", SWIN_K_STR, "MLP activation: gelu (exact erf) or relu", "gelu|relu",
     "an MLP activation other than exact GELU or ReLU"},
    {"dist_token", SWIN_K_BOOL, "a distillation token after the class token (DeiT)", NULL, NULL},
    /* timm's other VisionTransformer arguments */
    {"init_values", SWIN_K_STR, "timm: layer scale", "none", "layer scale"},
    {"reg_tokens", SWIN_K_STR, "timm: register tokens", "0", "register tokens"},
    {"no_embed_class", SWIN_K_BOOL, "timm: position table without the prefix tokens",
     "0|false|False", "a position table without the prefix tokens"},
    {"pre_norm", SWIN_K_BOOL, "timm: a norm before the blocks", "0|false|False",
     "a norm before the blocks"},
    {"final_norm", SWIN_K_BOOL, "timm: the final norm", "1|true|True", "no final norm"},
    {"fc_norm", SWIN_K_STR, "timm: norm after pooling (none: with avg pooling)", NULL, NULL},
    {"qk_norm", SWIN_K_BOOL, "timm: qk-norm", "0|false|False", "qk-norm"},
    {"proj_bias", SWIN_K_BOOL, "timm: bias of the projections", "1|true|True",
     "projections without bias"},
    {"dynamic_img_size", SWIN_K_BOOL, "timm: any input size", "0|false|False",
     "position table resampling"},
    {"dynamic_img_pad", SWIN_K_BOOL, "timm: pad inputs to the patch", "0|false|False",
     "input padding to the patch size"},
    {"pos_embed", SWIN_K_STR, "timm: position embedding kind", "learn",
     "a position embedding other than a learned table"},
    {"embed_layer", SWIN_K_STR, "timm: patch embedding", "PatchEmbed", "another patch embedding"},
    {"embed_norm_layer", SWIN_K_STR, "timm: norm in the patch embedding", "none",
     "a norm in the patch embedding"},
    {"norm_layer", SWIN_K_STR, "timm: LayerNorm, optionally with eps", NULL, NULL},
    {"act_layer", SWIN_K_STR, "timm: MLP activation", "none|GELU|gelu",
     "an MLP activation other than exact GELU"},
    {"block_fn", SWIN_K_STR, "timm: encoder block", "Block", "another block"},
    {"mlp_layer", SWIN_K_STR, "timm: MLP", "Mlp", "another MLP"},
    {"attn_layer", SWIN_K_STR, "timm: attention", "Attention", "another attention"},
    {"scale_attn_norm", SWIN_K_BOOL, "timm: a norm inside attention", "0|false|False",
     "a norm inside attention"},
    {"scale_mlp_norm", SWIN_K_BOOL, "timm: a norm inside the MLP", "0|false|False",
     "a norm inside the MLP"},
    {"pool_include_prefix", SWIN_K_BOOL, "timm: prefix tokens in the average", "0|false|False",
     "prefix tokens in the average"},
    {"pooler", SWIN_K_BOOL, "transformers: ViTModel's pooler (dense + tanh on the class token)",
     NULL, NULL},
    {NULL, 0, NULL, NULL, NULL},
};

static const swin_key postnorm_keys[] = {
    COMMON_KEYS,
    {"activation", SWIN_K_STR, "MLP activation: relu (default) or gelu", "gelu|relu",
     "an MLP activation other than exact GELU or ReLU"},
    {NULL, 0, NULL, NULL, NULL},
};

/* transformers' ViTConfig / DeiTConfig keys. */
static const swin_hf_key vit_hf_keys[] = {
    {"hidden_size", "embed_dim"},
    {"num_hidden_layers", "depth"},
    {"num_attention_heads", "num_heads"},
    {"intermediate_size", "mlp_hidden_dim"},
    {"hidden_act", "activation"},
    {"layer_norm_eps", "norm_eps"},
    {"image_size", "img_size"},
    {"patch_size", "patch_size"},
    {"num_channels", "in_chans"},
    {"qkv_bias", "qkv_bias"},
    {NULL, NULL},
};

typedef struct impl {
    bool post; /* vit_postnorm */
    int64_t img_size, patch, in_chans, dim, depth, heads, hidden, num_classes;
    int64_t prefix;   /* P: class token + distillation token */
    int64_t pos_rows; /* T */
    bool avg;         /* global_pool avg, else token */
    bool use_fc_norm; /* the final norm after pooling (fc_norm), else before it (norm) */
    bool qkv_bias;
    swin_activation act;
    double eps;
    swin_patch_embed pe;
    const float *cls;  /* [D], or NULL */
    const float *dist; /* [D], or NULL */
    const float *pos;  /* [T, D] */
    swin_vit_block *blocks;
    swin_norm norm;                         /* on the tokens before pooling; weight NULL: none */
    swin_norm fc_norm;                      /* on the pooled vector; weight NULL: none */
    const float *head_w, *head_b;           /* [K, D], [K] */
    const float *head_dist_w, *head_dist_b; /* [K, D], [K]: the distillation head, or NULL */
    const float *pooler_w, *pooler_b;       /* [D, D], [D]: transformers' pooler, or NULL */
} impl;

static bool detect_vit(const swin_weights *w) {
    return swin__w_find(w, "blocks.0.attn.qkv.weight") &&
           swin__w_find(w, "patch_embed.proj.weight");
}

/* ---- architecture resolution ---- */

static bool has_block(const swin_weights *w, int64_t b) {
    return swin__w_findf(w, "blocks.%lld.norm1.weight", (long long)b) != NULL;
}

static swin_status resolve(swin_model *m, const swin_source *src, impl *I) {
    swin_weights *w = &m->w;
    const bool post = I->post;

    /* What the tensors say. */
    const swin_weight *pe = swin__w_find(w, "patch_embed.proj.weight");
    const bool have_pe = pe && pe->ndim == 4;
    int64_t depth_i = 0;
    while (depth_i < 4096 && has_block(w, depth_i))
        depth_i++;
    const swin_weight *fc1 = swin__w_find(w, "blocks.0.mlp.fc1.weight");
    const swin_weight *head = swin__w_find(w, "head.weight");

    SWIN_TRY(swin__src_int(src, "embed_dim", 1, have_pe, have_pe ? pe->shape[0] : 0, pe, "channels",
                           &I->dim));
    SWIN_TRY(swin__src_int(src, "in_chans", 1, have_pe, have_pe ? pe->shape[1] : 0, pe,
                           "input channels", &I->in_chans));
    SWIN_TRY(swin__src_int(src, "patch_size", 1, have_pe, have_pe ? pe->shape[2] : 0, pe,
                           "a patch side of", &I->patch));
    const char *origin;
    if (swin__src_value(src, "depth", &origin)) {
        SWIN_TRY(swin__src_int(src, "depth", 1, false, 0, NULL, NULL, &I->depth));
        if (depth_i && depth_i != I->depth)
            return swin__error(SWIN_ERR_SHAPE,
                               "depth %lld (from %s) disagrees with the file, which has %lld "
                               "blocks",
                               (long long)I->depth, origin, (long long)depth_i);
    } else {
        SWIN_TRY(swin__src_int(src, "depth", 1, depth_i > 0, depth_i, NULL, NULL, &I->depth));
    }
    const char *v = swin__src_value(src, "num_heads", &origin);
    if (!v)
        return swin__error(SWIN_ERR_CONFIG,
                           "num_heads: not given, and the weights cannot tell it: set num_heads "
                           "(one integer) in the file's metadata or as an option");
    int64_t heads[SWIN_MAX_STAGES];
    int nh = 0;
    if (!swin__parse_int_list(v, heads, SWIN_MAX_STAGES, &nh) || nh != 1 || heads[0] < 1)
        return swin__error(SWIN_ERR_CONFIG, "num_heads: \"%.64s\" (%s) is not one positive integer",
                           v, origin);
    I->heads = heads[0];
    bool cls, dist;
    SWIN_TRY(swin__src_bool(src, "class_token", swin__w_find(w, "cls_token") != NULL, &cls));
    SWIN_TRY(swin__src_bool(
        src, "dist_token",
        (src->arch && strcmp(src->arch->timm_class, "VisionTransformerDistilled") == 0) ||
            swin__w_find(w, "dist_token") != NULL,
        &dist));
    if (post && dist) return swin__error(SWIN_ERR_CONFIG, "vit_postnorm has no distillation token");
    if (dist && !cls)
        return swin__error(SWIN_ERR_CONFIG, "a distillation token needs a class token");
    I->prefix = (cls ? 1 : 0) + (dist ? 1 : 0);
    /* timm's avg pooling comes with fc_norm; without a class token only avg is possible */
    bool avg = post ? !cls : (!cls || swin__w_find(w, "fc_norm.weight"));
    if ((v = swin__src_value(src, "global_pool", &origin))) {
        if (strcmp(v, "token") != 0 && strcmp(v, "avg") != 0)
            return swin__error(SWIN_ERR_UNSUPPORTED,
                               "global_pool \"%.64s\" (%s) is not supported "
                               "yet (token and avg are)",
                               v, origin);
        avg = strcmp(v, "avg") == 0;
    }
    I->avg = avg;
    if (!I->avg && !cls)
        return swin__error(SWIN_ERR_CONFIG, "global_pool token needs a class token, and "
                                            "class_token is 0");
    if (dist && I->avg)
        return swin__error(SWIN_ERR_UNSUPPORTED,
                           "a distillation token with global_pool avg is not supported");
    /* timm: fc_norm None means "with avg pooling"; without timm's word, the tensors tell */
    if ((v = swin__src_value(src, "fc_norm", &origin)) && strcmp(v, "none") != 0) {
        if (!swin__parse_bool(v, &I->use_fc_norm))
            return swin__error(SWIN_ERR_CONFIG,
                               "fc_norm: \"%.64s\" (%s) is not none, true or false", v, origin);
    } else if (v || post) {
        I->use_fc_norm = I->avg && !post;
    } else {
        I->use_fc_norm =
            swin__w_find(w, "fc_norm.weight") || (I->avg && !swin__w_find(w, "norm.weight"));
    }
    I->act = post ? SWIN_ACT_RELU : SWIN_ACT_GELU;
    if ((v = swin__src_value(src, "activation", &origin))) {
        if (strcmp(v, "gelu") == 0)
            I->act = SWIN_ACT_GELU;
        else if (strcmp(v, "relu") == 0)
            I->act = SWIN_ACT_RELU;
        else
            return swin__error(SWIN_ERR_UNSUPPORTED,
                               "activation \"%.64s\" (%s) is not supported yet (gelu, relu are)", v,
                               origin);
    }
    SWIN_TRY(swin__src_bool(src, "qkv_bias", true, &I->qkv_bias));
    /* mlp_hidden_dim, else mlp_ratio * D, else fc1's rows, else the reference's default */
    const bool have_fc1 = fc1 && fc1->ndim == 2;
    if (swin__src_value(src, "mlp_hidden_dim", NULL)) {
        SWIN_TRY(swin__src_int(src, "mlp_hidden_dim", 1, have_fc1, have_fc1 ? fc1->shape[0] : 0,
                               fc1, "rows", &I->hidden));
    } else if ((v = swin__src_value(src, "mlp_ratio", &origin))) {
        double ratio;
        if (!swin__parse_double(v, &ratio))
            return swin__error(SWIN_ERR_CONFIG,
                               "mlp_ratio: \"%.64s\" (%s) is not a positive number", v, origin);
        const double hidden = (double)I->dim * ratio; /* bounded before the cast (UB) */
        if (!(hidden < (double)(1 << 24)))
            return swin__error(SWIN_ERR_CONFIG, "mlp_ratio %.64s (%s) is implausibly large", v,
                               origin);
        I->hidden = (int64_t)hidden;
        if (have_fc1 && fc1->shape[0] != I->hidden)
            return swin__error(SWIN_ERR_SHAPE,
                               "mlp_ratio %.64s (from %s) makes %lld hidden units, but tensor "
                               "\"%s\" has %lld rows",
                               v, origin, (long long)I->hidden, fc1->source,
                               (long long)fc1->shape[0]);
    } else {
        I->hidden = have_fc1 ? fc1->shape[0] : post ? 2048 : 4 * I->dim;
    }
    I->eps = post ? 1e-5 : 1e-6;
    if ((v = swin__src_value(src, "norm_layer", NULL))) SWIN_TRY(swin__norm_layer_eps(v, &I->eps));
    if ((v = swin__src_value(src, "norm_eps", &origin)) && !swin__parse_double(v, &I->eps))
        return swin__error(SWIN_ERR_CONFIG, "norm_eps: \"%.64s\" (%s) is not a positive number", v,
                           origin);
    SWIN_TRY(swin__src_int(src, "num_classes", 0, head && head->ndim == 2,
                           head && head->ndim == 2 ? head->shape[0] : 0, head, "rows",
                           &I->num_classes));
    if (I->dim > (1 << 20) || I->depth > 4096 || I->patch > 4096 || I->in_chans > 4096 ||
        I->hidden > (1 << 24) || I->hidden < 1 || I->num_classes > (1 << 24))
        return swin__error(SWIN_ERR_CONFIG, "architecture sizes are implausibly large");

    /* The position table fixes the token count: img_size from it, or checked against it (after
     * the patch embedding, whose mismatch is the more telling one). */
    const int64_t D = I->dim, P = I->prefix;
    const int64_t pe_shape[4] = {D, I->in_chans, I->patch, I->patch};
    const float *unused;
    SWIN_TRY(swin__w_get(w, "patch_embed.proj.weight", 4, pe_shape, &unused));
    const int64_t shape3[3] = {1, -1, D}, shape2[2] = {-1, D};
    SWIN_TRY(swin__w_get(w, "pos_embed", post ? 2 : 3, post ? shape2 : shape3, &I->pos));
    const swin_weight *pos = swin__w_find(w, "pos_embed");
    I->pos_rows = pos->shape[post ? 0 : 1];
    const int64_t cells = I->pos_rows - P;
    int64_t g = cells > 0 ? (int64_t)sqrt((double)cells) : 0;
    while (g > 0 && g * g > cells)
        g--;
    while ((g + 1) * (g + 1) <= cells)
        g++;
    const char *what = P == 2 ? "class and distillation tokens and "
                       : P    ? "a class token and "
                              : "";
    if ((v = swin__src_value(src, "img_size", &origin))) {
        SWIN_TRY(swin__src_int(src, "img_size", 1, false, 0, NULL, NULL, &I->img_size));
    } else {
        if (g < 1 || (!post && g * g != cells))
            return swin__error(SWIN_ERR_SHAPE,
                               "pos_embed holds %lld tokens, which is not %sa square grid of "
                               "patches: set img_size",
                               (long long)I->pos_rows, what);
        I->img_size = g * I->patch;
        origin = "the position table";
    }
    /* the patch embedding is a stride-p convolution: a size the patch does not divide leaves
     * its last pixels out, as timm's (SigLIP's 384 with patch 14: 27 patches) */
    if (I->img_size > (1 << 20) || I->img_size < I->patch)
        return swin__error(SWIN_ERR_CONFIG, "img_size %lld is not at least patch_size %lld",
                           (long long)I->img_size, (long long)I->patch);
    const int64_t grid = I->img_size / I->patch, need = P + grid * grid;
    if (post ? need > I->pos_rows : need != I->pos_rows)
        return swin__error(SWIN_ERR_SHAPE,
                           "img_size %lld (from %s) with patch %lld needs %s%lld position rows "
                           "(%lldx%lld patches%s), but tensor \"%s\" holds %lld; interpolating "
                           "the position embedding is not supported",
                           (long long)I->img_size, origin, (long long)I->patch,
                           post ? "at least " : "", (long long)need, (long long)grid,
                           (long long)grid,
                           P == 2 ? ", class and distillation tokens"
                           : P    ? " and a class token"
                                  : "",
                           pos->source, (long long)I->pos_rows);
    if (has_block(w, I->depth))
        return swin__error(SWIN_ERR_SHAPE, "the file has more blocks than depth %lld",
                           (long long)I->depth);

    SWIN_TRY(swin__config_set(m, "img_size", "%lld", (long long)I->img_size));
    SWIN_TRY(swin__config_set(m, "patch_size", "%lld", (long long)I->patch));
    SWIN_TRY(swin__config_set(m, "in_chans", "%lld", (long long)I->in_chans));
    SWIN_TRY(swin__config_set(m, "embed_dim", "%lld", (long long)D));
    SWIN_TRY(swin__config_set(m, "depth", "%lld", (long long)I->depth));
    SWIN_TRY(swin__config_set(m, "num_heads", "%lld", (long long)I->heads));
    SWIN_TRY(swin__config_set(m, "mlp_ratio", "%g", (double)I->hidden / (double)D));
    SWIN_TRY(swin__config_set(m, "mlp_hidden_dim", "%lld", (long long)I->hidden));
    SWIN_TRY(swin__config_set(m, "activation", "%s", I->act == SWIN_ACT_RELU ? "relu" : "gelu"));
    SWIN_TRY(swin__config_set(m, "qkv_bias", "%s", I->qkv_bias ? "true" : "false"));
    SWIN_TRY(swin__config_set(m, "class_token", "%d", cls ? 1 : 0));
    if (!post) SWIN_TRY(swin__config_set(m, "dist_token", "%d", dist ? 1 : 0));
    SWIN_TRY(swin__config_set(m, "global_pool", "%s", I->avg ? "avg" : "token"));
    SWIN_TRY(swin__config_set(m, "num_classes", "%lld", (long long)I->num_classes));
    SWIN_TRY(swin__config_set(m, "norm_eps", "%g", I->eps));
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
    n += I->prefix * D + I->pos_rows * D;
    n += I->depth * (4 * D + 3 * D * D + (I->qkv_bias ? 3 * D : 0) + D * D + D + 2 * F * D + F + D);
    n += (I->norm.weight ? 2 * D : 0) + (I->fc_norm.weight ? 2 * D : 0);
    n += I->pooler_w ? D * D + D : 0;
    return n + (I->head_dist_w ? 2 : 1) * I->num_classes * (D + 1);
}

static swin_status bind(swin_model *m, const swin_source *src, bool post) {
    impl *I = swin__calloc(1, sizeof *I);
    if (!I) return swin__oom();
    m->impl = I;
    I->post = post;
    swin_weights *w = &m->w;
    SWIN_TRY(resolve(m, src, I));
    const int64_t D = I->dim, K = I->num_classes;
    const float eps = (float)I->eps;
    /* timm's patch embedding has a bias; the tutorial's convolution may or may not */
    const bool pe_bias = !post || swin__w_find(w, "patch_embed.proj.bias");
    SWIN_TRY(swin__patch_embed_bind(&I->pe, w, "patch_embed", I->in_chans, D, I->patch, pe_bias,
                                    false, eps));
    const int64_t tok[3] = {1, 1, D};
    if (I->prefix) SWIN_TRY(swin__w_get(w, "cls_token", 3, tok, &I->cls));
    if (I->prefix == 2) SWIN_TRY(swin__w_get(w, "dist_token", 3, tok, &I->dist));
    I->blocks = swin__calloc((size_t)I->depth, sizeof *I->blocks);
    if (!I->blocks) return swin__oom();
    char prefix[64];
    for (int64_t b = 0; b < I->depth; b++) {
        snprintf(prefix, sizeof prefix, "blocks.%lld", (long long)b);
        SWIN_TRY(swin__vit_block_bind(&I->blocks[b], w, prefix, D, I->heads, I->hidden, eps, I->act,
                                      I->qkv_bias, post));
    }
    if (post) {
        /* nn.TransformerEncoder(..., norm=LayerNorm) */
        if (swin__w_find(w, "norm.weight")) SWIN_TRY(swin__norm_bind(&I->norm, w, "norm", D, eps));
    } else if (I->use_fc_norm) { /* timm: the final norm after pooling */
        SWIN_TRY(swin__norm_bind(&I->fc_norm, w, "fc_norm", D, eps));
    } else { /* the final norm before pooling */
        SWIN_TRY(swin__norm_bind(&I->norm, w, "norm", D, eps));
    }
    if (K > 0) {
        const int64_t shape[2] = {K, D};
        SWIN_TRY(swin__w_get(w, "head.weight", 2, shape, &I->head_w));
        SWIN_TRY(swin__w_get(w, "head.bias", 1, &K, &I->head_b));
        if (I->prefix == 2) {
            SWIN_TRY(swin__w_get_opt(w, "head_dist.weight", 2, shape, &I->head_dist_w));
            if (I->head_dist_w) SWIN_TRY(swin__w_get(w, "head_dist.bias", 1, &K, &I->head_dist_b));
        }
    }
    swin__drop_head(w, K);
    if (!post && swin__w_find(w, "pooler.weight")) {
        /* transformers' ViTPooler: tanh(dense(final-norm class token)) */
        const int64_t shape[2] = {D, D};
        if (!I->prefix || I->avg)
            return swin__error(SWIN_ERR_CONFIG, "a pooler needs the class token");
        SWIN_TRY(swin__w_get(w, "pooler.weight", 2, shape, &I->pooler_w));
        SWIN_TRY(swin__w_get(w, "pooler.bias", 1, &D, &I->pooler_b));
        m->has_pooler = true;
        SWIN_TRY(swin__config_set(m, "pooler", "1"));
    }
    m->num_classes = K;
    m->in_chans = I->in_chans;
    m->num_stages = 1;
    m->num_params = count_params(I);
    return SWIN_OK;
}

static swin_status bind_vit(swin_model *m, const swin_source *src) {
    return bind(m, src, false);
}

static swin_status bind_postnorm(swin_model *m, const swin_source *src) {
    return bind(m, src, true);
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
        total += L * C * (double)(I->in_chans * I->patch * I->patch) +
                 C * (double)I->num_classes * (I->head_dist_w ? 2.0 : 1.0) +
                 (I->pooler_w ? C * C : 0.0);
    *f = *fg = total;
    return SWIN_OK;
}

/* ---- memory plan ---- */

typedef struct plan {
    int64_t L, N;
    float *x;        /* [B, N, D]: the residual stream */
    float *stage;    /* [B, L, D]: the patch embedding, then the last block's patch tokens */
    float *tokens;   /* [B, N, D]: the token map, after the final norm */
    float *features; /* [B, D] */
    float *logits;   /* [B, K] */
    float *pooler;   /* [B, D], or NULL */
    float *scratch;
} plan;

static size_t max_size(size_t a, size_t b) {
    return a > b ? a : b;
}

/* threads: the threads of the pool the plan runs on. */
static void layout(swin_arena *bp, plan *P, const impl *I, int64_t B, int64_t H, int64_t W,
                   int threads) {
    const int64_t D = I->dim;
    P->x = swin__arena_take(bp, swin__arena_count(bp, B, P->N, D, 1));
    P->stage = swin__arena_take(bp, swin__arena_count(bp, B, P->L, D, 1));
    P->tokens = swin__arena_take(bp, swin__arena_count(bp, B, P->N, D, 1));
    P->features = swin__arena_take(bp, swin__arena_count(bp, B, D, 1, 1));
    P->logits = I->num_classes
                    ? swin__arena_take(bp, swin__arena_count(bp, B, I->num_classes, 1, 1))
                    : NULL;
    P->pooler = I->pooler_w ? swin__arena_take(bp, swin__arena_count(bp, B, D, 1, 1)) : NULL;
    /* the patch embedding's, a block's, the pooling's (pooled, second, second head) */
    size_t scratch = swin__arena_size(bp, swin__patch_embed_scratch(&I->pe, B, H, W));
    scratch = max_size(
        scratch, swin__arena_size(bp, swin__vit_block_scratch(&I->blocks[0], B, P->N, threads)));
    scratch = max_size(scratch, swin__arena_count(bp, B, 2 * D + I->num_classes, 1, 1));
    P->scratch = swin__arena_take(bp, scratch);
}

static swin_status plan_fn(swin_context *ctx, int64_t B, int64_t H, int64_t W) {
    const impl *I = ctx->model->impl;
    const int64_t p = I->patch, D = I->dim;
    /* timm's patch embedding (a stride-p convolution) leaves out the pixels past the last
     * whole patch of img_size (SigLIP's 384 with patch 14); any other size must be a multiple */
    if ((H % p != 0 || W % p != 0) && (H != I->img_size || W != I->img_size))
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
                           I->prefix == 2 ? ", class and distillation tokens"
                           : I->prefix    ? " and a class token"
                                          : "",
                           I->post ? "only " : "", (long long)I->pos_rows, (long long)I->img_size);
    plan *P = swin__calloc(1, sizeof *P);
    if (!P) return swin__oom();
    ctx->plan = P;
    P->L = L;
    P->N = N;
    const int threads = swin__pool_size(ctx->pool);
    swin_arena count = {0};
    layout(&count, P, I, B, H, W, threads);
    SWIN_TRY(swin__arena_alloc(ctx, &count, B, H, W));
    swin_arena real = {.base = ctx->arena};
    layout(&real, P, I, B, H, W, threads);
    const int64_t sshape[4] = {B, Hg, Wg, D}, fshape[2] = {B, D}, lshape[2] = {B, I->num_classes};
    swin__tensor_view(&ctx->stages[0], P->stage, 4, sshape);
    const int64_t tshape[3] = {B, N, D};
    swin__tensor_view(&ctx->tokens, P->tokens, 3, tshape);
    swin__tensor_view(&ctx->features, P->features, 2, fshape);
    if (P->logits) swin__tensor_view(&ctx->logits, P->logits, 2, lshape);
    if (P->pooler) swin__tensor_view(&ctx->pooler, P->pooler, 2, fshape);
    return SWIN_OK;
}

/* ---- forward ---- */

static void forward(swin_context *ctx, const float *input) {
    const impl *I = ctx->model->impl;
    const plan *P = ctx->plan;
    const int64_t B = ctx->B, D = I->dim, L = P->L, N = P->N, Pf = I->prefix;
    const int64_t K = I->num_classes;
    const size_t row = (size_t)D * sizeof(float);
    swin_pool *pool = ctx->pool;
    /* tokens: [class token; distillation token; patches] + the first N rows of the position
     * table */
    swin__patch_embed_forward(P->stage, input, &I->pe, B, ctx->H, ctx->W, P->scratch, pool);
    for (int64_t b = 0; b < B; b++) {
        float *xb = P->x + b * N * D;
        if (I->cls) memcpy(xb, I->cls, row);
        if (I->dist) memcpy(xb + D, I->dist, row);
        memcpy(xb + Pf * D, P->stage + b * L * D, (size_t)L * row);
        swin__add_inplace(xb, I->pos, N * D);
    }
    for (int64_t k = 0; k < I->depth; k++)
        swin__vit_block_forward(P->x, &I->blocks[k], B, N, P->scratch, pool);
    for (int64_t b = 0; b < B; b++)
        memcpy(P->stage + b * L * D, P->x + (b * N + Pf) * D, (size_t)L * row);

    /* the token map: the final norm's output (timm's forward_features), prefix tokens too */
    if (I->norm.weight)
        swin__layernorm(P->tokens, P->x, I->norm.weight, I->norm.bias, B * N, D, I->norm.eps, pool);
    else
        memcpy(P->tokens, P->x, (size_t)(B * N) * row);
    /* pooling into pooled [B, D] (and a distilled model's distillation tokens into second) */
    float *pooled = P->scratch, *second = pooled + B * D, *second_logits = second + B * D;
    const bool distilled = Pf == 2 && I->head_dist_w;
    for (int64_t b = 0; b < B; b++) {
        const float *tb = P->tokens + b * N * D;
        if (!I->avg) { /* the class token */
            memcpy(pooled + b * D, tb, row);
            if (distilled) memcpy(second + b * D, tb + D, row);
            continue;
        }
        for (int64_t c = 0; c < D; c++) { /* the mean of the patch tokens */
            double acc = 0.0;
            for (int64_t t = Pf; t < N; t++)
                acc += tb[t * D + c];
            pooled[b * D + c] = (float)(acc / (double)L);
        }
    }
    if (I->fc_norm.weight) /* timm's fc_norm: the final norm after pooling */
        swin__layernorm(pooled, pooled, I->fc_norm.weight, I->fc_norm.bias, B, D, I->fc_norm.eps,
                        pool);
    if (distilled) /* timm's pre_logits of a distilled model: the mean of the two tokens */
        for (int64_t i = 0; i < B * D; i++)
            P->features[i] = (pooled[i] + second[i]) / 2;
    else
        memcpy(P->features, pooled, (size_t)B * row);
    if (P->logits) {
        swin__linear(P->logits, pooled, I->head_w, I->head_b, B, D, K, pool);
        if (distilled) { /* the mean of head(class token) and head_dist(distillation token) */
            swin__linear(second_logits, second, I->head_dist_w, I->head_dist_b, B, D, K, pool);
            for (int64_t i = 0; i < B * K; i++)
                P->logits[i] = (P->logits[i] + second_logits[i]) / 2;
        }
    }
    if (P->pooler) { /* transformers' ViTPooler */
        swin__linear(P->pooler, pooled, I->pooler_w, I->pooler_b, B, D, D, pool);
        for (int64_t i = 0; i < B * D; i++)
            P->pooler[i] = tanhf(P->pooler[i]);
    }
}

const swin_family swin__family_vit = {
    .name = "vit",
    .description = "Vision Transformer and DeiT (timm, transformers)",
    .timm_classes = vit_classes,
    .model_types = vit_model_types,
    .keys = vit_keys,
    .hf_keys = vit_hf_keys,
    .mean = {0.485f, 0.456f, 0.406f},
    .std = {0.229f, 0.224f, 0.225f},
    .interpolation = "bicubic",
    .crop_pct = 0.9,
    .detect = detect_vit,
    .bind = bind_vit,
    .unbind = unbind,
    .stage_dims = stage_dims,
    .flops = flops,
    .plan = plan_fn,
    .forward = forward,
};

const swin_family swin__family_vit_postnorm = {
    .name = "vit_postnorm",
    .description = "the tutorials' post-norm ViT on torch.nn.TransformerEncoder",
    .keys = postnorm_keys,
    .mean = {0.485f, 0.456f, 0.406f},
    .std = {0.229f, 0.224f, 0.225f},
    .interpolation = "bicubic",
    .crop_pct = 0.9,
    .bind = bind_postnorm,
    .unbind = unbind,
    .stage_dims = stage_dims,
    .flops = flops,
    .plan = plan_fn,
    .forward = forward,
};
