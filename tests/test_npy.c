/* The .npy header is parsed as the Python dict literal numpy writes (issue 16 item 6): text
 * inside a string never poses as a key (the crafted headers below were read as '<f4' with
 * their decoy shape when the header was searched for substrings), True and False are exact
 * tokens, each of the three keys appears once and no other key does, the shape is a tuple of
 * non-negative integers; files as numpy writes them load, '>f4' byte-swapped. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test_util.h"

static char tmpdir[256];

static int setup(void **state) {
    (void)state;
    return swin_test_mkdtemp(tmpdir, sizeof tmpdir, "npy") ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    return swin_test_rmtree(tmpdir) ? 0 : -1;
}

/* Writes tmpdir/name: the preamble of format version (1, 2 or 3), the header, then nbytes of
 * data. With pad the header is dict, spaces and '\n' up to a multiple of 64 bytes in all, as
 * numpy.lib.format writes it; without, the header is dict exactly. */
static const char *write_npy(const char *name, int version, const char *dict, bool pad,
                             const void *data, size_t nbytes) {
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    const size_t pre = version == 1 ? 10 : 12, dlen = strlen(dict);
    const size_t hlen = pad ? (pre + dlen + 1 + 63) / 64 * 64 - pre : dlen;
    char *header = malloc(hlen + 1);
    assert_non_null(header);
    memset(header, ' ', hlen);
    memcpy(header, dict, dlen);
    if (pad) header[hlen - 1] = '\n';
    uint8_t preamble[12] = {0x93, 'N', 'U', 'M', 'P', 'Y', (uint8_t)version, 0};
    for (size_t i = 0; i < pre - 8; i++)
        preamble[8 + i] = (uint8_t)(hlen >> (8 * i));
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(preamble, 1, pre, fp), pre);
    assert_int_equal(fwrite(header, 1, hlen, fp), hlen);
    if (nbytes) assert_int_equal(fwrite(data, 1, nbytes, fp), nbytes);
    assert_int_equal(fclose(fp), 0);
    free(header);
    return path;
}

/* n floats 0.5, 1.5, ... as '<f4' bytes (malloc'ed), whatever this machine's byte order. */
static uint8_t *le_floats(size_t n) {
    uint8_t *b = malloc(4 * n + 1);
    assert_non_null(b);
    for (size_t i = 0; i < n; i++) {
        const float f = (float)i + 0.5f;
        uint32_t u;
        memcpy(&u, &f, 4);
        for (int k = 0; k < 4; k++)
            b[4 * i + (size_t)k] = (uint8_t)(u >> (8 * k));
    }
    return b;
}

/* Loads path and checks a SWIN_ERR_FORMAT whose message names the file and holds substring;
 * prints and returns false on a mismatch so that a run reports every wrong case at once. */
static bool refused(const char *label, const char *path, const char *substring) {
    swin_tensor *t = (swin_tensor *)0x1;
    swin_clear_error();
    const swin_status s = swin_tensor_load_npy(&t, path);
    const char *msg = swin_last_error();
    const bool ok = s == SWIN_ERR_FORMAT && t == NULL && strstr(msg, strrchr(path, '/') + 1) &&
                    strstr(msg, substring);
    if (!ok) {
        printf("[npy] %-28s got %s", label, swin_status_string(s));
        if (s == SWIN_OK) {
            printf(", shape (");
            for (int i = 0; i < swin_tensor_ndim(t); i++)
                printf("%lld,", (long long)swin_tensor_dim(t, i));
            printf(")");
            swin_tensor_free(t);
        }
        printf(", message \"%s\"; want SWIN_ERR_FORMAT with \"%s\"\n", msg, substring);
    }
    return ok;
}

typedef struct bad_case {
    const char *label, *dict, *substring;
} bad_case;

/* Each dict, padded as numpy pads, over enough data for the shape it would have, is refused. */
static void check_cases(const bad_case *cases, size_t n) {
    uint8_t *data = le_floats(64);
    int failures = 0;
    for (size_t i = 0; i < n; i++) {
        char name[64];
        snprintf(name, sizeof name, "case_%zu.npy", i);
        failures += !refused(cases[i].label, write_npy(name, 1, cases[i].dict, true, data, 16),
                             cases[i].substring);
    }
    free(data);
    assert_int_equal(failures, 0);
}

/* The header of the issue: numpy (ast.literal_eval) reads descr '>f8', fortran_order True,
 * shape (1,); the substring search read '<f4' (2, 3, 112, 112) out of the string under 'x'.
 * The file holds that many '<f4' floats, so a reader fooled by the decoy loads it. */
static void test_crafted_headers(void **state) {
    (void)state;
    const size_t decoy = 2 * 3 * 112 * 112;
    uint8_t *data = le_floats(decoy);
    int failures = 0;
    const char *path = write_npy("crafted.npy", 1,
                                 "{'x': \"'descr': '<f4', 'fortran_order': False, 'shape': (2, 3, "
                                 "112, 112)\", 'descr': '>f8', 'fortran_order': True, "
                                 "'shape': (1,)}",
                                 true, data, 4 * decoy);
    failures += !refused("crafted, key 'x'", path, "unknown key 'x'");
    /* no unknown key: the decoy is the value of a double-quoted "descr" */
    path = write_npy("crafted_descr.npy", 1,
                     "{\"descr\": \"'descr': '<f4', 'fortran_order': False, 'shape': (2, 3, 112, "
                     "112)\", \"fortran_order\": True, \"shape\": (1,)}",
                     true, data, 4 * decoy);
    failures += !refused("crafted, decoy as descr", path, "is not float32");
    /* the decoy after the real keys, which are double-quoted */
    path =
        write_npy("crafted_after.npy", 1,
                  "{\"descr\": \"<f8\", \"fortran_order\": False, \"shape\": (1,), 'x': \"'descr': "
                  "'<f4', 'fortran_order': False, 'shape': (2, 3, 112, 112)\"}",
                  true, data, 4 * decoy);
    failures += !refused("crafted, decoy after", path, "unknown key 'x'");
    free(data);
    assert_int_equal(failures, 0);
}

static void test_fortran_order(void **state) {
    (void)state;
#define F(v) "{'descr': '<f4', 'fortran_order': " v ", 'shape': (2, 2), }"
    static const bad_case cases[] = {
        {"Falsey", F("Falsey"), "'fortran_order' is 'Falsey', not True or False"},
        {"False_", F("False_"), "'False_'"},
        {"false", F("false"), "'false'"},
        {"FALSE", F("FALSE"), "'FALSE'"},
        {"Fals", F("Fals"), "'Fals'"},
        {"0", F("0"), "'0', not True or False"},
        {"quoted False", F("'False'"), "not True or False"},
        {"None", F("None"), "'None'"},
        {"nothing", F(""), "not True or False"},
        {"True (as numpy writes it)", F("True"), "Fortran-order arrays are not supported"},
        {"Truex", F("Truex"), "'Truex'"},
    };
#undef F
    check_cases(cases, sizeof cases / sizeof cases[0]);
}

static void test_keys(void **state) {
    (void)state;
    static const bad_case cases[] = {
        {"duplicate descr",
         "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (4,), }",
         "key 'descr' appears twice"},
        {"duplicate shape",
         "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), 'shape': (2, 2), }",
         "key 'shape' appears twice"},
        {"duplicate, other quotes",
         "{'descr': '<f4', 'fortran_order': False, \"fortran_order\": False, 'shape': (4,), }",
         "key 'fortran_order' appears twice"},
        {"unknown key", "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), 'extra': 1, }",
         "unknown key 'extra'"},
        {"unknown key first",
         "{'version': '1.0', 'descr': '<f4', 'fortran_order': False, "
         "'shape': (4,), }",
         "unknown key 'version'"},
        {"key in another case", "{'Descr': '<f4', 'fortran_order': False, 'shape': (4,), }",
         "unknown key 'Descr'"},
        {"key with a space", "{'descr ': '<f4', 'fortran_order': False, 'shape': (4,), }",
         "unknown key 'descr '"},
        {"empty key", "{'': 1, 'descr': '<f4', 'fortran_order': False, 'shape': (4,), }",
         "unknown key ''"},
        {"long unknown key",
         "{'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa': 1, }",
         "unknown key 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...'"},
        {"no descr", "{'fortran_order': False, 'shape': (4,), }", "no 'descr'"},
        {"no descr names <f4", "{'fortran_order': False, 'shape': (4,), }", "'<f4'"},
        {"no fortran_order", "{'descr': '<f4', 'shape': (4,), }", "no 'fortran_order'"},
        {"no shape", "{'descr': '<f4', 'fortran_order': False, }", "no 'shape'"},
        {"empty dict", "{}", "no 'descr'"},
    };
    check_cases(cases, sizeof cases / sizeof cases[0]);
}

static void test_shape(void **state) {
    (void)state;
#define S(v) "{'descr': '<f4', 'fortran_order': False, 'shape': " v ", }"
    static const bad_case cases[] = {
        {"negative", S("(-4,)"), "shape holds a negative size"},
        {"negative second", S("(2, -2)"), "negative"},
        {"float", S("(4.0,)"), "not a non-negative integer"},
        {"exponent", S("(4e0,)"), "not a non-negative integer"},
        {"long suffix", S("(4L,)"), "not a non-negative integer"},
        {"hex", S("(0x4,)"), "not a non-negative integer"},
        {"underscore", S("(1_6,)"), "not a non-negative integer"},
        {"plus", S("(+4,)"), "not a non-negative integer"},
        {"string", S("('4',)"), "not a non-negative integer"},
        {"True", S("(True,)"), "not a non-negative integer"},
        {"leading zero", S("(04,)"), "leading zero"},
        {"number, not tuple", S("(4)"), "shape (4) is a number, not a tuple"},
        {"bare number", S("4"), "'shape' is not a tuple"},
        {"list", S("[4]"), "'shape' is not a tuple"},
        {"string shape", S("'(4,)'"), "'shape' is not a tuple"},
        {"lone comma", S("(,)"), "not a non-negative integer"},
        {"double comma", S("(4,,)"), "not a non-negative integer"},
        {"no comma", S("(2 2)"), "expected ',' or ')' in the shape"},
        {"unclosed", "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2}",
         "expected ',' or ')' in the shape"},
        {"nested", S("((2, 2),)"), "not a non-negative integer"},
        {"overflow", S("(99999999999999999999,)"), "shape value overflows"},
        {"int64 max", S("(9223372036854775807,)"), "shape"},
        {"huge product", S("(4294967296, 4294967296)"), "shape is too large"},
        {"nine dims", S("(1, 1, 1, 1, 1, 1, 1, 1, 4)"), "more than 8 dimensions"},
        {"empty", S("(0, 4)"), "empty arrays are not supported"},
        {"0-d", S("()"), "0-dimensional arrays are not supported"},
    };
#undef S
    check_cases(cases, sizeof cases / sizeof cases[0]);
}

static void test_descr(void **state) {
    (void)state;
#define T(v) "{'descr': " v ", 'fortran_order': False, 'shape': (4,), }"
    static const bad_case cases[] = {
        {"<f8", T("'<f8'"), "dtype '<f8' is not float32"},
        {">f8", T("'>f8'"), "dtype '>f8' is not float32"},
        {"|f4", T("'|f4'"), "'|f4'"},
        {"=f4", T("'=f4'"), "'=f4'"},
        {"f4", T("'f4'"), "'f4'"},
        {"<i4", T("'<i4'"), "'<i4'"},
        {"<f2", T("'<f2'"), "'<f2'"},
        {"<F4", T("'<F4'"), "'<F4'"},
        {"space inside", T("'<f4 '"), "'<f4 '"},
        {"names what is read", T("'<f8'"), "'<f4'"},
        {"structured", T("[('a', '<f4')]"), "structured dtypes are not supported"},
        {"dict", T("{'a': 1}"), "'descr' is not a dtype string"},
        {"bare", T("<f4"), "'descr' is not a dtype string"},
        {"concatenated", T("'<' 'f4'"), "expected ',' or '}' after the value of 'descr'"},
        {"escape", T("'\\x3cf4'"), "backslash escapes are not supported"},
        {"control character", T("'<f4\t'"), "control character 0x09"},
        {"u prefix", "{u'descr': '<f4', 'fortran_order': False, 'shape': (4,), }",
         "expected a quoted key or '}'"},
    };
#undef T
    check_cases(cases, sizeof cases / sizeof cases[0]);
}

static void test_syntax(void **state) {
    (void)state;
    static const bad_case cases[] = {
        {"no brace", "'descr': '<f4', 'fortran_order': False, 'shape': (4,)",
         "does not start with '{'"},
        {"space before brace", " {'descr': '<f4', 'fortran_order': False, 'shape': (4,), }",
         "byte 0: the dict does not start with '{'"},
        {"no colon", "{'descr' '<f4', 'fortran_order': False, 'shape': (4,), }",
         "expected ':' after the key 'descr'"},
        {"no comma", "{'descr': '<f4' 'fortran_order': False, 'shape': (4,), }",
         "expected ',' or '}' after the value of 'descr'"},
        {"leading comma", "{, 'descr': '<f4', 'fortran_order': False, 'shape': (4,)}",
         "byte 1: expected a quoted key or '}'"},
        {"double comma", "{'descr': '<f4',, 'fortran_order': False, 'shape': (4,)}",
         "expected a quoted key or '}'"},
        {"two trailing commas", "{'descr': '<f4', 'fortran_order': False, 'shape': (4,),,}",
         "expected a quoted key or '}'"},
        {"unclosed dict", "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), ",
         "expected a quoted key or '}'"},
        {"unterminated string", "{'descr': '<f4", "unterminated string"},
        {"text after", "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), } x",
         "only spaces and a final newline may follow the dict"},
        {"second dict", "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }{}",
         "only spaces and a final newline"},
        {"comment", "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), } # x",
         "only spaces and a final newline"},
        {"tab after", "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }\t",
         "only spaces and a final newline"},
        {"newline inside", "{'descr': '<f4',\n 'fortran_order': False, 'shape': (4,), }",
         "expected a quoted key or '}'"},
        {"all spaces", "", "does not start with '{'"},
    };
    check_cases(cases, sizeof cases / sizeof cases[0]);
    /* headers that are not padded as numpy pads them: no final newline, text after it */
    uint8_t *data = le_floats(4);
    int failures = 0;
    static const char *const unpadded[] = {
        "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }    ",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }\n ",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }\n\n",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }\r\n",
        "",
    };
    for (size_t i = 0; i < sizeof unpadded / sizeof unpadded[0]; i++) {
        char name[64];
        snprintf(name, sizeof name, "unpadded_%zu.npy", i);
        failures += !refused(name, write_npy(name, 1, unpadded[i], false, data, 16),
                             i + 1 < sizeof unpadded / sizeof unpadded[0]
                                 ? "only spaces and a final newline"
                                 : "does not start with '{'");
    }
    free(data);
    assert_int_equal(failures, 0);
}

/* Loads path and checks its shape and its n floats. */
static void check_loads(const char *path, int ndim, const int64_t *shape, const float *want,
                        size_t n) {
    swin_tensor *t = NULL;
    swin_clear_error();
    const swin_status s = swin_tensor_load_npy(&t, path);
    if (s != SWIN_OK) fail_msg("%s: %s: %s", path, swin_status_string(s), swin_last_error());
    assert_int_equal(swin_tensor_ndim(t), ndim);
    for (int i = 0; i < ndim; i++)
        assert_int_equal(swin_tensor_dim(t, i), shape[i]);
    assert_int_equal(swin_tensor_numel(t), (int64_t)n);
    assert_memory_equal(swin_tensor_data(t), want, n * sizeof(float));
    swin_tensor_free(t);
}

/* Headers exactly as numpy 1.24 writes them (np.save, and numpy.lib.format.write_array with
 * version=(2, 0) and (3, 0)): preamble and header byte for byte as numpy wrote them. */
static void test_numpy_files(void **state) {
    (void)state;
    float want[24];
    for (int i = 0; i < 24; i++)
        want[i] = (float)i + 0.5f;
    uint8_t *data = le_floats(24);
    const int64_t s23[] = {2, 3}, s3[] = {3}, s4[] = {4};
    check_loads(write_npy("np_2x3.npy", 1,
                          "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", true, data,
                          24),
                2, s23, want, 6);
    check_loads(write_npy("np_3.npy", 1,
                          "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", true, data,
                          12),
                1, s3, want, 3);
    check_loads(write_npy("np_v2.npy", 2,
                          "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", true, data,
                          12),
                1, s3, want, 3);
    check_loads(write_npy("np_v3.npy", 3,
                          "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", true, data,
                          12),
                1, s3, want, 3);
    /* np.save(np.array([1.5, -2.25, np.pi, 1e-30], dtype='>f4')) */
    const float be_want[4] = {1.5f, -2.25f, 3.14159265f, 1e-30f};
    const char *be = "\x3f\xc0\x00\x00\xc0\x10\x00\x00\x40\x49\x0f\xdb\x0d\xa2\x42\x60";
    check_loads(write_npy("np_be.npy", 1,
                          "{'descr': '>f4', 'fortran_order': False, 'shape': (4,), }", true, be,
                          16),
                1, s4, be_want, 4);
    /* a 0-d array and a Fortran-order one are read and refused as before */
    int failures = 0;
    failures += !refused("numpy 0-d",
                         write_npy("np_0d.npy", 1,
                                   "{'descr': '<f4', 'fortran_order': False, 'shape': (), }", true,
                                   data, 4),
                         "0-dimensional");
    failures += !refused("numpy Fortran order",
                         write_npy("np_fortran.npy", 1,
                                   "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }",
                                   true, data, 16),
                         "Fortran");
    assert_int_equal(failures, 0);
    free(data);
}

/* What the grammar allows besides numpy's own layout. */
static void test_other_layouts(void **state) {
    (void)state;
    float want[24];
    for (int i = 0; i < 24; i++)
        want[i] = (float)i + 0.5f;
    uint8_t *data = le_floats(24);
    const int64_t s234[] = {2, 3, 4}, s23[] = {2, 3}, s1[] = {1};
    const int64_t s8[] = {1, 2, 1, 3, 1, 2, 1, 2};
    /* swin_tensor_save_npy and tests/fuzz/gen_seeds.py: a trailing comma in the tuple */
    check_loads(write_npy("trailing.npy", 1,
                          "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3, 4, ), }", true,
                          data, 96),
                3, s234, want, 24);
    check_loads(write_npy("trailing2.npy", 1,
                          "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3,), }", true,
                          data, 24),
                2, s23, want, 6);
    /* keys in any order, double quotes, no trailing comma, spaces and tabs between tokens */
    check_loads(write_npy("free.npy", 1,
                          "{ \"shape\" : ( 2 ,3 ) ,\t\"descr\":\"<f4\",'fortran_order'\t:False }",
                          true, data, 24),
                2, s23, want, 6);
    /* no padding at all, only the final newline; a header not padded to 64 */
    check_loads(write_npy("tight.npy", 1, "{'descr':'<f4','fortran_order':False,'shape':(1,)}\n",
                          false, data, 4),
                1, s1, want, 1);
    check_loads(write_npy("odd.npy", 2,
                          "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)}     \n", false,
                          data, 24),
                2, s23, want, 6);
    check_loads(write_npy("eight.npy", 3,
                          "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2, 1, 3, 1, 2, 1, "
                          "2), }",
                          true, data, 96),
                8, s8, want, 24);
    free(data);
}

/* swin_tensor_save_npy writes what the parser reads, as numpy writes it for 1 and 2 dims. */
static void test_save_header(void **state) {
    (void)state;
    static const int64_t shapes[][2] = {{3, 0}, {2, 3}};
    static const char *const dicts[] = {
        "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3,), }",
    };
    for (int k = 0; k < 2; k++) {
        swin_tensor *t;
        assert_int_equal(swin_tensor_create(&t, k + 1, shapes[k]), SWIN_OK);
        char path[512];
        snprintf(path, sizeof path, "%s/saved_%d.npy", tmpdir, k);
        assert_int_equal(swin_tensor_save_npy(t, path), SWIN_OK);
        swin_tensor_free(t);
        char buf[128];
        FILE *fp = fopen(path, "rb");
        assert_non_null(fp);
        assert_int_equal(fread(buf, 1, sizeof buf, fp), sizeof buf);
        fclose(fp);
        assert_memory_equal(buf + 10, dicts[k], strlen(dicts[k]));
        assert_int_equal(buf[10 + ((unsigned char)buf[8] | (unsigned char)buf[9] << 8) - 1], '\n');
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crafted_headers),
        cmocka_unit_test(test_fortran_order),
        cmocka_unit_test(test_keys),
        cmocka_unit_test(test_shape),
        cmocka_unit_test(test_descr),
        cmocka_unit_test(test_syntax),
        cmocka_unit_test(test_numpy_files),
        cmocka_unit_test(test_other_layouts),
        cmocka_unit_test(test_save_header),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
