/* The model and context objects, the family registry and the interface a family implements. */
#ifndef SWIN_MODEL_H
#define SWIN_MODEL_H

#include <stdatomic.h>

#include "archs.h"
#include "internal.h"
#include "naming.h"

#define SWIN_MAX_STAGES 8
/* Most entries an options set or a model's resolved configuration holds. */
#define SWIN_MAX_KV 256

/* A key = value string pair; origin says where the value came from, for messages
 * ("option", "config.json: hidden_size", "metadata", "timm arch vit_base_patch16_224"). */
typedef struct swin_kv {
    char *key, *value, *origin;
} swin_kv;

struct swin_options {
    swin_kv *items;
    int count, cap;
};

typedef struct swin_family swin_family;

struct swin_model {
    const swin_family *family;
    const swin_arch *arch; /* the registry row the model was built from, or NULL */
    swin_safetensors st;
    swin_weights w;  /* st under canonical names */
    swin_kv *config; /* resolved architecture and preprocessing, in the order info prints */
    int num_config, cap_config;
    int64_t num_params;
    int64_t num_classes;
    int64_t in_chans;
    int num_stages;
    bool has_pooler;  /* a pooler output (transformers ViTModel) */
    void *impl;       /* family's bound weights and model-constant tables */
    swin_preproc pre; /* the eval transform for this model */
    char **labels;    /* class names from config.json, or NULL */
    int64_t num_labels;
};

struct swin_context {
    const swin_model *model;
    atomic_int busy; /* 1 while a call is inside (run, reserve, set_num_threads, output): a
                      * second call at once, from another thread, is SWIN_ERR_BUSY */
    int64_t B, H, W; /* planned input; B == 0: no plan */
    bool ran;
    float *arena;
    size_t arena_bytes;
    void *plan;          /* family's layout of the arena */
    swin_pool *pool;     /* worker threads, made by reserve */
    int threads_wanted;  /* swin_context_set_num_threads; 0: the process default */
    int pool_wanted;     /* the count the pool was made for */
    int planned_threads; /* the pool size the plan's per-thread scratch was sized for */
    swin_tensor logits, features, pooler, tokens, stages[SWIN_MAX_STAGES];
};

/* ---- keys and values (config.c, registry.c) ---- */

typedef enum swin_kind {
    SWIN_K_INT,    /* a non-negative integer */
    SWIN_K_LIST,   /* comma-separated non-negative integers */
    SWIN_K_REAL,   /* a positive number */
    SWIN_K_STR,    /* any non-empty text (timm's callables, "none", words) */
    SWIN_K_BOOL,   /* true, false, 1 or 0 */
    SWIN_K_RGB,    /* three non-negative numbers */
    SWIN_K_INTERP, /* a resampling filter name */
} swin_kind;

/* A key a family reads: a libswin option, a metadata key, a timm constructor argument or
 * all of these. ok restricts the values the family computes ('|'-separated; NULL: any value
 * of the kind); feature names what any other value needs, for the refusal. */
typedef struct swin_key {
    const char *key;
    swin_kind kind;
    const char *help;
    const char *ok;
    const char *feature;
} swin_key;

/* config.json keys of a transformers model_type and the family keys they set. */
typedef struct swin_hf_key {
    const char *hf, *key;
} swin_hf_key;

/* Where a family reads its architecture values: the caller's options (with config.json's
 * under them), the registry row of the arch, the file's metadata; in that order, except that
 * metadata outranks a row the metadata itself named. */
typedef struct swin_source {
    const swin_options *opts;
    const swin_arch *arch;
    bool arch_from_meta;
    const swin_safetensors *st;
    char arch_origin[96]; /* "timm arch NAME" */
} swin_source;
/* The value of key, or NULL; *origin (may be NULL) says where it came from. */
const char *swin__src_value(const swin_source *s, const char *key, const char **origin);
/* An integer key (a square "h,w" pair is one value), >= min and plausible; without a value,
 * inferred from the tensors when have, else an error. When both exist they must agree: the
 * message names the value, its origin, and tensor t, which has `what` `inferred` (num_classes 0
 * is a choice: a head the file has is left unused). */
swin_status swin__src_int(const swin_source *src, const char *key, int64_t min, bool have,
                          int64_t inferred, const swin_weight *t, const char *what, int64_t *out);
/* A flag (true, false, 1, 0) or a positive real; fallback when no source has it. */
swin_status swin__src_bool(const swin_source *src, const char *key, bool fallback, bool *out);
swin_status swin__src_real(const swin_source *src, const char *key, double fallback, double *out);
/* timm's norm_layer: none or LayerNorm (*eps, the family's default, unchanged) or
 * LayerNorm(eps=X); anything else is SWIN_ERR_UNSUPPORTED. */
swin_status swin__norm_layer_eps(const char *value, double *eps);

struct swin_family {
    const char *name; /* "swin", "vit", "vit_postnorm" */
    const char *description;
    const char *const *timm_classes; /* the timm model classes it computes (NULL-terminated) */
    const char *const *model_types;  /* the transformers model_type values it reads */
    const swin_key *keys;            /* its keys and timm arguments (NULL-terminated) */
    const swin_hf_key *hf_keys;      /* transformers config.json keys (NULL-terminated) */
    /* Preprocessing when nothing else says: timm's family default. */
    float mean[3], std[3];
    const char *interpolation;
    double crop_pct;
    /* Whether canonical weights look like this family (when no arch is given). */
    bool (*detect)(const swin_weights *w);
    /* Resolves the architecture from src, binds m->w and fills the model's config,
     * num_params, num_classes, in_chans, num_stages, has_pooler and impl. */
    swin_status (*bind)(swin_model *m, const swin_source *src);
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
extern const swin_family swin__family_swinv2;
extern const swin_family swin__family_swinv2_cr;
extern const swin_family swin__family_vit;
extern const swin_family swin__family_vit_postnorm;

/* ---- the registry (registry.c) ---- */

/* The families, in detection order. */
extern const swin_family *const swin__families[];
extern const size_t swin__num_families;
const swin_family *swin__family_named(const char *name);
/* The family that reads a transformers model_type, or NULL. */
const swin_family *swin__family_for_model_type(const char *model_type);
/* The timm architecture row of exactly this name, or NULL. */
const swin_arch *swin__arch_find(const char *name);
/* Value of key in a row's args (or cfg), or NULL. */
const char *swin__arch_arg(const swin_arch *a, const char *key);
const char *swin__arch_cfg(const swin_arch *a, const char *key);
/* The family computing a row's timm class, or NULL with the missing feature in why. Then
 * whether the family computes the row's arguments as src overrides them; else why names
 * every missing feature ("layer scale (init_values 1e-05); register tokens (reg_tokens 4)"). */
const swin_family *swin__arch_family(const swin_arch *a, const swin_source *src, char *why,
                                     size_t cap);
/* SWIN_ERR_UNSUPPORTED naming each key of f whose value (from src) f does not compute. */
swin_status swin__family_check(const swin_family *f, const swin_source *src, const char *arch);
/* The key's declaration among every family's keys and the common ones, or NULL. */
const swin_key *swin__key_find(const char *key);
/* The i-th distinct key (families' and common), or NULL past the end. */
const swin_key *swin__key_at(size_t i, const char **families);

/* ---- config.c ---- */
/* Value of key from the caller's options, or NULL; origin (may be NULL) receives its origin. */
const char *swin__opt(const swin_options *opts, const char *key);
const char *swin__opt_origin(const swin_options *opts, const char *key);
/* Sets key (checked against the registry's kind) with an origin. */
swin_status swin__options_set(swin_options *opts, const char *key, const char *value,
                              const char *origin);
/* Strict parsers: whole string, no sign, in range; false on any junk. */
bool swin__parse_int(const char *s, int64_t *v);
bool swin__parse_int_list(const char *s, int64_t *v, int max, int *n);
bool swin__parse_double(const char *s, double *v);
bool swin__parse_bool(const char *s, bool *v);
/* Three comma-separated non-negative numbers ("0.485,0.456,0.406"). */
bool swin__parse_rgb(const char *s, float v[3]);
/* Copies src's items into dst, replacing keys dst already has. */
swin_status swin__options_merge(swin_options *dst, const swin_options *src);
/* What a transformers folder's config.json and preprocessor_config.json say (hub.c). */
typedef struct swin_hub {
    char layout[16];       /* "transformers" for a transformers config.json, else "" */
    char model_type[32];   /* transformers' model_type */
    char architecture[64]; /* transformers' architectures[0] */
} swin_hub;
/* Reads a timm or transformers config.json into options and class names (hub.c). */
swin_status swin__hub_config(const char *path, swin_options *opts, char ***labels,
                             int64_t *num_labels, swin_hub *hub);
/* The same from the text of a config.json in memory; name labels the messages (fuzzing). */
swin_status swin__hub_config_memory(const char *text, size_t size, const char *name,
                                    swin_options *opts, char ***labels, int64_t *num_labels,
                                    swin_hub *hub);
/* Reads a transformers preprocessor_config.json into preprocessing options, or (path NULL)
 * sets the defaults of model_type's image processor (hub.c). */
swin_status swin__hub_preprocessor(const char *path, swin_options *opts, const char *model_type);
/* The same from the text of a preprocessor_config.json in memory (fuzzing). */
swin_status swin__hub_preprocessor_memory(const char *text, size_t size, const char *name,
                                          swin_options *opts, const char *model_type);
extern const char *const swin__imagenet_labels[1000];
/* Appends key = formatted value to the model's resolved config (replacing an earlier value of
 * the key); SWIN_ERR_OUT_OF_MEMORY, or SWIN_ERR_INTERNAL past SWIN_MAX_KV entries. */
swin_status swin__config_set(swin_model *m, const char *key, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* ---- contexts (model.c) ---- */

/* A context's arena is laid out twice by a family's plan: once with base NULL to count the
 * floats (checked for overflow), then over the allocated memory to hand out the buffers. */
typedef struct swin_arena {
    float *base;
    size_t used; /* floats */
    bool overflow;
} swin_arena;
/* a*b*c*d as size_t; an overflow marks the arena. */
size_t swin__arena_count(swin_arena *ar, int64_t a, int64_t b, int64_t c, int64_t d);
/* A size computed elsewhere (SIZE_MAX: it overflowed, which marks the arena). */
size_t swin__arena_size(swin_arena *ar, size_t n);
/* The next n floats, 64-byte aligned (NULL while counting). */
float *swin__arena_take(swin_arena *ar, size_t n);
/* Allocates ctx->arena for a counted layout; SWIN_ERR_INPUT_SIZE when it overflowed. */
swin_status swin__arena_alloc(swin_context *ctx, const swin_arena *counted, int64_t B, int64_t H,
                              int64_t W);

#endif /* SWIN_MODEL_H */
