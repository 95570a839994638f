/* Images: decoding (JPEG, PNG in their variants) and timm's eval preprocessing against PIL +
 * torchvision on real photographs (tests/fixtures/images, made by
 * tests/reference/gen_preprocess_fixtures.py). Thresholds from the spec: max |diff| <= 0.02 and
 * mean |diff| <= 0.002 of the normalized tensor; we also report how many elements differ. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

typedef struct setting {
    const char *name;
    const char *size, *interp, *crop, *mean, *std, *crop_mode;
} setting;

#define CLIP_MEAN "0.48145466,0.4578275,0.40821073"
#define CLIP_STD "0.26862954,0.26130258,0.27577711"
/* The settings of gen_preprocess_fixtures.py (its __metadata__ "settings"). */
static const setting settings[] = {
    {"s224_bicubic_in", "224", "bicubic", "0.9", "0.485,0.456,0.406", "0.229,0.224,0.225",
     "center"},
    {"s224_bilinear_half", "224", "bilinear", "0.875", "0.5,0.5,0.5", "0.5,0.5,0.5", "center"},
    {"s64_bicubic_in", "64", "bicubic", "0.9", "0.485,0.456,0.406", "0.229,0.224,0.225",
     "center"},
    {"s64_bilinear_half", "64", "bilinear", "0.875", "0.5,0.5,0.5", "0.5,0.5,0.5", "center"},
    {"s64_bicubic_squash", "64", "bicubic", "0.9", CLIP_MEAN, CLIP_STD, "squash"},
    {"s64_bilinear_border", "64", "bilinear", "0.95", CLIP_MEAN, CLIP_STD, "border"},
};

static const char *const images[] = {
    "chelsea_400x266.jpg",        "coffee_150x100.png",         "astronaut_256_progressive.jpg",
    "camera_240x180_gray.jpg",    "rocket_160x240_palette.png", "astronaut_120x160_rgba.png",
    "coffee_120x80_rgb16.png",    "chelsea_60x40.png",          "rocket_150x100_cmyk.jpg",
    "chelsea_120x80_exif6.jpg",
};

static swin_model *model_with(const setting *s) {
    swin_options *o;
    assert_int_equal(swin_options_create(&o), SWIN_OK);
    assert_int_equal(swin_options_set(o, "input_size", s->size), SWIN_OK);
    assert_int_equal(swin_options_set(o, "interpolation", s->interp), SWIN_OK);
    assert_int_equal(swin_options_set(o, "crop_pct", s->crop), SWIN_OK);
    assert_int_equal(swin_options_set(o, "mean", s->mean), SWIN_OK);
    assert_int_equal(swin_options_set(o, "std", s->std), SWIN_OK);
    assert_int_equal(swin_options_set(o, "crop_mode", s->crop_mode), SWIN_OK);
    swin_model *m;
    char path[512];
    snprintf(path, sizeof path, "%s/../../examples/swin_micro.safetensors", SWIN_FIXTURE_DIR);
    assert_int_equal(swin_model_load_file(&m, path, o), SWIN_OK);
    swin_options_free(o);
    return m;
}

static void test_preprocess_matches_pil(void **state) {
    (void)state;
    swin_safetensors st = {0};
    swin_test_open(&st, "images/preprocess.expected.safetensors");
    int cases = 0, failures = 0;
    for (size_t k = 0; k < sizeof settings / sizeof settings[0]; k++) {
        swin_model *m = model_with(&settings[k]);
        const int64_t S = swin_model_input_size(m), shape[4] = {1, 3, S, S};
        float mean[3], std[3];
        sscanf(settings[k].mean, "%f,%f,%f", &mean[0], &mean[1], &mean[2]);
        sscanf(settings[k].std, "%f,%f,%f", &std[0], &std[1], &std[2]);
        for (size_t i = 0; i < sizeof images / sizeof images[0]; i++) {
            char name[128], file[128];
            snprintf(file, sizeof file, "images/%s", images[i]);
            snprintf(name, sizeof name, "%.*s.%s", (int)(strrchr(images[i], '.') - images[i]),
                     images[i], settings[k].name);
            const swin_st_tensor *want = swin__st_find(&st, name);
            if (!want) continue; /* not every (image, setting) pair is stored */
            assert_int_equal(want->dtype, SWIN_DT_U8);
            assert_int_equal(want->numel, (size_t)(3 * S * S));
            swin_image *img;
            swin_status s = swin_image_load_file(&img, swin_test_fixture(file));
            if (s != SWIN_OK) fail_msg("%s: %s", file, swin_last_error());
            swin_tensor *x;
            assert_int_equal(swin_tensor_create(&x, 4, shape), SWIN_OK);
            assert_int_equal(swin_image_preprocess(img, m, x, 0), SWIN_OK);
            double max_abs = 0, sum = 0;
            size_t differ = 0;
            for (size_t e = 0; e < want->numel; e++) {
                const int c = (int)(e / (size_t)(S * S));
                const float ref = ((float)want->raw[e] / 255.0f - mean[c]) / std[c];
                const double d = fabs((double)swin_tensor_data(x)[e] - ref);
                max_abs = d > max_abs ? d : max_abs;
                sum += d;
                differ += d != 0.0;
            }
            const double mean_abs = sum / (double)want->numel;
            const bool ok = max_abs <= 0.02 && mean_abs <= 0.002;
            printf("[pre] %-48s max %.2e mean %.2e differing %zu/%zu %s\n", name, max_abs, mean_abs,
                   differ, want->numel, ok ? "ok" : "FAIL");
            failures += !ok;
            cases++;
            swin_tensor_free(x);
            swin_image_free(img);
        }
        swin_model_free(m);
    }
    swin__st_close(&st);
    assert_true(cases >= 20);
    assert_int_equal(failures, 0);
}

static uint8_t *read_all(const char *path, size_t *n) {
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    fseek(fp, 0, SEEK_END);
    *n = (size_t)ftell(fp);
    fseek(fp, 0, SEEK_SET);
    uint8_t *buf = malloc(*n);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, *n, fp), *n);
    fclose(fp);
    return buf;
}

/* Decoding from memory equals decoding the file; caller pixels (with row padding) give the same
 * tensor as the decoded image. */
static void test_memory_and_wrap(void **state) {
    (void)state;
    size_t n;
    uint8_t *bytes = read_all(swin_test_fixture("images/coffee_150x100.png"), &n);
    swin_image *a, *b, *w;
    assert_int_equal(swin_image_load_file(&a, swin_test_fixture("images/coffee_150x100.png")),
                     SWIN_OK);
    assert_int_equal(swin_image_load_memory(&b, bytes, n), SWIN_OK);
    assert_int_equal(swin_image_width(a), 150);
    assert_int_equal(swin_image_height(a), 100);
    int64_t sa, sb;
    const uint8_t *pa = swin_image_pixels(a, &sa), *pb = swin_image_pixels(b, &sb);
    assert_int_equal(sa, 450);
    assert_memory_equal(pa, pb, 450 * 100);
    const int64_t stride = 450 + 13;
    uint8_t *padded = calloc(100, (size_t)stride);
    for (int y = 0; y < 100; y++) memcpy(padded + y * stride, pa + y * 450, 450);
    assert_int_equal(swin_image_wrap_rgb8(&w, padded, 150, 100, stride), SWIN_OK);
    const setting *s = &settings[2];
    swin_model *m = model_with(s);
    const int64_t shape[4] = {2, 3, 64, 64};
    swin_tensor *x;
    assert_int_equal(swin_tensor_create(&x, 4, shape), SWIN_OK);
    assert_int_equal(swin_image_preprocess(a, m, x, 0), SWIN_OK);
    assert_int_equal(swin_image_preprocess(w, m, x, 1), SWIN_OK);
    assert_memory_equal(swin_tensor_data(x), swin_tensor_data(x) + 3 * 64 * 64, 3 * 64 * 64 * 4);
    /* wrong batch shape or index */
    assert_int_equal(swin_image_preprocess(a, m, x, 2), SWIN_ERR_INVALID_ARGUMENT);
    swin_tensor_free(x);
    swin_model_free(m);
    swin_image_free(a);
    swin_image_free(b);
    swin_image_free(w);
    free(padded);
    free(bytes);
}

/* Truncated and corrupted files: a status, never a crash (every prefix of both formats). */
static void test_corrupt_images(void **state) {
    (void)state;
    const char *files[2] = {"images/chelsea_400x266.jpg", "images/rocket_160x240_palette.png"};
    for (int f = 0; f < 2; f++) {
        size_t n;
        uint8_t *bytes = read_all(swin_test_fixture(files[f]), &n);
        int errors = 0;
        for (size_t len = 0; len < n; len += (len < 2048 ? 1 : 97)) {
            swin_image *img = (swin_image *)0x1;
            const swin_status s = swin_image_load_memory(&img, bytes, len);
            if (s == SWIN_OK) {
                swin_image_free(img);
            } else {
                assert_null(img);
                assert_true(swin_last_error()[0] != '\0');
                assert_true(s == SWIN_ERR_TRUNCATED || s == SWIN_ERR_FORMAT);
                errors++;
            }
        }
        printf("[img] %s: %d of the truncated prefixes rejected\n", files[f], errors);
        assert_true(errors > 0);
        /* flipped bytes after the signature */
        for (size_t pos = 8; pos < n; pos += 31) {
            uint8_t keep = bytes[pos];
            bytes[pos] ^= 0x5A;
            swin_image *img = NULL;
            if (swin_image_load_memory(&img, bytes, n) == SWIN_OK) swin_image_free(img);
            bytes[pos] = keep;
        }
        free(bytes);
    }
    swin_image *img = (swin_image *)0x1;
    assert_int_equal(swin_image_load_memory(&img, "GIF89a....", 10), SWIN_ERR_FORMAT);
    assert_null(img);
    assert_int_equal(swin_image_load_file(&img, swin_test_fixture("images/none.png")), SWIN_ERR_IO);
    /* the PNG truncated after its header: TRUNCATED */
    size_t n;
    uint8_t *bytes = read_all(swin_test_fixture("images/coffee_150x100.png"), &n);
    assert_int_equal(swin_image_load_memory(&img, bytes, n / 2), SWIN_ERR_TRUNCATED);
    free(bytes);
}

/* CRC-32 of PNG chunks (ISO 3309), bit by bit: test data only. */
static uint32_t png_crc(const uint8_t *p, size_t n) {
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = c & 1u ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    }
    return c ^ 0xFFFFFFFFu;
}

static void put_be32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* A 45-byte PNG whose zTXt chunk declares 400 MB: decoding must not ask for that much (libpng
 * allocates a chunk at its declared length before reading it; fuzz_image found this). */
static void test_chunk_bomb(void **state) {
    (void)state;
    uint8_t png[45] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    put_be32(png + 8, 13);
    memcpy(png + 12, "IHDR", 4);
    put_be32(png + 16, 1); /* width */
    put_be32(png + 20, 1); /* height */
    png[24] = 8;           /* bit depth */
    png[25] = 2;           /* RGB */
    put_be32(png + 29, png_crc(png + 12, 17));
    put_be32(png + 33, 400000000u);
    memcpy(png + 37, "zTXtabcd", 8);
    swin__alloc_largest(true);
    swin_image *img = (swin_image *)0x1;
    const swin_status s = swin_image_load_memory(&img, png, sizeof png);
    const size_t largest = swin__alloc_largest(false);
    printf("[img] 400 MB zTXt chunk: status %d (%s), largest allocation %zu bytes\n", (int)s,
           swin_last_error(), largest);
    assert_true(s == SWIN_ERR_TRUNCATED || s == SWIN_ERR_FORMAT);
    assert_null(img);
    assert_true(largest <= (size_t)16 << 20);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_preprocess_matches_pil),
        cmocka_unit_test(test_memory_and_wrap),
        cmocka_unit_test(test_corrupt_images),
        cmocka_unit_test(test_chunk_bomb),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
