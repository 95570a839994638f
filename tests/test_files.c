/* Hostile files (issue 16): a FIFO or another non-regular file named as a model, config.json,
 * an image or an .npy is refused at once (never a hang: alarm() fails the test instead); a
 * hub folder's config.json that is there but cannot be read (a dangling link, a link loop, a
 * directory) is an error naming it, not "no config"; swin_tensor_save_npy replaces its file
 * atomically: under a file-size limit it fails with the reason and leaves the old file intact,
 * with no temporary left behind; the swin program does the same instead of dying from
 * SIGXFSZ; whitespace around a safetensors header is read as the reference reader reads it. */
#define _DEFAULT_SOURCE /* mkfifo, symlink, mkdtemp, fork, setrlimit */
#define _GNU_SOURCE     /* SEEK_HOLE */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_util.h"

#ifndef SWIN_CLI
#error "SWIN_CLI must name the swin program"
#endif
#ifndef SWIN_EXAMPLES_DIR
#error "SWIN_EXAMPLES_DIR must be defined"
#endif

static char dir[256];

/* dir/name, in a buffer the next call reuses. */
static const char *in_dir(const char *name) {
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return path;
}

static void copy(const char *from, const char *to) {
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", from, to);
    assert_int_equal(system(cmd), 0);
}

static int setup(void **state) {
    (void)state;
    return swin_test_mkdtemp(dir, sizeof dir, "files") ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    return swin_test_rmtree(dir) ? 0 : -1;
}

static void expect_io(swin_status s, const char *needle) {
    if (s != SWIN_ERR_IO || !strstr(swin_last_error(), needle))
        fail_msg("%s (%s); SWIN_ERR_IO naming \"%s\" expected", swin_status_string(s),
                 swin_last_error(), needle);
}

/* A FIFO with no writer, given wherever libswin reads a file. Before the fix each open()
 * blocked forever. */
static void test_fifo(void **state) {
    (void)state;
    alarm(20); /* a hang fails the test (SIGALRM) instead of stalling the suite */
    const char *fifo = in_dir("fifo");
    assert_int_equal(mkfifo(fifo, 0600), 0);
    swin_model *m = NULL;
    expect_io(swin_model_load_file(&m, fifo, NULL), "is not a regular file (a FIFO)");
    swin_tensor *t = NULL;
    expect_io(swin_tensor_load_npy(&t, fifo), "is not a regular file (a FIFO)");
    swin_image *img = NULL;
    expect_io(swin_image_load_file(&img, fifo), "is not a regular file (a FIFO)");
    /* a hub folder whose config.json is a FIFO */
    char folder[600];
    snprintf(folder, sizeof folder, "%s/hub_fifo", dir);
    assert_int_equal(mkdir(folder, 0700), 0);
    char path[700];
    snprintf(path, sizeof path, "%s/config.json", folder);
    assert_int_equal(mkfifo(path, 0600), 0);
    snprintf(path, sizeof path, "%s/model.safetensors", folder);
    copy(SWIN_EXAMPLES_DIR "/swin_micro.safetensors", path);
    expect_io(swin_model_load_file(&m, folder, NULL), "config.json\" is not a regular file");
    assert_null(m);
    alarm(0);
}

/* A hub folder whose config.json exists but cannot be read is an error naming it; only an
 * absent one means "no config" (before: all three loaded as if there were none). */
static void test_unreadable_config(void **state) {
    (void)state;
    static const char *kinds[] = {"dangling", "loop", "directory"};
    for (int k = 0; k < 3; k++) {
        char folder[600], path[700];
        snprintf(folder, sizeof folder, "%s/hub_%s", dir, kinds[k]);
        assert_int_equal(mkdir(folder, 0700), 0);
        snprintf(path, sizeof path, "%s/model.safetensors", folder);
        copy(SWIN_EXAMPLES_DIR "/swin_micro.safetensors", path);
        snprintf(path, sizeof path, "%s/config.json", folder);
        if (k == 0) assert_int_equal(symlink("no_such_file.json", path), 0);
        if (k == 1) assert_int_equal(symlink("config.json", path), 0); /* itself: ELOOP */
        if (k == 2) assert_int_equal(mkdir(path, 0700), 0);
        swin_model *m = NULL;
        const swin_status s = swin_model_load_file(&m, folder, NULL);
        if (s != SWIN_ERR_IO || !strstr(swin_last_error(), "config.json"))
            fail_msg("%s: %s (%s); SWIN_ERR_IO naming config.json expected", kinds[k],
                     swin_status_string(s), swin_last_error());
        assert_null(m);
    }
    /* without config.json at all the folder loads (the file's metadata says the rest) */
    char folder[600], path[700];
    snprintf(folder, sizeof folder, "%s/hub_none", dir);
    assert_int_equal(mkdir(folder, 0700), 0);
    snprintf(path, sizeof path, "%s/model.safetensors", folder);
    copy(SWIN_EXAMPLES_DIR "/swin_micro.safetensors", path);
    swin_model *m = NULL;
    assert_int_equal(swin_model_load_file(&m, folder, NULL), SWIN_OK);
    swin_model_free(m);
}

/* Whether dir holds a file whose name starts with prefix other than `except`. */
static bool leftover(const char *prefix, const char *except) {
    DIR *d = opendir(dir);
    assert_non_null(d);
    bool found = false;
    for (struct dirent *e; (e = readdir(d));)
        if (strncmp(e->d_name, prefix, strlen(prefix)) == 0 && strcmp(e->d_name, except) != 0)
            found = true;
    closedir(d);
    return found;
}

static long file_size(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0 ? (long)sb.st_size : -1;
}

/* swin_tensor_save_npy under a file-size limit of 4 KB: a 64 KB tensor cannot be written; the
 * existing (valid, small) file stays as it was and no temporary is left. Before: the file was
 * truncated in place (and the process killed by SIGXFSZ). */
static void test_atomic_save(void **state) {
    (void)state;
    const char *dst = in_dir("out.npy");
    const int64_t small_shape[1] = {3}, big_shape[2] = {128, 128};
    swin_tensor *small, *big;
    assert_int_equal(swin_tensor_create(&small, 1, small_shape), SWIN_OK);
    assert_int_equal(swin_tensor_create(&big, 2, big_shape), SWIN_OK);
    swin_tensor_data(small)[1] = 2.5f;
    assert_int_equal(swin_tensor_save_npy(small, dst), SWIN_OK);
    const long before = file_size(dst);
    const pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) { /* the limit in a child, so that it does not outlive this test */
        signal(SIGXFSZ, SIG_IGN);
        const struct rlimit lim = {4096, 4096};
        if (setrlimit(RLIMIT_FSIZE, &lim) != 0) _exit(2);
        const swin_status s = swin_tensor_save_npy(big, dst);
        _exit(s == SWIN_ERR_IO && strstr(swin_last_error(), "File too large") &&
                      strstr(swin_last_error(), "unchanged")
                  ? 0
                  : 1);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    assert_int_equal(file_size(dst), before);
    swin_tensor *back;
    assert_int_equal(swin_tensor_load_npy(&back, dst), SWIN_OK);
    assert_int_equal(swin_tensor_numel(back), 3);
    assert_true(swin_tensor_data(back)[1] == 2.5f);
    swin_tensor_free(back);
    assert_false(leftover("out.npy", "out.npy"));
    /* without the limit it is replaced */
    assert_int_equal(swin_tensor_save_npy(big, dst), SWIN_OK);
    assert_true(file_size(dst) > 128 * 128 * 4);
    assert_false(leftover("out.npy", "out.npy"));
    /* a folder that does not exist: the reason, nothing created */
    const swin_status s = swin_tensor_save_npy(small, in_dir("no_such_dir/x.npy"));
    expect_io(s, "No such file or directory");
    swin_tensor_free(small);
    swin_tensor_free(big);
}

/* The swin program under `ulimit -f 1`: exit 1 with the reason, not death by SIGXFSZ; the
 * previous output intact, no temporary left. */
static void test_cli_file_limit(void **state) {
    (void)state;
    char out[512], err[512];
    snprintf(out, sizeof out, "%s", in_dir("cli.npy"));
    snprintf(err, sizeof err, "%s", in_dir("stderr"));
    const int64_t shape[1] = {2};
    swin_tensor *t;
    assert_int_equal(swin_tensor_create(&t, 1, shape), SWIN_OK);
    assert_int_equal(swin_tensor_save_npy(t, out), SWIN_OK); /* a small valid previous output */
    swin_tensor_free(t);
    const long before = file_size(out);
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "sh -c \"ulimit -f 1; exec %s preprocess --model '%s/shapes' "
             "'%s/shapes/images/img01.png' --output '%s'\" 2>'%s'",
             swin_test_program(SWIN_CLI), SWIN_EXAMPLES_DIR, SWIN_EXAMPLES_DIR, out, err);
    const int st = system(cmd);
    assert_true(WIFEXITED(st)); /* not killed by SIGXFSZ */
    assert_int_equal(WEXITSTATUS(st), 1);
    assert_int_equal(file_size(out), before);
    FILE *fp = fopen(err, "rb");
    assert_non_null(fp);
    char msg[1024] = "";
    const size_t n = fread(msg, 1, sizeof msg - 1, fp);
    msg[n] = '\0';
    fclose(fp);
    if (!strstr(msg, "File too large")) fail_msg("stderr: %s", msg);
    assert_false(leftover("cli.npy", "cli.npy"));
}

/* A copy of model m's logits on examples/input.npy. */
static swin_tensor *logits_tensor(const swin_model *m) {
    swin_tensor *x, *y;
    assert_int_equal(swin_tensor_load_npy(&x, SWIN_EXAMPLES_DIR "/input.npy"), SWIN_OK);
    swin_context *ctx;
    assert_int_equal(swin_context_create(&ctx, m), SWIN_OK);
    assert_int_equal(swin_context_run(ctx, x), SWIN_OK);
    const swin_tensor *out;
    assert_int_equal(swin_context_output(ctx, SWIN_OUTPUT_LOGITS, 0, &out), SWIN_OK);
    const int64_t shape[2] = {swin_tensor_dim(out, 0), swin_tensor_dim(out, 1)};
    assert_int_equal(swin_tensor_create(&y, 2, shape), SWIN_OK);
    memcpy(swin_tensor_data(y), swin_tensor_data(out),
           (size_t)swin_tensor_numel(out) * sizeof(float));
    swin_context_free(ctx);
    swin_tensor_free(x);
    return y;
}

/* Logits of the model in `bytes` on examples/input.npy. */
static swin_tensor *logits_of(const unsigned char *bytes, size_t n) {
    swin_model *m;
    assert_int_equal(swin_model_load_memory(&m, bytes, n, NULL), SWIN_OK);
    swin_tensor *y = logits_tensor(m);
    swin_model_free(m);
    return y;
}

/* JSON whitespace before the header's '{' (and after its '}') is accepted, as the reference
 * safetensors reader accepts it (before: SWIN_ERR_HEADER); the model is the same. */
static void test_header_whitespace(void **state) {
    (void)state;
    FILE *fp = fopen(SWIN_EXAMPLES_DIR "/swin_micro.safetensors", "rb");
    assert_non_null(fp);
    fseek(fp, 0, SEEK_END);
    const size_t n = (size_t)ftell(fp);
    fseek(fp, 0, SEEK_SET);
    unsigned char *orig = malloc(n), *ws = malloc(n + 16);
    assert_non_null(orig);
    assert_non_null(ws);
    assert_int_equal(fread(orig, 1, n, fp), n);
    fclose(fp);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = (hlen << 8) | orig[i];
    /* 8 bytes of whitespace before the '{' and 8 more after the header (keeps the alignment) */
    const uint64_t nlen = hlen + 16;
    for (int i = 0; i < 8; i++)
        ws[i] = (unsigned char)(nlen >> (8 * i));
    memcpy(ws + 8, " \t\n\r \n  ", 8);
    memcpy(ws + 16, orig + 8, (size_t)hlen);
    memcpy(ws + 16 + hlen, "\n \t     ", 8);
    memcpy(ws + 24 + hlen, orig + 8 + hlen, n - 8 - (size_t)hlen);
    swin_tensor *a = logits_of(orig, n), *b = logits_of(ws, n + 16);
    assert_int_equal(swin_tensor_numel(a), swin_tensor_numel(b));
    assert_memory_equal(swin_tensor_data(a), swin_tensor_data(b),
                        (size_t)swin_tensor_numel(a) * sizeof(float));
    swin_tensor_free(a);
    swin_tensor_free(b);
    free(orig);
    free(ws);
}

/* Item 11: preprocessing values that make the normalised input non-finite are refused at load
 * (before: classify --json printed "prob": -nan); an allocation too large for the machine says
 * how many bytes it asked for; the swin program names a bad image's path once. */
static void test_small_items(void **state) {
    (void)state;
    swin_options *o;
    assert_int_equal(swin_options_create(&o), SWIN_OK);
    assert_int_equal(swin_options_set(o, "std", "1e-40,1,1"), SWIN_OK);
    swin_model *m = NULL;
    swin_status s = swin_model_load_file(&m, SWIN_EXAMPLES_DIR "/swin_micro.safetensors", o);
    if (s != SWIN_ERR_CONFIG || !strstr(swin_last_error(), "non-finite"))
        fail_msg("std 1e-40: %s (%s)", swin_status_string(s), swin_last_error());
    swin_options_free(o);
    assert_int_equal(swin_model_load_file(&m, SWIN_EXAMPLES_DIR "/swin_micro.safetensors", NULL),
                     SWIN_OK);
    swin_context *ctx;
    assert_int_equal(swin_context_create(&ctx, m), SWIN_OK);
    /* the activations' allocation fails (the test hook, so that no sanitizer or overcommit
     * policy decides): each failing allocation in turn until it is that one */
    assert_int_equal(swin_context_reserve(ctx, 1, 16, 16), SWIN_OK); /* the pool, made once */
    bool seen = false;
    for (long k = 1; k < 64 && !seen; k++) {
        swin__alloc_fail_at(k);
        s = swin_context_reserve(ctx, 3, 16, 16);
        swin__alloc_fail_at(0);
        if (s == SWIN_OK) break;
        assert_int_equal(s, SWIN_ERR_OUT_OF_MEMORY);
        seen = strstr(swin_last_error(), "activations") != NULL;
        if (seen && !strstr(swin_last_error(), "[3, 3, 16, 16] need "))
            fail_msg("%s", swin_last_error());
    }
    assert_true(seen);
    swin_context_free(ctx);
    swin_model_free(m);
    /* a bad image: its path once in the program's message */
    const char *bad = in_dir("bad.jpg");
    FILE *fp = fopen(bad, "wb");
    assert_non_null(fp);
    fputs("not an image", fp);
    fclose(fp);
    char err[512], cmd[2048];
    snprintf(err, sizeof err, "%s", in_dir("stderr_bad"));
    snprintf(cmd, sizeof cmd, "%s classify --model '%s/shapes' '%s' 2>'%s' >/dev/null",
             swin_test_program(SWIN_CLI), SWIN_EXAMPLES_DIR, in_dir("bad.jpg"), err);
    const int st = system(cmd);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) != 0);
    fp = fopen(err, "rb");
    assert_non_null(fp);
    char msg[2048] = "";
    const size_t n = fread(msg, 1, sizeof msg - 1, fp);
    msg[n] = '\0';
    fclose(fp);
    const char *first = strstr(msg, "bad.jpg");
    if (!first || strstr(first + 1, "bad.jpg")) fail_msg("stderr: %s", msg);
}

/* Logits of model m on examples/input.npy into out (floats of the first n). */
static void run_logits(swin_model *m, float *out, size_t n) {
    swin_tensor *y = logits_tensor(m);
    assert_true((size_t)swin_tensor_numel(y) >= n);
    memcpy(out, swin_tensor_data(y), n * sizeof(float));
    swin_tensor_free(y);
}

/* Item 4: load=copy keeps the weights in the model's own memory: overwriting the file in place
 * (as `cp other.st m.st` or `dd conv=notrunc` do) leaves the loaded model's outputs as they
 * were, and truncating it gives no SIGBUS (the default, load=map, shares the file's pages: see
 * docs/security.md). */
static void test_load_copy(void **state) {
    (void)state;
    char file[512];
    snprintf(file, sizeof file, "%s", in_dir("copy.safetensors"));
    copy(SWIN_EXAMPLES_DIR "/swin_micro.safetensors", file);
    swin_options *o;
    assert_int_equal(swin_options_create(&o), SWIN_OK);
    assert_int_equal(swin_options_set(o, "load", "copy"), SWIN_OK);
    swin_model *m;
    assert_int_equal(swin_model_load_file(&m, file, o), SWIN_OK);
    assert_string_equal(swin_model_get(m, "load"), "copy");
    float before[3], after[3];
    run_logits(m, before, 3);
    /* overwrite every byte after the header in place */
    FILE *fp = fopen(file, "r+b");
    assert_non_null(fp);
    unsigned char len[8];
    assert_int_equal(fread(len, 1, 8, fp), 8);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = (hlen << 8) | len[i];
    fseek(fp, 0, SEEK_END);
    const long size = ftell(fp);
    assert_int_equal(fseek(fp, (long)(8 + hlen), SEEK_SET), 0);
    for (long k = 8 + (long)hlen; k < size; k++)
        fputc(0x3f, fp);
    fclose(fp);
    run_logits(m, after, 3);
    assert_memory_equal(before, after, sizeof before);
    /* truncate it: no SIGBUS at the next run */
    assert_int_equal(truncate(file, 0), 0);
    run_logits(m, after, 3);
    assert_memory_equal(before, after, sizeof before);
    swin_model_free(m);
    /* another value is an error naming it */
    assert_int_equal(swin_options_set(o, "load", "mmap"), SWIN_OK);
    copy(SWIN_EXAMPLES_DIR "/swin_micro.safetensors", file);
    assert_int_equal(swin_model_load_file(&m, file, o), SWIN_ERR_CONFIG);
    assert_non_null(strstr(swin_last_error(), "load: \"mmap\""));
    swin_options_free(o);
    /* and from the swin program */
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "%s run --model '%s' --input '%s/input.npy' --output '%s' --set load=copy "
             ">/dev/null 2>&1",
             swin_test_program(SWIN_CLI), file, SWIN_EXAMPLES_DIR, in_dir("copy_out.npy"));
    assert_int_equal(system(cmd), 0);
}

/* Item 8: under an address-space limit (ulimit -v) of 60 to 300 MB the swin program ends: the
 * pass is refused with SWIN_ERR_OUT_OF_MEMORY naming the limit when OpenBLAS's work buffers
 * cannot fit, or it runs (before: OpenBLAS retried its failed allocation forever, 100% CPU). */
#if defined(__SANITIZE_ADDRESS__)
#define SWIN_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SWIN_TEST_ASAN 1
#endif
#endif

/* A sparse file: tensors whose bytes are partly holes (zeros that are not stored). Conversion
 * (F16, an unaligned F32, and every F32 on a big-endian host) skips the holes; the values must
 * be the file's, holes read as zeros, the element straddling a hole's edge included. The
 * expected values are decoded from an image of the file kept in memory. */
static void test_sparse_file(void **state) {
    (void)state;
    enum { P = 4096, NA = 2 * P, NB = 2 * P / 4 - 1, SIZE = 8 * P };
    /* the data section starts at P: "a" F16 [NA] at data [0, 4P) (file pages 1-4), "pad" U8
     * [2], "b" F32 [NB] from data 4P + 2 (file 5P + 2: not 4-byte aligned) */
    const size_t a1 = 2 * NA, b0 = a1 + 2, b1 = b0 + 4 * NB;
    static unsigned char img[SIZE];
    memset(img, 0, sizeof img);
    char *hdr = (char *)img + 8;
    const int n = snprintf(hdr, P - 8,
                           "{\"a\":{\"dtype\":\"F16\",\"shape\":[%d],\"data_offsets\":[0,%zu]},"
                           "\"pad\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[%zu,%zu]},"
                           "\"b\":{\"dtype\":\"F32\",\"shape\":[%d],\"data_offsets\":[%zu,%zu]}}",
                           NA, a1, a1, b0, NB, b0, b1);
    assert_true(n > 0 && n < P - 8);
    memset(hdr + n, ' ', (size_t)(P - 8 - n));
    for (int i = 0; i < 8; i++)
        img[i] = (unsigned char)((uint64_t)(P - 8) >> (8 * i));
    /* written: file pages 1 and 3 ("a"'s first and third), and page 5 from "b"'s first byte to
     * its end (the element at its edge gets its two low bytes there); the rest are holes */
    const size_t written[3][2] = {{P, 2 * P}, {3 * P, 4 * P}, {P + b0, 6 * P}};
    for (int w = 0; w < 3; w++)
        for (size_t o = written[w][0]; o < written[w][1]; o += 2) {
            /* F16 halves 0x3c00 | (o/2 % 1024): 1 + k/1024, normal numbers in [1, 2) */
            const unsigned h = 0x3c00u | (unsigned)(o / 2 % 1024);
            img[o] = (unsigned char)(h & 0xff);
            img[o + 1] = (unsigned char)(h >> 8);
        }
    const char *path = in_dir("sparse.safetensors");
    const int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, img, P), P);
    for (int w = 0; w < 3; w++)
        assert_int_equal(
            pwrite(fd, img + written[w][0], written[w][1] - written[w][0], (off_t)written[w][0]),
            (ssize_t)(written[w][1] - written[w][0]));
    const size_t end = P + b1;
    assert_int_equal(ftruncate(fd, (off_t)end), 0);
    close(fd);

    swin_safetensors st = {0};
    if (swin__st_open(&st, path, false) != SWIN_OK) fail_msg("%s", swin_last_error());
    /* where the file system reports holes, the loader saw them */
    const int rfd = open(path, O_RDONLY);
    const off_t hole = lseek(rfd, 0, SEEK_HOLE);
    close(rfd);
    if (hole >= 0 && (size_t)hole < end) assert_true(st.num_holes > 0);
    printf("[files] sparse file: %zu holes seen by the loader\n", st.num_holes);
    const swin_st_tensor *a = swin__st_find(&st, "a"), *b = swin__st_find(&st, "b");
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(a->f32);
    assert_non_null(b->f32);
    for (int k = 0; k < NA; k++) {
        const unsigned char *q = img + P + 2 * (size_t)k;
        const unsigned h = q[0] | (unsigned)q[1] << 8;
        /* zero, or 1 + mantissa / 1024 */
        const float want = h == 0 ? 0.0f : 1.0f + (float)(h & 0x3ff) / 1024.0f;
        if (a->f32[k] != want) fail_msg("a[%d] = %.9g, want %.9g", k, a->f32[k], want);
    }
    for (int k = 0; k < NB; k++) {
        const unsigned char *q = img + P + b0 + 4 * (size_t)k;
        const uint32_t bits =
            q[0] | (uint32_t)q[1] << 8 | (uint32_t)q[2] << 16 | (uint32_t)q[3] << 24;
        float want;
        memcpy(&want, &bits, sizeof want);
        if (memcmp(&b->f32[k], &want, sizeof want) != 0)
            fail_msg("b[%d] = %.9g, want %.9g", k, b->f32[k], want);
    }
    swin__st_close(&st);
    unlink(path);
}

static void test_address_space_limit(void **state) {
    (void)state;
#ifdef SWIN_TEST_ASAN
    /* AddressSanitizer reserves terabytes of address space at start: no program built with it
     * runs under ulimit -v. This case runs in the suite's plain build (tools/run-tests.sh, CI's
     * first job). */
    printf("[files] address-space limits: not under AddressSanitizer (see the plain build)\n");
    return;
#endif
    static const int limits_kb[] = {60000, 100000, 200000, 300000, 4000000};
    /* under an emulator (qemu-user: tests/CMakeLists.txt) the limit holds the emulator too, its
     * 128 MiB code buffer and its own mappings: 512 MiB more for those */
    const int extra_kb = getenv("SWIN_TEST_EMULATOR") ? 524288 : 0;
    for (size_t i = 0; i < sizeof limits_kb / sizeof limits_kb[0]; i++) {
        char err[512], cmd[2048];
        snprintf(err, sizeof err, "%s", in_dir("stderr_as"));
        snprintf(cmd, sizeof cmd,
                 "timeout 60 sh -c \"ulimit -v %d; exec %s run --model "
                 "'%s/swin_micro.safetensors' --input '%s/input.npy' --output '%s'\" 2>'%s'",
                 limits_kb[i] + extra_kb, swin_test_program(SWIN_CLI), SWIN_EXAMPLES_DIR,
                 SWIN_EXAMPLES_DIR, in_dir("as_out.npy"), err);
        const int st = system(cmd);
        assert_true(WIFEXITED(st));
        const int rc = WEXITSTATUS(st);
        FILE *fp = fopen(err, "rb");
        assert_non_null(fp);
        char msg[2048] = "";
        const size_t n = fread(msg, 1, sizeof msg - 1, fp);
        msg[n] = '\0';
        fclose(fp);
        if (rc == 124) fail_msg("ulimit -v %d: still running after 60 s", limits_kb[i]);
        if (rc != 0 && !(rc == 1 && strstr(msg, "SWIN_ERR_OUT_OF_MEMORY")))
            fail_msg("ulimit -v %d: exit %d, %s", limits_kb[i], rc, msg);
        if (limits_kb[i] >= 4000000 && rc != 0)
            fail_msg("ulimit -v %d: exit %d, %s", limits_kb[i], rc, msg);
        printf("[files] ulimit -v %d: exit %d %.120s\n", limits_kb[i], rc, msg);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fifo),
        cmocka_unit_test(test_unreadable_config),
        cmocka_unit_test(test_atomic_save),
        cmocka_unit_test(test_cli_file_limit),
        cmocka_unit_test(test_header_whitespace),
        cmocka_unit_test(test_small_items),
        cmocka_unit_test(test_load_copy),
        cmocka_unit_test(test_sparse_file),
        cmocka_unit_test(test_address_space_limit),
    };
    /* SWIN_TEST_ONLY=test_fifo runs one test (to show each failing against older code) */
    if (getenv("SWIN_TEST_ONLY")) cmocka_set_test_filter(getenv("SWIN_TEST_ONLY"));
    return cmocka_run_group_tests(tests, setup, teardown);
}
