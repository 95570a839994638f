/* LayerNorm parameter binding and tensor naming, shared by the layers. */
#include <stdio.h>

#include "layers.h"

const char *swin__name(char *buf, size_t cap, const char *prefix, const char *suffix) {
    snprintf(buf, cap, "%s%s", prefix, suffix);
    return buf;
}

swin_status swin__norm_bind(swin_norm *n, swin_weights *w, const char *prefix, int64_t C,
                            float eps) {
    char name[256];
    const int64_t shape[1] = {C};
    SWIN_TRY(
        swin__w_get(w, swin__name(name, sizeof name, prefix, ".weight"), 1, shape, &n->weight));
    SWIN_TRY(swin__w_get(w, swin__name(name, sizeof name, prefix, ".bias"), 1, shape, &n->bias));
    n->eps = eps;
    return SWIN_OK;
}
