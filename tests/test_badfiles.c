/* Bad inputs: the corpus of malformed safetensors files in tests/fixtures/bad/ (made by
 * tests/reference/gen_badfiles.py, one line each in its README.md), each expecting its own
 * status and message through both loaders; buffers of the official naming patched in memory;
 * truncations and byte flips of a good file; malformed .npy files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_util.h"

/* ---- helpers ---- */

/* Whole file in a malloc'd buffer of exactly *size bytes (1 byte for an empty file, so that the
 * pointer is never NULL); fails the test when it cannot. */
static uint8_t *read_all(const char *path, size_t *size) {
    FILE *fp = fopen(path, "rb");
    if (!fp) fail_msg("cannot open %s", path);
    struct stat sb;
    assert_int_equal(fstat(fileno(fp), &sb), 0);
    *size = (size_t)sb.st_size;
    uint8_t *buf = malloc(*size ? *size : 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, *size, fp), *size);
    fclose(fp);
    return buf;
}

/* Checks one failing (or, for SWIN_OK, succeeding) load; prints and returns false on a
 * mismatch so that a run reports every wrong case at once. */
static bool check_load(const char *label, swin_status got, swin_model *m, swin_status want,
                       const char *substring) {
    const char *msg = swin_last_error();
    bool ok = got == want && msg != NULL;
    if (ok && want == SWIN_OK) ok = m != NULL;
    if (ok && want != SWIN_OK) ok = m == NULL && msg[0] != '\0' && strstr(msg, substring) != NULL;
    if (!ok)
        printf("[bad] %-44s got %s (model %s), message \"%s\"; want %s with \"%s\"\n", label,
               swin_status_string(got), m ? "set" : "NULL", msg ? msg : "(NULL)",
               swin_status_string(want), substring);
    return ok;
}

/* ---- the corpus ---- */

typedef struct bad_case {
    const char *file; /* tests/fixtures/bad/<file>.safetensors */
    swin_status status;
    const char *substring; /* the message must contain it */
} bad_case;

static const bad_case corpus[] = {
    /* size and framing */
    {"empty", SWIN_ERR_TRUNCATED, "8-byte"},
    {"five_bytes", SWIN_ERR_TRUNCATED, "8-byte"},
    {"header_len_past_end", SWIN_ERR_TRUNCATED, "runs past the end"},
    {"header_len_at_bound", SWIN_ERR_TRUNCATED, "runs past the end"},
    {"header_len_over_bound", SWIN_ERR_HEADER, "bound"},
    {"header_len_u64_max", SWIN_ERR_HEADER, "bound"},
    {"header_len_zero", SWIN_ERR_HEADER, "'{'"},
    {"header_len_short", SWIN_ERR_HEADER, "JSON"},
    /* not JSON, not an object */
    {"header_not_json", SWIN_ERR_HEADER, "JSON"},
    {"header_array", SWIN_ERR_HEADER, "'{'"},
    {"header_leading_text", SWIN_ERR_HEADER, "'{'"},
    {"header_trailing_garbage", SWIN_ERR_HEADER, "JSON"},
    {"header_truncated_json", SWIN_ERR_HEADER, "JSON"},
    {"header_nul_byte", SWIN_ERR_HEADER, "JSON"},
    {"header_bad_utf8", SWIN_ERR_HEADER, "JSON"},
    {"header_deep_nesting", SWIN_ERR_HEADER, "JSON"},
    {"header_duplicate_key", SWIN_ERR_HEADER, "duplicate"},
    {"header_empty_object", SWIN_ERR_CONFIG, "architecture"},
    /* entries */
    {"entry_not_object", SWIN_ERR_HEADER, "patch_embed.proj.bias"},
    {"entry_missing_offsets", SWIN_ERR_HEADER, "data_offsets"},
    {"entry_dtype_not_string", SWIN_ERR_HEADER, "patch_embed.proj.bias"},
    {"entry_shape_not_array", SWIN_ERR_HEADER, "patch_embed.proj.bias"},
    {"shape_negative", SWIN_ERR_HEADER, "shape[0]"},
    {"shape_float", SWIN_ERR_HEADER, "shape[0]"},
    {"shape_string", SWIN_ERR_HEADER, "shape[0]"},
    {"shape_nine_dims", SWIN_ERR_HEADER, "9 dimensions"},
    {"shape_overflow", SWIN_ERR_HEADER, "overflows"},
    {"shape_int_too_big", SWIN_ERR_HEADER, "JSON"},
    {"shape_bytes_overflow", SWIN_ERR_OFFSETS, "patch_embed.proj.bias"},
    {"dtype_unknown", SWIN_ERR_DTYPE, "F33"},
    {"offsets_three", SWIN_ERR_HEADER, "data_offsets"},
    {"offsets_negative", SWIN_ERR_HEADER, "data_offsets"},
    {"offsets_not_int", SWIN_ERR_HEADER, "data_offsets"},
    {"offsets_backwards", SWIN_ERR_OFFSETS, "backwards"},
    {"offsets_size_mismatch", SWIN_ERR_OFFSETS, "patch_embed.proj.bias"},
    {"offsets_overlap", SWIN_ERR_OFFSETS, "overlap"},
    {"offsets_past_data", SWIN_ERR_TRUNCATED, "truncated"},
    {"offsets_huge", SWIN_ERR_TRUNCATED, "truncated"},
    {"offsets_overlap_behind_empty", SWIN_ERR_OFFSETS, "overlap"},
    /* metadata */
    {"meta_value_not_string", SWIN_ERR_HEADER, "not a string"},
    {"meta_not_object", SWIN_ERR_HEADER, "__metadata__"},
    {"ok_header_missing_tensor", SWIN_ERR_MISSING_TENSOR, "patch_embed.proj.weight"},
    /* architecture and binding */
    {"mini_good", SWIN_OK, ""},
    {"missing_tensor", SWIN_ERR_MISSING_TENSOR, "layers.1.blocks.0.attn.qkv.weight"},
    {"missing_head_bias", SWIN_ERR_MISSING_TENSOR, "head.fc.bias"},
    {"wrong_shape", SWIN_ERR_SHAPE, "norm.weight"},
    {"wrong_shape_same_size", SWIN_ERR_SHAPE, "patch_embed.proj.weight"},
    {"weight_i32", SWIN_ERR_DTYPE, "layers.0.blocks.0.mlp.fc1.weight"},
    {"weight_f64", SWIN_ERR_DTYPE, "layers.1.downsample.reduction.weight"},
    {"meta_depths_malformed", SWIN_ERR_CONFIG, "depths"},
    {"meta_arch_unknown", SWIN_ERR_CONFIG, "swin_gigantic"},
    {"meta_arch_other_family", SWIN_ERR_CONFIG, "convnext_tiny"},
    {"meta_heads_not_dividing", SWIN_ERR_CONFIG, "heads"},
    {"meta_heads_count", SWIN_ERR_CONFIG, "num_heads"},
    {"meta_img_size_not_multiple", SWIN_ERR_CONFIG, "multiple"},
    {"meta_img_size_zero", SWIN_ERR_CONFIG, "img_size"},
    {"meta_img_size_negative", SWIN_ERR_CONFIG, "img_size"},
    {"meta_mlp_ratio_text", SWIN_ERR_CONFIG, "mlp_ratio"},
    {"meta_fewer_stages", SWIN_ERR_SHAPE, "stage 1"},
    {"meta_num_classes_mismatch", SWIN_ERR_SHAPE, "head.fc.weight"},
    {"meta_window_mismatch", SWIN_ERR_SHAPE, "relative_position_bias_table"},
};
#define NUM_CORPUS (sizeof corpus / sizeof corpus[0])

static const char *bad_path(const char *file) {
    static char name[256];
    snprintf(name, sizeof name, "bad/%s.safetensors", file);
    return swin_test_fixture(name);
}

/* Each case through swin_model_load_file and swin_model_load_memory. */
static void test_corpus(void **state) {
    (void)state;
    int failures = 0;
    for (size_t i = 0; i < NUM_CORPUS; i++) {
        const bad_case *c = &corpus[i];
        char label[128];
        swin_model *m = (swin_model *)0x1;
        swin_clear_error();
        swin_status s = swin_model_load_file(&m, bad_path(c->file), NULL);
        snprintf(label, sizeof label, "%s (file)", c->file);
        failures += !check_load(label, s, m, c->status, c->substring);
        if (s == SWIN_OK) swin_model_free(m);

        size_t size;
        uint8_t *bytes = read_all(bad_path(c->file), &size);
        m = (swin_model *)0x1;
        swin_clear_error();
        s = swin_model_load_memory(&m, bytes, size, NULL);
        snprintf(label, sizeof label, "%s (memory)", c->file);
        failures += !check_load(label, s, m, c->status, c->substring);
        if (s == SWIN_OK) swin_model_free(m);
        free(bytes);
    }
    printf("[bad] %zu corpus cases x 2 loaders, %d wrong\n", NUM_CORPUS, failures);
    assert_int_equal(failures, 0);
}

/* Every file of the corpus is in the table (a new file cannot go untested). */
static void test_corpus_complete(void **state) {
    (void)state;
    DIR *dir = opendir(swin_test_fixture("bad"));
    assert_non_null(dir);
    int files = 0, unknown = 0;
    const struct dirent *e;
    while ((e = readdir(dir))) {
        const char *dot = strstr(e->d_name, ".safetensors");
        if (!dot || dot[12] != '\0') continue;
        files++;
        bool found = false;
        for (size_t i = 0; i < NUM_CORPUS && !found; i++)
            found = strlen(corpus[i].file) == (size_t)(dot - e->d_name) &&
                    strncmp(corpus[i].file, e->d_name, (size_t)(dot - e->d_name)) == 0;
        if (!found) {
            printf("[bad] %s is not in the table of test_badfiles.c\n", e->d_name);
            unknown++;
        }
    }
    closedir(dir);
    assert_int_equal(unknown, 0);
    assert_int_equal(files, (int)NUM_CORPUS);
}

static void test_io_errors(void **state) {
    (void)state;
    swin_model *m = (swin_model *)0x1;
    swin_status s = swin_model_load_file(&m, swin_test_fixture("bad/no_such.safetensors"), NULL);
    assert_true(check_load("no such file", s, m, SWIN_ERR_IO, "no_such.safetensors"));
    m = (swin_model *)0x1;
    s = swin_model_load_file(&m, swin_test_fixture("bad"), NULL);
    assert_true(check_load("a directory", s, m, SWIN_ERR_IO, "model.safetensors"));
}

/* ---- the official naming's stored buffers, patched in memory ---- */

/* Offset in the file of tensor name's first byte. */
static size_t tensor_offset(const uint8_t *bytes, size_t size, const char *name) {
    swin_safetensors st = {0};
    assert_int_equal(swin__st_parse(&st, bytes, size), SWIN_OK);
    const swin_st_tensor *t = swin__st_find(&st, name);
    if (!t) fail_msg("%s not in the official fixture", name);
    const size_t off = (size_t)(t->raw - bytes);
    swin__st_close(&st);
    return off;
}

static void test_official_buffers(void **state) {
    (void)state;
    size_t size;
    uint8_t *bytes = read_all(swin_test_fixture("swin_t7_224_official.safetensors"), &size);
    swin_model *m = NULL;
    swin_status s = swin_model_load_memory(&m, bytes, size, NULL);
    assert_true(check_load("official unchanged", s, m, SWIN_OK, ""));
    swin_model_free(m);

    /* relative_position_index element 1 (i=0, j=1) plus one */
    const char *index = "layers.0.blocks.0.attn.relative_position_index";
    const size_t io = tensor_offset(bytes, size, index) + 8;
    uint8_t v[8]; /* the file's bytes: little-endian whatever this machine's order */
    memcpy(v, bytes + io, sizeof v);
    assert_true(v[0] < 255);
    bytes[io] = (uint8_t)(v[0] + 1); /* the low byte: the value plus one */
    m = (swin_model *)0x1;
    s = swin_model_load_memory(&m, bytes, size, NULL);
    assert_true(check_load("official index altered", s, m, SWIN_ERR_BUFFER_MISMATCH, index));
    memcpy(bytes + io, v, sizeof v);

    /* the shifted block's mask: first element 0 becomes -100 (and the reverse) */
    const char *mask = "layers.2.blocks.1.attn_mask";
    const size_t mo = tensor_offset(bytes, size, mask);
    uint8_t f[4];
    memcpy(f, bytes + mo, sizeof f);
    const bool zero = !f[0] && !f[1] && !f[2] && !f[3];
    const float g = zero ? -100.0f : 0.0f;
    uint32_t u;
    memcpy(&u, &g, sizeof u);
    for (int b = 0; b < 4; b++) /* little-endian, as the file stores it */
        bytes[mo + (size_t)b] = (uint8_t)(u >> (8 * b));
    m = (swin_model *)0x1;
    s = swin_model_load_memory(&m, bytes, size, NULL);
    assert_true(check_load("official mask altered", s, m, SWIN_ERR_BUFFER_MISMATCH, mask));
    memcpy(bytes + mo, f, sizeof f);

    /* restored: loads again */
    m = NULL;
    s = swin_model_load_memory(&m, bytes, size, NULL);
    assert_true(check_load("official restored", s, m, SWIN_OK, ""));
    swin_model_free(m);
    free(bytes);
}

/* ---- fuzz-lite on the good file ---- */

static size_t header_end(const uint8_t *bytes) {
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--)
        n = (n << 8) | bytes[i];
    return (size_t)(8 + n);
}

/* Every prefix of the good file is TRUNCATED: each length through the header and 64 bytes
 * beyond, then 400 lengths spread over the data. Each prefix is an exact-size copy, so an
 * over-read shows under valgrind or ASan. */
static void test_truncations(void **state) {
    (void)state;
    size_t size;
    uint8_t *good = read_all(swin_test_fixture("swin_t7_224.safetensors"), &size);
    const size_t hend = header_end(good);
    int failures = 0, count = 0;
    for (size_t k = 0;; k++) {
        size_t len = k;
        if (k > hend + 64) {
            const size_t j = k - (hend + 64); /* 1..400 */
            if (j > 400) break;
            len = hend + 64 + (size - hend - 64) * j / 401;
        }
        if (len >= size) continue;
        uint8_t *copy = malloc(len ? len : 1);
        assert_non_null(copy);
        memcpy(copy, good, len);
        swin_model *m = (swin_model *)0x1;
        swin_clear_error();
        const swin_status s = swin_model_load_memory(&m, copy, len, NULL);
        char label[64];
        snprintf(label, sizeof label, "prefix of %zu bytes", len);
        failures += !check_load(label, s, m, SWIN_ERR_TRUNCATED, "");
        if (s == SWIN_OK) swin_model_free(m);
        free(copy);
        count++;
    }
    swin_model *m = NULL;
    assert_int_equal(swin_model_load_memory(&m, good, size, NULL), SWIN_OK);
    swin_model_free(m);
    printf("[bad] %d truncations (header ends at %zu of %zu), %d wrong\n", count, hend, size,
           failures);
    assert_int_equal(failures, 0);
    free(good);
}

/* Byte changes in the length field and the header: any status, but no crash, and a failure
 * leaves a NULL model and a message. Every length byte gets every change; in the header every
 * third byte gets one change, cycling through the list. */
static void test_header_flips(void **state) {
    (void)state;
    size_t size;
    uint8_t *buf = read_all(swin_test_fixture("swin_t7_224.safetensors"), &size);
    const size_t hend = header_end(buf);
    /* the first four are XOR masks, the rest replacement values */
    static const uint8_t change[] = {0x01, 0x80, 0x20, 0x0F, '"', '{',  '}', '[',
                                     ',',  ':',  '-',  '9',  ' ', 0x00, 0xFF};
    const size_t nchange = sizeof change;
    int counts[SWIN_ERR_INTERNAL + 1] = {0}, failures = 0, loads = 0;
    for (size_t p = 0; p < hend; p++) {
        if (p >= 8 && p % 3 != 0) continue;
        const uint8_t orig = buf[p];
        for (size_t k = 0; k < nchange; k++) {
            if (p >= 8 && k != (p / 3) % nchange) continue;
            const uint8_t b = k < 4 ? (uint8_t)(orig ^ change[k]) : change[k];
            if (b == orig) continue;
            buf[p] = b;
            swin_model *m = (swin_model *)0x1;
            swin_clear_error();
            const swin_status s = swin_model_load_memory(&m, buf, size, NULL);
            loads++;
            const bool ok = s == SWIN_OK ? m != NULL
                                         : m == NULL && swin_last_error()[0] != '\0' && s > 0 &&
                                               s < SWIN_ERR_INTERNAL;
            if (!ok) {
                printf("[bad] byte %zu set to 0x%02x: %s, model %s, message \"%s\"\n", p, b,
                       swin_status_string(s), m ? "set" : "NULL", swin_last_error());
                failures++;
            }
            if (s >= SWIN_OK && s <= SWIN_ERR_INTERNAL) counts[s]++;
            if (s == SWIN_OK) swin_model_free(m);
            buf[p] = orig;
        }
    }
    printf("[bad] %d header flips:", loads);
    for (int s = 0; s <= SWIN_ERR_INTERNAL; s++)
        if (counts[s]) printf(" %s %d", swin_status_string((swin_status)s), counts[s]);
    printf("\n");
    assert_int_equal(failures, 0);
    free(buf);
}

/* ---- .npy ---- */

static char tmpdir[256];

static int npy_setup(void **state) {
    (void)state;
    return swin_test_mkdtemp(tmpdir, sizeof tmpdir, "badnpy") ? 0 : -1;
}

static int npy_teardown(void **state) {
    (void)state;
    return swin_test_rmtree(tmpdir) ? 0 : -1;
}

static const char *tmp_path(const char *name) {
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    return path;
}

/* Writes an .npy file: magic (or a replacement), version, the dict padded with spaces and '\n'
 * to a multiple of 64 ('@' in the dict becomes a NUL byte), then nfloats floats 0.5, 1.5, ...
 * ('<f4', little-endian whatever this machine's order)
 * A header_len >= 0 overrides the stored header length; truncate_to >= 0 cuts the file. */
typedef struct npy_spec {
    const char *name;
    const char *magic; /* NULL: "\x93NUMPY" */
    int major;         /* 0: 1 */
    const char *dict;
    long nfloats;
    long header_len;  /* -1: actual */
    long truncate_to; /* -1: whole */
    swin_status status;
    const char *substring;
} npy_spec;

static const char *write_npy(const npy_spec *c) {
    const int major = c->major ? c->major : 1;
    const size_t pre = major == 1 ? 10 : 12, dlen = strlen(c->dict);
    const size_t total = (pre + dlen + 1 + 63) / 64 * 64, hlen = total - pre;
    const size_t data = (size_t)c->nfloats * 4, size = total + data;
    uint8_t *buf = calloc(1, size + 1);
    assert_non_null(buf);
    memcpy(buf, c->magic ? c->magic : "\x93NUMPY", 6);
    buf[6] = (uint8_t)major;
    const size_t stored = c->header_len >= 0 ? (size_t)c->header_len : hlen;
    for (size_t i = 0; i < pre - 8; i++)
        buf[8 + i] = (uint8_t)(stored >> (8 * i));
    memset(buf + pre, ' ', hlen);
    memcpy(buf + pre, c->dict, dlen);
    for (size_t i = pre; i < pre + dlen; i++)
        if (buf[i] == '@') buf[i] = '\0';
    buf[total - 1] = '\n';
    for (long i = 0; i < c->nfloats; i++) { /* '<f4' bytes on any host */
        const float f = (float)i + 0.5f;
        uint32_t u;
        memcpy(&u, &f, 4);
        for (int b = 0; b < 4; b++)
            buf[total + 4 * (size_t)i + (size_t)b] = (uint8_t)(u >> (8 * b));
    }
    const char *path = tmp_path(c->name);
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    const size_t n = c->truncate_to >= 0 ? (size_t)c->truncate_to : size;
    assert_int_equal(fwrite(buf, 1, n, fp), n);
    assert_int_equal(fclose(fp), 0);
    free(buf);
    return path;
}

#define D(descr, fortran, shape)                                                                   \
    "{'descr': '" descr "', 'fortran_order': " fortran ", 'shape': " shape ", }"

static const npy_spec npy_cases[] = {
    {"bad_magic.npy", "\x93NUMPX", 0, D("<f4", "False", "(4,)"), 4, -1, -1, SWIN_ERR_FORMAT,
     "magic"},
    /* '>f4' is read (byte-swapped: tests/test_npy.c); '>f8' is not float32 */
    {"big_endian.npy", NULL, 0, D(">f8", "False", "(4,)"), 4, -1, -1, SWIN_ERR_FORMAT, "<f4"},
    {"float64.npy", NULL, 0, D("<f8", "False", "(2,)"), 4, -1, -1, SWIN_ERR_FORMAT, "<f4"},
    {"int32.npy", NULL, 0, D("<i4", "False", "(4,)"), 4, -1, -1, SWIN_ERR_FORMAT, "<f4"},
    {"fortran.npy", NULL, 0, D("<f4", "True", "(2, 2)"), 4, -1, -1, SWIN_ERR_FORMAT, "Fortran"},
    {"truncated_data.npy", NULL, 0, D("<f4", "False", "(2, 3)"), 5, -1, -1, SWIN_ERR_TRUNCATED,
     "fewer"},
    {"trailing.npy", NULL, 0, D("<f4", "False", "(2, 3)"), 7, -1, -1, SWIN_ERR_FORMAT, "trailing"},
    {"short_preamble.npy", NULL, 0, D("<f4", "False", "(4,)"), 4, -1, 5, SWIN_ERR_TRUNCATED,
     "preamble"},
    {"header_past_eof.npy", NULL, 0, D("<f4", "False", "(4,)"), 0, 4000, -1, SWIN_ERR_TRUNCATED,
     "header"},
    {"header_too_long.npy", NULL, 2, D("<f4", "False", "(4,)"), 4, 1 << 20, -1, SWIN_ERR_FORMAT,
     "too long"},
    {"version_9.npy", NULL, 9, D("<f4", "False", "(4,)"), 4, -1, -1, SWIN_ERR_FORMAT, "version"},
    {"scalar.npy", NULL, 0, D("<f4", "False", "()"), 1, -1, -1, SWIN_ERR_FORMAT, "0-dimensional"},
    {"empty_dim.npy", NULL, 0, D("<f4", "False", "(0, 3)"), 0, -1, -1, SWIN_ERR_FORMAT, "empty"},
    {"nine_dims.npy", NULL, 0, D("<f4", "False", "(1, 1, 1, 1, 1, 1, 1, 1, 4)"), 4, -1, -1,
     SWIN_ERR_FORMAT, "dimensions"},
    {"negative_dim.npy", NULL, 0, D("<f4", "False", "(-4,)"), 4, -1, -1, SWIN_ERR_FORMAT, "shape"},
    {"shape_overflow.npy", NULL, 0, D("<f4", "False", "(99999999999999999999,)"), 4, -1, -1,
     SWIN_ERR_FORMAT, "overflows"},
    {"shape_too_large.npy", NULL, 0, D("<f4", "False", "(4294967296, 4294967296)"), 4, -1, -1,
     SWIN_ERR_FORMAT, "too large"},
    {"no_shape.npy", NULL, 0, "{'descr': '<f4', 'fortran_order': False, }", 4, -1, -1,
     SWIN_ERR_FORMAT, "shape"},
    {"no_descr.npy", NULL, 0, "{'fortran_order': False, 'shape': (4,), }", 4, -1, -1,
     SWIN_ERR_FORMAT, "<f4"},
    {"nul_in_header.npy", NULL, 0, "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }@", 4,
     -1, -1, SWIN_ERR_FORMAT, "NUL"},
    /* controls: the same writer makes files that load */
    {"good_v1.npy", NULL, 0, D("<f4", "False", "(2, 3)"), 6, -1, -1, SWIN_OK, ""},
    {"good_v2.npy", NULL, 2, D("<f4", "False", "(3,)"), 3, -1, -1, SWIN_OK, ""},
};

static void test_npy_bad(void **state) {
    (void)state;
    int failures = 0;
    for (size_t i = 0; i < sizeof npy_cases / sizeof npy_cases[0]; i++) {
        const npy_spec *c = &npy_cases[i];
        const char *path = write_npy(c);
        swin_tensor *t = (swin_tensor *)0x1;
        swin_clear_error();
        const swin_status s = swin_tensor_load_npy(&t, path);
        const char *msg = swin_last_error();
        bool ok = s == c->status;
        if (ok && s == SWIN_OK) {
            ok = t != NULL && swin_tensor_numel(t) == c->nfloats;
            for (long k = 0; ok && k < c->nfloats; k++)
                ok = swin_tensor_data(t)[k] == (float)k + 0.5f;
        } else if (ok) {
            ok = t == NULL && msg[0] != '\0' && strstr(msg, c->substring) != NULL;
        }
        if (!ok) {
            printf("[npy] %-22s got %s, message \"%s\"; want %s with \"%s\"\n", c->name,
                   swin_status_string(s), msg, swin_status_string(c->status), c->substring);
            failures++;
        }
        if (s == SWIN_OK) swin_tensor_free(t);
    }
    swin_tensor *t = (swin_tensor *)0x1;
    assert_int_equal(swin_tensor_load_npy(&t, tmp_path("no_such.npy")), SWIN_ERR_IO);
    assert_null(t);
    assert_non_null(strstr(swin_last_error(), "no_such.npy"));
    assert_int_equal(failures, 0);
}

static void test_npy_round_trip(void **state) {
    (void)state;
    static const int64_t shapes[][SWIN_MAX_DIMS] = {{7}, {2, 3, 5}, {1, 2, 1, 3, 1, 2, 1, 2}};
    static const int ndims[] = {1, 3, 8};
    for (int k = 0; k < 3; k++) {
        swin_tensor *t, *u = NULL;
        assert_int_equal(swin_tensor_create(&t, ndims[k], shapes[k]), SWIN_OK);
        const size_t n = (size_t)swin_tensor_numel(t);
        swin_test_input(swin_tensor_data(t), n, (uint32_t)k + 7);
        swin_tensor_data(t)[0] = -0.0f;
        const char *path = tmp_path("round_trip.npy");
        assert_int_equal(swin_tensor_save_npy(t, path), SWIN_OK);
        struct stat sb;
        assert_int_equal(stat(path, &sb), 0);
        assert_int_equal((size_t)sb.st_size % 64, (n * 4) % 64); /* header padded to 64 */
        assert_int_equal(swin_tensor_load_npy(&u, path), SWIN_OK);
        assert_int_equal(swin_tensor_ndim(u), ndims[k]);
        for (int i = 0; i < ndims[k]; i++)
            assert_int_equal(swin_tensor_dim(u, i), shapes[k][i]);
        assert_memory_equal(swin_tensor_data(u), swin_tensor_data(t), n * sizeof(float));
        swin_tensor_free(u);
        swin_tensor_free(t);
    }
    swin_tensor *t;
    const int64_t shape[1] = {3};
    assert_int_equal(swin_tensor_create(&t, 1, shape), SWIN_OK);
    swin_clear_error();
    assert_int_equal(swin_tensor_save_npy(t, tmp_path("no_dir/x.npy")), SWIN_ERR_IO);
    assert_non_null(strstr(swin_last_error(), "no_dir"));
    swin_tensor_free(t);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_corpus),
        cmocka_unit_test(test_corpus_complete),
        cmocka_unit_test(test_io_errors),
        cmocka_unit_test(test_official_buffers),
        cmocka_unit_test(test_truncations),
        cmocka_unit_test(test_header_flips),
        cmocka_unit_test_setup_teardown(test_npy_bad, npy_setup, npy_teardown),
        cmocka_unit_test_setup_teardown(test_npy_round_trip, npy_setup, npy_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
