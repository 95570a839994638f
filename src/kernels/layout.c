/* Data movement of the Swin layers: cyclic shift, padding, window partition and reverse.
 * Shapes: B batch, H x W token grid, C channels, Hp x Wp padded grid, wh x ww window.
 * Channels-last throughout; rows are copied whole, so no ISA-specific code is needed. */
#include <string.h>

#include "internal.h"

static inline int64_t wrap(int64_t i, int64_t n) {
    int64_t r = i % n;
    return r < 0 ? r + n : r;
}

void swin__roll(float *restrict out, const float *restrict in, int64_t B, int64_t H, int64_t W,
                int64_t C, int64_t sh, int64_t sw) {
    for (int64_t b = 0; b < B; b++)
        for (int64_t h = 0; h < H; h++) {
            const int64_t hs = wrap(h + sh, H);
            for (int64_t w = 0; w < W; w++) {
                const int64_t ws = wrap(w + sw, W);
                memcpy(out + ((b * H + h) * W + w) * C, in + ((b * H + hs) * W + ws) * C,
                       (size_t)C * sizeof(float));
            }
        }
}

void swin__pad(float *restrict out, const float *restrict in, int64_t B, int64_t H, int64_t W,
               int64_t Hp, int64_t Wp, int64_t C) {
    for (int64_t b = 0; b < B; b++)
        for (int64_t h = 0; h < Hp; h++) {
            float *dst = out + (b * Hp + h) * Wp * C;
            if (h < H) {
                memcpy(dst, in + (b * H + h) * W * C, (size_t)(W * C) * sizeof(float));
                memset(dst + W * C, 0, (size_t)((Wp - W) * C) * sizeof(float));
            } else {
                memset(dst, 0, (size_t)(Wp * C) * sizeof(float));
            }
        }
}

void swin__window_partition(float *restrict out, const float *restrict in, int64_t B, int64_t Hp,
                            int64_t Wp, int64_t C, int64_t wh, int64_t ww) {
    const int64_t nWh = Hp / wh, nWw = Wp / ww;
    for (int64_t b = 0; b < B; b++)
        for (int64_t y = 0; y < nWh; y++)
            for (int64_t x = 0; x < nWw; x++) {
                float *win = out + ((b * nWh + y) * nWw + x) * wh * ww * C;
                for (int64_t i = 0; i < wh; i++)
                    memcpy(win + i * ww * C, in + ((b * Hp + y * wh + i) * Wp + x * ww) * C,
                           (size_t)(ww * C) * sizeof(float));
            }
}

void swin__window_reverse(float *restrict out, const float *restrict in, int64_t B, int64_t Hp,
                          int64_t Wp, int64_t H, int64_t W, int64_t C, int64_t wh, int64_t ww) {
    const int64_t nWh = Hp / wh, nWw = Wp / ww;
    for (int64_t b = 0; b < B; b++)
        for (int64_t h = 0; h < H; h++) {
            const int64_t y = h / wh, i = h % wh;
            for (int64_t x = 0; x < nWw; x++) {
                const int64_t w0 = x * ww;
                if (w0 >= W) break;
                const int64_t n = (W - w0) < ww ? (W - w0) : ww;
                memcpy(out + ((b * H + h) * W + w0) * C,
                       in + (((b * nWh + y) * nWw + x) * wh * ww + i * ww) * C,
                       (size_t)(n * C) * sizeof(float));
            }
        }
}
