/* The .npy reader (preamble, versions 1-3, header dict, shape, sizes against the file) on a
 * memory stream: swin_tensor_load_npy is swin__npy_read on the opened file. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0; /* fmemopen refuses an empty buffer */
    FILE *fp = fmemopen((void *)(uintptr_t)data, size, "rb");
    if (!fp) abort();
    swin_tensor *t = (swin_tensor *)0x1;
    swin_clear_error();
    const swin_status s = swin__npy_read(&t, fp, "fuzz.npy");
    fclose(fp);
    if (s != SWIN_OK) {
        FUZZ_CHECK_FAILURE(s);
        return 0;
    }
    FUZZ_CHECK(t != NULL && swin_tensor_ndim(t) >= 1 && swin_tensor_ndim(t) <= SWIN_MAX_DIMS);
    FUZZ_CHECK((size_t)swin_tensor_numel(t) * 4 < size);
    volatile float sink = fuzz_touch(swin_tensor_data(t), swin_tensor_numel(t));
    (void)sink;
    swin_tensor_free(t);
    return 0;
}
