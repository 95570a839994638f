/* The architecture table generated from timm (archs.c, written by tools/gen_archs.py): every
 * architecture name timm registers in vit_*, deit*, swin*, swinv2*, eva*, with the hyper-
 * parameters its constructor receives and its default pretrained_cfg, as text. The families
 * (registry.c) read these rows like presets: a value here is what timm would build. */
#ifndef SWIN_ARCHS_H
#define SWIN_ARCHS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct swin_arch {
    const char *name;       /* timm's registered name, e.g. "vit_base_patch16_224" */
    const char *timm_class; /* the model class: "VisionTransformer", "SwinTransformer", ... */
    bool pretrained;        /* timm publishes weights for it */
    int64_t params;         /* parameters of timm's model at its default configuration */
    /* The constructor's keyword arguments (signature defaults merged with what the
     * registered function passes), training-only ones left out, as NUL-terminated strings
     * key, value, key, value, ..., ended by an empty key (one array of chars: nothing to
     * relocate at load). Values as text: integers "768", reals as Python's repr "4.0" /
     * "1e-06", booleans "true" / "false", None "none", strings as they are, tuples "2,2,6,2",
     * callables by name ("GELU", "LayerNorm(eps=1e-06)" for a functools.partial). */
    const char *args;
    /* The default pretrained_cfg (the first tag), the same way: input_size "3,224,224",
     * interpolation, crop_pct, crop_mode, mean, std, num_classes, tag ... */
    const char *cfg;
} swin_arch;

/* Sorted by name (strcmp order). */
extern const swin_arch swin__archs[];
extern const size_t swin__num_archs;

#endif /* SWIN_ARCHS_H */
