/* Vision Transformers. Family "vit": timm's VisionTransformer and VisionTransformerDistilled
 * (DeiT with its distillation token), and transformers' ViT and DeiT; pre-norm blocks. Family
 * "vit_postnorm": the tutorials' ViT built from nn.TransformerEncoder (post-norm layers). This
 * file resolves the architecture, binds the weights (canonical names only), plans the memory,
 * assembles the tokens and pools; the layers compute.
 * Legend: B batch, p patch, Hg x Wg = H/p x W/p patch grid, L = Hg*Wg patch tokens, P prefix
 * tokens (class and distillation tokens), N = P + L tokens, T rows of pos_embed, D channels,
 * F MLP hidden width, K classes. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "../layers/layers.h"
#include "../model.h"

static const char *const vit_classes[] = {"VisionTransformer", "VisionTransformerDistilled",
                                          "VisionTransformerRelPos", "Eva", NULL};
static const char *const vit_model_types[] = {
    "vit", "deit", "dinov2", "dinov2_with_registers", "clip", "clip_vision_model", NULL};

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
    {"global_pool", SWIN_K_STR,
     "what the head reads: token (class token), avg, max or avgmax (of the patch tokens), map "
     "(attention pooling), token_avg (class token and patch mean side by side: DINOv2's head)",
     "token|avg|avgmax|max|map|token_avg",
     "a pooling other than token, avg, avgmax, max, map and token_avg"},
    {"activation", SWIN_K_STR,
     "MLP activation: gelu (exact erf), gelu_tanh, quick_gelu, silu or relu",
     "gelu|gelu_tanh|gelu_new|gelu_pytorch_tanh|quick_gelu|silu|swish|relu",
     "an MLP activation other than GELU, tanh GELU, QuickGELU, SiLU and ReLU"},
    {"dist_token", SWIN_K_BOOL, "a distillation token after the class token (DeiT)", NULL, NULL},
    /* timm's other VisionTransformer arguments */
    {"init_values", SWIN_K_STR, "timm: layer scale (none or 0: without)", NULL, NULL},
    {"reg_tokens", SWIN_K_INT, "timm: register tokens after the class token", NULL, NULL},
    {"no_embed_class", SWIN_K_BOOL, "timm: position table without the prefix tokens", NULL, NULL},
    {"pre_norm", SWIN_K_BOOL, "timm: a norm before the blocks (and no patch bias)", NULL, NULL},
    {"final_norm", SWIN_K_BOOL, "timm: the final norm", NULL, NULL},
    {"fc_norm", SWIN_K_STR, "timm: norm after pooling (none: with avg, avgmax, max pooling)", NULL,
     NULL},
    {"qk_norm", SWIN_K_BOOL, "timm: LayerNorm of each head's queries and keys", NULL, NULL},
    {"proj_bias", SWIN_K_BOOL, "timm: bias of the projections", "1|true|True",
     "projections without bias"},
    {"dynamic_img_size", SWIN_K_BOOL,
     "timm: any input size (libswin always resamples the position table to the input grid)", NULL,
     NULL},
    {"dynamic_img_pad", SWIN_K_BOOL, "timm: pad inputs to the patch", "0|false|False",
     "input padding to the patch size"},
    {"pos_embed", SWIN_K_STR, "timm: position embedding kind (learn, none)", "learn|none",
     "a position embedding other than a learned table"},
    {"rel_pos_type", SWIN_K_STR,
     "timm's relative-position ViT: mlp (RelPosMlp over log-spaced offsets)", "mlp",
     "a relative position bias other than timm's RelPosMlp"},
    {"rel_pos_dim", SWIN_K_STR, "timm's relative-position ViT: RelPosMlp's hidden width", NULL,
     NULL},
    {"shared_rel_pos", SWIN_K_BOOL, "timm's relative-position ViT: one bias for all blocks", NULL,
     NULL},
    {"embed_layer", SWIN_K_STR, "timm: patch embedding", "PatchEmbed", "another patch embedding"},
    {"embed_norm_layer", SWIN_K_STR, "timm: norm in the patch embedding", "none",
     "a norm in the patch embedding"},
    {"norm_layer", SWIN_K_STR, "timm: LayerNorm, optionally with eps", NULL, NULL},
    {"act_layer", SWIN_K_STR, "timm: MLP activation",
     "none|GELU|gelu|gelu_tanh|GELUTanh|quick_gelu|QuickGELU|silu|SiLU|relu|ReLU",
     "an MLP activation other than GELU, tanh GELU, QuickGELU, SiLU and ReLU"},
    {"block_fn", SWIN_K_STR,
     "timm: encoder block (Block, ResPostBlock; RelPosBlock, ResPostRelPosBlock)",
     "Block|ResPostBlock|RelPosBlock|ResPostRelPosBlock", "another block"},
    {"mlp_layer", SWIN_K_STR, "timm: MLP (Mlp, or a packed SwiGLU)",
     "Mlp|SwiGLUPacked|GluMlp(act_layer=SiLU,gate_last=false)", "another MLP"},
    {"attn_layer", SWIN_K_STR, "timm: attention", "Attention", "another attention"},
    {"scale_attn_norm", SWIN_K_BOOL, "timm: a norm inside attention", "0|false|False",
     "a norm inside attention"},
    {"scale_mlp_norm", SWIN_K_BOOL, "timm: a norm inside the MLP", "0|false|False",
     "a norm inside the MLP"},
    {"pool_include_prefix", SWIN_K_BOOL,
     "timm: prefix tokens in the avg/max pooling and the attention pooling", NULL, NULL},
    {"pooler", SWIN_K_BOOL, "transformers: ViTModel's pooler (dense + tanh on the class token)",
     NULL, NULL},
    /* timm's Eva arguments (EVA, EVA02, DINOv3, Perception Encoder, the rope ViTs) */
    {"qkv_fused", SWIN_K_BOOL, "timm Eva: one qkv projection (else q_proj, k_proj, v_proj)", NULL,
     NULL},
    {"swiglu_mlp", SWIN_K_BOOL, "timm Eva: a SwiGLU MLP", NULL, NULL},
    {"swiglu_align_to", SWIN_K_INT, "timm Eva: the SwiGLU width rounded up to this", NULL, NULL},
    {"scale_mlp", SWIN_K_BOOL, "timm Eva: a LayerNorm inside the MLP", NULL, NULL},
    {"scale_attn_inner", SWIN_K_BOOL, "timm Eva: a LayerNorm of the heads' output", NULL, NULL},
    {"attn_type", SWIN_K_STR, "timm Eva: eva or rope attention", "eva|rope", "another attention"},
    {"num_reg_tokens", SWIN_K_INT, "timm Eva: register tokens", NULL, NULL},
    {"use_abs_pos_emb", SWIN_K_BOOL, "timm Eva: a learned position table", NULL, NULL},
    {"use_rot_pos_emb", SWIN_K_BOOL, "timm Eva: rotary position embedding", NULL, NULL},
    {"rope_type", SWIN_K_STR, "timm Eva: RoPE kind (cat: EVA02, dinov3, mixed)", "cat|dinov3|mixed",
     "a rotary embedding other than cat, dinov3 and mixed"},
    {"rope_grid_offset", SWIN_K_REAL, "timm Eva: RoPE grid offset", NULL, NULL},
    {"rope_grid_indexing", SWIN_K_STR, "timm Eva: RoPE grid order (ij, xy)", "ij|xy",
     "a RoPE grid order other than ij and xy"},
    {"rope_temperature", SWIN_K_REAL, "timm Eva: RoPE temperature", NULL, NULL},
    {"rope_rotate_half", SWIN_K_BOOL, "timm Eva: RoPE half rotation (else interleaved)", NULL,
     NULL},
    {"ref_feat_shape", SWIN_K_STR, "timm Eva: the grid RoPE coordinates are scaled to", NULL, NULL},
    {"use_post_norm", SWIN_K_BOOL, "timm Eva: post-norm blocks", NULL, NULL},
    {"use_pre_transformer_norm", SWIN_K_BOOL, "timm Eva: norm_pre (and no patch bias)", NULL, NULL},
    {"use_post_transformer_norm", SWIN_K_STR, "timm Eva: the final norm (none: without fc_norm)",
     NULL, NULL},
    {"use_fc_norm", SWIN_K_STR, "timm Eva: norm after pooling (none: with avg pooling)", NULL,
     NULL},
    {"attn_pool_num_heads", SWIN_K_STR, "timm Eva: attention pooling heads", NULL, NULL},
    {"attn_pool_mlp_ratio", SWIN_K_STR, "timm Eva: attention pooling MLP ratio", NULL, NULL},
    {"head_init_scale", SWIN_K_REAL, "timm Eva: head initialisation (training only)", NULL, NULL},
    {"head_bias", SWIN_K_BOOL, "whether the head has a bias (CLIP's visual_projection has none)",
     NULL, NULL},
    {"pos_antialias", SWIN_K_BOOL,
     "resample the position table with the antialiased bicubic filter (timm) or the plain one",
     NULL, NULL},
    {NULL, 0, NULL, NULL, NULL},
};

static const swin_key postnorm_keys[] = {
    COMMON_KEYS,
    {"activation", SWIN_K_STR, "MLP activation: relu (default) or gelu", "gelu|relu",
     "an MLP activation other than exact GELU or ReLU"},
    {NULL, 0, NULL, NULL, NULL},
};

/* transformers' ViTConfig / DeiTConfig / Dinov2Config / CLIPVisionConfig keys. */
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
    {"mlp_ratio", "mlp_ratio"},
    {"num_register_tokens", "reg_tokens"},
    {NULL, NULL},
};

typedef enum vit_pool {
    POOL_TOKEN,
    POOL_AVG,
    POOL_AVGMAX,
    POOL_MAX,
    POOL_MAP,
    POOL_TOKEN_AVG
} vit_pool;

typedef struct impl {
    bool post; /* vit_postnorm */
    int64_t img_size, patch, in_chans, dim, depth, heads, hidden, num_classes;
    int64_t prefix;      /* P: class token + register tokens + distillation token */
    int64_t reg;         /* register tokens */
    bool no_embed_class; /* the position table covers the patches only */
    int64_t pos_prefix;  /* Pp: the prefix tokens the table covers (0, 1: the class token, P) */
    bool pos_aa;         /* resample the table with the antialiased filter */
    int64_t feat;        /* F: width of the pooled features (D; 2D for token_avg) */
    int64_t pos_rows;    /* T */
    int64_t grid;        /* the position table's patch grid is grid x grid */
    vit_pool pool;
    bool use_fc_norm; /* the final norm after pooling (fc_norm), else before it (norm) */
    bool final_norm;  /* a final norm at all */
    bool pool_prefix; /* pooling (avg, max, map) over the prefix tokens too */
    swin_vit_block_cfg cfg;
    double eps;
    swin_patch_embed pe;
    const float *cls;   /* [D], or NULL */
    const float *regs;  /* [R, D], or NULL */
    const float *dist;  /* [D], or NULL */
    const float *pos;   /* [T, D] */
    swin_norm norm_pre; /* after the position embedding; weight NULL: none */
    swin_vit_block *blocks;
    bool relpos;     /* timm's VisionTransformerRelPos: RelPosMlp attention bias, no table */
    bool shared_rel; /* one bias for every block (shared_rel_pos) */
    float *rel_bias; /* [1 or depth][nH, N, N], computed at load (owned) */
    int64_t rel_hidden;
    bool eva;           /* timm's Eva class */
    bool eva_k_bias;    /* its attention has a k bias (AttentionRope's fused qkv bias) */
    swin_rope_cfg rope; /* the rotary embedding (kind SWIN_ROPE_NONE: none) */
    int64_t map_heads;  /* attention pooling heads */
    swin_activation map_act;
    swin_norm norm;                         /* on the tokens before pooling; weight NULL: none */
    swin_norm fc_norm;                      /* on the pooled vector; weight NULL: none */
    swin_attn_pool map;                     /* global_pool map */
    const float *head_w, *head_b;           /* [K, F], [K] (no bias: NULL) */
    const float *head_dist_w, *head_dist_b; /* [K, D], [K]: the distillation head, or NULL */
    const float *pooler_w, *pooler_b;       /* [D, D], [D]: transformers' pooler, or NULL */
} impl;

/* An activation's name in timm (act_layer, GluMlp's act_layer) or transformers (hidden_act). */
static bool parse_activation(const char *v, swin_activation *act) {
    static const struct {
        const char *name;
        swin_activation act;
    } names[] = {
        {"gelu", SWIN_ACT_GELU},
        {"GELU", SWIN_ACT_GELU},
        {"gelu_tanh", SWIN_ACT_GELU_TANH},
        {"GELUTanh", SWIN_ACT_GELU_TANH},
        {"gelu_new", SWIN_ACT_GELU_TANH},
        {"gelu_pytorch_tanh", SWIN_ACT_GELU_TANH},
        {"quick_gelu", SWIN_ACT_QUICK_GELU},
        {"QuickGELU", SWIN_ACT_QUICK_GELU},
        {"silu", SWIN_ACT_SILU},
        {"SiLU", SWIN_ACT_SILU},
        {"swish", SWIN_ACT_SILU},
        {"relu", SWIN_ACT_RELU},
        {"ReLU", SWIN_ACT_RELU},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(v, names[i].name) == 0) {
            *act = names[i].act;
            return true;
        }
    return false;
}

static const char *activation_name(swin_activation act) {
    switch (act) {
    case SWIN_ACT_GELU:
        return "gelu";
    case SWIN_ACT_RELU:
        return "relu";
    case SWIN_ACT_GELU_TANH:
        return "gelu_tanh";
    case SWIN_ACT_QUICK_GELU:
        return "quick_gelu";
    case SWIN_ACT_SILU:
        return "silu";
    case SWIN_ACT_NONE:
        break;
    }
    return "none";
}

static const char *const pool_names[] = {"token", "avg", "avgmax", "max", "map", "token_avg"};

static bool detect_vit(const swin_weights *w) {
    return swin__w_find(w, "blocks.0.attn.qkv.weight") &&
           swin__w_find(w, "patch_embed.proj.weight");
}

/* ---- architecture resolution ---- */

static bool has_block(const swin_weights *w, int64_t b) {
    return swin__w_findf(w, "blocks.%lld.norm1.weight", (long long)b) != NULL;
}

/* A positive real from src, or fallback when absent or "none". */
static swin_status real_or(const swin_source *src, const char *key, double fallback, double *out) {
    const char *origin, *v = swin__src_value(src, key, &origin);
    *out = fallback;
    if (!v || strcmp(v, "none") == 0) return SWIN_OK;
    if (!swin__parse_double(v, out) || !(*out > 0.0) || *out > 1e9)
        return swin__error(SWIN_ERR_CONFIG, "%s: \"%.64s\" (%s) is not a positive number", key, v,
                           origin);
    return SWIN_OK;
}

/* timm's Eva: the MLP (Mlp, packed SwiGLU, or SwiGLU with split fc1 and a norm), the
 * attention's inner norm, the rotary embedding, attention pooling. */
static swin_status resolve_eva(const swin_source *src, swin_weights *w, impl *I,
                               swin_vit_block_cfg *c) {
    bool swiglu, scale_mlp, scale_attn, rot;
    int64_t align = 0;
    SWIN_TRY(swin__src_bool(src, "swiglu_mlp", false, &swiglu));
    SWIN_TRY(swin__src_bool(src, "scale_mlp", false, &scale_mlp));
    SWIN_TRY(swin__src_bool(src, "scale_attn_inner", false, &scale_attn));
    if (swin__src_value(src, "swiglu_align_to", NULL))
        SWIN_TRY(swin__src_int(src, "swiglu_align_to", 0, false, 0, NULL, NULL, &align));
    double ratio;
    SWIN_TRY(real_or(src, "mlp_ratio", 4.0, &ratio));
    const double h = (double)I->dim * ratio;
    if (!(h < (double)(1 << 24)))
        return swin__error(SWIN_ERR_CONFIG, "mlp_ratio %g is implausibly large", ratio);
    int64_t hidden = (int64_t)h; /* timm: int(dim * mlp_ratio) */
    c->mlp_norm = scale_mlp;
    c->attn_norm = scale_attn;
    c->act = SWIN_ACT_GELU;
    c->glu = SWIN_GLU_NONE;
    c->split_glu = false;
    const char *fc1 = "blocks.0.mlp.fc1.weight";
    if (swiglu) {
        c->act = SWIN_ACT_SILU;
        c->glu = SWIN_GLU_ACT_FIRST;
        if (scale_mlp || align) { /* SwiGLU: fc1_g and fc1_x, each the (aligned) width */
            c->split_glu = true;
            if (align > 0) hidden += (align - hidden % align) % align;
            fc1 = "blocks.0.mlp.fc1_g.weight";
        }
        hidden *= 2; /* both halves */
    }
    const swin_weight *t = swin__w_find(w, fc1);
    const int64_t rows = t && t->ndim == 2 ? t->shape[0] * (c->split_glu ? 2 : 1) : hidden;
    if (rows != hidden)
        return swin__error(SWIN_ERR_SHAPE,
                           "mlp_ratio %g makes %lld hidden units, but tensor \"%s\" has %lld rows",
                           ratio, (long long)(c->split_glu ? hidden / 2 : hidden), t->source,
                           (long long)t->shape[0]);
    I->hidden = hidden;
    /* EvaAttention's biases are q_bias and v_bias (k: zeros); AttentionRope's a full qkv bias */
    const char *at = swin__src_value(src, "attn_type", NULL);
    I->eva_k_bias = at && strcmp(at, "rope") == 0;
    /* the rotary embedding */
    SWIN_TRY(swin__src_bool(src, "use_rot_pos_emb", false, &rot));
    swin_rope_cfg *rc = &I->rope;
    memset(rc, 0, sizeof *rc);
    if (rot) {
        const char *type = swin__src_value(src, "rope_type", NULL);
        rc->kind = !type || strcmp(type, "cat") == 0 ? SWIN_ROPE_CAT
                   : strcmp(type, "dinov3") == 0     ? SWIN_ROPE_DINOV3
                                                     : SWIN_ROPE_MIXED;
        rc->head_dim = I->dim / I->heads;
        rc->heads = I->heads;
        rc->depth = I->depth;
        const char *ix = swin__src_value(src, "rope_grid_indexing", NULL);
        rc->xy = ix && strcmp(ix, "xy") == 0;
        SWIN_TRY(swin__src_bool(src, "rope_rotate_half", false, &rc->half));
        const char *origin, *v = swin__src_value(src, "rope_grid_offset", &origin);
        rc->offset = 0.0;
        if (v) { /* any finite number, 0 and negative too */
            char *end;
            errno = 0;
            rc->offset = strtod(v, &end);
            if (errno || end == v || *end || !(fabs(rc->offset) <= 1e6))
                return swin__error(SWIN_ERR_CONFIG,
                                   "rope_grid_offset: \"%.64s\" (%s) is not a "
                                   "number",
                                   v, origin);
        }
        SWIN_TRY(real_or(src, "rope_temperature", 10000.0, &rc->temperature));
        if ((v = swin__src_value(src, "ref_feat_shape", &origin)) && strcmp(v, "none") != 0) {
            int n = 0;
            if (!swin__parse_int_list(v, rc->ref, 2, &n) || n < 1 || rc->ref[0] < 1 ||
                rc->ref[0] > 4096 || (n == 2 && (rc->ref[1] < 1 || rc->ref[1] > 4096)))
                return swin__error(SWIN_ERR_CONFIG, "ref_feat_shape: \"%.64s\" (%s) is not a grid",
                                   v, origin);
            if (n == 1) rc->ref[1] = rc->ref[0];
        }
        if ((I->dim / I->heads) % 4 != 0)
            return swin__error(SWIN_ERR_CONFIG,
                               "rotary position embedding needs a head width divisible by 4, "
                               "not %lld",
                               (long long)(I->dim / I->heads));
    }
    /* attention pooling: its own heads when given, GELU */
    I->map_act = SWIN_ACT_GELU;
    const char *v = swin__src_value(src, "attn_pool_num_heads", NULL);
    if (v && strcmp(v, "none") != 0) {
        int64_t hh[1];
        int n = 0;
        if (!swin__parse_int_list(v, hh, 1, &n) || n != 1 || hh[0] < 1 || I->dim % hh[0] != 0)
            return swin__error(SWIN_ERR_CONFIG,
                               "attn_pool_num_heads: \"%.64s\" does not divide "
                               "embed_dim",
                               v);
        I->map_heads = hh[0];
    }
    return SWIN_OK;
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
    if (I->dim % I->heads != 0)
        return swin__error(SWIN_ERR_CONFIG, "embed_dim %lld is not a multiple of num_heads %lld",
                           (long long)I->dim, (long long)I->heads);

    /* prefix tokens: [class token, register tokens | distillation token] */
    bool cls, dist;
    SWIN_TRY(swin__src_bool(src, "class_token", swin__w_find(w, "cls_token") != NULL, &cls));
    SWIN_TRY(swin__src_bool(
        src, "dist_token",
        (src->arch && strcmp(src->arch->timm_class, "VisionTransformerDistilled") == 0) ||
            swin__w_find(w, "dist_token") != NULL,
        &dist));
    I->eva = !post && src->arch && strcmp(src->arch->timm_class, "Eva") == 0;
    const swin_weight *regw = swin__w_find(w, "reg_token");
    const char *reg_key =
        !swin__src_value(src, "reg_tokens", NULL) && swin__src_value(src, "num_reg_tokens", NULL)
            ? "num_reg_tokens" /* Eva's name */
            : "reg_tokens";
    SWIN_TRY(swin__src_int(src, reg_key, 0, true, regw && regw->ndim == 3 ? regw->shape[1] : 0,
                           regw, "rows", &I->reg));
    if (I->reg > 4096) return swin__error(SWIN_ERR_CONFIG, "reg_tokens is implausibly large");
    if (post && (dist || I->reg))
        return swin__error(SWIN_ERR_CONFIG, "vit_postnorm has no distillation or register tokens");
    if (dist && !cls)
        return swin__error(SWIN_ERR_CONFIG, "a distillation token needs a class token");
    if (dist && I->reg)
        return swin__error(SWIN_ERR_UNSUPPORTED,
                           "a distillation token with register tokens is not supported");
    I->prefix = (cls ? 1 : 0) + I->reg + (dist ? 1 : 0);
    SWIN_TRY(swin__src_bool(src, "no_embed_class", false, &I->no_embed_class));
    if (post && I->no_embed_class)
        return swin__error(SWIN_ERR_CONFIG, "vit_postnorm's position table covers the class token");

    /* pooling; timm: without a class token only the pooling of the patch tokens is possible */
    const bool have_map = swin__w_find(w, "attn_pool.latent") != NULL;
    I->pool = post                                          ? (cls ? POOL_TOKEN : POOL_AVG)
              : have_map                                    ? POOL_MAP
              : (!cls || swin__w_find(w, "fc_norm.weight")) ? POOL_AVG
                                                            : POOL_TOKEN;
    if ((v = swin__src_value(src, "global_pool", &origin))) {
        size_t k = 0;
        while (k < sizeof pool_names / sizeof pool_names[0] && strcmp(v, pool_names[k]) != 0)
            k++;
        if (k == sizeof pool_names / sizeof pool_names[0] || (post && k > POOL_AVG))
            return swin__error(SWIN_ERR_UNSUPPORTED,
                               "global_pool \"%.64s\" (%s) is not supported yet (token, avg, "
                               "avgmax, max and map are)",
                               v, origin);
        I->pool = (vit_pool)k;
    }
    if ((I->pool == POOL_TOKEN || I->pool == POOL_TOKEN_AVG) && !cls)
        return swin__error(SWIN_ERR_CONFIG,
                           "global_pool %s needs a class token, and "
                           "class_token is 0",
                           pool_names[I->pool]);
    I->feat = I->pool == POOL_TOKEN_AVG ? 2 * I->dim : I->dim;
    /* timm's VisionTransformer pools (avg, max, map) the patch tokens unless
     * pool_include_prefix; Eva's attention pooling reads every token */
    SWIN_TRY(swin__src_bool(src, "pool_include_prefix", false, &I->pool_prefix));
    SWIN_TRY(swin__src_bool(src, "pos_antialias", true, &I->pos_aa));
    if (dist && I->pool != POOL_TOKEN)
        return swin__error(SWIN_ERR_UNSUPPORTED,
                           "a distillation token with global_pool %s is not supported",
                           pool_names[I->pool]);
    const bool avg_like = I->pool == POOL_AVG || I->pool == POOL_AVGMAX || I->pool == POOL_MAX;
    bool final_norm;
    SWIN_TRY(swin__src_bool(src, "final_norm", true, &final_norm));
    /* timm: fc_norm None means "with avg, avgmax or max pooling"; without timm's word, the
     * tensors tell */
    if ((v = swin__src_value(src, "fc_norm", &origin)) && strcmp(v, "none") != 0) {
        if (!swin__parse_bool(v, &I->use_fc_norm))
            return swin__error(SWIN_ERR_CONFIG,
                               "fc_norm: \"%.64s\" (%s) is not none, true or false", v, origin);
    } else if (v || post) {
        I->use_fc_norm = avg_like && !post;
    } else {
        I->use_fc_norm =
            swin__w_find(w, "fc_norm.weight") || (avg_like && !swin__w_find(w, "norm.weight"));
    }
    if (I->eva) {
        /* Eva: fc_norm when asked, else with avg pooling; the final norm when asked, else
         * without fc_norm */
        const char *fc = swin__src_value(src, "use_fc_norm", NULL);
        const char *post_norm = swin__src_value(src, "use_post_transformer_norm", NULL);
        I->use_fc_norm = I->pool == POOL_AVG;
        if (fc && strcmp(fc, "none") != 0 && !swin__parse_bool(fc, &I->use_fc_norm))
            return swin__error(SWIN_ERR_CONFIG, "use_fc_norm: \"%.64s\" is not none, true or false",
                               fc);
        final_norm = !I->use_fc_norm;
        if (post_norm && strcmp(post_norm, "none") != 0 &&
            !swin__parse_bool(post_norm, &final_norm))
            return swin__error(SWIN_ERR_CONFIG,
                               "use_post_transformer_norm: \"%.64s\" is not none, true or false",
                               post_norm);
        if (final_norm && I->use_fc_norm)
            return swin__error(SWIN_ERR_UNSUPPORTED,
                               "both a final norm and fc_norm are not supported yet");
        final_norm = final_norm || I->use_fc_norm; /* one of them, before or after pooling */
    }
    if (!final_norm) I->use_fc_norm = false;
    I->final_norm = final_norm;
    SWIN_TRY(swin__config_set(m, "final_norm", "%d", final_norm ? 1 : 0));

    /* the blocks */
    swin_vit_block_cfg *c = &I->cfg;
    c->kind = post ? SWIN_VIT_POST : SWIN_VIT_PRE;
    if ((v = swin__src_value(src, "block_fn", NULL)) &&
        (strcmp(v, "ResPostBlock") == 0 || strcmp(v, "ResPostRelPosBlock") == 0))
        c->kind = SWIN_VIT_RES_POST;
    bool flag = false;
    if (I->eva) {
        SWIN_TRY(swin__src_bool(src, "use_post_norm", false, &flag));
        if (flag) c->kind = SWIN_VIT_RES_POST; /* EvaBlockPostNorm */
    }
    I->relpos =
        !post && ((src->arch && strcmp(src->arch->timm_class, "VisionTransformerRelPos") == 0) ||
                  swin__w_find(w, "blocks.0.attn.rel_pos.mlp.fc1.weight") ||
                  swin__w_find(w, "shared_rel_pos.mlp.fc1.weight"));
    if (I->relpos) {
        SWIN_TRY(swin__src_bool(src, "shared_rel_pos",
                                swin__w_find(w, "shared_rel_pos.mlp.fc1.weight") != NULL,
                                &I->shared_rel));
        if (I->prefix > 1)
            return swin__error(SWIN_ERR_UNSUPPORTED, "a relative-position ViT with more than a "
                                                     "class token is not supported");
    }
    c->act = post ? SWIN_ACT_RELU : SWIN_ACT_GELU;
    c->glu = SWIN_GLU_NONE;
    if ((v = swin__src_value(src, "mlp_layer", NULL)) &&
        (strcmp(v, "SwiGLUPacked") == 0 ||
         strcmp(v, "GluMlp(act_layer=SiLU,gate_last=false)") == 0)) {
        c->glu = SWIN_GLU_ACT_FIRST;
        c->act = SWIN_ACT_SILU;
    } else if ((v = swin__src_value(src, "activation", &origin)) ||
               ((v = swin__src_value(src, "act_layer", &origin)) && strcmp(v, "none") != 0)) {
        if (!parse_activation(v, &c->act))
            return swin__error(SWIN_ERR_UNSUPPORTED,
                               "activation \"%.64s\" (%s) is not supported yet (gelu, gelu_tanh, "
                               "quick_gelu, silu, relu are)",
                               v, origin);
    }
    SWIN_TRY(swin__src_bool(src, "qkv_bias", true, &c->qkv_bias));
    SWIN_TRY(swin__src_bool(src, "qk_norm", false, &c->qk_norm));
    if (post && (c->qk_norm || c->glu != SWIN_GLU_NONE))
        return swin__error(SWIN_ERR_CONFIG, "vit_postnorm has no qk-norm or gated MLP");
    /* layer scale: timm makes it when init_values is set and not 0 (its value only
     * initialises the gammas); without timm's word, the tensors tell */
    if ((v = swin__src_value(src, "init_values", &origin))) {
        double iv = 0;
        if (strcmp(v, "none") != 0 && strcmp(v, "None") != 0 && !swin__parse_double(v, &iv))
            return swin__error(SWIN_ERR_CONFIG, "init_values: \"%.64s\" (%s) is not a number", v,
                               origin);
        /* Eva makes its gammas for any value but None */
        const bool set = I->eva ? strcmp(v, "none") != 0 && strcmp(v, "None") != 0 : iv != 0.0;
        c->layer_scale = set && c->kind == SWIN_VIT_PRE;
    } else {
        c->layer_scale = swin__w_find(w, "blocks.0.ls1.gamma") != NULL;
    }
    /* mlp_hidden_dim, else mlp_ratio * D, else fc1's rows, else the reference's default */
    const bool have_fc1 = fc1 && fc1->ndim == 2;
    if (swin__src_value(src, "mlp_hidden_dim", NULL)) {
        SWIN_TRY(swin__src_int(src, "mlp_hidden_dim", 1, have_fc1, have_fc1 ? fc1->shape[0] : 0,
                               fc1, "rows", &I->hidden));
    } else if (!I->eva && (v = swin__src_value(src, "mlp_ratio", &origin))) {
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
    /* attention pooling: the model's heads and activation (Eva's: its own, below) */
    I->map_heads = I->heads;
    I->map_act = c->act;
    if (I->eva) SWIN_TRY(resolve_eva(src, w, I, c));
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
    c->dim = I->dim;
    c->heads = I->heads;
    c->hidden = I->hidden;
    c->eps = (float)I->eps;

    /* The position table fixes the stored grid: img_size from it, or checked against it (after
     * the patch embedding, whose mismatch is the more telling one). Its rows are the prefix
     * tokens it covers (Pp: all of them; none, timm's no_embed_class; or the class token alone,
     * transformers' DINOv2 with registers), then the grid. */
    const int64_t D = I->dim, P = I->prefix;
    const int64_t pe_shape[4] = {D, I->in_chans, I->patch, I->patch};
    const float *unused;
    SWIN_TRY(swin__w_get(w, "patch_embed.proj.weight", 4, pe_shape, &unused));
    const char *pe_kind = swin__src_value(src, "pos_embed", NULL);
    bool abs_pos = true;
    if (I->eva) SWIN_TRY(swin__src_bool(src, "use_abs_pos_emb", true, &abs_pos));
    if (I->relpos || !abs_pos || (pe_kind && strcmp(pe_kind, "none") == 0)) {
        /* no position table (the relative-position ViT): img_size fixes the grid */
        SWIN_TRY(swin__src_int(src, "img_size", 1, false, 0, NULL, NULL, &I->img_size));
        if (I->img_size > (1 << 20) || I->img_size < I->patch)
            return swin__error(SWIN_ERR_CONFIG, "img_size %lld is not at least patch_size %lld",
                               (long long)I->img_size, (long long)I->patch);
        I->grid = I->img_size / I->patch;
        I->pos_prefix = 0;
        I->pos_rows = 0;
        I->pos = NULL;
        I->no_embed_class = false;
    } else {
        const swin_weight *pos = swin__w_find(w, "pos_embed");
        const bool pos2 = post || (pos && pos->ndim == 2); /* [T, D] (CLIP's nn.Embedding) */
        const int64_t shape3[3] = {1, -1, D}, shape2[2] = {-1, D};
        SWIN_TRY(swin__w_get(w, "pos_embed", pos2 ? 2 : 3, pos2 ? shape2 : shape3, &I->pos));
        I->pos_rows = pos->shape[pos2 ? 0 : 1];
        bool nec_given = swin__src_value(src, "no_embed_class", NULL) != NULL;
        /* the prefix counts the table may cover, most likely first */
        int64_t cand[3], nc = 0;
        cand[nc++] = I->no_embed_class ? 0 : P;
        if (!post && !nec_given && P > 0) cand[nc++] = 0;
        if (!post && !I->no_embed_class && cls && P > 1) cand[nc++] = 1;
        const char *what = I->no_embed_class ? ""
                           : dist            ? "class and distillation tokens and "
                           : cls && I->reg   ? "class and register tokens and "
                           : cls             ? "a class token and "
                           : I->reg          ? "register tokens and "
                                             : "";
        if ((v = swin__src_value(src, "img_size", &origin))) {
            SWIN_TRY(swin__src_int(src, "img_size", 1, false, 0, NULL, NULL, &I->img_size));
        } else {
            I->img_size = 0;
            for (int64_t k = 0; k < nc && !I->img_size; k++) {
                const int64_t cells = I->pos_rows - cand[k];
                int64_t g = cells > 0 ? (int64_t)sqrt((double)cells) : 0;
                while (g > 0 && g * g > cells)
                    g--;
                while ((g + 1) * (g + 1) <= cells)
                    g++;
                if (g >= 1 && (g * g == cells || (post && k == 0))) I->img_size = g * I->patch;
            }
            if (!I->img_size)
                return swin__error(SWIN_ERR_SHAPE,
                                   "pos_embed holds %lld tokens, which is not %sa square grid of "
                                   "patches: set img_size",
                                   (long long)I->pos_rows, what);
            origin = "the position table";
        }
        /* the patch embedding is a stride-p convolution: a size the patch does not divide leaves
         * its last pixels out, as timm's (SigLIP's 384 with patch 14: 27 patches) */
        if (I->img_size > (1 << 20) || I->img_size < I->patch)
            return swin__error(SWIN_ERR_CONFIG, "img_size %lld is not at least patch_size %lld",
                               (long long)I->img_size, (long long)I->patch);
        I->grid = I->img_size / I->patch;
        const int64_t cells = I->grid * I->grid;
        I->pos_prefix = -1;
        for (int64_t k = 0; k < nc && I->pos_prefix < 0; k++)
            if (post ? cand[k] + cells <= I->pos_rows : cand[k] + cells == I->pos_rows)
                I->pos_prefix = cand[k];
        if (I->pos_prefix < 0)
            return swin__error(SWIN_ERR_SHAPE,
                               "img_size %lld (from %s) with patch %lld needs %s%lld position rows "
                               "(%s%lldx%lld patches), but tensor \"%s\" holds %lld",
                               (long long)I->img_size, origin, (long long)I->patch,
                               post ? "at least " : "", (long long)(cand[0] + cells), what,
                               (long long)I->grid, (long long)I->grid, pos->source,
                               (long long)I->pos_rows);
        I->no_embed_class = I->pos_prefix == 0 && P > 0;
    }
    if (has_block(w, I->depth))
        return swin__error(SWIN_ERR_SHAPE, "the file has more blocks than depth %lld",
                           (long long)I->depth);

    SWIN_TRY(swin__config_set(m, "img_size", "%lld", (long long)I->img_size));
    SWIN_TRY(swin__config_set(m, "patch_size", "%lld", (long long)I->patch));
    SWIN_TRY(swin__config_set(m, "in_chans", "%lld", (long long)I->in_chans));
    SWIN_TRY(swin__config_set(m, "embed_dim", "%lld", (long long)D));
    SWIN_TRY(swin__config_set(m, "depth", "%lld", (long long)I->depth));
    SWIN_TRY(swin__config_set(m, "num_heads", "%lld", (long long)I->heads));
    /* Eva's SwiGLU ratio counts one half of fc1 (timm's hidden_features * 2) */
    const double halves = I->eva && c->glu != SWIN_GLU_NONE ? 2.0 : 1.0;
    SWIN_TRY(swin__config_set(m, "mlp_ratio", "%g", (double)I->hidden / halves / (double)D));
    SWIN_TRY(swin__config_set(m, "mlp_hidden_dim", "%lld", (long long)I->hidden));
    SWIN_TRY(swin__config_set(m, "activation", "%s", activation_name(c->act)));
    SWIN_TRY(swin__config_set(m, "qkv_bias", "%s", c->qkv_bias ? "true" : "false"));
    SWIN_TRY(swin__config_set(m, "class_token", "%d", cls ? 1 : 0));
    if (!post) {
        SWIN_TRY(swin__config_set(m, "dist_token", "%d", dist ? 1 : 0));
        SWIN_TRY(swin__config_set(m, "reg_tokens", "%lld", (long long)I->reg));
        SWIN_TRY(swin__config_set(m, "no_embed_class", "%d", I->no_embed_class ? 1 : 0));
        SWIN_TRY(swin__config_set(m, "pos_antialias", "%d", I->pos_aa ? 1 : 0));
        SWIN_TRY(swin__config_set(m, "qk_norm", "%d", c->qk_norm ? 1 : 0));
        SWIN_TRY(swin__config_set(m, "block_fn", "%s",
                                  c->kind == SWIN_VIT_RES_POST ? "ResPostBlock" : "Block"));
        if (c->glu != SWIN_GLU_NONE)
            SWIN_TRY(swin__config_set(m, "mlp_layer", c->split_glu ? "SwiGLU" : "SwiGLUPacked"));
        if (I->eva) {
            static const char *const ropes[] = {"none", "cat", "dinov3", "mixed"};
            SWIN_TRY(swin__config_set(m, "rope", "%s", ropes[I->rope.kind]));
            if (I->rope.kind)
                SWIN_TRY(swin__config_set(m, "rope_grid_indexing", I->rope.xy ? "xy" : "ij"));
            SWIN_TRY(swin__config_set(m, "scale_attn_inner", "%d", c->attn_norm ? 1 : 0));
            SWIN_TRY(swin__config_set(m, "scale_mlp", "%d", c->mlp_norm ? 1 : 0));
        }
    }
    SWIN_TRY(swin__config_set(m, "global_pool", "%s", pool_names[I->pool]));
    SWIN_TRY(swin__config_set(m, "num_classes", "%lld", (long long)I->num_classes));
    SWIN_TRY(swin__config_set(m, "norm_eps", "%g", I->eps));
    return SWIN_OK;
}

/* ---- binding ---- */

static void unbind(swin_model *m) {
    impl *I = m->impl;
    swin__free(I->rel_bias);
    swin__free(I->blocks);
    swin__free(I);
    m->impl = NULL;
}

static int64_t count_params(const impl *I) {
    const int64_t D = I->dim, F = I->hidden, hd = D / I->heads;
    const swin_vit_block_cfg *c = &I->cfg;
    int64_t n = D * I->in_chans * I->patch * I->patch + (I->pe.proj_b ? D : 0);
    n += I->prefix * D + I->pos_rows * D + (I->norm_pre.weight ? 2 * D : 0);
    const int64_t fc2_in = c->glu != SWIN_GLU_NONE ? F / 2 : F;
    /* qkv bias: Eva's has no k part (zeros, not a parameter) */
    const int64_t qkvb = c->qkv_bias ? (I->eva && !I->eva_k_bias ? 2 : 3) * D : 0;
    n += I->depth * (4 * D + 3 * D * D + qkvb + D * D + D + F * D + F + D * fc2_in + D +
                     (c->qk_norm ? 4 * hd : 0) + (c->layer_scale ? 2 * D : 0) +
                     (c->attn_norm ? 2 * D : 0) + (c->mlp_norm ? 2 * fc2_in : 0));
    if (I->rope.freqs) n += 2 * I->depth * I->heads * (hd / 2);
    n += (I->norm.weight ? 2 * D : 0) + (I->fc_norm.weight ? 2 * D : 0);
    if (I->map.latent)
        n += D + (D * D + (I->map.q_b ? D : 0)) + (2 * D * D + (I->map.kv_b ? 2 * D : 0)) + D * D +
             D + 2 * D + 2 * I->map.mlp.hidden * D + I->map.mlp.hidden + D;
    n += I->pooler_w ? D * D + D : 0;
    if (I->relpos) /* RelPosMlp: 2 -> hidden -> heads */
        n += (I->shared_rel ? 1 : I->depth) * (3 * I->rel_hidden + (I->rel_hidden + 1) * I->heads);
    return n + (I->head_dist_w ? 2 : 1) * I->num_classes * (I->feat + (I->head_b ? 1 : 0));
}

/* timm's RelPosMlp (mode "cr") for the G x G grid: an MLP 2 -> hidden -> nH (ReLU) over the
 * offsets (dy, dx) in (-(G-1), G-1)^2 as sign * log(1 + |.|), gathered to [nH, L, L] by the
 * offset of each (query, key) pair of patches; the prefix token's rows and columns are 0.
 * Computed once at load, for every block (or once, shared_rel_pos): timm rebuilds it in
 * each pass from the same weights. */
static swin_status bind_relpos(impl *I, swin_weights *w, const swin_source *src) {
    const int64_t nH = I->heads, G = I->grid, L = G * G, P = I->prefix, N = L + P;
    const int64_t count = I->shared_rel ? 1 : I->depth;
    char name[96];
    snprintf(name, sizeof name, "%s.mlp.fc1.weight",
             I->shared_rel ? "shared_rel_pos" : "blocks.0.attn.rel_pos");
    const swin_weight *f1 = swin__w_find(w, name);
    const char *rd = swin__src_value(src, "rel_pos_dim", NULL);
    if (rd && strcmp(rd, "none") != 0) /* timm's None: RelPosMlp's default, the tensors tell */
        SWIN_TRY(swin__src_int(src, "rel_pos_dim", 1, f1 && f1->ndim == 2,
                               f1 && f1->ndim == 2 ? f1->shape[0] : 0, f1, "rows", &I->rel_hidden));
    else
        I->rel_hidden = f1 && f1->ndim == 2 ? f1->shape[0] : 128; /* RelPosMlp's default */
    size_t n;
    if (I->rel_hidden > (1 << 16) || !swin__mul_size((size_t)(nH * N), (size_t)N, &n) ||
        !swin__mul_size(n, (size_t)count, &n) || n > ((size_t)1 << 32))
        return swin__error(SWIN_ERR_CONFIG, "the relative position bias is implausibly large");
    I->rel_bias = swin__malloc(n * sizeof(float));
    if (!I->rel_bias) return swin__oom();
    for (int64_t k = 0; k < count; k++) {
        char pre[64];
        if (I->shared_rel)
            snprintf(pre, sizeof pre, "shared_rel_pos.mlp");
        else
            snprintf(pre, sizeof pre, "blocks.%lld.attn.rel_pos.mlp", (long long)k);
        char fc1[96], fc2[96];
        snprintf(fc1, sizeof fc1, "%s.fc1", pre);
        snprintf(fc2, sizeof fc2, "%s.fc2", pre);
        swin_relpos r;
        SWIN_TRY(swin__relpos_bind(&r, w, fc1, fc2, nH, I->rel_hidden, true, SWIN_RELPOS_LOG));
        SWIN_TRY(swin__relpos_bias(I->rel_bias + (size_t)k * (size_t)(nH * N * N), &r, G, G, P));
    }
    for (int64_t b = 0; b < I->depth; b++)
        I->blocks[b].attn_bias = I->rel_bias + (I->shared_rel ? 0 : b * nH * N * N);
    return SWIN_OK;
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
    bool pre_norm = false;
    if (!post)
        SWIN_TRY(swin__src_bool(src, I->eva ? "use_pre_transformer_norm" : "pre_norm", false,
                                &pre_norm));
    /* timm's patch embedding has a bias unless pre_norm (CLIP); the tutorial's convolution
     * may or may not */
    const bool pe_bias = post ? swin__w_find(w, "patch_embed.proj.bias") != NULL
                              : !pre_norm || swin__w_find(w, "patch_embed.proj.bias");
    SWIN_TRY(swin__patch_embed_bind(&I->pe, w, "patch_embed", I->in_chans, D, I->patch, pe_bias,
                                    false, eps));
    const int64_t tok[3] = {1, 1, D}, regs[3] = {1, I->reg, D};
    const swin_weight *cw = swin__w_find(w, "cls_token");
    if (I->prefix > I->reg) /* [1, 1, D], or [D] (CLIP's class_embedding) */
        SWIN_TRY(cw && cw->ndim == 1 ? swin__w_get(w, "cls_token", 1, &D, &I->cls)
                                     : swin__w_get(w, "cls_token", 3, tok, &I->cls));
    if (I->reg) SWIN_TRY(swin__w_get(w, "reg_token", 3, regs, &I->regs));
    if (I->prefix - I->reg == 2) SWIN_TRY(swin__w_get(w, "dist_token", 3, tok, &I->dist));
    if (pre_norm) SWIN_TRY(swin__norm_bind(&I->norm_pre, w, "norm_pre", D, eps));
    I->blocks = swin__calloc((size_t)I->depth, sizeof *I->blocks);
    if (!I->blocks) return swin__oom();
    char prefix[64];
    for (int64_t b = 0; b < I->depth; b++) {
        snprintf(prefix, sizeof prefix, "blocks.%lld", (long long)b);
        SWIN_TRY(swin__vit_block_bind(&I->blocks[b], w, prefix, &I->cfg));
    }
    if (I->relpos) SWIN_TRY(bind_relpos(I, w, src));
    if (I->rope.kind == SWIN_ROPE_MIXED) { /* learned frequencies per block and head */
        const int64_t shape[4] = {2, I->depth, I->heads, D / I->heads / 2};
        SWIN_TRY(swin__w_get(w, "rope.freqs", 4, shape, &I->rope.freqs));
    }
    const bool final_norm = I->final_norm;
    if (post) {
        /* nn.TransformerEncoder(..., norm=LayerNorm) */
        if (swin__w_find(w, "norm.weight")) SWIN_TRY(swin__norm_bind(&I->norm, w, "norm", D, eps));
    } else if (!final_norm) {    /* timm: neither norm */
    } else if (I->use_fc_norm) { /* timm: the final norm after pooling */
        SWIN_TRY(swin__norm_bind(&I->fc_norm, w, "fc_norm", D, eps));
    } else { /* the final norm before pooling */
        SWIN_TRY(swin__norm_bind(&I->norm, w, "norm", D, eps));
    }
    if (I->pool == POOL_MAP) {
        /* timm's AttentionPoolLatent (heads and activation from resolve) */
        SWIN_TRY(swin__attn_pool_bind(&I->map, w, "attn_pool", D, I->map_heads, I->cfg.qkv_bias,
                                      eps, I->map_act));
    }
    bool head_bias = true;
    SWIN_TRY(swin__src_bool(src, "head_bias", true, &head_bias));
    if (K > 0) {
        const int64_t shape[2] = {K, I->feat};
        SWIN_TRY(swin__w_get(w, "head.weight", 2, shape, &I->head_w));
        if (head_bias) SWIN_TRY(swin__w_get(w, "head.bias", 1, &K, &I->head_b));
        if (I->dist) {
            SWIN_TRY(swin__w_get_opt(w, "head_dist.weight", 2, shape, &I->head_dist_w));
            if (I->head_dist_w) SWIN_TRY(swin__w_get(w, "head_dist.bias", 1, &K, &I->head_dist_b));
        }
    }
    swin__drop_head(w, K);
    if (!post && swin__w_find(w, "pooler.weight")) {
        /* transformers' ViTPooler: tanh(dense(final-norm class token)) */
        const int64_t shape[2] = {D, D};
        if (!I->cls || I->pool != POOL_TOKEN)
            return swin__error(SWIN_ERR_CONFIG, "a pooler needs the class token");
        SWIN_TRY(swin__w_get(w, "pooler.weight", 2, shape, &I->pooler_w));
        SWIN_TRY(swin__w_get(w, "pooler.bias", 1, &D, &I->pooler_b));
        m->has_pooler = true;
        SWIN_TRY(swin__config_set(m, "pooler", "1"));
    }
    if (!post) SWIN_TRY(swin__config_set(m, "pre_norm", "%d", pre_norm ? 1 : 0));
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
    out[3] = out[4] = I->grid;
    out[5] = 0; /* no windows: global attention */
    return SWIN_OK;
}

/* Multiply-accumulates at img_size; attention is global, so both counts are the same. */
static swin_status flops(const swin_model *m, int stage_index, double *f, double *fg) {
    const impl *I = m->impl;
    const double grid = (double)I->grid, L = grid * grid;
    const double N = L + (double)I->prefix, C = (double)I->dim, F = (double)I->hidden;
    const double fc2_in = I->cfg.glu != SWIN_GLU_NONE ? F / 2 : F;
    double total = (double)I->depth * (4.0 * N * C * C + 2.0 * N * N * C + N * C * (F + fc2_in));
    if (stage_index < 0) {
        total += L * C * (double)(I->in_chans * I->patch * I->patch) +
                 (double)I->feat * (double)I->num_classes * (I->head_dist_w ? 2.0 : 1.0) +
                 (I->pooler_w ? C * C : 0.0);
        if (I->map.latent) /* kv of every token, q, the latent's attention, proj, mlp */
            total +=
                2.0 * N * C * C + C * C + 2.0 * N * C + C * C + 2.0 * C * (double)I->map.mlp.hidden;
    }
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
    float *pos;      /* [T', D]: the position table resampled to the input grid, or NULL */
    float *rope_sin, *rope_cos; /* [tables, L, hd]: the rotary embedding of the input grid */
    swin_rope rope;
    float *scratch;
} plan;

static size_t max_size(size_t a, size_t b) {
    return a > b ? a : b;
}

/* Floats of the pooling's scratch: pooled, second, second head [B, 2F + K]; map: the attention
 * pool's. */
static size_t pool_scratch(const impl *I, int64_t B, int64_t N) {
    size_t n = (size_t)B * (2 * (size_t)I->feat + (size_t)I->num_classes);
    if (I->pool == POOL_MAP) {
        const size_t map = swin__attn_pool_scratch(&I->map, B, N);
        if (map == SIZE_MAX) return SIZE_MAX;
        n = max_size(n, map);
    }
    return n;
}

/* threads: the threads of the pool the plan runs on. rows: the resampled table's rows, or 0. */
static void layout(swin_arena *bp, plan *P, const impl *I, int64_t B, int64_t H, int64_t W,
                   int threads, int64_t rows) {
    if (I->rope.kind) { /* [tables, L, hd] sin and cos */
        const int64_t tables = I->rope.kind == SWIN_ROPE_MIXED ? I->depth * I->heads : 1;
        const int64_t hd = I->dim / I->heads;
        P->rope_sin = swin__arena_take(bp, swin__arena_count(bp, tables, P->L, hd, 1));
        P->rope_cos = swin__arena_take(bp, swin__arena_count(bp, tables, P->L, hd, 1));
    }
    const int64_t D = I->dim;
    P->x = swin__arena_take(bp, swin__arena_count(bp, B, P->N, D, 1));
    P->stage = swin__arena_take(bp, swin__arena_count(bp, B, P->L, D, 1));
    P->tokens = swin__arena_take(bp, swin__arena_count(bp, B, P->N, D, 1));
    P->features = swin__arena_take(bp, swin__arena_count(bp, B, I->feat, 1, 1));
    P->logits = I->num_classes
                    ? swin__arena_take(bp, swin__arena_count(bp, B, I->num_classes, 1, 1))
                    : NULL;
    P->pooler = I->pooler_w ? swin__arena_take(bp, swin__arena_count(bp, B, D, 1, 1)) : NULL;
    P->pos = rows ? swin__arena_take(bp, swin__arena_count(bp, rows, D, 1, 1)) : NULL;
    /* the patch embedding's, a block's, the pooling's, the resampling's */
    size_t scratch = swin__arena_size(bp, swin__patch_embed_scratch(&I->pe, B, H, W));
    scratch = max_size(
        scratch, swin__arena_size(bp, swin__vit_block_scratch(&I->blocks[0], B, P->N, threads)));
    scratch = max_size(scratch, swin__arena_size(bp, pool_scratch(I, B, P->N)));
    if (rows)
        scratch = max_size(scratch,
                           swin__arena_size(bp, swin__resample_scratch(D, I->grid, W / I->patch)));
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
    const int64_t Pp = I->pos_prefix;
    if (I->post && N > I->pos_rows)
        return swin__error(SWIN_ERR_INPUT_SIZE,
                           "input %lldx%lld makes %lld tokens (%lldx%lld patches%s), but pos_embed "
                           "holds only %lld (img_size %lld)",
                           (long long)H, (long long)W, (long long)N, (long long)Hg, (long long)Wg,
                           I->prefix ? " and a class token" : "", (long long)I->pos_rows,
                           (long long)I->img_size);
    if (I->relpos && (Hg != I->grid || Wg != I->grid))
        return swin__error(SWIN_ERR_INPUT_SIZE,
                           "input %lldx%lld makes %lldx%lld patches, but this relative-position "
                           "ViT's bias is made for %lldx%lld (img_size %lld), as timm's",
                           (long long)H, (long long)W, (long long)Hg, (long long)Wg,
                           (long long)I->grid, (long long)I->grid, (long long)I->img_size);
    /* another grid than the table's: the table resampled to it, as timm's dynamic_img_size */
    const bool resample = !I->post && I->pos && (Hg != I->grid || Wg != I->grid);
    if (resample && (Hg > (1 << 14) || Wg > (1 << 14)))
        return swin__error(SWIN_ERR_INPUT_SIZE, "input %lldx%lld is implausibly large",
                           (long long)H, (long long)W);
    plan *P = swin__calloc(1, sizeof *P);
    if (!P) return swin__oom();
    ctx->plan = P;
    P->L = L;
    P->N = N;
    const int threads = swin__pool_size(ctx->pool);
    const int64_t rows = resample ? Pp + L : 0;
    swin_arena count = {0};
    layout(&count, P, I, B, H, W, threads, rows);
    SWIN_TRY(swin__arena_alloc(ctx, &count, B, H, W));
    swin_arena real = {.base = ctx->arena};
    layout(&real, P, I, B, H, W, threads, rows);
    if (resample) {
        /* prefix rows as they are, the grid resampled (bicubic; timm antialiases, most
         * transformers models do not) */
        memcpy(P->pos, I->pos, (size_t)(Pp * D) * sizeof(float));
        SWIN_TRY(swin__resample_pos(P->pos + Pp * D, I->pos + Pp * D, D, I->grid, I->grid, Hg, Wg,
                                    I->pos_aa, P->scratch));
    }
    if (I->rope.kind) {
        swin__rope_build(&I->rope, Hg, Wg, P->rope_sin, P->rope_cos);
        P->rope = (swin_rope){P->rope_sin, P->rope_cos,  I->prefix,
                              L,           I->rope.half, I->rope.kind == SWIN_ROPE_MIXED};
    }
    const int64_t sshape[4] = {B, Hg, Wg, D}, fshape[2] = {B, I->feat}, pshape[2] = {B, D};
    const int64_t lshape[2] = {B, I->num_classes};
    swin__tensor_view(&ctx->stages[0], P->stage, 4, sshape);
    const int64_t tshape[3] = {B, N, D};
    swin__tensor_view(&ctx->tokens, P->tokens, 3, tshape);
    swin__tensor_view(&ctx->features, P->features, 2, fshape);
    if (P->logits) swin__tensor_view(&ctx->logits, P->logits, 2, lshape);
    if (P->pooler) swin__tensor_view(&ctx->pooler, P->pooler, 2, pshape);
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
    const float *pos = P->pos ? P->pos : I->pos;
    /* tokens: [class token; register tokens | distillation token; patches] + the position
     * table over the prefix tokens it covers and the patches */
    swin__patch_embed_forward(P->stage, input, &I->pe, B, ctx->H, ctx->W, P->scratch, pool);
    for (int64_t b = 0; b < B; b++) {
        float *xb = P->x + b * N * D;
        int64_t t = 0;
        if (I->cls) memcpy(xb + D * t++, I->cls, row);
        if (I->regs) memcpy(xb + D * t, I->regs, (size_t)I->reg * row), t += I->reg;
        if (I->dist) memcpy(xb + D * t++, I->dist, row);
        memcpy(xb + Pf * D, P->stage + b * L * D, (size_t)L * row);
        if (!pos) continue; /* the relative-position ViT */
        swin__add_inplace(xb, pos, I->pos_prefix * D);
        swin__add_inplace(xb + Pf * D, pos + I->pos_prefix * D, L * D);
    }
    if (I->norm_pre.weight)
        swin__layernorm(P->x, P->x, I->norm_pre.weight, I->norm_pre.bias, B * N, D, I->norm_pre.eps,
                        pool);
    for (int64_t k = 0; k < I->depth; k++)
        swin__vit_block_forward(P->x, &I->blocks[k], B, N, I->rope.kind ? &P->rope : NULL, k,
                                P->scratch, pool);
    for (int64_t b = 0; b < B; b++)
        memcpy(P->stage + b * L * D, P->x + (b * N + Pf) * D, (size_t)L * row);

    /* the token map: the final norm's output (timm's forward_features), prefix tokens too */
    if (I->norm.weight)
        swin__layernorm(P->tokens, P->x, I->norm.weight, I->norm.bias, B * N, D, I->norm.eps, pool);
    else
        memcpy(P->tokens, P->x, (size_t)(B * N) * row);
    /* pooling into pooled [B, D] (and a distilled model's distillation tokens into second) */
    const int64_t F = I->feat;
    float *pooled = P->scratch, *second = pooled + B * F, *second_logits = second + B * F;
    const bool distilled = I->dist && I->head_dist_w;
    if (I->pool == POOL_MAP) {
        const int64_t skip = I->eva || I->pool_prefix ? 0 : Pf;
        swin__attn_pool_forward(P->features, P->tokens, &I->map, B, N, skip, P->scratch, pool);
        memcpy(pooled, P->features, (size_t)B * row);
    }
    for (int64_t b = 0; b < B && I->pool != POOL_MAP; b++) {
        const float *tb = P->tokens + b * N * D;
        float *pb = pooled + b * F;
        if (I->pool == POOL_TOKEN || I->pool == POOL_TOKEN_AVG) { /* the class token */
            memcpy(pb, tb, row);
            if (distilled) memcpy(second + b * D, tb + D, row);
            if (I->pool == POOL_TOKEN) continue;
            pb += D; /* DINOv2's head: then the mean of the patch tokens */
        }
        const int64_t t0 = I->pool_prefix && I->pool != POOL_TOKEN_AVG ? 0 : Pf;
        for (int64_t c = 0; c < D; c++) { /* the mean and/or maximum of the patch tokens */
            double acc = 0.0;
            float mx = tb[t0 * D + c];
            for (int64_t t = t0; t < N; t++) {
                const float v = tb[t * D + c];
                acc += v;
                mx = v > mx ? v : mx;
            }
            const float mean = (float)(acc / (double)(N - t0));
            pb[c] = I->pool == POOL_AVG || I->pool == POOL_TOKEN_AVG ? mean
                    : I->pool == POOL_MAX                            ? mx
                                                                     : 0.5f * (mx + mean);
        }
    }
    if (I->fc_norm.weight) /* timm's fc_norm: the final norm after pooling */
        swin__layernorm(pooled, pooled, I->fc_norm.weight, I->fc_norm.bias, B, D, I->fc_norm.eps,
                        pool);
    if (distilled) /* timm's pre_logits of a distilled model: the mean of the two tokens */
        for (int64_t i = 0; i < B * D; i++)
            P->features[i] = (pooled[i] + second[i]) / 2;
    else
        memcpy(P->features, pooled, (size_t)(B * F) * sizeof(float));
    if (P->logits) {
        swin__linear(P->logits, pooled, I->head_w, I->head_b, B, F, K, pool);
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
