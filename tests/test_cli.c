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
    snprintf(cmd, sizeof cmd, "'%s' %s >'%s' 2>'%s'", SWIN_CLI, args, out ? out : "/dev/null",
             errfile);
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
    assert_int_equal(lines, 3);
    assert_non_null(strstr(text, "\"top\": [{\"index\": "));
    assert_non_null(strstr(slurp(errfile), "missing.png"));
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
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
