/* Each layer against the PyTorch reference (tests/fixtures/layers.safetensors, made by
 * tests/reference/gen_fixtures.py with every parameter randomized). The layers bind their
 * weights from the fixture file by canonical name (the file uses timm's names), as they do
 * from a model file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "layers/layers.h"
#include "test_util.h"

static swin_safetensors st;
static swin_weights w;

static int setup(void **state) {
    (void)state;
    memset(&st, 0, sizeof st);
    if (swin__st_open(&st, swin_test_fixture("layers.safetensors"), false) != SWIN_OK) return -1;
    return swin__weights_build(&w, &st, swin__layout_find("timm")) == SWIN_OK ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    swin__weights_free(&w);
    swin__st_close(&st);
    return 0;
}

static float *scratch_of(size_t n) {
    float *p = calloc(n ? n : 1, sizeof *p);
    assert_non_null(p);
    return p;
}

static void test_patch_embed(void **state) {
    (void)state;
    swin_patch_embed pe;
    assert_int_equal(swin__patch_embed_bind(&pe, &w, "patch_embed", 3, 8, 4, true, true, 1e-5f),
                     SWIN_OK);
    size_t n;
    const float *x = swin_test_get(&st, "patch_embed.x", NULL);
    const float *want = swin_test_get(&st, "patch_embed.out", &n);
    assert_int_equal(n, 2 * 4 * 3 * 8);
    float *out = scratch_of(n), *scratch = scratch_of(swin__patch_embed_scratch(&pe, 2, 16, 12));
    swin__patch_embed_forward(out, x, &pe, 2, 16, 12, scratch, NULL);
    SWIN_CHECK("patch_embed", out, want, n);
    free(out);
    free(scratch);
}

static void test_window_attention(void **state) {
    (void)state;
    swin_attention a;
    assert_int_equal(swin__attention_bind(&a, &w, "window_attention", 8, 2, 4, 4, true, true),
                     SWIN_OK);
    const int64_t N = 16, nW = 3, B_ = 6;
    int32_t index[256];
    swin__relative_position_index(index, 4, 4);
    float *bias = scratch_of((size_t)(2 * N * N));
    swin__attention_bias(bias, &a, index);
    size_t n;
    const float *x = swin_test_get(&st, "window_attention.x", NULL);
    const float *mask = swin_test_get(&st, "window_attention.mask", NULL);
    const float *want = swin_test_get(&st, "window_attention.out", &n);
    const float *want_nomask = swin_test_get(&st, "window_attention.out_nomask", NULL);
    assert_int_equal(n, (size_t)(B_ * N * 8));
    float *out = scratch_of(n), *scratch = scratch_of(swin__attention_scratch(&a, B_, N, 1));
    swin__attention_forward(out, x, &a, B_, N, bias, mask, nW, scratch, NULL);
    SWIN_CHECK("window_attention masked", out, want, n);
    swin__attention_forward(out, x, &a, B_, N, bias, NULL, nW, scratch, NULL);
    SWIN_CHECK("window_attention unmasked", out, want_nomask, n);
    /* our own mask for the same geometry (4x12 map, window 4, shift 2) equals the fixture's */
    float ours[3 * 16 * 16];
    swin__shift_mask(ours, 4, 12, 4, 4, 2, 2);
    assert_memory_equal(ours, mask, sizeof ours);
    free(bias);
    free(out);
    free(scratch);
}

static void block_case(const char *want_name, int64_t shift) {
    swin_block blk;
    const int64_t B = 2, H = 10, W = 10, N = 16;
    swin_geom g;
    swin__geom(&g, H, W, 4, 4, shift, shift, false);
    const swin_block_cfg c = {8, 2, 16, 1e-5f, true, false, false};
    assert_int_equal(swin__block_bind(&blk, &w, "swin_block", &c, &g), SWIN_OK);
    assert_int_equal(g.Hp, 12);
    int32_t index[256];
    swin__relative_position_index(index, 4, 4);
    float *bias = scratch_of((size_t)(2 * N * N));
    swin__attention_bias(bias, &blk.attn, index);
    float *mask = NULL;
    if (shift) {
        mask = scratch_of((size_t)(g.nW * N * N));
        swin__shift_mask(mask, g.Hp, g.Wp, 4, 4, shift, shift);
    }
    size_t n;
    const float *x0 = swin_test_get(&st, "swin_block.x", &n);
    const float *want = swin_test_get(&st, want_name, NULL);
    float *x = scratch_of(n), *scratch = scratch_of(swin__block_scratch(&blk, B, &g, 1));
    memcpy(x, x0, n * sizeof *x);
    swin__block_forward(x, &blk, &g, B, bias, mask, scratch, NULL);
    SWIN_CHECK(want_name, x, want, n);
    free(bias);
    free(mask);
    free(x);
    free(scratch);
}

static void test_swin_block_shifted_padded(void **state) {
    (void)state;
    block_case("swin_block.out", 2);
}

static void test_swin_block_unshifted_padded(void **state) {
    (void)state;
    block_case("swin_block.out_noshift", 0);
}

static void test_patch_merging(void **state) {
    (void)state;
    swin_patch_merging pm;
    assert_int_equal(swin__patch_merging_bind(&pm, &w, "patch_merging", 8, 1e-5f, false), SWIN_OK);
    size_t n;
    const float *x = swin_test_get(&st, "patch_merging.x", NULL);
    const float *want = swin_test_get(&st, "patch_merging.out", &n);
    assert_int_equal(n, 2 * 4 * 3 * 16);
    float *out = scratch_of(n), *scratch = scratch_of(swin__patch_merging_scratch(&pm, 2, 7, 6));
    swin__patch_merging_forward(out, x, &pm, 2, 7, 6, scratch, NULL);
    SWIN_CHECK("patch_merging odd height", out, want, n);
    free(out);
    free(scratch);
}

static void test_mlp(void **state) {
    (void)state;
    swin_mlp m;
    assert_int_equal(swin__mlp_bind(&m, &w, "mlp.fc1", "mlp.fc2", 8, 16, SWIN_ACT_GELU), SWIN_OK);
    size_t n;
    const float *x = swin_test_get(&st, "mlp.x", NULL);
    const float *want = swin_test_get(&st, "mlp.out", &n);
    float out[40], hidden[80];
    assert_int_equal(n, 40);
    swin__mlp_forward(out, x, &m, 5, hidden, NULL);
    SWIN_CHECK("mlp gelu", out, want, n);
}

/* Binding checks shapes and names: a wrong dimension is SWIN_ERR_SHAPE naming the tensor. */
static void test_bind_errors(void **state) {
    (void)state;
    swin_mlp m;
    assert_int_equal(swin__mlp_bind(&m, &w, "mlp.fc1", "mlp.fc2", 8, 32, SWIN_ACT_GELU),
                     SWIN_ERR_SHAPE);
    assert_non_null(strstr(swin_last_error(), "mlp.fc1.weight"));
    swin_patch_merging pm;
    assert_int_equal(swin__patch_merging_bind(&pm, &w, "nowhere", 8, 1e-5f, false),
                     SWIN_ERR_MISSING_TENSOR);
    assert_non_null(strstr(swin_last_error(), "nowhere.norm.weight"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_patch_embed),
        cmocka_unit_test(test_window_attention),
        cmocka_unit_test(test_swin_block_shifted_padded),
        cmocka_unit_test(test_swin_block_unshifted_padded),
        cmocka_unit_test(test_patch_merging),
        cmocka_unit_test(test_mlp),
        cmocka_unit_test(test_bind_errors),
    };
    return swin_test_run_each_isa(tests, setup, teardown);
}
