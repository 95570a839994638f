/* swin: the libswin command line.
 *   swin info MODEL [--arch NAME] [--set KEY=VALUE ...] [--json]
 *   swin run --model MODEL --input IN.npy --output OUT.npy [--emit logits|features]
 *            [--threads T] [--arch NAME] [--set KEY=VALUE ...]
 *   swin preprocess --model MODEL IMAGE --output X.npy
 *   swin classify --model MODEL [--top K] [--json] [--batch N] [--threads T] [--output FILE]
 *            IMAGE_OR_DIR...|-
 *   swin eval --model MODEL DIR [--batch N] [--threads T] [--json]
 * Each command takes its own options (the table cmds below); `swin CMD --help` prints them.
 * Errors: one line on stderr, exit status 1 (2 for usage errors). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <swin/swin.h>

#include "bench.h"

static const char usage_info[] =
    "usage: swin info MODEL [--arch NAME] [--set KEY=VALUE ...] [--json]\n"
    "       swin info --list-archs [--json]\n";
static const char usage_run[] =
    "usage: swin run --model MODEL --input IN.npy --output OUT.npy\n"
    "                [--emit logits|features|tokens|pooler] [--threads T]\n"
    "                [--arch NAME] [--set KEY=VALUE ...]\n";
static const char usage_preprocess[] =
    "usage: swin preprocess --model MODEL IMAGE --output X.npy [--set KEY=VALUE ...]\n";
static const char usage_classify[] =
    "usage: swin classify --model MODEL [--top K] [--json] [--batch N] [--threads T]\n"
    "                [--output FILE] [--set KEY=VALUE ...] IMAGE_OR_DIR...|-\n";
static const char usage_eval[] =
    "usage: swin eval --model MODEL DIR [--batch N] [--threads T] [--json]\n"
    "                [--set KEY=VALUE ...]\n";
static const char usage_bench[] =
    "usage: swin bench --arch PRESET | --model MODEL [--batch N] [--threads T] [--runs R]\n"
    "                [--warmup W] [--size S] [--json]\n";

static const char usage_models[] =
    "\n"
    "MODEL is a .safetensors file (timm's, the official Swin release's, transformers' or the\n"
    "post-norm nn.TransformerEncoder ViT's tensor names) or a Hugging Face folder\n"
    "(model.safetensors and config.json, as timm or transformers save them). NAME is a timm\n"
    "architecture (swin info --list-archs) or a family: swin, swinv2, swinv2_cr, vit,\n"
    "vit_postnorm. Explicit keys override config.json, the file's metadata and the timm\n"
    "architecture, which override what the tensors say. IMAGE is a JPEG or PNG file; a directory "
    "stands for the .jpg/.jpeg/.png\n"
    "files under it (recursively, in name order); - reads one path a line from stdin. DIR of\n"
    "eval holds one sub-folder of images per class (DIR/CLASS/IMAGE). swin COMMAND --help prints\n"
    "a command's options. KEY is one of:\n";

/* Per-command help: what each option does. */
static const char help_info[] =
    "\nPrints the resolved architecture and preprocessing, the labels, the parameter count,\n"
    "per-stage FLOPs and the tensors.\n"
    "  --arch NAME       timm architecture or family\n"
    "  --set KEY=VALUE   override one architecture or preprocessing value\n"
    "  --json            print one JSON object (with --list-archs: one line per architecture)\n"
    "  --list-archs      list timm's architecture names and whether libswin runs them\n";
static const char help_run[] =
    "\nRuns a float32 NCHW batch from a .npy file and writes the output as .npy.\n"
    "  --model MODEL     weights file or hub folder\n"
    "  --input IN.npy    the batch [B, 3, H, W]\n"
    "  --output OUT.npy  where the output goes\n"
    "  --emit WHAT       logits (default), features, tokens or pooler\n"
    "  --threads T       worker threads (default: SWIN_NUM_THREADS, else the cores)\n"
    "  --arch NAME       timm architecture or family\n"
    "  --set KEY=VALUE   override one architecture or preprocessing value\n";
static const char help_preprocess[] =
    "\nWrites the model's preprocessing of IMAGE as a [1, 3, S, S] float32 .npy file.\n"
    "  --model MODEL     weights file or hub folder\n"
    "  --output X.npy    where the tensor goes\n"
    "  --arch NAME       timm architecture or family\n"
    "  --set KEY=VALUE   override one architecture or preprocessing value\n";
static const char help_classify[] =
    "\nPrints the top K classes of each image. Directories are walked recursively in name order;\n"
    "- reads newline-separated paths from stdin. Exit status 1 if any image failed.\n"
    "  --model MODEL     weights file or hub folder\n"
    "  --top K           classes per image (default 5)\n"
    "  --json            one JSON object a line; a failed image is {\"path\": ..., \"error\": "
    "...}\n"
    "  --batch N         images per run (default 8)\n"
    "  --threads T       worker threads (default: SWIN_NUM_THREADS, else the cores)\n"
    "  --output FILE     write the results to FILE (atomically: a temporary file, then rename)\n"
    "  --arch NAME       timm architecture or family\n"
    "  --set KEY=VALUE   override one architecture or preprocessing value\n";
static const char help_eval[] =
    "\nTop-1 and top-5 accuracy (percent) and the mean cross-entropy loss (natural log, from the\n"
    "logits) on DIR/CLASS/IMAGE. A sub-folder named as a label of the model is that class;\n"
    "otherwise, with exactly num_classes sub-folders, their sorted order is the class index.\n"
    "Images that cannot be read are counted as errors and left out of the metrics (exit 1).\n"
    "  --model MODEL     weights file or hub folder\n"
    "  --batch N         images per run (default 8)\n"
    "  --threads T       worker threads (default: SWIN_NUM_THREADS, else the cores)\n"
    "  --json            print one JSON object: top1, top5, loss, count, errors, images_per_s\n"
    "  --arch NAME       timm architecture or family\n"
    "  --set KEY=VALUE   override one architecture or preprocessing value\n";
static const char help_bench[] =
    "\nTimes the forward pass on random input (random weights for --arch).\n"
    "  --arch PRESET     timm architecture (random weights)\n"
    "  --model MODEL     weights file or hub folder\n"
    "  --batch N         images per run (default 1)\n"
    "  --threads T       worker threads\n"
    "  --runs R          timed runs (default 10)\n"
    "  --warmup W        untimed runs first (default 2)\n"
    "  --size S          input side (default: the model's)\n"
    "  --json            print one JSON object\n"
    "  --set KEY=VALUE   override one architecture value\n";

/* The keys, as the library lists them. */
static void print_keys(FILE *fp) {
    size_t col = 0;
    for (size_t i = 0; i < swin_option_count(); i++) {
        const char *key;
        swin_option_info(i, &key, NULL, NULL);
        const size_t len = strlen(key) + 1;
        if (col + len > 90) {
            fputc('\n', fp);
            col = 0;
        }
        fprintf(fp, "%s%s", col ? " " : "  ", key);
        col += len + (col ? 0 : 1);
    }
    fputc('\n', fp);
}

/* The usage of every command, then what MODEL, IMAGE and KEY are (swin --help). */
static void print_usage(FILE *fp) {
    const char *const all[] = {usage_info,     usage_run,  usage_preprocess,
                               usage_classify, usage_eval, usage_bench};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        fprintf(fp, "%s%s", i ? "      " : "", i ? all[i] + 6 : all[i]); /* "usage:" once */
    fputs("       swin --version | --help\n", fp);
    fputs(usage_models, fp);
    print_keys(fp);
}

static int fail(const char *what, swin_status s) {
    if (strstr(swin_last_error(), what)) /* the message names it already */
        fprintf(stderr, "swin: error: %s (%s)\n", swin_last_error(), swin_status_string(s));
    else
        fprintf(stderr, "swin: error: %s: %s (%s)\n", what, swin_last_error(),
                swin_status_string(s));
    return 1;
}

/* The command being run, for usage errors (NULL before one is known). */
static const struct command *current;

static int usage_error(const char *msg, const char *arg);

enum {
    OPT_MODEL = 1 << 0,
    OPT_INPUT = 1 << 1,
    OPT_OUTPUT = 1 << 2,
    OPT_EMIT = 1 << 3,
    OPT_ARCH = 1 << 4,
    OPT_SET = 1 << 5,
    OPT_TOP = 1 << 6,
    OPT_BATCH = 1 << 7,
    OPT_THREADS = 1 << 8,
    OPT_RUNS = 1 << 9,
    OPT_WARMUP = 1 << 10,
    OPT_SIZE = 1 << 11,
    OPT_JSON = 1 << 12,
    OPT_LIST_ARCHS = 1 << 13,
};

/* Every option: its name, whether it takes a value, its bit. */
static const struct option_def {
    const char *name;
    bool valued;
    unsigned bit;
} option_defs[] = {
    {"--model", true, OPT_MODEL},     {"--input", true, OPT_INPUT},
    {"--output", true, OPT_OUTPUT},   {"--emit", true, OPT_EMIT},
    {"--arch", true, OPT_ARCH},       {"--set", true, OPT_SET},
    {"--top", true, OPT_TOP},         {"--batch", true, OPT_BATCH},
    {"--threads", true, OPT_THREADS}, {"--runs", true, OPT_RUNS},
    {"--warmup", true, OPT_WARMUP},   {"--size", true, OPT_SIZE},
    {"--json", false, OPT_JSON},      {"--list-archs", false, OPT_LIST_ARCHS},
};

typedef struct args {
    const char *model, *input, *output, *emit;
    long top, batch, threads, runs, warmup, size;
    const char *arch;
    bool json, list_archs;
    const char **positional;
    int npos;
    swin_options *opts;
} args;

typedef struct command {
    const char *name;
    unsigned options; /* the OPT_ bits it takes */
    const char *usage, *help;
    int (*run)(args *a);
} command;

static int usage_error(const char *msg, const char *arg) {
    if (current) {
        fprintf(stderr, "swin: error: %s: %s%s%s\n%s(swin %s --help says more)\n", current->name,
                msg, arg ? ": " : "", arg ? arg : "", current->usage, current->name);
        return 2;
    }
    fprintf(stderr, "swin: error: %s%s%s\n", msg, arg ? ": " : "", arg ? arg : "");
    print_usage(stderr);
    return 2;
}

static bool parse_long(const char *s, long lo, long hi, long *out) {
    char *end;
    errno = 0;
    const long v = strtol(s, &end, 10);
    if (!*s || *end || errno || v < lo || v > hi) return false;
    *out = v;
    return true;
}

/* Parses the command's options (--name VALUE or --name=VALUE) and positional arguments ("-" is
 * one; "--" ends the options). Returns 0, -1 after printing help, or an exit code. */
static int parse(int argc, char **argv, args *a, int first, const command *cmd) {
    bool options_end = false;
    for (int i = first; i < argc; i++) {
        const char *arg = argv[i];
        if (options_end || arg[0] != '-' || strcmp(arg, "-") == 0) {
            a->positional[a->npos++] = arg;
            continue;
        }
        if (strcmp(arg, "--") == 0) {
            options_end = true;
            continue;
        }
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            fputs(cmd->usage, stdout);
            fputs(cmd->help, stdout);
            if (cmd->options & OPT_SET) {
                fputs("\nKEY is one of:\n", stdout);
                print_keys(stdout);
            }
            return -1;
        }
        const char *eq = strchr(arg, '=');
        const size_t nlen = eq && arg[1] == '-' ? (size_t)(eq - arg) : strlen(arg);
        const struct option_def *def = NULL;
        for (size_t k = 0; k < sizeof option_defs / sizeof option_defs[0]; k++)
            if (strlen(option_defs[k].name) == nlen && strncmp(arg, option_defs[k].name, nlen) == 0)
                def = &option_defs[k];
        if (!def || !(cmd->options & def->bit)) {
            char name[64];
            snprintf(name, sizeof name, "%.*s", (int)(nlen < 63 ? nlen : 63), arg);
            return usage_error("unknown option", name);
        }
        const char *v = NULL;
        if (def->valued) {
            if (eq && arg[1] == '-')
                v = eq + 1;
            else if (i + 1 >= argc)
                return usage_error("missing value after", arg);
            else
                v = argv[++i];
        } else if (eq && arg[1] == '-') {
            return usage_error("takes no value", arg);
        }
        switch (def->bit) {
        case OPT_MODEL:
            a->model = v;
            break;
        case OPT_INPUT:
            a->input = v;
            break;
        case OPT_OUTPUT:
            a->output = v;
            break;
        case OPT_EMIT:
            a->emit = v;
            break;
        case OPT_JSON:
            a->json = true;
            break;
        case OPT_LIST_ARCHS:
            a->list_archs = true;
            break;
        case OPT_TOP:
            if (!parse_long(v, 1, 1000000, &a->top))
                return usage_error("--top takes a positive integer", v);
            break;
        case OPT_BATCH:
            if (!parse_long(v, 1, 4096, &a->batch)) return usage_error("--batch takes 1..4096", v);
            break;
        case OPT_THREADS:
            if (!parse_long(v, 1, 1024, &a->threads))
                return usage_error("--threads takes 1..1024", v);
            break;
        case OPT_RUNS:
            if (!parse_long(v, 1, 100000, &a->runs))
                return usage_error("--runs takes 1..100000", v);
            break;
        case OPT_WARMUP:
            if (!parse_long(v, 0, 100000, &a->warmup))
                return usage_error("--warmup takes 0..100000", v);
            break;
        case OPT_SIZE:
            if (!parse_long(v, 1, 16384, &a->size)) return usage_error("--size takes 1..16384", v);
            break;
        default: { /* --arch, --set */
            char key[64];
            const char *value = v;
            if (def->bit == OPT_ARCH) {
                strcpy(key, "arch");
                a->arch = v;
            } else {
                const char *veq = strchr(v, '=');
                if (!veq || veq == v || (size_t)(veq - v) >= sizeof key)
                    return usage_error("--set needs KEY=VALUE", v);
                memcpy(key, v, (size_t)(veq - v));
                key[veq - v] = '\0';
                value = veq + 1;
            }
            swin_status s = swin_options_set(a->opts, key, value);
            if (s != SWIN_OK) return fail(def->name, s);
        }
        }
    }
    return 0;
}

/* ---- output streams and JSON ---- */

static void json_string(FILE *fp, const char *s) {
    fputc('"', fp);
    for (; *s; s++) {
        const unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(fp, "\\%c", c);
        else if (c < 0x20)
            fprintf(fp, "\\u%04x", c);
        else
            fputc(c, fp);
    }
    fputc('"', fp);
}

/* A number as JSON (which has no NaN or infinity). */
static void json_number(FILE *fp, double v) {
    if (isfinite(v))
        fprintf(fp, "%.17g", v);
    else
        fputs("null", fp);
}

/* An output file written atomically: a temporary file in the same folder, fsync, rename. */
typedef struct out_file {
    FILE *fp;
    char *tmp;         /* the temporary's path, or NULL for stdout */
    const char *final; /* the file's path */
} out_file;

static int out_open(out_file *o, const char *path) {
    o->fp = stdout;
    o->tmp = NULL;
    o->final = path;
    if (!path) return 0;
    const size_t len = strlen(path);
    o->tmp = malloc(len + 16);
    if (!o->tmp) return fail(path, SWIN_ERR_OUT_OF_MEMORY);
    snprintf(o->tmp, len + 16, "%s.tmp.XXXXXX", path);
    const int fd = mkstemp(o->tmp);
    if (fd < 0 || !(o->fp = fdopen(fd, "w"))) {
        fprintf(stderr, "swin: error: %s: cannot create %s: %s\n", path, o->tmp, strerror(errno));
        if (fd >= 0) {
            close(fd);
            unlink(o->tmp);
        }
        free(o->tmp);
        o->tmp = NULL;
        o->fp = stdout;
        return 1;
    }
    return 0;
}

/* Finishes the output: with ok, makes the file appear whole under its name (mode 0666 less the
 * umask, as fopen would); otherwise removes the temporary. Returns 0 or 1 after a message. */
static int out_close(out_file *o, bool ok) {
    if (!o->tmp) {
        if (fflush(stdout) != 0 && ok) {
            fprintf(stderr, "swin: error: writing the output: %s\n", strerror(errno));
            return 1;
        }
        return 0;
    }
    int rc = 0;
    if (ok) {
        const mode_t mask = umask(0);
        umask(mask);
        if (fflush(o->fp) != 0 || fchmod(fileno(o->fp), 0666 & ~mask) != 0 ||
            fsync(fileno(o->fp)) != 0) {
            fprintf(stderr, "swin: error: %s: %s\n", o->final, strerror(errno));
            rc = 1;
        }
    }
    if (fclose(o->fp) != 0 && ok && !rc) {
        fprintf(stderr, "swin: error: %s: %s\n", o->final, strerror(errno));
        rc = 1;
    }
    if (ok && !rc && rename(o->tmp, o->final) != 0) {
        fprintf(stderr, "swin: error: %s: %s\n", o->final, strerror(errno));
        rc = 1;
    }
    if (!ok || rc) unlink(o->tmp);
    if (ok && !rc) { /* the rename itself reaches the disk with the folder */
        char *dir = strdup(o->final);
        if (dir) {
            char *slash = strrchr(dir, '/');
            const char *d = slash ? (slash == dir ? "/" : (*slash = '\0', dir)) : ".";
            const int dfd = open(d, O_RDONLY);
            if (dfd >= 0) {
                fsync(dfd);
                close(dfd);
            }
            free(dir);
        }
    }
    free(o->tmp);
    o->tmp = NULL;
    o->fp = stdout;
    return rc;
}

static void print_shape(FILE *fp, int ndim, const int64_t *shape) {
    fputc('[', fp);
    for (int i = 0; i < ndim; i++)
        fprintf(fp, i ? ", %lld" : "%lld", (long long)shape[i]);
    fputc(']', fp);
}

/* swin info --list-archs: every timm architecture name, and whether libswin runs it. */
static int cmd_list_archs(const args *a) {
    size_t runs = 0;
    for (size_t i = 0; i < swin_arch_count(); i++) {
        const char *name, *family, *missing;
        int pretrained;
        swin_arch_info(i, &name, &family, &pretrained, &missing);
        runs += !missing;
        if (a->json) {
            printf("{\"arch\": ");
            json_string(stdout, name);
            printf(", \"family\": ");
            json_string(stdout, family);
            printf(", \"pretrained\": %s, \"supported\": %s", pretrained ? "true" : "false",
                   missing ? "false" : "true");
            if (missing) {
                printf(", \"missing\": ");
                json_string(stdout, missing);
            }
            printf("}\n");
        } else {
            printf("%-48s %-13s %s%s%s\n", name, *family ? family : "-",
                   missing ? "not yet: " : "supported", missing ? missing : "",
                   pretrained ? "" : " (no timm weights)");
        }
    }
    if (!a->json) printf("\n%zu of %zu timm architectures run\n", runs, swin_arch_count());
    return 0;
}

/* A value of the model's resolved configuration, or NULL. */
static const char *config_value(const swin_model *m, const char *key) {
    for (size_t i = 0; i < swin_model_config_count(m); i++) {
        const char *k, *v;
        swin_model_config_item(m, i, &k, &v);
        if (strcmp(k, key) == 0) return v;
    }
    return NULL;
}

/* A configuration value as JSON: a number, a list of numbers ("1,2,3"), true/false, else a
 * string. */
static void json_config_value(FILE *fp, const char *v) {
    if (strcmp(v, "true") == 0 || strcmp(v, "false") == 0) {
        fputs(v, fp);
        return;
    }
    bool numeric = *v != '\0', list = strchr(v, ',') != NULL;
    for (const char *p = v; numeric && *p;) {
        char *end;
        const double d = strtod(p, &end);
        if (end == p || !isfinite(d) || (*end && *end != ',')) numeric = false;
        p = *end ? end + 1 : end;
        if (*end == ',' && !*p) numeric = false;
    }
    if (!numeric) {
        json_string(fp, v);
        return;
    }
    if (list) fputc('[', fp);
    for (const char *p = v; *p;) {
        char *end;
        json_number(fp, strtod(p, &end));
        p = *end ? end + 1 : end;
        if (*p) fputs(", ", fp);
    }
    if (list) fputc(']', fp);
}

#define INFO_LABELS 5 /* labels that swin info shows */

static int cmd_info_json(const args *a, const swin_model *m) {
    printf("{\"model\": ");
    json_string(stdout, a->model);
    printf(", \"config\": {");
    for (size_t i = 0; i < swin_model_config_count(m); i++) {
        const char *key, *value;
        swin_model_config_item(m, i, &key, &value);
        printf(i ? ", " : "");
        json_string(stdout, key);
        printf(": ");
        json_config_value(stdout, value);
    }
    printf("}, \"naming\": ");
    const char *naming = swin_model_get(m, "naming");
    if (naming)
        json_string(stdout, naming);
    else
        printf("null");
    printf(", \"preprocessing\": {");
    static const char *const pre[] = {"input_size", "interpolation", "crop_pct",
                                      "crop_mode",  "mean",          "std"};
    bool first = true;
    for (size_t i = 0; i < sizeof pre / sizeof pre[0]; i++) {
        const char *v = config_value(m, pre[i]);
        if (!v) continue;
        printf("%s\"%s\": ", first ? "" : ", ", pre[i]);
        json_config_value(stdout, v);
        first = false;
    }
    const int64_t K = swin_model_num_classes(m);
    printf("}, \"num_classes\": %lld, \"labels\": [", (long long)K);
    for (int64_t c = 0; c < K; c++) {
        const char *label = swin_model_label(m, c);
        if (!label) break;
        printf(c ? ", " : "");
        json_string(stdout, label);
    }
    printf("], \"parameters\": %lld, \"kernels\": \"%s\", \"stages\": [",
           (long long)swin_model_num_params(m), swin_kernel_isa());
    for (int st = 0; st < swin_model_num_stages(m); st++) {
        int64_t depth, heads, ch, h, w, win;
        double f, g;
        swin_model_stage_dims(m, st, &depth, &heads, &ch, &h, &w, &win);
        swin_model_flops(m, st, &f, &g);
        printf("%s{\"depth\": %lld, \"heads\": %lld, \"channels\": %lld, \"grid\": [%lld, %lld], "
               "\"window\": %lld, \"wmsa_gflops\": ",
               st ? ", " : "", (long long)depth, (long long)heads, (long long)ch, (long long)h,
               (long long)w, (long long)win);
        json_number(stdout, f / 1e9);
        printf(", \"msa_gflops\": ");
        json_number(stdout, g / 1e9);
        printf("}");
    }
    double total, total_g;
    swin_model_flops(m, -1, &total, &total_g);
    printf("], \"gflops\": ");
    json_number(stdout, total / 1e9);
    printf(", \"msa_gflops\": ");
    json_number(stdout, total_g / 1e9);
    printf(", \"tensors\": [");
    for (size_t i = 0; i < swin_model_num_tensors(m); i++) {
        const char *name, *dtype;
        int ndim;
        const int64_t *shape;
        swin_model_tensor_info(m, i, &name, &dtype, &ndim, &shape);
        printf(i ? ", {\"name\": " : "{\"name\": ");
        json_string(stdout, name);
        printf(", \"dtype\": ");
        json_string(stdout, dtype);
        printf(", \"shape\": ");
        print_shape(stdout, ndim, shape);
        printf("}");
    }
    printf("]}\n");
    return 0;
}

static int cmd_info(args *a) {
    if (a->list_archs) {
        if (a->npos || a->model) return usage_error("--list-archs takes no MODEL", NULL);
        return cmd_list_archs(a);
    }
    if (!a->model && a->npos == 1)
        a->model = a->positional[0];
    else if (a->npos)
        return usage_error("unexpected argument", a->positional[a->npos - 1]);
    if (!a->model) return usage_error("info needs MODEL", NULL);
    swin_model *m;
    swin_status s = swin_model_load_file(&m, a->model, a->opts);
    if (s != SWIN_OK) return fail(a->model, s);
    if (a->json) {
        const int rc = cmd_info_json(a, m);
        swin_model_free(m);
        return rc;
    }
    printf("%-14s %s\n", "model", a->model);
    for (size_t i = 0; i < swin_model_config_count(m); i++) {
        const char *key, *value;
        swin_model_config_item(m, i, &key, &value);
        printf("%-14s %s\n", key, value);
    }
    const int64_t K = swin_model_num_classes(m);
    if (K > 0 && swin_model_label(m, 0)) {
        printf("%-14s %lld:", "labels", (long long)K);
        for (int64_t c = 0; c < K && c < INFO_LABELS; c++)
            printf("%s %s", c ? "," : "", swin_model_label(m, c));
        printf("%s\n", K > INFO_LABELS ? ", ..." : "");
    } else if (K > 0) {
        printf("%-14s %lld (no names)\n", "labels", (long long)K);
    }
    printf("%-14s %lld (%.2f M)\n", "parameters", (long long)swin_model_num_params(m),
           (double)swin_model_num_params(m) / 1e6);
    printf("%-14s %s\n", "kernels", swin_kernel_isa());
    printf("\nFLOPs (multiply-accumulates, one image at img_size; W-MSA as run, MSA if attention "
           "were global)\n");
    printf("stage  depth  heads  channels  grid      window  W-MSA GFLOPs  MSA GFLOPs\n");
    for (int st = 0; st < swin_model_num_stages(m); st++) {
        int64_t depth, heads, ch, h, w, win;
        double f, g;
        swin_model_stage_dims(m, st, &depth, &heads, &ch, &h, &w, &win);
        swin_model_flops(m, st, &f, &g);
        char grid[48];
        snprintf(grid, sizeof grid, "%lldx%lld", (long long)h, (long long)w);
        printf("%5d  %5lld  %5lld  %8lld  %-8s  %6lld  %12.4f  %10.4f\n", st, (long long)depth,
               (long long)heads, (long long)ch, grid, (long long)win, f / 1e9, g / 1e9);
    }
    double total, total_g;
    swin_model_flops(m, -1, &total, &total_g);
    printf("total (with patch embedding and head)            %12.4f  %10.4f\n", total / 1e9,
           total_g / 1e9);
    printf("\ntensors (%zu)\n", swin_model_num_tensors(m));
    for (size_t i = 0; i < swin_model_num_tensors(m); i++) {
        const char *name, *dtype;
        int ndim;
        const int64_t *shape;
        swin_model_tensor_info(m, i, &name, &dtype, &ndim, &shape);
        printf("  %-60s %-5s ", name, dtype);
        print_shape(stdout, ndim, shape);
        printf("\n");
    }
    swin_model_free(m);
    return 0;
}

/* Creates a context of m with a->threads worker threads (0: the default). */
static swin_status make_context(swin_context **ctx, const swin_model *m, const args *a) {
    swin_status s = swin_context_create(ctx, m);
    if (s == SWIN_OK && a->threads) s = swin_context_set_num_threads(*ctx, (int)a->threads);
    return s;
}

static int cmd_run(args *a) {
    if (a->npos) return usage_error("unexpected argument", a->positional[0]);
    if (!a->model || !a->input || !a->output)
        return usage_error("run needs --model, --input and --output", NULL);
    swin_output kind = SWIN_OUTPUT_LOGITS;
    if (a->emit && strcmp(a->emit, "features") == 0)
        kind = SWIN_OUTPUT_FEATURES;
    else if (a->emit && strcmp(a->emit, "pooler") == 0)
        kind = SWIN_OUTPUT_POOLER;
    else if (a->emit && strcmp(a->emit, "tokens") == 0)
        kind = SWIN_OUTPUT_TOKENS;
    else if (a->emit && strcmp(a->emit, "logits") != 0)
        return usage_error("--emit takes logits, features, tokens or pooler", a->emit);
    int rc = 1;
    swin_model *m = NULL;
    swin_context *ctx = NULL;
    swin_tensor *in = NULL;
    const swin_tensor *out;
    swin_status s;
    if ((s = swin_model_load_file(&m, a->model, a->opts)) != SWIN_OK) {
        rc = fail(a->model, s);
        goto done;
    }
    if ((s = swin_tensor_load_npy(&in, a->input)) != SWIN_OK) {
        rc = fail(a->input, s);
        goto done;
    }
    if ((s = make_context(&ctx, m, a)) != SWIN_OK || (s = swin_context_run(ctx, in)) != SWIN_OK ||
        (s = swin_context_output(ctx, kind, 0, &out)) != SWIN_OK) {
        rc = fail(a->input, s);
        goto done;
    }
    if ((s = swin_tensor_save_npy(out, a->output)) != SWIN_OK) {
        rc = fail(a->output, s);
        goto done;
    }
    rc = 0;
done:
    swin_tensor_free(in);
    swin_context_free(ctx);
    swin_model_free(m);
    return rc;
}

static int cmd_preprocess(args *a) {
    if (!a->model || a->npos != 1 || !a->output)
        return usage_error("preprocess needs --model, one IMAGE and --output", NULL);
    swin_model *m = NULL;
    swin_image *img = NULL;
    swin_tensor *x = NULL;
    int rc = 1;
    swin_status s;
    if ((s = swin_model_load_file(&m, a->model, a->opts)) != SWIN_OK) {
        rc = fail(a->model, s);
        goto done;
    }
    const int64_t S = swin_model_input_size(m), shape[4] = {1, 3, S, S};
    if ((s = swin_image_load_file(&img, a->positional[0])) != SWIN_OK ||
        (s = swin_tensor_create(&x, 4, shape)) != SWIN_OK ||
        (s = swin_image_preprocess(img, m, x, 0)) != SWIN_OK) {
        rc = fail(a->positional[0], s);
        goto done;
    }
    if ((s = swin_tensor_save_npy(x, a->output)) != SWIN_OK) {
        rc = fail(a->output, s);
        goto done;
    }
    rc = 0;
done:
    swin_tensor_free(x);
    swin_image_free(img);
    swin_model_free(m);
    return rc;
}

/* ---- collecting image paths ---- */

#define MAX_PATHS ((size_t)1 << 24) /* images one command takes: 16 M paths */
#define MAX_DEPTH 64                /* folder nesting (a symbolic link loop ends here) */

typedef struct path_list {
    char **items;
    int64_t *labels; /* eval: the class of each path; NULL for classify */
    size_t n, cap;
} path_list;

static void free_paths(path_list *l) {
    for (size_t i = 0; i < l->n; i++)
        free(l->items[i]);
    free(l->items);
    free(l->labels);
    *l = (path_list){0};
}

/* Appends p; returns 0 or 1 after a message. */
static int push_path(path_list *l, const char *p, int64_t label) {
    if (l->n == MAX_PATHS) {
        fprintf(stderr, "swin: error: more than %zu images; split the list\n", MAX_PATHS);
        return 1;
    }
    if (l->n == l->cap) {
        const size_t cap = l->cap ? l->cap * 2 : 64;
        char **items = realloc(l->items, cap * sizeof *items);
        if (!items) return fail("image list", SWIN_ERR_OUT_OF_MEMORY);
        l->items = items;
        int64_t *labels = realloc(l->labels, cap * sizeof *labels);
        if (!labels) return fail("image list", SWIN_ERR_OUT_OF_MEMORY);
        l->labels = labels;
        l->cap = cap;
    }
    if (!(l->items[l->n] = strdup(p))) return fail("image list", SWIN_ERR_OUT_OF_MEMORY);
    l->labels[l->n++] = label;
    return 0;
}

static bool image_name(const char *name) {
    const char *dot = strrchr(name, '.');
    if (!dot) return false;
    char ext[8] = {0};
    for (size_t i = 0; i < sizeof ext - 1 && dot[1 + i]; i++)
        ext[i] = (char)((dot[1 + i] >= 'A' && dot[1 + i] <= 'Z') ? dot[1 + i] + 32 : dot[1 + i]);
    return strcmp(ext, "jpg") == 0 || strcmp(ext, "jpeg") == 0 || strcmp(ext, "png") == 0;
}

static int cmp_str(const void *x, const void *y) {
    return strcmp(*(char *const *)x, *(char *const *)y);
}

static char *join_path(const char *dir, const char *name) {
    const size_t len = strlen(dir), n = len + strlen(name) + 2;
    char *full = malloc(n);
    if (full) snprintf(full, n, "%s%s%s", dir, len && dir[len - 1] == '/' ? "" : "/", name);
    return full;
}

/* The names in folder dir that do not start with a dot, sorted; NULL after a message. */
static char **list_dir(const char *dir, size_t *count) {
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "swin: error: %s: cannot open directory: %s\n", dir, strerror(errno));
        return NULL;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 32;
            char **grown = realloc(names, cap * sizeof *grown);
            if (!grown) goto oom;
            names = grown;
        }
        if (!(names[n] = strdup(e->d_name))) goto oom;
        n++;
    }
    closedir(d);
    qsort(names, n, sizeof *names, cmp_str);
    *count = n;
    if (!names) names = calloc(1, sizeof *names); /* an empty folder: a list of nothing */
    if (!names) fail(dir, SWIN_ERR_OUT_OF_MEMORY);
    return names;
oom:
    closedir(d);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    fail(dir, SWIN_ERR_OUT_OF_MEMORY);
    return NULL;
}

static void free_names(char **names, size_t n) {
    for (size_t i = 0; names && i < n; i++)
        free(names[i]);
    free(names);
}

/* Appends the image files under folder dir, depth first, each folder in name order. */
static int walk(const char *dir, int64_t label, int depth, path_list *out) {
    if (depth > MAX_DEPTH) {
        fprintf(stderr, "swin: error: %s: folders nested more than %d deep (a link loop?)\n", dir,
                MAX_DEPTH);
        return 1;
    }
    size_t n;
    char **names = list_dir(dir, &n);
    if (!names) return 1;
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        char *full = join_path(dir, names[i]);
        struct stat sb;
        if (!full)
            rc = fail(dir, SWIN_ERR_OUT_OF_MEMORY);
        else if (stat(full, &sb) == 0 && S_ISDIR(sb.st_mode))
            rc = walk(full, label, depth + 1, out);
        else if (image_name(names[i]))
            rc = push_path(out, full, label);
        free(full);
    }
    free_names(names, n);
    return rc;
}

/* One argument of classify: a folder walked, a file taken as it is. */
static int collect_one(const char *p, path_list *out) {
    struct stat sb;
    if (stat(p, &sb) == 0 && S_ISDIR(sb.st_mode)) return walk(p, -1, 0, out);
    return push_path(out, p, -1);
}

/* Expands the arguments: folders into their image files, "-" into the lines of stdin. */
static int collect(const args *a, path_list *out) {
    bool stdin_read = false;
    for (int i = 0; i < a->npos; i++) {
        if (strcmp(a->positional[i], "-") != 0) {
            if (collect_one(a->positional[i], out)) return 1;
            continue;
        }
        if (stdin_read) return usage_error("- given twice", NULL);
        stdin_read = true;
        char *line = NULL;
        size_t cap = 0;
        ssize_t len;
        while ((len = getline(&line, &cap, stdin)) >= 0) {
            while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
                line[--len] = '\0';
            if (len == 0) continue;
            if (collect_one(line, out)) {
                free(line);
                return 1;
            }
        }
        const bool bad = ferror(stdin);
        free(line);
        if (bad) {
            fprintf(stderr, "swin: error: reading paths from stdin: %s\n", strerror(errno));
            return 1;
        }
    }
    return 0;
}

static void progress(size_t done, size_t total) {
    const int width = 30, filled = (int)(width * done / total);
    fprintf(stderr, "\r[%.*s%*s] %zu/%zu", filled, "##############################", width - filled,
            "", done, total);
    if (done == total) fputc('\n', stderr);
    fflush(stderr);
}

/* ---- batches of images ---- */

/* Reads paths [next, next + N) into a batch; slot[j] is the batch index of path next + j, or
 * -1 when it failed (err[j] then holds the message). */
typedef struct batcher {
    const swin_model *m;
    swin_tensor *batch;
    long N;
    int64_t S;
    long *slot;
    char **err;
} batcher;

static int batcher_init(batcher *b, const swin_model *m, long N) {
    b->m = m;
    b->N = N;
    b->S = swin_model_input_size(m);
    const int64_t shape[4] = {N, 3, b->S, b->S};
    b->slot = calloc((size_t)N, sizeof *b->slot);
    b->err = calloc((size_t)N, sizeof *b->err);
    swin_status s = SWIN_ERR_OUT_OF_MEMORY;
    if (!b->slot || !b->err || (s = swin_tensor_create(&b->batch, 4, shape)) != SWIN_OK)
        return fail("batch", s);
    return 0;
}

static void batcher_free(batcher *b) {
    for (long j = 0; b->err && j < b->N; j++)
        free(b->err[j]);
    free(b->err);
    free(b->slot);
    swin_tensor_free(b->batch);
}

/* Loads up to N paths from next; returns how many paths it took, *n the images read. */
/* Image j of a batch: decoded and preprocessed into the batch's slot j, or its error kept. */
static void fill_one(batcher *b, const path_list *paths, size_t next, size_t j) {
    swin_image *img = NULL;
    swin_status s;
    free(b->err[j]);
    b->err[j] = NULL;
    if ((s = swin_image_load_file(&img, paths->items[next + j])) != SWIN_OK ||
        (s = swin_image_preprocess(img, b->m, b->batch, (int64_t)j)) != SWIN_OK) {
        const size_t len = strlen(swin_last_error()) + strlen(swin_status_string(s)) + 4;
        b->err[j] = malloc(len);
        if (b->err[j])
            snprintf(b->err[j], len, "%s (%s)", swin_last_error(), swin_status_string(s));
        b->slot[j] = -1;
    } else {
        b->slot[j] = (long)j;
    }
    swin_image_free(img);
}

typedef struct decode_job {
    batcher *b;
    const path_list *paths;
    size_t next, taken, first, step;
} decode_job;

static void *decode_thread(void *arg) {
    const decode_job *d = arg;
    for (size_t j = d->first; j < d->taken; j += d->step)
        fill_one(d->b, d->paths, d->next, j);
    return NULL;
}

/* Fills the batch with the images from paths[next], decoding them on up to one thread per
 * core; returns how many paths it took. *n: the slots to run (failed images keep a slot, whose
 * result is not reported), 0 when none decoded. */
static size_t batcher_fill(batcher *b, const path_list *paths, size_t next, long *n) {
    size_t taken = paths->n - next < (size_t)b->N ? paths->n - next : (size_t)b->N;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    size_t threads = cpus < 1 ? 1 : cpus > 8 ? 8 : (size_t)cpus;
    if (threads > taken) threads = taken ? taken : 1;
    pthread_t th[8];
    decode_job d[8];
    bool running[8] = {false};
    for (size_t t = 0; t < threads; t++) {
        d[t] = (decode_job){b, paths, next, taken, t, threads};
        running[t] = t > 0 && pthread_create(&th[t], NULL, decode_thread, &d[t]) == 0;
    }
    /* this thread takes share 0, and the share of any thread that could not start */
    decode_thread(&d[0]);
    for (size_t t = 1; t < threads; t++) {
        if (running[t])
            pthread_join(th[t], NULL);
        else
            decode_thread(&d[t]);
    }
    long ok = 0;
    for (size_t j = 0; j < taken; j++)
        ok += b->slot[j] >= 0;
    *n = ok ? (long)taken : 0;
    return taken;
}

/* Filling a batch on a thread of its own, so that decoding and preprocessing the next batch
 * overlap the model's run of the current one. */
typedef struct fill_job {
    batcher *b;
    const path_list *paths;
    size_t next, taken;
    long n;
} fill_job;

static void *fill_thread(void *arg) {
    fill_job *j = arg;
    j->taken = batcher_fill(j->b, j->paths, j->next, &j->n);
    return NULL;
}

/* Runs the first n images of the batch (as a view: the last batch may be partial). */
static swin_status batcher_run(batcher *b, swin_context *ctx, long n) {
    const int64_t vshape[4] = {n, 3, b->S, b->S};
    swin_tensor *view = NULL;
    swin_status s = swin_tensor_wrap(&view, swin_tensor_data(b->batch), 4, vshape);
    if (s == SWIN_OK) s = swin_context_run(ctx, view);
    swin_tensor_free(view);
    return s;
}

/* ---- classify ---- */

/* Prints the top-k classes of input i of the context's last run (swin_context_topk). */
static swin_status report(FILE *fp, const swin_model *m, swin_context *ctx, const char *path,
                          long i, int64_t K, long k, bool json) {
    if (k > K) k = (long)K;
    if (k > 64) k = 64;
    int64_t best[64];
    float prob[64];
    const swin_status s = swin_context_topk(ctx, i, k, best, prob);
    if (s != SWIN_OK) return s;
    if (json) {
        fprintf(fp, "{\"path\": ");
        json_string(fp, path);
        fprintf(fp, ", \"top\": [");
    } else {
        fprintf(fp, "%s\n", path);
    }
    for (long r = 0; r < k; r++) {
        const char *label = swin_model_label(m, best[r]);
        char fallback[32];
        if (!label) {
            snprintf(fallback, sizeof fallback, "class %lld", (long long)best[r]);
            label = fallback;
        }
        if (json) {
            fprintf(fp, "%s{\"index\": %lld, \"label\": ", r ? ", " : "", (long long)best[r]);
            json_string(fp, label);
            if (isfinite(prob[r])) /* JSON has no NaN */
                fprintf(fp, ", \"prob\": %.6f}", (double)prob[r]);
            else
                fprintf(fp, ", \"prob\": null}");
        } else {
            fprintf(fp, "  %2ld. %-30s %8.4f%%\n", r + 1, label, 100.0 * prob[r]);
        }
    }
    if (json) fprintf(fp, "]}\n");
    return SWIN_OK;
}

static int cmd_classify(args *a) {
    if (!a->model || a->npos == 0)
        return usage_error("classify needs --model and at least one IMAGE_OR_DIR", NULL);
    path_list paths = {0};
    swin_model *m = NULL;
    swin_context *ctx = NULL;
    batcher b = {0}, b2 = {0};
    out_file out = {0};
    bool out_open_ok = false;
    int rc = collect(a, &paths);
    size_t failed = 0;
    swin_status s;
    if (rc) goto done;
    rc = 1;
    if ((s = swin_model_load_file(&m, a->model, a->opts)) != SWIN_OK) {
        rc = fail(a->model, s);
        goto done;
    }
    const int64_t K = swin_model_num_classes(m);
    if (K == 0) {
        fprintf(stderr, "swin: error: %s: the model has no classifier head\n", a->model);
        goto done;
    }
    const long top = a->top ? a->top : 5;
    if (batcher_init(&b, m, a->batch ? a->batch : 8) ||
        batcher_init(&b2, m, a->batch ? a->batch : 8))
        goto done;
    if ((s = make_context(&ctx, m, a)) != SWIN_OK) {
        rc = fail("classify", s);
        goto done;
    }
    if (out_open(&out, a->output)) goto done;
    out_open_ok = true;
    const bool bar = isatty(2) && paths.n >= 16;
    /* two batches: while the model runs one, a thread decodes and preprocesses the next */
    fill_job cur = {&b, &paths, 0, 0, 0}, ahead = {&b2, &paths, 0, 0, 0};
    fill_thread(&cur);
    for (size_t next = 0; next < paths.n;) {
        const long n = cur.n;
        const size_t taken = cur.taken;
        batcher *const bb = cur.b;
        pthread_t th;
        bool started = false;
        if (next + taken < paths.n) {
            ahead.next = next + taken;
            started = pthread_create(&th, NULL, fill_thread, &ahead) == 0;
            if (!started) fill_thread(&ahead); /* no thread: in turn */
        }
        s = n > 0 ? batcher_run(bb, ctx, n) : SWIN_OK;
        if (started) pthread_join(th, NULL);
        if (s != SWIN_OK) {
            rc = fail("classify", s);
            goto done;
        }
        for (size_t j = 0; j < taken; j++) {
            const char *path = paths.items[next + j];
            if (bb->slot[j] < 0) {
                const char *msg = bb->err[j] ? bb->err[j] : "out of memory";
                if (bar) fputc('\n', stderr);
                if (strstr(msg, path))
                    fprintf(stderr, "swin: error: %s\n", msg);
                else
                    fprintf(stderr, "swin: error: %s: %s\n", path, msg);
                if (a->json) {
                    fprintf(out.fp, "{\"path\": ");
                    json_string(out.fp, path);
                    fprintf(out.fp, ", \"error\": ");
                    json_string(out.fp, msg);
                    fprintf(out.fp, "}\n");
                }
                failed++;
            } else if ((s = report(out.fp, m, ctx, path, bb->slot[j], K, top, a->json)) !=
                       SWIN_OK) {
                rc = fail("classify", s);
                goto done;
            }
        }
        next += taken;
        /* the batch filled ahead becomes the current one */
        fill_job t = cur;
        cur = ahead;
        ahead = t;
        fflush(out.fp);
        if (ferror(out.fp)) {
            fprintf(stderr, "swin: error: %s: write failed\n", a->output ? a->output : "stdout");
            goto done;
        }
        if (bar) progress(next, paths.n);
    }
    out_open_ok = false;
    if (out_close(&out, true)) goto done;
    rc = failed ? 1 : 0;
    if (failed) fprintf(stderr, "swin: %zu of %zu images could not be read\n", failed, paths.n);
done:
    if (out_open_ok) out_close(&out, false);
    free_paths(&paths);
    batcher_free(&b);
    batcher_free(&b2);
    swin_context_free(ctx);
    swin_model_free(m);
    return rc;
}

/* ---- eval ---- */

/* The classes of DIR's sub-folders: by the model's labels, else by their sorted order when
 * there are num_classes of them. Appends their images to paths. Returns 0 or an exit code. */
static int eval_collect(const char *dir, const swin_model *m, path_list *paths) {
    const int64_t K = swin_model_num_classes(m);
    size_t n;
    char **names = list_dir(dir, &n);
    if (!names) return 1;
    char **subdirs = calloc(n + 1, sizeof *subdirs), **full = calloc(n + 1, sizeof *full);
    int64_t *cls = calloc(n + 1, sizeof *cls);
    size_t nsub = 0, by_label = 0;
    int rc = 0;
    if (!subdirs || !full || !cls) {
        rc = fail(dir, SWIN_ERR_OUT_OF_MEMORY);
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        struct stat sb;
        char *p = join_path(dir, names[i]);
        if (!p) {
            rc = fail(dir, SWIN_ERR_OUT_OF_MEMORY);
            goto done;
        }
        if (stat(p, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
            free(p);
            continue;
        }
        full[nsub] = p;
        subdirs[nsub] = names[i];
        cls[nsub] = -1;
        for (int64_t c = 0; c < K; c++) {
            const char *label = swin_model_label(m, c);
            if (label && strcmp(label, names[i]) == 0) {
                cls[nsub] = c;
                by_label++;
                break;
            }
        }
        nsub++;
    }
    if (nsub == 0) {
        fprintf(stderr, "swin: error: %s: no class sub-folders (eval reads DIR/CLASS/IMAGE)\n",
                dir);
        rc = 2;
        goto done;
    }
    if (by_label < nsub) {
        if ((int64_t)nsub != K) {
            const char *stray = NULL;
            for (size_t i = 0; i < nsub && !stray; i++)
                if (cls[i] < 0) stray = subdirs[i];
            fprintf(stderr,
                    "swin: error: %s: sub-folder \"%s\" is not a label of the model, and there are "
                    "%zu sub-folders, not num_classes = %lld (name them by the labels, or give "
                    "one per class in class order)\n",
                    dir, stray, nsub, (long long)K);
            rc = 2;
            goto done;
        }
        for (size_t i = 0; i < nsub; i++) { /* list_dir sorted them */
            if (cls[i] >= 0 && cls[i] != (int64_t)i) {
                fprintf(stderr,
                        "swin: error: %s: sub-folder \"%s\" is the label of class %lld but class "
                        "%zu by its sorted place (name every sub-folder by a label, or none)\n",
                        dir, subdirs[i], (long long)cls[i], i);
                rc = 2;
                goto done;
            }
            cls[i] = (int64_t)i;
        }
    }
    for (size_t i = 0; i < nsub && !rc; i++)
        rc = walk(full[i], cls[i], 1, paths);
done:
    for (size_t i = 0; full && i < nsub; i++)
        free(full[i]);
    free(full);
    free(subdirs);
    free(cls);
    free_names(names, n);
    return rc;
}

static int cmd_eval(args *a) {
    if (!a->model || a->npos != 1) return usage_error("eval needs --model and one DIR", NULL);
    path_list paths = {0};
    swin_model *m = NULL;
    swin_context *ctx = NULL;
    batcher b = {0};
    int rc = 1;
    swin_status s;
    if ((s = swin_model_load_file(&m, a->model, a->opts)) != SWIN_OK) {
        rc = fail(a->model, s);
        goto done;
    }
    const int64_t K = swin_model_num_classes(m);
    if (K == 0) {
        fprintf(stderr, "swin: error: %s: the model has no classifier head\n", a->model);
        goto done;
    }
    if ((rc = eval_collect(a->positional[0], m, &paths)) != 0) goto done;
    rc = 1;
    if (paths.n == 0) {
        fprintf(stderr, "swin: error: %s: no .jpg/.jpeg/.png images in its sub-folders\n",
                a->positional[0]);
        goto done;
    }
    if (batcher_init(&b, m, a->batch ? a->batch : 8)) goto done;
    if ((s = make_context(&ctx, m, a)) != SWIN_OK) {
        rc = fail("eval", s);
        goto done;
    }
    const bool bar = isatty(2) && paths.n >= 16;
    const int64_t k5 = K < 5 ? K : 5;
    size_t count = 0, errors = 0, hit1 = 0, hit5 = 0;
    double loss_sum = 0.0;
    const double t0 = bench_now_ms();
    for (size_t next = 0; next < paths.n;) {
        long n;
        const size_t taken = batcher_fill(&b, &paths, next, &n);
        const swin_tensor *logits = NULL;
        if (n > 0 && ((s = batcher_run(&b, ctx, n)) != SWIN_OK ||
                      (s = swin_context_output(ctx, SWIN_OUTPUT_LOGITS, 0, &logits)) != SWIN_OK)) {
            rc = fail("eval", s);
            goto done;
        }
        for (size_t j = 0; j < taken; j++) {
            const char *path = paths.items[next + j];
            if (b.slot[j] < 0) {
                const char *msg = b.err[j] ? b.err[j] : "out of memory";
                if (bar) fputc('\n', stderr);
                if (strstr(msg, path))
                    fprintf(stderr, "swin: error: %s\n", msg);
                else
                    fprintf(stderr, "swin: error: %s: %s\n", path, msg);
                errors++;
                continue;
            }
            const int64_t t = paths.labels[next + j];
            const float *l = swin_tensor_data(logits) + (size_t)b.slot[j] * (size_t)K;
            /* torch.nn.CrossEntropyLoss: logsumexp(logits) - logits[target], here in double */
            double mx = -INFINITY, sum = 0.0;
            for (int64_t c = 0; c < K; c++)
                mx = (double)l[c] > mx ? (double)l[c] : mx;
            for (int64_t c = 0; c < K; c++)
                sum += exp((double)l[c] - mx);
            loss_sum += mx + log(sum) - (double)l[t];
            int64_t best[5];
            if ((s = swin_context_topk(ctx, b.slot[j], k5, best, NULL)) != SWIN_OK) {
                rc = fail("eval", s);
                goto done;
            }
            hit1 += best[0] == t;
            for (int64_t r = 0; r < k5; r++)
                hit5 += best[r] == t;
            count++;
        }
        next += taken;
        if (bar) progress(next, paths.n);
    }
    const double secs = (bench_now_ms() - t0) / 1e3;
    const double top1 = count ? 100.0 * (double)hit1 / (double)count : NAN,
                 top5 = count ? 100.0 * (double)hit5 / (double)count : NAN,
                 loss = count ? loss_sum / (double)count : NAN,
                 ips = secs > 0 ? (double)(count + errors) / secs : NAN;
    if (a->json) {
        printf("{\"top1\": ");
        json_number(stdout, top1);
        printf(", \"top5\": ");
        json_number(stdout, top5);
        printf(", \"loss\": ");
        json_number(stdout, loss);
        printf(", \"count\": %zu, \"errors\": %zu, \"images_per_s\": ", count, errors);
        json_number(stdout, ips);
        printf("}\n");
    } else {
        printf("top1      %.4f %%\n", top1);
        printf("top5      %.4f %%\n", top5);
        printf("loss      %.6f\n", loss);
        printf("count     %zu\n", count);
        printf("errors    %zu\n", errors);
        printf("images/s  %.1f\n", ips);
    }
    rc = errors ? 1 : 0;
    if (errors) fprintf(stderr, "swin: %zu of %zu images could not be read\n", errors, paths.n);
done:
    free_paths(&paths);
    batcher_free(&b);
    swin_context_free(ctx);
    swin_model_free(m);
    return rc;
}

/* ---- bench, and the commands ---- */

static int cmd_bench(args *a) {
    if (a->npos) return usage_error("unexpected argument", a->positional[0]);
    if (!a->model && !a->arch)
        return usage_error("bench needs --arch PRESET or --model MODEL", NULL);
    const bench_args b = {a->model,
                          a->arch,
                          a->batch ? (int)a->batch : 1,
                          (int)a->threads,
                          a->runs ? (int)a->runs : 10,
                          a->warmup >= 0 ? (int)a->warmup : 2,
                          a->size,
                          a->json,
                          a->opts};
    return bench_run(&b);
}

static const command cmds[] = {
    {"info", OPT_MODEL | OPT_ARCH | OPT_SET | OPT_JSON | OPT_LIST_ARCHS, usage_info, help_info,
     cmd_info},
    {"run", OPT_MODEL | OPT_INPUT | OPT_OUTPUT | OPT_EMIT | OPT_ARCH | OPT_SET | OPT_THREADS,
     usage_run, help_run, cmd_run},
    {"preprocess", OPT_MODEL | OPT_OUTPUT | OPT_ARCH | OPT_SET, usage_preprocess, help_preprocess,
     cmd_preprocess},
    {"classify",
     OPT_MODEL | OPT_TOP | OPT_JSON | OPT_BATCH | OPT_THREADS | OPT_OUTPUT | OPT_ARCH | OPT_SET,
     usage_classify, help_classify, cmd_classify},
    {"eval", OPT_MODEL | OPT_BATCH | OPT_THREADS | OPT_JSON | OPT_ARCH | OPT_SET, usage_eval,
     help_eval, cmd_eval},
    {"bench",
     OPT_MODEL | OPT_ARCH | OPT_SET | OPT_BATCH | OPT_THREADS | OPT_RUNS | OPT_WARMUP | OPT_SIZE |
         OPT_JSON,
     usage_bench, help_bench, cmd_bench},
};

static int run_main(int argc, char **argv) {
    /* a file-size limit (ulimit -f) makes writes fail with EFBIG, reported as an error, rather
     * than kill the program with SIGXFSZ halfway through a file */
    signal(SIGXFSZ, SIG_IGN);
    if (argc < 2) return usage_error("no command", NULL);
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        print_usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("swin %s (library %s)\n", SWIN_VERSION_STRING, swin_version_string());
        return 0;
    }
    const command *cmd = NULL;
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        if (strcmp(argv[1], cmds[i].name) == 0) cmd = &cmds[i];
    if (!cmd) return usage_error("unknown command", argv[1]);
    current = cmd;
    args a = {0};
    a.warmup = -1;
    a.positional = calloc((size_t)argc, sizeof *a.positional);
    if (!a.positional || swin_options_create(&a.opts) != SWIN_OK) {
        free(a.positional);
        return fail("options", SWIN_ERR_OUT_OF_MEMORY);
    }
    int rc = parse(argc, argv, &a, 2, cmd);
    if (rc == -1)
        rc = 0; /* --help */
    else if (rc == 0)
        rc = cmd->run(&a);
    swin_options_free(a.opts);
    free(a.positional);
    return rc;
}

/* libswin runs OpenBLAS single-threaded (its own pool splits the work), but OpenBLAS starts an
 * idle thread pool when it is loaded, before main; under an address-space limit those threads
 * can wait forever for their work buffers, and exit() would then wait for them in OpenBLAS's
 * destructor. Under such a limit, once the program's work is done (its files written and
 * synced), end without running the libraries' destructors; otherwise end normally. */
int main(int argc, char **argv) {
    const int rc = run_main(argc, argv);
    struct rlimit lim;
    if (getrlimit(RLIMIT_AS, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY) {
        fflush(stdout);
        fflush(stderr);
        _exit(rc);
    }
    return rc;
}
