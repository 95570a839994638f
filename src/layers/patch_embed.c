/* PatchEmbed: a p x p convolution with stride p, computed as im2col . W^T through the GEMM seam,
 * then an optional LayerNorm. An input that is not a multiple of the patch is zero-padded
 * right and bottom (transformers' Swin), or its last pixels are left out (a stride-p
 * convolution, timm's ViT). Legend: B batch, Cin input channels, H x W pixels, p patch,
 * Ho x Wo token grid (ceil or floor of H/p x W/p), D embedding channels, K = Cin*p*p. */
#include <string.h>

#include "layers.h"

swin_status swin__patch_embed_bind(swin_patch_embed *pe, swin_weights *w, const char *prefix,
                                   int64_t in_chans, int64_t embed_dim, int64_t patch, bool bias,
                                   bool norm, float eps) {
    char name[256];
    memset(pe, 0, sizeof *pe);
    pe->in_chans = in_chans;
    pe->embed_dim = embed_dim;
    pe->patch = patch;
    const int64_t wshape[4] = {embed_dim, in_chans, patch, patch};
    SWIN_TRY(swin__w_get(w, swin__name(name, sizeof name, prefix, ".proj.weight"), 4, wshape,
                         &pe->proj_w));
    if (bias)
        SWIN_TRY(swin__w_get(w, swin__name(name, sizeof name, prefix, ".proj.bias"), 1, &embed_dim,
                             &pe->proj_b));
    if (norm)
        SWIN_TRY(swin__norm_bind(&pe->norm, w, swin__name(name, sizeof name, prefix, ".norm"),
                                 embed_dim, eps));
    return SWIN_OK;
}

void swin__patch_grid(const swin_patch_embed *pe, int64_t H, int64_t W, int64_t *Ho, int64_t *Wo) {
    const int64_t p = pe->patch, r = pe->pad ? p - 1 : 0;
    *Ho = (H + r) / p;
    *Wo = (W + r) / p;
}

size_t swin__patch_embed_scratch(const swin_patch_embed *pe, int64_t B, int64_t H, int64_t W) {
    const int64_t p = pe->patch;
    int64_t Ho, Wo;
    swin__patch_grid(pe, H, W, &Ho, &Wo);
    size_t n; /* the im2col matrix [B * Ho * Wo, Cin * p * p] */
    if (B < 0 || H < 0 || W < 0 || !swin__mul_size((size_t)B, (size_t)Ho, &n) ||
        !swin__mul_size(n, (size_t)Wo, &n) || !swin__mul_size(n, (size_t)pe->in_chans, &n) ||
        !swin__mul_size(n, (size_t)(p * p), &n))
        return SIZE_MAX;
    return n;
}

typedef struct im2col_job {
    float *col;
    const float *in;
    const swin_patch_embed *pe;
    int64_t H, W, Ho, Wo;
} im2col_job;

/* Rows r = (b * Ho + oy) * Wo + ox of the im2col matrix [B*Ho*Wo, Cin*p*p]. */
static void im2col_rows(void *arg, int64_t r0, int64_t r1) {
    const im2col_job *j = arg;
    const int64_t p = j->pe->patch, Cin = j->pe->in_chans, K = Cin * p * p;
    for (int64_t r = r0; r < r1; r++) {
        const int64_t b = r / (j->Ho * j->Wo), oy = r / j->Wo % j->Ho, ox = r % j->Wo;
        float *col = j->col + r * K;
        const int64_t x0 = ox * p, nx = x0 + p <= j->W ? p : j->W - x0; /* pixels inside */
        for (int64_t c = 0; c < Cin; c++)
            for (int64_t ky = 0; ky < p; ky++) {
                float *dst = col + (c * p + ky) * p;
                const int64_t y = oy * p + ky;
                if (y >= j->H) {
                    memset(dst, 0, (size_t)p * sizeof(float));
                    continue;
                }
                memcpy(dst, j->in + ((b * Cin + c) * j->H + y) * j->W + x0,
                       (size_t)nx * sizeof(float));
                if (nx < p) memset(dst + nx, 0, (size_t)(p - nx) * sizeof(float));
            }
    }
}

/* out [B, Ho, Wo, D] <- in [B, Cin, H, W]; scratch holds the im2col matrix [B*Ho*Wo, K]. */
void swin__patch_embed_forward(float *out, const float *in, const swin_patch_embed *pe, int64_t B,
                               int64_t H, int64_t W, float *scratch, swin_pool *pool) {
    const int64_t p = pe->patch, D = pe->embed_dim;
    const int64_t K = pe->in_chans * p * p;
    int64_t Ho, Wo;
    swin__patch_grid(pe, H, W, &Ho, &Wo);
    const int64_t rows = B * Ho * Wo;
    im2col_job j = {scratch, in, pe, H, W, Ho, Wo};
    const swin_rows_hook im2col = {im2col_rows, &j};
    swin__linear_fused(out, D, scratch, pe->proj_w, pe->proj_b, rows, K, D, SWIN_EPI_BIAS, &im2col,
                       NULL, pool);
    if (pe->norm.weight)
        swin__layernorm(out, out, pe->norm.weight, pe->norm.bias, rows, D, pe->norm.eps, pool);
}
