/* Hugging Face hub model folders: config.json beside model.safetensors, as timm publishes them
 * (architecture, model_args, pretrained_cfg, label_names) or as transformers saves them
 * (model_type, architectures, the config class's fields, id2label; and
 * preprocessor_config.json for the image processor). The keys a transformers model_type sets
 * come from the family that reads it (registry.c). config.json is untrusted input: parsed by
 * jansson, every value type-checked, sizes bounded. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "model.h"

/* model_args keys that do not change inference (training-time settings). */
static const char *const ignored_args[] = {
    "drop_rate",     "drop_path_rate",  "attn_drop_rate", "proj_drop_rate",
    "pos_drop_rate", "patch_drop_rate", "pretrained_cfg", "pretrained_cfg_overlay",
    "weight_init",   "fix_init",
};

static swin_status set(swin_options *o, const char *key, const char *value, const char *path,
                       const char *origin) {
    char where[160];
    snprintf(where, sizeof where, "config.json %s", origin);
    swin_status s = swin__options_set(o, key, value, where);
    if (s == SWIN_ERR_OUT_OF_MEMORY) return s;
    if (s != SWIN_OK) {
        char why[256];
        snprintf(why, sizeof why, "%s", swin_last_error());
        return swin__error(s, "%s: %s = \"%.64s\" is not valid for libswin (%s)", path, origin,
                           value, why);
    }
    return SWIN_OK;
}

/* Writes a JSON scalar, or an array of numbers as "a,b,c", into buf; null is "none". */
static bool to_text(const json_t *v, char *buf, size_t cap) {
    if (json_is_null(v)) {
        snprintf(buf, cap, "none");
        return true;
    }
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

/* jansson reports a failed allocation as a parse error, with json_error_out_of_memory or
 * without any text (every real syntax error has one); give it its own status. */
static swin_status json_failure(const json_error_t *err, const char *path) {
    if (json_error_code(err) == json_error_out_of_memory || !err->text[0]) return swin__oom();
    return swin__error(SWIN_ERR_FORMAT, "%s: invalid JSON at line %d: %s", path, err->line,
                       err->text);
}

static void free_labels(char **out, size_t n) {
    for (size_t k = 0; k < n; k++)
        swin__free(out[k]);
    swin__free(out);
}

/* Class names from a list of strings (timm's label_names) or an object {"0": name, ...}
 * with every index from 0 to n-1 (timm's label_names with gaps allowed there, transformers'
 * id2label). */
static swin_status read_labels(json_t *names, char ***labels, int64_t *count, const char *path,
                               const char *what) {
    const bool array = json_is_array(names);
    if ((!array && !json_is_object(names)) ||
        (array ? json_array_size(names) : json_object_size(names)) > (1u << 20))
        return swin__error(SWIN_ERR_FORMAT, "%s: %s is not a list or an object of class names",
                           path, what);
    const size_t n = array ? json_array_size(names) : json_object_size(names);
    char **out = swin__calloc(n ? n : 1, sizeof *out);
    if (!out) return swin__oom();
    for (size_t i = 0; i < n; i++) {
        const json_t *e;
        char key[32];
        if (array) {
            e = json_array_get(names, i);
        } else {
            snprintf(key, sizeof key, "%zu", i);
            e = json_object_get(names, key);
            if (!e) {
                free_labels(out, n);
                return swin__error(SWIN_ERR_FORMAT,
                                   "%s: %s has no class \"%zu\" (it must name classes 0..%zu)",
                                   path, what, i, n - 1);
            }
        }
        if (!json_is_string(e)) {
            free_labels(out, n);
            return swin__error(SWIN_ERR_FORMAT, "%s: %s[%zu] is not a string", path, what, i);
        }
        if (!(out[i] = swin__strdup(json_string_value(e)))) {
            free_labels(out, n);
            return swin__oom();
        }
    }
    if (*labels) free_labels(*labels, (size_t)*count);
    *labels = out;
    *count = (int64_t)n;
    return SWIN_OK;
}

/* ---- timm: architecture, num_classes, global_pool, model_args, pretrained_cfg ---- */

static swin_status read_pretrained_cfg(json_t *cfg, swin_options *o, const char *path) {
    if (!json_is_object(cfg))
        return swin__error(SWIN_ERR_FORMAT, "%s: pretrained_cfg is not an object", path);
    char buf[256];
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
        SWIN_TRY(set(o, "input_size", buf, path, "pretrained_cfg.input_size"));
    }
    static const char *const keys[] = {"interpolation", "crop_pct", "crop_mode", "mean", "std"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        v = json_object_get(cfg, keys[i]);
        if (!v || json_is_null(v)) continue;
        char origin[64];
        snprintf(origin, sizeof origin, "pretrained_cfg.%s", keys[i]);
        if (!to_text(v, buf, sizeof buf))
            return swin__error(SWIN_ERR_FORMAT, "%s: %s has an unexpected type", path, origin);
        SWIN_TRY(set(o, keys[i], buf, path, origin));
    }
    return SWIN_OK;
}

static swin_status read_timm(json_t *root, swin_options *o, char ***labels, int64_t *num_labels,
                             const char *path) {
    char buf[256];
    json_t *v = json_object_get(root, "architecture");
    if (v) {
        if (!json_is_string(v))
            return swin__error(SWIN_ERR_FORMAT, "%s: architecture is not a string", path);
        SWIN_TRY(set(o, "arch", json_string_value(v), path, "architecture"));
    }
    static const char *const top[] = {"num_classes", "global_pool"};
    for (size_t i = 0; i < 2; i++) {
        v = json_object_get(root, top[i]);
        if (!v || json_is_null(v)) continue;
        if (!to_text(v, buf, sizeof buf))
            return swin__error(SWIN_ERR_FORMAT, "%s: %s has an unexpected type", path, top[i]);
        SWIN_TRY(set(o, top[i], buf, path, top[i]));
    }
    json_t *args = json_object_get(root, "model_args");
    if (args) {
        if (!json_is_object(args))
            return swin__error(SWIN_ERR_FORMAT, "%s: model_args is not an object", path);
        const char *key;
        json_object_foreach(args, key, v) {
            if (listed(key, ignored_args, sizeof ignored_args / sizeof ignored_args[0])) continue;
            if (!swin__key_find(key))
                return swin__error(SWIN_ERR_UNSUPPORTED,
                                   "%s: model_args.%.64s is a timm argument libswin does not "
                                   "know",
                                   path, key);
            char origin[96];
            snprintf(origin, sizeof origin, "model_args.%.64s", key);
            if (!to_text(v, buf, sizeof buf))
                return swin__error(SWIN_ERR_FORMAT, "%s: %s has an unexpected type", path, origin);
            SWIN_TRY(set(o, key, buf, path, origin));
        }
    }
    v = json_object_get(root, "pretrained_cfg");
    if (v) SWIN_TRY(read_pretrained_cfg(v, o, path));
    v = json_object_get(root, "label_names");
    if (v) SWIN_TRY(read_labels(v, labels, num_labels, path, "label_names"));
    return SWIN_OK;
}

/* ---- transformers: model_type, architectures, the config class's fields, id2label ---- */

/* The transformers classes libswin computes, their model_type, and whether they have a head
 * (CLIP's: the visual projection). */
static const struct {
    const char *name, *model_type;
    bool head;
} hf_classes[] = {
    {"ViTModel", "vit", false},
    {"ViTForImageClassification", "vit", true},
    {"DeiTModel", "deit", false},
    {"DeiTForImageClassification", "deit", true},
    {"DeiTForImageClassificationWithTeacher", "deit", true},
    {"SwinModel", "swin", false},
    {"SwinForImageClassification", "swin", true},
    {"Swinv2Model", "swinv2", false},
    {"Swinv2ForImageClassification", "swinv2", true},
    {"Dinov2Model", "dinov2", false},
    {"Dinov2ForImageClassification", "dinov2", true},
    {"Dinov2WithRegistersModel", "dinov2_with_registers", false},
    {"Dinov2WithRegistersForImageClassification", "dinov2_with_registers", true},
    {"CLIPVisionModel", "clip_vision_model", false},
    {"CLIPVisionModelWithProjection", "clip_vision_model", true},
    {"CLIPModel", "clip", true},
};

/* The config classes' defaults libswin needs when config.json leaves a key out
 * (save_pretrained writes only what differs from them). */
static const struct {
    const char *model_type, *key, *value;
} hf_defaults[] = {
    {"vit", "hidden_act", "gelu"},
    {"vit", "layer_norm_eps", "1e-12"},
    {"vit", "num_attention_heads", "12"},
    {"deit", "hidden_act", "gelu"},
    {"deit", "layer_norm_eps", "1e-12"},
    {"deit", "num_attention_heads", "12"},
    {"dinov2", "hidden_act", "gelu"},
    {"dinov2", "layer_norm_eps", "1e-06"},
    {"dinov2", "num_attention_heads", "12"},
    {"dinov2", "mlp_ratio", "4"},
    {"dinov2_with_registers", "hidden_act", "gelu"},
    {"dinov2_with_registers", "layer_norm_eps", "1e-06"},
    {"dinov2_with_registers", "num_attention_heads", "12"},
    {"dinov2_with_registers", "mlp_ratio", "4"},
    {"dinov2_with_registers", "num_register_tokens", "4"},
    {"clip_vision_model", "hidden_act", "quick_gelu"},
    {"clip_vision_model", "layer_norm_eps", "1e-05"},
    {"clip_vision_model", "num_attention_heads", "12"},
    {"clip_vision_model", "projection_dim", "512"},
    {"swinv2", "window_size", "7"},
    {"swinv2", "image_size", "224"},
    {"swinv2", "layer_norm_eps", "1e-05"},
    {"swinv2", "hidden_act", "gelu"},
};

/* root[key] as text, else the model type's default; NULL when neither. */
static const char *hf_value(const json_t *root, const char *model_type, const char *key, char *buf,
                            size_t cap, const char *path, swin_status *s) {
    const json_t *v = json_object_get(root, key);
    *s = SWIN_OK;
    if (v && !json_is_null(v)) {
        if (!to_text(v, buf, cap)) {
            *s = swin__error(SWIN_ERR_FORMAT, "%s: %s has an unexpected type", path, key);
            return NULL;
        }
        return buf;
    }
    for (size_t i = 0; i < sizeof hf_defaults / sizeof hf_defaults[0]; i++)
        if (strcmp(hf_defaults[i].model_type, model_type) == 0 &&
            strcmp(hf_defaults[i].key, key) == 0)
            return hf_defaults[i].value;
    return NULL;
}

static swin_status read_transformers(json_t *root, swin_options *o, char ***labels,
                                     int64_t *num_labels, const char *path, swin_hub *hub) {
    char buf[256];
    const json_t *mt = json_object_get(root, "model_type");
    if (!json_is_string(mt))
        return swin__error(SWIN_ERR_FORMAT, "%s: model_type is not a string", path);
    const char *model_type = json_string_value(mt);
    const swin_family *f = swin__family_for_model_type(model_type);
    if (!f || strlen(model_type) >= sizeof hub->model_type)
        return swin__error(SWIN_ERR_UNSUPPORTED,
                           "%s: model_type \"%.64s\" is not one libswin reads (vit, deit, "
                           "dinov2, dinov2_with_registers, clip, clip_vision_model, swin, swinv2)",
                           path, model_type);
    snprintf(hub->layout, sizeof hub->layout, "transformers");
    snprintf(hub->model_type, sizeof hub->model_type, "%s", model_type);
    /* the class: architectures[0], else the base model */
    bool head = false;
    const json_t *archs = json_object_get(root, "architectures");
    if (archs && !json_is_null(archs)) {
        const json_t *a0 = json_array_get(archs, 0);
        if (!json_is_array(archs) || json_array_size(archs) != 1 || !json_is_string(a0))
            return swin__error(SWIN_ERR_FORMAT, "%s: architectures is not a list of one class",
                               path);
        const char *name = json_string_value(a0);
        size_t k = 0;
        while (k < sizeof hf_classes / sizeof hf_classes[0] &&
               (strcmp(hf_classes[k].name, name) != 0 ||
                strcmp(hf_classes[k].model_type, model_type) != 0))
            k++;
        if (k == sizeof hf_classes / sizeof hf_classes[0])
            return swin__error(SWIN_ERR_UNSUPPORTED,
                               "%s: architectures [\"%.64s\"] is not a class libswin computes for "
                               "model_type %s",
                               path, name, model_type);
        head = hf_classes[k].head;
        snprintf(hub->architecture, sizeof hub->architecture, "%s", name);
    } else {
        snprintf(hub->architecture, sizeof hub->architecture, "%s", model_type);
    }
    /* CLIPModel: the vision tower's fields are in vision_config (projection_dim stays at the
     * top); the text tower's are ignored */
    const bool clip = strcmp(model_type, "clip") == 0;
    const json_t *top = root;
    const char *vt = model_type; /* the model type whose defaults apply */
    if (clip) {
        root = json_object_get(top, "vision_config");
        if (!json_is_object(root))
            return swin__error(SWIN_ERR_FORMAT, "%s: model_type clip without a vision_config",
                               path);
        vt = "clip_vision_model";
    }
    const bool dinov2 = strncmp(model_type, "dinov2", 6) == 0;
    const bool clip_vision = clip || strcmp(model_type, "clip_vision_model") == 0;
    /* the family's keys */
    for (const swin_hf_key *k = f->hf_keys; k && k->hf; k++) {
        swin_status s;
        const char *v = hf_value(root, vt, k->hf, buf, sizeof buf, path, &s);
        SWIN_TRY(s);
        if (!v) continue;
        /* DINOv2's SwiGLU width is not mlp_ratio * hidden_size: the tensors tell it */
        if (strcmp(k->hf, "mlp_ratio") == 0 && dinov2) {
            const json_t *sw = json_object_get(root, "use_swiglu_ffn");
            if (json_is_true(sw)) continue;
        }
        SWIN_TRY(set(o, k->key, v, path, k->hf));
    }
    /* what transformers fixes by model type */
    if (strcmp(model_type, "swin") == 0 || strcmp(model_type, "swinv2") == 0) {
        SWIN_TRY(set(o, "windowing", "transformers", path, "model_type"));
    } else if (dinov2 || clip_vision) {
        /* DINOv2: layer scale, class token (+ registers without position rows), Mlp or packed
         * SwiGLU; its classifier reads [class token, patch mean]; position tables resampled
         * without antialiasing (with registers: antialiased). CLIP: norm_pre (pre_layrnorm),
         * patch embedding without bias, the final norm on the class token, the projection a
         * head without bias. */
        SWIN_TRY(set(o, "class_token", "1", path, "model_type"));
        SWIN_TRY(set(o, "dist_token", "0", path, "model_type"));
        SWIN_TRY(
            set(o, "global_pool", dinov2 && head ? "token_avg" : "token", path, "architectures"));
        SWIN_TRY(set(o, "pos_antialias",
                     strcmp(model_type, "dinov2_with_registers") == 0 ? "1" : "0", path,
                     "model_type"));
        if (dinov2) {
            SWIN_TRY(set(o, "init_values", "1.0", path, "model_type"));
            const json_t *sw = json_object_get(root, "use_swiglu_ffn");
            if (sw && !json_is_boolean(sw))
                return swin__error(SWIN_ERR_FORMAT, "%s: use_swiglu_ffn is not a boolean", path);
            SWIN_TRY(set(o, "mlp_layer", json_is_true(sw) ? "SwiGLUPacked" : "Mlp", path,
                         "use_swiglu_ffn"));
            if (strcmp(model_type, "dinov2") == 0)
                SWIN_TRY(set(o, "reg_tokens", "0", path, "model_type"));
        } else {
            SWIN_TRY(set(o, "pre_norm", "1", path, "model_type"));
            SWIN_TRY(set(o, "head_bias", "0", path, "model_type"));
            if (head) {
                swin_status s;
                const char *v =
                    hf_value(top, "clip_vision_model", "projection_dim", buf, sizeof buf, path, &s);
                SWIN_TRY(s);
                SWIN_TRY(set(o, "num_classes", v, path, "projection_dim"));
                return SWIN_OK; /* no labels: image embeddings */
            }
        }
    } else {
        SWIN_TRY(set(o, "class_token", "1", path, "model_type"));
        SWIN_TRY(set(o, "global_pool", "token", path, "model_type"));
        SWIN_TRY(
            set(o, "dist_token", strcmp(model_type, "deit") == 0 ? "1" : "0", path, "model_type"));
        const json_t *act = json_object_get(root, "pooler_act");
        if (act && !(json_is_string(act) && strcmp(json_string_value(act), "tanh") == 0))
            return swin__error(SWIN_ERR_UNSUPPORTED, "%s: pooler_act other than tanh", path);
        const json_t *size = json_object_get(root, "pooler_output_size");
        const json_t *hidden = json_object_get(root, "hidden_size");
        if (size && !json_is_null(size) && !json_equal(size, hidden))
            return swin__error(SWIN_ERR_UNSUPPORTED,
                               "%s: pooler_output_size other than hidden_size", path);
    }
    if (!head) {
        SWIN_TRY(set(o, "num_classes", "0", path, "architectures"));
        return SWIN_OK;
    }
    json_t *names = json_object_get(root, "id2label");
    if (names) {
        SWIN_TRY(read_labels(names, labels, num_labels, path, "id2label"));
        snprintf(buf, sizeof buf, "%lld", (long long)*num_labels);
        SWIN_TRY(set(o, "num_classes", buf, path, "id2label"));
    }
    return SWIN_OK;
}

static swin_status read_config(json_t *root, swin_options *o, char ***labels, int64_t *num_labels,
                               const char *path, swin_hub *hub) {
    if (!json_is_object(root)) return swin__error(SWIN_ERR_FORMAT, "%s: not a JSON object", path);
    if (json_object_get(root, "model_type"))
        return read_transformers(root, o, labels, num_labels, path, hub);
    return read_timm(root, o, labels, num_labels, path);
}

/* Parses the file, or the memory when path is NULL. */
static json_t *parse(const char *path, const char *text, size_t size, const char *name,
                     swin_status *s) {
    json_error_t err = {0}; /* json_error_code reads a byte jansson may leave unset */
    json_t *root;
    if (path) {
        FILE *fp;
        if ((*s = swin__fopen_regular(path, &fp)) != SWIN_OK) return NULL;
        root = json_loadf(fp, JSON_REJECT_DUPLICATES, &err);
        fclose(fp);
    } else {
        root = json_loadb(text, size, JSON_REJECT_DUPLICATES, &err);
    }
    if (root) return root;
    *s = json_failure(&err, name);
    return NULL;
}

static swin_status config(const char *path, const char *text, size_t size, const char *name,
                          swin_options *o, char ***labels, int64_t *num_labels, swin_hub *hub) {
    swin_status s = SWIN_OK;
    json_t *root = parse(path, text, size, name, &s);
    if (!root) return s;
    swin_hub local = {0};
    s = read_config(root, o, labels, num_labels, name, hub ? hub : &local);
    json_decref(root);
    return s;
}

swin_status swin__hub_config(const char *path, swin_options *o, char ***labels, int64_t *num_labels,
                             swin_hub *hub) {
    return config(path, NULL, 0, path, o, labels, num_labels, hub);
}

swin_status swin__hub_config_memory(const char *text, size_t size, const char *name,
                                    swin_options *o, char ***labels, int64_t *num_labels,
                                    swin_hub *hub) {
    return config(NULL, text, size, name, o, labels, num_labels, hub);
}

/* ---- transformers' preprocessor_config.json ---- */

/* PIL's resampling filters by their enum value (PIL.Image.Resampling; 0, nearest, is not
 * computed). */
static const char *const resamples[] = {NULL, "lanczos", "bilinear", "bicubic", "box", "hamming"};

/* CLIPImageProcessor's defaults: shortest edge 224, center crop 224, bicubic, OpenAI's mean and
 * std (BitImageProcessor has the same). */
#define CLIP_DEFAULTS                                                                              \
    true, 224, true, true, 224, 3, {0.48145466f, 0.4578275f, 0.40821073f}, {                       \
        0.26862954f, 0.26130258f, 0.27577711f                                                      \
    }

/* The image processor classes libswin follows, and their defaults (transformers'
 * image_processing_{vit,deit,clip,bit}.py). */
static const struct {
    const char *name;
    bool shortest;         /* a bare int size is a shortest edge (else a square) */
    int64_t size;          /* default resize: a square, or the shortest edge */
    bool crops;            /* the class has a center crop at all (ViT's has none) */
    bool crop;             /* do_center_crop's default */
    int64_t crop_size;     /* default square crop */
    int resample;          /* PIL enum */
    float mean[3], std[3]; /* defaults */
} processors[] = {
    {"ViTImageProcessor", false, 224, false, false, 0, 2, {0.5f, 0.5f, 0.5f}, {0.5f, 0.5f, 0.5f}},
    {"DeiTImageProcessor", false, 256, true, true, 224, 3, {0.5f, 0.5f, 0.5f}, {0.5f, 0.5f, 0.5f}},
    {"CLIPImageProcessor", CLIP_DEFAULTS},
    {"BitImageProcessor", CLIP_DEFAULTS}, /* DINOv2's (image_processing_bit.py) */
};

/* A size field: {"height": h, "width": w}, {"shortest_edge": s}, or a bare integer (a square,
 * or a shortest edge when bare_shortest). */
static swin_status read_size(const json_t *v, const char *what, const char *path,
                             bool bare_shortest, int64_t *h, int64_t *w, int64_t *shortest) {
    *h = *w = *shortest = 0;
    if (json_is_integer(v) && !bare_shortest) {
        *h = *w = json_integer_value(v);
    } else if (json_is_integer(v)) {
        *shortest = json_integer_value(v);
    } else if (json_is_object(v) && json_is_integer(json_object_get(v, "height")) &&
               json_is_integer(json_object_get(v, "width")) && json_object_size(v) == 2) {
        *h = json_integer_value(json_object_get(v, "height"));
        *w = json_integer_value(json_object_get(v, "width"));
    } else if (json_is_object(v) && json_is_integer(json_object_get(v, "shortest_edge")) &&
               json_object_size(v) == 1) {
        *shortest = json_integer_value(json_object_get(v, "shortest_edge"));
    } else {
        return swin__error(SWIN_ERR_UNSUPPORTED,
                           "%s: %s is not {height, width}, {shortest_edge} or an integer", path,
                           what);
    }
    if (*h < 0 || *w < 0 || *shortest < 0 || *h > 16384 || *w > 16384 || *shortest > 16384 ||
        (*h == 0 && *shortest == 0))
        return swin__error(SWIN_ERR_FORMAT, "%s: %s is out of range", path, what);
    if (*h != *w)
        return swin__error(SWIN_ERR_UNSUPPORTED, "%s: %s %lldx%lld is not square", path, what,
                           (long long)*h, (long long)*w);
    return SWIN_OK;
}

static bool flag(const json_t *root, const char *key, bool fallback) {
    const json_t *v = json_object_get(root, key);
    return json_is_boolean(v) ? json_is_true(v) : fallback;
}

/* The image processor transformers' AutoImageProcessor picks for a model type. */
static const char *default_processor(const char *model_type) {
    if (strcmp(model_type, "deit") == 0) return "DeiTImageProcessor";
    if (strncmp(model_type, "dinov2", 6) == 0) return "BitImageProcessor";
    if (strncmp(model_type, "clip", 4) == 0) return "CLIPImageProcessor";
    return "ViTImageProcessor";
}

/* The class: image_processor_type, else feature_extractor_type with FeatureExtractor read as
 * ImageProcessor, else the model type's. */
static swin_status processor_class(const json_t *root, const char *model_type, const char *path,
                                   size_t *k) {
    char name[96];
    const json_t *cls = json_object_get(root, "image_processor_type");
    const json_t *fe = json_object_get(root, "feature_extractor_type");
    if (json_is_string(cls)) {
        snprintf(name, sizeof name, "%s", json_string_value(cls));
    } else if (json_is_string(fe)) {
        const char *v = json_string_value(fe), *at = strstr(v, "FeatureExtractor");
        if (at && strcmp(at, "FeatureExtractor") == 0)
            snprintf(name, sizeof name, "%.*sImageProcessor", (int)(at - v), v);
        else
            snprintf(name, sizeof name, "%s", v);
    } else {
        snprintf(name, sizeof name, "%s", default_processor(model_type));
    }
    for (*k = 0; *k < sizeof processors / sizeof processors[0]; (*k)++)
        if (strcmp(processors[*k].name, name) == 0) return SWIN_OK;
    return swin__error(SWIN_ERR_UNSUPPORTED,
                       "%s: image processor %.64s is not one libswin follows (ViT, DeiT, CLIP, "
                       "Bit)",
                       path, name);
}

static swin_status read_preprocessor(json_t *root, swin_options *o, const char *path,
                                     const char *model_type) {
    if (!json_is_object(root)) return swin__error(SWIN_ERR_FORMAT, "%s: not a JSON object", path);
    size_t k;
    SWIN_TRY(processor_class(root, model_type, path, &k));
    const bool resize = flag(root, "do_resize", true);
    const bool crop = processors[k].crops && flag(root, "do_center_crop", processors[k].crop);
    const bool rescale = flag(root, "do_rescale", true),
               normalize = flag(root, "do_normalize", true);
    if (!resize)
        return swin__error(SWIN_ERR_UNSUPPORTED,
                           "%s: do_resize false: the input size would follow "
                           "each image",
                           path);
    int64_t h = processors[k].shortest ? 0 : processors[k].size, w = h;
    int64_t shortest = processors[k].shortest ? processors[k].size : 0;
    const json_t *v = json_object_get(root, "size");
    if (v && !json_is_null(v))
        SWIN_TRY(read_size(v, "size", path, processors[k].shortest, &h, &w, &shortest));
    if (shortest && !processors[k].shortest)
        return swin__error(SWIN_ERR_FORMAT,
                           "%s: %s takes a size of height and width, not "
                           "shortest_edge",
                           path, processors[k].name);
    int resample = processors[k].resample;
    v = json_object_get(root, "resample");
    if (v && !json_is_null(v)) {
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 5 ||
            !resamples[json_integer_value(v)])
            return swin__error(SWIN_ERR_UNSUPPORTED,
                               "%s: resample is not one of 1 (lanczos), 2 (bilinear), 3 "
                               "(bicubic), 4 (box), 5 (hamming)",
                               path);
        resample = (int)json_integer_value(v);
    }
    char buf[256];
    SWIN_TRY(set(o, "preprocessing", "transformers", path, "image processor"));
    SWIN_TRY(set(o, "interpolation", resamples[resample], path, "resample"));
    if (shortest) {
        snprintf(buf, sizeof buf, "%lld", (long long)shortest);
        SWIN_TRY(set(o, "shortest_edge", buf, path, "size.shortest_edge"));
    } else {
        snprintf(buf, sizeof buf, "%lld,%lld", (long long)h, (long long)w);
        SWIN_TRY(set(o, "resize_to", buf, path, "size"));
    }
    int64_t side = shortest ? shortest : h;
    SWIN_TRY(set(o, "center_crop", crop ? "1" : "0", path, "do_center_crop"));
    if (crop) {
        int64_t ch = processors[k].crop_size, cw = ch, cs;
        v = json_object_get(root, "crop_size");
        if (v && !json_is_null(v)) SWIN_TRY(read_size(v, "crop_size", path, false, &ch, &cw, &cs));
        if (!ch)
            return swin__error(SWIN_ERR_UNSUPPORTED, "%s: crop_size is not a height and width",
                               path);
        side = ch;
    } else if (shortest) {
        return swin__error(SWIN_ERR_UNSUPPORTED,
                           "%s: a shortest_edge resize without a center crop makes a non-square "
                           "input",
                           path);
    }
    snprintf(buf, sizeof buf, "%lld", (long long)side);
    SWIN_TRY(set(o, "input_size", buf, path, crop ? "crop_size" : "size"));
    double factor = 1.0 / 255.0;
    v = json_object_get(root, "rescale_factor");
    if (v && !json_is_null(v)) {
        if (!json_is_number(v) || !(json_number_value(v) > 0))
            return swin__error(SWIN_ERR_FORMAT, "%s: rescale_factor is not a positive number",
                               path);
        factor = json_number_value(v);
    }
    snprintf(buf, sizeof buf, "%.17g", rescale ? factor : 1.0);
    SWIN_TRY(set(o, "rescale_factor", buf, path, "rescale_factor"));
    static const char *const stats[] = {"image_mean", "image_std"};
    for (int i = 0; i < 2; i++) {
        const float *def = i ? processors[k].std : processors[k].mean;
        if (!normalize)
            snprintf(buf, sizeof buf, i ? "1,1,1" : "0,0,0");
        else
            snprintf(buf, sizeof buf, "%.9g,%.9g,%.9g", def[0], def[1], def[2]);
        v = json_object_get(root, stats[i]);
        if (normalize && v && !json_is_null(v) &&
            (!json_is_array(v) || json_array_size(v) != 3 || !to_text(v, buf, sizeof buf)))
            return swin__error(SWIN_ERR_FORMAT, "%s: %s is not three numbers", path, stats[i]);
        SWIN_TRY(set(o, i ? "std" : "mean", buf, path, stats[i]));
    }
    return SWIN_OK;
}

swin_status swin__hub_preprocessor(const char *path, swin_options *o, const char *model_type) {
    swin_status s = SWIN_OK;
    /* without the file: the defaults of the model type's processor */
    json_t *root = path ? parse(path, NULL, 0, path, &s)
                        : json_pack("{ss}", "image_processor_type", default_processor(model_type));
    if (!root) return path ? s : swin__oom();
    if (!path) path = "preprocessor_config.json (absent: defaults)";
    s = read_preprocessor(root, o, path, model_type);
    json_decref(root);
    return s;
}

swin_status swin__hub_preprocessor_memory(const char *text, size_t size, const char *name,
                                          swin_options *o, const char *model_type) {
    swin_status s = SWIN_OK;
    json_t *root = parse(NULL, text, size, name, &s);
    if (!root) return s;
    s = read_preprocessor(root, o, name, model_type);
    json_decref(root);
    return s;
}
