/* SWIN_ISA, the variable that forces a kernel path, and OpenBLAS's idle threads: run as `test_isa
 * MODE` with SWIN_ISA set by CTest (the choice is made once per process). MODE "forced": SWIN_ISA
 * names a path the CPU has, which is then the one in use, and a model loads and runs on it.
 * "bogus": the name is no path; "foreign": the path is another architecture's; in both, loads fail
 * with a message that names the variable, and the best path stays in use. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

static const char *mode;

/* OpenBLAS's thread count (its server threads and the caller), before libswin sets it to 1. */
extern int openblas_get_num_threads(void) __attribute__((weak));

/* The threads of this process (/proc/self/task), or -1 where there is no such directory. */
static int thread_count(void) {
    DIR *d = opendir("/proc/self/task");
    if (!d) return -1;
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

static void test_swin_isa(void **state) {
    (void)state;
    const char *want = getenv("SWIN_ISA");
    assert_non_null(want);
    swin_model *m = NULL;
    const int before = thread_count();
    const int blas = openblas_get_num_threads ? openblas_get_num_threads() : 1;
    const swin_status s =
        swin_model_load_file(&m, SWIN_EXAMPLES_DIR "/swin_micro.safetensors", NULL);
    if (strcmp(mode, "forced") == 0) {
        if (s != SWIN_OK) fail_msg("%s", swin_last_error());
        /* OpenBLAS's idle server threads (blas - 1 of them), started when it was loaded, are
         * stopped by the first load (gemm.c), and no context has started workers yet (an
         * emulator may have threads of its own: only the difference counts) */
        fprintf(stderr, "threads before the load %d (OpenBLAS's: %d), after %d\n", before, blas - 1,
                thread_count());
        if (before > 0) assert_int_equal(thread_count(), before - (blas - 1));
        assert_string_equal(swin_kernel_isa(), want);
        swin_context *ctx = NULL;
        assert_int_equal(swin_context_create(&ctx, m), SWIN_OK);
        swin_tensor *x = NULL;
        assert_int_equal(swin_tensor_load_npy(&x, SWIN_EXAMPLES_DIR "/input.npy"), SWIN_OK);
        assert_int_equal(swin_context_run(ctx, x), SWIN_OK);
        swin_tensor_free(x);
        swin_context_free(ctx);
        swin_model_free(m);
        return;
    }
    assert_null(m);
    assert_int_equal(s, strcmp(mode, "bogus") == 0 ? SWIN_ERR_CONFIG : SWIN_ERR_UNSUPPORTED);
    const char *msg = swin_last_error();
    char needle[64];
    snprintf(needle, sizeof needle, "SWIN_ISA=%s", want);
    if (!strstr(msg, needle)) fail_msg("message \"%s\" lacks \"%s\"", msg, needle);
    assert_non_null(strstr(msg, "scalar")); /* it lists what the CPU has */
    /* the kernels keep running on the best path */
    assert_string_not_equal(swin_kernel_isa(), want);
}

int main(int argc, char **argv) {
    mode = argc > 1 ? argv[1] : "forced";
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_swin_isa)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
