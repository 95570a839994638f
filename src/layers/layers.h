/* The layers of libswin. Each is a plain function with its shapes written above it; weights are
 * borrowed pointers bound by canonical name (naming.h) from the model's weights; each layer
 * says how much scratch it needs; forward does no allocation and runs on the pool it is given
 * (NULL: the calling thread alone).
 * Legend: B batch, H x W token grid, C channels, nH heads, hd head dim, wh x ww window,
 * N = wh*ww tokens per window, nW windows per image, Hp x Wp grid padded to the window. */
#ifndef SWIN_LAYERS_H
#define SWIN_LAYERS_H

#include "../internal.h"
#include "../naming.h"

/* Joins prefix and suffix into buf ("layers.0.blocks.1" + ".norm1.weight"). */
const char *swin__name(char *buf, size_t cap, const char *prefix, const char *suffix);

/* ---- LayerNorm parameters (bound with the layers that own them) ---- */
typedef struct swin_norm {
    const float *weight; /* [C] */
    const float *bias;   /* [C] */
    float eps;
} swin_norm;
swin_status swin__norm_bind(swin_norm *n, swin_weights *w, const char *prefix, int64_t C,
                            float eps);

/* ---- PatchEmbed (patch_embed.c): strided p x p convolution as im2col . W^T ---- */
typedef struct swin_patch_embed {
    const float *proj_w; /* [D, Cin, p, p] */
    const float *proj_b; /* [D], or NULL for a convolution without bias */
    swin_norm norm;      /* weight NULL: no norm */
    int64_t in_chans, embed_dim, patch;
    bool pad; /* a size p does not divide: zero-pad it (transformers' Swin), else leave the
               * remainder out as a stride-p convolution does (timm) */
} swin_patch_embed;
swin_status swin__patch_embed_bind(swin_patch_embed *pe, swin_weights *w, const char *prefix,
                                   int64_t in_chans, int64_t embed_dim, int64_t patch, bool bias,
                                   bool norm, float eps);
/* The token grid of an H x W input. */
void swin__patch_grid(const swin_patch_embed *pe, int64_t H, int64_t W, int64_t *Ho, int64_t *Wo);
/* Floats of scratch for a [B, Cin, H, W] input; SIZE_MAX when the count overflows. */
size_t swin__patch_embed_scratch(const swin_patch_embed *pe, int64_t B, int64_t H, int64_t W);
/* out [B, Ho, Wo, D] (channels-last tokens) <- in [B, Cin, H, W] (NCHW); Ho x Wo is
 * ceil(H/p) x ceil(W/p) with pe->pad (zero-padded right and bottom), else H/p x W/p. */
void swin__patch_embed_forward(float *out, const float *in, const swin_patch_embed *pe, int64_t B,
                               int64_t H, int64_t W, float *scratch, swin_pool *pool);

/* ---- Multi-head attention (window_attention.c): Swin's WindowAttention, and plain
 * self-attention when there is no bias and no mask ---- */
typedef struct swin_attention {
    const float *qkv_w;       /* [3C, C] */
    const float *qkv_b;       /* [3C], or NULL without qkv bias */
    const float *proj_w;      /* [C, C] */
    const float *proj_b;      /* [C] */
    const float *rel_table;   /* [(2wh-1)(2ww-1), nH], or NULL without relative position bias */
    const float *logit_scale; /* [nH]: Swin V2's scaled cosine attention, q and k L2-normalised
                               * per head and their product times exp(min(logit_scale,
                               * log 100)); NULL: q k^T / sqrt(hd) */
    int64_t dim, heads, wh, ww;
} swin_attention;
swin_status swin__attention_bind(swin_attention *a, swin_weights *w, const char *prefix,
                                 int64_t dim, int64_t heads, int64_t wh, int64_t ww, bool qkv_bias,
                                 bool table);
/* Binds {prefix}.logit_scale ([nH] or [nH, 1, 1]): the attention becomes scaled cosine. */
swin_status swin__attention_bind_cosine(swin_attention *a, swin_weights *w, const char *prefix);
/* Checks a stored {prefix}.relative_position_index buffer, when the file has one, against the
 * index of a wh x ww window (SWIN_ERR_BUFFER_MISMATCH naming the first differing element). */
swin_status swin__attention_check_index(swin_weights *w, const char *prefix, int64_t wh,
                                        int64_t ww);
/* bias [nH, N, N] <- rel_table[index[i, j], h] with index from swin__relative_position_index. */
void swin__attention_bias(float *bias, const swin_attention *a, const int32_t *index);
/* Floats of one thread's attention scores for sequences of N tokens (scores and row factors,
 * rounded up to whole cache lines); SIZE_MAX when the count overflows. */
size_t swin__attention_scores_floats(int64_t N);
/* Floats of scratch for B_ sequences of N tokens on a pool of `threads` threads; SIZE_MAX
 * when the count overflows. */
size_t swin__attention_scratch(const swin_attention *a, int64_t B_, int64_t N, int threads);
/* out [B_, N, C] <- attention over x [B_, N, C]. bias [nH, N, N] and mask [nW, N, N] are added
 * to the scaled scores when not NULL; sequence i uses mask[i % nW]. out must not alias x. */
void swin__attention_forward(float *out, const float *x, const swin_attention *a, int64_t B_,
                             int64_t N, const float *bias, const float *mask, int64_t nW,
                             float *scratch, swin_pool *pool);
/* The middle of attention_forward: merged [B_, N, C] <- softmax(q k^T * scale + bias + mask) v
 * per (sequence, head), from qkv [B_, N, 3C] (cosine attention normalises its q and k in place);
 * scores holds swin__pool_size(pool) * swin__attention_scores_floats(N) floats. */
void swin__attention_core(float *merged, float *qkv, const swin_attention *a, int64_t B_, int64_t N,
                          const float *bias, const float *mask, int64_t nW, float *scores,
                          swin_pool *pool);
/* Every head of sequences [i0, i1), on the calling thread, with thread tid's scores. */
void swin__attention_windows(float *merged, float *qkv, const swin_attention *a, int64_t N,
                             const float *bias, const float *mask, int64_t nW, float *scores,
                             int64_t i0, int64_t i1, int tid);

/* ---- Mlp (mlp.c): fc1, activation, fc2; or a gated (GLU) MLP ---- */
typedef enum swin_glu {
    SWIN_GLU_NONE,      /* fc2(act(fc1(x))) */
    SWIN_GLU_ACT_FIRST, /* fc1's halves a, b: fc2(act(a) * b) (timm's SwiGLUPacked) */
    SWIN_GLU_ACT_LAST   /* fc2(a * act(b)) (timm's GluMlp, gate_last) */
} swin_glu;
typedef struct swin_mlp {
    const float *fc1_w;  /* [hidden, C] (split: the gate half [hidden/2, C], fc1_g) */
    const float *fc1_b;  /* [hidden], or NULL */
    const float *fc1x_w; /* split SwiGLU (timm's SwiGLU): the other half [hidden/2, C], fc1_x */
    const float *fc1x_b;
    swin_norm norm;     /* a LayerNorm before fc2 (timm's scale_mlp); weight NULL: none */
    const float *fc2_w; /* [C, hidden] ([C, hidden/2] when gated) */
    const float *fc2_b; /* [C] */
    int64_t dim, hidden;
    swin_activation act;
    swin_glu glu;
} swin_mlp;
swin_status swin__mlp_bind(swin_mlp *m, swin_weights *w, const char *fc1, const char *fc2,
                           int64_t dim, int64_t hidden, swin_activation act);
swin_status swin__mlp_bind_ex(swin_mlp *m, swin_weights *w, const char *fc1, const char *fc2,
                              int64_t dim, int64_t hidden, swin_activation act, swin_glu glu);
/* timm's SwiGLU with split fc1 ({prefix}.fc1_g, .fc1_x, each [G, C]): fc2(norm(act(g) * x));
 * norm ({prefix}.norm over G) when eps > 0. */
swin_status swin__mlp_bind_split(swin_mlp *m, swin_weights *w, const char *prefix, int64_t dim,
                                 int64_t gated, swin_activation act, bool norm, float eps);
/* The optional LayerNorm after the activation ({prefix}.norm over the hidden width, timm's
 * scale_mlp), for an Mlp or a packed GluMlp already bound. */
swin_status swin__mlp_bind_norm(swin_mlp *m, swin_weights *w, const char *prefix, float eps);
/* Floats of scratch for rows tokens; SIZE_MAX on overflow. */
size_t swin__mlp_scratch(const swin_mlp *m, int64_t rows);
/* out [rows, C] <- fc2(act(fc1(x))); hidden: swin__mlp_scratch floats. out may alias x. */
void swin__mlp_forward(float *out, const float *x, const swin_mlp *m, int64_t rows, float *hidden,
                       swin_pool *pool);
/* out [rows, C] += fc2(act(fc1(x))): the residual connection fused into fc2. */
void swin__mlp_forward_residual(float *out, const float *x, const swin_mlp *m, int64_t rows,
                                float *hidden, swin_pool *pool);

/* ---- SwinBlock (swin_block.c) ---- */
typedef struct swin_block {
    swin_norm norm1, norm2;
    swin_norm norm3; /* swinv2_cr: x = norm3(x) after the block; weight NULL: none */
    swin_attention attn;
    swin_mlp mlp;
    int64_t dim;
    bool res_post; /* Swin V2: x += norm1(attn(x)); x += norm2(mlp(x)) */
} swin_block;
/* What a block is made of. */
typedef struct swin_block_cfg {
    int64_t dim, heads, hidden;
    float eps;
    bool qkv_bias; /* attn.qkv.bias */
    bool v2;       /* Swin V2: scaled cosine attention (attn.logit_scale, no relative position
                    * table: the model computes its bias), res-post-norm */
    bool norm3;    /* norm3 after the block (swinv2_cr) */
} swin_block_cfg;
/* Where a block's windows fall for one input size. */
typedef struct swin_geom {
    int64_t H, W;   /* token grid */
    int64_t wh, ww; /* effective window */
    int64_t sh, sw; /* cyclic shift (0: none) */
    int64_t Hp, Wp; /* grid padded to window multiples */
    int64_t nW;     /* windows per image */
    bool
        pad_first; /* pad, then shift the padded grid (transformers); else shift, then pad (timm) */
} swin_geom;
/* Window and shift of a stage as timm builds it for a configured grid cfg_h x cfg_w: a
 * dimension not larger than the window is one window and is not shifted. */
void swin__stage_window(int64_t cfg_h, int64_t cfg_w, int64_t window, int64_t *wh, int64_t *ww,
                        int64_t *sh, int64_t *sw);
/* Geometry of a block with window wh x ww and shift sh x sw on a runtime grid H x W. */
void swin__geom(swin_geom *g, int64_t H, int64_t W, int64_t wh, int64_t ww, int64_t sh, int64_t sw,
                bool pad_first);
/* Binds {prefix}.{norm1,attn.*,norm2,mlp.fc1,mlp.fc2,norm3}.* as c says. cfg is the block's
 * geometry at the model's configured size: its window is the one the relative position table
 * was made for, and a stored relative_position_index or attn_mask buffer is checked
 * against it. */
swin_status swin__block_bind(swin_block *blk, swin_weights *w, const char *prefix,
                             const swin_block_cfg *c, const swin_geom *cfg);
/* Floats of scratch for a batch of B on a pool of `threads` threads; SIZE_MAX on overflow. */
size_t swin__block_scratch(const swin_block *blk, int64_t B, const swin_geom *g, int threads);
/* x [B, H, W, C] in place: x += attn(norm1(x)) over (shifted) windows; x += mlp(norm2(x))
 * (res-post-norm: x += norm1(attn(x)); x += norm2(mlp(x)); x = norm3(x)).
 * bias [nH, N, N] (relative position), mask [nW, N, N] (NULL when not shifted). */
void swin__block_forward(float *x, const swin_block *blk, const swin_geom *g, int64_t B,
                         const float *bias, const float *mask, float *scratch, swin_pool *pool);
/* Gathers x [B, H, W, C] into windows [B*nW, N, C] of the rolled and zero-padded grid. */
void swin__window_gather(float *restrict out, const float *restrict x, const swin_geom *g,
                         int64_t B, int64_t C, swin_pool *pool);
/* x [B, H, W, C] += windows [B*nW, N, C] cropped and rolled back (inverse of gather). */
void swin__window_scatter_add(float *restrict x, const float *restrict win, const swin_geom *g,
                              int64_t B, int64_t C, swin_pool *pool);

/* ---- PatchMerging (patch_merging.c) ---- */
typedef struct swin_patch_merging {
    swin_norm norm;         /* [4C], or [2C] after the reduction (post_norm) */
    const float *reduction; /* [2C, 4C] */
    int64_t dim;            /* C, the input channels */
    bool post_norm;         /* Swin V2: reduce, then normalise */
} swin_patch_merging;
/* Binds {prefix}.{norm.*,reduction.weight}. */
swin_status swin__patch_merging_bind(swin_patch_merging *pm, swin_weights *w, const char *prefix,
                                     int64_t dim, float eps, bool post_norm);
/* Floats of scratch for an input [B, H, W, C]; SIZE_MAX on overflow. */
size_t swin__patch_merging_scratch(const swin_patch_merging *pm, int64_t B, int64_t H, int64_t W);
/* out [B, ceil(H/2), ceil(W/2), 2C] <- in [B, H, W, C]; odd sizes are zero-padded as timm
 * (after the padding, before the norm). */
void swin__patch_merging_forward(float *out, const float *in, const swin_patch_merging *pm,
                                 int64_t B, int64_t H, int64_t W, float *scratch, swin_pool *pool);

/* ---- position-table resampling (pos_embed.c) ---- */
/* Floats of scratch for resampling a C-channel table of h rows to W columns; SIZE_MAX on
 * overflow. */
size_t swin__resample_scratch(int64_t C, int64_t h, int64_t W);
/* out [H, W, C] <- in [h, w, C] as F.interpolate(mode="bicubic", align_corners=False,
 * antialias) computes it on the [1, C, h, w] table in float32. */
swin_status swin__resample_pos(float *out, const float *in, int64_t C, int64_t h, int64_t w,
                               int64_t H, int64_t W, bool antialias, float *scratch);

/* ---- attention pooling with a latent query (attn_pool.c) ---- */
typedef struct swin_attn_pool {
    const float *latent;          /* [1, 1, D] */
    const float *q_w, *q_b;       /* [D, D], [D] (NULL without qkv bias) */
    const float *kv_w, *kv_b;     /* [2D, D], [2D] */
    const float *proj_w, *proj_b; /* [D, D], [D] */
    swin_norm norm;
    swin_mlp mlp;
    int64_t dim, heads;
} swin_attn_pool;
/* Binds {prefix}.{latent,q,kv,proj,norm,mlp.fc1,mlp.fc2}.*; one latent query. */
swin_status swin__attn_pool_bind(swin_attn_pool *a, swin_weights *w, const char *prefix,
                                 int64_t dim, int64_t heads, bool qkv_bias, float eps,
                                 swin_activation act);
/* Floats of scratch for B sequences of N tokens; SIZE_MAX on overflow. */
size_t swin__attn_pool_scratch(const swin_attn_pool *a, int64_t B, int64_t N);
/* out [B, D] <- the pooled latent of tokens [B, N, D], attending to tokens [skip, N) of each
 * sequence (timm's VisionTransformer leaves the prefix tokens out). */
void swin__attn_pool_forward(float *out, const float *tokens, const swin_attn_pool *a, int64_t B,
                             int64_t N, int64_t skip, float *scratch, swin_pool *pool);

/* ---- relative position biases from an MLP over offsets (relpos.c) ---- */
typedef enum swin_relpos_coding {
    SWIN_RELPOS_LOG, /* sign(c) log(1 + |c|) (timm's RelPosMlp "cr", swinv2_cr's meta_mlp) */
    SWIN_RELPOS_LOG2 /* Swin V2: sign log2(1 + 8|c| / (pw - 1)) / 3, output 16 sigmoid */
} swin_relpos_coding;
typedef struct swin_relpos {
    const float *w1, *b1, *w2, *b2; /* fc1 [Hd, 2], [Hd]; fc2 [nH, Hd], [nH] or NULL */
    int64_t heads, hidden;
    int64_t pretrained[2]; /* LOG2: the pretraining window (h, w) the offsets are scaled by;
                            * 0: the window's own */
    swin_relpos_coding coding;
} swin_relpos;
/* Binds {fc1}.{weight,bias} and {fc2}.weight (and {fc2}.bias when fc2_bias). */
swin_status swin__relpos_bind(swin_relpos *r, swin_weights *w, const char *fc1, const char *fc2,
                              int64_t heads, int64_t hidden, bool fc2_bias, swin_relpos_coding c);
/* bias [nH, N, N], N = P + wh*ww: the MLP's bias for each (query, key) pair of a wh x ww
 * window (or grid) after P prefix tokens (their rows and columns 0). */
swin_status swin__relpos_bias(float *bias, const swin_relpos *r, int64_t wh, int64_t ww, int64_t P);

/* ---- rotary position embedding tables (rope.c) ---- */
typedef enum swin_rope_kind {
    SWIN_ROPE_NONE,
    SWIN_ROPE_CAT,
    SWIN_ROPE_DINOV3,
    SWIN_ROPE_MIXED
} swin_rope_kind;
typedef struct swin_rope_cfg {
    swin_rope_kind kind;
    int64_t head_dim, heads, depth;
    bool xy;   /* grid indexing xy (coordinates (col, row)), else ij */
    bool half; /* half rotation layout, else interleaved */
    double offset, temperature;
    int64_t ref[2];     /* cat: ref_feat_shape (h, w) the coordinates are scaled to, or 0 */
    const float *freqs; /* mixed: the learned frequencies [2, depth, heads, hd/2] */
} swin_rope_cfg;
/* sin and cos tables [tables, L, hd] of an Hg x Wg grid: one table, or depth * heads (mixed,
 * index block * heads + head). */
void swin__rope_build(const swin_rope_cfg *cfg, int64_t Hg, int64_t Wg, float *sin_out,
                      float *cos_out);

/* ---- ViT encoder blocks (vit_encoder.c): whole-sequence self-attention, no bias, no mask ---- */
typedef enum swin_vit_kind {
    SWIN_VIT_PRE,      /* timm's Block: x += ls1(attn(norm1(x))); x += ls2(mlp(norm2(x))) */
    SWIN_VIT_RES_POST, /* timm's ResPostBlock: x += norm1(attn(x)); x += norm2(mlp(x)) */
    SWIN_VIT_POST /* nn.TransformerEncoderLayer: x = norm1(x + attn(x)); x = norm2(x + mlp(x)) */
} swin_vit_kind;
/* What a block is made of. */
typedef struct swin_vit_block_cfg {
    int64_t dim, heads, hidden; /* C, nH, fc1's outputs */
    float eps;                  /* LayerNorm epsilon (norms, qk-norm) */
    swin_activation act;
    swin_glu glu;
    swin_vit_kind kind;
    bool qkv_bias;    /* attn.qkv.bias */
    bool qk_norm;     /* attn.q_norm, attn.k_norm: LayerNorm over each head's channels */
    bool layer_scale; /* ls1.gamma, ls2.gamma (SWIN_VIT_PRE) */
    bool attn_norm;   /* attn.norm: LayerNorm of the heads' output before proj (EVA's
                       * scale_attn_inner) */
    bool mlp_norm;    /* mlp.norm: LayerNorm after the activation (EVA's scale_mlp) */
    bool split_glu;   /* the SwiGLU's fc1 as mlp.fc1_g and mlp.fc1_x (timm's SwiGLU) */
} swin_vit_block_cfg;
/* Rotary position embedding of one pass: q and k of the patch tokens (not the first npt
 * tokens) rotated per head, x * cos + rot(x) * sin, with rot interleaved ([-x1, x0, -x3, x2,
 * ...]) or half ([-x_{d/2..}, x_{..d/2}]); tables [tables][L][hd], one for all heads and
 * blocks, or one per (block, head) (per_head: index block * nH + head). */
typedef struct swin_rope {
    const float *sin, *cos;
    int64_t npt, L;
    bool half, per_head;
} swin_rope;
typedef struct swin_vit_block {
    swin_norm norm1, norm2;   /* [C] */
    swin_attention attn;      /* qkv [3C, C] with q;k;v rows */
    swin_norm q_norm, k_norm; /* [hd]; weight NULL: none */
    swin_norm attn_norm;      /* [C]; weight NULL: none */
    const float *ls1, *ls2;   /* [C] layer-scale gammas, or NULL */
    swin_mlp mlp;
    swin_vit_kind kind;
    const float *attn_bias; /* [nH, N, N] added to the scaled scores (relative position), or
                             * NULL; set by the model, which owns it */
} swin_vit_block;
/* Binds {prefix}.{norm1,attn.qkv,attn.q_norm,attn.k_norm,attn.proj,ls1,norm2,mlp.fc1,mlp.fc2,
 * ls2}.* as cfg says. */
swin_status swin__vit_block_bind(swin_vit_block *blk, swin_weights *w, const char *prefix,
                                 const swin_vit_block_cfg *cfg);
/* Floats of scratch for B sequences of N tokens on a pool of `threads` threads; SIZE_MAX on
 * overflow. */
size_t swin__vit_block_scratch(const swin_vit_block *blk, int64_t B, int64_t N, int threads);
/* x [B, N, C] in place, as the block's kind says; rope NULL or the pass's rotary tables
 * (index: the block's place in the model, for per-block tables). */
void swin__vit_block_forward(float *x, const swin_vit_block *blk, int64_t B, int64_t N,
                             const swin_rope *rope, int64_t index, float *scratch, swin_pool *pool);

#endif /* SWIN_LAYERS_H */
