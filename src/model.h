/* The model and context objects, and the interface a model family implements. */
#ifndef SWIN_MODEL_H
#define SWIN_MODEL_H

#include "internal.h"

#define SWIN_MAX_STAGES 8
#define SWIN_KV_KEY 32
#define SWIN_KV_VALUE 128
#define SWIN_MAX_KV 32

typedef struct swin_kv {
    char key[SWIN_KV_KEY];
    char value[SWIN_KV_VALUE];
} swin_kv;

struct swin_options {
    swin_kv items[SWIN_MAX_KV];
    int count;
};

typedef struct swin_family swin_family;

struct swin_model {
    const swin_family *family;
    swin_safetensors st;
    swin_kv config[SWIN_MAX_KV]; /* resolved architecture, for swin_model_get */
    int num_config;
    int64_t num_params;
    int64_t num_classes;
    int64_t in_chans;
    int num_stages;
    void *impl;       /* family's bound weights */
    swin_preproc pre; /* timm's eval transform for this model */
    char **labels;    /* class names from config.json, or NULL */
    int64_t num_labels;
};

struct swin_context {
    const swin_model *model;
    int64_t B, H, W; /* planned input; B == 0: no plan */
    bool ran;
    float *arena;
    size_t arena_bytes;
    void *plan; /* family's layout of the arena */
    swin_pool *pool;     /* worker threads, made by reserve */
    int threads_wanted;  /* swin_context_set_num_threads; 0: the process default */
    int pool_wanted;     /* the count the pool was made for */
    int planned_threads; /* the pool size the plan's per-thread scratch was sized for */
    swin_tensor logits, features, stages[SWIN_MAX_STAGES];
};

struct swin_family {
    const char *name;
    /* Whether this family runs arch (caller's or metadata's; NULL when neither gave one, then
     * judged from the tensor names). */
    bool (*accepts)(const char *arch, const swin_safetensors *st);
    /* Resolves the architecture (options > metadata > inference), binds the weights and fills
     * the model's config, num_params, num_classes, in_chans, num_stages and impl. */
    swin_status (*bind)(swin_model *m, const swin_options *opts);
    void (*unbind)(swin_model *m);
    swin_status (*stage_dims)(const swin_model *m, int stage, int64_t out[6]);
    swin_status (*flops)(const swin_model *m, int stage, double *flops, double *flops_global);
    /* Lays out the arena for [B, Cin, H, W] and allocates it (ctx->arena, and ctx->plan: one
     * allocation the caller frees; the output views). Per-thread scratch is sized for
     * ctx->pool. */
    swin_status (*plan)(swin_context *ctx, int64_t B, int64_t H, int64_t W);
    /* Runs the planned pass on ctx->pool. */
    void (*forward)(swin_context *ctx, const float *input);
};

extern const swin_family swin__family_swin;

/* A context's arena is laid out twice by a family's plan: once with base NULL to count the
 * floats (checked for overflow), then over the allocated memory to hand out the buffers. */
typedef struct swin_arena {
    float *base;
    size_t used; /* floats */
    bool overflow;
} swin_arena;
/* a*b*c*d as size_t; an overflow marks the arena. */
size_t swin__arena_count(swin_arena *ar, int64_t a, int64_t b, int64_t c, int64_t d);
/* The next n floats, 64-byte aligned (NULL while counting). */
float *swin__arena_take(swin_arena *ar, size_t n);
/* Allocates ctx->arena for a counted layout; SWIN_ERR_INPUT_SIZE when it overflowed. */
swin_status swin__arena_alloc(swin_context *ctx, const swin_arena *counted, int64_t B, int64_t H,
                              int64_t W);
extern const swin_family swin__family_vit;
extern const swin_family swin__family_vit_postnorm;

/* ---- config.c ---- */
/* Value of key from the caller's options, or NULL. */
const char *swin__opt(const swin_options *opts, const char *key);
/* Strict parsers: whole string, no sign, in range; false on any junk. */
bool swin__parse_int(const char *s, int64_t *v);
bool swin__parse_int_list(const char *s, int64_t *v, int max, int *n);
bool swin__parse_double(const char *s, double *v);
/* Three comma-separated non-negative numbers ("0.485,0.456,0.406"). */
bool swin__parse_rgb(const char *s, float v[3]);
/* Copies src's items into dst, replacing keys dst already has. */
swin_status swin__options_merge(swin_options *dst, const swin_options *src);
/* Reads a timm/Hugging Face config.json into options (architecture, model_args,
 * pretrained_cfg) and class names (hub.c). */
swin_status swin__hub_config(const char *path, swin_options *opts, char ***labels,
                             int64_t *num_labels);
/* The same from the text of a config.json in memory; name labels the messages (fuzzing). */
swin_status swin__hub_config_memory(const char *text, size_t size, const char *name,
                                    swin_options *opts, char ***labels, int64_t *num_labels);
extern const char *const swin__imagenet_labels[1000];
/* Appends key = formatted value to the model's resolved config. */
void swin__config_set(swin_model *m, const char *key, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* Layered lookup for the architecture: caller's key, caller's preset, metadata key, metadata
 * preset (only when the caller gave no arch). presets is a NULL-terminated table of rows
 * {name, key, value}; *src says where the value came from. */
typedef struct swin_preset_kv {
    const char *preset, *key, *value;
} swin_preset_kv;
const char *swin__arch_value(const swin_options *opts, const swin_safetensors *st,
                             const swin_preset_kv *presets, const char *key);
bool swin__is_preset(const swin_preset_kv *presets, const char *name);

#endif /* SWIN_MODEL_H */
