/* Public model and context API: loading, family dispatch, facts, memory plans, runs. */
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <sched.h>
#include <string.h>
#include <sys/stat.h>

#include "model.h"

/* The shortest decimal text that reads back as v (as a float when single). */
static const char *shortest(char *buf, size_t cap, double v, bool single) {
    for (int digits = 1; digits <= 17; digits++) {
        snprintf(buf, cap, "%.*g", digits, v);
        const double back = strtod(buf, NULL);
        if (single ? (float)back == (float)v : back == v) break;
    }
    return buf;
}

/* The eval transform: explicit settings (config.json's pretrained_cfg or
 * preprocessor_config.json among them), then metadata, then the timm architecture's default
 * pretrained_cfg, then the family's defaults. */
static swin_status resolve_preprocessing(swin_model *m, const swin_options *opts) {
    swin_preproc *p = &m->pre;
    const swin_family *f = m->family;
    memset(p, 0, sizeof *p);
    for (int c = 0; c < 3; c++) {
        p->mean[c] = f->mean[c];
        p->std[c] = f->std[c];
    }
    snprintf(p->interpolation, sizeof p->interpolation, "%s", f->interpolation);
    snprintf(p->crop_mode, sizeof p->crop_mode, "center");
    p->crop_pct = f->crop_pct;
    p->rescale_factor = 1.0 / 255.0;
    const char *img = swin_model_get(m, "img_size");
    if (!img || !swin__parse_int(img, &p->input_size)) p->input_size = 224;
    const char *v;
#define PRE_VALUE(key)                                                                             \
    ((v = swin__opt(opts, key)) || (v = swin__st_meta(&m->st, key)) ||                             \
     (v = swin__arch_cfg(m->arch, key)))
    if (PRE_VALUE("input_size")) {
        int64_t chw[3];
        int n;
        /* timm's pretrained_cfg writes (C, H, W) */
        if (!swin__parse_int_list(v, chw, 3, &n) || n == 2 || chw[n - 1] < 1 ||
            (n == 3 && chw[1] != chw[2]))
            return swin__error(SWIN_ERR_CONFIG,
                               "input_size: \"%.64s\" is not a positive integer (or a square "
                               "C,H,W)",
                               v);
        p->input_size = chw[n - 1];
    }
    if (PRE_VALUE("interpolation")) {
        if (!swin__interpolation_known(v) || strlen(v) >= sizeof p->interpolation)
            return swin__error(SWIN_ERR_CONFIG,
                               "interpolation: \"%.64s\" is not one of bicubic, "
                               "bilinear, lanczos, hamming, box",
                               v);
        snprintf(p->interpolation, sizeof p->interpolation, "%s", v);
    }
    if (PRE_VALUE("crop_pct") && (!swin__parse_double(v, &p->crop_pct) || p->crop_pct > 4.0))
        return swin__error(SWIN_ERR_CONFIG, "crop_pct: \"%.64s\" is not a number in (0, 4]", v);
    if (PRE_VALUE("crop_mode")) {
        if (strcmp(v, "center") != 0 && strcmp(v, "squash") != 0 && strcmp(v, "border") != 0)
            return swin__error(SWIN_ERR_CONFIG,
                               "crop_mode: \"%.64s\" is not center, squash or border", v);
        snprintf(p->crop_mode, sizeof p->crop_mode, "%s", v);
    }
    if (PRE_VALUE("mean") && !swin__parse_rgb(v, p->mean))
        return swin__error(SWIN_ERR_CONFIG, "mean: \"%.64s\" is not three numbers", v);
    if (PRE_VALUE("std") &&
        (!swin__parse_rgb(v, p->std) || !(p->std[0] > 0 && p->std[1] > 0 && p->std[2] > 0)))
        return swin__error(SWIN_ERR_CONFIG, "std: \"%.64s\" is not three positive numbers", v);
    /* transformers' image processors */
    if (PRE_VALUE("preprocessing")) p->transformers = strcmp(v, "transformers") == 0;
    if (PRE_VALUE("resize_to")) {
        int64_t hw[2];
        int n;
        if (!swin__parse_int_list(v, hw, 2, &n) || hw[0] < 1 || hw[n - 1] < 1)
            return swin__error(SWIN_ERR_CONFIG, "resize_to: \"%.64s\" is not HEIGHT,WIDTH", v);
        if (hw[0] != hw[n - 1])
            return swin__error(SWIN_ERR_UNSUPPORTED,
                               "resize_to %.64s: a non-square resize is not supported yet", v);
        p->resize_h = hw[0];
        p->resize_w = hw[n - 1];
    }
    if (PRE_VALUE("shortest_edge") &&
        (!swin__parse_int(v, &p->shortest_edge) || p->shortest_edge < 1))
        return swin__error(SWIN_ERR_CONFIG, "shortest_edge: \"%.64s\" is not positive", v);
    if (PRE_VALUE("center_crop") && !swin__parse_bool(v, &p->center_crop))
        return swin__error(SWIN_ERR_CONFIG, "center_crop: \"%.64s\" is not true or false", v);
    if (PRE_VALUE("rescale_factor") && !swin__parse_double(v, &p->rescale_factor))
        return swin__error(SWIN_ERR_CONFIG, "rescale_factor: \"%.64s\" is not positive", v);
#undef PRE_VALUE
    /* every normalised pixel must be a finite float: (x - mean) / std for x in [0, 255 *
     * rescale_factor] */
    for (int c = 0; c < 3; c++) {
        const double top = 255.0 * p->rescale_factor, mu = p->mean[c], sd = p->std[c];
        const double far = fabs(mu) > fabs(top - mu) ? fabs(mu) : fabs(top - mu);
        if (!(far / sd <= 1e30))
            return swin__error(SWIN_ERR_CONFIG,
                               "mean %g and std %g (channel %d) with rescale_factor %g make the "
                               "normalised input non-finite",
                               mu, sd, c, p->rescale_factor);
    }
    if (p->input_size > 16384 || p->resize_h > 16384 || p->shortest_edge > 16384)
        return swin__error(SWIN_ERR_CONFIG, "input_size %lld is too large",
                           (long long)p->input_size);
    SWIN_TRY(swin__config_set(m, "input_size", "%lld", (long long)p->input_size));
    SWIN_TRY(swin__config_set(m, "interpolation", "%s", p->interpolation));
    if (p->transformers) {
        SWIN_TRY(swin__config_set(m, "preprocessing", "transformers"));
        if (p->resize_h)
            SWIN_TRY(swin__config_set(m, "resize_to", "%lld,%lld", (long long)p->resize_h,
                                      (long long)p->resize_w));
        if (p->shortest_edge)
            SWIN_TRY(swin__config_set(m, "shortest_edge", "%lld", (long long)p->shortest_edge));
        SWIN_TRY(swin__config_set(m, "center_crop", "%s", p->center_crop ? "true" : "false"));
        char r[32];
        SWIN_TRY(swin__config_set(m, "rescale_factor", "%s",
                                  shortest(r, sizeof r, p->rescale_factor, false)));
    } else {
        SWIN_TRY(swin__config_set(m, "crop_pct", "%g", p->crop_pct));
        SWIN_TRY(swin__config_set(m, "crop_mode", "%s", p->crop_mode));
    }
    /* the float values exactly, in the fewest digits */
    char a[32], b[32], c[32];
    SWIN_TRY(swin__config_set(m, "mean", "%s,%s,%s", shortest(a, sizeof a, p->mean[0], true),
                              shortest(b, sizeof b, p->mean[1], true),
                              shortest(c, sizeof c, p->mean[2], true)));
    SWIN_TRY(swin__config_set(m, "std", "%s,%s,%s", shortest(a, sizeof a, p->std[0], true),
                              shortest(b, sizeof b, p->std[1], true),
                              shortest(c, sizeof c, p->std[2], true)));
    return SWIN_OK;
}

static bool is_directory(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/* Picks the family (and the timm architecture row) from the arch name, the transformers
 * model_type, the layout or the tensors. */
static swin_status choose_family(swin_model *m, const swin_options *opts, const swin_hub *hub,
                                 swin_source *src) {
    const char *arch = swin__opt(opts, "arch");
    src->arch_from_meta = false;
    if (!arch && (arch = swin__st_meta(&m->st, "arch"))) src->arch_from_meta = true;
    if (arch) {
        if ((m->family = swin__family_named(arch))) return SWIN_OK;
        const swin_arch *row = swin__arch_find(arch);
        if (!row) return swin__error(SWIN_ERR_CONFIG, "unknown arch \"%.64s\"", arch);
        m->arch = src->arch = row;
        snprintf(src->arch_origin, sizeof src->arch_origin, "timm arch %s", row->name);
        char why[512];
        m->family = swin__arch_family(row, src, why, sizeof why);
        if (!m->family)
            return swin__error(SWIN_ERR_UNSUPPORTED,
                               "%s needs %s, which libswin does not support yet", arch, why);
        return SWIN_OK;
    }
    if (hub->model_type[0]) {
        m->family = swin__family_for_model_type(hub->model_type);
        return SWIN_OK; /* hub.c refused the model types no family reads */
    }
    if (strcmp(swin__layout_name(m->w.layout), "pytorch") == 0) {
        m->family = &swin__family_vit_postnorm;
        return SWIN_OK;
    }
    for (size_t i = 0; i < swin__num_families; i++)
        if (swin__families[i]->detect && swin__families[i]->detect(&m->w)) {
            m->family = swin__families[i];
            return SWIN_OK;
        }
    return swin__error(SWIN_ERR_CONFIG, "cannot tell the architecture: no arch given and the "
                                        "tensor names match no known family");
}

static swin_status load(swin_model **out, const char *path, const void *data, size_t size,
                        const swin_options *caller) {
    if (!out) return swin__error(SWIN_ERR_INVALID_ARGUMENT, "swin_model_load: out is NULL");
    *out = NULL;
    SWIN_TRY(swin__kernels_ready());
    swin__blas_single_threaded();
    swin_model *m = swin__calloc(1, sizeof *m);
    swin_options *merged = swin__calloc(1, sizeof *merged);
    if (!m || !merged) {
        swin__free(m);
        swin__free(merged);
        return swin__oom();
    }
    const swin_options *opts = caller;
    swin_hub hub = {0};
    swin_status s;
    char file[4096];
    if (path && is_directory(path)) {
        /* a hub folder: config.json (optional) gives settings below the caller's own */
        /* only a config.json that is not there at all means "none": one that cannot be opened
         * or read (a dangling link, a link loop, no permission, a FIFO) is an error */
        snprintf(file, sizeof file, "%s/config.json", path);
        if (swin__path_present(file))
            SWIN_TRY_GOTO(s, swin__hub_config(file, merged, &m->labels, &m->num_labels, &hub),
                          fail);
        snprintf(file, sizeof file, "%s/preprocessor_config.json", path);
        if (hub.layout[0])
            SWIN_TRY_GOTO(s,
                          swin__hub_preprocessor(swin__path_present(file) ? file : NULL, merged,
                                                 hub.model_type),
                          fail);
        if (caller) SWIN_TRY_GOTO(s, swin__options_merge(merged, caller), fail);
        opts = merged;
        snprintf(file, sizeof file, "%s/model.safetensors", path);
        path = file;
    }
    /* load: map (the file mapped read-only; default) or copy (the weights in memory of our own,
     * immune to the file or the caller's bytes changing afterwards: docs/security.md) */
    const char *lm = swin__opt(opts, "load");
    if (lm && strcmp(lm, "map") != 0 && strcmp(lm, "copy") != 0) {
        s = swin__error(SWIN_ERR_CONFIG, "load: \"%.64s\" is not map or copy", lm);
        goto fail;
    }
    const bool copy = lm && strcmp(lm, "copy") == 0;
    s = path   ? swin__st_open(&m->st, path, copy)
        : copy ? swin__st_copy(&m->st, data, size)
               : swin__st_parse(&m->st, data, size);
    if (s != SWIN_OK) goto fail;
    SWIN_TRY_GOTO(
        s,
        swin__weights_build(&m->w, &m->st,
                            swin__layout_detect(&m->st, hub.layout[0] ? hub.layout : NULL)),
        fail);
    swin_source src = {opts, NULL, false, &m->st, ""};
    SWIN_TRY_GOTO(s, choose_family(m, opts, &hub, &src), fail);
    const char *arch = m->arch                         ? m->arch->name
                       : hub.architecture[0]           ? hub.architecture
                       : swin__opt(opts, "arch")       ? swin__opt(opts, "arch")
                       : swin__st_meta(&m->st, "arch") ? swin__st_meta(&m->st, "arch")
                                                       : m->family->name;
    SWIN_TRY_GOTO(s, swin__family_check(m->family, &src, arch), fail);
    SWIN_TRY_GOTO(s, swin__config_set(m, "family", "%s", m->family->name), fail);
    SWIN_TRY_GOTO(s, swin__config_set(m, "load", "%s", copy ? "copy" : "map"), fail);
    SWIN_TRY_GOTO(s, swin__config_set(m, "arch", "%s", arch), fail);
    SWIN_TRY_GOTO(s, swin__config_set(m, "naming", "%s", swin__layout_name(m->w.layout)), fail);
    SWIN_TRY_GOTO(s, m->family->bind(m, &src), fail);
    SWIN_TRY_GOTO(s, swin__w_check_unused(&m->w, arch), fail);
    SWIN_TRY_GOTO(s, resolve_preprocessing(m, opts), fail);
    if (m->labels && m->num_labels != m->num_classes) {
        s = swin__error(SWIN_ERR_CONFIG,
                        "config.json's class names (label_names or id2label) are %lld for %lld "
                        "classes",
                        (long long)m->num_labels, (long long)m->num_classes);
        goto fail;
    }
    swin_options_free(merged);
    *out = m;
    return SWIN_OK;
fail:
    swin_options_free(merged);
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
    for (int64_t i = 0; i < m->num_labels; i++)
        swin__free(m->labels[i]);
    swin__free(m->labels);
    for (int i = 0; i < m->num_config; i++) {
        swin__free(m->config[i].key);
        swin__free(m->config[i].value);
        swin__free(m->config[i].origin);
    }
    swin__free(m->config);
    swin__weights_free(&m->w);
    swin__st_close(&m->st);
    swin__free(m);
}

const char *swin_model_get(const swin_model *m, const char *key) {
    if (!m || !key) return NULL;
    for (int i = 0; i < m->num_config; i++)
        if (strcmp(m->config[i].key, key) == 0) return m->config[i].value;
    return NULL;
}

size_t swin_model_config_count(const swin_model *m) {
    return m ? (size_t)m->num_config : 0;
}

swin_status swin_model_config_item(const swin_model *m, size_t i, const char **key,
                                   const char **value) {
    if (!m) return swin__error(SWIN_ERR_INVALID_ARGUMENT, "swin_model_config_item: model is NULL");
    if (i >= (size_t)m->num_config)
        return swin__error(SWIN_ERR_INVALID_ARGUMENT, "config entry %zu out of range (%d entries)",
                           i, m->num_config);
    if (key) *key = m->config[i].key;
    if (value) *value = m->config[i].value;
    return SWIN_OK;
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

size_t swin__arena_size(swin_arena *ar, size_t n) {
    if (n == SIZE_MAX) ar->overflow = true;
    return n;
}

size_t swin__arena_count(swin_arena *ar, int64_t a, int64_t b, int64_t c, int64_t d) {
    size_t r = 1;
    const int64_t f[4] = {a, b, c, d};
    for (int i = 0; i < 4; i++)
        if (f[i] < 0 || !swin__mul_size(r, (size_t)f[i], &r)) ar->overflow = true;
    return r;
}

float *swin__arena_take(swin_arena *ar, size_t n) {
    size_t rounded;
    if (!swin__add_size(n, 15, &rounded)) ar->overflow = true;
    rounded &= ~(size_t)15; /* 64-byte alignment for every buffer */
    float *p = ar->base && !ar->overflow ? ar->base + ar->used : NULL;
    if (!swin__add_size(ar->used, rounded, &ar->used)) ar->overflow = true;
    return p;
}

swin_status swin__arena_alloc(swin_context *ctx, const swin_arena *counted, int64_t B, int64_t H,
                              int64_t W) {
    size_t bytes;
    if (counted->overflow || !swin__mul_size(counted->used, sizeof(float), &bytes))
        return swin__error(SWIN_ERR_INPUT_SIZE, "input [%lld, %lld, %lld, %lld] is too large",
                           (long long)B, (long long)ctx->model->in_chans, (long long)H,
                           (long long)W);
    ctx->arena = swin__aligned_alloc_large(bytes);
    if (!ctx->arena)
        return swin__error(SWIN_ERR_OUT_OF_MEMORY,
                           "out of memory: the activations of an input [%lld, %lld, %lld, %lld] "
                           "need %zu bytes (%.1f MiB)",
                           (long long)B, (long long)ctx->model->in_chans, (long long)H,
                           (long long)W, bytes, (double)bytes / 1048576.0);
    ctx->arena_bytes = bytes;
    return SWIN_OK;
}

swin_status swin_context_create(swin_context **out, const swin_model *model) {
    if (!out) return swin__error(SWIN_ERR_INVALID_ARGUMENT, "swin_context_create: out is NULL");
    *out = NULL;
    if (!model) return swin__error(SWIN_ERR_INVALID_ARGUMENT, "swin_context_create: model is NULL");
    swin_context *ctx = swin__calloc(1, sizeof *ctx);
    if (!ctx) return swin__oom();
    ctx->model = model;
    *out = ctx;
    return SWIN_OK;
}

static void unplan(swin_context *ctx) {
    swin__free(ctx->plan);
    swin__aligned_free(ctx->arena);
    ctx->arena = NULL;
    ctx->plan = NULL;
    ctx->arena_bytes = 0;
    ctx->B = ctx->H = ctx->W = 0;
    ctx->ran = false;
}

/* Takes the context for one call; SWIN_ERR_BUSY when another thread is inside a call on it.
 * One atomic exchange: nothing measurable next to a pass (docs/threading.md). */
static swin_status enter(swin_context *ctx, const char *fn) {
    int idle = 0;
    if (atomic_compare_exchange_strong(&ctx->busy, &idle, 1)) return SWIN_OK;
    return swin__error(SWIN_ERR_BUSY,
                       "%s: the context is in use by another thread (a context must not be used "
                       "by two threads at once: give each thread its own)",
                       fn);
}

static void leave(swin_context *ctx) {
    atomic_store(&ctx->busy, 0);
}

void swin_context_free(swin_context *ctx) {
    if (!ctx) return;
    /* another thread inside a call (a misuse): wait for it to return rather than free memory
     * in use */
    int idle = 0;
    while (!atomic_compare_exchange_weak(&ctx->busy, &idle, 1)) {
        idle = 0;
        sched_yield();
    }
    unplan(ctx);
    swin__pool_free(ctx->pool);
    swin__free(ctx);
}

swin_status swin_context_set_num_threads(swin_context *ctx, int n) {
    if (!ctx)
        return swin__error(SWIN_ERR_INVALID_ARGUMENT, "swin_context_set_num_threads: ctx is NULL");
    if (n < 0 || n > 1024)
        return swin__error(SWIN_ERR_INVALID_ARGUMENT,
                           "swin_context_set_num_threads: %d is outside 0..1024", n);
    SWIN_TRY(enter(ctx, "swin_context_set_num_threads"));
    ctx->threads_wanted = n;
    leave(ctx);
    return SWIN_OK;
}

/* Makes the pool match the wanted thread count (a smaller one when threads cannot be started). */
static swin_status ensure_pool(swin_context *ctx) {
    const int want = ctx->threads_wanted ? ctx->threads_wanted : swin__default_threads();
    if (ctx->pool && ctx->pool_wanted == want && !swin__pool_stale(ctx->pool)) return SWIN_OK;
    swin__pool_free(ctx->pool);
    ctx->pool = NULL;
    ctx->pool_wanted = 0;
    SWIN_TRY(swin__pool_create(&ctx->pool, want));
    ctx->pool_wanted = want;
    return SWIN_OK;
}

/* swin_context_reserve with the context taken. */
static swin_status reserve(swin_context *ctx, int64_t batch, int64_t height, int64_t width) {
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
                           "input batch %lld x %lld x %lld pixels is too large", (long long)batch,
                           (long long)height, (long long)width);
    SWIN_TRY(ensure_pool(ctx));
    const int threads = swin__pool_size(ctx->pool);
    if (ctx->B == batch && ctx->H == height && ctx->W == width && ctx->planned_threads == threads)
        return SWIN_OK;
    unplan(ctx);
    swin_status s = ctx->model->family->plan(ctx, batch, height, width);
    if (s != SWIN_OK) {
        unplan(ctx);
        return s;
    }
    ctx->B = batch;
    ctx->H = height;
    ctx->W = width;
    ctx->planned_threads = threads;
    return SWIN_OK;
}

swin_status swin_context_reserve(swin_context *ctx, int64_t batch, int64_t height, int64_t width) {
    if (!ctx) return swin__error(SWIN_ERR_INVALID_ARGUMENT, "swin_context_reserve: ctx is NULL");
    SWIN_TRY(enter(ctx, "swin_context_reserve"));
    const swin_status s = reserve(ctx, batch, height, width);
    leave(ctx);
    return s;
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
    SWIN_TRY(enter(ctx, "swin_context_run"));
    swin_status s = reserve(ctx, input->shape[0], input->shape[2], input->shape[3]);
    if (s != SWIN_OK) {
        leave(ctx);
        return s;
    }
    const int threads = swin__pool_size(ctx->pool);
    if ((s = swin__blas_enter(threads)) != SWIN_OK) {
        leave(ctx);
        return s;
    }
    const unsigned fp = swin__fp_enter();
    ctx->model->family->forward(ctx, input->data);
    swin__fp_leave(fp);
    swin__blas_leave(threads);
    ctx->ran = true;
    leave(ctx);
    return SWIN_OK;
}

static swin_status output(swin_context *ctx, swin_output kind, int index, const swin_tensor **out) {
    if (!ctx->ran)
        return swin__error(SWIN_ERR_INVALID_ARGUMENT,
                           "swin_context_output: no run since the last plan");
    switch (kind) {
    case SWIN_OUTPUT_LOGITS:
        if (ctx->model->num_classes == 0)
            return swin__error(SWIN_ERR_INVALID_ARGUMENT, "the model has no classifier head");
        *out = &ctx->logits;
        return SWIN_OK;
    case SWIN_OUTPUT_FEATURES:
        *out = &ctx->features;
        return SWIN_OK;
    case SWIN_OUTPUT_TOKENS:
        *out = &ctx->tokens;
        return SWIN_OK;
    case SWIN_OUTPUT_POOLER:
        if (!ctx->model->has_pooler)
            return swin__error(SWIN_ERR_INVALID_ARGUMENT, "the model has no pooler");
        *out = &ctx->pooler;
        return SWIN_OK;
    case SWIN_OUTPUT_STAGE:
        if (index < 0 || index >= ctx->model->num_stages)
            return swin__error(SWIN_ERR_INVALID_ARGUMENT, "stage %d out of range 0..%d", index,
                               ctx->model->num_stages - 1);
        *out = &ctx->stages[index];
        return SWIN_OK;
    }
    return swin__error(SWIN_ERR_INVALID_ARGUMENT, "unknown output kind %d", (int)kind);
}

swin_status swin_context_output(swin_context *ctx, swin_output kind, int index,
                                const swin_tensor **out) {
    if (!ctx || !out)
        return swin__error(SWIN_ERR_INVALID_ARGUMENT, "swin_context_output: NULL argument");
    *out = NULL;
    SWIN_TRY(enter(ctx, "swin_context_output"));
    const swin_status s = output(ctx, kind, index, out);
    leave(ctx);
    return s;
}

/* ---- labels and preprocessing ---- */

const char *swin_model_label(const swin_model *m, int64_t index) {
    if (!m || index < 0 || index >= m->num_classes) return NULL;
    if (m->labels) return m->labels[index];
    return m->num_classes == 1000 ? swin__imagenet_labels[index] : NULL;
}

int64_t swin_model_input_size(const swin_model *m) {
    return m ? m->pre.input_size : 0;
}

swin_status swin_image_preprocess(const swin_image *image, const swin_model *model,
                                  swin_tensor *batch, int64_t index) {
    if (!image || !model || !batch)
        return swin__error(SWIN_ERR_INVALID_ARGUMENT, "swin_image_preprocess: NULL argument");
    const int64_t S = model->pre.input_size;
    if (batch->ndim != 4 || batch->shape[1] != 3 || batch->shape[2] != S || batch->shape[3] != S)
        return swin__error(SWIN_ERR_INVALID_ARGUMENT,
                           "swin_image_preprocess: batch must be [B, 3, %lld, %lld]", (long long)S,
                           (long long)S);
    if (index < 0 || index >= batch->shape[0])
        return swin__error(SWIN_ERR_INVALID_ARGUMENT,
                           "swin_image_preprocess: index %lld outside the batch of %lld",
                           (long long)index, (long long)batch->shape[0]);
    int64_t stride;
    const uint8_t *px = swin_image_pixels(image, &stride);
    return swin__preprocess(batch->data + index * 3 * S * S, px, stride, swin_image_width(image),
                            swin_image_height(image), &model->pre);
}

typedef struct ranked {
    double v;
    int64_t i;
} ranked;

static int by_rank(const void *a, const void *b) {
    const ranked *x = a, *y = b;
    if (x->v != y->v) return x->v > y->v ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

swin_status swin_context_topk(swin_context *ctx, int64_t batch_index, int64_t k, int64_t *classes,
                              float *probs) {
    if (!ctx || !classes)
        return swin__error(SWIN_ERR_INVALID_ARGUMENT, "swin_context_topk: NULL argument");
    SWIN_TRY(enter(ctx, "swin_context_topk"));
    const swin_tensor *logits = NULL;
    swin_status s = output(ctx, SWIN_OUTPUT_LOGITS, 0, &logits);
    const int64_t K = ctx->model->num_classes;
    if (s == SWIN_OK && (batch_index < 0 || batch_index >= ctx->B))
        s = swin__error(SWIN_ERR_INVALID_ARGUMENT,
                        "swin_context_topk: batch index %lld outside 0..%lld",
                        (long long)batch_index, (long long)ctx->B - 1);
    if (s == SWIN_OK && (k < 1 || k > K))
        s = swin__error(SWIN_ERR_INVALID_ARGUMENT, "swin_context_topk: k %lld outside 1..%lld",
                        (long long)k, (long long)K);
    if (s != SWIN_OK) {
        leave(ctx);
        return s;
    }
    const float *row = logits->data + batch_index * K;
    double mx = -INFINITY, sum = 0.0;
    for (int64_t c = 0; c < K; c++)
        if (row[c] > mx) mx = row[c];
    for (int64_t c = 0; c < K; c++)
        sum += exp((double)row[c] - mx);
    /* the classes by logit, highest first, ties to the lower index (NaN counts as lowest) */
    ranked *r = swin__malloc((size_t)K * sizeof *r);
    if (!r) {
        leave(ctx);
        return swin__oom();
    }
    for (int64_t c = 0; c < K; c++) {
        r[c].v = isnan(row[c]) ? -INFINITY : row[c];
        r[c].i = c;
    }
    qsort(r, (size_t)K, sizeof *r, by_rank);
    for (int64_t q = 0; q < k; q++) {
        classes[q] = r[q].i;
        if (probs) probs[q] = (float)(exp((double)row[r[q].i] - mx) / sum);
    }
    swin__free(r);
    leave(ctx);
    return SWIN_OK;
}
