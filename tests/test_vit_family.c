/* The modern ViT family against timm itself (tests/fixtures/vit_family, made by
 * tests/reference/gen_vit_family_fixtures.py: timm architectures shrunk through model_args,
 * every parameter random, hub folders as timm's save_for_hf writes them, references in float64):
 * layer scale, register tokens, no_embed_class, norm_pre and bias-free patch embedding, qk-norm,
 * ResPostBlock, packed SwiGLU, GELU/tanh GELU/QuickGELU/SiLU, token/avg/avgmax/max/map pooling,
 * the distillation token, no final norm, the position table resampled to other input grids,
 * and the relative-position ViT's RelPosMlp bias (per block and shared). Logits, features and the
 * token map, strict 1e-5. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "test_util.h"

typedef struct fcase {
    const char *name;
    int64_t batch, img;
    uint32_t seed;
    int64_t extra[4];         /* more input sizes, batch 1, seed + size (0 ends) */
    const char *config[4][2]; /* resolved settings swin_model_get must give (NULL ends) */
} fcase;

static const fcase cases[] = {
    {"deit3", 2, 48, 31, {0}, {{"no_embed_class", "1"}, {"global_pool", "token"}}},
    {"dinov2_reg", 2, 56, 32, {28, 42, 70, 0}, {{"reg_tokens", "4"}, {"no_embed_class", "1"}}},
    {"dinov2_head", 1, 42, 33, {28, 84, 0}, {{"reg_tokens", "0"}}},
    {"dinov2_swiglu", 2, 28, 34, {0}, {{"mlp_layer", "SwiGLUPacked"}, {"activation", "silu"}}},
    {"clip", 2, 32, 35, {0}, {{"pre_norm", "1"}, {"norm_eps", "1e-05"}}},
    {"clip_quickgelu", 2, 32, 36, {0}, {{"activation", "quick_gelu"}}},
    {"siglip_map", 2, 48, 37, {0}, {{"global_pool", "map"}, {"activation", "gelu_tanh"}}},
    {"siglip_map_nohead", 2, 48, 38, {0}, {{"global_pool", "map"}, {"num_classes", "0"}}},
    {"rpn", 2, 48, 39, {0}, {{"block_fn", "ResPostBlock"}, {"global_pool", "avg"}}},
    {"deit_distilled", 2, 32, 40, {0}, {{"dist_token", "1"}}},
    {"qknorm", 2, 32, 41, {0}, {{"qk_norm", "1"}, {"qkv_bias", "false"}}},
    {"avgmax", 2, 32, 42, {0}, {{"global_pool", "avgmax"}, {"activation", "silu"}}},
    {"max_noclass", 2, 32, 43, {0}, {{"global_pool", "max"}, {"class_token", "0"}}},
    {"no_final_norm", 2, 32, 44, {0}, {{"final_norm", "0"}, {"reg_tokens", "2"}}},
    {"relpos", 2, 48, 45, {0}, {{"block_fn", "Block"}, {"qkv_bias", "false"}}},
    {"srelpos", 2, 48, 46, {0}, {{"global_pool", "avg"}}},
    {"relpos_cls", 2, 32, 47, {0}, {{"global_pool", "token"}, {"class_token", "1"}}},
    {"eva02", 2, 56, 48, {28, 70, 0}, {{"rope", "cat"}, {"mlp_layer", "SwiGLUPacked"}}},
    {"eva02_split", 2, 28, 49, {0}, {{"rope", "cat"}, {"mlp_layer", "SwiGLU"}}},
    {"eva02_clip", 2, 32, 50, {0}, {{"scale_attn_inner", "1"}, {"global_pool", "token"}}},
    {"rope_xy", 2, 48, 51, {0}, {{"rope", "cat"}, {"rope_grid_indexing", "xy"}}},
    {"rope_mixed", 2, 48, 52, {0}, {{"rope", "mixed"}}},
    {"dinov3", 2, 48, 53, {32, 64, 0}, {{"rope", "dinov3"}, {"reg_tokens", "4"}}},
    {"pe_core", 2, 48, 54, {0}, {{"global_pool", "map"}, {"pre_norm", "1"}}},
    {"map_regs", 2, 48, 55, {0}, {{"global_pool", "map"}, {"reg_tokens", "4"}}},
    {"map_prefix", 2, 48, 56, {0}, {{"global_pool", "map"}, {"reg_tokens", "4"}}},
    {"avg_prefix", 2, 32, 57, {0}, {{"global_pool", "avg"}, {"class_token", "1"}}},
};

static void run_size(swin_model *m, const swin_safetensors *exp, const char *name, int64_t B,
                     int64_t img, uint32_t seed, const char *suffix) {
    swin_tensor *x;
    swin_context_free(swin_test_run_outputs(m, exp, name, B, img, seed, suffix, &x));
    swin_tensor_free(x);
}

static void test_cases(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const fcase *c = &cases[i];
        char dir[128], exp_name[128];
        snprintf(dir, sizeof dir, "vit_family/%s", c->name);
        snprintf(exp_name, sizeof exp_name, "vit_family/%s.expected.safetensors", c->name);
        swin_model *m = swin_test_load_checked(dir, "timm", c->config, 4);
        swin_safetensors exp = {0};
        swin_test_open(&exp, exp_name);
        run_size(m, &exp, c->name, c->batch, c->img, c->seed, "");
        for (int k = 0; k < 4 && c->extra[k]; k++) {
            char suffix[16];
            snprintf(suffix, sizeof suffix, "@%lld", (long long)c->extra[k]);
            run_size(m, &exp, c->name, 1, c->extra[k], c->seed + (uint32_t)c->extra[k], suffix);
        }
        swin__st_close(&exp);
        swin_model_free(m);
    }
}

/* What the models cannot take is a status with a message: a size the patch does not divide
 * (other than img_size, whose remainder a stride-p convolution leaves out). */
static void test_refusals(void **state) {
    (void)state;
    swin_model *m;
    assert_int_equal(swin_model_load_file(&m, swin_test_fixture("vit_family/dinov2_reg"), NULL),
                     SWIN_OK);
    swin_context *ctx;
    assert_int_equal(swin_context_create(&ctx, m), SWIN_OK);
    assert_int_equal(swin_context_reserve(ctx, 1, 50, 56), SWIN_ERR_INPUT_SIZE);
    assert_non_null(strstr(swin_last_error(), "multiple of the patch size 14"));
    assert_int_equal(swin_context_reserve(ctx, 1, 14, 28), SWIN_OK); /* 1x2 patches */
    swin_context_free(ctx);
    swin_model_free(m);
    /* a relative-position ViT's bias is made for its grid, as timm's */
    assert_int_equal(swin_model_load_file(&m, swin_test_fixture("vit_family/relpos"), NULL),
                     SWIN_OK);
    assert_int_equal(swin_context_create(&ctx, m), SWIN_OK);
    assert_int_equal(swin_context_reserve(ctx, 1, 64, 64), SWIN_ERR_INPUT_SIZE);
    assert_non_null(strstr(swin_last_error(), "made for 3x3"));
    swin_context_free(ctx);
    swin_model_free(m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),
        cmocka_unit_test(test_refusals),
    };
    return swin_test_run_each_isa(tests, NULL, NULL);
}
