/* The relative position bias of timm's relative-position ViT: RelPosMlp in its "cr" mode, an
 * MLP 2 -> hidden -> nH with ReLU over the offsets (dy, dx) in (-(G-1), G-1)^2 of a G x G grid,
 * each coordinate as sign(c) log(1 + |c|), gathered per (query, key) pair of patches into
 * [nH, N, N]; the P prefix tokens' rows and columns are 0.
 * Legend: G grid side, L = G^2 patches, P prefix tokens, N = P + L, S = 2G - 1 offsets per axis,
 * Hd the MLP's hidden width. */
#include <math.h>

#include "layers.h"

swin_status swin__relpos_bind(swin_relpos *r, swin_weights *w, const char *prefix, int64_t heads,
                              int64_t hidden) {
    char name[256];
    const int64_t s1[2] = {hidden, 2}, s2[2] = {heads, hidden};
    r->heads = heads;
    r->hidden = hidden;
    SWIN_TRY(swin__w_get(w, swin__name(name, sizeof name, prefix, ".fc1.weight"), 2, s1, &r->w1));
    SWIN_TRY(
        swin__w_get(w, swin__name(name, sizeof name, prefix, ".fc1.bias"), 1, &hidden, &r->b1));
    SWIN_TRY(swin__w_get(w, swin__name(name, sizeof name, prefix, ".fc2.weight"), 2, s2, &r->w2));
    SWIN_TRY(swin__w_get(w, swin__name(name, sizeof name, prefix, ".fc2.bias"), 1, &heads, &r->b2));
    return SWIN_OK;
}

swin_status swin__relpos_bias(float *bias, const swin_relpos *r, int64_t G, int64_t P) {
    const int64_t nH = r->heads, Hd = r->hidden, L = G * G, N = L + P, S = 2 * G - 1, R = S * S;
    double *table = swin__malloc((size_t)(R * nH) * sizeof(double));
    double *hid = swin__malloc((size_t)Hd * sizeof(double));
    if (!table || !hid) {
        swin__free(table);
        swin__free(hid);
        return swin__oom();
    }
    for (int64_t k = 0; k < R; k++) {
        /* timm's coordinates, in float32: sign(c) * log(1 + |c|) */
        const float dy = (float)(k / S - (G - 1)), dx = (float)(k % S - (G - 1));
        const float cy = copysignf(logf(1.0f + fabsf(dy)), dy);
        const float cx = copysignf(logf(1.0f + fabsf(dx)), dx);
        for (int64_t j = 0; j < Hd; j++) {
            const double v = (double)r->w1[2 * j] * cy + (double)r->w1[2 * j + 1] * cx + r->b1[j];
            hid[j] = v > 0.0 ? v : 0.0;
        }
        for (int64_t h = 0; h < nH; h++) {
            double acc = r->b2[h];
            for (int64_t j = 0; j < Hd; j++)
                acc += (double)r->w2[h * Hd + j] * hid[j];
            table[k * nH + h] = acc;
        }
    }
    for (int64_t i = 0; i < nH * N * N; i++)
        bias[i] = 0.0f;
    for (int64_t h = 0; h < nH; h++)
        for (int64_t q = 0; q < L; q++)
            for (int64_t t = 0; t < L; t++) {
                const int64_t k = (q / G - t / G + G - 1) * S + (q % G - t % G + G - 1);
                bias[(h * N + P + q) * N + P + t] = (float)table[k * nH + h];
            }
    swin__free(table);
    swin__free(hid);
    return SWIN_OK;
}
