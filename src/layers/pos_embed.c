/* Position-table resampling, as torch.nn.functional.interpolate(mode="bicubic",
 * align_corners=False) computes it on a float32 [1, C, h, w] table (timm's
 * resample_abs_pos_embed): separable, along the width first, then along the height, each output
 * a float sum of float weights times inputs, in tap order.
 * antialias: PyTorch's antialiased filter (PIL's bicubic, a = -0.5, support widened by the
 * scale when shrinking, weights normalised over the taps inside the input). Without it:
 * Keys' cubic with a = -0.75 on four taps, indices clamped to the edge.
 * Legend: C channels, h x w input grid, H x W output grid. */
#include <math.h>
#include <string.h>

#include "layers.h"

static float cubic_aa(float x) { /* a = -0.5 */
    const float a = -0.5f;
    x = fabsf(x);
    if (x < 1.0f) return ((a + 2.0f) * x - (a + 3.0f)) * x * x + 1.0f;
    if (x < 2.0f) return (((x - 5.0f) * x + 8.0f) * x - 4.0f) * a;
    return 0.0f;
}

/* Taps of output o along a dimension of n inputs and m outputs: first index and count, and
 * weights (at most SWIN_RESAMPLE_TAPS(n, m)). */
static int64_t taps(int64_t o, int64_t n, int64_t m, bool antialias, int64_t *first, float *wt) {
    const float scale = (float)n / (float)m;
    if (antialias) {
        const float support = scale >= 1.0f ? 2.0f * scale : 2.0f;
        const float center = scale * ((float)o + 0.5f);
        const float invscale = scale >= 1.0f ? 1.0f / scale : 1.0f;
        int64_t lo = (int64_t)(center - support + 0.5f);
        lo = lo < 0 ? 0 : lo;
        int64_t hi = (int64_t)(center + support + 0.5f);
        hi = hi > n ? n : hi;
        float total = 0.0f;
        for (int64_t j = 0; j < hi - lo; j++) {
            wt[j] = cubic_aa(((float)(j + lo) - center + 0.5f) * invscale);
            total += wt[j];
        }
        for (int64_t j = 0; j < hi - lo; j++)
            if (total != 0.0f) wt[j] /= total;
        *first = lo;
        return hi - lo;
    }
    /* torch's upsample_bicubic2d: source x = scale (o + 0.5) - 0.5, four taps around floor(x) */
    const float real = scale * ((float)o + 0.5f) - 0.5f;
    const float fl = floorf(real);
    const float t = real - fl;
    const float A = -0.75f;
    float x1 = t + 1.0f;
    wt[0] = ((A * x1 - 5.0f * A) * x1 + 8.0f * A) * x1 - 4.0f * A;
    x1 = t;
    wt[1] = ((A + 2.0f) * x1 - (A + 3.0f)) * x1 * x1 + 1.0f;
    x1 = 1.0f - t;
    wt[2] = ((A + 2.0f) * x1 - (A + 3.0f)) * x1 * x1 + 1.0f;
    x1 = 2.0f - t;
    wt[3] = ((A * x1 - 5.0f * A) * x1 + 8.0f * A) * x1 - 4.0f * A;
    *first = (int64_t)fl - 1;
    return 4;
}

size_t swin__resample_scratch(int64_t C, int64_t h, int64_t W) {
    size_t n;
    if (!swin__mul_size((size_t)h, (size_t)W, &n) || !swin__mul_size(n, (size_t)C, &n))
        return SIZE_MAX;
    return n;
}

/* Taps of one output are at most 4 (plain) or 2 * ceil(2 * scale) + 2 (antialiased). */
static int64_t max_taps(int64_t n, int64_t m) {
    return n > m ? 4 * (n / m + 1) + 4 : 8;
}

/* out [outer, m, inner] <- in [outer, n, inner] resampled along the middle axis; wt holds the
 * taps of one output. */
static void resample_axis(float *out, const float *in, int64_t outer, int64_t n, int64_t m,
                          int64_t inner, bool antialias, float *wt) {
    for (int64_t o = 0; o < m; o++) {
        int64_t lo;
        const int64_t k = taps(o, n, m, antialias, &lo, wt);
        for (int64_t a = 0; a < outer; a++) {
            const float *src = in + a * n * inner;
            float *dst = out + (a * m + o) * inner;
            for (int64_t i = 0; i < inner; i++) {
                float acc = 0.0f;
                for (int64_t j = 0; j < k; j++) {
                    int64_t t = lo + j;
                    t = t < 0 ? 0 : t >= n ? n - 1 : t; /* clamped to the edge (plain cubic) */
                    acc = j == 0 ? src[t * inner + i] * wt[0] : acc + src[t * inner + i] * wt[j];
                }
                dst[i] = acc;
            }
        }
    }
}

swin_status swin__resample_pos(float *out, const float *in, int64_t C, int64_t h, int64_t w,
                               int64_t H, int64_t W, bool antialias, float *scratch) {
    const int64_t cap = max_taps(w, W) > max_taps(h, H) ? max_taps(w, W) : max_taps(h, H);
    float *wt = swin__malloc((size_t)cap * sizeof(float));
    if (!wt) return swin__oom();
    resample_axis(scratch, in, h, w, W, C, antialias, wt);      /* the width: [h, W, C] */
    resample_axis(out, scratch, 1, h, H, W * C, antialias, wt); /* the height: [H, W, C] */
    swin__free(wt);
    return SWIN_OK;
}
