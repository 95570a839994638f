/* The Swin family beyond v1 against timm itself (tests/fixtures/swin_family, made by
 * tests/reference/gen_swin_family_fixtures.py: timm architectures shrunk through model_args,
 * every parameter random, logit scales on both sides of the clamp at log 100, hub folders as
 * timm's save_for_hf writes them, references in float64): Swin V2 (cosine attention, the
 * continuous position bias MLP with pretraining windows, res-post-norm, reduce-then-norm
 * merging, with and without q/v biases), swinv2_cr (its meta MLP, norm3 at stage ends and
 * every extra_norm_period blocks, no final norm) and Swin S3 (a window per stage), at their
 * size (batch 2) and at sizes that pad. Logits, features, the token map and every stage map,
 * strict 1e-5. Then the refusals: a V2 file without its bias MLP or logit scale, windows the
 * geometry cannot take. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test_util.h"

typedef struct fcase {
    const char *name;
    int64_t batch, img;
    uint32_t seed;
    int64_t extra[4];         /* more input sizes, batch 1, seed + size (0 ends) */
    const char *config[4][2]; /* resolved settings swin_model_get must give (NULL ends) */
} fcase;

static const fcase cases[] = {
    {"v2", 2, 32, 61, {28, 40, 0}, {{"family", "swinv2"}, {"pretrained_window_sizes", "3,6"}}},
    {"v2_nohead", 2, 32, 62, {44, 0}, {{"family", "swinv2"}, {"qkv_bias", "false"}}},
    {"cr_ns", 2, 32, 63, {28, 0}, {{"family", "swinv2_cr"}, {"window_size", "4"}}},
    {"cr_period", 1, 32, 64, {0}, {{"family", "swinv2_cr"}}},
    {"s3", 2, 64, 65, {0}, {{"family", "swin"}, {"window_size", "4,8,2"}}},
};

static void run_size(swin_model *m, const swin_safetensors *exp, const char *name, int64_t B,
                     int64_t img, uint32_t seed, const char *suffix) {
    swin_tensor *x;
    swin_context *ctx = swin_test_run_outputs(m, exp, name, B, img, seed, suffix, &x);
    for (int s = 0; s < swin_model_num_stages(m); s++) {
        char key[32];
        snprintf(key, sizeof key, "stage%d%s", s, suffix);
        swin_test_check_output(ctx, SWIN_OUTPUT_STAGE, s, exp, key, name);
    }
    swin_context_free(ctx);
    swin_tensor_free(x);
}

static void test_cases(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const fcase *c = &cases[i];
        char dir[128], exp_name[128];
        snprintf(dir, sizeof dir, "swin_family/%s", c->name);
        snprintf(exp_name, sizeof exp_name, "swin_family/%s.expected.safetensors", c->name);
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

/* The bytes of a fixture file. */
static unsigned char *slurp(const char *name, size_t *size) {
    FILE *fp = fopen(swin_test_fixture(name), "rb");
    if (!fp) fail_msg("cannot open %s", name);
    fseek(fp, 0, SEEK_END);
    *size = (size_t)ftell(fp);
    fseek(fp, 0, SEEK_SET);
    unsigned char *b = malloc(*size + 1);
    if (!b || fread(b, 1, *size, fp) != *size) fail_msg("cannot read %s", name);
    fclose(fp);
    b[*size] = '\0';
    return b;
}

/* Loads the v2 fixture's folder with every occurrence of `from` in its safetensors header
 * replaced by `to` (the same length: a tensor renamed away) and config.json's text `cfrom`
 * replaced by `cto` (NULL: unchanged); returns the status, the message in *msg. */
static swin_status load_changed(const char *from, const char *to, const char *cfrom,
                                const char *cto, char *msg, size_t cap) {
    size_t n, cn;
    unsigned char *st = slurp("swin_family/v2/model.safetensors", &n);
    char *cfg = (char *)slurp("swin_family/v2/config.json", &cn);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = (hlen << 8) | st[i];
    if (from) {
        assert_int_equal(strlen(from), strlen(to));
        int hits = 0;
        for (size_t k = 8; k + strlen(from) <= 8 + hlen; k++)
            if (memcmp(st + k, from, strlen(from)) == 0) {
                memcpy(st + k, to, strlen(to));
                hits++;
            }
        assert_true(hits > 0);
    }
    char dir[] = "/tmp/swin_v2bad_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(st, 1, n, fp), n);
    fclose(fp);
    snprintf(path, sizeof path, "%s/config.json", dir);
    fp = fopen(path, "wb");
    assert_non_null(fp);
    const char *at = cfrom ? strstr(cfg, cfrom) : NULL;
    if (cfrom) assert_non_null(at);
    if (at) {
        fwrite(cfg, 1, (size_t)(at - cfg), fp);
        fputs(cto, fp);
        fputs(at + strlen(cfrom), fp);
    } else {
        fputs(cfg, fp);
    }
    fclose(fp);
    swin_model *m = NULL;
    const swin_status s = swin_model_load_file(&m, dir, NULL);
    snprintf(msg, cap, "%s", s == SWIN_OK ? "" : swin_last_error());
    swin_model_free(m);
    unlink(path);
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    unlink(path);
    rmdir(dir);
    free(st);
    free(cfg);
    return s;
}

static void expect(swin_status got, swin_status want, const char *msg, const char *needle) {
    if (got != want || !strstr(msg, needle))
        fail_msg("%s (%s); %s naming \"%s\" expected", swin_status_string(got), msg,
                 swin_status_string(want), needle);
}

static void test_refusals(void **state) {
    (void)state;
    char msg[1024];
    /* the continuous position bias MLP and the logit scale are tensors a V2 file must have */
    expect(load_changed("layers.1.blocks.0.attn.cpb_mlp.0.weight",
                        "layers.1.blocks.0.attn.cpb_mlp.0.weighx", NULL, NULL, msg, sizeof msg),
           SWIN_ERR_MISSING_TENSOR, msg, "layers.1.blocks.0.attn.cpb_mlp.0.weight");
    expect(load_changed("layers.0.blocks.1.attn.cpb_mlp.2.weight",
                        "layers.0.blocks.1.attn.cpb_mlp.2.weighx", NULL, NULL, msg, sizeof msg),
           SWIN_ERR_MISSING_TENSOR, msg, "layers.0.blocks.1.attn.cpb_mlp.2.weight");
    expect(load_changed("layers.1.blocks.0.attn.logit_scale", "layers.1.blocks.0.attn.logit_scalf",
                        NULL, NULL, msg, sizeof msg),
           SWIN_ERR_MISSING_TENSOR, msg, "layers.1.blocks.0.attn.logit_scale");
    /* windows the geometry cannot take */
    expect(load_changed(NULL, NULL, "\"window_size\": 4", "\"window_size\": 0", msg, sizeof msg),
           SWIN_ERR_CONFIG, msg, "window 0");
    expect(
        load_changed(NULL, NULL, "\"window_size\": 4", "\"window_size\": [4, 4]", msg, sizeof msg),
        SWIN_ERR_CONFIG, msg, "window_size \"4,4\"");
    expect(load_changed(NULL, NULL, "[\n      3,\n      6\n    ]", "[\n      1,\n      6\n    ]",
                        msg, sizeof msg),
           SWIN_ERR_CONFIG, msg, "pretrained_window_sizes (config.json");
    expect(load_changed(NULL, NULL, "[\n      3,\n      6\n    ]", "[\n      3\n    ]", msg,
                        sizeof msg),
           SWIN_ERR_CONFIG, msg, "pretrained_window_sizes \"3\"");
    /* a file whose heads disagree with the architecture */
    expect(load_changed(NULL, NULL, "\"num_heads\": [\n      1,", "\"num_heads\": [\n      2,", msg,
                        sizeof msg),
           SWIN_ERR_SHAPE, msg, "layers.0.blocks.0.attn.logit_scale");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),
        cmocka_unit_test(test_refusals),
    };
    return swin_test_run_each_isa(tests, NULL, NULL);
}
