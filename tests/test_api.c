/* Contract tests of the public API (include/swin/swin.h): NULL handles and pointers, out
 * parameters on failure, free(NULL), status names, the thread-local message, version macros
 * against the library, option syntax, tensor shapes, model facts, context misuse, and a few
 * behaviours of runs (no head, NaN input, repeatability, threads sharing one model). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

/* A failing call returns exactly status and leaves a non-empty message. */
#define EXPECT_FAIL(status, call)                                                                  \
    do {                                                                                           \
        swin_clear_error();                                                                        \
        const swin_status expect_s_ = (call);                                                      \
        if (expect_s_ != (status))                                                                 \
            fail_msg("%s: got %s, want %s (\"%s\")", #call, swin_status_string(expect_s_),         \
                     swin_status_string(status), swin_last_error());                               \
        if (swin_last_error()[0] == '\0') fail_msg("%s: no message", #call);                       \
    } while (0)

#define T7 "swin_t7_224.safetensors"

static swin_model *model; /* T7, loaded once for the group */

static int group_setup(void **state) {
    (void)state;
    return swin_model_load_file(&model, swin_test_fixture(T7), NULL) == SWIN_OK ? 0 : -1;
}

static int group_teardown(void **state) {
    (void)state;
    swin_model_free(model);
    return 0;
}

static swin_tensor *make_input(int64_t B, int64_t C, int64_t H, int64_t W, uint32_t seed) {
    const int64_t shape[4] = {B, C, H, W};
    swin_tensor *t = NULL;
    assert_int_equal(swin_tensor_create(&t, 4, shape), SWIN_OK);
    swin_test_input(swin_tensor_data(t), (size_t)swin_tensor_numel(t), seed);
    return t;
}

/* ---- version and errors ---- */

static void test_version(void **state) {
    (void)state;
    assert_int_equal(swin_version_number(), SWIN_VERSION_NUMBER);
    assert_string_equal(swin_version_string(), SWIN_VERSION_STRING);
    char s[32];
    snprintf(s, sizeof s, "%d.%d.%d", SWIN_VERSION_MAJOR, SWIN_VERSION_MINOR, SWIN_VERSION_PATCH);
    assert_string_equal(swin_version_string(), s);
    assert_int_equal(SWIN_VERSION_NUMBER,
                     SWIN_VERSION_MAJOR * 10000 + SWIN_VERSION_MINOR * 100 + SWIN_VERSION_PATCH);
}

static void test_status_strings(void **state) {
    (void)state;
    static const struct {
        swin_status s;
        int value; /* stable ABI value */
        const char *name;
    } codes[] = {
        {SWIN_OK, 0, "SWIN_OK"},
        {SWIN_ERR_INVALID_ARGUMENT, 1, "SWIN_ERR_INVALID_ARGUMENT"},
        {SWIN_ERR_OUT_OF_MEMORY, 2, "SWIN_ERR_OUT_OF_MEMORY"},
        {SWIN_ERR_IO, 3, "SWIN_ERR_IO"},
        {SWIN_ERR_TRUNCATED, 4, "SWIN_ERR_TRUNCATED"},
        {SWIN_ERR_HEADER, 5, "SWIN_ERR_HEADER"},
        {SWIN_ERR_OFFSETS, 6, "SWIN_ERR_OFFSETS"},
        {SWIN_ERR_DTYPE, 7, "SWIN_ERR_DTYPE"},
        {SWIN_ERR_SHAPE, 8, "SWIN_ERR_SHAPE"},
        {SWIN_ERR_MISSING_TENSOR, 9, "SWIN_ERR_MISSING_TENSOR"},
        {SWIN_ERR_CONFIG, 10, "SWIN_ERR_CONFIG"},
        {SWIN_ERR_INPUT_SIZE, 11, "SWIN_ERR_INPUT_SIZE"},
        {SWIN_ERR_BUFFER_MISMATCH, 12, "SWIN_ERR_BUFFER_MISMATCH"},
        {SWIN_ERR_FORMAT, 13, "SWIN_ERR_FORMAT"},
        {SWIN_ERR_INTERNAL, 14, "SWIN_ERR_INTERNAL"},
        {SWIN_ERR_UNSUPPORTED, 15, "SWIN_ERR_UNSUPPORTED"},
        {SWIN_ERR_BUSY, 16, "SWIN_ERR_BUSY"},
    };
    const int n = (int)(sizeof codes / sizeof codes[0]);
    for (int i = 0; i < n; i++) {
        assert_int_equal((int)codes[i].s, codes[i].value);
        assert_int_equal(codes[i].value, i); /* dense, append-only */
        assert_string_equal(swin_status_string(codes[i].s), codes[i].name);
    }
    /* every other value is unknown: a new code must be added to the table above */
    for (int v = n; v < 64; v++)
        if (strcmp(swin_status_string((swin_status)v), "SWIN_ERR_UNKNOWN") != 0)
            fail_msg("status %d is \"%s\": add it to test_status_strings", v,
                     swin_status_string((swin_status)v));
    assert_string_equal(swin_status_string((swin_status)-1), "SWIN_ERR_UNKNOWN");
    assert_string_equal(swin_status_string((swin_status)1000), "SWIN_ERR_UNKNOWN");
}

typedef struct tls_probe {
    char seen_at_start[64];
    char own[256];
} tls_probe;

static void *tls_thread(void *arg) {
    tls_probe *p = arg;
    snprintf(p->seen_at_start, sizeof p->seen_at_start, "%s", swin_last_error());
    swin_options_set(NULL, "thread", "x");
    snprintf(p->own, sizeof p->own, "%s", swin_last_error());
    return NULL;
}

static void test_last_error(void **state) {
    (void)state;
    swin_clear_error();
    assert_non_null(swin_last_error());
    assert_string_equal(swin_last_error(), "");
    EXPECT_FAIL(SWIN_ERR_INVALID_ARGUMENT, swin_tensor_create(NULL, 1, (const int64_t[]){1}));
    char mine[256];
    snprintf(mine, sizeof mine, "%s", swin_last_error());

    /* thread-local: another thread starts empty, and its failure does not reach this one */
    tls_probe probe = {{0}, {0}};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, tls_thread, &probe), 0);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_string_equal(probe.seen_at_start, "");
    assert_true(probe.own[0] != '\0');
    assert_string_not_equal(probe.own, mine);
    assert_string_equal(swin_last_error(), mine);

    /* a success does not clear it; swin_clear_error does */
    swin_options *o = NULL;
    assert_int_equal(swin_options_create(&o), SWIN_OK);
    swin_options_free(o);
    assert_string_equal(swin_last_error(), mine);
    swin_clear_error();
    assert_string_equal(swin_last_error(), "");
}

/* ---- NULL handles and pointers; free(NULL) ---- */

static void test_null_arguments(void **state) {
    (void)state;
    const int64_t shape1[1] = {4};
    float data[4] = {0};
    swin_options *o = NULL;
    assert_int_equal(swin_options_create(&o), SWIN_OK);
    swin_tensor *t = NULL;
    assert_int_equal(swin_tensor_create(&t, 1, shape1), SWIN_OK);
    swin_context *ctx = NULL;
    assert_int_equal(swin_context_create(&ctx, model), SWIN_OK);

    EXPECT_FAIL(SWIN_ERR_INVALID_ARGUMENT, swin_options_create(NULL));
    EXPECT_FAIL(SWIN_ERR_INVALID_ARGUMENT, swin_options_set(NULL, "img_size", "224"));
    EXPECT_FAIL(SWIN_ERR_INVALID_ARGUMENT, swin_options_set(o, NULL, "224"));
    EXPECT_FAIL(SWIN_ERR_INVALID_ARGUMENT, swin_options_set(o, "img_size", NULL));

    swin_model *m = (swin_model *)0x1;
    EXPECT_FAIL(SWIN_ERR_INVALID_ARGUMENT, swin_model_load_file(NULL, swin_test_fixture(T7), NULL));
    EXPECT_FAIL(SWIN_ERR_INVALID_ARGUMENT, swin_model_load_file(&m, NULL, NULL));
    assert_null(m);
    EXPECT_FAIL(SWIN_ERR_INVALID_ARGUMENT, swin_model_load_memory(NULL, data, sizeof data, NULL));
    m = (swin_model *)0x1;
    EXPECT_FAIL(SWIN_ERR_INVALID_ARGUMENT, swin_model_load_memory(&m, NULL, 16, NULL));
    assert_null(m);

    assert_null(swin_model_get(NULL, "arch"));
    assert_null(swin_model_get(model, NULL));
    assert_int_equal(swin_model_num_classes(NULL), 0);
    assert_int_equal(swin_model_num_stages(NULL), 0);
    assert_int_equal(swin_model_num_params(NULL), 0);
    assert_int_equal(swin_model_num_tensors(NULL), 0);
    int64_t v;
    double f;
    EXPECT_FAIL(SWIN_ERR_INVALID_ARGUMENT, swin_model_stage_dims(NULL, 0, &v, &v, &v, &v, &v, &v));
    EXPECT_FAIL(SWIN_ERR_INVALID_ARGUMENT, swin_model_flops(NULL, -1, &f, &f));
    const char *name;
    EXPECT_FAIL(SWIN_ERR_INVALID_ARGUMENT,
                swin_model_tensor_info(NULL, 0, &name, NULL, NULL, NULL));

    swin_tensor *u = (swin_tensor *)0x1;
    EXPECT_FAIL(SWIN_ERR_INVALID_ARGUMENT, swin_tensor_create(NULL, 1, shape1));
    EXPECT_FAIL(SWIN_ERR_INVALID_ARGUMENT, swin_tensor_create(&u, 1, NULL));
    assert_null(u);
    EXPECT_FAIL(SWIN_ERR_INVALID_ARGUMENT, swin_tensor_wrap(NULL, data, 1, shape1));
    u = (swin_tensor *)0x1;
    EXPECT_FAIL(SWIN_ERR_INVALID_ARGUMENT, swin_tensor_wrap(&u, NULL, 1, shape1));
    assert_null(u);
    u = (swin_tensor *)0x1;
    EXPECT_FAIL(SWIN_ERR_INVALID_ARGUMENT, swin_tensor_wrap(&u, data, 1, NULL));
    assert_null(u);
    assert_null(swin_tensor_data(NULL));
    assert_int_equal(swin_tensor_ndim(NULL), 0);
    assert_int_equal(swin_tensor_dim(NULL, 0), 0);
    assert_int_equal(swin_tensor_numel(NULL), 0);
    EXPECT_FAIL(SWIN_ERR_INVALID_ARGUMENT, swin_tensor_load_npy(NULL, "x.npy"));
    EXPECT_FAIL(SWIN_ERR_INVALID_ARGUMENT, swin_tensor_load_npy(&u, NULL));
    EXPECT_FAIL(SWIN_ERR_INVALID_ARGUMENT, swin_tensor_save_npy(NULL, "/tmp/swin_never.npy"));
    EXPECT_FAIL(SWIN_ERR_INVALID_ARGUMENT, swin_tensor_save_npy(t, NULL));

    swin_context *c = (swin_context *)0x1;
    EXPECT_FAIL(SWIN_ERR_INVALID_ARGUMENT, swin_context_create(NULL, model));
    EXPECT_FAIL(SWIN_ERR_INVALID_ARGUMENT, swin_context_create(&c, NULL));
    assert_null(c);
    EXPECT_FAIL(SWIN_ERR_INVALID_ARGUMENT, swin_context_reserve(NULL, 1, 224, 224));
    assert_int_equal(swin_context_memory_bytes(NULL), 0);
    EXPECT_FAIL(SWIN_ERR_INVALID_ARGUMENT, swin_context_run(NULL, t));
    EXPECT_FAIL(SWIN_ERR_INVALID_ARGUMENT, swin_context_run(ctx, NULL));
    const swin_tensor *out = (const swin_tensor *)0x1;
    EXPECT_FAIL(SWIN_ERR_INVALID_ARGUMENT, swin_context_output(NULL, SWIN_OUTPUT_LOGITS, 0, &out));
    EXPECT_FAIL(SWIN_ERR_INVALID_ARGUMENT, swin_context_output(ctx, SWIN_OUTPUT_LOGITS, 0, NULL));

    swin_image *img = (swin_image *)0x1;
    const uint8_t px[12] = {0};
    EXPECT_FAIL(SWIN_ERR_INVALID_ARGUMENT, swin_image_load_file(NULL, "x.png"));
    EXPECT_FAIL(SWIN_ERR_INVALID_ARGUMENT, swin_image_load_file(&img, NULL));
    assert_null(img);
    EXPECT_FAIL(SWIN_ERR_INVALID_ARGUMENT, swin_image_load_memory(NULL, px, sizeof px));
    img = (swin_image *)0x1;
    EXPECT_FAIL(SWIN_ERR_INVALID_ARGUMENT, swin_image_load_memory(&img, NULL, 12));
    assert_null(img);
    EXPECT_FAIL(SWIN_ERR_INVALID_ARGUMENT, swin_image_wrap_rgb8(NULL, px, 2, 2, 6));
    img = (swin_image *)0x1;
    EXPECT_FAIL(SWIN_ERR_INVALID_ARGUMENT, swin_image_wrap_rgb8(&img, NULL, 2, 2, 6));
    assert_null(img);
    assert_int_equal(swin_image_width(NULL), 0);
    assert_int_equal(swin_image_height(NULL), 0);
    int64_t stride = -1;
    assert_null(swin_image_pixels(NULL, &stride));
    assert_int_equal(stride, 0);
    assert_null(swin_image_pixels(NULL, NULL));

    swin_context_free(ctx);
    swin_tensor_free(t);
    swin_options_free(o);
}

/* Constructors set *out to NULL on failure, whichever argument is wrong. */
static void test_out_null_on_failure(void **state) {
    (void)state;
    swin_tensor *u = (swin_tensor *)0x1;
    EXPECT_FAIL(SWIN_ERR_INVALID_ARGUMENT, swin_tensor_load_npy(&u, NULL));
    assert_null(u);
    u = (swin_tensor *)0x1;
    EXPECT_FAIL(SWIN_ERR_IO, swin_tensor_load_npy(&u, "/nonexistent/x.npy"));
    assert_null(u);
    swin_model *m = (swin_model *)0x1;
    EXPECT_FAIL(SWIN_ERR_IO, swin_model_load_file(&m, "/nonexistent/x.safetensors", NULL));
    assert_null(m);
    swin_image *img = (swin_image *)0x1;
    EXPECT_FAIL(SWIN_ERR_IO, swin_image_load_file(&img, "/nonexistent/x.png"));
    assert_null(img);
}

static void test_image_wrap(void **state) {
    (void)state;
    uint8_t px[2 * 8] = {0};
    swin_image *img = NULL;
    assert_int_equal(swin_image_wrap_rgb8(&img, px, 2, 2, 8), SWIN_OK);
    assert_int_equal(swin_image_width(img), 2);
    assert_int_equal(swin_image_height(img), 2);
    int64_t stride = 0;
    assert_ptr_equal(swin_image_pixels(img, &stride), px);
    assert_int_equal(stride, 8);
    swin_image_free(img); /* must not free px */
    static const int64_t bad[][3] = {
        {0, 2, 6},
        {2, 0, 6},
        {-1, 2, 6},
        {2, 2, 5},
        {2, 2, -6},
        {INT64_MAX, 1, INT64_MAX},
        {(int64_t)1 << 32, (int64_t)1 << 32, (int64_t)3 << 32}, /* w*h wraps to 0 in 64 bits */
        {100000, 100000, 300000},                               /* over 178956970 pixels */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        img = (swin_image *)0x1;
        swin_clear_error();
        const swin_status s = swin_image_wrap_rgb8(&img, px, bad[i][0], bad[i][1], bad[i][2]);
        const bool set = img != NULL;
        if (s == SWIN_OK) swin_image_free(img);
        if (s != SWIN_ERR_INVALID_ARGUMENT || set || !swin_last_error()[0])
            fail_msg("swin_image_wrap_rgb8(%lld x %lld, stride %lld): %s; INVALID_ARGUMENT "
                     "expected",
                     (long long)bad[i][0], (long long)bad[i][1], (long long)bad[i][2],
                     swin_status_string(s));
    }
}

static void test_free_null(void **state) {
    (void)state;
    swin_options_free(NULL);
    swin_model_free(NULL);
    swin_tensor_free(NULL);
    swin_context_free(NULL);
    swin_image_free(NULL);
}

/* ---- options ---- */

static void test_options(void **state) {
    (void)state;
    swin_options *o;
    assert_int_equal(swin_options_create(&o), SWIN_OK);
    static const char *const bad[][2] = {
        {"no_such_key", "1"},   {"", "1"},
        {"IMG_SIZE", "224"},    {"depths", "2,x"},
        {"depths", ""},         {"depths", "2,,2"},
        {"depths", ",2"},       {"depths", "2,"},
        {"depths", "-1"},       {"depths", "1,2,3,4,5,6,7,8,9"},
        {"num_heads", "abc"},   {"img_size", "-1"},
        {"img_size", "abc"},    {"img_size", ""},
        {"img_size", "1e3"},    {"img_size", "22 4"},
        {"img_size", " 224"},   {"img_size", "224x"},
        {"img_size", "0x10"},   {"img_size", "99999999999999999999"},
        {"window_size", "7.5"}, {"mlp_ratio", "abc"},
        {"mlp_ratio", ""},      {"mlp_ratio", "-1"},
        {"mlp_ratio", "0"},     {"mlp_ratio", "nan"},
        {"mlp_ratio", "inf"},   {"mlp_ratio", "4x"},
        {"norm_eps", "-1e-5"},  {"arch", ""},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        swin_clear_error();
        const swin_status s = swin_options_set(o, bad[i][0], bad[i][1]);
        if (s != SWIN_ERR_CONFIG || !swin_last_error()[0])
            fail_msg("swin_options_set(\"%s\", \"%s\"): %s (\"%s\"); SWIN_ERR_CONFIG expected",
                     bad[i][0], bad[i][1], swin_status_string(s), swin_last_error());
    }
    char longv[300];
    memset(longv, '1', sizeof longv - 1);
    longv[sizeof longv - 1] = '\0';
    EXPECT_FAIL(SWIN_ERR_CONFIG, swin_options_set(o, "arch", longv));

    static const char *const good[][2] = {
        {"arch", "swin"},         {"img_size", "224"},      {"patch_size", "4"},
        {"in_chans", "3"},        {"embed_dim", "4"},       {"depths", "2,2,2,2"},
        {"depths", "2, 2, 2, 2"}, {"num_heads", "2,2,4,4"}, {"window_size", "7"},
        {"mlp_ratio", "2.0"},     {"norm_eps", "1e-05"},    {"num_classes", "10"},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        if (swin_options_set(o, good[i][0], good[i][1]) != SWIN_OK)
            fail_msg("swin_options_set(\"%s\", \"%s\"): %s", good[i][0], good[i][1],
                     swin_last_error());

    /* a later set replaces; options win over metadata */
    swin_model *m = NULL;
    assert_int_equal(swin_options_set(o, "img_size", "448"), SWIN_OK);
    assert_int_equal(swin_model_load_file(&m, swin_test_fixture(T7), o), SWIN_OK);
    assert_string_equal(swin_model_get(m, "img_size"), "448");
    swin_model_free(m);
    assert_int_equal(swin_options_set(o, "img_size", "224"), SWIN_OK);
    assert_int_equal(swin_model_load_file(&m, swin_test_fixture(T7), o), SWIN_OK);
    assert_string_equal(swin_model_get(m, "img_size"), "224");
    swin_model_free(m);
    swin_options_free(o);
}

/* ---- tensors ---- */

static void test_tensor_shapes(void **state) {
    (void)state;
    static const struct {
        int ndim;
        int64_t shape[9];
    } bad[] = {
        {0, {1}},
        {9, {1, 1, 1, 1, 1, 1, 1, 1, 1}},
        {-1, {1}},
        {1, {0}},
        {2, {3, 0}},
        {1, {-1}},
        {2, {4, INT64_MIN}},
        {2, {INT64_MAX, INT64_MAX}},
        {1, {INT64_MAX}},
        {1, {(int64_t)1 << 62}}, /* elements fit in size_t, bytes do not */
        {3, {(int64_t)1 << 22, (int64_t)1 << 22, (int64_t)1 << 22}},
    };
    float data[4] = {1, 2, 3, 4};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        swin_tensor *t = (swin_tensor *)0x1;
        EXPECT_FAIL(SWIN_ERR_INVALID_ARGUMENT, swin_tensor_create(&t, bad[i].ndim, bad[i].shape));
        assert_null(t);
        t = (swin_tensor *)0x1;
        EXPECT_FAIL(SWIN_ERR_INVALID_ARGUMENT,
                    swin_tensor_wrap(&t, data, bad[i].ndim, bad[i].shape));
        assert_null(t);
    }

    const int64_t shape[8] = {2, 1, 3, 1, 1, 1, 1, 2};
    swin_tensor *t;
    assert_int_equal(swin_tensor_create(&t, 8, shape), SWIN_OK);
    assert_int_equal(swin_tensor_ndim(t), 8);
    assert_int_equal(swin_tensor_numel(t), 12);
    for (int i = 0; i < 8; i++)
        assert_int_equal(swin_tensor_dim(t, i), shape[i]);
    assert_int_equal(swin_tensor_dim(t, -1), 0);
    assert_int_equal(swin_tensor_dim(t, 8), 0);
    for (int i = 0; i < 12; i++)
        assert_true(swin_tensor_data(t)[i] == 0.0f); /* zero-filled */
    swin_tensor_free(t);

    const int64_t two[2] = {2, 2};
    assert_int_equal(swin_tensor_wrap(&t, data, 2, two), SWIN_OK);
    assert_ptr_equal(swin_tensor_data(t), data);
    assert_int_equal(swin_tensor_numel(t), 4);
    swin_tensor_free(t); /* must not free data (valgrind / ASan would tell) */
    assert_true(data[3] == 4.0f);
}

/* ---- model facts ---- */

static void test_model_facts(void **state) {
    (void)state;
    static const char *const keys[][2] = {
        {"family", "swin"},       {"naming", "timm"},   {"arch", "swin"},   {"img_size", "224"},
        {"patch_size", "4"},      {"in_chans", "3"},    {"embed_dim", "4"}, {"depths", "2,2,2,2"},
        {"num_heads", "2,2,4,4"}, {"window_size", "7"}, {"mlp_ratio", "2"}, {"num_classes", "10"},
        {"norm_eps", "1e-05"},
    };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const char *v = swin_model_get(model, keys[i][0]);
        if (!v || strcmp(v, keys[i][1]) != 0)
            fail_msg("swin_model_get(\"%s\") = \"%s\"; \"%s\" expected", keys[i][0],
                     v ? v : "(NULL)", keys[i][1]);
    }
    assert_null(swin_model_get(model, "no_such_key"));
    assert_null(swin_model_get(model, ""));
    assert_null(swin_model_get(model, "IMG_SIZE"));

    assert_int_equal(swin_model_num_classes(model), 10);
    assert_int_equal(swin_model_num_stages(model), 4);

    /* stage facts */
    static const int64_t want[4][6] = {
        {2, 2, 4, 56, 56, 7}, {2, 2, 8, 28, 28, 7}, {2, 4, 16, 14, 14, 7}, {2, 4, 32, 7, 7, 7}};
    for (int s = 0; s < 4; s++) {
        int64_t d[6];
        assert_int_equal(swin_model_stage_dims(model, s, &d[0], &d[1], &d[2], &d[3], &d[4], &d[5]),
                         SWIN_OK);
        assert_memory_equal(d, want[s], sizeof d);
        assert_int_equal(swin_model_stage_dims(model, s, NULL, NULL, NULL, NULL, NULL, NULL),
                         SWIN_OK);
    }
    int64_t v = -7;
    EXPECT_FAIL(SWIN_ERR_INVALID_ARGUMENT,
                swin_model_stage_dims(model, -1, &v, &v, &v, &v, &v, &v));
    EXPECT_FAIL(SWIN_ERR_INVALID_ARGUMENT, swin_model_stage_dims(model, 4, &v, &v, &v, &v, &v, &v));
    assert_int_equal(v, -7); /* outputs untouched on failure */

    /* flops: -1 is the whole model, 0..3 the stages */
    double total = 0, total_g = 0, sum = 0, f, g;
    assert_int_equal(swin_model_flops(model, -1, &total, &total_g), SWIN_OK);
    assert_int_equal(swin_model_flops(model, -1, NULL, NULL), SWIN_OK);
    for (int s = 0; s < 4; s++) {
        assert_int_equal(swin_model_flops(model, s, &f, &g), SWIN_OK);
        assert_true(f > 0 && g > 0);
        sum += f;
    }
    assert_true(total > sum && total_g > 0);
    EXPECT_FAIL(SWIN_ERR_INVALID_ARGUMENT, swin_model_flops(model, -2, &f, &g));
    EXPECT_FAIL(SWIN_ERR_INVALID_ARGUMENT, swin_model_flops(model, 4, &f, &g));

    /* tensors: file order, and the parameters are all of them (timm files hold no buffers) */
    const size_t n = swin_model_num_tensors(model);
    assert_int_equal(n, 121);
    int64_t params = 0;
    for (size_t i = 0; i < n; i++) {
        const char *name = NULL, *dtype = NULL;
        int ndim = -1;
        const int64_t *shape = NULL;
        assert_int_equal(swin_model_tensor_info(model, i, &name, &dtype, &ndim, &shape), SWIN_OK);
        assert_non_null(name);
        assert_string_equal(dtype, "F32");
        assert_true(ndim >= 1 && ndim <= SWIN_MAX_DIMS);
        int64_t numel = 1;
        for (int k = 0; k < ndim; k++)
            numel *= shape[k];
        params += numel;
        if (i == 0) {
            assert_string_equal(name, "patch_embed.proj.weight");
            assert_int_equal(ndim, 4);
            assert_int_equal(shape[0], 4);
            assert_int_equal(shape[1], 3);
        }
    }
    assert_int_equal(swin_model_num_params(model), params);
    assert_int_equal(swin_model_tensor_info(model, 0, NULL, NULL, NULL, NULL), SWIN_OK);
    const char *name = "untouched";
    EXPECT_FAIL(SWIN_ERR_INVALID_ARGUMENT,
                swin_model_tensor_info(model, n, &name, NULL, NULL, NULL));
    EXPECT_FAIL(SWIN_ERR_INVALID_ARGUMENT,
                swin_model_tensor_info(model, (size_t)-1, &name, NULL, NULL, NULL));
    assert_string_equal(name, "untouched");
}

/* ---- contexts ---- */

static void test_context_misuse(void **state) {
    (void)state;
    swin_context *ctx;
    assert_int_equal(swin_context_create(&ctx, model), SWIN_OK);
    assert_int_equal(swin_context_memory_bytes(ctx), 0);
    const swin_tensor *out = (const swin_tensor *)0x1;
    EXPECT_FAIL(SWIN_ERR_INVALID_ARGUMENT, swin_context_output(ctx, SWIN_OUTPUT_LOGITS, 0, &out));
    assert_null(out);
    EXPECT_FAIL(SWIN_ERR_INVALID_ARGUMENT, swin_context_output(ctx, SWIN_OUTPUT_FEATURES, 0, &out));

    /* reserve: sizes */
    EXPECT_FAIL(SWIN_ERR_INVALID_ARGUMENT, swin_context_reserve(ctx, 0, 224, 224));
    EXPECT_FAIL(SWIN_ERR_INVALID_ARGUMENT, swin_context_reserve(ctx, -1, 224, 224));
    EXPECT_FAIL(SWIN_ERR_INVALID_ARGUMENT, swin_context_reserve(ctx, 1, 0, 224));
    EXPECT_FAIL(SWIN_ERR_INVALID_ARGUMENT, swin_context_reserve(ctx, 1, 224, 0));
    EXPECT_FAIL(SWIN_ERR_INVALID_ARGUMENT, swin_context_reserve(ctx, 1, -224, 224));
    EXPECT_FAIL(SWIN_ERR_INVALID_ARGUMENT, swin_context_reserve(ctx, 1, 224, INT64_MIN));
    EXPECT_FAIL(SWIN_ERR_INPUT_SIZE, swin_context_reserve(ctx, 1, 223, 224));
    EXPECT_FAIL(SWIN_ERR_INPUT_SIZE, swin_context_reserve(ctx, 1, 224, 226));
    assert_int_equal(swin_context_memory_bytes(ctx), 0);
    /* absurd sizes: refused (too large, or no memory), never a crash or a wrapped size */
    static const int64_t huge[][3] = {
        {1, (int64_t)1 << 40, (int64_t)1 << 40},
        {(int64_t)1 << 40, 224, 224},
        {1, (int64_t)1 << 60, 224},
        {INT64_MAX / 4 * 4, 224, 224},
        {1, INT64_MAX / 4 * 4, INT64_MAX / 4 * 4},
    };
    for (size_t i = 0; i < sizeof huge / sizeof huge[0]; i++) {
        swin_clear_error();
        const swin_status s = swin_context_reserve(ctx, huge[i][0], huge[i][1], huge[i][2]);
        if ((s != SWIN_ERR_INPUT_SIZE && s != SWIN_ERR_OUT_OF_MEMORY) || !swin_last_error()[0])
            fail_msg("reserve(%lld, %lld, %lld): %s", (long long)huge[i][0], (long long)huge[i][1],
                     (long long)huge[i][2], swin_status_string(s));
        assert_int_equal(swin_context_memory_bytes(ctx), 0);
    }
    assert_int_equal(swin_context_reserve(ctx, 1, 224, 224), SWIN_OK);
    const size_t bytes = swin_context_memory_bytes(ctx);
    assert_true(bytes > 0);
    assert_int_equal(swin_context_reserve(ctx, 1, 224, 224), SWIN_OK); /* same plan */
    assert_int_equal(swin_context_memory_bytes(ctx), bytes);
    assert_int_equal(swin_context_reserve(ctx, 2, 224, 224), SWIN_OK);
    assert_true(swin_context_memory_bytes(ctx) > bytes);
    /* reserving is not running */
    EXPECT_FAIL(SWIN_ERR_INVALID_ARGUMENT, swin_context_output(ctx, SWIN_OUTPUT_LOGITS, 0, &out));

    /* run: wrong tensors */
    swin_tensor *t = make_input(1, 4, 224, 224, 1);
    EXPECT_FAIL(SWIN_ERR_INVALID_ARGUMENT, swin_context_run(ctx, t)); /* 4 channels */
    swin_tensor_free(t);
    t = make_input(1, 1, 224, 224, 1);
    EXPECT_FAIL(SWIN_ERR_INVALID_ARGUMENT, swin_context_run(ctx, t)); /* 1 channel */
    swin_tensor_free(t);
    const int64_t chw[3] = {3, 224, 224}, flat[1] = {3 * 224 * 224};
    const int64_t five[5] = {1, 3, 224, 224, 1};
    assert_int_equal(swin_tensor_create(&t, 3, chw), SWIN_OK);
    EXPECT_FAIL(SWIN_ERR_INVALID_ARGUMENT, swin_context_run(ctx, t));
    swin_tensor_free(t);
    assert_int_equal(swin_tensor_create(&t, 1, flat), SWIN_OK);
    EXPECT_FAIL(SWIN_ERR_INVALID_ARGUMENT, swin_context_run(ctx, t));
    swin_tensor_free(t);
    assert_int_equal(swin_tensor_create(&t, 5, five), SWIN_OK);
    EXPECT_FAIL(SWIN_ERR_INVALID_ARGUMENT, swin_context_run(ctx, t));
    swin_tensor_free(t);
    t = make_input(1, 3, 226, 224, 1);
    EXPECT_FAIL(SWIN_ERR_INPUT_SIZE, swin_context_run(ctx, t));
    swin_tensor_free(t);
    t = make_input(1, 3, 224, 30, 1);
    EXPECT_FAIL(SWIN_ERR_INPUT_SIZE, swin_context_run(ctx, t));
    swin_tensor_free(t);
    EXPECT_FAIL(SWIN_ERR_INVALID_ARGUMENT, swin_context_output(ctx, SWIN_OUTPUT_LOGITS, 0, &out));
    swin_context_free(ctx);
}

static void test_outputs(void **state) {
    (void)state;
    swin_context *ctx;
    assert_int_equal(swin_context_create(&ctx, model), SWIN_OK);
    swin_tensor *in = make_input(1, 3, 224, 224, 1);
    assert_int_equal(swin_context_run(ctx, in), SWIN_OK);
    assert_true(swin_context_memory_bytes(ctx) > 0);
    const swin_tensor *out = NULL;
    assert_int_equal(swin_context_output(ctx, SWIN_OUTPUT_LOGITS, 0, &out), SWIN_OK);
    assert_int_equal(swin_tensor_ndim(out), 2);
    assert_int_equal(swin_tensor_dim(out, 0), 1);
    assert_int_equal(swin_tensor_dim(out, 1), 10);
    assert_int_equal(swin_context_output(ctx, SWIN_OUTPUT_LOGITS, 12345, &out), SWIN_OK);
    assert_int_equal(swin_context_output(ctx, SWIN_OUTPUT_FEATURES, 0, &out), SWIN_OK);
    assert_int_equal(swin_tensor_ndim(out), 2);
    assert_int_equal(swin_tensor_dim(out, 1), 32);
    for (int s = 0; s < 4; s++) {
        assert_int_equal(swin_context_output(ctx, SWIN_OUTPUT_STAGE, s, &out), SWIN_OK);
        assert_int_equal(swin_tensor_ndim(out), 4);
        assert_int_equal(swin_tensor_dim(out, 1), 56 >> s);
        assert_int_equal(swin_tensor_dim(out, 2), 56 >> s);
        assert_int_equal(swin_tensor_dim(out, 3), 4 << s);
    }
    out = (const swin_tensor *)0x1;
    EXPECT_FAIL(SWIN_ERR_INVALID_ARGUMENT, swin_context_output(ctx, SWIN_OUTPUT_STAGE, -1, &out));
    assert_null(out);
    EXPECT_FAIL(SWIN_ERR_INVALID_ARGUMENT, swin_context_output(ctx, SWIN_OUTPUT_STAGE, 4, &out));
    EXPECT_FAIL(SWIN_ERR_INVALID_ARGUMENT, swin_context_output(ctx, (swin_output)3, 0, &out));
    EXPECT_FAIL(SWIN_ERR_INVALID_ARGUMENT, swin_context_output(ctx, (swin_output)-1, 0, &out));

    /* a failed run leaves no stale outputs behind */
    swin_tensor *bad = make_input(1, 3, 222, 224, 1);
    EXPECT_FAIL(SWIN_ERR_INPUT_SIZE, swin_context_run(ctx, bad));
    EXPECT_FAIL(SWIN_ERR_INVALID_ARGUMENT, swin_context_output(ctx, SWIN_OUTPUT_LOGITS, 0, &out));
    /* and the context still works */
    assert_int_equal(swin_context_run(ctx, in), SWIN_OK);
    assert_int_equal(swin_context_output(ctx, SWIN_OUTPUT_LOGITS, 0, &out), SWIN_OK);
    swin_tensor_free(bad);
    swin_tensor_free(in);
    swin_context_free(ctx);
}

/* num_classes=0: no head; logits are refused, features work. */
static void test_no_head(void **state) {
    (void)state;
    swin_options *o;
    assert_int_equal(swin_options_create(&o), SWIN_OK);
    assert_int_equal(swin_options_set(o, "num_classes", "0"), SWIN_OK);
    swin_model *m;
    assert_int_equal(swin_model_load_file(&m, swin_test_fixture(T7), o), SWIN_OK);
    swin_options_free(o); /* the model does not keep opts */
    assert_int_equal(swin_model_num_classes(m), 0);
    assert_string_equal(swin_model_get(m, "num_classes"), "0");
    assert_true(swin_model_num_params(m) < swin_model_num_params(model));
    swin_context *ctx;
    assert_int_equal(swin_context_create(&ctx, m), SWIN_OK);
    swin_tensor *in = make_input(1, 3, 224, 224, 1);
    assert_int_equal(swin_context_run(ctx, in), SWIN_OK);
    const swin_tensor *out = (const swin_tensor *)0x1;
    EXPECT_FAIL(SWIN_ERR_INVALID_ARGUMENT, swin_context_output(ctx, SWIN_OUTPUT_LOGITS, 0, &out));
    assert_null(out);
    assert_int_equal(swin_context_output(ctx, SWIN_OUTPUT_FEATURES, 0, &out), SWIN_OK);
    assert_int_equal(swin_tensor_dim(out, 1), 32);

    /* the same features as the model with its head */
    swin_safetensors ref = {0};
    swin_test_open(&ref, "swin_t7_224.expected.safetensors");
    size_t n;
    const float *want = swin_test_get(&ref, "features", &n);
    assert_int_equal(swin_tensor_numel(out), (int64_t)n);
    SWIN_CHECK("no head: features", swin_tensor_data(out), want, n);
    swin__st_close(&ref);
    swin_tensor_free(in);
    swin_context_free(ctx);
    swin_model_free(m);
}

static void test_nan_input(void **state) {
    (void)state;
    swin_context *ctx;
    assert_int_equal(swin_context_create(&ctx, model), SWIN_OK);
    swin_tensor *in = make_input(1, 3, 224, 224, 1);
    swin_tensor_data(in)[1000] = NAN;
    assert_int_equal(swin_context_run(ctx, in), SWIN_OK);
    const swin_tensor *out;
    assert_int_equal(swin_context_output(ctx, SWIN_OUTPUT_LOGITS, 0, &out), SWIN_OK);
    int nans = 0;
    for (int i = 0; i < 10; i++)
        nans += isnan(swin_tensor_data(out)[i]) != 0;
    assert_int_equal(nans, 10);
    swin_tensor_free(in);
    swin_context_free(ctx);
}

static void copy_outputs(swin_context *ctx, float *buf, size_t cap, size_t *n) {
    *n = 0;
    const swin_tensor *out;
    for (int k = 0; k < 6; k++) {
        const swin_output kind = k == 0   ? SWIN_OUTPUT_LOGITS
                                 : k == 1 ? SWIN_OUTPUT_FEATURES
                                          : SWIN_OUTPUT_STAGE;
        assert_int_equal(swin_context_output(ctx, kind, k - 2, &out), SWIN_OK);
        const size_t m = (size_t)swin_tensor_numel(out);
        assert_true(*n + m <= cap);
        memcpy(buf + *n, swin_tensor_data(out), m * sizeof(float));
        *n += m;
    }
}

/* The same input twice through one context, and through a second one: bit-identical. */
static void test_repeatable(void **state) {
    (void)state;
    enum { CAP = 32768 };
    float *a = malloc(CAP * sizeof(float)), *b = malloc(CAP * sizeof(float));
    assert_true(a && b);
    size_t na, nb;
    swin_context *ctx, *ctx2;
    assert_int_equal(swin_context_create(&ctx, model), SWIN_OK);
    assert_int_equal(swin_context_create(&ctx2, model), SWIN_OK);
    swin_tensor *in = make_input(1, 3, 224, 224, 5);
    swin_tensor *other = make_input(1, 3, 224, 224, 6);
    assert_int_equal(swin_context_run(ctx, in), SWIN_OK);
    copy_outputs(ctx, a, CAP, &na);
    assert_int_equal(swin_context_run(ctx, other), SWIN_OK); /* something else in between */
    assert_int_equal(swin_context_run(ctx, in), SWIN_OK);
    copy_outputs(ctx, b, CAP, &nb);
    assert_int_equal(na, nb);
    assert_memory_equal(a, b, na * sizeof(float));
    assert_int_equal(swin_context_run(ctx2, in), SWIN_OK);
    copy_outputs(ctx2, b, CAP, &nb);
    assert_memory_equal(a, b, na * sizeof(float));
    /* the input is left as it was */
    swin_tensor *again = make_input(1, 3, 224, 224, 5);
    assert_memory_equal(swin_tensor_data(in), swin_tensor_data(again),
                        (size_t)swin_tensor_numel(in) * sizeof(float));
    swin_tensor_free(again);
    swin_tensor_free(other);
    swin_tensor_free(in);
    swin_context_free(ctx2);
    swin_context_free(ctx);
    free(a);
    free(b);
}

/* Threads: each loads its own copy of the file (concurrent loads) and runs a context of its own
 * on the shared model; all agree with a run on this thread. */
typedef struct worker {
    const float *want;
    int agree; /* 1 when its logits match, -1 on any failure */
} worker;

static void *worker_main(void *arg) {
    worker *w = arg;
    w->agree = -1;
    swin_model *own = NULL;
    if (swin_model_load_file(&own, swin_test_fixture(T7), NULL) != SWIN_OK) return NULL;
    swin_model_free(own);
    swin_context *ctx = NULL;
    swin_tensor *in = NULL;
    const int64_t shape[4] = {1, 3, 224, 224};
    if (swin_context_create(&ctx, model) != SWIN_OK || swin_tensor_create(&in, 4, shape) != SWIN_OK)
        goto done;
    swin_test_input(swin_tensor_data(in), (size_t)swin_tensor_numel(in), 9);
    for (int rep = 0; rep < 3; rep++) {
        const swin_tensor *out;
        if (swin_context_run(ctx, in) != SWIN_OK ||
            swin_context_output(ctx, SWIN_OUTPUT_LOGITS, 0, &out) != SWIN_OK)
            goto done;
        if (!swin_test_check("thread logits", swin_tensor_data(out), w->want, 10, SWIN_TEST_TOL))
            goto done;
    }
    w->agree = 1;
done:
    swin_tensor_free(in);
    swin_context_free(ctx);
    return NULL;
}

static void test_threads_share_model(void **state) {
    (void)state;
    swin_context *ctx;
    assert_int_equal(swin_context_create(&ctx, model), SWIN_OK);
    swin_tensor *in = make_input(1, 3, 224, 224, 9);
    assert_int_equal(swin_context_run(ctx, in), SWIN_OK);
    const swin_tensor *out;
    assert_int_equal(swin_context_output(ctx, SWIN_OUTPUT_LOGITS, 0, &out), SWIN_OK);
    float want[10];
    memcpy(want, swin_tensor_data(out), sizeof want);
    enum { NT = 4 };
    pthread_t th[NT];
    worker w[NT];
    for (int i = 0; i < NT; i++) {
        w[i].want = want;
        w[i].agree = 0;
        assert_int_equal(pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
    }
    for (int i = 0; i < NT; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    for (int i = 0; i < NT; i++)
        assert_int_equal(w[i].agree, 1);
    swin_tensor_free(in);
    swin_context_free(ctx);
}

/* ---- bad calls and bad numbers (issue 7): the cases the tests above do not cover ---- */

static void test_num_threads_bounds(void **state) {
    (void)state;
    const int before = swin_get_num_threads();
    assert_true(before >= 1);
    static const int bad[] = {0, -1, 1025, INT32_MIN, INT32_MAX};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        EXPECT_FAIL(SWIN_ERR_INVALID_ARGUMENT, swin_set_num_threads(bad[i]));
    assert_int_equal(swin_get_num_threads(), before); /* a refused value changes nothing */
    EXPECT_FAIL(SWIN_ERR_INVALID_ARGUMENT, swin_context_set_num_threads(NULL, 1));
    swin_context *ctx = NULL;
    assert_int_equal(swin_context_create(&ctx, model), SWIN_OK);
    static const int bad_ctx[] = {-1, 1025, INT32_MIN, INT32_MAX};
    for (size_t i = 0; i < sizeof bad_ctx / sizeof bad_ctx[0]; i++)
        EXPECT_FAIL(SWIN_ERR_INVALID_ARGUMENT, swin_context_set_num_threads(ctx, bad_ctx[i]));
    assert_int_equal(swin_context_set_num_threads(ctx, 0), SWIN_OK);
    assert_int_equal(swin_context_set_num_threads(ctx, 1024), SWIN_OK);
    swin_context_free(ctx); /* no run yet: no workers were started */
}

static void test_label_and_input_size_bounds(void **state) {
    (void)state;
    assert_null(swin_model_label(NULL, 0));
    assert_null(swin_model_label(model, -1));
    assert_null(swin_model_label(model, INT64_MIN));
    assert_null(swin_model_label(model, swin_model_num_classes(model)));
    assert_null(swin_model_label(model, INT64_MAX));
    assert_int_equal(swin_model_input_size(NULL), 0);
    assert_int_equal(swin_model_input_size(model), 224);
}

/* swin_image_preprocess: NULL arguments, a batch of the wrong rank, channels or side, and
 * indices outside the batch. */
static void test_preprocess_bad_calls(void **state) {
    (void)state;
    uint8_t px[4 * 3 * 3] = {0};
    swin_image *img;
    assert_int_equal(swin_image_wrap_rgb8(&img, px, 4, 3, 12), SWIN_OK);
    const int64_t S = swin_model_input_size(model);
    swin_tensor *good;
    const int64_t gshape[4] = {2, 3, S, S};
    assert_int_equal(swin_tensor_create(&good, 4, gshape), SWIN_OK);
    EXPECT_FAIL(SWIN_ERR_INVALID_ARGUMENT, swin_image_preprocess(NULL, model, good, 0));
    EXPECT_FAIL(SWIN_ERR_INVALID_ARGUMENT, swin_image_preprocess(img, NULL, good, 0));
    EXPECT_FAIL(SWIN_ERR_INVALID_ARGUMENT, swin_image_preprocess(img, model, NULL, 0));
    static const int64_t indices[] = {-1, 2, INT64_MIN, INT64_MAX};
    for (size_t i = 0; i < sizeof indices / sizeof indices[0]; i++)
        EXPECT_FAIL(SWIN_ERR_INVALID_ARGUMENT, swin_image_preprocess(img, model, good, indices[i]));
    static const struct {
        int ndim;
        int64_t shape[5];
    } bad[] = {
        {3, {3, 224, 224}},    {5, {1, 3, 224, 224, 1}}, {4, {1, 4, 224, 224}},
        {4, {1, 1, 224, 224}}, {4, {1, 3, 223, 224}},    {4, {1, 3, 224, 225}},
        {4, {1, 3, 112, 112}}, {2, {3, 224 * 224}},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        swin_tensor *t;
        assert_int_equal(swin_tensor_create(&t, bad[i].ndim, bad[i].shape), SWIN_OK);
        EXPECT_FAIL(SWIN_ERR_INVALID_ARGUMENT, swin_image_preprocess(img, model, t, 0));
        swin_tensor_free(t);
    }
    assert_int_equal(swin_image_preprocess(img, model, good, 1), SWIN_OK);
    swin_tensor_free(good);
    swin_image_free(img);
}

/* An extreme aspect ratio: only the center crop is resized (a 1 x 16000 image once resized to
 * 224 x 3.6M pixels first); a crop_pct so small that the resize target overflows is refused. */
static void test_preprocess_extremes(void **state) {
    (void)state;
    enum { LONG = 16000 };
    uint8_t *px = malloc(LONG * 3);
    assert_non_null(px);
    for (int i = 0; i < LONG * 3; i++)
        px[i] = (uint8_t)(i * 7);
    const int64_t S = swin_model_input_size(model), shape[4] = {2, 3, S, S};
    swin_tensor *x;
    assert_int_equal(swin_tensor_create(&x, 4, shape), SWIN_OK);
    swin_image *tall, *wide;
    assert_int_equal(swin_image_wrap_rgb8(&tall, px, 1, LONG, 3), SWIN_OK);
    assert_int_equal(swin_image_wrap_rgb8(&wide, px, LONG, 1, LONG * 3), SWIN_OK);
    const long before = swin__alloc_live();
    assert_int_equal(swin_image_preprocess(tall, model, x, 0), SWIN_OK);
    assert_int_equal(swin_image_preprocess(wide, model, x, 1), SWIN_OK);
    assert_int_equal(swin__alloc_live(), before);
    for (int64_t i = 0; i < swin_tensor_numel(x); i++)
        assert_true(isfinite(swin_tensor_data(x)[i]));

    swin_options *o;
    assert_int_equal(swin_options_create(&o), SWIN_OK);
    assert_int_equal(swin_options_set(o, "crop_pct", "1e-300"), SWIN_OK);
    swin_model *m;
    assert_int_equal(swin_model_load_file(&m, swin_test_fixture(T7), o), SWIN_OK);
    EXPECT_FAIL(SWIN_ERR_CONFIG, swin_image_preprocess(tall, m, x, 0));
    swin_model_free(m);
    swin_options_free(o);
    swin_image_free(tall);
    swin_image_free(wide);
    swin_tensor_free(x);
    free(px);
}

static void test_empty_and_odd_sources(void **state) {
    (void)state;
    const uint8_t byte = 0xFF;
    swin_image *img = (swin_image *)0x1;
    EXPECT_FAIL(SWIN_ERR_FORMAT, swin_image_load_memory(&img, &byte, 0));
    assert_null(img);
    /* a directory where a file is expected: an I/O error, not a format one */
    swin_tensor *t = (swin_tensor *)0x1;
    EXPECT_FAIL(SWIN_ERR_IO, swin_tensor_load_npy(&t, SWIN_FIXTURE_DIR));
    assert_null(t);
    img = (swin_image *)0x1;
    EXPECT_FAIL(SWIN_ERR_IO, swin_image_load_file(&img, SWIN_FIXTURE_DIR));
    assert_null(img);
}

/* Absurd architecture values: refused with SWIN_ERR_CONFIG before any size is computed from
 * them (an mlp_ratio of 1e300 once overflowed a float-to-integer conversion in ViT). */
static void test_huge_settings(void **state) {
    (void)state;
    static const struct {
        const char *file, *key, *value;
    } cases[] = {
        {T7, "mlp_ratio", "1e300"},
        {T7, "embed_dim", "2147483648"},
        {T7, "window_size", "2147483648"},
        {T7, "patch_size", "2147483648"},
        {T7, "img_size", "2147483648"},
        {T7, "input_size", "2147483648"},
        {"vit/vit_token_p16_nometa.safetensors", "mlp_ratio", "1e300"},
        {"vit/vit_token_p16_nometa.safetensors", "mlp_hidden_dim", "2147483648"},
        {"vit/vit_token_p16_nometa.safetensors", "img_size", "2147483648"},
        {"vit/vit_token_p16_nometa.safetensors", "depth", "2147483648"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        swin_options *o;
        assert_int_equal(swin_options_create(&o), SWIN_OK);
        assert_int_equal(
            swin_options_set(o, "num_heads", strstr(cases[i].file, "vit") ? "2" : "2,2,4,4"),
            SWIN_OK);
        assert_int_equal(swin_options_set(o, cases[i].key, cases[i].value), SWIN_OK);
        swin_model *m = (swin_model *)0x1;
        swin_clear_error();
        const swin_status st = swin_model_load_file(&m, swin_test_fixture(cases[i].file), o);
        if (st != SWIN_ERR_CONFIG || m || !swin_last_error()[0])
            fail_msg("%s with %s=%s: %s (\"%s\"); SWIN_ERR_CONFIG expected", cases[i].file,
                     cases[i].key, cases[i].value, swin_status_string(st), swin_last_error());
        swin_options_free(o);
    }
}

/* +Inf and -Inf reach the outputs as non-finite values, for each family, without a crash. */
static void test_inf_input(void **state) {
    (void)state;
    static const struct {
        const char *file;
        int64_t size;
    } cases[] = {
        {T7, 224},
        {"vit/vit_token_p16.safetensors", 64},
        {"vit/vit_postnorm_relu.safetensors", 8},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        for (int sign = -1; sign <= 1; sign += 2) {
            swin_model *m;
            assert_int_equal(swin_model_load_file(&m, swin_test_fixture(cases[i].file), NULL),
                             SWIN_OK);
            swin_context *ctx;
            assert_int_equal(swin_context_create(&ctx, m), SWIN_OK);
            swin_tensor *in = make_input(1, 3, cases[i].size, cases[i].size, 2);
            swin_tensor_data(in)[5] = (float)sign * INFINITY;
            assert_int_equal(swin_context_run(ctx, in), SWIN_OK);
            const swin_tensor *out;
            assert_int_equal(swin_context_output(ctx, SWIN_OUTPUT_LOGITS, 0, &out), SWIN_OK);
            int finite = 0;
            for (int64_t k = 0; k < swin_tensor_numel(out); k++)
                finite += isfinite(swin_tensor_data(out)[k]) != 0;
            if (finite)
                fail_msg("%s with %cInf: %d finite logits", cases[i].file, sign < 0 ? '-' : '+',
                         finite);
            swin_tensor_free(in);
            swin_context_free(ctx);
            swin_model_free(m);
        }
}

/* swin_context_topk against the softmax and ranking written here directly (double, by
 * comparison of every pair): batch 2, every k, ties to the lower index, and its refusals. */
static void test_topk(void **state) {
    (void)state;
    swin_context *ctx;
    assert_int_equal(swin_context_create(&ctx, model), SWIN_OK);
    int64_t cls[10];
    float prob[10];
    EXPECT_FAIL(SWIN_ERR_INVALID_ARGUMENT, swin_context_topk(ctx, 0, 1, cls, prob)); /* no run */
    swin_tensor *in = make_input(2, 3, 224, 224, 5);
    assert_int_equal(swin_context_run(ctx, in), SWIN_OK);
    const swin_tensor *out;
    assert_int_equal(swin_context_output(ctx, SWIN_OUTPUT_LOGITS, 0, &out), SWIN_OK);
    const int64_t K = swin_tensor_dim(out, 1);
    assert_int_equal(K, 10);
    for (int64_t b = 0; b < 2; b++) {
        const float *z = swin_tensor_data(out) + b * K;
        double mx = z[0], sum = 0.0;
        for (int64_t c = 1; c < K; c++)
            mx = z[c] > mx ? z[c] : mx;
        for (int64_t c = 0; c < K; c++)
            sum += exp((double)z[c] - mx);
        for (int64_t k = 1; k <= K; k++) {
            assert_int_equal(swin_context_topk(ctx, b, k, cls, prob), SWIN_OK);
            double total = 0.0;
            for (int64_t r = 0; r < k; r++) {
                /* the rank of class cls[r]: how many classes come before it */
                int64_t before = 0;
                for (int64_t c = 0; c < K; c++)
                    before += z[c] > z[cls[r]] || (z[c] == z[cls[r]] && c < cls[r]);
                assert_int_equal(before, r);
                const double want = exp((double)z[cls[r]] - mx) / sum;
                assert_true(fabs(prob[r] - want) <= 1e-7 * want + 1e-12);
                total += prob[r];
            }
            if (k == K) assert_true(fabs(total - 1.0) < 1e-6);
        }
    }
    /* probs may be NULL */
    assert_int_equal(swin_context_topk(ctx, 1, 3, cls, NULL), SWIN_OK);
    EXPECT_FAIL(SWIN_ERR_INVALID_ARGUMENT, swin_context_topk(ctx, 2, 1, cls, prob));
    EXPECT_FAIL(SWIN_ERR_INVALID_ARGUMENT, swin_context_topk(ctx, -1, 1, cls, prob));
    EXPECT_FAIL(SWIN_ERR_INVALID_ARGUMENT, swin_context_topk(ctx, 0, 0, cls, prob));
    EXPECT_FAIL(SWIN_ERR_INVALID_ARGUMENT, swin_context_topk(ctx, 0, 11, cls, prob));
    EXPECT_FAIL(SWIN_ERR_INVALID_ARGUMENT, swin_context_topk(ctx, 0, 1, NULL, prob));
    EXPECT_FAIL(SWIN_ERR_INVALID_ARGUMENT, swin_context_topk(NULL, 0, 1, cls, prob));
    swin_tensor_free(in);
    swin_context_free(ctx);
}

/* swin_image_wrap: every pixel format converts to the RGB8 pixels written here by hand (alpha
 * dropped, gray replicated, as PIL's convert("RGB")), with padded strides; the caller's pixels
 * may be freed after; bad arguments refused. */
static void test_image_wrap_formats(void **state) {
    (void)state;
    enum { W = 5, H = 3 };
    uint8_t rgb[H * W * 3];
    for (int i = 0; i < H * W * 3; i++)
        rgb[i] = (uint8_t)(i * 37 + 11);
    static const int ch[] = {3, 3, 4, 4, 1};
    for (int f = SWIN_PIXEL_RGB8; f <= SWIN_PIXEL_GRAY8; f++) {
        const int64_t stride = W * ch[f] + 7; /* rows padded */
        uint8_t *src = calloc((size_t)(stride * H), 1);
        assert_non_null(src);
        uint8_t want[H * W * 3];
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                const uint8_t *p = rgb + (y * W + x) * 3;
                uint8_t *q = src + y * stride + x * ch[f], *w = want + (y * W + x) * 3;
                if (f == SWIN_PIXEL_GRAY8) {
                    q[0] = p[0];
                    w[0] = w[1] = w[2] = p[0];
                    continue;
                }
                const bool bgr = f == SWIN_PIXEL_BGR8 || f == SWIN_PIXEL_BGRA8;
                for (int c = 0; c < 3; c++)
                    q[bgr ? 2 - c : c] = p[c];
                if (ch[f] == 4) q[3] = (uint8_t)(200 + x); /* alpha: dropped */
                memcpy(w, p, 3);
            }
        swin_image *img;
        assert_int_equal(swin_image_wrap(&img, src, W, H, stride, (swin_pixel_format)f), SWIN_OK);
        memset(src, 0xAB, (size_t)(stride * H)); /* copied: the caller's pixels are free */
        free(src);
        int64_t st;
        const uint8_t *px = swin_image_pixels(img, &st);
        assert_int_equal(swin_image_width(img), W);
        assert_int_equal(swin_image_height(img), H);
        for (int y = 0; y < H; y++)
            assert_memory_equal(px + y * st, want + y * W * 3, W * 3);
        swin_image_free(img);
    }
    uint8_t px[64] = {0};
    swin_image *img = (swin_image *)0x1;
    EXPECT_FAIL(SWIN_ERR_INVALID_ARGUMENT, swin_image_wrap(&img, px, 2, 2, 7, SWIN_PIXEL_RGBA8));
    assert_null(img);
    EXPECT_FAIL(SWIN_ERR_INVALID_ARGUMENT,
                swin_image_wrap(&img, px, 2, 2, 8, (swin_pixel_format)5));
    EXPECT_FAIL(SWIN_ERR_INVALID_ARGUMENT, swin_image_wrap(&img, NULL, 2, 2, 8, SWIN_PIXEL_RGB8));
    EXPECT_FAIL(SWIN_ERR_INVALID_ARGUMENT, swin_image_wrap(&img, px, 0, 2, 8, SWIN_PIXEL_GRAY8));
    EXPECT_FAIL(SWIN_ERR_INVALID_ARGUMENT, swin_image_wrap(NULL, px, 2, 2, 8, SWIN_PIXEL_GRAY8));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version),
        cmocka_unit_test(test_status_strings),
        cmocka_unit_test(test_last_error),
        cmocka_unit_test(test_null_arguments),
        cmocka_unit_test(test_free_null),
        cmocka_unit_test(test_options),
        cmocka_unit_test(test_tensor_shapes),
        cmocka_unit_test(test_model_facts),
        cmocka_unit_test(test_context_misuse),
        cmocka_unit_test(test_outputs),
        cmocka_unit_test(test_no_head),
        cmocka_unit_test(test_nan_input),
        cmocka_unit_test(test_repeatable),
        cmocka_unit_test(test_threads_share_model),
        cmocka_unit_test(test_out_null_on_failure),
        cmocka_unit_test(test_image_wrap),
        cmocka_unit_test(test_image_wrap_formats),
        cmocka_unit_test(test_topk),
        cmocka_unit_test(test_num_threads_bounds),
        cmocka_unit_test(test_label_and_input_size_bounds),
        cmocka_unit_test(test_preprocess_bad_calls),
        cmocka_unit_test(test_preprocess_extremes),
        cmocka_unit_test(test_empty_and_odd_sources),
        cmocka_unit_test(test_inf_input),
        cmocka_unit_test(test_huge_settings),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
