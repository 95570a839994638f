/* Hugging Face transformers folders (tests/fixtures/transformers, made by
 * tests/reference/gen_transformers_fixtures.py from independent PyTorch modules with
 * transformers' names and semantics): ViT with and without head (and its pooler), DeiT with
 * its distillation token (and with its teacher head), Swin with and without head, at a size
 * every stage pads (256 with window 7) and with windows clamped to a stage; Swin V2 with and
 * without head, at sizes that pad every stage (windows fixed by config.image_size); DINOv2
 * with and without registers, head and SwiGLU, its position table resampled (without and with
 * antialiasing) to other sizes; CLIP's vision tower (CLIPVisionModel, ...WithProjection, a
 * whole CLIPModel folder); the image processors' tensors (BitImageProcessor too); labels from
 * id2label; config.json that disagrees with the tensors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_util.h"

#define TF(name) "transformers/" name

/* Preprocessing must equal the image processor's tensor within this, absolutely. */
#define PRE_TOL 2e-6

static bool check_abs(const char *label, const float *got, const float *ref, size_t n) {
    double worst = 0.0;
    for (size_t i = 0; i < n; i++) {
        const double d = fabs((double)got[i] - (double)ref[i]);
        if (d > worst || !isfinite(d)) worst = isfinite(d) ? d : INFINITY;
    }
    printf("[pre] %-50s n=%zu max |diff| %.3e (bound %.0e) %s\n", label, n, worst, PRE_TOL,
           worst <= PRE_TOL ? "ok" : "FAIL");
    return worst <= PRE_TOL;
}

typedef struct tcase {
    const char *name, *arch;
    int64_t batch, img;
    uint32_t seed;
    int stages[4];    /* the stage maps stored (-1 ends) */
    int64_t extra[4]; /* more input sizes: batch 1, seed + size, keys with "@size" (0 ends) */
} tcase;

static const tcase cases[] = {
    {"vit_cls", "ViTForImageClassification", 2, 32, 21, {0, -1}, {0}},
    {"vit_model", "ViTModel", 2, 48, 22, {0, -1}, {0}},
    {"deit_cls", "DeiTForImageClassification", 2, 32, 23, {0, -1}, {0}},
    {"swin_cls_224", "SwinForImageClassification", 1, 224, 24, {0, 3, -1}, {0}},
    {"swin_cls_256", "SwinForImageClassification", 2, 256, 25, {3, -1}, {0}},
    {"swin_model", "SwinModel", 2, 72, 26, {0, 1, 2, -1}, {0}},
    /* Swin V2: cosine attention, continuous position bias (pretrained windows 3, -, 6), the
     * shift mask added twice; windows and shifts fixed by config.image_size, the runtime maps
     * padded to them (swinv2_cls_pad: config 40, run at 40, 42 and 64) */
    {"swinv2_cls", "Swinv2ForImageClassification", 2, 64, 27, {0, 1, 2, -1}, {0}},
    {"swinv2_cls_pad", "Swinv2ForImageClassification", 2, 40, 28, {0, 1, 2, -1}, {42, 64, 0}},
    {"swinv2_model", "Swinv2Model", 2, 56, 29, {0, 1, 2, -1}, {0}},
    /* DINOv2: the position table resampled without antialiasing (42: 3x3, 28, 70 from 4x4) */
    {"dinov2_model", "Dinov2Model", 2, 56, 51, {-1}, {28, 42, 70, 0}},
    {"dinov2_cls", "Dinov2ForImageClassification", 2, 42, 52, {-1}, {0}},
    /* with registers: rows for the class token and the patches only; antialiased */
    {"dinov2_reg_model", "Dinov2WithRegistersModel", 2, 56, 53, {-1}, {42, 70, 0}},
    {"dinov2_reg_cls", "Dinov2WithRegistersForImageClassification", 2, 42, 54, {-1}, {0}},
    /* CLIP's vision tower; another size as interpolate_pos_encoding=True computes it */
    {"clip_vision", "CLIPVisionModel", 2, 42, 55, {-1}, {28, 56, 0}},
    {"clip_vision_proj", "CLIPVisionModelWithProjection", 2, 48, 56, {-1}, {0}},
    {"clip_full", "CLIPModel", 2, 42, 57, {-1}, {0}},
    {"deit_teacher", "DeiTForImageClassificationWithTeacher", 2, 32, 58, {0, -1}, {0}},
};

static swin_model *load_case(const char *name) {
    char path[512];
    snprintf(path, sizeof path, "%s", swin_test_fixture(name));
    swin_model *m;
    const swin_status s = swin_model_load_file(&m, path, NULL);
    if (s != SWIN_OK) fail_msg("%s: %s (%s)", name, swin_status_string(s), swin_last_error());
    return m;
}

static void run_case(const tcase *c) {
    char dir[128], exp_name[128];
    snprintf(dir, sizeof dir, TF("%s"), c->name);
    snprintf(exp_name, sizeof exp_name, TF("%s.expected.safetensors"), c->name);
    swin_model *m = load_case(dir);
    assert_string_equal(swin_model_get(m, "naming"), "transformers");
    assert_string_equal(swin_model_get(m, "arch"), c->arch);
    swin_safetensors exp = {0};
    swin_test_open(&exp, exp_name);
    for (int k = 0; k < 4 && c->extra[k]; k++) {
        char suffix[16];
        snprintf(suffix, sizeof suffix, "@%lld", (long long)c->extra[k]);
        swin_tensor *xe;
        swin_context_free(swin_test_run_outputs(m, &exp, c->name, 1, c->extra[k],
                                                c->seed + (uint32_t)c->extra[k], suffix, &xe));
        swin_tensor_free(xe);
    }
    swin_tensor *x;
    swin_context *ctx = swin_test_run_outputs(m, &exp, c->name, c->batch, c->img, c->seed, "", &x);
    if (swin__st_find(&exp, "pooler")) {
        assert_string_equal(swin_model_get(m, "pooler"), "1");
        swin_test_check_output(ctx, SWIN_OUTPUT_POOLER, 0, &exp, "pooler", c->name);
    } else {
        const swin_tensor *out;
        assert_int_equal(swin_context_output(ctx, SWIN_OUTPUT_POOLER, 0, &out),
                         SWIN_ERR_INVALID_ARGUMENT);
    }
    for (int i = 0; c->stages[i] >= 0; i++) {
        char key[16];
        snprintf(key, sizeof key, "stage%d", c->stages[i]);
        swin_test_check_output(ctx, SWIN_OUTPUT_STAGE, c->stages[i], &exp, key, c->name);
    }
    swin_context_free(ctx);
    swin_tensor_free(x);
    swin__st_close(&exp);
    swin_model_free(m);
}

static void test_models(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        run_case(&cases[i]);
}

/* The family and the values transformers fixes: DeiT's two prefix tokens, Swin's windowing,
 * the per-case eps, and id2label's names. */
static void test_resolved(void **state) {
    (void)state;
    swin_model *m = load_case(TF("deit_cls"));
    assert_string_equal(swin_model_get(m, "family"), "vit");
    assert_string_equal(swin_model_get(m, "dist_token"), "1");
    assert_string_equal(swin_model_get(m, "norm_eps"), "1e-12");
    swin_model_free(m);
    m = load_case(TF("vit_model"));
    assert_string_equal(swin_model_get(m, "qkv_bias"), "false");
    assert_string_equal(swin_model_get(m, "norm_eps"), "0.001");
    assert_null(swin_model_label(m, 0));
    swin_model_free(m);
    m = load_case(TF("swin_model"));
    assert_string_equal(swin_model_get(m, "family"), "swin");
    assert_string_equal(swin_model_get(m, "windowing"), "transformers");
    assert_string_equal(swin_model_get(m, "depths"), "2,3,2");
    swin_model_free(m);
    m = load_case(TF("vit_cls"));
    assert_int_equal(swin_model_num_classes(m), 5);
    assert_string_equal(swin_model_label(m, 0), "tabby cat");
    assert_string_equal(swin_model_label(m, 4), "cowboy hat");
    assert_null(swin_model_label(m, 5));
    swin_model_free(m);
}

/* transformers' Swin refuses a stage smaller than its window; so does libswin, at plan time. */
static void test_swin_too_small(void **state) {
    (void)state;
    swin_model *m = load_case(TF("swin_model"));
    swin_context *ctx;
    assert_int_equal(swin_context_create(&ctx, m), SWIN_OK);
    /* 64: stages 16, 8, 4 < window 5 */
    assert_int_equal(swin_context_reserve(ctx, 1, 64, 64), SWIN_ERR_INPUT_SIZE);
    assert_non_null(strstr(swin_last_error(), "window 5"));
    /* a size the patch does not divide is padded, as transformers pads it: 70 -> 18 */
    assert_int_equal(swin_context_reserve(ctx, 1, 70, 70), SWIN_OK);
    swin_context_free(ctx);
    swin_model_free(m);
}

/* ---- config.json against the tensors ---- */

/* A copy of a fixture folder in a temporary directory, config.json replaced by the fixture's
 * with `from` replaced by `to` (and preprocessor_config.json by pre, when given). */
static swin_status load_edited(const char *name, const char *from, const char *to,
                               const char *pre) {
    char dir[] = "/tmp/swin_tf_XXXXXX", path[512], src[512];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    snprintf(src, sizeof src, "%s/model.safetensors", swin_test_fixture(name));
    assert_int_equal(symlink(src, path), 0);
    snprintf(src, sizeof src, "%s/config.json", swin_test_fixture(name));
    FILE *fp = fopen(src, "rb");
    assert_non_null(fp);
    static char text[1 << 16];
    const size_t n = fread(text, 1, sizeof text - 1, fp);
    fclose(fp);
    text[n] = '\0';
    char *at = from ? strstr(text, from) : NULL;
    if (from) assert_non_null(at);
    snprintf(path, sizeof path, "%s/config.json", dir);
    fp = fopen(path, "wb");
    if (at) {
        fwrite(text, 1, (size_t)(at - text), fp);
        fputs(to, fp);
        fputs(at + strlen(from), fp);
    } else {
        fputs(text, fp);
    }
    fclose(fp);
    char prepath[512];
    snprintf(prepath, sizeof prepath, "%s/preprocessor_config.json", dir);
    if (pre) {
        fp = fopen(prepath, "wb");
        fputs(pre, fp);
        fclose(fp);
    }
    swin_model *m = (swin_model *)0x1;
    const swin_status s = swin_model_load_file(&m, dir, NULL);
    printf("[edit] %s: %s -> %s: %s (%s)\n", name, from ? from : "-", to ? to : "-",
           swin_status_string(s), swin_last_error());
    if (s == SWIN_OK)
        swin_model_free(m);
    else
        assert_null(m);
    unlink(prepath);
    unlink(path);
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    unlink(path);
    rmdir(dir);
    return s;
}

static void expect_edit(const char *name, const char *from, const char *to, swin_status want,
                        const char *text1, const char *text2) {
    assert_int_equal(load_edited(name, from, to, NULL), want);
    if (text1) assert_non_null(strstr(swin_last_error(), text1));
    if (text2) assert_non_null(strstr(swin_last_error(), text2));
}

static void test_config_disagrees(void **state) {
    (void)state;
    expect_edit(TF("vit_cls"), NULL, NULL, SWIN_OK, NULL, NULL);
    /* sizes: both sides named */
    expect_edit(TF("vit_cls"), "\"hidden_size\": 16", "\"hidden_size\": 32", SWIN_ERR_SHAPE,
                "config.json hidden_size", "vit.embeddings.patch_embeddings.projection.weight");
    expect_edit(TF("vit_cls"), "\"num_hidden_layers\": 2", "\"num_hidden_layers\": 3",
                SWIN_ERR_SHAPE, "config.json num_hidden_layers", "2 blocks");
    expect_edit(TF("vit_cls"), "\"intermediate_size\": 40", "\"intermediate_size\": 48",
                SWIN_ERR_SHAPE, "config.json intermediate_size",
                "vit.encoder.layer.0.intermediate.dense.weight");
    expect_edit(TF("vit_cls"), "\"image_size\": 32", "\"image_size\": 64", SWIN_ERR_SHAPE,
                "config.json image_size", "vit.embeddings.position_embeddings");
    expect_edit(TF("vit_cls"), "\"num_attention_heads\": 2", "\"num_attention_heads\": 3",
                SWIN_ERR_CONFIG, "heads", NULL);
    expect_edit(TF("vit_cls"), "\"qkv_bias\": true", "\"qkv_bias\": false", SWIN_ERR_SHAPE,
                "vit.encoder.layer.0.attention.attention.query.bias", NULL);
    expect_edit(TF("swin_cls_224"), "\"embed_dim\": 4", "\"embed_dim\": 8", SWIN_ERR_SHAPE,
                "config.json embed_dim", "swin.embeddings.patch_embeddings.projection.weight");
    expect_edit(TF("swin_cls_224"), "\"depths\": [\n    2,\n    2,\n    2,\n    2\n  ]",
                "\"depths\": [2, 2, 3, 2]", SWIN_ERR_SHAPE, "config.json depths", "the file has 2");
    expect_edit(TF("swin_cls_224"), "\"num_heads\": [\n    2,\n    1,",
                "\"num_heads\": [\n    2,\n    2,", SWIN_ERR_SHAPE, "config.json num_heads",
                "swin.encoder.layers.1.blocks.0.attention.self.relative_position_bias_table");
    expect_edit(TF("swin_cls_224"), "\"window_size\": 7", "\"window_size\": 6", SWIN_ERR_SHAPE,
                "config.json window_size", "relative_position_bias_table");
    expect_edit(TF("vit_cls"), "\"4\": \"cowboy hat\"", "\"4\": \"cowboy hat\", \"5\": \"extra\"",
                SWIN_ERR_SHAPE, "num_classes 6 (from config.json id2label)", "classifier.weight");
    /* what libswin does not read is named */
    expect_edit(TF("vit_cls"), "\"model_type\": \"vit\"", "\"model_type\": \"beit\"",
                SWIN_ERR_UNSUPPORTED, "model_type \"beit\"", NULL);
    expect_edit(TF("vit_cls"), "\"ViTForImageClassification\"", "\"ViTForMaskedImageModeling\"",
                SWIN_ERR_UNSUPPORTED, "ViTForMaskedImageModeling", NULL);
    expect_edit(TF("vit_cls"), "\"hidden_act\": \"gelu\"", "\"hidden_act\": \"mish\"",
                SWIN_ERR_UNSUPPORTED, "mish", NULL);
    expect_edit(TF("swin_cls_224"), "\"use_absolute_embeddings\": false",
                "\"use_absolute_embeddings\": true", SWIN_ERR_UNSUPPORTED, "absolute position",
                NULL);
    expect_edit(TF("vit_cls"), "\"id2label\": {", "\"id2label\": {\"9\": \"x\", ", SWIN_ERR_FORMAT,
                "id2label", NULL);
}

/* ---- the image processors ---- */

static const char *const processor_configs[] = {
    "vit_224_bilinear", "deit_256_crop224", "swin_legacy_224",       "swin_legacy_40",
    "clip_72_crop64",   "vit_40_bilinear",  "clip_legacy_29_crop32", "deit_legacy_48_crop40",
    "bit_36_crop32", /* DINOv2's BitImageProcessor */
};

/* A model whose preprocessing is that of preprocessor/<config>.json (vit_cls's weights). */
static swin_model *with_processor(const char *config) {
    char path[512], dir[] = "/tmp/swin_pre_XXXXXX", file[512], src[512];
    assert_non_null(mkdtemp(dir));
    static const char *const files[] = {"model.safetensors", "config.json"};
    for (int i = 0; i < 2; i++) {
        snprintf(file, sizeof file, "%s/%s", dir, files[i]);
        snprintf(src, sizeof src, "%s/%s", swin_test_fixture(TF("vit_cls")), files[i]);
        assert_int_equal(symlink(src, file), 0);
    }
    snprintf(path, sizeof path, "transformers/preprocessor/%s.json", config);
    snprintf(file, sizeof file, "%s/preprocessor_config.json", dir);
    snprintf(src, sizeof src, "%s", swin_test_fixture(path));
    assert_int_equal(symlink(src, file), 0);
    swin_model *m;
    const swin_status s = swin_model_load_file(&m, dir, NULL);
    if (s != SWIN_OK) fail_msg("%s: %s (%s)", config, swin_status_string(s), swin_last_error());
    unlink(file);
    for (int i = 0; i < 2; i++) {
        snprintf(file, sizeof file, "%s/%s", dir, files[i]);
        unlink(file);
    }
    rmdir(dir);
    return m;
}

static void test_preprocessing(void **state) {
    (void)state;
    swin_safetensors exp = {0};
    swin_test_open(&exp, TF("preprocess.expected.safetensors"));
    /* metadata: images {stem: file} */
    const char *images = swin__st_meta(&exp, "images");
    assert_non_null(images);
    int checked = 0;
    for (size_t c = 0; c < sizeof processor_configs / sizeof processor_configs[0]; c++) {
        swin_model *m = with_processor(processor_configs[c]);
        const int64_t S = swin_model_input_size(m);
        for (size_t i = 0; i < exp.num_tensors; i++) {
            const swin_st_tensor *t = &exp.tensors[i];
            char stem[128], config[128];
            const char *dot = strchr(t->name, '.');
            if (!dot || strchr(dot + 1, '.') || t->dtype != SWIN_DT_F32) continue;
            snprintf(stem, sizeof stem, "%.*s", (int)(dot - t->name), t->name);
            snprintf(config, sizeof config, "%s", dot + 1);
            if (strcmp(config, processor_configs[c]) != 0) continue;
            assert_int_equal(t->ndim, 3);
            assert_int_equal(t->shape[1], S);
            /* the image file: "stem": "file" in the metadata */
            char key[160];
            snprintf(key, sizeof key, "\"%s\": \"", stem);
            const char *at = strstr(images, key);
            assert_non_null(at);
            at += strlen(key);
            char file[256], path[320];
            snprintf(file, sizeof file, "%.*s", (int)(strchr(at, '"') - at), at);
            /* repository paths: tests/fixtures/images/... */
            snprintf(path, sizeof path, "%s", file + strlen("tests/fixtures/"));
            swin_image *img;
            assert_int_equal(swin_image_load_file(&img, swin_test_fixture(path)), SWIN_OK);
            const int64_t shape[4] = {1, 3, S, S};
            swin_tensor *x;
            assert_int_equal(swin_tensor_create(&x, 4, shape), SWIN_OK);
            assert_int_equal(swin_image_preprocess(img, m, x, 0), SWIN_OK);
            /* within 2e-6 of the image processor's tensor */
            assert_true(check_abs(t->name, swin_tensor_data(x), t->f32, t->numel));
            checked++;
            swin_tensor_free(x);
            swin_image_free(img);
        }
        swin_model_free(m);
    }
    printf("[preprocess] %d image processor tensors checked\n", checked);
    assert_true(checked >= 6);
    swin__st_close(&exp);
}

/* The uint8 stages (resize, crop) of the image processors: for the cases stored only as U8,
 * the F32 tensor follows from it by transformers' rescale and normalize. */
static void test_preprocessing_u8(void **state) {
    (void)state;
    swin_safetensors exp = {0};
    swin_test_open(&exp, TF("preprocess.expected.safetensors"));
    const char *images = swin__st_meta(&exp, "images");
    int checked = 0;
    for (size_t i = 0; i < exp.num_tensors; i++) {
        const swin_st_tensor *t = &exp.tensors[i];
        const size_t len = strlen(t->name);
        if (t->dtype != SWIN_DT_U8 || len < 4 || strcmp(t->name + len - 3, ".u8") != 0) continue;
        char stem[128], config[128];
        const char *dot = strchr(t->name, '.');
        snprintf(stem, sizeof stem, "%.*s", (int)(dot - t->name), t->name);
        snprintf(config, sizeof config, "%.*s", (int)(t->name + len - 3 - dot - 1), dot + 1);
        swin_model *m = with_processor(config);
        const int64_t S = swin_model_input_size(m);
        assert_int_equal(t->shape[1], S);
        char key[160], file[256], path[320];
        snprintf(key, sizeof key, "\"%s\": \"", stem);
        const char *at = strstr(images, key);
        assert_non_null(at);
        at += strlen(key);
        snprintf(file, sizeof file, "%.*s", (int)(strchr(at, '"') - at), at);
        snprintf(path, sizeof path, "%s", file + strlen("tests/fixtures/"));
        swin_image *img;
        assert_int_equal(swin_image_load_file(&img, swin_test_fixture(path)), SWIN_OK);
        const int64_t shape[4] = {1, 3, S, S};
        swin_tensor *x;
        assert_int_equal(swin_tensor_create(&x, 4, shape), SWIN_OK);
        assert_int_equal(swin_image_preprocess(img, m, x, 0), SWIN_OK);
        float mean[3], std[3];
        sscanf(swin_model_get(m, "mean"), "%f,%f,%f", &mean[0], &mean[1], &mean[2]);
        sscanf(swin_model_get(m, "std"), "%f,%f,%f", &std[0], &std[1], &std[2]);
        float *want = malloc(t->numel * sizeof *want);
        assert_non_null(want);
        for (size_t k = 0; k < t->numel; k++) {
            const int c = (int)(k / (size_t)(S * S));
            want[k] = ((float)((double)t->raw[k] * (1.0 / 255.0)) - mean[c]) / std[c];
        }
        char label[300];
        snprintf(label, sizeof label, "%s (from its U8)", t->name);
        assert_true(check_abs(label, swin_tensor_data(x), want, t->numel));
        checked++;
        free(want);
        swin_tensor_free(x);
        swin_image_free(img);
        swin_model_free(m);
    }
    printf("[preprocess] %d U8 crops checked\n", checked);
    assert_true(checked >= 8);
    swin__st_close(&exp);
}

/* Processor configs libswin refuses, naming what. */
static void test_processor_errors(void **state) {
    (void)state;
    static const struct {
        const char *json, *text;
        swin_status want;
    } bad[] = {
        {"{\"image_processor_type\": \"BeitImageProcessor\"}", "BeitImageProcessor",
         SWIN_ERR_UNSUPPORTED},
        {"{\"image_processor_type\": \"ViTImageProcessor\", \"size\": {\"height\": 224, "
         "\"width\": 200}}",
         "not square", SWIN_ERR_UNSUPPORTED},
        {"{\"image_processor_type\": \"ViTImageProcessor\", \"size\": {\"shortest_edge\": 224}}",
         "shortest_edge", SWIN_ERR_FORMAT},
        {"{\"image_processor_type\": \"ViTImageProcessor\", \"resample\": 0}", "resample",
         SWIN_ERR_UNSUPPORTED},
        {"{\"image_processor_type\": \"ViTImageProcessor\", \"do_resize\": false}", "do_resize",
         SWIN_ERR_UNSUPPORTED},
        {"[1, 2]", "not a JSON object", SWIN_ERR_FORMAT},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(load_edited(TF("vit_cls"), NULL, NULL, bad[i].json), bad[i].want);
        assert_non_null(strstr(swin_last_error(), bad[i].text));
        assert_non_null(strstr(swin_last_error(), "preprocessor_config.json"));
    }
    /* without preprocessor_config.json: the model type's processor defaults */
    swin_model *m = load_case(TF("deit_cls"));
    assert_string_equal(swin_model_get(m, "preprocessing"), "transformers");
    swin_model_free(m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_models),           cmocka_unit_test(test_resolved),
        cmocka_unit_test(test_swin_too_small),   cmocka_unit_test(test_config_disagrees),
        cmocka_unit_test(test_preprocessing),    cmocka_unit_test(test_preprocessing_u8),
        cmocka_unit_test(test_processor_errors),
    };
    return swin_test_run_each_isa(tests, NULL, NULL);
}
