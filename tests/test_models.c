/* Whole models end to end against the PyTorch reference (tests/reference/swin_ref.py, run in
 * float64). Every case: logits and pooled features; swin_t7_224 also each stage's map. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

typedef struct model_case {
    const char *file;     /* weights */
    const char *expected; /* reference outputs */
    uint32_t seed;
    int64_t batch, img;
    bool stages;
} model_case;

static int run_threads; /* swin_context_set_num_threads for run_case; 0: the default */

static void run_case(const model_case *c, const swin_options *opts) {
    swin_model *m = NULL;
    swin_status s = swin_model_load_file(&m, swin_test_fixture(c->file), opts);
    if (s != SWIN_OK) fail_msg("load %s: %s", c->file, swin_last_error());
    swin_context *ctx = NULL;
    assert_int_equal(swin_context_create(&ctx, m), SWIN_OK);
    assert_int_equal(swin_context_set_num_threads(ctx, run_threads), SWIN_OK);
    const int64_t shape[4] = {c->batch, 3, c->img, c->img};
    swin_tensor *in = NULL;
    assert_int_equal(swin_tensor_create(&in, 4, shape), SWIN_OK);
    swin_test_input(swin_tensor_data(in), (size_t)swin_tensor_numel(in), c->seed);
    s = swin_context_run(ctx, in);
    if (s != SWIN_OK) fail_msg("run %s: %s", c->file, swin_last_error());

    swin_safetensors ref = {0};
    swin_test_open(&ref, c->expected);
    char label[128];
    const swin_tensor *out;
    size_t n;
    const float *want = swin_test_get(&ref, "logits", &n);
    assert_int_equal(swin_context_output(ctx, SWIN_OUTPUT_LOGITS, 0, &out), SWIN_OK);
    assert_int_equal(swin_tensor_numel(out), (int64_t)n);
    snprintf(label, sizeof label, "%s logits", c->file);
    SWIN_CHECK(label, swin_tensor_data(out), want, n);
    want = swin_test_get(&ref, "features", &n);
    assert_int_equal(swin_context_output(ctx, SWIN_OUTPUT_FEATURES, 0, &out), SWIN_OK);
    assert_int_equal(swin_tensor_numel(out), (int64_t)n);
    snprintf(label, sizeof label, "%s features", c->file);
    SWIN_CHECK(label, swin_tensor_data(out), want, n);
    for (int st = 0; c->stages && st < swin_model_num_stages(m); st++) {
        char name[16];
        snprintf(name, sizeof name, "stage%d", st);
        want = swin_test_get(&ref, name, &n);
        assert_int_equal(swin_context_output(ctx, SWIN_OUTPUT_STAGE, st, &out), SWIN_OK);
        assert_int_equal(swin_tensor_numel(out), (int64_t)n);
        snprintf(label, sizeof label, "%s %s", c->file, name);
        SWIN_CHECK(label, swin_tensor_data(out), want, n);
    }
    swin__st_close(&ref);
    swin_tensor_free(in);
    swin_context_free(ctx);
    swin_model_free(m);
}

static const model_case t7 = {
    "swin_t7_224.safetensors", "swin_t7_224.expected.safetensors", 1, 1, 224, true};

static void test_window7_224(void **state) {
    (void)state;
    run_case(&t7, NULL);
}

static void test_official_naming(void **state) {
    (void)state;
    model_case c = t7;
    c.file = "swin_t7_224_official.safetensors";
    run_case(&c, NULL);
}

static void test_no_metadata(void **state) {
    (void)state;
    model_case c = t7;
    c.file = "swin_t7_224_nometa.safetensors";
    run_case(&c, NULL);
}

static void test_f16(void **state) {
    (void)state;
    const model_case c = {
        "swin_t7_224_f16.safetensors", "swin_t7_224_f16.expected.safetensors", 1, 1, 224, false};
    run_case(&c, NULL);
}

static void test_bf16(void **state) {
    (void)state;
    const model_case c = {
        "swin_t7_224_bf16.safetensors", "swin_t7_224_bf16.expected.safetensors", 1, 1, 224, false};
    run_case(&c, NULL);
}

static void test_window12_384(void **state) {
    (void)state;
    const model_case c = {
        "swin_w12_384.safetensors", "swin_w12_384.expected.safetensors", 2, 1, 384, false};
    run_case(&c, NULL);
}

static void test_padding_256_batch2(void **state) {
    (void)state;
    const model_case c = {
        "swin_pad_256.safetensors", "swin_pad_256.expected.safetensors", 3, 2, 256, false};
    run_case(&c, NULL);
}

static void test_odd_merging_200(void **state) {
    (void)state;
    const model_case c = {
        "swin_odd_200.safetensors", "swin_odd_200.expected.safetensors", 4, 1, 200, false};
    run_case(&c, NULL);
}

/* The two namings of the same weights give bit-identical outputs. */
static void test_namings_identical(void **state) {
    (void)state;
    const char *files[2] = {"swin_t7_224.safetensors", "swin_t7_224_official.safetensors"};
    float logits[2][10];
    for (int k = 0; k < 2; k++) {
        swin_model *m;
        assert_int_equal(swin_model_load_file(&m, swin_test_fixture(files[k]), NULL), SWIN_OK);
        assert_string_equal(swin_model_get(m, "naming"), k ? "official" : "timm");
        swin_context *ctx;
        assert_int_equal(swin_context_create(&ctx, m), SWIN_OK);
        const int64_t shape[4] = {1, 3, 224, 224};
        swin_tensor *in;
        assert_int_equal(swin_tensor_create(&in, 4, shape), SWIN_OK);
        swin_test_input(swin_tensor_data(in), (size_t)swin_tensor_numel(in), 1);
        assert_int_equal(swin_context_run(ctx, in), SWIN_OK);
        const swin_tensor *out;
        assert_int_equal(swin_context_output(ctx, SWIN_OUTPUT_LOGITS, 0, &out), SWIN_OK);
        assert_int_equal(swin_tensor_numel(out), 10);
        memcpy(logits[k], swin_tensor_data(out), sizeof logits[k]);
        swin_tensor_free(in);
        swin_context_free(ctx);
        swin_model_free(m);
    }
    assert_memory_equal(logits[0], logits[1], sizeof logits[0]);
}

/* Explicit settings from the caller: the nometa file with its architecture given as options. */
static void test_options_override(void **state) {
    (void)state;
    swin_options *o;
    assert_int_equal(swin_options_create(&o), SWIN_OK);
    assert_int_equal(swin_options_set(o, "img_size", "224"), SWIN_OK);
    assert_int_equal(swin_options_set(o, "depths", "2,2,2,2"), SWIN_OK);
    assert_int_equal(swin_options_set(o, "num_heads", "2,2,4,4"), SWIN_OK);
    model_case c = t7;
    c.file = "swin_t7_224_nometa.safetensors";
    run_case(&c, o);
    /* a wrong explicit setting wins over the tensors, and is reported */
    assert_int_equal(swin_options_set(o, "embed_dim", "8"), SWIN_OK);
    swin_model *m = (swin_model *)0x1;
    assert_int_equal(swin_model_load_file(&m, swin_test_fixture(c.file), o), SWIN_ERR_SHAPE);
    assert_null(m);
    assert_non_null(strstr(swin_last_error(), "patch_embed.proj.weight"));
    swin_options_free(o);
}

/* One context runs different batch sizes; results per image do not depend on the batch. */
/* The worker pool splits products by rows or columns and attention by (window, head): every
 * split, odd thread counts included, against the same reference. */
static void test_thread_counts(void **state) {
    (void)state;
    static const model_case pad = {"swin_pad_256.safetensors", "swin_pad_256.expected.safetensors",
                                   3, 2, 256, false};
    static const model_case odd = {"swin_odd_200.safetensors", "swin_odd_200.expected.safetensors",
                                   4, 1, 200, false};
    for (int t = 1; t <= 4; t++) {
        run_threads = t;
        run_case(&t7, NULL);
        run_case(&pad, NULL);
        run_case(&odd, NULL);
    }
    run_threads = 0;
}

/* One context whose thread count changes between runs: the pool is rebuilt and the memory
 * plan (per-thread scratch) redone, and every run still matches the reference. */
static void test_context_thread_change(void **state) {
    (void)state;
    swin_model *m = NULL;
    assert_int_equal(swin_model_load_file(&m, swin_test_fixture(t7.file), NULL), SWIN_OK);
    swin_context *ctx = NULL;
    assert_int_equal(swin_context_create(&ctx, m), SWIN_OK);
    const int64_t shape[4] = {t7.batch, 3, t7.img, t7.img};
    swin_tensor *in = NULL;
    assert_int_equal(swin_tensor_create(&in, 4, shape), SWIN_OK);
    swin_test_input(swin_tensor_data(in), (size_t)swin_tensor_numel(in), t7.seed);
    swin_safetensors ref = {0};
    swin_test_open(&ref, t7.expected);
    size_t n;
    const float *want = swin_test_get(&ref, "logits", &n);
    static const int counts[] = {2, 1, 3, 3, 0};
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
        assert_int_equal(swin_context_set_num_threads(ctx, counts[i]), SWIN_OK);
        assert_int_equal(swin_context_run(ctx, in), SWIN_OK);
        const swin_tensor *out;
        assert_int_equal(swin_context_output(ctx, SWIN_OUTPUT_LOGITS, 0, &out), SWIN_OK);
        char label[64];
        snprintf(label, sizeof label, "logits after switching to %d threads", counts[i]);
        SWIN_CHECK(label, swin_tensor_data(out), want, n);
    }
    swin__st_close(&ref);
    swin_tensor_free(in);
    swin_context_free(ctx);
    swin_model_free(m);
}

static void test_batch_consistency(void **state) {
    (void)state;
    swin_model *m;
    assert_int_equal(swin_model_load_file(&m, swin_test_fixture("swin_pad_256.safetensors"), NULL),
                     SWIN_OK);
    swin_context *ctx;
    assert_int_equal(swin_context_create(&ctx, m), SWIN_OK);
    const int64_t shape2[4] = {2, 3, 256, 256}, shape1[4] = {1, 3, 256, 256};
    swin_tensor *in2, *in1;
    assert_int_equal(swin_tensor_create(&in2, 4, shape2), SWIN_OK);
    swin_test_input(swin_tensor_data(in2), (size_t)swin_tensor_numel(in2), 3);
    const size_t per = (size_t)(3 * 256 * 256);
    assert_int_equal(swin_tensor_wrap(&in1, swin_tensor_data(in2) + per, 4, shape1), SWIN_OK);
    const swin_tensor *out;
    float second[10];
    assert_int_equal(swin_context_run(ctx, in1), SWIN_OK);
    assert_int_equal(swin_context_output(ctx, SWIN_OUTPUT_LOGITS, 0, &out), SWIN_OK);
    memcpy(second, swin_tensor_data(out), sizeof second);
    assert_int_equal(swin_context_run(ctx, in2), SWIN_OK);
    assert_int_equal(swin_context_output(ctx, SWIN_OUTPUT_LOGITS, 0, &out), SWIN_OK);
    assert_true(swin_test_check("batch 1 vs row 1 of batch 2", second, swin_tensor_data(out) + 10,
                                10, SWIN_TEST_TOL));
    swin_tensor_free(in1);
    swin_tensor_free(in2);
    swin_context_free(ctx);
    swin_model_free(m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_window7_224),
        cmocka_unit_test(test_official_naming),
        cmocka_unit_test(test_no_metadata),
        cmocka_unit_test(test_f16),
        cmocka_unit_test(test_bf16),
        cmocka_unit_test(test_window12_384),
        cmocka_unit_test(test_padding_256_batch2),
        cmocka_unit_test(test_odd_merging_200),
        cmocka_unit_test(test_namings_identical),
        cmocka_unit_test(test_options_override),
        cmocka_unit_test(test_batch_consistency),
        cmocka_unit_test(test_thread_counts),
        cmocka_unit_test(test_context_thread_change),
    };
    return swin_test_run_each_isa(tests, NULL, NULL);
}
