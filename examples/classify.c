/* Image files in, top-5 labels out, through the public API alone (swin/swin.h):
 *   classify MODEL IMAGE...
 * MODEL is a .safetensors file or a hub folder (examples/shapes); each image is a JPEG or PNG,
 * preprocessed as the model's checkpoint says (timm's or transformers' evaluation transform).
 * Prints "IMAGE: label (prob%)" lines, most probable first; an image that fails is reported on
 * stderr, the others still run, and the exit status is then 1. */
#include <stdio.h>
#include <swin/swin.h>

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: classify MODEL IMAGE...\n");
        return 2;
    }
    swin_model *model = NULL;
    swin_context *ctx = NULL;
    swin_tensor *batch = NULL;
    if (swin_model_load_file(&model, argv[1], NULL) != SWIN_OK ||
        swin_context_create(&ctx, model) != SWIN_OK) {
        fprintf(stderr, "classify: %s\n", swin_last_error());
        swin_model_free(model);
        return 1;
    }
    const int64_t S = swin_model_input_size(model), shape[4] = {1, 3, S, S};
    const int64_t k = swin_model_num_classes(model) < 5 ? swin_model_num_classes(model) : 5;
    int status = 0;
    if (swin_tensor_create(&batch, 4, shape) != SWIN_OK) {
        fprintf(stderr, "classify: %s\n", swin_last_error());
        status = 1;
    }
    for (int i = 2; i < argc && batch; i++) {
        swin_image *image = NULL;
        int64_t classes[5];
        float probs[5];
        if (swin_image_load_file(&image, argv[i]) != SWIN_OK ||
            swin_image_preprocess(image, model, batch, 0) != SWIN_OK ||
            swin_context_run(ctx, batch) != SWIN_OK ||
            swin_context_topk(ctx, 0, k, classes, probs) != SWIN_OK) {
            fprintf(stderr, "%s: %s\n", argv[i], swin_last_error());
            status = 1;
        } else {
            for (int64_t j = 0; j < k; j++) {
                const char *label = swin_model_label(model, classes[j]);
                if (label)
                    printf("%s: %s (%.2f%%)\n", argv[i], label, 100.0 * probs[j]);
                else
                    printf("%s: class %lld (%.2f%%)\n", argv[i], (long long)classes[j],
                           100.0 * probs[j]);
            }
        }
        swin_image_free(image);
    }
    swin_tensor_free(batch);
    swin_context_free(ctx);
    swin_model_free(model);
    return status;
}
