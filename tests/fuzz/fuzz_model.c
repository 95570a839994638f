/* Whole-model binding of a fuzzed file against one family (FUZZ_ARCH: swin, swinv2, swinv2_cr,
 * vit or vit_postnorm, set as the arch option so that a mutated name cannot move the file to
 * another family), then, when it binds and is small, a forward pass at img_size (and at a second
 * size) on an input made from the file's bytes, with a NaN or Inf in it now and then. Seeds: the
 * tiny models of corpus/model_<arch> (gen_seeds.py). */
#include <math.h>
#include <string.h>

#include "fuzz.h"
#include "model.h"

#ifndef FUZZ_ARCH
#error "FUZZ_ARCH must name the family"
#endif

/* Multiply-accumulates above which a forward is skipped (keeps each run in milliseconds). */
#define FUZZ_MAX_MACS 5e6

static void run(swin_model *m, int64_t S, const uint8_t *data, size_t size) {
    int64_t cin = 0;
    if (!swin__parse_int(swin_model_get(m, "in_chans"), &cin) || cin < 1 || cin > 8) return;
    const int64_t shape[4] = {1, cin, S, S};
    swin_tensor *x = NULL;
    if (swin_tensor_create(&x, 4, shape) != SWIN_OK) return;
    float *px = swin_tensor_data(x);
    const int64_t n = swin_tensor_numel(x);
    for (int64_t i = 0; i < n; i++)
        px[i] = ((float)data[(size_t)i % size] - 128.0f) / 32.0f;
    if (size % 5 == 0) px[n / 2] = NAN;
    if (size % 7 == 0) px[0] = INFINITY;
    swin_context *ctx = NULL;
    FUZZ_CHECK(swin_context_create(&ctx, m) == SWIN_OK);
    /* every other input on two threads: the worker pool's splits are fuzzed too */
    FUZZ_CHECK(swin_context_set_num_threads(ctx, 1 + (int)(size % 2)) == SWIN_OK);
    swin_clear_error();
    const swin_status s = swin_context_run(ctx, x);
    if (s == SWIN_OK) {
        const swin_tensor *out;
        volatile float sink = 0.0f;
        if (swin_model_num_classes(m) > 0) {
            FUZZ_CHECK(swin_context_output(ctx, SWIN_OUTPUT_LOGITS, 0, &out) == SWIN_OK);
            FUZZ_CHECK(swin_tensor_dim(out, 1) == swin_model_num_classes(m));
            sink += fuzz_touch(swin_tensor_data(out), swin_tensor_numel(out));
        }
        FUZZ_CHECK(swin_context_output(ctx, SWIN_OUTPUT_FEATURES, 0, &out) == SWIN_OK);
        sink += fuzz_touch(swin_tensor_data(out), swin_tensor_numel(out));
        for (int k = 0; k < swin_model_num_stages(m); k++) {
            FUZZ_CHECK(swin_context_output(ctx, SWIN_OUTPUT_STAGE, k, &out) == SWIN_OK);
            sink += fuzz_touch(swin_tensor_data(out), swin_tensor_numel(out));
        }
        (void)sink;
    } else {
        FUZZ_CHECK(s == SWIN_ERR_INPUT_SIZE || s == SWIN_ERR_OUT_OF_MEMORY);
        FUZZ_CHECK(swin_last_error()[0] != '\0');
    }
    swin_context_free(ctx);
    swin_tensor_free(x);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static swin_options *opts;
    if (!opts && (swin_options_create(&opts) != SWIN_OK ||
                  swin_options_set(opts, "arch", FUZZ_ARCH) != SWIN_OK))
        abort();
    swin_model *m = (swin_model *)0x1;
    swin_clear_error();
    const swin_status s = swin_model_load_memory(&m, data, size, opts);
    if (s != SWIN_OK) {
        FUZZ_CHECK_FAILURE(s);
        FUZZ_CHECK(m == NULL);
        return 0;
    }
    FUZZ_CHECK(strcmp(swin_model_get(m, "family"), FUZZ_ARCH) == 0);
    int64_t img = 0, patch = 0;
    double macs = 0.0;
    FUZZ_CHECK(swin_model_flops(m, -1, &macs, NULL) == SWIN_OK);
    if (swin__parse_int(swin_model_get(m, "img_size"), &img) &&
        swin__parse_int(swin_model_get(m, "patch_size"), &patch) && img <= 64 &&
        macs <= FUZZ_MAX_MACS) {
        run(m, img, data, size);
        /* another size: padded windows for Swin, fewer tokens for the post-norm ViT */
        if (img + patch <= 64) run(m, img + patch, data, size);
        if (img > patch) run(m, img - patch, data, size);
    }
    swin_model_free(m);
    return 0;
}
