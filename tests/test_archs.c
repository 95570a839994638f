/* The whole architecture table generated from timm (src/archs.c): every name resolves from a
 * hub folder as timm's save_for_hf writes it (tests/fixtures/archs/timm_hub.txt.gz: its
 * config.json and the names and shapes of its state dict, recorded from timm itself), with no
 * arch or setting given: libswin either loads it, with the architecture timm builds, or refuses
 * it naming the feature it lacks, the same one swin_arch_info() names. The tensors' bytes are
 * zeros of a sparse file: this checks resolution and binding, not numbers (those are checked
 * against timm by tests/reference/check_timm_archs.py, and in CI by the fixtures of the other
 * tests). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "archs.h"
#include "test_util.h"

typedef struct tensor {
    char name[256];
    char dtype[8];
    int ndim;
    int64_t shape[SWIN_MAX_DIMS];
} tensor;

typedef struct arch {
    char name[128];
    char *config; /* one line of JSON */
    tensor *t;
    size_t n, cap;
} arch;

static void push(arch *a, const tensor *t) {
    if (a->n == a->cap) {
        a->cap = a->cap ? 2 * a->cap : 256;
        a->t = realloc(a->t, a->cap * sizeof *a->t);
        assert_non_null(a->t);
    }
    a->t[a->n++] = *t;
}

/* "t NAME D0,D1 [DTYPE]", NAME with at most one {a..b} component. */
static void parse_tensor(arch *a, char *line) {
    char *name = strtok(line + 2, " "), *shape = strtok(NULL, " "), *dtype = strtok(NULL, " ");
    assert_non_null(name);
    assert_non_null(shape);
    tensor t = {0};
    snprintf(t.dtype, sizeof t.dtype, "%s", dtype ? dtype : "F32");
    if (strcmp(shape, "-") != 0)
        for (char *d = strtok(shape, ","); d; d = strtok(NULL, ","))
            t.shape[t.ndim++] = strtoll(d, NULL, 10);
    char *open = strchr(name, '{');
    if (!open) {
        snprintf(t.name, sizeof t.name, "%s", name);
        push(a, &t);
        return;
    }
    long lo, hi;
    char *close = strchr(open, '}');
    assert_non_null(close);
    assert_int_equal(sscanf(open, "{%ld..%ld}", &lo, &hi), 2);
    for (long k = lo; k <= hi; k++) {
        snprintf(t.name, sizeof t.name, "%.*s%ld%s", (int)(open - name), name, k, close + 1);
        push(a, &t);
    }
}

static size_t dtype_size(const char *dt) {
    if (strcmp(dt, "F32") == 0 || strcmp(dt, "I32") == 0) return 4;
    if (strcmp(dt, "I64") == 0 || strcmp(dt, "F64") == 0) return 8;
    fail_msg("dtype %s", dt);
    return 0;
}

/* A hub folder: config.json, and model.safetensors with the tensors' names and shapes over
 * zeros (a sparse file: a 7B-parameter model costs no disk). */
static void write_folder(const char *dir, const arch *a) {
    char path[512];
    snprintf(path, sizeof path, "%s/config.json", dir);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(a->config, fp);
    fclose(fp);
    size_t cap = 1 << 20, len = 0;
    char *h = malloc(cap);
    assert_non_null(h);
    len += (size_t)snprintf(h + len, cap - len, "{\"__metadata__\":{\"format\":\"pt\"}");
    uint64_t off = 0;
    for (size_t i = 0; i < a->n; i++) {
        const tensor *t = &a->t[i];
        uint64_t bytes = dtype_size(t->dtype);
        if (cap - len < 1024) {
            cap *= 2;
            h = realloc(h, cap);
            assert_non_null(h);
        }
        len += (size_t)snprintf(h + len, cap - len, ",\"%s\":{\"dtype\":\"%s\",\"shape\":[",
                                t->name, t->dtype);
        for (int d = 0; d < t->ndim; d++) {
            len +=
                (size_t)snprintf(h + len, cap - len, d ? ",%lld" : "%lld", (long long)t->shape[d]);
            bytes *= (uint64_t)t->shape[d];
        }
        len += (size_t)snprintf(h + len, cap - len, "],\"data_offsets\":[%llu,%llu]}",
                                (unsigned long long)off, (unsigned long long)(off + bytes));
        off += bytes;
    }
    len += (size_t)snprintf(h + len, cap - len, "}");
    while (len % 8)
        h[len++] = ' ';
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    const int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644);
    assert_true(fd >= 0);
    unsigned char n8[8];
    for (int i = 0; i < 8; i++)
        n8[i] = (unsigned char)((uint64_t)len >> (8 * i));
    assert_int_equal(write(fd, n8, 8), 8);
    assert_int_equal(write(fd, h, len), (ssize_t)len);
    assert_int_equal(ftruncate(fd, (off_t)(8 + len + off)), 0);
    close(fd);
    free(h);
}

/* Reads the next architecture from the gzip stream; false at the end. */
static bool next_arch(gzFile gz, arch *a) {
    static char line[1 << 16];
    a->n = 0;
    a->name[0] = '\0';
    while (gzgets(gz, line, sizeof line)) {
        line[strcspn(line, "\n")] = '\0';
        if (strncmp(line, "arch ", 5) == 0) {
            snprintf(a->name, sizeof a->name, "%s", line + 5);
        } else if (strncmp(line, "config ", 7) == 0) {
            free(a->config);
            a->config = strdup(line + 7);
        } else if (strncmp(line, "t ", 2) == 0) {
            parse_tensor(a, line);
        } else if (strcmp(line, "end") == 0) {
            return true;
        } else {
            fail_msg("timm_hub.txt.gz: unexpected line \"%.80s\"", line);
        }
    }
    return false;
}

/* The value of key in an arch row as swin_arch_info does not give it: from the table. */
static const char *row_arg(const char *name, const char *key) {
    const swin_arch *a = NULL;
    for (size_t i = 0; i < swin__num_archs; i++)
        if (strcmp(swin__archs[i].name, name) == 0) a = &swin__archs[i];
    assert_non_null(a);
    for (const char *kv = a->args; *kv;) { /* key\0value\0 ... \0 */
        const char *value = kv + strlen(kv) + 1;
        if (strcmp(kv, key) == 0) return value;
        kv = value + strlen(value) + 1;
    }
    return NULL;
}

static void test_walk(void **state) {
    (void)state;
    gzFile gz = gzopen(swin_test_fixture("archs/timm_hub.txt.gz"), "rb");
    assert_non_null(gz);
    char dir[] = "/tmp/swin_archs_XXXXXX";
    assert_non_null(mkdtemp(dir));
    arch a = {0};
    size_t seen = 0, loaded = 0, refused = 0;
    while (next_arch(gz, &a)) {
        /* the same name, in the same order, as the table */
        assert_true(seen < swin_arch_count());
        const char *name, *family, *missing;
        int pretrained;
        assert_int_equal(swin_arch_info(seen, &name, &family, &pretrained, &missing), SWIN_OK);
        assert_string_equal(name, a.name);
        char want_missing[512] = "";
        if (missing) snprintf(want_missing, sizeof want_missing, "%s", missing);
        seen++;
        write_folder(dir, &a);
        swin_model *m = (swin_model *)0x1;
        const swin_status s = swin_model_load_file(&m, dir, NULL);
        if (!want_missing[0]) {
            if (s != SWIN_OK)
                fail_msg("%s: supported by the table, but %s (%s)", a.name, swin_status_string(s),
                         swin_last_error());
            /* the architecture timm builds */
            assert_string_equal(swin_model_get(m, "arch"), a.name);
            assert_string_equal(swin_model_get(m, "family"), family);
            assert_string_equal(swin_model_get(m, "naming"), "timm");
            assert_string_equal(swin_model_get(m, "embed_dim"), row_arg(a.name, "embed_dim"));
            const char *depth = strncmp(family, "swin", 4) == 0 ? "depths" : "depth";
            assert_string_equal(swin_model_get(m, depth), row_arg(a.name, depth));
            int64_t params = 0;
            for (size_t i = 0; i < a.n; i++) {
                int64_t k = 1;
                for (int d = 0; d < a.t[i].ndim; d++)
                    k *= a.t[i].shape[d];
                params += k;
            }
            assert_int_equal(swin_model_num_params(m), params);
            printf("[arch] %-48s loads   %s, %.1f M parameters\n", a.name, family, params / 1e6);
            swin_model_free(m);
            loaded++;
        } else {
            if (s == SWIN_OK) fail_msg("%s: the table says \"%s\", but it loads", a.name, missing);
            assert_null(m);
            /* the refusal names what the table names */
            if (s != SWIN_ERR_UNSUPPORTED || !strstr(swin_last_error(), want_missing))
                fail_msg("%s: %s (%s); SWIN_ERR_UNSUPPORTED naming \"%s\" expected", a.name,
                         swin_status_string(s), swin_last_error(), want_missing);
            printf("[arch] %-48s refused %s\n", a.name, want_missing);
            refused++;
        }
    }
    assert_int_equal(seen, swin_arch_count());
    printf("[arch] %zu timm architectures: %zu load, %zu refused naming the missing feature\n",
           seen, loaded, refused);
    free(a.t);
    free(a.config);
    char path[512];
    snprintf(path, sizeof path, "%s/config.json", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    unlink(path);
    rmdir(dir);
    gzclose(gz);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_walk),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
