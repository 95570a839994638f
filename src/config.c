/* Options and architecture values: parsing, validation of syntax, layered lookup. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"

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

bool swin__parse_bool(const char *s, bool *v) {
    if (!s) return false;
    if (strcmp(s, "1") == 0 || strcmp(s, "true") == 0 || strcmp(s, "True") == 0) {
        *v = true;
        return true;
    }
    if (strcmp(s, "0") == 0 || strcmp(s, "false") == 0 || strcmp(s, "False") == 0) {
        *v = false;
        return true;
    }
    return false;
}

swin_status swin_options_create(swin_options **out) {
    if (!out) return swin__error(SWIN_ERR_INVALID_ARGUMENT, "swin_options_create: out is NULL");
    *out = swin__calloc(1, sizeof **out);
    return *out ? SWIN_OK : swin__oom();
}

static void free_kv(swin_kv *kv) {
    swin__free(kv->key);
    swin__free(kv->value);
    swin__free(kv->origin);
    kv->key = kv->value = kv->origin = NULL;
}

void swin_options_free(swin_options *opts) {
    if (!opts) return;
    for (int i = 0; i < opts->count; i++)
        free_kv(&opts->items[i]);
    swin__free(opts->items);
    swin__free(opts);
}

/* Whether value has the syntax of kind. */
static bool well_formed(swin_kind kind, const char *value) {
    int64_t iv, list[SWIN_MAX_STAGES];
    int n;
    double d;
    bool b;
    float rgb[3];
    switch (kind) {
    case SWIN_K_INT:
        return swin__parse_int(value, &iv);
    case SWIN_K_LIST:
        return swin__parse_int_list(value, list, SWIN_MAX_STAGES, &n);
    case SWIN_K_REAL:
        return swin__parse_double(value, &d);
    case SWIN_K_STR:
        return value[0] != '\0';
    case SWIN_K_BOOL:
        return swin__parse_bool(value, &b);
    case SWIN_K_RGB:
        return swin__parse_rgb(value, rgb);
    case SWIN_K_INTERP:
        return swin__interpolation_known(value);
    }
    return false;
}

/* Stores key = value (origin) in a growing list of at most SWIN_MAX_KV entries, replacing an
 * entry of the same key. */
static swin_status put(swin_kv **items, int *count, int *cap, const char *key, const char *value,
                       const char *origin) {
    int slot = *count;
    for (int i = 0; i < *count; i++)
        if (strcmp((*items)[i].key, key) == 0) slot = i;
    if (slot == *count) {
        if (*count == SWIN_MAX_KV)
            return swin__error(SWIN_ERR_CONFIG, "more than %d settings (at \"%.64s\")", SWIN_MAX_KV,
                               key);
        if (*count == *cap) {
            const int grown = *cap ? 2 * *cap : 16;
            swin_kv *more = swin__realloc(*items, (size_t)grown * sizeof *more);
            if (!more) return swin__oom();
            *items = more;
            *cap = grown;
        }
    }
    swin_kv kv = {swin__strdup(key), swin__strdup(value), swin__strdup(origin ? origin : "")};
    if (!kv.key || !kv.value || !kv.origin) {
        free_kv(&kv);
        return swin__oom();
    }
    if (slot < *count) free_kv(&(*items)[slot]);
    (*items)[slot] = kv;
    if (slot == *count) (*count)++;
    return SWIN_OK;
}

swin_status swin__options_set(swin_options *opts, const char *key, const char *value,
                              const char *origin) {
    const swin_key *k = swin__key_find(key);
    if (!k) return swin__error(SWIN_ERR_CONFIG, "unknown option \"%.64s\"", key);
    if (strlen(value) > 255)
        return swin__error(SWIN_ERR_CONFIG, "option %s: value longer than 255 characters", key);
    if (!well_formed(k->kind, value))
        return swin__error(SWIN_ERR_CONFIG, "option %s: malformed value \"%.64s\"", key, value);
    return put(&opts->items, &opts->count, &opts->cap, key, value, origin);
}

swin_status swin_options_set(swin_options *opts, const char *key, const char *value) {
    if (!opts || !key || !value)
        return swin__error(SWIN_ERR_INVALID_ARGUMENT, "swin_options_set: NULL argument");
    return swin__options_set(opts, key, value, "option");
}

swin_status swin__options_merge(swin_options *dst, const swin_options *src) {
    for (int i = 0; i < src->count; i++)
        SWIN_TRY(
            swin__options_set(dst, src->items[i].key, src->items[i].value, src->items[i].origin));
    return SWIN_OK;
}

static const swin_kv *opt_item(const swin_options *opts, const char *key) {
    if (!opts) return NULL;
    for (int i = 0; i < opts->count; i++)
        if (strcmp(opts->items[i].key, key) == 0) return &opts->items[i];
    return NULL;
}

const char *swin__opt(const swin_options *opts, const char *key) {
    const swin_kv *kv = opt_item(opts, key);
    return kv ? kv->value : NULL;
}

const char *swin__opt_origin(const swin_options *opts, const char *key) {
    const swin_kv *kv = opt_item(opts, key);
    return kv ? kv->origin : NULL;
}

swin_status swin__config_set(swin_model *m, const char *key, const char *fmt, ...) {
    char value[4096];
    va_list ap;
    va_start(ap, fmt);
    const int n = vsnprintf(value, sizeof value, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof value)
        return swin__error(SWIN_ERR_INTERNAL, "config value of %s is too long", key);
    const swin_status s = put(&m->config, &m->num_config, &m->cap_config, key, value, NULL);
    return s == SWIN_ERR_CONFIG ? swin__error(SWIN_ERR_INTERNAL, "%s", swin_last_error()) : s;
}

const char *swin__src_value(const swin_source *s, const char *key, const char **origin) {
    const char *v, *o = NULL;
    /* timm's class count is a default of create_model, not part of the architecture: a
     * fine-tuned head is as the file has it */
    const swin_arch *row = strcmp(key, "num_classes") == 0 ? NULL : s->arch;
    if ((v = swin__opt(s->opts, key))) {
        o = swin__opt_origin(s->opts, key);
    } else if (!s->arch_from_meta && (v = swin__arch_arg(row, key))) {
        o = s->arch_origin;
    } else if (s->st && (v = swin__st_meta(s->st, key))) {
        o = "metadata";
    } else if (s->arch_from_meta && (v = swin__arch_arg(row, key))) {
        o = s->arch_origin;
    }
    if (origin) *origin = o;
    return v;
}

swin_status swin__src_int(const swin_source *src, const char *key, int64_t min, bool have,
                          int64_t inferred, const swin_weight *t, const char *what, int64_t *out) {
    const char *origin;
    const char *v = swin__src_value(src, key, &origin);
    if (!v) {
        if (!have)
            return swin__error(SWIN_ERR_CONFIG,
                               "%s: not given and cannot be inferred from the tensors", key);
        *out = inferred;
        return SWIN_OK;
    }
    int64_t list[2];
    int n;
    /* timm writes sizes as (h, w) sometimes: a square pair is one value */
    if (!swin__parse_int_list(v, list, 2, &n) || (n == 2 && list[0] != list[1]))
        return swin__error(SWIN_ERR_CONFIG, "%s: \"%.64s\" (%s) is not one integer", key, v,
                           origin);
    *out = list[0];
    if (*out < min)
        return swin__error(SWIN_ERR_CONFIG, "%s: \"%.64s\" (%s) is not an integer >= %lld", key, v,
                           origin, (long long)min);
    if (*out > (1 << 24))
        return swin__error(SWIN_ERR_CONFIG, "%s: %lld (%s) is implausibly large", key,
                           (long long)*out, origin);
    /* num_classes 0: the head the file has is left unused on purpose */
    if (!have || !t || (*out == 0 && strcmp(key, "num_classes") == 0)) return SWIN_OK;
    if (*out != inferred)
        return swin__error(SWIN_ERR_SHAPE,
                           "%s %lld (from %s) disagrees with tensor \"%s\", which has %s %lld", key,
                           (long long)*out, origin, t->source, what, (long long)inferred);
    return SWIN_OK;
}

swin_status swin__src_bool(const swin_source *src, const char *key, bool fallback, bool *out) {
    const char *origin;
    const char *v = swin__src_value(src, key, &origin);
    *out = fallback;
    if (v && !swin__parse_bool(v, out))
        return swin__error(SWIN_ERR_CONFIG, "%s: \"%.64s\" (%s) is not true or false", key, v,
                           origin);
    return SWIN_OK;
}

swin_status swin__src_real(const swin_source *src, const char *key, double fallback, double *out) {
    const char *origin;
    const char *v = swin__src_value(src, key, &origin);
    *out = fallback;
    if (v && !swin__parse_double(v, out))
        return swin__error(SWIN_ERR_CONFIG, "%s: \"%.64s\" (%s) is not a positive number", key, v,
                           origin);
    return SWIN_OK;
}

swin_status swin__norm_layer_eps(const char *v, double *eps) {
    if (strcmp(v, "none") == 0 || strcmp(v, "LayerNorm") == 0 || strcmp(v, "layernorm") == 0)
        return SWIN_OK;
    double e;
    char tail;
    if (sscanf(v, "LayerNorm(eps=%lf%c", &e, &tail) == 2 && tail == ')' && e > 0) {
        *eps = e;
        return SWIN_OK;
    }
    return swin__error(SWIN_ERR_UNSUPPORTED, "norm_layer %.64s is not supported yet (LayerNorm is)",
                       v);
}
