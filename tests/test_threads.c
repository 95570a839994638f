/* Concurrency (docs/security.md, "Threads"): one loaded model shared by 8 threads, each with its
 * own context, 50 inferences each on different inputs, bit-identical to the same inferences run
 * one by one; and models, hub folders, images and .npy files loaded and freed from 8 threads at
 * once. The sanitizer CI job runs this under ThreadSanitizer (with OPENBLAS_NUM_THREADS=1:
 * OpenBLAS is not instrumented, see docs/security.md). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "model.h" /* the context's busy flag, to free it while a run is inside */
#include "test_util.h"

/* 8 threads sharing a model, each context with a worker pool of POOL threads of its own (so
 * that the pools' handoffs are what ThreadSanitizer watches, whatever the machine's cores) */
enum { THREADS = 8, RUNS = 50, POOL = 2 };

typedef struct shared_case {
    const char *label;
    const char *file; /* fixture */
    int64_t size;     /* input side */
    swin_model *model;
    size_t per_run; /* floats kept per inference: logits then features */
    float *ref;     /* [THREADS * RUNS, per_run], computed one by one */
} shared_case;

static uint32_t seed_of(int t, int i) {
    return 1000u + (uint32_t)(t * RUNS + i);
}

/* One inference of input seed into out (per_run floats). */
static swin_status infer(swin_context *ctx, swin_tensor *x, const shared_case *c, uint32_t seed,
                         float *out) {
    swin_test_input(swin_tensor_data(x), (size_t)swin_tensor_numel(x), seed);
    SWIN_TRY(swin_context_run(ctx, x));
    const swin_tensor *logits, *features;
    SWIN_TRY(swin_context_output(ctx, SWIN_OUTPUT_LOGITS, 0, &logits));
    SWIN_TRY(swin_context_output(ctx, SWIN_OUTPUT_FEATURES, 0, &features));
    const size_t nl = (size_t)swin_tensor_numel(logits), nf = (size_t)swin_tensor_numel(features);
    if (nl + nf != c->per_run) return SWIN_ERR_INTERNAL;
    memcpy(out, swin_tensor_data(logits), nl * sizeof(float));
    memcpy(out + nl, swin_tensor_data(features), nf * sizeof(float));
    return SWIN_OK;
}

typedef struct worker {
    const shared_case *c;
    int t;
    int mismatches, failures;
} worker;

static void *shared_worker(void *arg) {
    worker *w = arg;
    const shared_case *c = w->c;
    swin_context *ctx = NULL;
    swin_tensor *x = NULL;
    float *out = malloc(c->per_run * sizeof(float));
    const int64_t shape[4] = {1, 3, c->size, c->size};
    if (!out || swin_context_create(&ctx, c->model) != SWIN_OK ||
        swin_context_set_num_threads(ctx, POOL) != SWIN_OK ||
        swin_tensor_create(&x, 4, shape) != SWIN_OK) {
        w->failures++;
        goto done;
    }
    for (int i = 0; i < RUNS; i++) {
        if (infer(ctx, x, c, seed_of(w->t, i), out) != SWIN_OK) {
            w->failures++;
            continue;
        }
        const float *want = c->ref + (size_t)(w->t * RUNS + i) * c->per_run;
        if (memcmp(out, want, c->per_run * sizeof(float)) != 0) w->mismatches++;
    }
done:
    swin_tensor_free(x);
    swin_context_free(ctx);
    free(out);
    return NULL;
}

static void run_shared(shared_case *c) {
    assert_int_equal(swin_model_load_file(&c->model, c->file, NULL), SWIN_OK);
    c->per_run = (size_t)swin_model_num_classes(c->model);
    int64_t C = 0;
    const int last = swin_model_num_stages(c->model) - 1;
    assert_int_equal(swin_model_stage_dims(c->model, last, NULL, NULL, &C, NULL, NULL, NULL),
                     SWIN_OK);
    c->per_run += (size_t)C;
    c->ref = malloc((size_t)(THREADS * RUNS) * c->per_run * sizeof(float));
    assert_non_null(c->ref);

    /* one by one, on this thread */
    swin_context *ctx;
    swin_tensor *x;
    const int64_t shape[4] = {1, 3, c->size, c->size};
    assert_int_equal(swin_context_create(&ctx, c->model), SWIN_OK);
    assert_int_equal(swin_context_set_num_threads(ctx, POOL), SWIN_OK);
    assert_int_equal(swin_tensor_create(&x, 4, shape), SWIN_OK);
    for (int t = 0; t < THREADS; t++)
        for (int i = 0; i < RUNS; i++)
            assert_int_equal(
                infer(ctx, x, c, seed_of(t, i), c->ref + (size_t)(t * RUNS + i) * c->per_run),
                SWIN_OK);
    swin_tensor_free(x);
    swin_context_free(ctx);
    /* different inputs give different outputs (the comparison below means something) */
    assert_true(memcmp(c->ref, c->ref + c->per_run, c->per_run * sizeof(float)) != 0);

    pthread_t th[THREADS];
    worker w[THREADS];
    for (int t = 0; t < THREADS; t++) {
        w[t] = (worker){c, t, 0, 0};
        assert_int_equal(pthread_create(&th[t], NULL, shared_worker, &w[t]), 0);
    }
    int mismatches = 0, failures = 0;
    for (int t = 0; t < THREADS; t++) {
        assert_int_equal(pthread_join(th[t], NULL), 0);
        mismatches += w[t].mismatches;
        failures += w[t].failures;
    }
    printf("[threads] %s: %d threads x %d inferences on one model: %d failed, %d not "
           "bit-identical to the sequential runs\n",
           c->label, THREADS, RUNS, failures, mismatches);
    assert_int_equal(failures, 0);
    assert_int_equal(mismatches, 0);
    free(c->ref);
    swin_model_free(c->model);
}

/* Small models, so that the TSan run stays short: a 16x16 Swin with shifted and padded
 * windows in the official naming (tests/fuzz/corpus), and the ViT fixtures. */
static void test_shared_swin(void **state) {
    (void)state;
    char path[1024];
    snprintf(path, sizeof path, "%s/corpus/model_swin/swin_official.safetensors", SWIN_FUZZ_DIR);
    shared_case c = {"Swin (16x16, official naming)", path, 16, NULL, 0, NULL};
    run_shared(&c);
}

static void test_shared_vit(void **state) {
    (void)state;
    char path[1024];
    snprintf(path, sizeof path, "%s", swin_test_fixture("vit/vit_token_p16.safetensors"));
    shared_case c = {"ViT (vit_token_p16)", path, 64, NULL, 0, NULL};
    run_shared(&c);
}

static void test_shared_vit_postnorm(void **state) {
    (void)state;
    char path[1024];
    snprintf(path, sizeof path, "%s", swin_test_fixture("vit/vit_postnorm_gelu.safetensors"));
    shared_case c = {"ViT post-norm (vit_postnorm_gelu)", path, 8, NULL, 0, NULL};
    run_shared(&c);
}

/* ---- loading and freeing from several threads at once ---- */

static char hub_dir[64];

typedef struct loader {
    int t;
    int failures;
    int64_t params[3]; /* num_params of each model kind loaded */
} loader;

static uint8_t *read_all(const char *path, size_t *size) {
    FILE *fp = fopen(path, "rb");
    if (!fp) return NULL;
    struct stat sb;
    if (fstat(fileno(fp), &sb) != 0) {
        fclose(fp);
        return NULL;
    }
    *size = (size_t)sb.st_size;
    uint8_t *buf = malloc(*size ? *size : 1);
    if (buf && fread(buf, 1, *size, fp) != *size) {
        free(buf);
        buf = NULL;
    }
    fclose(fp);
    return buf;
}

static void *load_worker(void *arg) {
    loader *l = arg;
    char path[1024];
    for (int i = 0; i < 6; i++) {
        const int kind = (l->t + i) % 5;
        swin_model *m = NULL;
        swin_status s = SWIN_OK;
        if (kind == 0) {
            snprintf(path, sizeof path, "%s",
                     swin_test_fixture("swin_t7_224_official.safetensors"));
            s = swin_model_load_file(&m, path, NULL);
        } else if (kind == 1) {
            snprintf(path, sizeof path, "%s",
                     swin_test_fixture("vit/vit_token_p16_f16.safetensors"));
            size_t n = 0;
            uint8_t *bytes = read_all(path, &n);
            s = bytes ? swin_model_load_memory(&m, bytes, n, NULL) : SWIN_ERR_IO;
            if (s == SWIN_OK) l->params[1] = swin_model_num_params(m);
            swin_model_free(m); /* before the bytes it borrows */
            m = NULL;
            free(bytes);
        } else if (kind == 2) {
            s = swin_model_load_file(&m, hub_dir, NULL); /* config.json through jansson */
            if (s == SWIN_OK && strcmp(swin_model_label(m, 1), "b") != 0) s = SWIN_ERR_INTERNAL;
        } else if (kind == 3) {
            swin_image *img = NULL;
            s = swin_image_load_file(
                &img, swin_test_fixture(l->t % 2 ? "images/astronaut_256_progressive.jpg"
                                                 : "images/rocket_160x240_palette.png"));
            swin_image_free(img);
        } else {
            swin_tensor *t = NULL;
            snprintf(path, sizeof path, "%s/input.npy", SWIN_EXAMPLES_DIR);
            s = swin_tensor_load_npy(&t, path);
            swin_tensor_free(t);
        }
        /* every thread's failure message is its own */
        swin_model *none = (swin_model *)0x1;
        char missing[64];
        snprintf(missing, sizeof missing, "/nonexistent/thread%d.safetensors", l->t);
        if (swin_model_load_file(&none, missing, NULL) != SWIN_ERR_IO || none ||
            !strstr(swin_last_error(), missing))
            l->failures++;
        if (s != SWIN_OK) l->failures++;
        if (m && kind == 0) l->params[0] = swin_model_num_params(m);
        if (m && kind == 2) l->params[2] = swin_model_num_params(m);
        swin_model_free(m);
    }
    return NULL;
}

static void write_file(const char *dst, const char *src) {
    size_t n;
    uint8_t *bytes = read_all(src, &n);
    assert_non_null(bytes);
    FILE *fp = fopen(dst, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(bytes, 1, n, fp), n);
    assert_int_equal(fclose(fp), 0);
    free(bytes);
}

/* fork() keeps only the calling thread: a context whose workers were started before the fork
 * must still run in the child (on a new pool), with the parent's results. */
static void test_fork(void **state) {
    (void)state;
    swin_model *m = NULL;
    assert_int_equal(swin_model_load_file(&m, swin_test_fixture("swin_t7_224.safetensors"), NULL),
                     SWIN_OK);
    swin_context *ctx = NULL;
    assert_int_equal(swin_context_create(&ctx, m), SWIN_OK);
    assert_int_equal(swin_context_set_num_threads(ctx, 2), SWIN_OK);
    const int64_t shape[4] = {1, 3, 224, 224};
    swin_tensor *in = NULL;
    assert_int_equal(swin_tensor_create(&in, 4, shape), SWIN_OK);
    swin_test_input(swin_tensor_data(in), (size_t)swin_tensor_numel(in), 5);
    assert_int_equal(swin_context_run(ctx, in), SWIN_OK);
    const swin_tensor *out;
    assert_int_equal(swin_context_output(ctx, SWIN_OUTPUT_LOGITS, 0, &out), SWIN_OK);
    float parent[10];
    assert_int_equal(swin_tensor_numel(out), 10);
    memcpy(parent, swin_tensor_data(out), sizeof parent);
    fflush(NULL);
    const pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* the child: exit status 0 only when both runs match the parent's bit for bit; a
         * deadlock (waiting for workers that were not forked) ends it by SIGALRM */
        alarm(60);
        int bad = 0;
        for (int r = 0; r < 2; r++) {
            if (swin_context_run(ctx, in) != SWIN_OK ||
                swin_context_output(ctx, SWIN_OUTPUT_LOGITS, 0, &out) != SWIN_OK ||
                memcmp(swin_tensor_data(out), parent, sizeof parent) != 0)
                bad = 1;
        }
        swin_context_free(ctx);
        _exit(bad);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    /* and the parent's pool still works */
    assert_int_equal(swin_context_run(ctx, in), SWIN_OK);
    assert_int_equal(swin_context_output(ctx, SWIN_OUTPUT_LOGITS, 0, &out), SWIN_OK);
    assert_memory_equal(swin_tensor_data(out), parent, sizeof parent);
    swin_tensor_free(in);
    swin_context_free(ctx);
    swin_model_free(m);
}

static void test_concurrent_loads(void **state) {
    (void)state;
    snprintf(hub_dir, sizeof hub_dir, "/tmp/swin_threads_XXXXXX");
    assert_non_null(mkdtemp(hub_dir));
    char dst[256], src[1024];
    snprintf(dst, sizeof dst, "%s/config.json", hub_dir);
    snprintf(src, sizeof src, "%s/corpus/config/swin.json", SWIN_FUZZ_DIR);
    write_file(dst, src);
    snprintf(dst, sizeof dst, "%s/model.safetensors", hub_dir);
    snprintf(src, sizeof src, "%s/corpus/model_swin/swin_timm.safetensors", SWIN_FUZZ_DIR);
    write_file(dst, src);

    pthread_t th[THREADS];
    loader l[THREADS];
    for (int t = 0; t < THREADS; t++) {
        l[t] = (loader){t, 0, {0, 0, 0}};
        assert_int_equal(pthread_create(&th[t], NULL, load_worker, &l[t]), 0);
    }
    int failures = 0;
    for (int t = 0; t < THREADS; t++) {
        assert_int_equal(pthread_join(th[t], NULL), 0);
        failures += l[t].failures;
    }
    /* every thread saw the same models */
    for (int k = 0; k < 3; k++)
        for (int t = 1; t < THREADS; t++)
            if (l[t].params[k] && l[0].params[k]) assert_int_equal(l[t].params[k], l[0].params[k]);
    printf("[threads] %d threads x 6 loads and frees (Swin file, ViT F16 from memory, hub "
           "folder, JPEG/PNG, .npy) at once: %d failures\n",
           THREADS, failures);
    assert_int_equal(failures, 0);
    unlink(dst);
    snprintf(dst, sizeof dst, "%s/config.json", hub_dir);
    unlink(dst);
    rmdir(hub_dir);
}

/* One context used by two threads at once (a misuse, docs/threading.md): the second call
 * returns SWIN_ERR_BUSY with a message, never garbage nor a deadlock; the first call's outputs
 * stay exact; free from another thread waits for a running call (issue 16, item 2). Before:
 * with 1 pool thread the outputs were silently wrong, with 2 or 4 the pool deadlocked. */
typedef struct busy_job {
    swin_context *ctx;
    swin_tensor *x;
    atomic_int started, stop, runs;
    swin_status first_error;
} busy_job;

static void *busy_runner(void *arg) {
    busy_job *j = arg;
    while (!atomic_load(&j->stop)) {
        atomic_store(&j->started, 1);
        const swin_status s = swin_context_run(j->ctx, j->x);
        if (s != SWIN_OK && s != SWIN_ERR_BUSY && j->first_error == SWIN_OK) j->first_error = s;
        if (s == SWIN_OK) atomic_fetch_add(&j->runs, 1);
    }
    return NULL;
}

/* One run, then runs = 1. */
static void *one_run(void *arg) {
    busy_job *j = arg;
    const swin_status s = swin_context_run(j->ctx, j->x);
    if (s != SWIN_OK) j->first_error = s;
    atomic_store(&j->runs, 1);
    return NULL;
}

static void test_one_context_two_threads(void **state) {
    (void)state;
    alarm(120); /* a deadlock fails the test instead of stalling the suite */
    swin_model *m;
    assert_int_equal(swin_model_load_file(&m, swin_test_fixture("swin_t7_224.safetensors"), NULL),
                     SWIN_OK);
    const int64_t shape[4] = {1, 3, 224, 224};
    swin_tensor *x;
    assert_int_equal(swin_tensor_create(&x, 4, shape), SWIN_OK);
    swin_test_input(swin_tensor_data(x), (size_t)swin_tensor_numel(x), 7);
    for (int pool = 1; pool <= 4; pool *= 2) {
        /* the reference: one run alone, on a pool of the same size (the same sums) */
        swin_context *ref;
        assert_int_equal(swin_context_create(&ref, m), SWIN_OK);
        assert_int_equal(swin_context_set_num_threads(ref, pool), SWIN_OK);
        assert_int_equal(swin_context_run(ref, x), SWIN_OK);
        const swin_tensor *want;
        assert_int_equal(swin_context_output(ref, SWIN_OUTPUT_LOGITS, 0, &want), SWIN_OK);
        swin_context *ctx;
        assert_int_equal(swin_context_create(&ctx, m), SWIN_OK);
        assert_int_equal(swin_context_set_num_threads(ctx, pool), SWIN_OK);
        busy_job j = {ctx, x, 0, 0, 0, SWIN_OK};
        pthread_t th;
        assert_int_equal(pthread_create(&th, NULL, busy_runner, &j), 0);
        while (!atomic_load(&j.started))
            sched_yield();
        int busy = 0, ok = 0;
        for (int i = 0; i < 400 && busy < 3; i++) {
            swin_status s = swin_context_run(ctx, x);
            if (s == SWIN_ERR_BUSY) {
                assert_non_null(strstr(swin_last_error(), "two threads"));
                busy++;
            } else {
                assert_int_equal(s, SWIN_OK);
                ok++;
            }
            s = swin_context_reserve(ctx, 1, 224, 224);
            assert_true(s == SWIN_OK || s == SWIN_ERR_BUSY);
            s = swin_context_set_num_threads(ctx, pool);
            assert_true(s == SWIN_OK || s == SWIN_ERR_BUSY);
        }
        atomic_store(&j.stop, 1);
        assert_int_equal(pthread_join(th, NULL), 0);
        assert_int_equal(j.first_error, SWIN_OK);
        if (busy == 0) fail_msg("pool %d: no call overlapped in 400 tries (%d ran)", pool, ok);
        /* the outputs are those of a run alone */
        assert_int_equal(swin_context_run(ctx, x), SWIN_OK);
        const swin_tensor *got;
        assert_int_equal(swin_context_output(ctx, SWIN_OUTPUT_LOGITS, 0, &got), SWIN_OK);
        assert_memory_equal(swin_tensor_data(got), swin_tensor_data(want),
                            (size_t)swin_tensor_numel(want) * sizeof(float));
        /* free from this thread while the other is inside a run: it waits for the run */
        bool freed = false;
        for (int attempt = 0; attempt < 100 && !freed; attempt++) {
            busy_job k = {ctx, x, 0, 0, 0, SWIN_OK};
            pthread_t th2;
            assert_int_equal(pthread_create(&th2, NULL, one_run, &k), 0);
            while (!atomic_load(&ctx->busy) && !atomic_load(&k.runs))
                sched_yield();
            if (atomic_load(&ctx->busy)) { /* inside the call: free must wait */
                swin_context_free(ctx);
                freed = true;
            }
            assert_int_equal(pthread_join(th2, NULL), 0);
            assert_int_equal(k.first_error, SWIN_OK);
        }
        assert_true(freed);
        swin_context_free(ref);
    }
    swin_tensor_free(x);
    swin_model_free(m);
    alarm(0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shared_swin),
        cmocka_unit_test(test_shared_vit),
        cmocka_unit_test(test_shared_vit_postnorm),
        cmocka_unit_test(test_concurrent_loads),
        cmocka_unit_test(test_fork),
        cmocka_unit_test(test_one_context_two_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
