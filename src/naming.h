/* The naming layer: a checkpoint's tensors under one canonical set of names.
 *
 * Each checkpoint layout (timm, the official Microsoft Swin release, Hugging Face transformers,
 * PyTorch's nn.TransformerEncoder) is a table of rename rules onto the canonical names, which
 * are timm's, with the classifier always `head.{weight,bias}`. Then assembly rules: q, k and v
 * rows are concatenated into qkv, recomputable buffers are kept aside to be checked, tensors
 * that inference never reads (a masked-modelling token) are set aside. Families and layers
 * look tensors up by canonical name only; messages name the tensor as the file names it.
 * Legend of canonical names (timm's): patch_embed.proj.*, cls_token, dist_token, pos_embed,
 * blocks.{i}.{norm1,attn.qkv,attn.proj,norm2,mlp.fc1,mlp.fc2}.*,
 * layers.{s}.downsample.{norm,reduction}.* (the PatchMerging that starts stage s),
 * layers.{s}.blocks.{b}.{..., attn.relative_position_bias_table}, norm.*, fc_norm.*, pooler.*,
 * head.*. */
#ifndef SWIN_NAMING_H
#define SWIN_NAMING_H

#include "internal.h"

/* What a canonical tensor is for. */
typedef enum swin_role {
    SWIN_ROLE_PARAM,   /* a weight the architecture must use */
    SWIN_ROLE_BUFFER,  /* recomputable (relative_position_index, attn_mask): checked, not used */
    SWIN_ROLE_IGNORED, /* never read at inference (transformers' mask_token) */
    SWIN_ROLE_ALIAS,   /* in rename rules only: a parameter under a second name of the layout */
} swin_role;

typedef struct swin_weight {
    const char *name;   /* canonical */
    const char *source; /* as the file names it (the query part for an assembled qkv) */
    swin_dtype dtype;
    int ndim;
    int64_t shape[SWIN_MAX_DIMS];
    size_t numel;
    const uint8_t *raw; /* the file's bytes; NULL when assembled */
    const float *f32;   /* float32 view (file, converted or assembled); NULL: not a float */
    swin_role role;
    bool used; /* bound by a layer, or a buffer that was checked */
} swin_weight;

typedef struct swin_layout swin_layout;

typedef struct swin_weights {
    const swin_layout *layout;
    char prefix[32];    /* the base-model prefix the file uses ("vit.", "swin.") or "" */
    swin_weight *items; /* sorted by canonical name */
    size_t n;
    float *assembled; /* concatenated q;k;v, 64-byte aligned */
    char *names;      /* storage of the canonical names */
} swin_weights;

/* The layouts, by name ("timm", "official", "transformers", "pytorch"); NULL when unknown. */
const swin_layout *swin__layout_find(const char *name);
const char *swin__layout_name(const swin_layout *layout);

/* Which layout the file's tensor names follow (hint: a layout a config file asked for, or
 * NULL to judge from the names alone). */
const swin_layout *swin__layout_detect(const swin_safetensors *st, const char *hint);

/* Builds the canonical view of st's tensors (borrowed: st must outlive w). Fails when two
 * tensors map to one name, or a q/k/v part is missing or misshapen. When st owns its mapping,
 * the file pages of the concatenated q/k/v tensors are released after the copy. */
swin_status swin__weights_build(swin_weights *w, swin_safetensors *st, const swin_layout *layout);
void swin__weights_free(swin_weights *w);

/* The canonical tensor, or NULL. */
const swin_weight *swin__w_find(const swin_weights *w, const char *name);
/* Formats a canonical name, then finds it (NULL when absent). */
const swin_weight *swin__w_findf(const swin_weights *w, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* How the file names a canonical tensor, whether or not it holds it (for messages). */
const char *swin__w_source(const swin_weights *w, const char *name, char *buf, size_t cap);

/* Looks up a float tensor by canonical name, checks its shape (ndim dims; -1 matches any
 * size) and marks it used. Missing -> SWIN_ERR_MISSING_TENSOR, not a float ->
 * SWIN_ERR_DTYPE, shape -> SWIN_ERR_SHAPE; messages name the file's tensor. */
swin_status swin__w_get(swin_weights *w, const char *name, int ndim, const int64_t *shape,
                        const float **out);
/* The same for an optional tensor: *out = NULL and SWIN_OK when absent. */
swin_status swin__w_get_opt(swin_weights *w, const char *name, int ndim, const int64_t *shape,
                            const float **out);
/* Marks a tensor used (a buffer the caller has checked). */
void swin__w_mark(swin_weights *w, const swin_weight *t);

/* With num_classes 0, a classifier the file has (head.*, head_dist.*) is left unused on
 * purpose: marks it used. */
void swin__drop_head(swin_weights *w, int64_t num_classes);

/* After binding: every parameter and buffer must have been used. The first that was not is
 * named, with the feature it belongs to where its name tells (layer scale, register tokens,
 * ...): SWIN_ERR_UNSUPPORTED for a known feature, SWIN_ERR_SHAPE otherwise. arch names the
 * architecture in the message. */
swin_status swin__w_check_unused(const swin_weights *w, const char *arch);

/* The feature a canonical tensor name belongs to, for refusals ("layer scale (ls1.gamma)"),
 * or NULL when the name does not tell. */
const char *swin__feature_of(const char *name);

#endif /* SWIN_NAMING_H */
