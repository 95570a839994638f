/* The evaluation transforms, computed the way PIL + torchvision (timm) or PIL + numpy
 * (transformers' image processors) compute them. timm's:
 *   Resize(floor(size / crop_pct)) of the shorter side (PIL resampling: separable convolution,
 *   horizontal pass then vertical, fixed-point coefficients, 8-bit rounding after each pass,
 *   filter support widened by the downscale factor = antialiasing), CenterCrop(size),
 *   ToTensor (/255), Normalize(mean, std).
 * The convolution follows the algorithm of Pillow's Resample.c so that results agree to the
 * last 8-bit level. */
#include <math.h>
#include <string.h>

#include "internal.h"

#define PRECISION_BITS (32 - 8 - 2)

typedef struct filter {
    double (*fn)(double x);
    double support;
} filter;

static double box_fn(double x) {
    return (x > -0.5 && x <= 0.5) ? 1.0 : 0.0;
}

static double bilinear_fn(double x) {
    x = fabs(x);
    return x < 1.0 ? 1.0 - x : 0.0;
}

static double hamming_fn(double x) {
    x = fabs(x);
    if (x == 0.0) return 1.0;
    if (x >= 1.0) return 0.0;
    x *= 3.14159265358979323846;
    return sin(x) / x * (0.54f + 0.46f * cos(x));
}

static double bicubic_fn(double x) {
    const double a = -0.5;
    x = fabs(x);
    if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
    if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
    return 0.0;
}

static double sinc(double x) {
    if (x == 0.0) return 1.0;
    x *= 3.14159265358979323846;
    return sin(x) / x;
}

static double lanczos_fn(double x) {
    return (-3.0 <= x && x < 3.0) ? sinc(x) * sinc(x / 3) : 0.0;
}

static const struct {
    const char *name;
    filter f;
} filters[] = {
    {"bicubic", {bicubic_fn, 2.0}}, {"bilinear", {bilinear_fn, 1.0}},
    {"lanczos", {lanczos_fn, 3.0}}, {"hamming", {hamming_fn, 1.0}},
    {"box", {box_fn, 0.5}},
};

bool swin__interpolation_known(const char *name) {
    for (size_t i = 0; i < sizeof filters / sizeof filters[0]; i++)
        if (strcmp(filters[i].name, name) == 0) return true;
    return false;
}

/* Integer coefficients of output positions [first, first + n): position first + i reads taps
 * [bounds[2i], bounds[2i] + bounds[2i+1]) of the input. */
typedef struct taps {
    int64_t ksize;
    int64_t *bounds; /* [n, 2] */
    int32_t *k;      /* [n, ksize] */
} taps;

static void free_taps(taps *t) {
    swin__free(t->bounds);
    swin__free(t->k);
}

static swin_status make_taps(taps *t, int64_t in_size, int64_t out_size, int64_t first, int64_t n,
                             const filter *f) {
    const double scale = (double)in_size / (double)out_size;
    const double fscale = scale < 1.0 ? 1.0 : scale;
    const double support = f->support * fscale;
    t->ksize = (int64_t)ceil(support) * 2 + 1;
    t->bounds = swin__malloc((size_t)n * 2 * sizeof *t->bounds);
    t->k = swin__malloc((size_t)(n * t->ksize) * sizeof *t->k);
    double *w = swin__malloc((size_t)t->ksize * sizeof *w);
    if (!t->bounds || !t->k || !w) {
        swin__free(w);
        free_taps(t);
        return swin__oom();
    }
    for (int64_t i = 0; i < n; i++) {
        const int64_t xx = first + i;
        const double center = ((double)xx + 0.5) * scale, ss = 1.0 / fscale;
        int64_t xmin = (int64_t)(center - support + 0.5), xmax = (int64_t)(center + support + 0.5);
        if (xmin < 0) xmin = 0;
        if (xmax > in_size) xmax = in_size;
        xmax -= xmin;
        double ww = 0.0;
        for (int64_t x = 0; x < xmax; x++) {
            w[x] = f->fn(((double)(x + xmin) - center + 0.5) * ss);
            ww += w[x];
        }
        int32_t *k = t->k + i * t->ksize;
        for (int64_t x = 0; x < t->ksize; x++) {
            double v = x < xmax ? (ww != 0.0 ? w[x] / ww : w[x]) : 0.0;
            k[x] = (int32_t)(v < 0 ? -0.5 + v * (1 << PRECISION_BITS)
                                   : 0.5 + v * (1 << PRECISION_BITS));
        }
        t->bounds[2 * i] = xmin;
        t->bounds[2 * i + 1] = xmax;
    }
    swin__free(w);
    return SWIN_OK;
}

static inline uint8_t clip8(int32_t ss) {
    const int32_t v = ss >> PRECISION_BITS; /* arithmetic shift, as Pillow */
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

/* The window [x0, x0 + nx) x [y0, y0 + ny) of the resize of an RGB8 image (in, stride) of
 * w x h to ow x oh, into out (packed, ny rows of nx pixels). Each output pixel is computed as
 * in the full resize; only the window the center crop keeps is computed, so that memory and
 * time follow the crop, not the resized size (a 1 x 16000 image would resize to 1.2 GB). */
static swin_status resize(uint8_t *out, const uint8_t *in, int64_t stride, int64_t w, int64_t h,
                          int64_t ow, int64_t oh, int64_t x0, int64_t nx, int64_t y0, int64_t ny,
                          const filter *f) {
    taps tv = {0};
    int64_t r0 = y0, nr = ny; /* the input rows the vertical pass reads */
    if (oh != h) {
        SWIN_TRY(make_taps(&tv, h, oh, y0, ny, f));
        int64_t r1 = r0 = tv.bounds[0];
        for (int64_t i = 0; i < ny; i++) {
            if (tv.bounds[2 * i] < r0) r0 = tv.bounds[2 * i];
            if (tv.bounds[2 * i] + tv.bounds[2 * i + 1] > r1)
                r1 = tv.bounds[2 * i] + tv.bounds[2 * i + 1];
        }
        nr = r1 - r0;
    }
    uint8_t *tmp = NULL;
    const uint8_t *src = in + r0 * stride + x0 * 3; /* row r0, column x0 */
    int64_t src_stride = stride;
    if (ow != w) {
        taps t;
        const swin_status s = make_taps(&t, w, ow, x0, nx, f);
        if (s != SWIN_OK) {
            free_taps(&tv);
            return s;
        }
        uint8_t *dst = oh != h ? (tmp = swin__malloc((size_t)(nr * nx * 3))) : out;
        if (!dst) {
            free_taps(&t);
            free_taps(&tv);
            return swin__oom();
        }
        for (int64_t y = 0; y < nr; y++) {
            const uint8_t *row = in + (r0 + y) * stride;
            for (int64_t i = 0; i < nx; i++) {
                const int64_t xmin = t.bounds[2 * i], n = t.bounds[2 * i + 1];
                const int32_t *k = t.k + i * t.ksize;
                int32_t s0 = 1 << (PRECISION_BITS - 1), s1 = s0, s2 = s0;
                for (int64_t x = 0; x < n; x++) {
                    const uint8_t *p = row + (xmin + x) * 3;
                    s0 += p[0] * k[x];
                    s1 += p[1] * k[x];
                    s2 += p[2] * k[x];
                }
                uint8_t *q = dst + (y * nx + i) * 3;
                q[0] = clip8(s0);
                q[1] = clip8(s1);
                q[2] = clip8(s2);
            }
        }
        free_taps(&t);
        src = dst;
        src_stride = nx * 3;
    }
    if (oh != h) {
        for (int64_t yy = 0; yy < ny; yy++) {
            const int64_t ymin = tv.bounds[2 * yy] - r0, n = tv.bounds[2 * yy + 1];
            const int32_t *k = tv.k + yy * tv.ksize;
            for (int64_t c = 0; c < nx * 3; c++) {
                int32_t ss = 1 << (PRECISION_BITS - 1);
                for (int64_t y = 0; y < n; y++)
                    ss += src[(ymin + y) * src_stride + c] * k[y];
                out[yy * nx * 3 + c] = clip8(ss);
            }
        }
        free_taps(&tv);
    } else if (ow == w) {
        for (int64_t y = 0; y < ny; y++)
            memcpy(out + y * nx * 3, src + y * stride, (size_t)(nx * 3));
    }
    swin__free(tmp);
    return SWIN_OK;
}

swin_status swin__preprocess(float *out, const uint8_t *pixels, int64_t stride, int64_t w,
                             int64_t h, const swin_preproc *p) {
    const filter *f = NULL;
    for (size_t i = 0; i < sizeof filters / sizeof filters[0]; i++)
        if (strcmp(filters[i].name, p->interpolation) == 0) f = &filters[i].f;
    if (!f)
        return swin__error(SWIN_ERR_CONFIG,
                           "interpolation \"%s\" is not one of bicubic, bilinear, "
                           "lanczos, hamming, box",
                           p->interpolation);
    const bool squash = strcmp(p->crop_mode, "squash") == 0;
    const bool border = strcmp(p->crop_mode, "border") == 0;
    if (!squash && !border && strcmp(p->crop_mode, "center") != 0 && !p->transformers)
        return swin__error(SWIN_ERR_UNSUPPORTED,
                           "crop_mode %s is not supported (center, squash and border are)",
                           p->crop_mode);
    const int64_t S = p->input_size;
    int64_t ow = w, oh = h, top, left;
    uint8_t fill[3] = {0, 0, 0}; /* outside the image */
    if (p->transformers) {
        /* transformers' image processors: resize to the exact size, or the shorter side to
         * shortest_edge with the longer (n * long) // short; then an optional center crop at
         * floor((size - S) / 2) (floor division, negative too), zeros outside the image */
        if (p->resize_h) {
            ow = p->resize_w;
            oh = p->resize_h;
        } else if (p->shortest_edge) {
            const int64_t n = p->shortest_edge;
            if (w <= h) {
                ow = n;
                oh = n * h / w;
            } else {
                oh = n;
                ow = n * w / h;
            }
        }
        if (ow < 1 || oh < 1 || (uint64_t)ow * (uint64_t)oh > ((uint64_t)1 << 30))
            return swin__error(SWIN_ERR_CONFIG, "resize of %lldx%lld to %lldx%lld is out of range",
                               (long long)w, (long long)h, (long long)ow, (long long)oh);
        if (!p->center_crop && (ow != S || oh != S))
            return swin__error(SWIN_ERR_CONFIG,
                               "the image processor makes %lldx%lld, not the %lldx%lld input",
                               (long long)ow, (long long)oh, (long long)S, (long long)S);
        top = oh - S >= 0 ? (oh - S) / 2 : -((S - oh + 1) / 2);
        left = ow - S >= 0 ? (ow - S) / 2 : -((S - ow + 1) / 2);
    } else {
        if (S < 1 || !(p->crop_pct > 0.0))
            return swin__error(SWIN_ERR_CONFIG, "input_size %lld and crop_pct %g must be positive",
                               (long long)S, p->crop_pct);
        /* torchvision Resize(int): the shorter side becomes scale, the longer keeps the ratio */
        const double scaled = floor((double)S / p->crop_pct);
        if (!(scaled >= 1.0 && scaled <= (double)(1 << 30))) /* before the cast: tiny crop_pct */
            return swin__error(SWIN_ERR_CONFIG, "input_size %lld / crop_pct %g is out of range",
                               (long long)S, p->crop_pct);
        const int64_t scale = (int64_t)scaled;
        if (squash) {
            /* timm's squash: both sides to scale (torchvision Resize((scale, scale))) */
            ow = oh = scale;
        } else if (border) {
            /* timm's border: ResizeKeepRatio(longest=1): the longer side to scale, both sides
             * round(side / ratio) (Python's round, half to even); then CenterCropOrPad filled
             * with round(255 * mean) */
            const double ratio = fmax((double)h / (double)scale, (double)w / (double)scale);
            oh = (int64_t)nearbyint((double)h / ratio);
            ow = (int64_t)nearbyint((double)w / ratio);
            for (int c = 0; c < 3; c++) {
                const double v = nearbyint(255.0 * (double)p->mean[c]);
                fill[c] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
            }
        } else if (w <= h && w != scale) { /* center: torchvision Resize(scale), shorter side */
            ow = scale;
            oh = (int64_t)((double)scale * (double)h / (double)w);
        } else if (h < w && h != scale) {
            oh = scale;
            ow = (int64_t)((double)scale * (double)w / (double)h);
        }
        if (ow < 1 || oh < 1 || (uint64_t)ow * (uint64_t)oh > ((uint64_t)1 << 30))
            return swin__error(SWIN_ERR_CONFIG, "resize of %lldx%lld to %lldx%lld is out of range",
                               (long long)w, (long long)h, (long long)ow, (long long)oh);
        /* CenterCrop: offsets rounded half to even as Python's round(); zero padding when the
         * image is smaller than the crop, as torchvision pads. */
        top = oh >= S ? (int64_t)nearbyint((double)(oh - S) / 2.0) : -((S - oh) / 2);
        left = ow >= S ? (int64_t)nearbyint((double)(ow - S) / 2.0) : -((S - ow) / 2);
    }
    /* Only the window the crop keeps is resized. */
    const int64_t x0 = left > 0 ? left : 0, x1 = left + S < ow ? left + S : ow;
    const int64_t y0 = top > 0 ? top : 0, y1 = top + S < oh ? top + S : oh;
    const int64_t nx = x1 - x0, ny = y1 - y0;
    uint8_t *rs = swin__malloc((size_t)(nx * ny * 3));
    if (!rs) return swin__oom();
    swin_status s = resize(rs, pixels, stride, w, h, ow, oh, x0, nx, y0, ny, f);
    if (s != SWIN_OK) {
        swin__free(rs);
        return s;
    }
    for (int c = 0; c < 3; c++) {
        const float mean = p->mean[c], std = p->std[c];
        for (int64_t y = 0; y < S; y++)
            for (int64_t x = 0; x < S; x++) {
                const int64_t sy = y + top, sx = x + left;
                const uint8_t v = (sy >= y0 && sy < y1 && sx >= x0 && sx < x1)
                                      ? rs[((sy - y0) * nx + (sx - x0)) * 3 + c]
                                      : fill[c];
                /* torchvision's ToTensor divides by 255 in float; transformers rescales in
                 * double and rounds to float */
                const float t =
                    p->transformers ? (float)((double)v * p->rescale_factor) : (float)v / 255.0f;
                out[(c * S + y) * S + x] = (t - mean) / std;
            }
    }
    swin__free(rs);
    return SWIN_OK;
}
