/* The swin program as a user runs it: info and run on the committed example (made by
 * tests/reference/gen_example.py), outputs against PyTorch's, and bad arguments and files
 * giving a one-line error and a non-zero exit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <jansson.h>
#include <stdbool.h>

#include "test_util.h"

#ifndef SWIN_CLI
#error "SWIN_CLI must name the swin program"
#endif
#ifndef SWIN_EXAMPLES_DIR
#error "SWIN_EXAMPLES_DIR must be defined"
#endif

static char tmpdir[256];
static char errfile[300];

/* Runs the swin program with args; stdout to /dev/null or a file, stderr to errfile. */
static int run(const char *args, const char *out) {
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s %s >'%s' 2>'%s'", swin_test_program(SWIN_CLI), args,
             out ? out : "/dev/null", errfile);
    const int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char *slurp(const char *path) {
    static char buf[1 << 16];
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    const size_t n = fread(buf, 1, sizeof buf - 1, fp);
    fclose(fp);
    buf[n] = '\0';
    return buf;
}

static int setup(void **state) {
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/swin_cli_XXXXXX");
    if (!mkdtemp(tmpdir)) return -1;
    snprintf(errfile, sizeof errfile, "%s/stderr", tmpdir);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static void check_npy(const char *got_path, const char *want_name) {
    swin_tensor *got, *want;
    char want_path[512];
    snprintf(want_path, sizeof want_path, "%s/%s", SWIN_EXAMPLES_DIR, want_name);
    assert_int_equal(swin_tensor_load_npy(&got, got_path), SWIN_OK);
    assert_int_equal(swin_tensor_load_npy(&want, want_path), SWIN_OK);
    assert_int_equal(swin_tensor_numel(got), swin_tensor_numel(want));
    SWIN_CHECK(want_name, swin_tensor_data(got), swin_tensor_data(want),
               (size_t)swin_tensor_numel(want));
    swin_tensor_free(got);
    swin_tensor_free(want);
}

static void test_run_logits_and_features(void **state) {
    (void)state;
    char args[1024], out[300];
    snprintf(out, sizeof out, "%s/logits.npy", tmpdir);
    snprintf(args, sizeof args,
             "run --model '%s/swin_micro.safetensors' --input '%s/input.npy' --output '%s'",
             SWIN_EXAMPLES_DIR, SWIN_EXAMPLES_DIR, out);
    assert_int_equal(run(args, NULL), 0);
    check_npy(out, "expected_logits.npy");
    snprintf(out, sizeof out, "%s/features.npy", tmpdir);
    snprintf(args, sizeof args,
             "run --model '%s/swin_micro.safetensors' --input '%s/input.npy' --output '%s' --emit "
             "features",
             SWIN_EXAMPLES_DIR, SWIN_EXAMPLES_DIR, out);
    assert_int_equal(run(args, NULL), 0);
    check_npy(out, "expected_features.npy");
}

static void test_info(void **state) {
    (void)state;
    char args[512], out[300];
    snprintf(out, sizeof out, "%s/info.txt", tmpdir);
    snprintf(args, sizeof args, "info '%s/swin_micro.safetensors'", SWIN_EXAMPLES_DIR);
    assert_int_equal(run(args, out), 0);
    const char *text = slurp(out);
    assert_non_null(strstr(text, "depths         2,2,2"));
    assert_non_null(strstr(text, "W-MSA"));
    assert_non_null(strstr(text, "layers.2.blocks.1.attn.relative_position_bias_table"));
    /* --set overrides the metadata */
    snprintf(args, sizeof args, "info '%s/swin_micro.safetensors' --set img_size=224",
             SWIN_EXAMPLES_DIR);
    assert_int_equal(run(args, out), 0);
    assert_non_null(strstr(slurp(out), "img_size       224"));
}

/* Each failure: non-zero exit, exactly one line on stderr that starts with "swin: error:". */
static void expect_error(const char *args, int code, const char *needle) {
    assert_int_equal(run(args, NULL), code);
    const char *err = slurp(errfile);
    assert_true(strncmp(err, "swin: error: ", 13) == 0);
    if (code == 1) assert_true(strchr(err, '\n') == err + strlen(err) - 1);
    if (needle && !strstr(err, needle)) fail_msg("stderr \"%s\" lacks \"%s\"", err, needle);
}

static void test_errors(void **state) {
    (void)state;
    char args[1024];
    expect_error("", 2, "no command");
    expect_error("frobnicate", 2, "unknown command");
    expect_error("run --model", 2, "missing value");
    expect_error("info /nonexistent.safetensors", 1, "/nonexistent.safetensors");
    snprintf(args, sizeof args, "info '%s/swin_micro.safetensors' --set depths=2,x",
             SWIN_EXAMPLES_DIR);
    expect_error(args, 1, "depths");
    snprintf(args, sizeof args, "info '%s/swin_micro.safetensors' --arch swin_gigantic",
             SWIN_EXAMPLES_DIR);
    expect_error(args, 1, "swin_gigantic");
    /* a weights file given as the input */
    snprintf(args, sizeof args,
             "run --model '%s/swin_micro.safetensors' --input '%s/swin_micro.safetensors' --output "
             "'%s/o.npy'",
             SWIN_EXAMPLES_DIR, SWIN_EXAMPLES_DIR, tmpdir);
    expect_error(args, 1, "SWIN_ERR_FORMAT");
    /* an input whose size is not a multiple of the patch */
    swin_tensor *t;
    const int64_t shape[4] = {1, 3, 30, 30};
    char bad[300];
    snprintf(bad, sizeof bad, "%s/bad.npy", tmpdir);
    assert_int_equal(swin_tensor_create(&t, 4, shape), SWIN_OK);
    assert_int_equal(swin_tensor_save_npy(t, bad), SWIN_OK);
    swin_tensor_free(t);
    snprintf(args, sizeof args,
             "run --model '%s/swin_micro.safetensors' --input '%s' --output '%s/o.npy'",
             SWIN_EXAMPLES_DIR, bad, tmpdir);
    expect_error(args, 1, "patch size");
    /* an output that cannot be written */
    snprintf(args, sizeof args,
             "run --model '%s/swin_micro.safetensors' --input '%s/input.npy' --output "
             "/nonexistent/dir/o.npy",
             SWIN_EXAMPLES_DIR, SWIN_EXAMPLES_DIR);
    expect_error(args, 1, "/nonexistent/dir/o.npy");
}

/* swin preprocess writes the tensor PIL + torchvision make (fixture: U8 crop of the photo). */
static void test_preprocess(void **state) {
    (void)state;
    char args[1024], out[300];
    snprintf(out, sizeof out, "%s/x.npy", tmpdir);
    snprintf(
        args, sizeof args,
        "preprocess --model '%s/swin_micro.safetensors' --set input_size=64 '%s' --output '%s'",
        SWIN_EXAMPLES_DIR, swin_test_fixture("images/chelsea_400x266.jpg"), out);
    assert_int_equal(run(args, NULL), 0);
    swin_tensor *x;
    assert_int_equal(swin_tensor_load_npy(&x, out), SWIN_OK);
    assert_int_equal(swin_tensor_numel(x), 3 * 64 * 64);
    swin_safetensors st = {0};
    swin_test_open(&st, "images/preprocess.expected.safetensors");
    const swin_st_tensor *want = swin__st_find(&st, "chelsea_400x266.s64_bicubic_in");
    assert_non_null(want);
    const float mean[3] = {0.485f, 0.456f, 0.406f}, std[3] = {0.229f, 0.224f, 0.225f};
    float *ref = malloc(want->numel * sizeof *ref);
    for (size_t e = 0; e < want->numel; e++)
        ref[e] = ((float)want->raw[e] / 255.0f - mean[e / 4096]) / std[e / 4096];
    assert_true(swin_test_check("swin preprocess", swin_tensor_data(x), ref, want->numel, 0.0));
    free(ref);
    swin__st_close(&st);
    swin_tensor_free(x);
    expect_error("preprocess --model x.safetensors", 2, "preprocess needs");
}

/* swin classify: text and JSON lines, an unreadable image is reported and skipped. */
static void test_classify(void **state) {
    (void)state;
    char args[1024], out[300];
    snprintf(out, sizeof out, "%s/classify.txt", tmpdir);
    snprintf(args, sizeof args,
             "classify --model '%s/swin_micro.safetensors' --json --top 3 --batch 2 '%s' '%s' "
             "'%s/missing.png' '%s'",
             SWIN_EXAMPLES_DIR, swin_test_fixture("images/coffee_150x100.png"),
             swin_test_fixture("images/camera_240x180_gray.jpg"), tmpdir,
             swin_test_fixture("images/chelsea_60x40.png"));
    assert_int_equal(run(args, out), 1); /* one image could not be read */
    const char *text = slurp(out);
    int lines = 0;
    for (const char *p = text; (p = strstr(p, "{\"path\": ")); p++)
        lines++;
    assert_int_equal(lines, 4); /* three results and, in its place, the failed image's line */
    assert_non_null(strstr(text, "\"top\": [{\"index\": "));
    char want[512];
    snprintf(want, sizeof want, "{\"path\": \"%s/missing.png\", \"error\": \"", tmpdir);
    const char *err_line = strstr(text, want);
    assert_non_null(err_line);
    int before = 0; /* in input order: the third line */
    for (const char *p = text; (p = strchr(p, '\n')) && p < err_line; p++)
        before++;
    assert_int_equal(before, 2);
    assert_non_null(strstr(slurp(errfile), "missing.png"));
}

/* Runs a shell command line (for pipes); returns its exit status. */
static int sh(const char *cmd) {
    const int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Whether file path holds one JSON value (jansson), or with lines, one per non-empty line. */
static bool json_file_ok(const char *path, bool lines, int *count) {
    FILE *fp = fopen(path, "rb");
    if (!fp) return false;
    char line[1 << 14];
    int n = 0;
    bool ok = true;
    if (lines) {
        while (ok && fgets(line, sizeof line, fp)) {
            json_error_t e;
            json_t *v = json_loads(line, 0, &e);
            ok = v && json_is_object(v);
            json_decref(v);
            n++;
        }
    } else {
        json_error_t e;
        json_t *v = json_loadf(fp, 0, &e);
        ok = v && json_is_object(v);
        json_decref(v);
        n = ok;
    }
    fclose(fp);
    if (count) *count = n;
    return ok;
}

/* Each command's --help on stdout (exit 0); an option it does not take is a usage error naming
 * the option and the command (exit 2). */
static void test_options_per_command(void **state) {
    (void)state;
    static const char *const cmds[] = {"info", "run", "preprocess", "classify", "eval", "bench"};
    char args[512], out[300];
    snprintf(out, sizeof out, "%s/help.txt", tmpdir);
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        char want[64];
        snprintf(want, sizeof want, "usage: swin %s ", cmds[i]);
        snprintf(args, sizeof args, "%s --help", cmds[i]);
        assert_int_equal(run(args, out), 0);
        if (!strstr(slurp(out), want)) fail_msg("swin %s --help lacks \"%s\"", cmds[i], want);
        assert_int_equal(slurp(errfile)[0], '\0');
        snprintf(args, sizeof args, "%s -h", cmds[i]);
        assert_int_equal(run(args, out), 0);
        assert_non_null(strstr(slurp(out), want));
        snprintf(args, sizeof args, "%s --frobnicate 3", cmds[i]);
        snprintf(want, sizeof want, "%s: unknown option: --frobnicate", cmds[i]);
        expect_error(args, 2, want);
    }
    /* options that mean nothing to a command are refused, not ignored */
    snprintf(args, sizeof args, "info '%s/swin_micro.safetensors' --threads 2", SWIN_EXAMPLES_DIR);
    expect_error(args, 2, "info: unknown option: --threads");
    snprintf(args, sizeof args,
             "run --model '%s/swin_micro.safetensors' --input '%s/input.npy' --output '%s/o.npy' "
             "--json",
             SWIN_EXAMPLES_DIR, SWIN_EXAMPLES_DIR, tmpdir);
    expect_error(args, 2, "run: unknown option: --json");
    expect_error("preprocess --threads 2 --model m x.png --output x.npy", 2,
                 "preprocess: unknown option: --threads");
    expect_error("classify --emit features --model m x.png", 2, "classify: unknown option: --emit");
    expect_error("eval --top 3 --model m d", 2, "eval: unknown option: --top");
    expect_error("classify --threads 0 --model m x.png", 2, "--threads takes 1..1024");
    /* the top-level help and version stay */
    assert_int_equal(run("--help", out), 0);
    assert_non_null(strstr(slurp(out), "swin eval --model MODEL DIR"));
    assert_int_equal(run("--version", out), 0);
    assert_non_null(strstr(slurp(out), "swin "));
    /* --threads where a model runs; --name=value is the same as --name value */
    snprintf(out, sizeof out, "%s/logits_t.npy", tmpdir);
    snprintf(args, sizeof args,
             "run --threads 2 --model '%s/swin_micro.safetensors' --input '%s/input.npy' "
             "--output='%s'",
             SWIN_EXAMPLES_DIR, SWIN_EXAMPLES_DIR, out);
    assert_int_equal(run(args, NULL), 0);
    check_npy(out, "expected_logits.npy");
    snprintf(out, sizeof out, "%s/classify_t.txt", tmpdir);
    snprintf(args, sizeof args,
             "classify --threads=3 --model '%s/shapes' '%s/shapes/images/img01.png'",
             SWIN_EXAMPLES_DIR, SWIN_EXAMPLES_DIR);
    assert_int_equal(run(args, out), 0);
    assert_non_null(strstr(slurp(out), "star"));
}

/* classify: - reads paths from stdin, folders are walked recursively in name order, --output
 * writes the file whole (and leaves no temporary), the exit status says an image failed. */
static void test_classify_inputs(void **state) {
    (void)state;
    char cmd[4096], out[300], tree[300], list[300];
    const char *img = SWIN_EXAMPLES_DIR "/shapes/images";
    snprintf(tree, sizeof tree, "%s/tree", tmpdir);
    /* tree/b/z/img03.png, tree/a/img02.jpg, tree/img01.png, tree/notes.txt, tree/.hidden.png */
    snprintf(cmd, sizeof cmd,
             "mkdir -p '%s/b/z' '%s/a' && cp '%s/img03.png' '%s/b/z/' && cp '%s/img02.jpg' "
             "'%s/a/IMG02.JPG' && cp '%s/img01.png' '%s/' && echo x > '%s/notes.txt' && cp "
             "'%s/img01.png' '%s/.hidden.png'",
             tree, tree, img, tree, img, tree, img, tree, tree, img, tree);
    assert_int_equal(sh(cmd), 0);
    snprintf(out, sizeof out, "%s/tree.jsonl", tmpdir);
    snprintf(cmd, sizeof cmd, "classify --model '%s/shapes' --json --batch 2 '%s'",
             SWIN_EXAMPLES_DIR, tree);
    assert_int_equal(run(cmd, out), 0);
    const char *text = slurp(out);
    const char *p1 = strstr(text, "/a/IMG02.JPG\""), *p2 = strstr(text, "/b/z/img03.png\""),
               *p3 = strstr(text, "/img01.png\"");
    assert_non_null(p1);
    assert_non_null(p2);
    assert_non_null(p3);
    assert_true(p1 < p2 && p2 < p3); /* a/ < b/ < img01.png */
    assert_null(strstr(text, "hidden"));
    assert_null(strstr(text, "notes.txt"));
    int n;
    assert_true(json_file_ok(out, true, &n));
    assert_int_equal(n, 3);
    /* a list on stdin (one of them missing, one a folder), results to a file */
    snprintf(list, sizeof list, "%s/list.txt", tmpdir);
    FILE *fp = fopen(list, "w");
    assert_non_null(fp);
    fprintf(fp, "%s/img04.jpg\n%s/nothere.png\n\n%s/a\r\n%s/img05.png\n", img, tmpdir, tree, img);
    fclose(fp);
    char result[300];
    snprintf(result, sizeof result, "%s/result.jsonl", tmpdir);
    snprintf(cmd, sizeof cmd,
             "%s classify --model '%s/shapes' --json --top 2 --output '%s' - <'%s' >'%s' 2>'%s'",
             swin_test_program(SWIN_CLI), SWIN_EXAMPLES_DIR, result, list, out, errfile);
    assert_int_equal(sh(cmd), 1);          /* nothere.png failed */
    assert_int_equal(slurp(out)[0], '\0'); /* nothing on stdout */
    assert_true(json_file_ok(result, true, &n));
    assert_int_equal(n, 4);
    text = slurp(result);
    p1 = strstr(text, "img04.jpg");
    p2 = strstr(text, "nothere.png\", \"error\": ");
    p3 = strstr(text, "IMG02.JPG");
    const char *p4 = strstr(text, "img05.png");
    assert_true(p1 && p2 && p3 && p4 && p1 < p2 && p2 < p3 && p3 < p4);
    assert_non_null(strstr(slurp(errfile), "nothere.png"));
    /* no temporary left beside it */
    snprintf(cmd, sizeof cmd, "test -z \"$(ls -A '%s' | grep 'result.jsonl.')\"", tmpdir);
    assert_int_equal(sh(cmd), 0);
    /* an existing file is replaced whole only on success: a model that cannot load leaves it */
    snprintf(cmd, sizeof cmd,
             "%s classify --model '%s/nomodel' --output '%s' '%s/img04.jpg' >/dev/null 2>'%s'",
             swin_test_program(SWIN_CLI), tmpdir, result, img, errfile);
    assert_int_equal(sh(cmd), 1);
    assert_true(json_file_ok(result, true, &n));
    assert_int_equal(n, 4);
    snprintf(cmd, sizeof cmd, "test -z \"$(ls -A '%s' | grep 'result.jsonl.')\"", tmpdir);
    assert_int_equal(sh(cmd), 0);
    /* text output to a file; an output folder that does not exist is an error */
    snprintf(cmd, sizeof cmd, "classify --model '%s/shapes' --output '%s' '%s/img01.png'",
             SWIN_EXAMPLES_DIR, result, img);
    assert_int_equal(run(cmd, NULL), 0);
    assert_non_null(strstr(slurp(result), "1. star"));
    snprintf(cmd, sizeof cmd,
             "classify --model '%s/shapes' --output /nonexistent/dir/r.txt '%s/img01.png'",
             SWIN_EXAMPLES_DIR, img);
    expect_error(cmd, 1, "/nonexistent/dir/r.txt");
}

/* swin eval against PyTorch: examples/shapes/images/expected_top5.json holds the float64
 * reference's logits of each image (tests/reference/train_shapes.py) and its true label; the
 * expected top-1, top-5 and mean cross-entropy (logsumexp(logits) - logits[target]) are
 * computed here from those logits, independently of the library. */
#define SHAPES SWIN_EXAMPLES_DIR "/shapes"

typedef struct eval_result {
    double top1, top5, loss;
    long long count, errors;
} eval_result;

static void eval_json(const char *args, int code, eval_result *r) {
    char out[300];
    snprintf(out, sizeof out, "%s/eval.json", tmpdir);
    assert_int_equal(run(args, out), code);
    json_error_t e;
    json_t *v = json_load_file(out, 0, &e);
    if (!v) fail_msg("swin eval --json: %s: %s", e.text, slurp(out));
    assert_true(json_is_number(json_object_get(v, "top1")));
    r->top1 = json_number_value(json_object_get(v, "top1"));
    r->top5 = json_number_value(json_object_get(v, "top5"));
    r->loss = json_number_value(json_object_get(v, "loss"));
    r->count = json_integer_value(json_object_get(v, "count"));
    r->errors = json_integer_value(json_object_get(v, "errors"));
    json_decref(v);
}

static void expect_close(const char *what, double got, double want, double rel) {
    printf("[cli] swin eval %s: %.10g (reference %.10g, rel %.2e)\n", what, got, want,
           fabs(got - want) / fabs(want));
    if (!(fabs(got - want) <= rel * fabs(want))) fail_msg("%s: %.10g, want %.10g", what, got, want);
}

static void test_eval(void **state) {
    (void)state;
    json_error_t e;
    json_t *cfg = json_load_file(SHAPES "/config.json", 0, &e);
    json_t *ref = json_load_file(SHAPES "/images/expected_top5.json", 0, &e);
    assert_non_null(cfg);
    assert_non_null(ref);
    json_t *names = json_object_get(cfg, "label_names"), *images = json_object_get(ref, "images");
    const size_t K = json_array_size(names), n = json_array_size(images);
    assert_int_equal(K, 10);
    assert_true(n >= 5);
    char by_label[300], by_order[300], cmd[2048];
    snprintf(by_label, sizeof by_label, "%s/val_named", tmpdir);
    snprintf(by_order, sizeof by_order, "%s/val_ordered", tmpdir);
    for (size_t c = 0; c < K; c++) { /* every class folder, some of them empty */
        snprintf(cmd, sizeof cmd, "mkdir -p '%s/%s' '%s/k%02zu'", by_label,
                 json_string_value(json_array_get(names, c)), by_order, c);
        assert_int_equal(sh(cmd), 0);
    }
    double hit1 = 0, hit5 = 0, loss = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *im = json_array_get(images, i), *logits = json_object_get(im, "logits");
        const char *file = json_string_value(json_object_get(im, "file")),
                   *label = json_string_value(json_object_get(im, "true_label"));
        size_t t = K;
        for (size_t c = 0; c < K; c++)
            if (strcmp(json_string_value(json_array_get(names, c)), label) == 0) t = c;
        assert_true(t < K);
        assert_int_equal(json_array_size(logits), K);
        double l[16], mx = -INFINITY, sum = 0;
        for (size_t c = 0; c < K; c++) {
            l[c] = json_number_value(json_array_get(logits, c));
            mx = l[c] > mx ? l[c] : mx;
        }
        for (size_t c = 0; c < K; c++)
            sum += exp(l[c] - mx);
        loss += mx + log(sum) - l[t];
        int rank = 0; /* classes ranked above the target (ties to the lower index) */
        for (size_t c = 0; c < K; c++)
            rank += l[c] > l[t] || (l[c] == l[t] && c < t);
        hit1 += rank == 0;
        hit5 += rank < 5;
        snprintf(cmd, sizeof cmd,
                 "ln -s '%s/images/%s' '%s/%s/' && ln -s '%s/images/%s' '%s/k%02zu/'", SHAPES, file,
                 by_label, label, SHAPES, file, by_order, t);
        assert_int_equal(sh(cmd), 0);
    }
    const double want1 = 100.0 * hit1 / (double)n, want5 = 100.0 * hit5 / (double)n,
                 want_loss = loss / (double)n;
    json_decref(cfg);
    json_decref(ref);
    /* sub-folders named by the model's labels */
    char args[1024];
    eval_result r;
    snprintf(args, sizeof args, "eval --model '%s' '%s' --batch 3 --threads 2 --json", SHAPES,
             by_label);
    eval_json(args, 0, &r);
    assert_int_equal(r.count, (long long)n);
    assert_int_equal(r.errors, 0);
    expect_close("top1", r.top1, want1, 1e-6);
    expect_close("top5", r.top5, want5, 1e-6);
    /* the loss comes from float32 logits against the float64 reference's: the suite's bound */
    expect_close("loss", r.loss, want_loss, SWIN_TEST_TOL);
    /* sub-folders in class order (k00..k09), and an unreadable image: counted, left out */
    snprintf(cmd, sizeof cmd, "echo 'not a png' > '%s/k03/broken.png'", by_order);
    assert_int_equal(sh(cmd), 0);
    snprintf(args, sizeof args, "eval --model '%s' '%s' --json", SHAPES, by_order);
    eval_json(args, 1, &r);
    assert_int_equal(r.count, (long long)n);
    assert_int_equal(r.errors, 1);
    assert_non_null(strstr(slurp(errfile), "broken.png"));
    expect_close("top1 (class order)", r.top1, want1, 1e-6);
    expect_close("loss (class order)", r.loss, want_loss, SWIN_TEST_TOL);
    /* the text form */
    char out[300];
    snprintf(out, sizeof out, "%s/eval.txt", tmpdir);
    snprintf(args, sizeof args, "eval --model '%s' '%s'", SHAPES, by_label);
    assert_int_equal(run(args, out), 0);
    const char *text = slurp(out);
    assert_non_null(strstr(text, "top1 "));
    assert_non_null(strstr(text, "top5 "));
    assert_non_null(strstr(text, "loss "));
    assert_non_null(strstr(text, "images/s "));
    /* neither labels nor num_classes folders */
    snprintf(cmd, sizeof cmd, "mkdir -p '%s/val_bad/x' '%s/val_bad/y'", tmpdir, tmpdir);
    assert_int_equal(sh(cmd), 0);
    snprintf(args, sizeof args, "eval --model '%s' '%s/val_bad'", SHAPES, tmpdir);
    expect_error(args, 2, "num_classes");
    /* num_classes folders, one of them a label out of its sorted place: ambiguous */
    snprintf(cmd, sizeof cmd,
             "cp -r '%s' '%s/val_mixed' && mv '%s/val_mixed/k00' '%s/val_mixed/star'", by_order,
             tmpdir, tmpdir, tmpdir);
    assert_int_equal(sh(cmd), 0);
    snprintf(args, sizeof args, "eval --model '%s' '%s/val_mixed'", SHAPES, tmpdir);
    expect_error(args, 2, "sorted place");
    expect_error("eval --model m", 2, "eval needs --model and one DIR");
}

/* swin info: preprocessing, naming and labels, and --json as one object. */
static void test_info_json(void **state) {
    (void)state;
    char args[512], out[300];
    snprintf(out, sizeof out, "%s/info.txt", tmpdir);
    snprintf(args, sizeof args, "info '%s'", SHAPES);
    assert_int_equal(run(args, out), 0);
    const char *text = slurp(out);
    assert_non_null(strstr(text, "labels         10: circle, square, triangle, star, cross, ..."));
    assert_non_null(strstr(text, "interpolation  bicubic"));
    assert_non_null(strstr(text, "naming         timm"));
    snprintf(args, sizeof args, "info --json '%s'", SHAPES);
    assert_int_equal(run(args, out), 0);
    json_error_t e;
    json_t *v = json_load_file(out, 0, &e);
    if (!v) fail_msg("swin info --json: %s", e.text);
    json_t *pre = json_object_get(v, "preprocessing");
    assert_int_equal(json_integer_value(json_object_get(pre, "input_size")), 64);
    assert_string_equal(json_string_value(json_object_get(pre, "interpolation")), "bicubic");
    assert_true(fabs(json_number_value(json_object_get(pre, "crop_pct")) - 0.9) < 1e-12);
    assert_string_equal(json_string_value(json_object_get(pre, "crop_mode")), "center");
    assert_true(fabs(json_number_value(json_array_get(json_object_get(pre, "mean"), 2)) - 0.406) <
                1e-12);
    assert_int_equal(json_array_size(json_object_get(pre, "std")), 3);
    assert_string_equal(json_string_value(json_object_get(v, "naming")), "timm");
    assert_int_equal(json_integer_value(json_object_get(v, "num_classes")), 10);
    assert_int_equal(json_array_size(json_object_get(v, "labels")), 10);
    assert_string_equal(json_string_value(json_array_get(json_object_get(v, "labels"), 9)),
                        "arrow");
    assert_int_equal(json_integer_value(json_object_get(v, "parameters")), 321360);
    assert_true(json_array_size(json_object_get(v, "tensors")) == 92);
    json_decref(v);
    /* a file with no labels and no head names */
    snprintf(args, sizeof args, "info --json '%s/swin_micro.safetensors'", SWIN_EXAMPLES_DIR);
    assert_int_equal(run(args, out), 0);
    assert_true(json_file_ok(out, false, NULL));
}

/* transformers folders through the program: classify prints id2label's names, preprocess
 * writes the image processor's tensor, run emits the pooler. */
static void test_transformers(void **state) {
    (void)state;
    char args[2048], out[300], dir[300], cmd[1024];
    /* a folder with vit_cls's weights and the 40x40 ViT image processor */
    snprintf(dir, sizeof dir, "%s/vit40", tmpdir);
    /* (model.safetensors and config.json are linked from vit_cls) */
    char src1[512], src2[512];
    snprintf(src1, sizeof src1, "%s/model.safetensors", swin_test_fixture("transformers/vit_cls"));
    snprintf(src2, sizeof src2, "%s/config.json", swin_test_fixture("transformers/vit_cls"));
    snprintf(cmd, sizeof cmd,
             "mkdir -p '%s' && ln -sf '%s' '%s' '%s/' && ln -sf '%s' '%s/preprocessor_config.json'",
             dir, src1, src2, dir,
             swin_test_fixture("transformers/preprocessor/vit_40_bilinear.json"), dir);
    assert_int_equal(system(cmd), 0);
    snprintf(out, sizeof out, "%s/x.npy", tmpdir);
    snprintf(args, sizeof args, "preprocess --model '%s' '%s' --output '%s'", dir,
             swin_test_fixture("images/camera_240x180_gray.jpg"), out);
    assert_int_equal(run(args, NULL), 0);
    swin_tensor *x;
    assert_int_equal(swin_tensor_load_npy(&x, out), SWIN_OK);
    swin_safetensors st = {0};
    swin_test_open(&st, "transformers/preprocess.expected.safetensors");
    const swin_st_tensor *want = swin__st_find(&st, "camera_240x180_gray.vit_40_bilinear");
    assert_non_null(want);
    assert_int_equal((size_t)swin_tensor_numel(x), want->numel);
    double worst = 0.0;
    for (size_t e = 0; e < want->numel; e++) {
        const double d = fabs((double)swin_tensor_data(x)[e] - (double)want->f32[e]);
        worst = d > worst ? d : worst;
    }
    printf("[cli] swin preprocess on a transformers folder: max |diff| %.3e\n", worst);
    assert_true(worst <= 2e-6);
    swin__st_close(&st);
    swin_tensor_free(x);
    /* classify: the names of config.json's id2label */
    snprintf(out, sizeof out, "%s/classify.txt", tmpdir);
    char model[512]; /* swin_test_fixture's buffer is reused by each call */
    snprintf(model, sizeof model, "%s", swin_test_fixture("transformers/vit_cls"));
    snprintf(args, sizeof args, "classify --model '%s' --top 5 '%s'", model,
             swin_test_fixture("images/coffee_150x100.png"));
    assert_int_equal(run(args, out), 0);
    const char *text = slurp(out);
    static const char *const names[] = {"tabby cat", "golden retriever", "espresso",
                                        "space shuttle", "cowboy hat"};
    for (int i = 0; i < 5; i++)
        if (!strstr(text, names[i])) fail_msg("classify output lacks \"%s\":\n%s", names[i], text);
    /* run --emit pooler on ViTModel */
    const int64_t shape[4] = {2, 3, 48, 48};
    swin_tensor *in;
    assert_int_equal(swin_tensor_create(&in, 4, shape), SWIN_OK);
    swin_test_input(swin_tensor_data(in), (size_t)swin_tensor_numel(in), 22);
    char inpath[300];
    snprintf(inpath, sizeof inpath, "%s/vit_model_in.npy", tmpdir);
    assert_int_equal(swin_tensor_save_npy(in, inpath), SWIN_OK);
    swin_tensor_free(in);
    snprintf(out, sizeof out, "%s/pooler.npy", tmpdir);
    snprintf(args, sizeof args, "run --model '%s' --input '%s' --output '%s' --emit pooler",
             swin_test_fixture("transformers/vit_model"), inpath, out);
    assert_int_equal(run(args, NULL), 0);
    swin_tensor *got;
    assert_int_equal(swin_tensor_load_npy(&got, out), SWIN_OK);
    swin_test_open(&st, "transformers/vit_model.expected.safetensors");
    size_t n;
    const float *ref = swin_test_get(&st, "pooler", &n);
    assert_int_equal((size_t)swin_tensor_numel(got), n);
    SWIN_CHECK("swin run --emit pooler", swin_tensor_data(got), ref, n);
    swin__st_close(&st);
    swin_tensor_free(got);
    /* a model without a pooler */
    const int64_t shape32[4] = {1, 3, 32, 32};
    assert_int_equal(swin_tensor_create(&in, 4, shape32), SWIN_OK);
    assert_int_equal(swin_tensor_save_npy(in, inpath), SWIN_OK);
    swin_tensor_free(in);
    snprintf(args, sizeof args, "run --model '%s' --input '%s' --output '%s' --emit pooler",
             swin_test_fixture("transformers/vit_cls"), inpath, out);
    expect_error(args, 1, "pooler");
}

/* info --list-archs: timm's names, supported or the missing feature named. */
static void test_list_archs(void **state) {
    (void)state;
    char out[300];
    snprintf(out, sizeof out, "%s/archs.txt", tmpdir);
    assert_int_equal(run("info --list-archs", out), 0);
    const char *text = slurp(out);
    assert_non_null(strstr(text, "swin_tiny_patch4_window7_224"));
    const char *line = strstr(text, "vit_base_r50_s16_384 ");
    assert_non_null(line);
    assert_non_null(strstr(line, "not yet: another patch embedding"));
    assert_true(strstr(line, "not yet") < strchr(line, '\n'));
    line = strstr(text, "vit_base_patch16_224 ");
    assert_non_null(line);
    assert_true(strstr(line, "supported") < strchr(line, '\n'));
    assert_int_equal(run("info --list-archs --json", out), 0);
    assert_non_null(strstr(slurp(out), "{\"arch\": \"deit_base_distilled_patch16_224\", "));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_preprocess),
        cmocka_unit_test(test_classify),
        cmocka_unit_test(test_run_logits_and_features),
        cmocka_unit_test(test_info),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_transformers),
        cmocka_unit_test(test_list_archs),
        cmocka_unit_test(test_options_per_command),
        cmocka_unit_test(test_classify_inputs),
        cmocka_unit_test(test_eval),
        cmocka_unit_test(test_info_json),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
