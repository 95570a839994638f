/* Options and architecture values: parsing, validation of syntax, layered lookup. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"

typedef enum { K_INT, K_LIST, K_REAL, K_STR, K_RGB, K_INTERP } kind;

static const struct {
    const char *key;
    kind kind;
} known[] = {
    {"arch", K_STR},
    {"img_size", K_INT},
    {"patch_size", K_INT},
    {"in_chans", K_INT},
    {"embed_dim", K_INT},
    {"depths", K_LIST},
    {"num_heads", K_LIST},
    {"window_size", K_INT},
    {"mlp_ratio", K_REAL},
    {"num_classes", K_INT},
    {"norm_eps", K_REAL},
    /* ViT */
    {"depth", K_INT},
    {"class_token", K_INT},
    {"global_pool", K_STR},
    {"mlp_hidden_dim", K_INT},
    {"activation", K_STR},
    /* preprocessing (timm's pretrained_cfg) */
    {"input_size", K_INT},
    {"interpolation", K_INTERP},
    {"crop_pct", K_REAL},
    {"mean", K_RGB},
    {"std", K_RGB},
};

bool swin__parse_int(const char *s, int64_t *v) {
    if (!s || *s < '0' || *s > '9') return false;
    errno = 0;
    char *end;
    long long x = strtoll(s, &end, 10);
    if (errno || *end || x > (1LL << 31)) return false;
    *v = x;
    return true;
}

bool swin__parse_int_list(const char *s, int64_t *v, int max, int *n) {
    if (!s) return false;
    int count = 0;
    while (true) {
        if (*s < '0' || *s > '9' || count == max) return false;
        errno = 0;
        char *end;
        long long x = strtoll(s, &end, 10);
        if (errno || x > (1LL << 31)) return false;
        v[count++] = x;
        while (*end == ' ')
            end++;
        if (*end == '\0') break;
        if (*end != ',') return false;
        s = end + 1;
        while (*s == ' ')
            s++;
    }
    *n = count;
    return true;
}

bool swin__parse_double(const char *s, double *v) {
    if (!s || !*s) return false;
    errno = 0;
    char *end;
    double x = strtod(s, &end);
    if (errno || *end || !isfinite(x) || x <= 0.0) return false;
    *v = x;
    return true;
}

bool swin__parse_rgb(const char *s, float v[3]) {
    if (!s) return false;
    for (int i = 0; i < 3; i++) {
        errno = 0;
        char *end;
        const double x = strtod(s, &end);
        if (end == s || errno || !isfinite(x) || x < 0.0) return false;
        v[i] = (float)x;
        while (*end == ' ')
            end++;
        if (i < 2) {
            if (*end != ',') return false;
            s = end + 1;
        } else if (*end) {
            return false;
        }
    }
    return true;
}

swin_status swin_options_create(swin_options **out) {
    if (!out) return swin__error(SWIN_ERR_INVALID_ARGUMENT, "swin_options_create: out is NULL");
    *out = swin__calloc(1, sizeof **out);
    return *out ? SWIN_OK : swin__oom();
}

void swin_options_free(swin_options *opts) {
    swin__free(opts);
}

swin_status swin_options_set(swin_options *opts, const char *key, const char *value) {
    if (!opts || !key || !value)
        return swin__error(SWIN_ERR_INVALID_ARGUMENT, "swin_options_set: NULL argument");
    int k = -1;
    for (int i = 0; i < (int)(sizeof known / sizeof known[0]); i++)
        if (strcmp(known[i].key, key) == 0) k = i;
    if (k < 0) return swin__error(SWIN_ERR_CONFIG, "unknown option \"%.64s\"", key);
    if (strlen(value) >= SWIN_KV_VALUE)
        return swin__error(SWIN_ERR_CONFIG, "option %s: value longer than %d characters", key,
                           SWIN_KV_VALUE - 1);
    int64_t iv, list[SWIN_MAX_STAGES];
    int n;
    double d;
    bool ok = true;
    switch (known[k].kind) {
    case K_INT:
        ok = swin__parse_int(value, &iv);
        break;
    case K_LIST:
        ok = swin__parse_int_list(value, list, SWIN_MAX_STAGES, &n);
        break;
    case K_REAL:
        ok = swin__parse_double(value, &d);
        break;
    case K_STR:
        ok = value[0] != '\0';
        break;
    case K_RGB: {
        float rgb[3];
        ok = swin__parse_rgb(value, rgb);
        break;
    }
    case K_INTERP:
        ok = swin__interpolation_known(value);
        break;
    }
    if (!ok)
        return swin__error(SWIN_ERR_CONFIG, "option %s: malformed value \"%.64s\"", key, value);
    int slot = opts->count;
    for (int i = 0; i < opts->count; i++)
        if (strcmp(opts->items[i].key, key) == 0) slot = i;
    if (slot == SWIN_MAX_KV) return swin__error(SWIN_ERR_CONFIG, "too many options");
    snprintf(opts->items[slot].key, SWIN_KV_KEY, "%s", key);
    snprintf(opts->items[slot].value, SWIN_KV_VALUE, "%s", value);
    if (slot == opts->count) opts->count++;
    return SWIN_OK;
}

swin_status swin__options_merge(swin_options *dst, const swin_options *src) {
    for (int i = 0; i < src->count; i++)
        SWIN_TRY(swin_options_set(dst, src->items[i].key, src->items[i].value));
    return SWIN_OK;
}

const char *swin__opt(const swin_options *opts, const char *key) {
    if (!opts) return NULL;
    for (int i = 0; i < opts->count; i++)
        if (strcmp(opts->items[i].key, key) == 0) return opts->items[i].value;
    return NULL;
}

void swin__config_set(swin_model *m, const char *key, const char *fmt, ...) {
    if (m->num_config == SWIN_MAX_KV) return;
    swin_kv *kv = &m->config[m->num_config++];
    snprintf(kv->key, sizeof kv->key, "%s", key);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(kv->value, sizeof kv->value, fmt, ap);
    va_end(ap);
}

bool swin__is_preset(const swin_preset_kv *presets, const char *name) {
    for (const swin_preset_kv *p = presets; name && p->preset; p++)
        if (strcmp(p->preset, name) == 0) return true;
    return false;
}

static const char *preset_value(const swin_preset_kv *presets, const char *name, const char *key) {
    for (const swin_preset_kv *p = presets; name && p->preset; p++)
        if (strcmp(p->preset, name) == 0 && strcmp(p->key, key) == 0) return p->value;
    return NULL;
}

const char *swin__arch_value(const swin_options *opts, const swin_safetensors *st,
                             const swin_preset_kv *presets, const char *key) {
    const char *v = swin__opt(opts, key);
    if (v) return v;
    const char *opt_arch = swin__opt(opts, "arch");
    if ((v = preset_value(presets, opt_arch, key))) return v;
    if ((v = swin__st_meta(st, key))) return v;
    if (!opt_arch) return preset_value(presets, swin__st_meta(st, "arch"), key);
    return NULL;
}
