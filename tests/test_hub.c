/* Hugging Face hub folders and classification end to end: examples/shapes (a small Swin trained
 * by tests/reference/train_shapes.py) classifies its example images with the same top-5 as the
 * PyTorch reference (examples/shapes/images/expected_top5.json, float64); config.json is
 * validated like any untrusted input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test_util.h"

#ifndef SWIN_EXAMPLES_DIR
#error "SWIN_EXAMPLES_DIR must be defined"
#endif

static void test_shapes_top5(void **state) {
    (void)state;
    char path[1024];
    swin_model *m;
    snprintf(path, sizeof path, "%s/shapes", SWIN_EXAMPLES_DIR);
    if (swin_model_load_file(&m, path, NULL) != SWIN_OK) fail_msg("%s", swin_last_error());
    assert_string_equal(swin_model_get(m, "family"), "swin");
    assert_string_equal(swin_model_get(m, "input_size"), "64");
    assert_string_equal(swin_model_get(m, "interpolation"), "bicubic");
    assert_string_equal(swin_model_label(m, 0), "circle");
    assert_null(swin_model_label(m, 10));
    snprintf(path, sizeof path, "%s/shapes/images/expected_top5.json", SWIN_EXAMPLES_DIR);
    json_error_t err;
    json_t *root = json_load_file(path, 0, &err);
    assert_non_null(root);
    json_t *list = json_object_get(root, "images");
    assert_true(json_array_size(list) >= 8);
    const int64_t K = swin_model_num_classes(m), S = swin_model_input_size(m);
    const int64_t shape[4] = {(int64_t)json_array_size(list), 3, S, S};
    swin_tensor *x;
    assert_int_equal(swin_tensor_create(&x, 4, shape), SWIN_OK);
    for (size_t i = 0; i < json_array_size(list); i++) {
        json_t *item = json_array_get(list, i);
        snprintf(path, sizeof path, "%s/shapes/images/%s", SWIN_EXAMPLES_DIR,
                 json_string_value(json_object_get(item, "file")));
        swin_image *img;
        assert_int_equal(swin_image_load_file(&img, path), SWIN_OK);
        assert_int_equal(swin_image_preprocess(img, m, x, (int64_t)i), SWIN_OK);
        swin_image_free(img);
    }
    swin_context *ctx;
    const swin_tensor *out;
    assert_int_equal(swin_context_create(&ctx, m), SWIN_OK);
    assert_int_equal(swin_context_run(ctx, x), SWIN_OK);
    assert_int_equal(swin_context_output(ctx, SWIN_OUTPUT_LOGITS, 0, &out), SWIN_OK);
    double worst = 0.0;
    int correct = 0;
    for (size_t i = 0; i < json_array_size(list); i++) {
        json_t *item = json_array_get(list, i), *top = json_object_get(item, "top5");
        const float *z = swin_tensor_data(out) + (int64_t)i * K;
        double mx = z[0], sum = 0.0;
        for (int64_t c = 1; c < K; c++) mx = z[c] > mx ? z[c] : mx;
        for (int64_t c = 0; c < K; c++) sum += exp((double)z[c] - mx);
        /* our ranking of the reference's top 5 must be the same order, probabilities close */
        int64_t prev = -1;
        for (size_t r = 0; r < json_array_size(top); r++) {
            const int64_t c = json_integer_value(json_object_get(json_array_get(top, r), "index"));
            const double p_ref = json_real_value(json_object_get(json_array_get(top, r), "prob"));
            const double p = exp((double)z[c] - mx) / sum;
            worst = fabs(p - p_ref) > worst ? fabs(p - p_ref) : worst;
            if (prev >= 0) assert_true(z[c] <= z[prev]);
            for (int64_t o = 0; r == 0 && o < K; o++) assert_true(z[o] <= z[c]);
            prev = c;
        }
        const char *truth = json_string_value(json_object_get(item, "true_label"));
        const int64_t top1 = json_integer_value(json_object_get(json_array_get(top, 0), "index"));
        correct += truth && strcmp(truth, swin_model_label(m, top1)) == 0;
    }
    printf("[hub] %zu images: same top-5 order as PyTorch, worst |p - p_ref| = %.2e, %d correct\n",
           json_array_size(list), worst, correct);
    assert_true(worst <= 1e-5);
    json_decref(root);
    swin_context_free(ctx);
    swin_tensor_free(x);
    swin_model_free(m);
}

/* A temporary hub folder: model.safetensors linked from examples/shapes, config.json given. */
static swin_status load_with_config(const char *json, const swin_options *opts) {
    char dir[] = "/tmp/swin_hub_XXXXXX", path[512], target[512];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    snprintf(target, sizeof target, "%s/shapes/model.safetensors", SWIN_EXAMPLES_DIR);
    assert_int_equal(symlink(target, path), 0);
    snprintf(path, sizeof path, "%s/config.json", dir);
    FILE *fp = fopen(path, "w");
    fputs(json, fp);
    fclose(fp);
    swin_model *m = (swin_model *)0x1;
    const swin_status s = swin_model_load_file(&m, dir, opts);
    if (s == SWIN_OK) swin_model_free(m);
    else assert_null(m);
    unlink(path);
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    unlink(path);
    rmdir(dir);
    return s;
}

#define ARGS "\"model_args\": {\"img_size\": 64, \"window_size\": 4, \"embed_dim\": 24, " \
             "\"depths\": [2, 2, 2], \"num_heads\": [1, 2, 4]}"

static void test_config_validation(void **state) {
    (void)state;
    assert_int_equal(load_with_config("{\"architecture\": \"swin_tiny_patch4_window7_224\", " ARGS "}", NULL), SWIN_OK);
    assert_int_equal(load_with_config("{\"architecture\": 3}", NULL), SWIN_ERR_FORMAT);
    assert_int_equal(load_with_config("{not json", NULL), SWIN_ERR_FORMAT);
    assert_non_null(strstr(swin_last_error(), "config.json"));
    assert_int_equal(load_with_config("[]", NULL), SWIN_ERR_FORMAT);
    assert_int_equal(load_with_config("{\"model_args\": {\"qk_norm\": true}}", NULL), SWIN_ERR_UNSUPPORTED);
    assert_non_null(strstr(swin_last_error(), "qk_norm"));
    assert_int_equal(load_with_config("{" ARGS ", \"model_args2\": 1, \"label_names\": [\"a\"]}", NULL), SWIN_ERR_CONFIG);
    assert_non_null(strstr(swin_last_error(), "label_names"));
    assert_int_equal(load_with_config("{" ARGS ", \"label_names\": [1,2]}", NULL), SWIN_ERR_FORMAT);
    assert_int_equal(load_with_config("{" ARGS ", \"pretrained_cfg\": {\"input_size\": [3, 64, 32]}}", NULL), SWIN_ERR_UNSUPPORTED);
    assert_int_equal(load_with_config("{" ARGS ", \"pretrained_cfg\": {\"interpolation\": \"nearest\"}}", NULL), SWIN_ERR_CONFIG);
    /* a crop libswin does not compute is refused where preprocessing happens, not at load */
    assert_int_equal(load_with_config("{" ARGS ", \"pretrained_cfg\": {\"crop_mode\": \"squash\"}}", NULL), SWIN_OK);
    assert_int_equal(load_with_config("{" ARGS ", \"pretrained_cfg\": {\"crop_mode\": \"sideways\"}}", NULL), SWIN_ERR_CONFIG);
    /* a wrong architecture in config.json is caught against the tensors ... */
    assert_int_equal(load_with_config("{\"model_args\": {\"embed_dim\": 32}}", NULL), SWIN_ERR_SHAPE);
    /* ... and the caller's settings override config.json */
    swin_options *o;
    assert_int_equal(swin_options_create(&o), SWIN_OK);
    assert_int_equal(swin_options_set(o, "embed_dim", "24"), SWIN_OK);
    assert_int_equal(load_with_config("{\"model_args\": {\"embed_dim\": 32, \"img_size\": 64, \"window_size\": 4}}", o), SWIN_OK);
    swin_options_free(o);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shapes_top5),
        cmocka_unit_test(test_config_validation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
