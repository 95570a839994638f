/* Public model and context API: loading, family dispatch, facts, memory plans, runs. */
#include <string.h>

#include "model.h"

static const swin_family *const families[] = {&swin__family_swin, &swin__family_vit_postnorm,
                                               &swin__family_vit};

static swin_status load(swin_model **out, const char *path, const void *data, size_t size,
                        const swin_options *opts) {
    if (!out) return swin__error(SWIN_ERR_INVALID_ARGUMENT, "swin_model_load: out is NULL");
    *out = NULL;
    swin_model *m = swin__calloc(1, sizeof *m);
    if (!m) return swin__oom();
    swin_status s = path ? swin__st_open(&m->st, path) : swin__st_parse(&m->st, data, size);
    if (s != SWIN_OK) goto fail;
    const char *arch = swin__opt(opts, "arch");
    if (!arch) arch = swin__st_meta(&m->st, "arch");
    for (size_t i = 0; i < sizeof families / sizeof families[0]; i++)
        if (families[i]->accepts(arch, &m->st)) {
            m->family = families[i];
            break;
        }
    if (!m->family) {
        s = arch ? swin__error(SWIN_ERR_CONFIG, "unknown arch \"%.64s\"", arch)
                 : swin__error(SWIN_ERR_CONFIG, "cannot tell the architecture: no arch given and "
                                                "the tensor names match no known family");
        goto fail;
    }
    SWIN_TRY_GOTO(s, m->family->bind(m, opts), fail);
    *out = m;
    return SWIN_OK;
fail:
    swin_model_free(m);
    return s;
}

swin_status swin_model_load_file(swin_model **out, const char *path, const swin_options *opts) {
    if (!path) {
        if (out) *out = NULL;
        return swin__error(SWIN_ERR_INVALID_ARGUMENT, "swin_model_load_file: path is NULL");
    }
    return load(out, path, NULL, 0, opts);
}

swin_status swin_model_load_memory(swin_model **out, const void *data, size_t size,
                                   const swin_options *opts) {
    if (!data) {
        if (out) *out = NULL;
        return swin__error(SWIN_ERR_INVALID_ARGUMENT, "swin_model_load_memory: data is NULL");
    }
    return load(out, NULL, data, size, opts);
}

void swin_model_free(swin_model *m) {
    if (!m) return;
    if (m->family && m->impl) m->family->unbind(m);
    swin__st_close(&m->st);
    swin__free(m);
}

const char *swin_model_get(const swin_model *m, const char *key) {
    if (!m || !key) return NULL;
    for (int i = 0; i < m->num_config; i++)
        if (strcmp(m->config[i].key, key) == 0) return m->config[i].value;
    return NULL;
}

int64_t swin_model_num_classes(const swin_model *m) {
    return m ? m->num_classes : 0;
}

int swin_model_num_stages(const swin_model *m) {
    return m ? m->num_stages : 0;
}

int64_t swin_model_num_params(const swin_model *m) {
    return m ? m->num_params : 0;
}

swin_status swin_model_stage_dims(const swin_model *m, int stage, int64_t *depth, int64_t *heads,
                                  int64_t *channels, int64_t *height, int64_t *width,
                                  int64_t *window) {
    if (!m) return swin__error(SWIN_ERR_INVALID_ARGUMENT, "swin_model_stage_dims: model is NULL");
    if (stage < 0 || stage >= m->num_stages)
        return swin__error(SWIN_ERR_INVALID_ARGUMENT, "stage %d out of range 0..%d", stage,
                           m->num_stages - 1);
    int64_t v[6];
    SWIN_TRY(m->family->stage_dims(m, stage, v));
    int64_t *outs[6] = {depth, heads, channels, height, width, window};
    for (int i = 0; i < 6; i++)
        if (outs[i]) *outs[i] = v[i];
    return SWIN_OK;
}

swin_status swin_model_flops(const swin_model *m, int stage, double *flops, double *flops_global) {
    if (!m) return swin__error(SWIN_ERR_INVALID_ARGUMENT, "swin_model_flops: model is NULL");
    if (stage < -1 || stage >= m->num_stages)
        return swin__error(SWIN_ERR_INVALID_ARGUMENT, "stage %d out of range -1..%d", stage,
                           m->num_stages - 1);
    double f = 0, g = 0;
    SWIN_TRY(m->family->flops(m, stage, &f, &g));
    if (flops) *flops = f;
    if (flops_global) *flops_global = g;
    return SWIN_OK;
}

size_t swin_model_num_tensors(const swin_model *m) {
    return m ? m->st.num_tensors : 0;
}

swin_status swin_model_tensor_info(const swin_model *m, size_t i, const char **name,
                                   const char **dtype, int *ndim, const int64_t **shape) {
    if (!m) return swin__error(SWIN_ERR_INVALID_ARGUMENT, "swin_model_tensor_info: model is NULL");
    if (i >= m->st.num_tensors)
        return swin__error(SWIN_ERR_INVALID_ARGUMENT, "tensor index %zu out of range (%zu tensors)",
                           i, m->st.num_tensors);
    const swin_st_tensor *t = &m->st.tensors[i];
    if (name) *name = t->name;
    if (dtype) *dtype = swin__dtype_name(t->dtype);
    if (ndim) *ndim = t->ndim;
    if (shape) *shape = t->shape;
    return SWIN_OK;
}

/* ---- contexts ---- */

swin_status swin_context_create(swin_context **out, const swin_model *model) {
    if (!out) return swin__error(SWIN_ERR_INVALID_ARGUMENT, "swin_context_create: out is NULL");
    *out = NULL;
    if (!model)
        return swin__error(SWIN_ERR_INVALID_ARGUMENT, "swin_context_create: model is NULL");
    swin_context *ctx = swin__calloc(1, sizeof *ctx);
    if (!ctx) return swin__oom();
    ctx->model = model;
    *out = ctx;
    return SWIN_OK;
}

static void unplan(swin_context *ctx) {
    if (ctx->plan) ctx->model->family->unplan(ctx);
    swin__aligned_free(ctx->arena);
    ctx->arena = NULL;
    ctx->plan = NULL;
    ctx->arena_bytes = 0;
    ctx->B = ctx->H = ctx->W = 0;
    ctx->ran = false;
}

void swin_context_free(swin_context *ctx) {
    if (!ctx) return;
    unplan(ctx);
    swin__free(ctx);
}

swin_status swin_context_reserve(swin_context *ctx, int64_t batch, int64_t height, int64_t width) {
    if (!ctx) return swin__error(SWIN_ERR_INVALID_ARGUMENT, "swin_context_reserve: ctx is NULL");
    if (batch < 1 || height < 1 || width < 1)
        return swin__error(SWIN_ERR_INVALID_ARGUMENT,
                           "input batch %lld, height %lld, width %lld: each must be >= 1",
                           (long long)batch, (long long)height, (long long)width);
    /* Bounds that keep every size computed from them far from int64 overflow. */
    uint64_t pixels;
    if (batch > (1 << 24) || height > (1 << 24) || width > (1 << 24) ||
        __builtin_mul_overflow((uint64_t)batch, (uint64_t)height, &pixels) ||
        __builtin_mul_overflow(pixels, (uint64_t)width, &pixels) || pixels > ((uint64_t)1 << 36))
        return swin__error(SWIN_ERR_INPUT_SIZE,
                           "input batch %lld x %lld x %lld pixels is too large",
                           (long long)batch, (long long)height, (long long)width);
    if (ctx->B == batch && ctx->H == height && ctx->W == width) return SWIN_OK;
    unplan(ctx);
    swin_status s = ctx->model->family->plan(ctx, batch, height, width);
    if (s != SWIN_OK) {
        unplan(ctx);
        return s;
    }
    ctx->B = batch;
    ctx->H = height;
    ctx->W = width;
    return SWIN_OK;
}

size_t swin_context_memory_bytes(const swin_context *ctx) {
    return ctx ? ctx->arena_bytes : 0;
}

swin_status swin_context_run(swin_context *ctx, const swin_tensor *input) {
    if (!ctx || !input)
        return swin__error(SWIN_ERR_INVALID_ARGUMENT, "swin_context_run: NULL argument");
    const int64_t Cin = ctx->model->in_chans;
    if (input->ndim != 4 || input->shape[1] != Cin)
        return swin__error(SWIN_ERR_INVALID_ARGUMENT,
                           "input must be [B, %lld, H, W] (NCHW); got %d dimensions with %lld "
                           "channels",
                           (long long)Cin, input->ndim,
                           (long long)(input->ndim > 1 ? input->shape[1] : 0));
    SWIN_TRY(swin_context_reserve(ctx, input->shape[0], input->shape[2], input->shape[3]));
    ctx->model->family->forward(ctx, input->data);
    ctx->ran = true;
    return SWIN_OK;
}

swin_status swin_context_output(swin_context *ctx, swin_output kind, int index,
                                const swin_tensor **out) {
    if (!ctx || !out)
        return swin__error(SWIN_ERR_INVALID_ARGUMENT, "swin_context_output: NULL argument");
    *out = NULL;
    if (!ctx->ran)
        return swin__error(SWIN_ERR_INVALID_ARGUMENT, "swin_context_output: no run since the last plan");
    switch (kind) {
    case SWIN_OUTPUT_LOGITS:
        if (ctx->model->num_classes == 0)
            return swin__error(SWIN_ERR_INVALID_ARGUMENT, "the model has no classifier head");
        *out = &ctx->logits;
        return SWIN_OK;
    case SWIN_OUTPUT_FEATURES: *out = &ctx->features; return SWIN_OK;
    case SWIN_OUTPUT_STAGE:
        if (index < 0 || index >= ctx->model->num_stages)
            return swin__error(SWIN_ERR_INVALID_ARGUMENT, "stage %d out of range 0..%d", index,
                               ctx->model->num_stages - 1);
        *out = &ctx->stages[index];
        return SWIN_OK;
    }
    return swin__error(SWIN_ERR_INVALID_ARGUMENT, "unknown output kind %d", (int)kind);
}
