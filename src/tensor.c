/* swin_tensor: float32 row-major tensors, owned or wrapping caller memory. */
#include <string.h>

#include "internal.h"

static swin_status check_shape(int ndim, const int64_t *shape, size_t *numel) {
    if (ndim < 1 || ndim > SWIN_MAX_DIMS)
        return swin__error(SWIN_ERR_INVALID_ARGUMENT, "tensor: ndim %d is outside 1..%d", ndim,
                           SWIN_MAX_DIMS);
    if (!shape) return swin__error(SWIN_ERR_INVALID_ARGUMENT, "tensor: shape is NULL");
    size_t n = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 1)
            return swin__error(SWIN_ERR_INVALID_ARGUMENT, "tensor: dimension %d is %lld (< 1)", i,
                               (long long)shape[i]);
        if (!swin__mul_size(n, (size_t)shape[i], &n) || n > SIZE_MAX / sizeof(float))
            return swin__error(SWIN_ERR_INVALID_ARGUMENT, "tensor: size overflows");
    }
    *numel = n;
    return SWIN_OK;
}

static swin_status make(swin_tensor **out, float *data, int ndim, const int64_t *shape) {
    if (!out) return swin__error(SWIN_ERR_INVALID_ARGUMENT, "tensor: out is NULL");
    *out = NULL;
    size_t numel = 0;
    SWIN_TRY(check_shape(ndim, shape, &numel));
    swin_tensor *t = swin__calloc(1, sizeof *t);
    if (!t) return swin__oom();
    if (data) {
        t->data = data;
    } else {
        t->data = swin__aligned_alloc(numel * sizeof(float));
        if (!t->data) {
            swin__free(t);
            return swin__oom();
        }
        memset(t->data, 0, numel * sizeof(float));
        t->owned = true;
    }
    t->ndim = ndim;
    memcpy(t->shape, shape, (size_t)ndim * sizeof(int64_t));
    *out = t;
    return SWIN_OK;
}

swin_status swin_tensor_create(swin_tensor **out, int ndim, const int64_t *shape) {
    return make(out, NULL, ndim, shape);
}

swin_status swin_tensor_wrap(swin_tensor **out, float *data, int ndim, const int64_t *shape) {
    if (!data) {
        if (out) *out = NULL;
        return swin__error(SWIN_ERR_INVALID_ARGUMENT, "swin_tensor_wrap: data is NULL");
    }
    return make(out, data, ndim, shape);
}

void swin_tensor_free(swin_tensor *t) {
    if (!t) return;
    if (t->owned) swin__aligned_free(t->data);
    swin__free(t);
}

void swin__tensor_view(swin_tensor *t, float *data, int ndim, const int64_t *shape) {
    t->data = data;
    t->ndim = ndim;
    t->owned = false;
    memcpy(t->shape, shape, (size_t)ndim * sizeof(int64_t));
}

float *swin_tensor_data(const swin_tensor *t) {
    return t ? t->data : NULL;
}

int swin_tensor_ndim(const swin_tensor *t) {
    return t ? t->ndim : 0;
}

int64_t swin_tensor_dim(const swin_tensor *t, int i) {
    if (!t || i < 0 || i >= t->ndim) return 0;
    return t->shape[i];
}

int64_t swin_tensor_numel(const swin_tensor *t) {
    if (!t) return 0;
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++)
        n *= t->shape[i];
    return n;
}
