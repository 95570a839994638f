/* Rotary position embedding tables (timm's RotaryEmbeddingCat, RotaryEmbeddingDinoV3 and
 * RotaryEmbeddingMixed, as its Eva builds them); applied to q and k in vit_encoder.c.
 * Legend: Hg x Wg grid, L = Hg * Wg patches, hd head width, nb = hd / 4 frequency bands. */
#include <math.h>

#include "layers.h"

/* The rotary tables for an Hg x Wg grid, as timm builds them (float32 throughout):
 * cat (RotaryEmbeddingCat, in_pixels False): bands 1 / temperature^(k / nb), nb = hd / 4;
 *   coordinates arange + offset (scaled by ref_feat_shape / grid when set), (row, col) for ij,
 *   (col, row) for xy; each band's angle repeated twice: [a0 a0 a1 a1 .. b0 b0 ..];
 * dinov3 (RotaryEmbeddingDinoV3): coordinates ((i + 0.5 + offset) / n) * 2 - 1, periods
 *   temperature^(2k / (hd/2)), angles 2 pi c / period, tiled [a.. b.. a.. b..] for the half
 *   rotation (else repeated twice each);
 * mixed (RotaryEmbeddingMixed): per block and head, angle = x f_x + y f_y with the learned
 *   frequencies, (x, y) = (col, row) for xy, each repeated twice. */
void swin__rope_build(const swin_rope_cfg *I, int64_t Hg, int64_t Wg, float *sn, float *cs) {
    const int64_t hd = I->head_dim, nb = hd / 4, L = Hg * Wg;
    const float temp = (float)I->temperature, off = (float)I->offset;
    if (I->kind == SWIN_ROPE_MIXED) {
        const int64_t nH = I->heads, half = hd / 2;
        for (int64_t d = 0; d < I->depth; d++)
            for (int64_t h = 0; h < nH; h++) {
                const float *fx = I->freqs + (d * nH + h) * half;
                const float *fy = I->freqs + ((I->depth + d) * nH + h) * half;
                float *s = sn + (d * nH + h) * L * hd, *c = cs + (d * nH + h) * L * hd;
                for (int64_t p = 0; p < L; p++) {
                    const int64_t row = p / Wg, col = p % Wg;
                    const float tx = (float)(I->xy ? col : row);
                    const float ty = (float)(I->xy ? row : col);
                    for (int64_t k = 0; k < half; k++) {
                        const float px = tx * fx[k], py = ty * fy[k];
                        const float a = px + py;
                        s[p * hd + 2 * k] = s[p * hd + 2 * k + 1] = sinf(a);
                        c[p * hd + 2 * k] = c[p * hd + 2 * k + 1] = cosf(a);
                    }
                }
            }
        return;
    }
    for (int64_t p = 0; p < L; p++) {
        const int64_t row = p / Wg, col = p % Wg;
        float *s = sn + p * hd, *c = cs + p * hd;
        for (int64_t k = 0; k < nb; k++) {
            float a0, a1; /* the angles of the first and second coordinate */
            if (I->kind == SWIN_ROPE_CAT) {
                const float e = (float)k / (float)nb;
                const float band = 1.0f / powf(temp, e);
                float t0 = (float)(I->xy ? col : row) + off;
                float t1 = (float)(I->xy ? row : col) + off;
                if (I->ref[0]) { /* t / feat * ref, per axis */
                    const float f0 = (float)(I->xy ? Wg : Hg), f1 = (float)(I->xy ? Hg : Wg);
                    const float r0 = (float)(I->xy ? I->ref[1] : I->ref[0]);
                    const float r1 = (float)(I->xy ? I->ref[0] : I->ref[1]);
                    t0 = t0 / f0 * r0;
                    t1 = t1 / f1 * r1;
                }
                a0 = t0 * band;
                a1 = t1 * band;
            } else {
                const float e = 2.0f * (float)k / (float)(hd / 2);
                const float period = powf(temp, e);
                const float ch = ((float)row + 0.5f + off) / (float)Hg * 2.0f - 1.0f;
                const float cw = ((float)col + 0.5f + off) / (float)Wg * 2.0f - 1.0f;
                const float tau = (float)(2.0 * 3.14159265358979323846);
                a0 = tau * ch / period;
                a1 = tau * cw / period;
            }
            if (I->kind == SWIN_ROPE_DINOV3 && I->half) { /* [a.. b.. a.. b..] */
                s[k] = s[2 * nb + k] = sinf(a0);
                c[k] = c[2 * nb + k] = cosf(a0);
                s[nb + k] = s[3 * nb + k] = sinf(a1);
                c[nb + k] = c[3 * nb + k] = cosf(a1);
            } else { /* [a0 a0 a1 a1 .. b0 b0 ..] */
                s[2 * k] = s[2 * k + 1] = sinf(a0);
                c[2 * k] = c[2 * k + 1] = cosf(a0);
                s[2 * nb + 2 * k] = s[2 * nb + 2 * k + 1] = sinf(a1);
                c[2 * nb + 2 * k] = c[2 * nb + 2 * k + 1] = cosf(a1);
            }
        }
    }
}
