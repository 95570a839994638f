/* The family registry: which family computes which timm class and transformers model_type,
 * the keys every family declares, exact lookups in the architecture table generated from timm
 * (archs.c), and the check that names what an architecture needs and libswin lacks. */
#include <stdio.h>
#include <string.h>

#include "model.h"

const swin_family *const swin__families[] = {&swin__family_swin, &swin__family_swinv2,
                                             &swin__family_swinv2_cr, &swin__family_vit,
                                             &swin__family_vit_postnorm};
const size_t swin__num_families = sizeof swin__families / sizeof swin__families[0];

/* Keys of no particular family: the architecture's name and the preprocessing. */
static const swin_key common_keys[] = {
    {"arch", SWIN_K_STR,
     "a timm architecture name, or a family: swin, swinv2, swinv2_cr, vit, vit_postnorm", NULL,
     NULL},
    {"input_size", SWIN_K_INT, "side of the square input the preprocessing makes", NULL, NULL},
    {"interpolation", SWIN_K_INTERP, "resize filter: bicubic, bilinear, lanczos, hamming, box",
     NULL, NULL},
    {"crop_pct", SWIN_K_REAL, "timm: resize the shorter side to input_size / crop_pct", NULL, NULL},
    {"crop_mode", SWIN_K_STR,
     "timm's crop: center (shorter side to input_size / crop_pct, then crop), squash (both "
     "sides), border (longer side, then pad with the mean)",
     NULL, NULL},
    {"mean", SWIN_K_RGB, "normalisation mean per channel", NULL, NULL},
    {"std", SWIN_K_RGB, "normalisation standard deviation per channel", NULL, NULL},
    {"preprocessing", SWIN_K_STR, "timm (resize, center crop) or transformers (image processor)",
     "timm|transformers", "another preprocessing"},
    {"resize_to", SWIN_K_LIST, "transformers: resize to this height,width", NULL, NULL},
    {"shortest_edge", SWIN_K_INT, "transformers: resize the shorter side to this", NULL, NULL},
    {"center_crop", SWIN_K_BOOL, "transformers: center crop to input_size after the resize", NULL,
     NULL},
    {"rescale_factor", SWIN_K_REAL, "transformers: pixel scale before normalising (1/255)", NULL,
     NULL},
    {"load", SWIN_K_STR,
     "map (default: the file mapped read-only, shared with the page cache) or copy (the weights "
     "read into the model's own memory: immune to the file being overwritten or truncated)",
     NULL, NULL},
    {NULL, 0, NULL, NULL, NULL},
};

const swin_family *swin__family_named(const char *name) {
    for (size_t i = 0; name && i < swin__num_families; i++)
        if (strcmp(swin__families[i]->name, name) == 0) return swin__families[i];
    return NULL;
}

static bool listed(const char *const *list, const char *s) {
    for (; list && *list; list++)
        if (strcmp(*list, s) == 0) return true;
    return false;
}

const swin_family *swin__family_for_model_type(const char *model_type) {
    for (size_t i = 0; model_type && i < swin__num_families; i++)
        if (listed(swin__families[i]->model_types, model_type)) return swin__families[i];
    return NULL;
}

const swin_arch *swin__arch_find(const char *name) {
    size_t lo = 0, hi = name ? swin__num_archs : 0;
    while (lo < hi) {
        const size_t mid = lo + (hi - lo) / 2;
        const int c = strcmp(swin__archs[mid].name, name);
        if (c == 0) return &swin__archs[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* The value of key in a list of NUL-terminated key and value strings ended by an empty key. */
static const char *kv_lookup(const char *kv, const char *key) {
    while (kv && *kv) {
        const char *value = kv + strlen(kv) + 1;
        if (strcmp(kv, key) == 0) return value;
        kv = value + strlen(value) + 1;
    }
    return NULL;
}

const char *swin__arch_arg(const swin_arch *a, const char *key) {
    return a ? kv_lookup(a->args, key) : NULL;
}

const char *swin__arch_cfg(const swin_arch *a, const char *key) {
    return a ? kv_lookup(a->cfg, key) : NULL;
}

static const swin_key *family_key(const swin_family *f, const char *key) {
    for (const swin_key *k = f->keys; k && k->key; k++)
        if (strcmp(k->key, key) == 0) return k;
    return NULL;
}

/* Whether v is one of the '|'-separated words of ok. */
static bool one_of(const char *ok, const char *v) {
    const size_t n = strlen(v);
    for (const char *p = ok; *p;) {
        const char *end = strchr(p, '|');
        const size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == n && strncmp(p, v, n) == 0) return true;
        if (!end) break;
        p = end + 1;
    }
    return false;
}

/* Appends "; <feature> (<key> <value>)" to why. */
static void add_reason(char *why, size_t cap, const char *feature, const char *key,
                       const char *value) {
    const size_t n = strlen(why);
    if (n + 4 < cap)
        snprintf(why + n, cap - n, "%s%s (%s %.80s)", n ? "; " : "", feature, key, value);
}

/* The family's restricted keys whose value (from src) it does not compute. */
static void check_keys(const swin_family *f, const swin_source *src, char *why, size_t cap) {
    for (const swin_key *k = f->keys; k && k->key; k++) {
        if (!k->ok) continue;
        const char *v = swin__src_value(src, k->key, NULL);
        if (v && !one_of(k->ok, v)) add_reason(why, cap, k->feature, k->key, v);
    }
}

const swin_family *swin__arch_family(const swin_arch *a, const swin_source *src, char *why,
                                     size_t cap) {
    why[0] = '\0';
    const swin_family *f = NULL;
    for (size_t i = 0; i < swin__num_families && !f; i++)
        if (listed(swin__families[i]->timm_classes, a->timm_class)) f = swin__families[i];
    if (!f) {
        snprintf(why, cap, "its model class (timm class %s)", a->timm_class);
        return NULL;
    }
    /* every argument timm gives this class must be one the family knows */
    for (const char *kv = a->args; kv && *kv;) {
        const char *value = kv + strlen(kv) + 1;
        if (!family_key(f, kv))
            add_reason(why, cap, "a timm argument libswin does not know", kv, value);
        kv = value + strlen(value) + 1;
    }
    check_keys(f, src, why, cap);
    return why[0] ? NULL : f;
}

static bool common_key(const char *key) {
    for (const swin_key *k = common_keys; k->key; k++)
        if (strcmp(k->key, key) == 0) return true;
    return false;
}

swin_status swin__family_check(const swin_family *f, const swin_source *src, const char *arch) {
    /* a setting of another family is a mistake, not something to ignore */
    for (int i = 0; src->opts && i < src->opts->count; i++) {
        const swin_kv *kv = &src->opts->items[i];
        if (!common_key(kv->key) && !family_key(f, kv->key))
            return swin__error(SWIN_ERR_UNSUPPORTED,
                               "%s = %.64s (from %s) is not a setting of the %s family (%s)",
                               kv->key, kv->value, kv->origin, f->name, arch);
    }
    char why[512] = "";
    check_keys(f, src, why, sizeof why);
    if (!why[0]) return SWIN_OK;
    return swin__error(SWIN_ERR_UNSUPPORTED, "%s needs %s, which libswin does not support yet",
                       arch, why);
}

/* ---- keys ---- */

/* The i-th key over the common keys, then each family's, counting only the first occurrence
 * of a name (by_name: the one called name). */
static const swin_key *nth_key(size_t want, const char **families, bool by_name, const char *name) {
    size_t seen = 0;
    for (const swin_key *k = common_keys; k->key; k++)
        if (by_name ? strcmp(k->key, name) == 0 : seen++ == want) {
            if (families) *families = "all";
            return k;
        }
    for (size_t f = 0; f < swin__num_families; f++)
        for (const swin_key *k = swin__families[f]->keys; k && k->key; k++) {
            bool dup = false;
            for (const swin_key *c = common_keys; c->key && !dup; c++)
                dup = strcmp(c->key, k->key) == 0;
            for (size_t g = 0; g < f && !dup; g++)
                dup = family_key(swin__families[g], k->key) != NULL;
            if (dup) continue;
            if (by_name ? strcmp(k->key, name) == 0 : seen++ == want) {
                if (families) *families = swin__families[f]->name;
                return k;
            }
        }
    return NULL;
}

const swin_key *swin__key_find(const char *key) {
    return key ? nth_key(0, NULL, true, key) : NULL;
}

const swin_key *swin__key_at(size_t i, const char **families) {
    return nth_key(i, families, false, NULL);
}

/* ---- public listings ---- */

size_t swin_option_count(void) {
    size_t n = 0;
    while (swin__key_at(n, NULL))
        n++;
    return n;
}

swin_status swin_option_info(size_t i, const char **key, const char **family,
                             const char **description) {
    const char *fam = NULL;
    const swin_key *k = swin__key_at(i, &fam);
    if (!k) return swin__error(SWIN_ERR_INVALID_ARGUMENT, "option index %zu out of range", i);
    if (key) *key = k->key;
    if (family) *family = fam;
    if (description) *description = k->help;
    return SWIN_OK;
}

size_t swin_arch_count(void) {
    return swin__num_archs;
}

swin_status swin_arch_info(size_t i, const char **name, const char **family, int *pretrained,
                           const char **missing) {
    static _Thread_local char why[512];
    if (i >= swin__num_archs)
        return swin__error(SWIN_ERR_INVALID_ARGUMENT, "arch index %zu out of range (%zu names)", i,
                           swin__num_archs);
    const swin_arch *a = &swin__archs[i];
    const swin_source src = {NULL, a, false, NULL, ""};
    const swin_family *f = swin__arch_family(a, &src, why, sizeof why);
    const char *fam = "";
    for (size_t k = 0; k < swin__num_families; k++)
        if (listed(swin__families[k]->timm_classes, a->timm_class)) fam = swin__families[k]->name;
    if (name) *name = a->name;
    if (family) *family = fam;
    if (pretrained) *pretrained = a->pretrained ? 1 : 0;
    if (missing) *missing = f ? NULL : why;
    return SWIN_OK;
}
