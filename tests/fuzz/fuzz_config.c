/* config.json of a hub folder (timm's or transformers'): parsed from memory into options and
 * class names, then applied to the tiny Swin, ViT and post-norm ViT of corpus/ (architecture,
 * model_args, pretrained_cfg, label_names, transformers' fields against the tensors), and the
 * eval transform it sets run on a small image. The same text is also read as a transformers
 * preprocessor_config.json, and loaded as a real hub folder (config.json beside
 * model.safetensors in a temporary directory), the path swin_model_load_file takes. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "model.h"

static const char *const models[3] = {"corpus/model_swin/swin_timm.safetensors",
                                      "corpus/model_vit/vit_token.safetensors",
                                      "corpus/model_vit_postnorm/vit_postnorm.safetensors"};
static uint8_t *bytes[3];
static size_t sizes[3];
static char folder[256];

static void setup(void) {
    for (int i = 0; i < 3; i++)
        bytes[i] = fuzz_read(models[i], &sizes[i]);
    const char *tmp = getenv("TMPDIR");
    snprintf(folder, sizeof folder, "%s/swin_fuzz_hub_XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(folder)) abort();
    char path[512];
    snprintf(path, sizeof path, "%s/model.safetensors", folder);
    FILE *fp = fopen(path, "wb");
    if (!fp || fwrite(bytes[0], 1, sizes[0], fp) != sizes[0] || fclose(fp) != 0) abort();
}

static void cleanup(void) {
    char path[512];
    snprintf(path, sizeof path, "%s/model.safetensors", folder);
    unlink(path);
    snprintf(path, sizeof path, "%s/config.json", folder);
    unlink(path);
    rmdir(folder);
}

static void use(swin_model *m) {
    for (int64_t k = -1; k <= swin_model_num_classes(m); k++)
        (void)swin_model_label(m, k);
    const int64_t S = swin_model_input_size(m);
    if (S < 1 || S > 256) return;
    static const uint8_t px[5 * 7 * 3] = {0, 255, 17, 200, 3, 99};
    swin_image *img = NULL;
    FUZZ_CHECK(swin_image_wrap_rgb8(&img, px, 7, 5, 21) == SWIN_OK);
    const int64_t shape[4] = {1, 3, S, S};
    swin_tensor *x = NULL;
    FUZZ_CHECK(swin_tensor_create(&x, 4, shape) == SWIN_OK);
    swin_clear_error();
    const swin_status s = swin_image_preprocess(img, m, x, 0);
    if (s != SWIN_OK) FUZZ_CHECK_FAILURE(s);
    swin_tensor_free(x);
    swin_image_free(img);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!bytes[0]) {
        setup();
        atexit(cleanup);
    }
    swin_options *o = NULL;
    FUZZ_CHECK(swin_options_create(&o) == SWIN_OK);
    char **labels = NULL;
    int64_t nlabels = 0;
    swin_clear_error();
    swin_status s = swin__hub_config_memory((const char *)data, size, "config.json", o, &labels,
                                            &nlabels, NULL);
    if (s == SWIN_OK) {
        for (int i = 0; i < 3; i++) {
            swin_model *m = (swin_model *)0x1;
            swin_clear_error();
            s = swin_model_load_memory(&m, bytes[i], sizes[i], o);
            if (s != SWIN_OK) {
                FUZZ_CHECK_FAILURE(s);
                FUZZ_CHECK(m == NULL);
                continue;
            }
            use(m);
            swin_model_free(m);
        }
    } else {
        FUZZ_CHECK_FAILURE(s);
    }
    for (int64_t i = 0; i < nlabels; i++)
        swin__free(labels[i]);
    swin__free(labels);
    swin_options_free(o);

    /* the same text as a transformers preprocessor_config.json, applied to the tiny ViT */
    FUZZ_CHECK(swin_options_create(&o) == SWIN_OK);
    swin_clear_error();
    s = swin__hub_preprocessor_memory((const char *)data, size, "preprocessor_config.json", o,
                                      size % 2 ? "deit" : "vit");
    if (s == SWIN_OK) {
        swin_model *m = (swin_model *)0x1;
        swin_clear_error();
        s = swin_model_load_memory(&m, bytes[1], sizes[1], o);
        if (s == SWIN_OK) {
            use(m);
            swin_model_free(m);
        } else {
            FUZZ_CHECK_FAILURE(s);
            FUZZ_CHECK(m == NULL);
        }
    } else {
        FUZZ_CHECK_FAILURE(s);
    }
    swin_options_free(o);

    /* the folder path: config.json read from the file by jansson, labels checked */
    char path[512];
    snprintf(path, sizeof path, "%s/config.json", folder);
    FILE *fp = fopen(path, "wb");
    if (!fp || fwrite(data, 1, size, fp) != size || fclose(fp) != 0) abort();
    swin_model *m = (swin_model *)0x1;
    swin_clear_error();
    s = swin_model_load_file(&m, folder, NULL);
    if (s == SWIN_OK) {
        use(m);
        swin_model_free(m);
    } else {
        FUZZ_CHECK_FAILURE(s);
        FUZZ_CHECK(m == NULL);
    }
    return 0;
}
