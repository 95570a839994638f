/* The README's usage example: load a model, run a batch from a .npy file, print the logits
 * (and write them all to LOGITS.npy when it is given).
 *   run_model MODEL.safetensors INPUT.npy [LOGITS.npy] */
#include <stdio.h>
#include <swin/swin.h>

int main(int argc, char **argv) {
    swin_model *model = NULL;
    swin_context *ctx = NULL;
    swin_tensor *input = NULL;
    const swin_tensor *logits;
    if (argc < 3 || argc > 4 || swin_model_load_file(&model, argv[1], NULL) != SWIN_OK ||
        swin_tensor_load_npy(&input, argv[2]) != SWIN_OK ||
        swin_context_create(&ctx, model) != SWIN_OK || swin_context_run(ctx, input) != SWIN_OK ||
        swin_context_output(ctx, SWIN_OUTPUT_LOGITS, 0, &logits) != SWIN_OK ||
        (argc == 4 && swin_tensor_save_npy(logits, argv[3]) != SWIN_OK)) {
        fprintf(stderr, "error: %s\n",
                argc == 3 || argc == 4 ? swin_last_error()
                                       : "usage: run_model MODEL INPUT [LOGITS.npy]");
        swin_tensor_free(input), swin_context_free(ctx), swin_model_free(model);
        return 1;
    }
    for (int64_t b = 0; b < swin_tensor_dim(logits, 0); b++) {
        const float *row = swin_tensor_data(logits) + b * swin_tensor_dim(logits, 1);
        int64_t best = 0;
        for (int64_t k = 1; k < swin_tensor_dim(logits, 1); k++)
            best = row[k] > row[best] ? k : best;
        printf("image %lld: class %lld (logit %.4f)\n", (long long)b, (long long)best, row[best]);
    }
    swin_tensor_free(input);
    swin_context_free(ctx);
    swin_model_free(model);
    return 0;
}
