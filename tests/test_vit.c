/* The ViT families end to end against the PyTorch references (tests/reference/vit_ref.py, run in
 * float64; the post-norm ViT through torch.nn.TransformerEncoder itself): logits, pooled
 * features and the stage map of every case, then the architecture facts and the bad inputs.
 * Fixtures: tests/fixtures/vit/README.md. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

#define VIT(name) "vit/" name

typedef struct vit_case {
    const char *file;     /* weights */
    const char *expected; /* reference outputs */
    uint32_t seed;
    int64_t batch, img;
    const char *suffix; /* of the expected tensor names ("" or "_12") */
} vit_case;

static swin_model *load(const char *file, const swin_options *opts) {
    swin_model *m = NULL;
    const swin_status s = swin_model_load_file(&m, swin_test_fixture(file), opts);
    if (s != SWIN_OK) fail_msg("load %s: %s", file, swin_last_error());
    return m;
}

static void check_output(swin_context *ctx, const swin_safetensors *ref, const vit_case *c,
                         swin_output kind, const char *what) {
    char name[32], label[128];
    snprintf(name, sizeof name, "%s%s", what, c->suffix);
    size_t n;
    const float *want = swin_test_get(ref, name, &n);
    const swin_tensor *out;
    assert_int_equal(swin_context_output(ctx, kind, 0, &out), SWIN_OK);
    assert_int_equal(swin_tensor_numel(out), (int64_t)n);
    snprintf(label, sizeof label, "%s %s", c->file, name);
    SWIN_CHECK(label, swin_tensor_data(out), want, n);
}

static int run_threads; /* swin_context_set_num_threads for run_on; 0: the default */

static void run_on(swin_model *m, const vit_case *c) {
    swin_context *ctx = NULL;
    assert_int_equal(swin_context_create(&ctx, m), SWIN_OK);
    assert_int_equal(swin_context_set_num_threads(ctx, run_threads), SWIN_OK);
    const int64_t shape[4] = {c->batch, 3, c->img, c->img};
    swin_tensor *in = NULL;
    assert_int_equal(swin_tensor_create(&in, 4, shape), SWIN_OK);
    swin_test_input(swin_tensor_data(in), (size_t)swin_tensor_numel(in), c->seed);
    const swin_status s = swin_context_run(ctx, in);
    if (s != SWIN_OK) fail_msg("run %s: %s", c->file, swin_last_error());
    swin_safetensors ref = {0};
    swin_test_open(&ref, c->expected);
    check_output(ctx, &ref, c, SWIN_OUTPUT_LOGITS, "logits");
    check_output(ctx, &ref, c, SWIN_OUTPUT_FEATURES, "features");
    check_output(ctx, &ref, c, SWIN_OUTPUT_STAGE, "stage0");
    const swin_tensor *stage;
    assert_int_equal(swin_context_output(ctx, SWIN_OUTPUT_STAGE, 0, &stage), SWIN_OK);
    assert_int_equal(swin_tensor_ndim(stage), 4); /* [B, H/p, W/p, D] */
    assert_int_equal(swin_tensor_dim(stage, 0), c->batch);
    assert_int_equal(swin_tensor_dim(stage, 1), swin_tensor_dim(stage, 2));
    swin__st_close(&ref);
    swin_tensor_free(in);
    swin_context_free(ctx);
}

static void run_case(const vit_case *c, const swin_options *opts) {
    swin_model *m = load(c->file, opts);
    run_on(m, c);
    swin_model_free(m);
}

static const vit_case token_p16 = {
    VIT("vit_token_p16.safetensors"), VIT("vit_token_p16.expected.safetensors"), 11, 2, 64, ""};
static const vit_case avg_p32 = {
    VIT("vit_avg_p32.safetensors"), VIT("vit_avg_p32.expected.safetensors"), 12, 2, 96, ""};
static const vit_case post_relu = {VIT("vit_postnorm_relu.safetensors"),
                                   VIT("vit_postnorm_relu.expected.safetensors"),
                                   13,
                                   2,
                                   8,
                                   ""};
static const vit_case post_gelu = {VIT("vit_postnorm_gelu.safetensors"),
                                   VIT("vit_postnorm_gelu.expected.safetensors"),
                                   14,
                                   2,
                                   8,
                                   ""};

/* Every way the pool splits the encoder's products and its (image, head) attention tasks,
 * against the same references. */
static void test_thread_counts(void **state) {
    (void)state;
    for (int t = 1; t <= 3; t++) {
        run_threads = t;
        run_case(&token_p16, NULL);
        run_case(&avg_p32, NULL);
        run_case(&post_gelu, NULL);
    }
    run_threads = 0;
}

/* Class token, final norm, token pooling, patch 16, batch 2. */
static void test_token_p16(void **state) {
    (void)state;
    run_case(&token_p16, NULL);
}

/* No class token, mean of the tokens then fc_norm, patch 32 on a 3x3 grid, batch 2. */
static void test_avg_p32(void **state) {
    (void)state;
    run_case(&avg_p32, NULL);
}

static void test_f16(void **state) {
    (void)state;
    vit_case c = token_p16;
    c.file = VIT("vit_token_p16_f16.safetensors");
    c.expected = VIT("vit_token_p16_f16.expected.safetensors");
    run_case(&c, NULL);
}

static void test_bf16(void **state) {
    (void)state;
    vit_case c = token_p16;
    c.file = VIT("vit_token_p16_bf16.safetensors");
    c.expected = VIT("vit_token_p16_bf16.expected.safetensors");
    run_case(&c, NULL);
}

/* The tutorial's model: post-norm, ReLU, dim_feedforward 2048; the 8x8 input it was made for,
 * then 12x12 (10 of the 16 position rows) in the same model. */
static void test_postnorm_relu(void **state) {
    (void)state;
    swin_model *m = load(post_relu.file, NULL);
    assert_string_equal(swin_model_get(m, "family"), "vit_postnorm");
    assert_string_equal(swin_model_get(m, "activation"), "relu");
    assert_string_equal(swin_model_get(m, "mlp_hidden_dim"), "2048");
    assert_string_equal(swin_model_get(m, "norm_eps"), "1e-05");
    run_on(m, &post_relu);
    vit_case c = post_relu;
    c.img = 12;
    c.suffix = "_12";
    run_on(m, &c);
    swin_model_free(m);
}

/* GELU, dim_feedforward from the metadata, and nn.TransformerEncoder's final norm. */
static void test_postnorm_gelu(void **state) {
    (void)state;
    swin_model *m = load(post_gelu.file, NULL);
    assert_string_equal(swin_model_get(m, "activation"), "gelu");
    assert_string_equal(swin_model_get(m, "mlp_hidden_dim"), "64");
    run_on(m, &post_gelu);
    swin_model_free(m);
}

/* Without metadata the family and all sizes come from the tensors, but not the head count. */
static void test_nometa_needs_num_heads(void **state) {
    (void)state;
    vit_case c = token_p16;
    c.file = VIT("vit_token_p16_nometa.safetensors");
    swin_model *m = (swin_model *)0x1;
    assert_int_equal(swin_model_load_file(&m, swin_test_fixture(c.file), NULL), SWIN_ERR_CONFIG);
    assert_null(m);
    assert_non_null(strstr(swin_last_error(), "num_heads"));
    swin_options *o;
    assert_int_equal(swin_options_create(&o), SWIN_OK);
    assert_int_equal(swin_options_set(o, "num_heads", "2"), SWIN_OK);
    m = load(c.file, o);
    assert_string_equal(swin_model_get(m, "family"), "vit");
    assert_string_equal(swin_model_get(m, "img_size"), "64");
    assert_string_equal(swin_model_get(m, "depth"), "2");
    assert_string_equal(swin_model_get(m, "global_pool"), "token");
    assert_string_equal(swin_model_get(m, "norm_eps"), "1e-06");
    run_on(m, &c);
    swin_model_free(m);
    /* more than one head count is a Swin setting, not a ViT one */
    assert_int_equal(swin_options_set(o, "num_heads", "2,2"), SWIN_OK);
    assert_int_equal(swin_model_load_file(&m, swin_test_fixture(c.file), o), SWIN_ERR_CONFIG);
    assert_non_null(strstr(swin_last_error(), "num_heads"));
    swin_options_free(o);
}

static void expect_load_error(const char *file, const swin_options *o, swin_status want,
                              const char *text) {
    swin_model *m = (swin_model *)0x1;
    const swin_status s = swin_model_load_file(&m, swin_test_fixture(file), o);
    printf("[load] %s: %s (%s)\n", file, swin_status_string(s), swin_last_error());
    assert_int_equal(s, want);
    assert_null(m);
    assert_non_null(strstr(swin_last_error(), text));
}

/* A position table made for another image size than the img_size set is refused at load; at
 * plan time, a runtime input the patch does not divide, and a post-norm table too short. (Other
 * grids resample the table: test_resampled.) */
static void test_pos_embed_mismatch(void **state) {
    (void)state;
    swin_options *o;
    assert_int_equal(swin_options_create(&o), SWIN_OK);
    assert_int_equal(swin_options_set(o, "img_size", "96"), SWIN_OK);
    expect_load_error(token_p16.file, o, SWIN_ERR_SHAPE, "\"pos_embed\" holds 17");
    assert_non_null(strstr(swin_last_error(), "img_size 96 (from option)"));
    swin_options_free(o);

    const struct {
        const char *file;
        int64_t img;
        const char *text;
    } cases[] = {
        {token_p16.file, 72, "multiple of the patch"},
        {post_relu.file, 16, "pos_embed holds only 16"}, /* 17 tokens > 16 rows */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        swin_model *m = load(cases[i].file, NULL);
        swin_context *ctx;
        assert_int_equal(swin_context_create(&ctx, m), SWIN_OK);
        assert_int_equal(swin_context_reserve(ctx, 1, cases[i].img, cases[i].img),
                         SWIN_ERR_INPUT_SIZE);
        printf("[plan] %s %lld: %s\n", cases[i].file, (long long)cases[i].img, swin_last_error());
        assert_non_null(strstr(swin_last_error(), cases[i].text));
        assert_int_equal(swin_context_memory_bytes(ctx), 0);
        swin_context_free(ctx);
        swin_model_free(m);
    }
}

static void test_missing_tensor(void **state) {
    (void)state;
    expect_load_error(VIT("vit_bad_missing.safetensors"), NULL, SWIN_ERR_MISSING_TENSOR,
                      "blocks.1.attn.proj.bias");
}

static void test_wrong_shape(void **state) {
    (void)state;
    expect_load_error(VIT("vit_bad_shape.safetensors"), NULL, SWIN_ERR_SHAPE,
                      "blocks.1.mlp.fc1.weight");
}

/* Explicit settings that contradict the weights or make no sense are reported. */
static void test_bad_settings(void **state) {
    (void)state;
    static const struct {
        const char *key, *value, *key2, *value2;
        swin_status want;
        const char *text;
    } cases[] = {
        {"arch", "vit_nonexistent_patch16_224", NULL, NULL, SWIN_ERR_CONFIG, "unknown arch"},
        /* a timm architecture the file is not: both sides named */
        {"arch", "vit_huge_patch14_224", NULL, NULL, SWIN_ERR_SHAPE, "patch_embed.proj.weight"},
        {"arch", "vit_small_patch14_dinov2", NULL, NULL, SWIN_ERR_SHAPE, "patch_embed.proj.weight"},
        {"arch", "vit_tiny_patch16_224", NULL, NULL, SWIN_ERR_SHAPE, "patch_embed.proj.weight"},
        {"depth", "3", NULL, NULL, SWIN_ERR_SHAPE, "depth 3 (from option) disagrees"},
        {"depth", "1", NULL, NULL, SWIN_ERR_SHAPE, "which has 2 blocks"},
        {"num_heads", "3", NULL, NULL, SWIN_ERR_CONFIG, "heads"},
        {"class_token", "0", NULL, NULL, SWIN_ERR_CONFIG, "class token"},
        {"class_token", "0", "global_pool", "avg", SWIN_ERR_SHAPE, "holds 17"},
        {"global_pool", "prr", NULL, NULL, SWIN_ERR_UNSUPPORTED, "global_pool prr"},
        {"activation", "mish", NULL, NULL, SWIN_ERR_UNSUPPORTED, "activation mish"},
        {"init_values", "1e-5", NULL, NULL, SWIN_ERR_MISSING_TENSOR, "blocks.0.ls1.gamma"},
        {"mlp_hidden_dim", "32", NULL, NULL, SWIN_ERR_SHAPE, "blocks.0.mlp.fc1.weight"},
        {"num_classes", "7", NULL, NULL, SWIN_ERR_SHAPE, "head.weight"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        swin_options *o;
        assert_int_equal(swin_options_create(&o), SWIN_OK);
        assert_int_equal(swin_options_set(o, cases[i].key, cases[i].value), SWIN_OK);
        if (cases[i].key2)
            assert_int_equal(swin_options_set(o, cases[i].key2, cases[i].value2), SWIN_OK);
        expect_load_error(token_p16.file, o, cases[i].want, cases[i].text);
        swin_options_free(o);
    }
    /* a flag that is not one is refused when set */
    swin_options *o;
    assert_int_equal(swin_options_create(&o), SWIN_OK);
    assert_int_equal(swin_options_set(o, "class_token", "2"), SWIN_ERR_CONFIG);
    assert_non_null(strstr(swin_last_error(), "class_token"));
    swin_options_free(o);
}

/* Resolved architecture, sizes and counts. */
static void test_facts(void **state) {
    (void)state;
    swin_model *m = load(token_p16.file, NULL);
    assert_string_equal(swin_model_get(m, "family"), "vit");
    assert_string_equal(swin_model_get(m, "arch"), "vit");
    assert_string_equal(swin_model_get(m, "class_token"), "1");
    assert_string_equal(swin_model_get(m, "num_heads"), "2");
    assert_int_equal(swin_model_num_stages(m), 1);
    assert_int_equal(swin_model_num_classes(m), 10);
    /* every tensor of the file is a parameter the model uses */
    int64_t numel = 0;
    for (size_t i = 0; i < swin_model_num_tensors(m); i++) {
        int ndim;
        const int64_t *shape;
        assert_int_equal(swin_model_tensor_info(m, i, NULL, NULL, &ndim, &shape), SWIN_OK);
        int64_t n = 1;
        for (int k = 0; k < ndim; k++)
            n *= shape[k];
        numel += n;
    }
    assert_int_equal(swin_model_num_params(m), numel);
    int64_t v[6];
    assert_int_equal(swin_model_stage_dims(m, 0, &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]),
                     SWIN_OK);
    const int64_t want[6] = {2, 2, 16, 4, 4, 0};
    assert_memory_equal(v, want, sizeof v);
    assert_int_equal(swin_model_stage_dims(m, 1, NULL, NULL, NULL, NULL, NULL, NULL),
                     SWIN_ERR_INVALID_ARGUMENT);
    /* per block 4NC^2 + 2N^2C + 2NCF with N = 17, C = 16, F = 64; embedding L*C*K; head C*10 */
    const double block = 4.0 * 17 * 16 * 16 + 2.0 * 17 * 17 * 16 + 2.0 * 17 * 16 * 64;
    double f, g;
    assert_int_equal(swin_model_flops(m, 0, &f, &g), SWIN_OK);
    assert_true(f == 2 * block && g == f);
    assert_int_equal(swin_model_flops(m, -1, &f, &g), SWIN_OK);
    assert_true(f == 2 * block + 16.0 * 16 * 768 + 16.0 * 10 && g == f);
    swin_model_free(m);

    m = load(post_relu.file, NULL);
    assert_string_equal(swin_model_get(m, "naming"), "pytorch");
    assert_string_equal(swin_model_get(m, "img_size"), "8");
    assert_string_equal(swin_model_get(m, "depth"), "2");
    assert_string_equal(swin_model_get(m, "embed_dim"), "16");
    int64_t numel2 = 0;
    for (size_t i = 0; i < swin_model_num_tensors(m); i++) {
        int ndim;
        const int64_t *shape;
        assert_int_equal(swin_model_tensor_info(m, i, NULL, NULL, &ndim, &shape), SWIN_OK);
        int64_t n = 1;
        for (int k = 0; k < ndim; k++)
            n *= shape[k];
        numel2 += n;
    }
    assert_int_equal(swin_model_num_params(m), numel2);
    swin_model_free(m);
}

/* One context runs different batch sizes; each image's result does not depend on the batch. */
static void test_batch_consistency(void **state) {
    (void)state;
    swin_model *m = load(token_p16.file, NULL);
    swin_context *ctx;
    assert_int_equal(swin_context_create(&ctx, m), SWIN_OK);
    const int64_t shape2[4] = {2, 3, 64, 64}, shape1[4] = {1, 3, 64, 64};
    swin_tensor *in2, *in1;
    assert_int_equal(swin_tensor_create(&in2, 4, shape2), SWIN_OK);
    swin_test_input(swin_tensor_data(in2), (size_t)swin_tensor_numel(in2), 11);
    assert_int_equal(swin_tensor_wrap(&in1, swin_tensor_data(in2) + 3 * 64 * 64, 4, shape1),
                     SWIN_OK);
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

/* timm variants with parts libswin does not compute are refused, not run without them: the
 * fixture with one more tensor of such a part. */
static void test_unsupported_variant(void **state) {
    (void)state;
    static const struct {
        const char *name, *feature;
    } cases[] = {
        {"blocks.0.ls1.gamma", "ls1.gamma"},
        {"reg_token", "register tokens"},
        {"norm_pre.weight", "norm_pre"},
        {"blocks.1.attn.q_norm.weight", "qk-norm"},
        {"blocks.2.norm1.weight", "has 3 blocks"},
        {"blocks.7.norm1.weight", "not used by the architecture"},
        {"something.else", "not used by the architecture"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t size;
        unsigned char *file = swin_test_with_tensor(token_p16.file, cases[i].name, &size);
        swin_model *m = (swin_model *)0x1;
        const swin_status s = swin_model_load_memory(&m, file, size, NULL);
        printf("[load] + %s: %s (%s)\n", cases[i].name, swin_status_string(s), swin_last_error());
        assert_true(s == SWIN_ERR_UNSUPPORTED || s == SWIN_ERR_SHAPE);
        assert_null(m);
        assert_non_null(strstr(swin_last_error(), cases[i].feature));
        free(file);
    }
    /* a lone query tensor: its key and value are named as missing */
    size_t size;
    unsigned char *file = swin_test_with_tensor(token_p16.file, "blocks.0.attn.q.weight", &size);
    swin_model *m = (swin_model *)0x1;
    assert_int_equal(swin_model_load_memory(&m, file, size, NULL), SWIN_ERR_MISSING_TENSOR);
    assert_null(m);
    assert_non_null(strstr(swin_last_error(), "\"blocks.0.attn.k.weight\" is missing"));
    free(file);
}

/* Family detection: each file goes to its own family, with or without arch. */
static void test_detection(void **state) {
    (void)state;
    static const struct {
        const char *file, *family;
    } cases[] = {
        {"swin_t7_224_nometa.safetensors", "swin"},
        {VIT("vit_avg_p32.safetensors"), "vit"},
        {VIT("vit_postnorm_gelu.safetensors"), "vit_postnorm"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        swin_model *m = load(cases[i].file, NULL);
        assert_string_equal(swin_model_get(m, "family"), cases[i].family);
        swin_model_free(m);
    }
    /* the tutorial's file named as a timm ViT, and the reverse, do not bind */
    swin_options *o;
    assert_int_equal(swin_options_create(&o), SWIN_OK);
    assert_int_equal(swin_options_set(o, "arch", "vit"), SWIN_OK);
    expect_load_error(post_gelu.file, o, SWIN_ERR_SHAPE, "pos_embed");
    assert_int_equal(swin_options_set(o, "arch", "vit_postnorm"), SWIN_OK);
    expect_load_error(token_p16.file, o, SWIN_ERR_SHAPE, "pos_embed");
    swin_options_free(o);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_token_p16),
        cmocka_unit_test(test_avg_p32),
        cmocka_unit_test(test_f16),
        cmocka_unit_test(test_bf16),
        cmocka_unit_test(test_postnorm_relu),
        cmocka_unit_test(test_thread_counts),
        cmocka_unit_test(test_postnorm_gelu),
        cmocka_unit_test(test_nometa_needs_num_heads),
        cmocka_unit_test(test_pos_embed_mismatch),
        cmocka_unit_test(test_missing_tensor),
        cmocka_unit_test(test_wrong_shape),
        cmocka_unit_test(test_bad_settings),
        cmocka_unit_test(test_facts),
        cmocka_unit_test(test_batch_consistency),
        cmocka_unit_test(test_unsupported_variant),
        cmocka_unit_test(test_detection),
    };
    return swin_test_run_each_isa(tests, NULL, NULL);
}
