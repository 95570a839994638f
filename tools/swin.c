/* swin: the libswin command line.
 *   swin info MODEL [--arch NAME] [--set KEY=VALUE ...]
 *   swin run --model MODEL --input IN.npy --output OUT.npy [--emit logits|features]
 *            [--arch NAME] [--set KEY=VALUE ...]
 *   swin preprocess --model MODEL IMAGE --output X.npy
 *   swin classify --model MODEL [--top K] [--json] [--batch N] IMAGE_OR_DIR...
 * Errors: one line on stderr, exit status 1 (2 for usage errors). */
#include <dirent.h>
#include <math.h>
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

static const char usage[] =
    "usage: swin info MODEL [--arch NAME] [--set KEY=VALUE ...]\n"
    "       swin info --list-archs [--json]\n"
    "       swin run --model MODEL --input IN.npy --output OUT.npy\n"
    "                [--emit logits|features|tokens|pooler]\n"
    "                [--arch NAME] [--set KEY=VALUE ...]\n"
    "       swin preprocess --model MODEL IMAGE --output X.npy [--set KEY=VALUE ...]\n"
    "       swin classify --model MODEL [--top K] [--json] [--batch N] [--set KEY=VALUE ...]\n"
    "                IMAGE_OR_DIR...\n"
    "       swin bench --arch PRESET | --model MODEL [--batch N] [--threads T] [--runs R]\n"
    "                [--warmup W] [--size S] [--json]\n"
    "       swin --version | --help\n"
    "\n"
    "MODEL is a .safetensors file (timm's, the official Swin release's, transformers' or the\n"
    "post-norm nn.TransformerEncoder ViT's tensor names) or a Hugging Face folder\n"
    "(model.safetensors and config.json, as timm or transformers save them). NAME is a timm\n"
    "architecture (swin info --list-archs) or a family: swin, swinv2, swinv2_cr, vit,\n"
    "vit_postnorm. Explicit keys override config.json, the file's metadata and the timm\n"
    "architecture, which override what the tensors say. IMAGE is a JPEG or PNG file; a directory "
    "stands for the .jpg/.jpeg/.png\n"
    "files in it. KEY is one of:\n";

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

static int fail(const char *what, swin_status s) {
    if (strstr(swin_last_error(), what)) /* the message names it already */
        fprintf(stderr, "swin: error: %s (%s)\n", swin_last_error(), swin_status_string(s));
    else
        fprintf(stderr, "swin: error: %s: %s (%s)\n", what, swin_last_error(),
                swin_status_string(s));
    return 1;
}

static int usage_error(const char *msg, const char *arg) {
    fprintf(stderr, "swin: error: %s%s%s\n%s", msg, arg ? ": " : "", arg ? arg : "", usage);
    print_keys(stderr);
    return 2;
}

#define MAX_POSITIONAL 4096

typedef struct args {
    const char *model, *input, *output, *emit;
    long top, batch, threads, runs, warmup, size;
    const char *arch;
    bool json, list_archs;
    const char *positional[MAX_POSITIONAL];
    int npos;
    swin_options *opts;
} args;

static bool parse_long(const char *s, long lo, long hi, long *out) {
    char *end;
    const long v = strtol(s, &end, 10);
    if (!*s || *end || v < lo || v > hi) return false;
    *out = v;
    return true;
}

/* Parses flags and positional arguments. Returns 0 or an exit code. */
static int parse(int argc, char **argv, args *a, int first) {
    static const char *const valued[] = {"--model",   "--input", "--output", "--emit",
                                         "--arch",    "--set",   "--top",    "--batch",
                                         "--threads", "--runs",  "--warmup", "--size"};
    for (int i = first; i < argc; i++) {
        const char *arg = argv[i];
        bool known = false;
        for (size_t k = 0; k < sizeof valued / sizeof valued[0]; k++)
            known |= strcmp(arg, valued[k]) == 0;
        if (known) {
            if (i + 1 >= argc) return usage_error("missing value after", arg);
            const char *v = argv[++i];
            if (strcmp(arg, "--model") == 0)
                a->model = v;
            else if (strcmp(arg, "--input") == 0)
                a->input = v;
            else if (strcmp(arg, "--output") == 0)
                a->output = v;
            else if (strcmp(arg, "--emit") == 0)
                a->emit = v;
            else if (strcmp(arg, "--top") == 0) {
                if (!parse_long(v, 1, 1000000, &a->top))
                    return usage_error("--top takes a positive integer", v);
            } else if (strcmp(arg, "--batch") == 0) {
                if (!parse_long(v, 1, 4096, &a->batch))
                    return usage_error("--batch takes 1..4096", v);
            } else if (strcmp(arg, "--threads") == 0) {
                if (!parse_long(v, 1, 1024, &a->threads))
                    return usage_error("--threads takes 1..1024", v);
            } else if (strcmp(arg, "--runs") == 0) {
                if (!parse_long(v, 1, 100000, &a->runs))
                    return usage_error("--runs takes 1..100000", v);
            } else if (strcmp(arg, "--warmup") == 0) {
                if (!parse_long(v, 0, 100000, &a->warmup))
                    return usage_error("--warmup takes 0..100000", v);
            } else if (strcmp(arg, "--size") == 0) {
                if (!parse_long(v, 1, 16384, &a->size))
                    return usage_error("--size takes 1..16384", v);
            } else {
                char key[64];
                const char *value = v;
                if (strcmp(arg, "--arch") == 0) {
                    strcpy(key, "arch");
                    a->arch = v;
                } else {
                    const char *eq = strchr(v, '=');
                    if (!eq || eq == v || (size_t)(eq - v) >= sizeof key)
                        return usage_error("--set needs KEY=VALUE", v);
                    memcpy(key, v, (size_t)(eq - v));
                    key[eq - v] = '\0';
                    value = eq + 1;
                }
                swin_status s = swin_options_set(a->opts, key, value);
                if (s != SWIN_OK) return fail(arg, s);
            }
        } else if (strcmp(arg, "--json") == 0) {
            a->json = true;
        } else if (strcmp(arg, "--list-archs") == 0) {
            a->list_archs = true;
        } else if (arg[0] == '-' && arg[1] == '-') {
            return usage_error("unknown option", arg);
        } else {
            if (a->npos == MAX_POSITIONAL) return usage_error("too many arguments", arg);
            a->positional[a->npos++] = arg;
        }
    }
    return 0;
}

static void print_shape(int ndim, const int64_t *shape) {
    printf("[");
    for (int i = 0; i < ndim; i++)
        printf(i ? ", %lld" : "%lld", (long long)shape[i]);
    printf("]");
}

static void json_string(const char *s);

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
            json_string(name);
            printf(", \"family\": ");
            json_string(family);
            printf(", \"pretrained\": %s, \"supported\": %s", pretrained ? "true" : "false",
                   missing ? "false" : "true");
            if (missing) {
                printf(", \"missing\": ");
                json_string(missing);
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

static int cmd_info(const args *a) {
    swin_model *m;
    swin_status s = swin_model_load_file(&m, a->model, a->opts);
    if (s != SWIN_OK) return fail(a->model, s);
    printf("%-14s %s\n", "model", a->model);
    for (size_t i = 0; i < swin_model_config_count(m); i++) {
        const char *key, *value;
        swin_model_config_item(m, i, &key, &value);
        printf("%-14s %s\n", key, value);
    }
    printf("%-14s %lld (%.2f M)\n", "parameters", (long long)swin_model_num_params(m),
           (double)swin_model_num_params(m) / 1e6);
    printf("\nFLOPs (multiply-accumulates, one image at img_size; W-MSA as run, MSA if attention "
           "were global)\n");
    printf("stage  depth  heads  channels  grid      window  W-MSA GFLOPs  MSA GFLOPs\n");
    for (int st = 0; st < swin_model_num_stages(m); st++) {
        int64_t depth, heads, ch, h, w, win;
        double f, g;
        swin_model_stage_dims(m, st, &depth, &heads, &ch, &h, &w, &win);
        swin_model_flops(m, st, &f, &g);
        char grid[32];
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
        print_shape(ndim, shape);
        printf("\n");
    }
    swin_model_free(m);
    return 0;
}

static int cmd_run(const args *a) {
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
    if ((s = swin_context_create(&ctx, m)) != SWIN_OK ||
        (s = swin_context_run(ctx, in)) != SWIN_OK ||
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

static int cmd_preprocess(const args *a) {
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

/* ---- classify ---- */

typedef struct path_list {
    char **items;
    size_t n, cap;
} path_list;

static bool push_path(path_list *l, const char *p) {
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        char **items = realloc(l->items, cap * sizeof *items);
        if (!items) return false;
        l->items = items;
        l->cap = cap;
    }
    return (l->items[l->n] = strdup(p)) != NULL && ++l->n;
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

/* Expands directories into their image files, sorted by name. */
static int collect(const args *a, path_list *out) {
    for (int i = 0; i < a->npos; i++) {
        struct stat sb;
        const char *p = a->positional[i];
        if (stat(p, &sb) == 0 && S_ISDIR(sb.st_mode)) {
            DIR *d = opendir(p);
            if (!d) {
                fprintf(stderr, "swin: error: %s: cannot open directory\n", p);
                return 1;
            }
            const size_t first = out->n;
            struct dirent *e;
            while ((e = readdir(d))) {
                if (e->d_name[0] == '.' || !image_name(e->d_name)) continue;
                char full[4096];
                const size_t len = strlen(p);
                snprintf(full, sizeof full, "%s%s%s", p, len && p[len - 1] == '/' ? "" : "/",
                         e->d_name);
                if (!push_path(out, full)) {
                    closedir(d);
                    return fail("classify", SWIN_ERR_OUT_OF_MEMORY);
                }
            }
            closedir(d);
            qsort(out->items + first, out->n - first, sizeof *out->items, cmp_str);
        } else if (!push_path(out, p)) {
            return fail("classify", SWIN_ERR_OUT_OF_MEMORY);
        }
    }
    return 0;
}

static void json_string(const char *s) {
    putchar('"');
    for (; *s; s++) {
        const unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

static void progress(size_t done, size_t total) {
    const int width = 30, filled = (int)(width * done / total);
    fprintf(stderr, "\r[%.*s%*s] %zu/%zu", filled, "##############################", width - filled,
            "", done, total);
    if (done == total) fputc('\n', stderr);
    fflush(stderr);
}

/* Prints the top-k classes of input i of the context's last run (swin_context_topk). */
static swin_status report(const swin_model *m, swin_context *ctx, const char *path, long i,
                          int64_t K, long k, bool json) {
    if (k > K) k = (long)K;
    if (k > 64) k = 64;
    int64_t best[64];
    float prob[64];
    const swin_status s = swin_context_topk(ctx, i, k, best, prob);
    if (s != SWIN_OK) return s;
    if (json) {
        printf("{\"path\": ");
        json_string(path);
        printf(", \"top\": [");
    } else {
        printf("%s\n", path);
    }
    for (long r = 0; r < k; r++) {
        const char *label = swin_model_label(m, best[r]);
        char fallback[32];
        if (!label) {
            snprintf(fallback, sizeof fallback, "class %lld", (long long)best[r]);
            label = fallback;
        }
        if (json) {
            printf("%s{\"index\": %lld, \"label\": ", r ? ", " : "", (long long)best[r]);
            json_string(label);
            if (isfinite(prob[r])) /* JSON has no NaN */
                printf(", \"prob\": %.6f}", (double)prob[r]);
            else
                printf(", \"prob\": null}");
        } else {
            printf("  %2ld. %-30s %8.4f%%\n", r + 1, label, 100.0 * prob[r]);
        }
    }
    if (json) printf("]}\n");
    return SWIN_OK;
}

static int cmd_classify(const args *a) {
    if (!a->model || a->npos == 0)
        return usage_error("classify needs --model and at least one IMAGE_OR_DIR", NULL);
    path_list paths = {0};
    swin_model *m = NULL;
    swin_context *ctx = NULL;
    swin_tensor *batch = NULL;
    const char **names = NULL;
    int rc = collect(a, &paths), failed = 0;
    swin_status s;
    if (rc) goto done;
    rc = 1;
    if ((s = swin_model_load_file(&m, a->model, a->opts)) != SWIN_OK) {
        rc = fail(a->model, s);
        goto done;
    }
    const int64_t K = swin_model_num_classes(m), S = swin_model_input_size(m);
    if (K == 0) {
        fprintf(stderr, "swin: error: %s: the model has no classifier head\n", a->model);
        goto done;
    }
    const long N = a->batch ? a->batch : 8, top = a->top ? a->top : 5;
    const int64_t shape[4] = {N, 3, S, S};
    names = calloc((size_t)N, sizeof *names);
    if (!names || (s = swin_tensor_create(&batch, 4, shape)) != SWIN_OK ||
        (s = swin_context_create(&ctx, m)) != SWIN_OK) {
        rc = fail("classify", SWIN_ERR_OUT_OF_MEMORY);
        goto done;
    }
    const bool bar = isatty(2) && paths.n >= 16;
    size_t next = 0;
    while (next < paths.n) {
        long n = 0;
        for (; next < paths.n && n < N; next++) {
            swin_image *img = NULL;
            if ((s = swin_image_load_file(&img, paths.items[next])) != SWIN_OK ||
                (s = swin_image_preprocess(img, m, batch, n)) != SWIN_OK) {
                if (bar) fputc('\n', stderr);
                fail(paths.items[next], s);
                failed++;
            } else {
                names[n++] = paths.items[next];
            }
            swin_image_free(img);
        }
        if (n == 0) continue;
        /* the last, partial batch runs as a view of the first n images */
        const int64_t vshape[4] = {n, 3, S, S};
        swin_tensor *view = NULL;
        const swin_tensor *logits;
        if ((s = swin_tensor_wrap(&view, swin_tensor_data(batch), 4, vshape)) != SWIN_OK ||
            (s = swin_context_run(ctx, view)) != SWIN_OK ||
            (s = swin_context_output(ctx, SWIN_OUTPUT_LOGITS, 0, &logits)) != SWIN_OK) {
            swin_tensor_free(view);
            rc = fail("classify", s);
            goto done;
        }
        for (long i = 0; i < n && s == SWIN_OK; i++)
            s = report(m, ctx, names[i], i, K, top, a->json);
        if (s != SWIN_OK) {
            swin_tensor_free(view);
            rc = fail("classify", s);
            goto done;
        }
        fflush(stdout);
        swin_tensor_free(view);
        if (bar) progress(next, paths.n);
    }
    rc = failed ? 1 : 0;
    if (failed) fprintf(stderr, "swin: %d of %zu images could not be read\n", failed, paths.n);
done:
    for (size_t i = 0; i < paths.n; i++)
        free(paths.items[i]);
    free(paths.items);
    free(names);
    swin_tensor_free(batch);
    swin_context_free(ctx);
    swin_model_free(m);
    return rc;
}

static int run_main(int argc, char **argv) {
    /* a file-size limit (ulimit -f) makes writes fail with EFBIG, reported as an error, rather
     * than kill the program with SIGXFSZ halfway through a file */
    signal(SIGXFSZ, SIG_IGN);
    if (argc < 2) return usage_error("no command", NULL);
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(usage, stdout);
        print_keys(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("swin %s (library %s)\n", SWIN_VERSION_STRING, swin_version_string());
        return 0;
    }
    args a = {0};
    a.warmup = -1;
    if (swin_options_create(&a.opts) != SWIN_OK) return fail("options", SWIN_ERR_OUT_OF_MEMORY);
    int rc;
    if (strcmp(argv[1], "info") == 0) {
        rc = parse(argc, argv, &a, 2);
        if (!rc && a.list_archs) {
            if (a.npos || a.model) rc = usage_error("--list-archs takes no MODEL", NULL);
            if (!rc) rc = cmd_list_archs(&a);
        } else {
            if (!rc && !a.model && a.npos == 1)
                a.model = a.positional[0];
            else if (!rc && a.npos)
                rc = usage_error("unexpected argument", a.positional[a.npos - 1]);
            if (!rc && !a.model) rc = usage_error("info needs MODEL", NULL);
            if (!rc) rc = cmd_info(&a);
        }
    } else if (strcmp(argv[1], "preprocess") == 0) {
        rc = parse(argc, argv, &a, 2);
        if (!rc) rc = cmd_preprocess(&a);
    } else if (strcmp(argv[1], "bench") == 0) {
        rc = parse(argc, argv, &a, 2);
        if (!rc && a.npos) rc = usage_error("unexpected argument", a.positional[0]);
        if (!rc && !a.model && !a.arch)
            rc = usage_error("bench needs --arch PRESET or --model MODEL", NULL);
        if (!rc) {
            const bench_args b = {a.model,
                                  a.arch,
                                  a.batch ? (int)a.batch : 1,
                                  (int)a.threads,
                                  a.runs ? (int)a.runs : 10,
                                  a.warmup >= 0 ? (int)a.warmup : 2,
                                  a.size,
                                  a.json,
                                  a.opts};
            rc = bench_run(&b);
        }
    } else if (strcmp(argv[1], "classify") == 0) {
        rc = parse(argc, argv, &a, 2);
        if (!rc) rc = cmd_classify(&a);
    } else if (strcmp(argv[1], "run") == 0) {
        rc = parse(argc, argv, &a, 2);
        if (!rc) rc = cmd_run(&a);
    } else {
        rc = usage_error("unknown command", argv[1]);
    }
    swin_options_free(a.opts);
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
