#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_util.h"

float swin_test_input_value(uint32_t i, uint32_t seed) {
    uint32_t h = i + seed * 0x9E3779B9u;
    h ^= h >> 16;
    h *= 0x7FEB352Du;
    h ^= h >> 15;
    h *= 0x846CA68Bu;
    h ^= h >> 16;
    return (float)((double)(h >> 8) * (1.0 / 4194304.0) - 2.0);
}

void swin_test_input(float *x, size_t n, uint32_t seed) {
    for (size_t i = 0; i < n; i++)
        x[i] = swin_test_input_value((uint32_t)i, seed);
}

const char *swin_test_fixture(const char *name) {
    static _Thread_local char path[1024]; /* thread-local: tests call it from threads */
    snprintf(path, sizeof path, "%s/%s", SWIN_FIXTURE_DIR, name);
    return path;
}

const char *swin_test_program(const char *path) {
    static _Thread_local char cmd[2048];
    const char *emulator = getenv("SWIN_TEST_EMULATOR");
    snprintf(cmd, sizeof cmd, "%s%s'%s'", emulator ? emulator : "", emulator ? " " : "", path);
    return cmd;
}

void swin_test_open(swin_safetensors *st, const char *name) {
    swin_status s = swin__st_open(st, swin_test_fixture(name), false);
    if (s != SWIN_OK) fail_msg("cannot open fixture %s: %s", name, swin_last_error());
}

const float *swin_test_get(const swin_safetensors *st, const char *name, size_t *numel) {
    const swin_st_tensor *t = swin__st_find(st, name);
    if (!t || !t->f32) fail_msg("fixture tensor %s missing or not float", name);
    if (numel) *numel = t->numel;
    return t->f32;
}

bool swin_test_check(const char *label, const float *got, const float *ref, size_t n, double tol) {
    double max_abs = 0.0, max_ref = 0.0, worst_rel = 0.0;
    size_t worst = 0;
    bool finite = true;
    for (size_t i = 0; i < n; i++) {
        const double d = fabs((double)got[i] - (double)ref[i]);
        if (!isfinite(got[i])) finite = false;
        if (fabs(ref[i]) > max_ref) max_ref = fabs(ref[i]);
        if (d > max_abs || !isfinite(d)) {
            max_abs = d;
            worst = i;
        }
        const double rel = d / (fabs(ref[i]) > 1e-30 ? fabs(ref[i]) : 1e-30);
        if (rel > worst_rel) worst_rel = rel;
    }
    const double bound = tol * (max_ref > 1.0 ? max_ref : 1.0);
    const bool ok = finite && max_abs <= bound;
    printf("[check] %-40s n=%zu max_abs=%.3e (bound %.3e) worst[%zu] got=%.9g ref=%.9g "
           "max_rel=%.3e %s\n",
           label, n, max_abs, bound, worst, n ? got[worst] : 0.0, n ? ref[worst] : 0.0, worst_rel,
           ok ? "ok" : "FAIL");
    return ok;
}

unsigned char *swin_test_with_tensor(const char *fixture, const char *name, size_t *size) {
    FILE *fp = fopen(swin_test_fixture(fixture), "rb");
    if (!fp) fail_msg("cannot open %s", fixture);
    fseek(fp, 0, SEEK_END);
    const size_t n = (size_t)ftell(fp);
    fseek(fp, 0, SEEK_SET);
    unsigned char *in = malloc(n);
    if (!in || fread(in, 1, n, fp) != n) fail_msg("cannot read %s", fixture);
    fclose(fp);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = (hlen << 8) | in[i];
    json_t *root = json_loadb((const char *)in + 8, (size_t)hlen, 0, NULL);
    if (!root) fail_msg("%s: bad header", fixture);
    const size_t data = n - 8 - (size_t)hlen;
    json_t *entry = json_pack("{s:s, s:[i], s:[I, I]}", "dtype", "F32", "shape", 1, "data_offsets",
                              (json_int_t)data, (json_int_t)data + 4);
    json_object_set_new(root, name, entry);
    char *text = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    size_t tlen = strlen(text);
    const size_t padded = (tlen + 7) / 8 * 8; /* keep the data 8-byte aligned */
    *size = 8 + padded + data + 4;
    unsigned char *out = calloc(1, *size);
    if (!out) fail_msg("out of memory");
    for (int i = 0; i < 8; i++)
        out[i] = (unsigned char)((uint64_t)padded >> (8 * i));
    memcpy(out + 8, text, tlen);
    memset(out + 8 + tlen, ' ', padded - tlen);
    memcpy(out + 8 + padded, in + 8 + hlen, data);
    free(text);
    free(in);
    return out;
}

void swin_test_check_output(swin_context *ctx, swin_output kind, int index,
                            const swin_safetensors *exp, const char *key, const char *label) {
    const swin_tensor *out;
    assert_int_equal(swin_context_output(ctx, kind, index, &out), SWIN_OK);
    size_t n;
    const float *want = swin_test_get(exp, key, &n);
    assert_int_equal((size_t)swin_tensor_numel(out), n);
    char l[128];
    snprintf(l, sizeof l, "%s %s", label, key);
    SWIN_CHECK(l, swin_tensor_data(out), want, n);
}

swin_context *swin_test_run_outputs(swin_model *m, const swin_safetensors *exp, const char *label,
                                    int64_t B, int64_t S, uint32_t seed, const char *suffix,
                                    swin_tensor **x) {
    const int64_t shape[4] = {B, 3, S, S};
    assert_int_equal(swin_tensor_create(x, 4, shape), SWIN_OK);
    swin_test_input(swin_tensor_data(*x), (size_t)swin_tensor_numel(*x), seed);
    swin_context *ctx;
    assert_int_equal(swin_context_create(&ctx, m), SWIN_OK);
    const swin_status s = swin_context_run(ctx, *x);
    if (s != SWIN_OK) fail_msg("%s at %lld: %s", label, (long long)S, swin_last_error());
    char key[64];
    snprintf(key, sizeof key, "logits%s", suffix);
    if (swin__st_find(exp, key)) {
        swin_test_check_output(ctx, SWIN_OUTPUT_LOGITS, 0, exp, key, label);
    } else { /* no reference: the model has no head, and says so */
        const swin_tensor *out;
        assert_int_equal(swin_model_num_classes(m), 0);
        assert_int_equal(swin_context_output(ctx, SWIN_OUTPUT_LOGITS, 0, &out),
                         SWIN_ERR_INVALID_ARGUMENT);
    }
    snprintf(key, sizeof key, "features%s", suffix);
    swin_test_check_output(ctx, SWIN_OUTPUT_FEATURES, 0, exp, key, label);
    /* the token map: every token after the final norm ("tokens"; a transformers CLIP's own
     * last_hidden_state is before its post_layernorm), else last_hidden_state */
    snprintf(key, sizeof key, "tokens%s", suffix);
    if (!swin__st_find(exp, key)) snprintf(key, sizeof key, "last_hidden_state%s", suffix);
    swin_test_check_output(ctx, SWIN_OUTPUT_TOKENS, 0, exp, key, label);
    return ctx;
}

swin_model *swin_test_load_checked(const char *dir, const char *naming,
                                   const char *const config[][2], int n) {
    swin_model *m;
    const swin_status s = swin_model_load_file(&m, swin_test_fixture(dir), NULL);
    if (s != SWIN_OK) fail_msg("%s: %s (%s)", dir, swin_status_string(s), swin_last_error());
    assert_string_equal(swin_model_get(m, "naming"), naming);
    for (int k = 0; k < n && config[k][0]; k++) {
        const char *v = swin_model_get(m, config[k][0]);
        if (!v || strcmp(v, config[k][1]) != 0)
            fail_msg("%s: %s is %s, not %s", dir, config[k][0], v ? v : "(unset)", config[k][1]);
    }
    return m;
}

bool swin_test_mkdtemp(char *buf, size_t cap, const char *tag) {
    snprintf(buf, cap, "/tmp/swin_%s_XXXXXX", tag);
    return mkdtemp(buf) != NULL;
}

bool swin_test_rmtree(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return false;
    bool ok = true;
    for (const struct dirent *e; (e = readdir(d));) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat sb;
        if (lstat(path, &sb) != 0)
            ok = false;
        else if (S_ISDIR(sb.st_mode))
            ok = swin_test_rmtree(path) && ok;
        else
            ok = unlink(path) == 0 && ok;
    }
    closedir(d);
    return rmdir(dir) == 0 && ok;
}

int swin_test_each_isa(const char *name, const struct CMUnitTest *tests, size_t n,
                       CMFixtureFunction setup, CMFixtureFunction teardown) {
    const char *forced = getenv("SWIN_ISA");
    if (forced && *forced) return _cmocka_run_group_tests(name, tests, n, setup, teardown);
    int failed = 0, paths = 0;
    for (int isa = 3; isa >= 0; isa--) {
        if (!swin__kernels_force(isa)) continue;
        char label[160];
        snprintf(label, sizeof label, "%s, %s kernels", name, swin__kernels_name(isa));
        failed += _cmocka_run_group_tests(label, tests, n, setup, teardown);
        paths++;
    }
    return paths ? failed : 1;
}
