/* The safetensors reader on raw bytes (header length, JSON, entries, dtypes, shapes, offsets,
 * overlaps, metadata, F16/BF16/unaligned conversion), then the whole loader on the same bytes
 * with the family judged from the tensor names, and the model facts of what loads. */
#include <string.h>

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    swin_safetensors st = {0};
    swin_clear_error();
    swin_status s = swin__st_parse(&st, data, size);
    if (s == SWIN_OK) {
        volatile float sink = 0.0f;
        for (size_t i = 0; i < st.num_tensors; i++) {
            const swin_st_tensor *t = &st.tensors[i];
            FUZZ_CHECK(swin__st_find(&st, t->name) != NULL);
            FUZZ_CHECK(t->raw >= data + 8 && t->raw + t->nbytes <= data + size);
            if (t->f32) sink += fuzz_touch(t->f32, (int64_t)t->numel);
            uint8_t x = 0;
            for (size_t k = 0; k < t->nbytes; k++)
                x ^= t->raw[k];
            sink += x;
        }
        for (size_t i = 0; i < st.num_meta; i++)
            FUZZ_CHECK(swin__st_meta(&st, st.meta[i].key) != NULL);
        (void)sink;
    } else {
        FUZZ_CHECK_FAILURE(s);
    }
    swin__st_close(&st);

    swin_model *m = (swin_model *)0x1;
    swin_clear_error();
    s = swin_model_load_memory(&m, data, size, NULL);
    if (s != SWIN_OK) {
        FUZZ_CHECK_FAILURE(s);
        FUZZ_CHECK(m == NULL);
        return 0;
    }
    for (size_t i = 0; i < swin_model_num_tensors(m); i++) {
        const char *name, *dtype;
        int ndim;
        const int64_t *shape;
        FUZZ_CHECK(swin_model_tensor_info(m, i, &name, &dtype, &ndim, &shape) == SWIN_OK);
    }
    for (int i = -1; i < swin_model_num_stages(m); i++) {
        double f, g;
        FUZZ_CHECK(swin_model_flops(m, i, &f, &g) == SWIN_OK);
        if (i >= 0)
            FUZZ_CHECK(swin_model_stage_dims(m, i, NULL, NULL, NULL, NULL, NULL, NULL) == SWIN_OK);
    }
    FUZZ_CHECK(swin_model_get(m, "family") != NULL);
    (void)swin_model_label(m, 0);
    swin_model_free(m);
    return 0;
}
