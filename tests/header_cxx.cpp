// The public header compiled as C++ (-Wall -Wextra -pedantic -Werror): extern "C" linkage, no
// C-only constructs. Links against the library and runs as a test.
#include <swin/swin.h>

#include <cstring>

static_assert(SWIN_OK == 0, "SWIN_OK is 0");
static_assert(SWIN_ERR_INTERNAL == 14, "status values are stable");
static_assert(SWIN_MAX_DIMS == 8, "SWIN_MAX_DIMS");

int main() {
    if (swin_version_number() != SWIN_VERSION_NUMBER) return 1;
    if (std::strcmp(swin_version_string(), SWIN_VERSION_STRING) != 0) return 1;
    swin_tensor *t = nullptr;
    const int64_t shape[2] = {2, 3};
    if (swin_tensor_create(&t, 2, shape) != SWIN_OK) return 1;
    const bool ok = swin_tensor_numel(t) == 6;
    swin_tensor_free(t);
    swin_model *m = reinterpret_cast<swin_model *>(1);
    if (swin_model_load_file(&m, nullptr, nullptr) != SWIN_ERR_INVALID_ARGUMENT || m) return 1;
    if (std::strcmp(swin_status_string(SWIN_ERR_SHAPE), "SWIN_ERR_SHAPE") != 0) return 1;
    return ok && swin_last_error()[0] != '\0' ? 0 : 1;
}
