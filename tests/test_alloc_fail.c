/* Allocation failure: for each scenario (a Swin file, the official naming with its buffers, F16
 * weights, ViT and post-norm ViT files, a hub folder with config.json, image decoding and
 * preprocessing of PNGs and JPEGs, an .npy file, options) the k-th allocation of the library
 * fails, for every k from the first to the last that the scenario makes: model load, context
 * creation, two plans, the runs and teardown. Each case must return SWIN_ERR_OUT_OF_MEMORY with
 * its message, leave no allocation behind (the hook's live count here; LSan and valgrind in
 * CI), and afterwards the same scenario gives bit-identical outputs. A run with an unchanged
 * input shape, and teardown, must not allocate at all.
 *
 * The hook is swin__alloc_fail_at (src/status.c); libpng allocates through it. jansson does not:
 * the library must not call json_set_alloc_funcs (process-wide: it would take over the host's
 * JSON allocations). This test owns its process, so it routes jansson through its own counter,
 * checks that jansson's allocations are freed too, and makes jansson run out of memory as a
 * whole (docs/security.md says why not allocation by allocation). libjpeg's memory manager is
 * not replaceable and is not counted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_util.h"

/* ---- jansson ----
 * Counted, and made to fail as a whole (its first allocation in a json_load* call, which it
 * handles): failing its k-th allocation in mid-parse crashes jansson 2.14 or makes it drop
 * characters silently (seen with this test; docs/security.md), which no caller can handle. */

static long json_live, json_total;
static bool json_oom; /* every jansson allocation fails */

static void *json_alloc(size_t n) {
    if (json_oom) return NULL;
    void *p = malloc(n);
    if (p) {
        json_live++;
        json_total++;
    }
    return p;
}

static void json_release(void *p) {
    if (p) json_live--;
    free(p);
}

static long allocs(void) {
    return swin__alloc_total() + json_total;
}

static long live(void) {
    return swin__alloc_live() + json_live;
}

/* ---- scenarios: each does its whole job, cleans up, and copies its outputs ---- */

#define OUT_CAP (1 << 17)

typedef struct outputs {
    float v[OUT_CAP];
    size_t n;
} outputs;

static void append(outputs *o, const float *x, size_t n) {
    assert_true(o->n + n <= OUT_CAP);
    memcpy(o->v + o->n, x, n * sizeof *x);
    o->n += n;
}

typedef struct model_case {
    const char *label;
    const char *path; /* file or hub folder */
    bool memory;      /* load the bytes with swin_model_load_memory */
    int64_t size;     /* input side */
    int64_t size2;    /* a second input side (a second plan), 0 for none */
} model_case;

static swin_status copy_outputs(swin_context *ctx, const swin_model *m, outputs *o) {
    const swin_tensor *t;
    if (swin_model_num_classes(m) > 0) {
        SWIN_TRY(swin_context_output(ctx, SWIN_OUTPUT_LOGITS, 0, &t));
        append(o, swin_tensor_data(t), (size_t)swin_tensor_numel(t));
    }
    SWIN_TRY(swin_context_output(ctx, SWIN_OUTPUT_FEATURES, 0, &t));
    append(o, swin_tensor_data(t), (size_t)swin_tensor_numel(t));
    return SWIN_OK;
}

static uint8_t *read_all(const char *path, size_t *size) {
    FILE *fp = fopen(path, "rb");
    if (!fp) fail_msg("cannot open %s", path);
    struct stat sb;
    assert_int_equal(fstat(fileno(fp), &sb), 0);
    *size = (size_t)sb.st_size;
    uint8_t *buf = malloc(*size ? *size : 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, *size, fp), *size);
    fclose(fp);
    return buf;
}

static swin_status run_model_case(const void *arg, outputs *o) {
    const model_case *c = arg;
    swin_model *m = NULL;
    swin_context *ctx = NULL;
    swin_tensor *x = NULL;
    uint8_t *bytes = NULL;
    swin_status s;
    if (c->memory) {
        size_t n;
        bytes = read_all(c->path, &n);
        SWIN_TRY_GOTO(s, swin_model_load_memory(&m, bytes, n, NULL), done);
    } else {
        SWIN_TRY_GOTO(s, swin_model_load_file(&m, c->path, NULL), done);
    }
    SWIN_TRY_GOTO(s, swin_context_create(&ctx, m), done);
    const int64_t sizes[2] = {c->size, c->size2};
    for (int k = 0; k < 2 && sizes[k]; k++) {
        const int64_t shape[4] = {2, 3, sizes[k], sizes[k]};
        swin_tensor_free(x);
        x = NULL;
        SWIN_TRY_GOTO(s, swin_tensor_create(&x, 4, shape), done);
        swin_test_input(swin_tensor_data(x), (size_t)swin_tensor_numel(x), 3 + (uint32_t)k);
        SWIN_TRY_GOTO(s, swin_context_run(ctx, x), done);
        /* the same shape again: a run that allocates nothing */
        const long before = allocs();
        SWIN_TRY_GOTO(s, swin_context_run(ctx, x), done);
        assert_int_equal(allocs(), before);
        SWIN_TRY_GOTO(s, copy_outputs(ctx, m, o), done);
    }
done:;
    /* teardown allocates nothing */
    const long before = allocs();
    swin_tensor_free(x);
    swin_context_free(ctx);
    swin_model_free(m);
    assert_int_equal(allocs(), before);
    free(bytes);
    return s;
}

typedef struct image_case {
    const char *label;
    const char *file; /* fixture image */
} image_case;

static swin_model *image_model; /* loaded once, outside the failures */

static swin_status run_image_case(const void *arg, outputs *o) {
    const image_case *c = arg;
    swin_image *img = NULL;
    swin_tensor *x = NULL;
    swin_status s;
    SWIN_TRY_GOTO(s, swin_image_load_file(&img, swin_test_fixture(c->file)), done);
    const int64_t S = swin_model_input_size(image_model), shape[4] = {1, 3, S, S};
    SWIN_TRY_GOTO(s, swin_tensor_create(&x, 4, shape), done);
    SWIN_TRY_GOTO(s, swin_image_preprocess(img, image_model, x, 0), done);
    append(o, swin_tensor_data(x), (size_t)swin_tensor_numel(x));
done:
    swin_tensor_free(x);
    swin_image_free(img);
    return s;
}

static swin_status run_npy_case(const void *arg, outputs *o) {
    swin_tensor *t = NULL;
    const swin_status s = swin_tensor_load_npy(&t, arg);
    if (s == SWIN_OK) append(o, swin_tensor_data(t), (size_t)swin_tensor_numel(t));
    swin_tensor_free(t);
    return s;
}

static swin_status run_options_case(const void *arg, outputs *o) {
    (void)arg;
    (void)o;
    swin_options *opts = NULL;
    swin_status s = swin_options_create(&opts);
    if (s == SWIN_OK) s = swin_options_set(opts, "num_classes", "0");
    swin_options_free(opts);
    return s;
}

/* ---- the driver ---- */

static long cases_total;

/* Fails allocation k = 1, 2, ... until the scenario makes fewer than k allocations; returns the
 * number of failure cases. */
static long exhaust(const char *label, swin_status (*fn)(const void *, outputs *),
                    const void *arg) {
    outputs *ref = calloc(1, sizeof *ref), *got = calloc(1, sizeof *got);
    assert_true(ref && got);
    const long live0 = live(), total0 = allocs(), json0 = json_total;
    swin_status s = fn(arg, ref);
    if (s != SWIN_OK) fail_msg("%s: %s (%s)", label, swin_status_string(s), swin_last_error());
    const long n = allocs() - total0;
    assert_int_equal(live(), live0);
    const long json_n = json_total - json0;
    long ok_anyway = 0;
    for (long k = 1; k <= n - json_n; k++) {
        got->n = 0;
        swin__alloc_fail_at(k);
        swin_clear_error();
        s = fn(arg, got);
        swin__alloc_fail_at(0);
        if (live() != live0)
            fail_msg("%s: allocation %ld of %ld failed: %ld allocations leaked", label, k,
                     n - json_n, live() - live0);
        if (s == SWIN_OK) {
            /* a failure the library may absorb (libpng skipping an ancillary chunk): only with
             * the exact result */
            if (got->n != ref->n || memcmp(got->v, ref->v, ref->n * sizeof(float)) != 0)
                fail_msg("%s: allocation %ld of %ld failed, yet SWIN_OK with other outputs", label,
                         k, n - json_n);
            ok_anyway++;
        } else if (s != SWIN_ERR_OUT_OF_MEMORY || strncmp(swin_last_error(), "out of memory", 13)) {
            fail_msg("%s: allocation %ld of %ld failed: %s (\"%s\"); SWIN_ERR_OUT_OF_MEMORY "
                     "expected",
                     label, k, n - json_n, swin_status_string(s), swin_last_error());
        }
    }
    if (json_n) { /* jansson out of memory */
        json_oom = true;
        got->n = 0;
        swin_clear_error();
        s = fn(arg, got);
        json_oom = false;
        if (live() != live0) fail_msg("%s: jansson out of memory: leaked", label);
        if (s != SWIN_ERR_OUT_OF_MEMORY || strncmp(swin_last_error(), "out of memory", 13))
            fail_msg("%s: jansson out of memory: %s (\"%s\")", label, swin_status_string(s),
                     swin_last_error());
    }
    /* and it still works, with the same result */
    got->n = 0;
    assert_int_equal(fn(arg, got), SWIN_OK);
    assert_int_equal(got->n, ref->n);
    assert_memory_equal(got->v, ref->v, ref->n * sizeof(float));
    assert_int_equal(live(), live0);
    printf("[oom] %-32s %4ld allocations: each failed once, %ld OUT_OF_MEMORY, %ld absorbed; "
           "%s; no leak; same outputs after\n",
           label, n - json_n, n - json_n - ok_anyway, ok_anyway,
           json_n ? "jansson out of memory: OUT_OF_MEMORY" : "no JSON");
    cases_total += n - json_n + (json_n > 0);
    free(ref);
    free(got);
    return n;
}

static char fuzz_path[1024];

static const char *fuzz_file(const char *rel) {
    snprintf(fuzz_path, sizeof fuzz_path, "%s/%s", SWIN_FUZZ_DIR, rel);
    return fuzz_path;
}

static void test_models(void **state) {
    (void)state;
    static char paths[5][1024];
    snprintf(paths[0], sizeof paths[0], "%s", swin_test_fixture("swin_t7_224.safetensors"));
    snprintf(paths[1], sizeof paths[1], "%s",
             fuzz_file("corpus/model_swin/swin_official.safetensors"));
    snprintf(paths[2], sizeof paths[2], "%s",
             fuzz_file("corpus/model_swin/swin_f16_nometa.safetensors"));
    snprintf(paths[3], sizeof paths[3], "%s", swin_test_fixture("vit/vit_token_p16.safetensors"));
    snprintf(paths[4], sizeof paths[4], "%s",
             fuzz_file("corpus/model_vit_postnorm/vit_postnorm.safetensors"));
    const model_case cases[] = {
        {"Swin file (timm)", paths[0], false, 224, 0},
        {"Swin memory (official, buffers)", paths[1], true, 16, 18},
        {"Swin F16 (converted)", paths[2], false, 16, 0},
        {"ViT file", paths[3], false, 64, 0},
        {"ViT post-norm memory", paths[4], true, 8, 4},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        exhaust(cases[i].label, run_model_case, &cases[i]);
}

static void test_hub_folder(void **state) {
    (void)state;
    char dir[] = "/tmp/swin_oom_hub_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[1200];
    const char *files[2][2] = {{"corpus/config/swin.json", "config.json"},
                               {"corpus/model_swin/swin_timm.safetensors", "model.safetensors"}};
    for (int i = 0; i < 2; i++) {
        size_t n;
        uint8_t *bytes = read_all(fuzz_file(files[i][0]), &n);
        snprintf(path, sizeof path, "%s/%s", dir, files[i][1]);
        FILE *fp = fopen(path, "wb");
        assert_non_null(fp);
        assert_int_equal(fwrite(bytes, 1, n, fp), n);
        assert_int_equal(fclose(fp), 0);
        free(bytes);
    }
    const model_case c = {"hub folder (config.json)", dir, false, 16, 0};
    exhaust(c.label, run_model_case, &c);
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i][1]);
        unlink(path);
    }
    rmdir(dir);
}

/* The modern ViT family (timm hub folders): register tokens, layer scale and a second plan
 * whose position table is resampled; attention pooling; packed SwiGLU. */
static void test_vit_family(void **state) {
    (void)state;
    static char paths[3][1024];
    snprintf(paths[0], sizeof paths[0], "%s", swin_test_fixture("vit_family/dinov2_reg"));
    snprintf(paths[1], sizeof paths[1], "%s", swin_test_fixture("vit_family/siglip_map"));
    snprintf(paths[2], sizeof paths[2], "%s", swin_test_fixture("vit_family/dinov2_swiglu"));
    const model_case cases[] = {
        {"DINOv2 with registers, resampled table", paths[0], false, 56, 42},
        {"SigLIP attention pooling", paths[1], false, 48, 0},
        {"packed SwiGLU", paths[2], false, 28, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        exhaust(cases[i].label, run_model_case, &cases[i]);
}

/* transformers folders: config.json, preprocessor_config.json, the naming layer's renames and
 * q/k/v stacking, DeiT's tokens, Swin's relative position index buffers and padding. */
static void test_transformers(void **state) {
    (void)state;
    static char paths[5][1024];
    snprintf(paths[0], sizeof paths[0], "%s", swin_test_fixture("transformers/vit_model"));
    snprintf(paths[1], sizeof paths[1], "%s", swin_test_fixture("transformers/deit_cls"));
    snprintf(paths[2], sizeof paths[2], "%s", swin_test_fixture("transformers/swin_model"));
    snprintf(paths[3], sizeof paths[3], "%s", swin_test_fixture("transformers/dinov2_reg_model"));
    snprintf(paths[4], sizeof paths[4], "%s", swin_test_fixture("transformers/clip_full"));
    const model_case cases[] = {
        {"transformers ViTModel folder", paths[0], false, 48, 0},
        {"transformers DeiT folder", paths[1], false, 32, 0},
        {"transformers Swin folder", paths[2], false, 72, 80},
        {"transformers DINOv2 with registers", paths[3], false, 56, 42},
        {"transformers CLIPModel folder", paths[4], false, 42, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        exhaust(cases[i].label, run_model_case, &cases[i]);
}

static void test_images(void **state) {
    (void)state;
    char path[1024];
    snprintf(path, sizeof path, "%s/swin_micro.safetensors", SWIN_EXAMPLES_DIR);
    assert_int_equal(swin_model_load_file(&image_model, path, NULL), SWIN_OK);
    static const image_case cases[] = {
        {"PNG decode + preprocess", "images/coffee_150x100.png"},
        {"PNG palette decode + preprocess", "images/rocket_160x240_palette.png"},
        {"JPEG decode + preprocess", "images/chelsea_120x80_exif6.jpg"},
        {"JPEG CMYK decode + preprocess", "images/rocket_150x100_cmyk.jpg"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        exhaust(cases[i].label, run_image_case, &cases[i]);
    swin_model_free(image_model);
}

static void test_npy_and_options(void **state) {
    (void)state;
    static char path[1024];
    snprintf(path, sizeof path, "%s/input.npy", SWIN_EXAMPLES_DIR);
    exhaust(".npy load", run_npy_case, path);
    exhaust("options", run_options_case, NULL);
}

static void test_summary(void **state) {
    (void)state;
    printf("[oom] %ld allocation-failure cases in all\n", cases_total);
    assert_true(cases_total > 0);
}

int main(void) {
    json_set_alloc_funcs(json_alloc, json_release);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_models),       cmocka_unit_test(test_hub_folder),
        cmocka_unit_test(test_transformers), cmocka_unit_test(test_vit_family),
        cmocka_unit_test(test_images),       cmocka_unit_test(test_npy_and_options),
        cmocka_unit_test(test_summary),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
