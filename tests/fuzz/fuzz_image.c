/* JPEG and PNG decoding from memory, then timm's eval preprocessing of what decodes. The first
 * four bytes choose the preprocessing: input size 1..64, interpolation, crop_pct 0.25..4.2,
 * and ImageNet or 0.5 normalisation; the rest is the encoded image. */
#include <math.h>

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 4) return 0;
    static const char *const interp[] = {"bicubic", "bilinear", "lanczos", "hamming", "box"};
    swin_preproc p = {.input_size = 1 + data[0] % 64, .crop_pct = 0.25 + data[2] / 64.0};
    snprintf(p.interpolation, sizeof p.interpolation, "%s", interp[data[1] % 5]);
    for (int c = 0; c < 3; c++) {
        static const float mean[3] = {0.485f, 0.456f, 0.406f}, std[3] = {0.229f, 0.224f, 0.225f};
        p.mean[c] = data[3] & 1 ? 0.5f : mean[c];
        p.std[c] = data[3] & 1 ? 0.5f : std[c];
    }
    swin_image *img = (swin_image *)0x1;
    swin_clear_error();
    swin_status s = swin_image_load_memory(&img, data + 4, size - 4);
    if (s != SWIN_OK) {
        FUZZ_CHECK_FAILURE(s);
        FUZZ_CHECK(img == NULL);
        return 0;
    }
    const int64_t w = swin_image_width(img), h = swin_image_height(img);
    int64_t stride = 0;
    const uint8_t *px = swin_image_pixels(img, &stride);
    FUZZ_CHECK(px && w >= 1 && h >= 1 && stride == 3 * w);
    unsigned sum = 0;
    for (int64_t i = 0; i < h * stride; i++)
        sum += px[i];
    const int64_t S = p.input_size;
    float *out = malloc((size_t)(3 * S * S) * sizeof(float));
    if (!out) abort();
    s = swin__preprocess(out, px, stride, w, h, &p);
    if (s == SWIN_OK) {
        for (int64_t i = 0; i < 3 * S * S; i++)
            FUZZ_CHECK(isfinite(out[i]) && fabsf(out[i]) < 3.0f);
    } else {
        FUZZ_CHECK_FAILURE(s);
    }
    free(out);
    swin_image_free(img);
    (void)sum;
    return 0;
}
