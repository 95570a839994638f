/* PatchMerging: 2x2 neighbours concatenated in the official order
 * (x[0::2,0::2], x[1::2,0::2], x[0::2,1::2], x[1::2,1::2]), LayerNorm(4C), Linear 4C -> 2C
 * without bias; Swin V2's reduces first, then LayerNorm(2C). Odd H or W is zero-padded
 * bottom/right first, as timm does.
 * Legend: B batch, H x W token grid, C input channels, H2 x W2 = ceil(H/2) x ceil(W/2). */
#include <string.h>

#include "layers.h"

swin_status swin__patch_merging_bind(swin_patch_merging *pm, swin_weights *w, const char *prefix,
                                     int64_t dim, float eps, bool post_norm) {
    char name[256];
    const int64_t red[2] = {2 * dim, 4 * dim};
    pm->dim = dim;
    pm->post_norm = post_norm;
    SWIN_TRY(swin__norm_bind(&pm->norm, w, swin__name(name, sizeof name, prefix, ".norm"),
                             (post_norm ? 2 : 4) * dim, eps));
    return swin__w_get(w, swin__name(name, sizeof name, prefix, ".reduction.weight"), 2, red,
                       &pm->reduction);
}

size_t swin__patch_merging_scratch(const swin_patch_merging *pm, int64_t B, int64_t H, int64_t W) {
    size_t n; /* the concatenated neighbours [B * ceil(H/2) * ceil(W/2), 4C] */
    if (B < 0 || H < 0 || W < 0 || !swin__mul_size((size_t)B, (size_t)((H + 1) / 2), &n) ||
        !swin__mul_size(n, (size_t)((W + 1) / 2), &n) ||
        !swin__mul_size(n, (size_t)(4 * pm->dim), &n))
        return SIZE_MAX;
    return n;
}

typedef struct merge_job {
    float *cat;
    const float *in;
    const swin_patch_merging *pm;
    int64_t H, W, H2, W2;
} merge_job;

/* Rows r = (b * H2 + i) * W2 + j of the concatenated, normalised [B*H2*W2, 4C] input. */
static void merge_rows(void *arg, int64_t r0, int64_t r1) {
    static const int dy[4] = {0, 1, 0, 1}, dx[4] = {0, 0, 1, 1};
    const merge_job *m = arg;
    const int64_t C = m->pm->dim;
    for (int64_t r = r0; r < r1; r++) {
        const int64_t b = r / (m->H2 * m->W2), i = r / m->W2 % m->H2, j = r % m->W2;
        float *dst = m->cat + r * 4 * C;
        for (int q = 0; q < 4; q++) {
            const int64_t y = 2 * i + dy[q], x = 2 * j + dx[q];
            if (y < m->H && x < m->W)
                memcpy(dst + q * C, m->in + ((b * m->H + y) * m->W + x) * C,
                       (size_t)C * sizeof(float));
            else
                memset(dst + q * C, 0, (size_t)C * sizeof(float));
        }
        const swin_norm *n = &m->pm->norm;
        if (!m->pm->post_norm)
            swin__layernorm(dst, dst, n->weight, n->bias, 1, 4 * C, n->eps, NULL);
    }
}

typedef struct post_job {
    float *out;
    const swin_norm *norm;
    int64_t C2;
} post_job;

/* Swin V2: the reduced rows normalised in place. */
static void post_rows(void *arg, int64_t r0, int64_t r1) {
    const post_job *p = arg;
    swin__layernorm(p->out + r0 * p->C2, p->out + r0 * p->C2, p->norm->weight, p->norm->bias,
                    r1 - r0, p->C2, p->norm->eps, NULL);
}

/* out [B, H2, W2, 2C] <- in [B, H, W, C]; scratch [B*H2*W2, 4C]. */
void swin__patch_merging_forward(float *out, const float *in, const swin_patch_merging *pm,
                                 int64_t B, int64_t H, int64_t W, float *scratch, swin_pool *pool) {
    const int64_t C = pm->dim, H2 = (H + 1) / 2, W2 = (W + 1) / 2;
    merge_job m = {scratch, in, pm, H, W, H2, W2};
    post_job p = {out, &pm->norm, 2 * C};
    const swin_rows_hook gather = {merge_rows, &m}, post = {post_rows, &p};
    swin__linear_fused(out, 2 * C, scratch, pm->reduction, NULL, B * H2 * W2, 4 * C, 2 * C,
                       SWIN_EPI_BIAS, &gather, pm->post_norm ? &post : NULL, pool);
}
