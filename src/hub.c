/* Hugging Face hub model folders as timm publishes them: config.json beside model.safetensors.
 * config.json is untrusted input: parsed by jansson, every value type-checked, sizes bounded. */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "model.h"

/* model_args keys that do not change inference (training-time settings). */
static const char *const ignored_args[] = {
    "drop_rate",     "drop_path_rate",  "attn_drop_rate", "proj_drop_rate",
    "pos_drop_rate", "patch_drop_rate", "pretrained_cfg", "pretrained_cfg_overlay",
    "weight_init",   "fix_init",
};

/* model_args keys that map to an option of the same name. */
static const char *const arch_args[] = {
    "img_size",    "patch_size", "in_chans", "embed_dim",   "depths",      "num_heads",
    "window_size", "mlp_ratio",  "depth",    "class_token", "global_pool", "num_classes",
};

static swin_status set(swin_options *o, const char *key, const char *value, const char *path) {
    swin_status s = swin_options_set(o, key, value);
    if (s != SWIN_OK)
        return swin__error(s, "%s: %s = \"%.64s\" is not valid for libswin", path, key, value);
    return SWIN_OK;
}

/* Writes a JSON scalar, or an array of numbers as "a,b,c", into buf. */
static bool to_text(const json_t *v, char *buf, size_t cap) {
    if (json_is_string(v)) {
        snprintf(buf, cap, "%s", json_string_value(v));
        return strlen(json_string_value(v)) < cap;
    }
    if (json_is_true(v) || json_is_false(v)) {
        snprintf(buf, cap, "%d", json_is_true(v) ? 1 : 0);
        return true;
    }
    if (json_is_integer(v)) {
        snprintf(buf, cap, "%lld", (long long)json_integer_value(v));
        return true;
    }
    if (json_is_real(v)) {
        snprintf(buf, cap, "%.17g", json_real_value(v));
        return true;
    }
    if (json_is_array(v)) {
        size_t k = 0;
        buf[0] = '\0';
        for (size_t i = 0; i < json_array_size(v); i++) {
            char item[48];
            const json_t *e = json_array_get(v, i);
            if (!json_is_number(e) || !to_text(e, item, sizeof item)) return false;
            const int n = snprintf(buf + k, cap - k, i ? ",%s" : "%s", item);
            if (n < 0 || (size_t)n >= cap - k) return false;
            k += (size_t)n;
        }
        return json_array_size(v) > 0;
    }
    return false;
}

static bool listed(const char *key, const char *const *list, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i], key) == 0) return true;
    return false;
}

static swin_status read_pretrained_cfg(json_t *cfg, swin_options *o, const char *path) {
    if (!json_is_object(cfg))
        return swin__error(SWIN_ERR_FORMAT, "%s: pretrained_cfg is not an object", path);
    char buf[SWIN_KV_VALUE];
    json_t *v = json_object_get(cfg, "input_size");
    if (v) {
        if (!json_is_array(v) || json_array_size(v) != 3 ||
            !json_is_integer(json_array_get(v, 1)) || !json_is_integer(json_array_get(v, 2)))
            return swin__error(SWIN_ERR_FORMAT, "%s: pretrained_cfg.input_size is not [C, H, W]",
                               path);
        const json_int_t h = json_integer_value(json_array_get(v, 1));
        if (h != json_integer_value(json_array_get(v, 2)))
            return swin__error(SWIN_ERR_UNSUPPORTED, "%s: pretrained_cfg.input_size is not square",
                               path);
        snprintf(buf, sizeof buf, "%lld", (long long)h);
        SWIN_TRY(set(o, "input_size", buf, path));
    }
    static const char *const keys[] = {"interpolation", "crop_pct", "mean", "std"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        v = json_object_get(cfg, keys[i]);
        if (!v || json_is_null(v)) continue;
        if (!to_text(v, buf, sizeof buf))
            return swin__error(SWIN_ERR_FORMAT, "%s: pretrained_cfg.%s has an unexpected type",
                               path, keys[i]);
        SWIN_TRY(set(o, keys[i], buf, path));
    }
    v = json_object_get(cfg, "crop_mode");
    if (v && !(json_is_string(v) && strcmp(json_string_value(v), "center") == 0))
        return swin__error(SWIN_ERR_UNSUPPORTED, "%s: pretrained_cfg.crop_mode must be \"center\"",
                           path);
    return SWIN_OK;
}

static swin_status read_labels(json_t *names, char ***labels, int64_t *count, const char *path) {
    if (!json_is_array(names) || json_array_size(names) > (1u << 20))
        return swin__error(SWIN_ERR_FORMAT, "%s: label_names is not an array of strings", path);
    const size_t n = json_array_size(names);
    char **out = swin__calloc(n, sizeof *out);
    if (!out) return swin__oom();
    for (size_t i = 0; i < n; i++) {
        const json_t *e = json_array_get(names, i);
        if (!json_is_string(e) || !(out[i] = swin__strdup(json_string_value(e)))) {
            for (size_t k = 0; k < i; k++)
                swin__free(out[k]);
            swin__free(out);
            return json_is_string(e) ? swin__oom()
                                     : swin__error(SWIN_ERR_FORMAT,
                                                   "%s: label_names[%zu] is not a string", path, i);
        }
    }
    *labels = out;
    *count = (int64_t)n;
    return SWIN_OK;
}

/* jansson reports a failed allocation as a parse error, with json_error_out_of_memory or
 * without any text (every real syntax error has one); give it its own status. */
static swin_status json_failure(const json_error_t *err, const char *path) {
    if (json_error_code(err) == json_error_out_of_memory || !err->text[0]) return swin__oom();
    return swin__error(SWIN_ERR_FORMAT, "%s: invalid JSON at line %d: %s", path, err->line,
                       err->text);
}

static swin_status read_config(json_t *root, swin_options *o, char ***labels, int64_t *num_labels,
                               const char *path) {
    char buf[SWIN_KV_VALUE];
    if (!json_is_object(root)) return swin__error(SWIN_ERR_FORMAT, "%s: not a JSON object", path);
    json_t *v = json_object_get(root, "architecture");
    if (v) {
        if (!json_is_string(v))
            return swin__error(SWIN_ERR_FORMAT, "%s: architecture is not a string", path);
        SWIN_TRY(set(o, "arch", json_string_value(v), path));
    }
    static const char *const top[] = {"num_classes", "global_pool"};
    for (size_t i = 0; i < 2; i++) {
        v = json_object_get(root, top[i]);
        if (!v || json_is_null(v)) continue;
        if (!to_text(v, buf, sizeof buf))
            return swin__error(SWIN_ERR_FORMAT, "%s: %s has an unexpected type", path, top[i]);
        SWIN_TRY(set(o, top[i], buf, path));
    }
    json_t *args = json_object_get(root, "model_args");
    if (args) {
        if (!json_is_object(args))
            return swin__error(SWIN_ERR_FORMAT, "%s: model_args is not an object", path);
        const char *key;
        json_object_foreach(args, key, v) {
            if (listed(key, ignored_args, sizeof ignored_args / sizeof ignored_args[0])) continue;
            if (!listed(key, arch_args, sizeof arch_args / sizeof arch_args[0]))
                return swin__error(SWIN_ERR_UNSUPPORTED,
                                   "%s: model_args.%.64s changes the architecture in a way "
                                   "libswin does not support",
                                   path, key);
            if (!to_text(v, buf, sizeof buf))
                return swin__error(SWIN_ERR_FORMAT, "%s: model_args.%s has an unexpected type",
                                   path, key);
            /* timm writes img_size as [H, W] sometimes */
            if (strcmp(key, "img_size") == 0 && json_is_array(v)) {
                if (json_array_size(v) != 2 ||
                    !json_equal(json_array_get(v, 0), json_array_get(v, 1)))
                    return swin__error(SWIN_ERR_UNSUPPORTED,
                                       "%s: model_args.img_size is not square", path);
                to_text(json_array_get(v, 0), buf, sizeof buf);
            }
            SWIN_TRY(set(o, key, buf, path));
        }
    }
    v = json_object_get(root, "pretrained_cfg");
    if (v) SWIN_TRY(read_pretrained_cfg(v, o, path));
    v = json_object_get(root, "label_names");
    if (v) SWIN_TRY(read_labels(v, labels, num_labels, path));
    return SWIN_OK;
}

swin_status swin__hub_config(const char *path, swin_options *o, char ***labels,
                             int64_t *num_labels) {
    json_error_t err = {0}; /* json_error_code reads a byte jansson may leave unset */
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &err);
    if (!root) {
        FILE *fp = fopen(path, "rb");
        if (!fp) return swin__error(SWIN_ERR_IO, "cannot open \"%s\"", path);
        fclose(fp);
        return json_failure(&err, path);
    }
    const swin_status s = read_config(root, o, labels, num_labels, path);
    json_decref(root);
    return s;
}

swin_status swin__hub_config_memory(const char *text, size_t size, const char *name,
                                    swin_options *o, char ***labels, int64_t *num_labels) {
    json_error_t err = {0}; /* json_error_code reads a byte jansson may leave unset */
    json_t *root = json_loadb(text, size, JSON_REJECT_DUPLICATES, &err);
    if (!root) return json_failure(&err, name);
    const swin_status s = read_config(root, o, labels, num_labels, name);
    json_decref(root);
    return s;
}
