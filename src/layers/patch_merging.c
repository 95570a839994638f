/* PatchMerging: 2x2 neighbours concatenated in the official order
 * (x[0::2,0::2], x[1::2,0::2], x[0::2,1::2], x[1::2,1::2]), LayerNorm(4C), Linear 4C -> 2C
 * without bias. Odd H or W is zero-padded bottom/right first, as timm does.
 * Legend: B batch, H x W token grid, C input channels, H2 x W2 = ceil(H/2) x ceil(W/2). */
#include <string.h>

#include "layers.h"

swin_status swin__patch_merging_bind(swin_patch_merging *pm, const swin_safetensors *st,
                                     const char *prefix, int64_t dim, float eps) {
    char name[256];
    const int64_t red[2] = {2 * dim, 4 * dim};
    pm->dim = dim;
    SWIN_TRY(swin__norm_bind(&pm->norm, st, swin__name(name, sizeof name, prefix, ".norm"), 4 * dim,
                             eps));
    return swin__st_get_f32(st, swin__name(name, sizeof name, prefix, ".reduction.weight"), 2, red,
                            &pm->reduction);
}

size_t swin__patch_merging_scratch(int64_t B, int64_t H, int64_t W, int64_t C) {
    return (size_t)(B * ((H + 1) / 2) * ((W + 1) / 2) * 4 * C);
}

/* out [B, H2, W2, 2C] <- in [B, H, W, C]; scratch [B*H2*W2, 4C]. */
void swin__patch_merging_forward(float *out, const float *in, const swin_patch_merging *pm,
                                 int64_t B, int64_t H, int64_t W, float *scratch) {
    static const int dy[4] = {0, 1, 0, 1}, dx[4] = {0, 0, 1, 1};
    const int64_t C = pm->dim, H2 = (H + 1) / 2, W2 = (W + 1) / 2;
    for (int64_t b = 0; b < B; b++)
        for (int64_t i = 0; i < H2; i++)
            for (int64_t j = 0; j < W2; j++) {
                float *dst = scratch + ((b * H2 + i) * W2 + j) * 4 * C;
                for (int q = 0; q < 4; q++) {
                    const int64_t y = 2 * i + dy[q], x = 2 * j + dx[q];
                    if (y < H && x < W)
                        memcpy(dst + q * C, in + ((b * H + y) * W + x) * C,
                               (size_t)C * sizeof(float));
                    else
                        memset(dst + q * C, 0, (size_t)C * sizeof(float));
                }
            }
    const int64_t rows = B * H2 * W2;
    swin__layernorm(scratch, scratch, pm->norm.weight, pm->norm.bias, rows, 4 * C, pm->norm.eps);
    swin__linear(out, scratch, pm->reduction, NULL, rows, 4 * C, 2 * C);
}
