/* Relative position biases computed by an MLP over the offsets of a window (or grid):
 * 2 -> hidden -> nH with ReLU, evaluated once per offset (dy, dx) in (-(wh-1), wh-1) x
 * (-(ww-1), ww-1), then gathered per (query, key) pair into [nH, N, N]. Two codings of the
 * offsets, as timm and transformers compute them:
 *   - log (timm's RelPosMlp "cr" mode, swinv2_cr's meta_mlp): sign(c) log(1 + |c|);
 *   - log2 (Swin V2's continuous position bias): c / (pw - 1) * 8, then sign log2(1 + |.|) / 3,
 *     with pw the pretraining window (or the window itself), and 16 sigmoid of the output.
 * The coordinates are made in float32 as the references make them; the MLP runs in double.
 * Legend: wh x ww window, S_h = 2wh - 1 and S_w = 2ww - 1 offsets per axis, P prefix tokens
 * (rows and columns 0), N = P + wh*ww, Hd the MLP's hidden width. */
#include <math.h>

#include "layers.h"

swin_status swin__relpos_bind(swin_relpos *r, swin_weights *w, const char *fc1, const char *fc2,
                              int64_t heads, int64_t hidden, bool fc2_bias, swin_relpos_coding c) {
    char name[256];
    const int64_t s1[2] = {hidden, 2}, s2[2] = {heads, hidden};
    r->heads = heads;
    r->hidden = hidden;
    r->coding = c;
    r->pretrained[0] = r->pretrained[1] = 0;
    r->b2 = NULL;
    SWIN_TRY(swin__w_get(w, swin__name(name, sizeof name, fc1, ".weight"), 2, s1, &r->w1));
    SWIN_TRY(swin__w_get(w, swin__name(name, sizeof name, fc1, ".bias"), 1, &hidden, &r->b1));
    SWIN_TRY(swin__w_get(w, swin__name(name, sizeof name, fc2, ".weight"), 2, s2, &r->w2));
    if (fc2_bias)
        SWIN_TRY(swin__w_get(w, swin__name(name, sizeof name, fc2, ".bias"), 1, &heads, &r->b2));
    return SWIN_OK;
}

/* One coordinate as the reference codes it, in float32. d: the offset; p: the window the
 * log2 coding normalises by (its side minus one; 0: none, as transformers for a window of 1). */
static float code(const swin_relpos *r, int64_t d, int64_t p) {
    float c = (float)d;
    if (r->coding == SWIN_RELPOS_LOG) return copysignf(logf(1.0f + fabsf(c)), c);
    if (p > 0) c /= (float)p;
    c *= 8.0f;
    return copysignf(log2f(fabsf(c) + 1.0f), c) / 3.0f;
}

swin_status swin__relpos_bias(float *bias, const swin_relpos *r, int64_t wh, int64_t ww,
                              int64_t P) {
    const int64_t nH = r->heads, Hd = r->hidden, L = wh * ww, N = L + P;
    const int64_t Sh = 2 * wh - 1, Sw = 2 * ww - 1, R = Sh * Sw;
    /* the log2 coding divides by the pretraining window's side minus one, else the window's */
    const int64_t ph = r->pretrained[0] > 0 ? r->pretrained[0] - 1 : wh - 1;
    const int64_t pw = r->pretrained[1] > 0 ? r->pretrained[1] - 1 : ww - 1;
    double *table = swin__malloc((size_t)(R * nH) * sizeof(double));
    double *hid = swin__malloc((size_t)Hd * sizeof(double));
    if (!table || !hid) {
        swin__free(table);
        swin__free(hid);
        return swin__oom();
    }
    for (int64_t k = 0; k < R; k++) {
        const float cy = code(r, k / Sw - (wh - 1), ph), cx = code(r, k % Sw - (ww - 1), pw);
        for (int64_t j = 0; j < Hd; j++) {
            const double v = (double)r->w1[2 * j] * cy + (double)r->w1[2 * j + 1] * cx + r->b1[j];
            hid[j] = v > 0.0 ? v : 0.0;
        }
        for (int64_t h = 0; h < nH; h++) {
            double acc = r->b2 ? r->b2[h] : 0.0;
            for (int64_t j = 0; j < Hd; j++)
                acc += (double)r->w2[h * Hd + j] * hid[j];
            if (r->coding == SWIN_RELPOS_LOG2) acc = 16.0 / (1.0 + exp(-acc));
            table[k * nH + h] = acc;
        }
    }
    for (int64_t i = 0; i < nH * N * N; i++)
        bias[i] = 0.0f;
    for (int64_t h = 0; h < nH; h++)
        for (int64_t q = 0; q < L; q++)
            for (int64_t t = 0; t < L; t++) {
                const int64_t k = (q / ww - t / ww + wh - 1) * Sw + (q % ww - t % ww + ww - 1);
                bias[(h * N + P + q) * N + P + t] = (float)table[k * nH + h];
            }
    swin__free(table);
    swin__free(hid);
    return SWIN_OK;
}
