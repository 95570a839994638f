/* The naming layer (naming.h): the layouts' rename tables, the assembly of q/k/v into qkv,
 * and canonical lookups for the layers' binding.
 *
 * Rule patterns: in `from`, `#` matches a decimal integer and `*` (last) the rest of the name;
 * in `to`, `$1`..`$9` is the k-th integer, `$1+` that integer plus one, `$*` the rest. The
 * first rule that matches renames a tensor; a name that no rule matches keeps its name (so an
 * unknown tensor is still reported, by the unused check, under the file's own name). */
#define _DEFAULT_SOURCE /* madvise */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "naming.h"

typedef struct swin_rename {
    const char *from, *to;
    swin_role role; /* SWIN_ROLE_ALIAS: a parameter whose canonical name the layout also uses
                     * itself (timm's Eva vs its other models): a missing tensor is named
                     * canonically, not by this rule */
} swin_rename;

struct swin_layout {
    const char *name;
    const char *const *prefixes; /* base-model prefixes, tried in order; NULL-terminated */
    const swin_rename *rules;
    size_t num_rules;
};

#define P SWIN_ROLE_PARAM
#define BUF SWIN_ROLE_BUFFER
#define IGN SWIN_ROLE_IGNORED

/* timm (>= 0.9) is the canonical naming; Swin's classifier differs, and timm's Eva names its
 * layer scale gamma_1/gamma_2 and its attention's biases q_bias/v_bias (no k bias: the
 * assembly gives k zeros) or its unfused projections q_proj/k_proj/v_proj; Swin V2 names its
 * biases q_bias/v_bias too. */
static const swin_rename timm_rules[] = {
    {"head.fc.*", "head.$*", P},
    {"blocks.#.gamma_1", "blocks.$1.ls1.gamma", SWIN_ROLE_ALIAS},
    {"blocks.#.gamma_2", "blocks.$1.ls2.gamma", SWIN_ROLE_ALIAS},
    {"blocks.#.attn.q_bias", "blocks.$1.attn.q.bias", SWIN_ROLE_ALIAS},
    {"blocks.#.attn.v_bias", "blocks.$1.attn.v.bias", SWIN_ROLE_ALIAS},
    {"blocks.#.attn.q_proj.*", "blocks.$1.attn.q.$*", SWIN_ROLE_ALIAS},
    {"blocks.#.attn.k_proj.*", "blocks.$1.attn.k.$*", SWIN_ROLE_ALIAS},
    {"blocks.#.attn.v_proj.*", "blocks.$1.attn.v.$*", SWIN_ROLE_ALIAS},
    /* Swin V2: q and v biases, no k bias */
    {"layers.#.blocks.#.attn.q_bias", "layers.$1.blocks.$2.attn.q.bias", SWIN_ROLE_ALIAS},
    {"layers.#.blocks.#.attn.v_bias", "layers.$1.blocks.$2.attn.v.bias", SWIN_ROLE_ALIAS},
};

/* The official Microsoft Swin release: PatchMerging at the end of a stage, head.*, and the
 * relative position index and shift mask stored as buffers. */
static const swin_rename official_rules[] = {
    {"layers.#.downsample.*", "layers.$1+.downsample.$*", P},
    {"layers.#.blocks.#.attn.relative_position_index",
     "layers.$1.blocks.$2.attn.relative_position_index", BUF},
    {"layers.#.blocks.#.attn_mask", "layers.$1.blocks.$2.attn_mask", BUF},
};

/* The tutorials' ViT on torch.nn.TransformerEncoder (post-norm layers). */
static const swin_rename pytorch_rules[] = {
    {"encoder.layers.#.self_attn.in_proj_weight", "blocks.$1.attn.qkv.weight", P},
    {"encoder.layers.#.self_attn.in_proj_bias", "blocks.$1.attn.qkv.bias", P},
    {"encoder.layers.#.self_attn.out_proj.*", "blocks.$1.attn.proj.$*", P},
    {"encoder.layers.#.linear1.*", "blocks.$1.mlp.fc1.$*", P},
    {"encoder.layers.#.linear2.*", "blocks.$1.mlp.fc2.$*", P},
    {"encoder.layers.#.norm1.*", "blocks.$1.norm1.$*", P},
    {"encoder.layers.#.norm2.*", "blocks.$1.norm2.$*", P},
    {"encoder.norm.*", "norm.$*", P},
};

/* Hugging Face transformers: ViT, DeiT, DINOv2 (base model under vit. / deit. / dinov2. /
 * dinov2_with_registers., or bare), CLIP's vision tower (vision_model.), Swin (swin.) and
 * Swin V2 (swinv2.).
 * Swin's PatchMerging ends a stage, as in the official release. */
static const swin_rename transformers_rules[] = {
    {"embeddings.cls_token", "cls_token", P},
    {"embeddings.distillation_token", "dist_token", P},
    {"embeddings.mask_token", "mask_token", IGN},
    {"embeddings.position_embeddings", "pos_embed", P},
    {"embeddings.patch_embeddings.projection.*", "patch_embed.proj.$*", P},
    {"embeddings.norm.*", "patch_embed.norm.$*", P},
    {"encoder.layer.#.layernorm_before.*", "blocks.$1.norm1.$*", P},
    {"encoder.layer.#.attention.attention.query.*", "blocks.$1.attn.q.$*", P},
    {"encoder.layer.#.attention.attention.key.*", "blocks.$1.attn.k.$*", P},
    {"encoder.layer.#.attention.attention.value.*", "blocks.$1.attn.v.$*", P},
    {"encoder.layer.#.attention.output.dense.*", "blocks.$1.attn.proj.$*", P},
    {"encoder.layer.#.layernorm_after.*", "blocks.$1.norm2.$*", P},
    {"encoder.layer.#.intermediate.dense.*", "blocks.$1.mlp.fc1.$*", P},
    {"encoder.layer.#.output.dense.*", "blocks.$1.mlp.fc2.$*", P},
    {"encoder.layers.#.blocks.#.layernorm_before.*", "layers.$1.blocks.$2.norm1.$*", P},
    {"encoder.layers.#.blocks.#.attention.self.relative_position_bias_table",
     "layers.$1.blocks.$2.attn.relative_position_bias_table", P},
    {"encoder.layers.#.blocks.#.attention.self.relative_position_index",
     "layers.$1.blocks.$2.attn.relative_position_index", BUF},
    {"encoder.layers.#.blocks.#.attention.self.query.*", "layers.$1.blocks.$2.attn.q.$*", P},
    {"encoder.layers.#.blocks.#.attention.self.key.*", "layers.$1.blocks.$2.attn.k.$*", P},
    {"encoder.layers.#.blocks.#.attention.self.value.*", "layers.$1.blocks.$2.attn.v.$*", P},
    {"encoder.layers.#.blocks.#.attention.output.dense.*", "layers.$1.blocks.$2.attn.proj.$*", P},
    {"encoder.layers.#.blocks.#.layernorm_after.*", "layers.$1.blocks.$2.norm2.$*", P},
    {"encoder.layers.#.blocks.#.intermediate.dense.*", "layers.$1.blocks.$2.mlp.fc1.$*", P},
    {"encoder.layers.#.blocks.#.output.dense.*", "layers.$1.blocks.$2.mlp.fc2.$*", P},
    {"encoder.layers.#.downsample.*", "layers.$1+.downsample.$*", P},
    /* Swin V2 (swinv2.): the logit scale and the continuous position bias MLP; its key has no
     * bias (the assembly gives k zeros) */
    {"encoder.layers.#.blocks.#.attention.self.logit_scale", "layers.$1.blocks.$2.attn.logit_scale",
     P},
    {"encoder.layers.#.blocks.#.attention.self.continuous_position_bias_mlp.*",
     "layers.$1.blocks.$2.attn.cpb_mlp.$*", P},
    /* DINOv2 (and with registers): layer scale, norm1/norm2, Mlp or packed SwiGLU */
    {"embeddings.register_tokens", "reg_token", P},
    {"encoder.layer.#.norm1.*", "blocks.$1.norm1.$*", P},
    {"encoder.layer.#.norm2.*", "blocks.$1.norm2.$*", P},
    {"encoder.layer.#.layer_scale1.lambda1", "blocks.$1.ls1.gamma", P},
    {"encoder.layer.#.layer_scale2.lambda1", "blocks.$1.ls2.gamma", P},
    {"encoder.layer.#.mlp.fc1.*", "blocks.$1.mlp.fc1.$*", P},
    {"encoder.layer.#.mlp.fc2.*", "blocks.$1.mlp.fc2.$*", P},
    {"encoder.layer.#.mlp.weights_in.*", "blocks.$1.mlp.fc1.$*", P},
    {"encoder.layer.#.mlp.weights_out.*", "blocks.$1.mlp.fc2.$*", P},
    /* CLIP's vision tower (CLIPVisionModel, ...WithProjection, CLIPModel); the text tower and
     * the logit scale are not part of it */
    {"vision_model.embeddings.class_embedding", "cls_token", P},
    {"vision_model.embeddings.patch_embedding.*", "patch_embed.proj.$*", P},
    {"vision_model.embeddings.position_embedding.weight", "pos_embed", P},
    {"vision_model.embeddings.position_ids", "position_ids", IGN},
    {"vision_model.pre_layrnorm.*", "norm_pre.$*", P},
    {"vision_model.encoder.layers.#.layer_norm1.*", "blocks.$1.norm1.$*", P},
    {"vision_model.encoder.layers.#.self_attn.q_proj.*", "blocks.$1.attn.q.$*", P},
    {"vision_model.encoder.layers.#.self_attn.k_proj.*", "blocks.$1.attn.k.$*", P},
    {"vision_model.encoder.layers.#.self_attn.v_proj.*", "blocks.$1.attn.v.$*", P},
    {"vision_model.encoder.layers.#.self_attn.out_proj.*", "blocks.$1.attn.proj.$*", P},
    {"vision_model.encoder.layers.#.layer_norm2.*", "blocks.$1.norm2.$*", P},
    {"vision_model.encoder.layers.#.mlp.fc1.*", "blocks.$1.mlp.fc1.$*", P},
    {"vision_model.encoder.layers.#.mlp.fc2.*", "blocks.$1.mlp.fc2.$*", P},
    {"vision_model.post_layernorm.*", "norm.$*", P},
    {"visual_projection.weight", "head.weight", P},
    {"text_model.*", "text_model.$*", IGN},
    {"text_projection.*", "text_projection.$*", IGN},
    {"logit_scale", "logit_scale", IGN},
    {"layernorm.*", "norm.$*", P},
    {"pooler.dense.*", "pooler.$*", P},
    {"classifier.*", "head.$*", P},
    {"cls_classifier.*", "head.$*", P},
    {"distillation_classifier.*", "head_dist.$*", P},
};

#undef P
#undef BUF
#undef IGN

static const char *const no_prefixes[] = {NULL};
static const char *const transformers_prefixes[] = {
    "vit.", "deit.", "swin.", "swinv2.", "dinov2.", "dinov2_with_registers.", NULL};

#define LAYOUT(n, pre, rules)                                                                      \
    { n, pre, rules, sizeof rules / sizeof rules[0] }
static const swin_layout layouts[] = {
    LAYOUT("timm", no_prefixes, timm_rules),
    LAYOUT("official", no_prefixes, official_rules),
    LAYOUT("transformers", transformers_prefixes, transformers_rules),
    LAYOUT("pytorch", no_prefixes, pytorch_rules),
};

const swin_layout *swin__layout_find(const char *name) {
    for (size_t i = 0; name && i < sizeof layouts / sizeof layouts[0]; i++)
        if (strcmp(layouts[i].name, name) == 0) return &layouts[i];
    return NULL;
}

const char *swin__layout_name(const swin_layout *layout) {
    return layout ? layout->name : "?";
}

static bool has(const swin_safetensors *st, const char *name) {
    return swin__st_find(st, name) != NULL;
}

const swin_layout *swin__layout_detect(const swin_safetensors *st, const char *hint) {
    if (hint) return swin__layout_find(hint);
    if (has(st, "encoder.layers.0.self_attn.in_proj_weight")) return swin__layout_find("pytorch");
    char name[128];
    for (int i = -1; i < 0 || transformers_prefixes[i]; i++) { /* -1: no prefix */
        snprintf(name, sizeof name, "%sembeddings.patch_embeddings.projection.weight",
                 i < 0 ? "" : transformers_prefixes[i]);
        if (has(st, name)) return swin__layout_find("transformers");
    }
    if (has(st, "vision_model.embeddings.patch_embedding.weight"))
        return swin__layout_find("transformers");
    /* The official release: a Swin whose PatchMerging ends the stage, or with a bare head, or
     * with the stored relative position index. */
    if (has(st, "layers.0.blocks.0.attn.relative_position_bias_table") &&
        (has(st, "layers.0.downsample.reduction.weight") || has(st, "head.weight") ||
         has(st, "layers.0.blocks.0.attn.relative_position_index")))
        return swin__layout_find("official");
    return swin__layout_find("timm");
}

/* ---- patterns ---- */

#define MAX_CAPS 4

/* Matches name against a `from` pattern; caps receive the integers, *rest the `*` part. */
static bool match(const char *pat, const char *name, long caps[MAX_CAPS], int *ncaps,
                  const char **rest) {
    *ncaps = 0;
    *rest = "";
    for (; *pat; pat++) {
        if (*pat == '*') {
            *rest = name;
            return *name != '\0';
        }
        if (*pat == '#') {
            if (*name < '0' || *name > '9' || *ncaps == MAX_CAPS) return false;
            if (name[0] == '0' && name[1] >= '0' && name[1] <= '9') return false; /* "01" */
            long v = 0;
            for (; *name >= '0' && *name <= '9'; name++) {
                if (v > 100000000L) return false;
                v = v * 10 + (*name - '0');
            }
            caps[(*ncaps)++] = v;
            continue;
        }
        if (*pat != *name) return false;
        name++;
    }
    return *name == '\0';
}

/* Writes a `to` pattern with the captures into buf (cap bytes); returns the full length. */
static size_t expand(const char *pat, const long caps[MAX_CAPS], int ncaps, const char *rest,
                     char *buf, size_t cap) {
    size_t n = 0;
    char num[24];
    for (; *pat; pat++) {
        const char *piece = NULL;
        size_t len = 1;
        if (pat[0] == '$' && pat[1] == '*') {
            piece = rest;
            len = strlen(rest);
            pat++;
        } else if (pat[0] == '$' && pat[1] >= '1' && pat[1] <= '9' && pat[1] - '1' < ncaps) {
            long v = caps[pat[1] - '1'];
            pat++;
            if (pat[1] == '+') {
                v++;
                pat++;
            }
            len = (size_t)snprintf(num, sizeof num, "%ld", v);
            piece = num;
        } else {
            piece = pat;
        }
        for (size_t i = 0; i < len; i++, n++)
            if (n + 1 < cap) buf[n] = piece[i];
    }
    if (cap) buf[n < cap ? n : cap - 1] = '\0';
    return n;
}

/* Inverse of a rule: the file name a canonical name comes from, or false. */
static bool invert(const swin_rename *r, const char *canon, const char *prefix, char *buf,
                   size_t cap) {
    long caps[MAX_CAPS] = {0};
    int ncaps = 0;
    const char *rest = "";
    const char *name = canon;
    for (const char *pat = r->to; *pat; pat++) {
        if (pat[0] == '$' && pat[1] == '*') {
            if (!*name) return false;
            rest = name;
            name += strlen(name);
            pat++;
            continue;
        }
        if (pat[0] == '$' && pat[1] >= '1' && pat[1] <= '9') {
            const int k = pat[1] - '1';
            pat++;
            if (*name < '0' || *name > '9') return false;
            long v = strtol(name, (char **)&name, 10);
            if (pat[1] == '+') {
                v--;
                pat++;
            }
            if (v < 0) return false;
            caps[k] = v;
            if (k + 1 > ncaps) ncaps = k + 1;
            continue;
        }
        if (*pat != *name) return false;
        name++;
    }
    if (*name) return false;
    /* the from pattern's k-th '#' is capture k */
    size_t n = (size_t)snprintf(buf, cap, "%s", prefix);
    int k = 0;
    for (const char *pat = r->from; *pat && n + 1 < cap; pat++) {
        if (*pat == '#')
            n += (size_t)snprintf(buf + n, cap - n, "%ld", caps[k++]);
        else if (*pat == '*')
            n += (size_t)snprintf(buf + n, cap - n, "%s", rest);
        else
            buf[n++] = *pat, buf[n] = '\0';
    }
    return true;
}

/* Canonical name of a file tensor into buf; returns its length (buf may be too small). */
static size_t canonical(const swin_layout *L, const char *prefix, const char *name, swin_role *role,
                        char *buf, size_t cap) {
    const size_t plen = strlen(prefix);
    const char *stripped = plen && strncmp(name, prefix, plen) == 0 ? name + plen : name;
    long caps[MAX_CAPS];
    int ncaps;
    const char *rest;
    for (size_t i = 0; i < L->num_rules; i++)
        if (match(L->rules[i].from, stripped, caps, &ncaps, &rest)) {
            *role = L->rules[i].role == SWIN_ROLE_ALIAS ? SWIN_ROLE_PARAM : L->rules[i].role;
            return expand(L->rules[i].to, caps, ncaps, rest, buf, cap);
        }
    *role = SWIN_ROLE_PARAM;
    return (size_t)snprintf(buf, cap, "%s", name);
}

/* ---- building ---- */

static int cmp_weight(const void *a, const void *b) {
    return strcmp(((const swin_weight *)a)->name, ((const swin_weight *)b)->name);
}

/* No two canonical tensors of one name (the file held both, say, q/k/v and a fused qkv). */
static swin_status check_unique(const swin_weights *w) {
    for (size_t i = 1; i < w->n; i++)
        if (strcmp(w->items[i - 1].name, w->items[i].name) == 0)
            return swin__error(
                SWIN_ERR_CONFIG, "tensors \"%s\" and \"%s\" both stand for \"%s\" in the %s layout",
                w->items[i - 1].source, w->items[i].source, w->items[i].name, w->layout->name);
    return SWIN_OK;
}

static const char *part_names[3] = {"q", "k", "v"};

/* Canonical name with ".attn.q." replaced by ".attn.<part>." into buf. */
static void sibling(char *buf, size_t cap, const char *qname, const char *part) {
    const char *at = strstr(qname, ".attn.q.");
    snprintf(buf, cap, "%.*s.attn.%s.%s", (int)(at - qname), qname, part, at + 8);
}

static bool is_q(const char *name) {
    const char *at = strstr(name, ".attn.q.");
    return at && (strcmp(at + 8, "weight") == 0 || strcmp(at + 8, "bias") == 0);
}

/* Releases the whole pages of a tensor's bytes in the file mapping (they were copied). */
static void release_pages(const swin_safetensors *st, const swin_weight *t) {
    if (!st->map || !t->raw || (const void *)t->f32 != (const void *)t->raw) return;
    const uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t a = (uintptr_t)t->raw, b = a + t->numel * sizeof(float);
    a = (a + page - 1) / page * page;
    b = b / page * page;
#ifdef MADV_DONTNEED
    if (b > a) (void)madvise((void *)a, (size_t)(b - a), MADV_DONTNEED);
#endif
}

/* timm's Eva and Swin V2 have q and v biases and no k bias (zeros, a non-persistent buffer):
 * a timm file with a q bias, a v bias and no k bias; in a transformers file, only where the
 * attention is Swin V2's (it has a logit scale). */
static bool zero_k_bias(const swin_weights *w, const swin_weight *q) {
    const char *at = strstr(q->name, ".attn.q.");
    if (!at || strcmp(at + 8, "bias") != 0) return false;
    char name[512];
    if (strcmp(swin__layout_name(w->layout), "timm") != 0) {
        snprintf(name, sizeof name, "%.*s.attn.logit_scale", (int)(at - q->name), q->name);
        if (strcmp(swin__layout_name(w->layout), "transformers") != 0 || !swin__w_find(w, name))
            return false;
    }
    sibling(name, sizeof name, q->name, "v");
    return swin__w_find(w, name) != NULL;
}

/* Concatenates every attn.{q,k,v}.{weight,bias} triple into attn.qkv.*, in place of the
 * three (their rows stacked q;k;v, as timm's fused qkv); in a timm file a missing k bias next
 * to q and v biases is zeros (Eva). */
static swin_status assemble_qkv(swin_weights *w, swin_safetensors *st) {
    size_t floats = 0, triples = 0;
    for (size_t i = 0; i < w->n; i++) {
        const swin_weight *q = &w->items[i];
        if (!is_q(q->name)) continue;
        const swin_weight *kv[2];
        char name[512];
        for (int p = 1; p < 3; p++) {
            sibling(name, sizeof name, q->name, part_names[p]);
            kv[p - 1] = swin__w_find(w, name);
            if (!kv[p - 1] && p == 1 && zero_k_bias(w, q)) continue;
            if (!kv[p - 1]) {
                char src[512];
                return swin__error(SWIN_ERR_MISSING_TENSOR,
                                   "tensor \"%s\" is missing (it goes with \"%s\")",
                                   swin__w_source(w, name, src, sizeof src), q->source);
            }
        }
        for (int p = 0; p < 3; p++) {
            const swin_weight *t = p ? kv[p - 1] : q;
            if (!t) continue; /* Eva's k bias: zeros */
            if (!t->f32)
                return swin__error(SWIN_ERR_DTYPE,
                                   "tensor \"%s\" has dtype %s; F32, F16 or BF16 expected",
                                   t->source, swin__dtype_name(t->dtype));
            bool same = t->ndim == q->ndim && t->ndim >= 1 && t->ndim <= 2;
            for (int d = 0; same && d < t->ndim; d++)
                same = t->shape[d] == q->shape[d];
            if (!same)
                return swin__error(SWIN_ERR_SHAPE,
                                   "tensors \"%s\" and \"%s\" differ in shape, or are not "
                                   "matrices or vectors: they cannot be stacked into qkv",
                                   q->source, t->source);
        }
        floats += (3 * q->numel + 15) & ~(size_t)15; /* bounded by the file size */
        triples++;
    }
    /* k and v are caught when their q is absent */
    for (size_t i = 0; i < w->n; i++) {
        const char *at = strstr(w->items[i].name, ".attn.");
        if (!at || (strncmp(at, ".attn.k.", 8) != 0 && strncmp(at, ".attn.v.", 8) != 0)) continue;
        char name[512], src[512];
        snprintf(name, sizeof name, "%.*s.attn.q.%s", (int)(at - w->items[i].name),
                 w->items[i].name, at + 8);
        if (!swin__w_find(w, name))
            return swin__error(SWIN_ERR_MISSING_TENSOR,
                               "tensor \"%s\" is missing (it goes with \"%s\")",
                               swin__w_source(w, name, src, sizeof src), w->items[i].source);
    }
    if (!triples) return SWIN_OK;
    w->assembled = swin__aligned_alloc(floats * sizeof(float));
    if (!w->assembled) return swin__oom();
    float *dst = w->assembled;
    size_t out = 0;
    for (size_t i = 0; i < w->n; i++) {
        swin_weight *q = &w->items[i];
        if (!is_q(q->name)) {
            w->items[out++] = *q;
            continue;
        }
        const swin_weight *parts[3] = {q, NULL, NULL};
        char name[512];
        for (int p = 1; p < 3; p++) {
            sibling(name, sizeof name, q->name, part_names[p]);
            parts[p] = swin__w_find(w, name);
        }
        for (int p = 0; p < 3; p++) {
            if (!parts[p]) { /* Eva's k bias */
                memset(dst + p * q->numel, 0, q->numel * sizeof(float));
                continue;
            }
            memcpy(dst + p * q->numel, parts[p]->f32, q->numel * sizeof(float));
            release_pages(st, parts[p]);
        }
        swin_weight t = *q;
        /* "...attn.q.weight" -> "...attn.qkv.weight": the name storage has room (see build) */
        char *at = strstr((char *)t.name, ".attn.q.");
        memmove(at + 10, at + 8, strlen(at + 8) + 1);
        memcpy(at, ".attn.qkv.", 10);
        t.shape[0] *= 3;
        t.numel *= 3;
        t.raw = NULL;
        t.f32 = dst;
        t.dtype = SWIN_DT_F32;
        dst += (3 * q->numel + 15) & ~(size_t)15;
        w->items[out++] = t;
    }
    /* drop the k and v entries */
    size_t kept = 0;
    for (size_t i = 0; i < out; i++) {
        const char *at = strstr(w->items[i].name, ".attn.");
        if (at && (strncmp(at, ".attn.k.", 8) == 0 || strncmp(at, ".attn.v.", 8) == 0)) continue;
        w->items[kept++] = w->items[i];
    }
    w->n = kept;
    qsort(w->items, w->n, sizeof *w->items, cmp_weight);
    return check_unique(w);
}

swin_status swin__weights_build(swin_weights *w, swin_safetensors *st, const swin_layout *layout) {
    memset(w, 0, sizeof *w);
    w->layout = layout;
    /* the base-model prefix: the one under which the patch embedding is found */
    for (const char *const *p = layout->prefixes; *p; p++) {
        char name[128];
        snprintf(name, sizeof name, "%sembeddings.patch_embeddings.projection.weight", *p);
        if (has(st, name)) {
            snprintf(w->prefix, sizeof w->prefix, "%s", *p);
            break;
        }
    }
    const size_t n = st->num_tensors;
    size_t bytes = 0;
    for (size_t i = 0; i < n; i++) {
        swin_role role;
        const size_t len = canonical(layout, w->prefix, st->tensors[i].name, &role, NULL, 0);
        /* +2: an assembled q becomes qkv in place */
        if (!swin__add_size(bytes, len + 3, &bytes)) return swin__oom();
    }
    w->items = swin__calloc(n ? n : 1, sizeof *w->items);
    w->names = swin__malloc(bytes ? bytes : 1);
    if (!w->items || !w->names) return swin__oom();
    char *at = w->names;
    for (size_t i = 0; i < n; i++) {
        const swin_st_tensor *t = &st->tensors[i];
        swin_weight *x = &w->items[i];
        const size_t len = canonical(layout, w->prefix, t->name, &x->role, at, bytes);
        x->name = at;
        at += len + 3;
        bytes -= len + 3;
        x->source = t->name;
        x->dtype = t->dtype;
        x->ndim = t->ndim;
        memcpy(x->shape, t->shape, sizeof x->shape);
        x->numel = t->numel;
        x->raw = t->raw;
        x->f32 = t->f32;
    }
    w->n = n;
    qsort(w->items, w->n, sizeof *w->items, cmp_weight);
    SWIN_TRY(check_unique(w));
    return assemble_qkv(w, st);
}

void swin__weights_free(swin_weights *w) {
    if (!w) return;
    swin__free(w->items);
    swin__free(w->names);
    swin__aligned_free(w->assembled);
    memset(w, 0, sizeof *w);
}

/* ---- lookups ---- */

const swin_weight *swin__w_find(const swin_weights *w, const char *name) {
    size_t lo = 0, hi = w->n;
    while (lo < hi) {
        const size_t mid = lo + (hi - lo) / 2;
        const int c = strcmp(w->items[mid].name, name);
        if (c == 0) return &w->items[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const swin_weight *swin__w_findf(const swin_weights *w, const char *fmt, ...) {
    char name[512];
    va_list ap;
    va_start(ap, fmt);
    const int len = vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    if (len < 0 || (size_t)len >= sizeof name) return NULL;
    return swin__w_find(w, name);
}

const char *swin__w_source(const swin_weights *w, const char *name, char *buf, size_t cap) {
    const swin_weight *t = swin__w_find(w, name);
    if (t) return t->source;
    const swin_layout *L = w->layout;
    /* an assembled qkv comes from the query part */
    char q[512];
    const char *at = strstr(name, ".attn.qkv.");
    for (int pass = 0; L && pass < 2; pass++) {
        const char *canon = name;
        if (pass == 1) {
            if (!at) break;
            snprintf(q, sizeof q, "%.*s.attn.q.%s", (int)(at - name), name, at + 10);
            canon = q;
        }
        for (size_t i = 0; i < L->num_rules; i++)
            if (L->rules[i].role != SWIN_ROLE_ALIAS &&
                invert(&L->rules[i], canon, w->prefix, buf, cap))
                return buf;
    }
    /* no rule renames it: the file uses the canonical name (a classifier under the prefix-
     * less part of a transformers file keeps its own) */
    snprintf(buf, cap, "%s%s", strncmp(name, "head.", 5) == 0 ? "" : w->prefix, name);
    return buf;
}

void swin__w_mark(swin_weights *w, const swin_weight *t) {
    (void)w;
    ((swin_weight *)t)->used = true;
}

static swin_status get(swin_weights *w, const char *name, int ndim, const int64_t *shape,
                       const float **out, bool optional) {
    const swin_weight *t = swin__w_find(w, name);
    if (!t) {
        *out = NULL;
        if (optional) return SWIN_OK;
        char src[512];
        return swin__error(SWIN_ERR_MISSING_TENSOR, "tensor \"%s\" is missing",
                           swin__w_source(w, name, src, sizeof src));
    }
    if (!t->f32)
        return swin__error(SWIN_ERR_DTYPE, "tensor \"%s\" has dtype %s; F32, F16 or BF16 expected",
                           t->source, swin__dtype_name(t->dtype));
    bool ok = t->ndim == ndim;
    for (int i = 0; ok && i < ndim; i++)
        ok = shape[i] < 0 || shape[i] == t->shape[i];
    if (!ok) {
        char want[128] = "", got[128] = "";
        size_t a = 0, b = 0;
        for (int i = 0; i < ndim && a < sizeof want; i++)
            a += shape[i] < 0 ? (size_t)snprintf(want + a, sizeof want - a, i ? ", *" : "*")
                              : (size_t)snprintf(want + a, sizeof want - a, i ? ", %lld" : "%lld",
                                                 (long long)shape[i]);
        for (int i = 0; i < t->ndim && b < sizeof got; i++)
            b += (size_t)snprintf(got + b, sizeof got - b, i ? ", %lld" : "%lld",
                                  (long long)t->shape[i]);
        return swin__error(SWIN_ERR_SHAPE, "tensor \"%s\" has shape [%s]; [%s] expected", t->source,
                           got, want);
    }
    ((swin_weight *)t)->used = true;
    *out = t->f32;
    return SWIN_OK;
}

swin_status swin__w_get(swin_weights *w, const char *name, int ndim, const int64_t *shape,
                        const float **out) {
    return get(w, name, ndim, shape, out, false);
}

swin_status swin__w_get_opt(swin_weights *w, const char *name, int ndim, const int64_t *shape,
                            const float **out) {
    return get(w, name, ndim, shape, out, true);
}

void swin__drop_head(swin_weights *w, int64_t num_classes) {
    if (num_classes) return;
    for (size_t i = 0; i < w->n; i++)
        if (strncmp(w->items[i].name, "head.", 5) == 0 ||
            strncmp(w->items[i].name, "head_dist.", 10) == 0)
            w->items[i].used = true;
}

/* ---- what a tensor nobody used is for ---- */

static const struct {
    const char *part, *feature;
} features[] = {
    {".ls1.", "layer scale (ls1.gamma, ls2.gamma)"},
    {".ls2.", "layer scale (ls1.gamma, ls2.gamma)"},
    {".gamma_1", "layer scale (gamma_1, gamma_2)"},
    {"reg_token", "register tokens (reg_token)"},
    {"head_dist.", "a distillation head (head_dist)"},
    {"norm_pre.", "a norm before the blocks (norm_pre)"},
    {".q_norm.", "qk-norm (attn.q_norm, attn.k_norm)"},
    {".k_norm.", "qk-norm (attn.q_norm, attn.k_norm)"},
    {"attn_pool.", "attention pooling (attn_pool, global_pool map)"},
    {"rel_pos", "a relative position MLP (rel_pos)"},
    {"logit_scale", "Swin V2 scaled cosine attention (logit_scale)"},
    {"cpb_mlp", "Swin V2 continuous position bias (cpb_mlp)"},
    {".q_bias", "separate q and v biases (q_bias, v_bias)"},
    {".v_bias", "separate q and v biases (q_bias, v_bias)"},
    {"absolute_pos_embed", "an absolute position embedding (absolute_pos_embed)"},
    {".fc1_g.", "a SwiGLU MLP (fc1_g, fc1_x)"},
    {".fc1_x.", "a SwiGLU MLP (fc1_g, fc1_x)"},
    {".mlp.norm.", "a norm inside the MLP (mlp.norm)"},
    {"rope", "rotary position embedding (rope)"},
    {"norm_post", "post-norm blocks (norm_post)"},
};

const char *swin__feature_of(const char *name) {
    for (size_t i = 0; i < sizeof features / sizeof features[0]; i++)
        if (strstr(name, features[i].part)) return features[i].feature;
    return NULL;
}

swin_status swin__w_check_unused(const swin_weights *w, const char *arch) {
    size_t unused = 0;
    const swin_weight *first = NULL, *known = NULL;
    for (size_t i = 0; i < w->n; i++) {
        const swin_weight *t = &w->items[i];
        if (t->used || t->role == SWIN_ROLE_IGNORED) continue;
        unused++;
        if (!first) first = t;
        if (!known && swin__feature_of(t->name)) known = t;
    }
    if (!unused) return SWIN_OK;
    if (known)
        return swin__error(SWIN_ERR_UNSUPPORTED,
                           "tensor \"%s\" is for %s, which the architecture (%s) does not "
                           "have (%zu tensor%s of the file unused)",
                           known->source, swin__feature_of(known->name), arch, unused,
                           unused == 1 ? "" : "s");
    return swin__error(SWIN_ERR_SHAPE,
                       "tensor \"%s\" is not used by the architecture (%s): the file holds more "
                       "than it describes (%zu tensor%s unused)",
                       first->source, arch, unused, unused == 1 ? "" : "s");
}
