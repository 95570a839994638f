/* The Swin family as timm computes it (and as transformers computes it, for transformers
 * folders): Swin v1 (SwinTransformer, with Swin S3's window per stage), Swin V2
 * (SwinTransformerV2, transformers' swinv2) and timm's own V2 variant (SwinTransformerV2Cr).
 * The architecture, the model-constant tables, the memory plan and the stage loop; the layers
 * compute, this file wires. It sees canonical tensor names only (naming.h).
 * V2 and CR differ from v1 in their blocks (scaled cosine attention, res-post-norm), their
 * relative position bias (an MLP over log-spaced offsets, computed here once per block at
 * load: relpos.c) and, V2, in PatchMerging (reduce, then normalise); CR names its stages
 * `stages`, has no final norm (its last block's norm3 is) and normalises the main branch
 * every extra_norm_period blocks.
 * Legend: B batch, S stages, C_s = embed_dim * 2^s channels of stage s, H_s x W_s its grid,
 * N = wh*ww tokens per window. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../layers/layers.h"
#include "../model.h"

typedef enum variant { V1, V2, CR } variant;

static const char *const timm_classes[] = {"SwinTransformer", NULL};
static const char *const model_types[] = {"swin", NULL};
static const char *const v2_classes[] = {"SwinTransformerV2", NULL};
static const char *const v2_model_types[] = {"swinv2", NULL};
static const char *const cr_classes[] = {"SwinTransformerV2Cr", NULL};
static const char *const no_model_types[] = {NULL};

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

/* Swin V2: libswin's keys and timm's SwinTransformerV2 arguments. */
static const swin_key v2_keys[] = {
    {"img_size", SWIN_K_LIST, "input size the model is configured for (windows follow it)", NULL,
     NULL},
    {"patch_size", SWIN_K_INT, "patch embedding stride and kernel", NULL, NULL},
    {"in_chans", SWIN_K_INT, "input channels", NULL, NULL},
    {"embed_dim", SWIN_K_INT, "channels of stage 0 (stage s has embed_dim * 2^s)", NULL, NULL},
    {"depths", SWIN_K_LIST, "blocks per stage", NULL, NULL},
    {"num_heads", SWIN_K_LIST, "attention heads per stage", NULL, NULL},
    {"window_size", SWIN_K_LIST, "attention window (one for every stage)", NULL, NULL},
    {"pretrained_window_sizes", SWIN_K_LIST,
     "per stage: the window the position-bias coordinates are scaled by (0: the stage's own)", NULL,
     NULL},
    {"mlp_ratio", SWIN_K_REAL, "MLP hidden width over channels", NULL, NULL},
    {"num_classes", SWIN_K_INT, "classifier outputs; 0 for a backbone", NULL, NULL},
    {"norm_eps", SWIN_K_REAL, "LayerNorm epsilon", NULL, NULL},
    {"qkv_bias", SWIN_K_BOOL, "whether q and v have biases", NULL, NULL},
    {"windowing", SWIN_K_STR,
     "timm: shift, then pad; transformers: pad, then shift, and a padded patch embedding",
     "timm|transformers", "another windowing"},
    {"activation", SWIN_K_STR, "MLP activation", "gelu", "an MLP activation other than exact GELU"},
    {"act_layer", SWIN_K_STR, "timm: MLP activation", "gelu|GELU",
     "an MLP activation other than exact GELU"},
    {"ape", SWIN_K_BOOL, "absolute position embedding", "0|false|False",
     "an absolute position embedding"},
    {"global_pool", SWIN_K_STR, "timm's pooling", "avg", "no pooling before the head"},
    {"always_partition", SWIN_K_BOOL, "timm: windows not clamped to small stages", "0|false|False",
     "windows not clamped to the stage size"},
    {"strict_img_size", SWIN_K_BOOL, "timm: only the configured input size", NULL, NULL},
    {"norm_layer", SWIN_K_STR, "timm's norm: LayerNorm, optionally with eps", NULL, NULL},
    {NULL, 0, NULL, NULL, NULL},
};

/* timm's SwinTransformerV2Cr arguments. */
static const swin_key cr_keys[] = {
    {"img_size", SWIN_K_LIST, "input size the model is configured for (windows follow it)", NULL,
     NULL},
    {"patch_size", SWIN_K_INT, "patch embedding stride and kernel", NULL, NULL},
    {"in_chans", SWIN_K_INT, "input channels", NULL, NULL},
    {"embed_dim", SWIN_K_INT, "channels of stage 0 (stage s has embed_dim * 2^s)", NULL, NULL},
    {"depths", SWIN_K_LIST, "blocks per stage", NULL, NULL},
    {"num_heads", SWIN_K_LIST, "attention heads per stage", NULL, NULL},
    {"window_size", SWIN_K_LIST,
     "attention window (one for every stage); timm's none: the patch grid / window_ratio", NULL,
     NULL},
    {"window_ratio", SWIN_K_INT, "swinv2_cr: the patch grid over the window", NULL, NULL},
    {"mlp_ratio", SWIN_K_REAL, "MLP hidden width over channels", NULL, NULL},
    {"num_classes", SWIN_K_INT, "classifier outputs; 0 for a backbone", NULL, NULL},
    {"norm_eps", SWIN_K_REAL, "LayerNorm epsilon", NULL, NULL},
    {"extra_norm_period", SWIN_K_INT, "swinv2_cr: a norm on the main branch every N blocks", NULL,
     NULL},
    {"extra_norm_stage", SWIN_K_BOOL, "swinv2_cr: a norm on the main branch ending each stage",
     NULL, NULL},
    {"init_values", SWIN_K_STR, "swinv2_cr: the post-norms' initial weight (training only)", NULL,
     NULL},
    {"sequential_attn", SWIN_K_BOOL, "swinv2_cr: unused by timm", NULL, NULL},
    {"global_pool", SWIN_K_STR, "timm's pooling", "avg", "no pooling before the head"},
    {"always_partition", SWIN_K_BOOL, "timm: windows not clamped to small stages", "0|false|False",
     "windows not clamped to the stage size"},
    {"strict_img_size", SWIN_K_BOOL, "timm: only the configured input size", NULL, NULL},
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

/* transformers' Swinv2Config keys. */
static const swin_hf_key v2_hf_keys[] = {
    {"embed_dim", "embed_dim"},
    {"depths", "depths"},
    {"num_heads", "num_heads"},
    {"window_size", "window_size"},
    {"pretrained_window_sizes", "pretrained_window_sizes"},
    {"mlp_ratio", "mlp_ratio"},
    {"qkv_bias", "qkv_bias"},
    {"hidden_act", "activation"},
    {"layer_norm_eps", "norm_eps"},
    {"image_size", "img_size"},
    {"patch_size", "patch_size"},
    {"num_channels", "in_chans"},
    {"use_absolute_embeddings", "ape"},
    {NULL, NULL},
};

typedef struct stage {
    int64_t depth, heads, dim, hidden;
    int64_t H, W;             /* grid at the model's img_size: (img_size / patch) >> s */
    int64_t window;           /* the target window */
    int64_t wh, ww;           /* the window the relative position tables are made for */
    int64_t sh, sw;           /* timm: shift of the odd blocks */
    int64_t pretrained;       /* V2: the pretraining window the bias coordinates scale by, or 0 */
    int64_t cpb_hidden;       /* V2, CR: the bias MLP's hidden width */
    int norm3;                /* CR: blocks with norm3 */
    swin_patch_merging merge; /* s >= 1: PatchMerging that starts the stage */
    swin_block *blocks;
    float *bias; /* [depth, nH, N, N]: relative position bias, gathered (v1) or computed by the
                  * MLP (V2, CR) once at load */
    float *mask; /* [nW, N, N]: shift mask at img_size, or NULL */
    swin_geom mask_geom; /* the geometry it was made for */
} stage;

typedef struct impl {
    variant var;
    const char *sn; /* the stages' canonical name: "layers", or CR's "stages" */
    int64_t img_size, patch, in_chans, embed_dim, num_classes;
    double mlp_ratio;
    double eps;       /* the blocks' and the final norm's */
    double eps_embed; /* the patch embedding's and PatchMerging's norms (1e-5 in transformers) */
    bool qkv_bias, patch_norm;
    bool hf; /* transformers: pad before the shift, padded patches (v1: windows from the input
              * size) */
    float mask_value; /* what the shift mask adds: -100, or transformers' Swin V2's -200 (it
                       * adds its -100 mask twice) */
    int S;
    swin_patch_embed pe;
    stage st[SWIN_MAX_STAGES];
    swin_norm norm; /* weight NULL: none (CR) */
    const float *head_w, *head_b;
} impl;

static bool detect(const swin_weights *w) {
    return swin__w_find(w, "layers.0.blocks.0.attn.relative_position_bias_table") != NULL;
}

static bool detect_v2(const swin_weights *w) {
    return swin__w_find(w, "layers.0.blocks.0.attn.cpb_mlp.0.weight") ||
           swin__w_find(w, "layers.0.blocks.0.attn.logit_scale");
}

static bool detect_cr(const swin_weights *w) {
    return swin__w_find(w, "stages.0.blocks.0.attn.meta_mlp.fc1.weight") ||
           swin__w_find(w, "stages.0.blocks.0.attn.logit_scale");
}

/* ---- geometry ---- */

/* Geometry of a block (odd: an odd block) of stage g on a runtime grid H x W. timm (and
 * transformers' Swin V2) takes the window and shift from the configured grid; transformers'
 * Swin v1 from the runtime one, with a square
 * window of the smaller side when that side is not larger than the window, whose relative
 * position table (made for the configured window) must then still fit: false when not. */
static bool block_geom(const impl *I, const stage *g, int64_t H, int64_t W, bool odd,
                       swin_geom *out) {
    if (!I->hf || I->var != V1) { /* transformers' Swin V2 fixes its windows as timm does */
        swin__geom(out, H, W, g->wh, g->ww, odd ? g->sh : 0, odd ? g->sw : 0, I->hf);
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

/* The heads of stage s the tensors tell: v1's table columns, V2's and CR's logit scales. */
static const swin_weight *heads_tensor(const impl *I, const swin_weights *w, int s,
                                       int64_t *heads) {
    const swin_weight *t;
    if (I->var == V1) {
        t = swin__w_findf(w, "layers.%d.blocks.0.attn.relative_position_bias_table", s);
        if (!t || t->ndim != 2) return NULL;
        *heads = t->shape[1];
        return t;
    }
    t = swin__w_findf(w, "%s.%d.blocks.0.attn.logit_scale", I->sn, s);
    if (!t || t->ndim < 1) return NULL;
    *heads = t->shape[0];
    return t;
}

/* V2 and CR: the window of every stage (one value), and V2's pretraining windows. */
static swin_status v2_windows(const swin_source *src, impl *I, int nd, int64_t *windows, int *nw,
                              const char **origin, int64_t *pretrained) {
    const char *v = swin__src_value(src, "window_size", origin);
    if (I->var == CR && (!v || strcmp(v, "none") == 0)) {
        /* timm: the patch grid over window_ratio */
        int64_t ratio;
        SWIN_TRY(swin__src_int(src, "window_ratio", 1, false, 0, NULL, NULL, &ratio));
        windows[0] = I->img_size / I->patch / ratio;
        *nw = 1;
        *origin = "img_size / patch_size / window_ratio";
        if (windows[0] < 1)
            return swin__error(SWIN_ERR_CONFIG,
                               "window_ratio %lld leaves a %lld-token grid (img_size %lld) "
                               "without a window",
                               (long long)ratio, (long long)(I->img_size / I->patch),
                               (long long)I->img_size);
    } else {
        if (!v)
            return swin__error(SWIN_ERR_CONFIG,
                               "window_size: not given, and a Swin V2 file does not tell it");
        if (!swin__parse_int_list(v, windows, SWIN_MAX_STAGES, nw) || *nw != 1)
            return swin__error(SWIN_ERR_CONFIG,
                               "window_size \"%.64s\" (%s): Swin V2 takes one window for "
                               "every stage",
                               v, *origin);
    }
    for (int s = 0; s < nd; s++)
        pretrained[s] = 0;
    const char *po;
    if (I->var == V2 && (v = swin__src_value(src, "pretrained_window_sizes", &po))) {
        int np;
        /* timm reads the first one per stage */
        if (!swin__parse_int_list(v, pretrained, SWIN_MAX_STAGES, &np) || np < nd)
            return swin__error(SWIN_ERR_CONFIG,
                               "pretrained_window_sizes \"%.64s\" (%s) is not one window per "
                               "stage (%d stages)",
                               v, po, nd);
        for (int s = 0; s < nd; s++)
            if (pretrained[s] == 1 || pretrained[s] > 4096)
                return swin__error(SWIN_ERR_CONFIG,
                                   "pretrained_window_sizes (%s): %lld for stage %d; the "
                                   "position-bias coordinates divide by the window minus one",
                                   po, (long long)pretrained[s], s);
    }
    return SWIN_OK;
}

static swin_status resolve(swin_model *m, const swin_source *src, impl *I) {
    swin_weights *w = &m->w;
    I->hf = false;
    const char *v = swin__src_value(src, "windowing", NULL);
    if (v) I->hf = strcmp(v, "transformers") == 0;
    I->mask_value = I->hf && I->var == V2 ? -200.0f : -100.0f;

    /* What the tensors say. */
    const swin_weight *pe = swin__w_find(w, "patch_embed.proj.weight");
    const bool have_pe = pe && pe->ndim == 4;
    int64_t depths_i[SWIN_MAX_STAGES], heads_i[SWIN_MAX_STAGES], rows_i[SWIN_MAX_STAGES];
    const swin_weight *tables[SWIN_MAX_STAGES] = {0};
    int ns = 0, nh = 0;
    for (int s = 0; s < SWIN_MAX_STAGES; s++) {
        int64_t d = 0;
        while (d < 4096 &&
               swin__w_findf(w, "%s.%d.blocks.%lld.norm1.weight", I->sn, s, (long long)d))
            d++;
        if (!d) break;
        depths_i[ns++] = d;
        int64_t h = 0;
        tables[s] = heads_tensor(I, w, s, &h);
        rows_i[s] = tables[s] && I->var == V1 ? tables[s]->shape[0] : 0;
        if (nh == s && tables[s]) heads_i[nh++] = h;
    }
    if (nh != ns) nh = 0;
    int64_t window_i = 0;
    if (tables[0] && I->var == V1) {
        const int64_t side = (int64_t)llround(sqrt((double)rows_i[0]));
        if (side * side == rows_i[0] && side % 2 == 1) window_i = (side + 1) / 2;
    }
    const swin_weight *head = swin__w_find(w, "head.weight");
    const swin_weight *fc1 = swin__w_findf(w, "%s.0.blocks.0.mlp.fc1.weight", I->sn);

    SWIN_TRY(swin__src_int(src, "embed_dim", 1, have_pe, have_pe ? pe->shape[0] : 0, pe, "channels",
                           &I->embed_dim));
    SWIN_TRY(swin__src_int(src, "in_chans", 1, have_pe, have_pe ? pe->shape[1] : 0, pe,
                           "input channels", &I->in_chans));
    SWIN_TRY(swin__src_int(src, "patch_size", 1, have_pe, have_pe ? pe->shape[2] : 0, pe,
                           "a patch side of", &I->patch));
    int64_t windows[SWIN_MAX_STAGES], depths[SWIN_MAX_STAGES], heads[SWIN_MAX_STAGES];
    int64_t pretrained[SWIN_MAX_STAGES] = {0};
    int nw, nd, nhh;
    const char *window_origin, *depths_origin, *heads_origin;
    SWIN_TRY(get_list(src, "depths", ns, depths_i, depths, &nd, &depths_origin));
    if (swin__src_value(src, "img_size", NULL))
        SWIN_TRY(swin__src_int(src, "img_size", 1, false, 0, NULL, NULL, &I->img_size));
    if (I->var == V1)
        SWIN_TRY(
            get_list(src, "window_size", window_i > 0, &window_i, windows, &nw, &window_origin));
    else if (!I->img_size)
        return swin__error(SWIN_ERR_CONFIG,
                           "img_size: not given, and a Swin V2 file does not tell it");
    else
        SWIN_TRY(v2_windows(src, I, nd, windows, &nw, &window_origin, pretrained));
    SWIN_TRY(get_list(src, "num_heads", nh, heads_i, heads, &nhh, &heads_origin));
    if (nd != nhh)
        return swin__error(SWIN_ERR_CONFIG, "depths has %d stages (%s) but num_heads has %d (%s)",
                           nd, depths_origin, nhh, heads_origin);
    if (nw != 1 && nw != nd)
        return swin__error(SWIN_ERR_CONFIG,
                           "window_size lists %d windows (%s) for %d stages: give one, or one "
                           "per stage",
                           nw, window_origin, nd);
    if (!I->img_size) I->img_size = windows[0] == 12 ? 384 : 224; /* timm's presets */
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
     * transformers each merge pads an odd grid, so the stages run at ceil halvings (Swin V2's
     * windows are still fixed on the floor grid, cres) */
    int64_t res = I->img_size / I->patch, cres = res;
    for (int s = 0; s < nd; s++) {
        stage *g = &I->st[s];
        g->window = windows[nw == 1 ? 0 : s];
        g->pretrained = pretrained[s];
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
        if (s > 0) {
            res = I->hf ? (res + 1) / 2 : res / 2;
            cres /= 2;
        }
        g->H = g->W = res;
        if (g->H < 1)
            return swin__error(SWIN_ERR_CONFIG, "img_size %lld leaves stage %d without tokens",
                               (long long)I->img_size, s);
        if (I->hf && I->var == V1) {
            /* the table is made for the configured window; the runtime clamps (block_geom) */
            g->wh = g->ww = g->window;
            g->sh = g->sw = g->window / 2;
        } else {
            swin__stage_window(cres, cres, g->window, &g->wh, &g->ww, &g->sh, &g->sw);
        }
        /* the file's tables against what the architecture makes */
        if (I->var == V1 && s < ns && tables[s] && rows_i[s] != (2 * g->wh - 1) * (2 * g->ww - 1))
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
            snprintf(last, sizeof last, "%s.%d.blocks.%lld.norm1.weight", I->sn, s,
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
    if (I->var == V2) {
        list_str(buf, sizeof buf, pretrained, nd);
        SWIN_TRY(swin__config_set(m, "pretrained_window_sizes", "%s", buf));
    }
    SWIN_TRY(swin__config_set(m, "img_size", "%lld", (long long)I->img_size));
    SWIN_TRY(swin__config_set(m, "patch_size", "%lld", (long long)I->patch));
    SWIN_TRY(swin__config_set(m, "in_chans", "%lld", (long long)I->in_chans));
    SWIN_TRY(swin__config_set(m, "mlp_ratio", "%g", I->mlp_ratio));
    SWIN_TRY(swin__config_set(m, "qkv_bias", "%s", I->qkv_bias ? "true" : "false"));
    SWIN_TRY(swin__config_set(m, "num_classes", "%lld", (long long)I->num_classes));
    SWIN_TRY(swin__config_set(m, "norm_eps", "%g", I->eps));
    if (I->var != CR)
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
        const int64_t C = g->dim, F = g->hidden, nH = g->heads;
        /* norm(4C') (V2: norm(2C')) and the reduction, C' = C/2 */
        if (s > 0) n += (I->var == V2 ? 2 * C : 2 * (2 * C)) + (2 * C) * C;
        int64_t per_block = 4 * C + 3 * C * C + C * C + C + 2 * F * C + F + C;
        if (I->var == V1) {
            per_block += (I->qkv_bias ? 3 * C : 0) + (2 * g->wh - 1) * (2 * g->ww - 1) * nH;
        } else {
            /* q and v biases (CR: qkv's), the logit scale, the bias MLP 2 -> Hd -> nH */
            const int64_t Hd = g->cpb_hidden;
            per_block += (I->var == CR  ? 3 * C
                          : I->qkv_bias ? 2 * C
                                        : 0) +
                         nH + 3 * Hd + Hd * nH + (I->var == CR ? nH : 0);
        }
        n += g->depth * per_block + g->norm3 * 2 * C;
    }
    const int64_t C = I->st[I->S - 1].dim;
    return n + (I->norm.weight ? 2 * C : 0) + I->num_classes * (C + 1);
}

/* The shift mask of a geometry, with the model's value. */
static void shift_mask(const impl *I, float *mask, const swin_geom *q) {
    swin__shift_mask(mask, q->Hp, q->Wp, q->wh, q->ww, q->sh, q->sw);
    if (I->mask_value != -100.0f)
        for (int64_t k = 0; k < q->nW * q->wh * q->ww * q->wh * q->ww; k++)
            mask[k] = mask[k] != 0.0f ? I->mask_value : 0.0f;
}

/* The model-constant tables of stage g: each block's relative position bias ([nH, N, N]:
 * v1's table gathered, V2's and CR's computed by their MLP), and the shift mask of the
 * geometry at img_size. */
static swin_status tables(const impl *I, stage *g, swin_weights *w, int s) {
    const int64_t N = g->wh * g->ww;
    size_t per_block, all;
    if (!swin__mul_size((size_t)(N * N), (size_t)g->heads, &per_block) ||
        !swin__mul_size(per_block, (size_t)g->depth, &all) || all > SIZE_MAX / sizeof(float))
        return swin__error(SWIN_ERR_CONFIG, "the relative position bias does not fit in memory");
    g->bias = swin__aligned_alloc(all * sizeof(float));
    if (!g->bias)
        return swin__error(SWIN_ERR_OUT_OF_MEMORY,
                           "out of memory: the relative position bias of stage %d needs %zu bytes "
                           "(%.1f MiB)",
                           s, all * sizeof(float), (double)(all * sizeof(float)) / 1048576.0);
    if (I->var == V1) {
        int32_t *index = swin__malloc((size_t)(N * N) * sizeof *index);
        if (!index) return swin__oom();
        swin__relative_position_index(index, g->wh, g->ww);
        for (int64_t b = 0; b < g->depth; b++)
            swin__attention_bias(g->bias + (size_t)b * per_block, &g->blocks[b].attn, index);
        swin__free(index);
    } else {
        for (int64_t b = 0; b < g->depth; b++) {
            char fc1[128], fc2[128];
            swin_relpos r;
            if (I->var == V2) {
                snprintf(fc1, sizeof fc1, "layers.%d.blocks.%lld.attn.cpb_mlp.0", s, (long long)b);
                snprintf(fc2, sizeof fc2, "layers.%d.blocks.%lld.attn.cpb_mlp.2", s, (long long)b);
            } else {
                snprintf(fc1, sizeof fc1, "stages.%d.blocks.%lld.attn.meta_mlp.fc1", s,
                         (long long)b);
                snprintf(fc2, sizeof fc2, "stages.%d.blocks.%lld.attn.meta_mlp.fc2", s,
                         (long long)b);
            }
            SWIN_TRY(swin__relpos_bind(&r, w, fc1, fc2, g->heads, g->cpb_hidden, I->var == CR,
                                       I->var == V2 ? SWIN_RELPOS_LOG2 : SWIN_RELPOS_LOG));
            r.pretrained[0] = r.pretrained[1] = g->pretrained;
            SWIN_TRY(swin__relpos_bias(g->bias + (size_t)b * per_block, &r, g->wh, g->ww, 0));
        }
    }
    if (g->depth < 2) return SWIN_OK;
    swin_geom q;
    if (!block_geom(I, g, g->H, g->W, true, &q) || (!q.sh && !q.sw)) return SWIN_OK;
    const size_t mask_bytes = (size_t)(q.nW * N * N) * sizeof(float);
    g->mask = swin__aligned_alloc(mask_bytes);
    if (!g->mask)
        return swin__error(SWIN_ERR_OUT_OF_MEMORY,
                           "out of memory: the shift mask of stage %d at img_size %lld needs %zu "
                           "bytes (%.1f MiB)",
                           s, (long long)I->img_size, mask_bytes, (double)mask_bytes / 1048576.0);
    shift_mask(I, g->mask, &q);
    g->mask_geom = q;
    return SWIN_OK;
}

/* V2 and CR: the hidden width of the bias MLP (from stage s's first block, else timm's). */
static swin_status cpb_hidden(const impl *I, const swin_weights *w, int s, int64_t *out) {
    const swin_weight *t = I->var == V2
                               ? swin__w_findf(w, "layers.%d.blocks.0.attn.cpb_mlp.0.weight", s)
                               : swin__w_findf(w, "stages.%d.blocks.0.attn.meta_mlp.fc1.weight", s);
    *out = t && t->ndim == 2 ? t->shape[0] : I->var == V2 ? 512 : 384;
    if (*out < 1 || *out > (1 << 16))
        return swin__error(SWIN_ERR_SHAPE, "tensor \"%s\" has %lld rows: implausibly many",
                           t->source, (long long)*out);
    return SWIN_OK;
}

/* CR: whether block b (of depth) of stage s ends with norm3: every extra_norm_period-th
 * block, and the last of a stage with extra_norm_stage (always of the last stage). */
static swin_status cr_norm3(const impl *I, const swin_source *src, int s, int64_t b, int64_t depth,
                            bool *out) {
    int64_t period = 0;
    bool stage_end = false;
    if (swin__src_value(src, "extra_norm_period", NULL))
        SWIN_TRY(swin__src_int(src, "extra_norm_period", 0, false, 0, NULL, NULL, &period));
    SWIN_TRY(swin__src_bool(src, "extra_norm_stage", false, &stage_end));
    const int64_t i = b + 1;
    *out = (period && i % period == 0) || ((stage_end || s == I->S - 1) && i == depth);
    return SWIN_OK;
}

static swin_status bind(swin_model *m, const swin_source *src, variant var) {
    impl *I = swin__calloc(1, sizeof *I);
    if (!I) return swin__oom();
    m->impl = I;
    I->var = var;
    I->sn = var == CR ? "stages" : "layers";
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
            snprintf(prefix, sizeof prefix, "%s.%d.downsample", I->sn, s);
            SWIN_TRY(swin__patch_merging_bind(&g->merge, w, prefix, g->dim / 2, (float)I->eps_embed,
                                              var == V2));
        }
        if (var != V1) SWIN_TRY(cpb_hidden(I, w, s, &g->cpb_hidden));
        g->blocks = swin__calloc((size_t)g->depth, sizeof *g->blocks);
        if (!g->blocks) return swin__oom();
        for (int b = 0; b < g->depth; b++) {
            snprintf(prefix, sizeof prefix, "%s.%d.blocks.%d", I->sn, s, b);
            /* the geometry the file's buffers (if any) were made for: timm's configured one;
             * transformers' relative position index is always for the configured window */
            swin_geom cfg;
            if (I->hf)
                swin__geom(&cfg, g->H, g->W, g->wh, g->ww, b % 2 ? g->sh : 0, b % 2 ? g->sw : 0,
                           true);
            else
                block_geom(I, g, g->H, g->W, b % 2 == 1, &cfg);
            swin_block_cfg c = {g->dim,    g->heads, g->hidden, eps, I->qkv_bias || var == CR,
                                var != V1, false};
            if (var == CR) SWIN_TRY(cr_norm3(I, src, s, b, g->depth, &c.norm3));
            g->norm3 += c.norm3;
            SWIN_TRY(swin__block_bind(&g->blocks[b], w, prefix, &c, &cfg));
        }
        SWIN_TRY(tables(I, g, w, s));
    }
    const int64_t C = I->st[I->S - 1].dim, K = I->num_classes;
    if (var != CR) SWIN_TRY(swin__norm_bind(&I->norm, w, "norm", C, eps));
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

static swin_status bind_v1(swin_model *m, const swin_source *src) {
    return bind(m, src, V1);
}

static swin_status bind_v2(swin_model *m, const swin_source *src) {
    return bind(m, src, V2);
}

static swin_status bind_cr(swin_model *m, const swin_source *src) {
    return bind(m, src, CR);
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
        if (I->var != V1) {
            /* cosine attention: q and k normalised (2C per token), the scores scaled (nH per
             * pair); the bias MLP over the (2wh-1)(2ww-1) offsets, as the reference runs it in
             * every pass (libswin computes it once, at load) */
            const double nH = (double)g->heads, Hd = (double)g->cpb_hidden;
            const double T = (double)((2 * g->wh - 1) * (2 * g->ww - 1));
            const double cpb = T * (2.0 * Hd + Hd * nH);
            win += 2.0 * Lp * C + Lp * N * nH + cpb;
            glob += 2.0 * L * C + L * L * nH + cpb;
        }
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
            shift_mask(I, ps->own_mask, q);
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
    if (I->norm.weight)
        swin__layernorm(P->tokens, last->out, I->norm.weight, I->norm.bias, B * L, C, I->norm.eps,
                        pool);
    else /* CR: its last block's norm3 ends the stages */
        memcpy(P->tokens, last->out, (size_t)(B * L * C) * sizeof(float));
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
    .bind = bind_v1,
    .unbind = unbind,
    .stage_dims = stage_dims,
    .flops = flops,
    .plan = plan_fn,
    .forward = forward,
};

const swin_family swin__family_swinv2 = {
    .name = "swinv2",
    .description = "Swin Transformer V2 (timm's SwinTransformerV2, transformers' swinv2)",
    .timm_classes = v2_classes,
    .model_types = v2_model_types,
    .keys = v2_keys,
    .hf_keys = v2_hf_keys,
    .mean = {0.485f, 0.456f, 0.406f},
    .std = {0.229f, 0.224f, 0.225f},
    .interpolation = "bicubic",
    .crop_pct = 0.9,
    .detect = detect_v2,
    .bind = bind_v2,
    .unbind = unbind,
    .stage_dims = stage_dims,
    .flops = flops,
    .plan = plan_fn,
    .forward = forward,
};

const swin_family swin__family_swinv2_cr = {
    .name = "swinv2_cr",
    .description = "timm's own Swin V2 (SwinTransformerV2Cr, swinv2_cr_*)",
    .timm_classes = cr_classes,
    .model_types = no_model_types,
    .keys = cr_keys,
    .hf_keys = NULL,
    .mean = {0.485f, 0.456f, 0.406f},
    .std = {0.229f, 0.224f, 0.225f},
    .interpolation = "bicubic",
    .crop_pct = 0.9,
    .detect = detect_cr,
    .bind = bind_cr,
    .unbind = unbind,
    .stage_dims = stage_dims,
    .flops = flops,
    .plan = plan_fn,
    .forward = forward,
};
