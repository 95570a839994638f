/* swin: the libswin command line.
 *   swin info MODEL [--arch NAME] [--set KEY=VALUE ...]
 *   swin run --model MODEL --input IN.npy --output OUT.npy [--emit logits|features]
 *            [--arch NAME] [--set KEY=VALUE ...]
 * Errors: one line on stderr, exit status 1 (2 for usage errors). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <swin/swin.h>

static const char usage[] =
    "usage: swin info MODEL [--arch NAME] [--set KEY=VALUE ...]\n"
    "       swin run --model MODEL --input IN.npy --output OUT.npy [--emit logits|features]\n"
    "                [--arch NAME] [--set KEY=VALUE ...]\n"
    "       swin --version | --help\n"
    "\n"
    "MODEL is a .safetensors file (Swin: timm or official naming; ViT: timm naming, or the\n"
    "post-norm nn.TransformerEncoder ViT). KEY is one of arch, img_size, patch_size, in_chans,\n"
    "embed_dim, depths, num_heads, window_size, mlp_ratio, num_classes, norm_eps (and for ViT\n"
    "depth, class_token, global_pool, mlp_hidden_dim, activation); explicit keys override the\n"
    "file's metadata, which overrides what the tensors say.\n";

static int fail(const char *what, swin_status s) {
    fprintf(stderr, "swin: error: %s: %s (%s)\n", what, swin_last_error(), swin_status_string(s));
    return 1;
}

static int usage_error(const char *msg, const char *arg) {
    fprintf(stderr, "swin: error: %s%s%s\n%s", msg, arg ? ": " : "", arg ? arg : "", usage);
    return 2;
}

typedef struct args {
    const char *model, *input, *output, *emit;
    swin_options *opts;
} args;

/* Parses the shared flags; positional MODEL is accepted for info. Returns 0 or an exit code. */
static int parse(int argc, char **argv, args *a, int first) {
    for (int i = first; i < argc; i++) {
        const char *arg = argv[i];
        const bool has_value = i + 1 < argc;
        if (strcmp(arg, "--model") == 0 || strcmp(arg, "--input") == 0 ||
            strcmp(arg, "--output") == 0 || strcmp(arg, "--emit") == 0 ||
            strcmp(arg, "--arch") == 0 || strcmp(arg, "--set") == 0) {
            if (!has_value) return usage_error("missing value after", arg);
            const char *v = argv[++i];
            if (strcmp(arg, "--model") == 0) a->model = v;
            else if (strcmp(arg, "--input") == 0) a->input = v;
            else if (strcmp(arg, "--output") == 0) a->output = v;
            else if (strcmp(arg, "--emit") == 0) a->emit = v;
            else {
                char key[64];
                const char *value = v;
                if (strcmp(arg, "--arch") == 0) {
                    strcpy(key, "arch");
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
        } else if (arg[0] == '-' && arg[1] == '-') {
            return usage_error("unknown option", arg);
        } else if (!a->model) {
            a->model = arg;
        } else {
            return usage_error("unexpected argument", arg);
        }
    }
    return 0;
}

static void print_shape(int ndim, const int64_t *shape) {
    printf("[");
    for (int i = 0; i < ndim; i++) printf(i ? ", %lld" : "%lld", (long long)shape[i]);
    printf("]");
}

static int cmd_info(const args *a) {
    swin_model *m;
    swin_status s = swin_model_load_file(&m, a->model, a->opts);
    if (s != SWIN_OK) return fail(a->model, s);
    printf("model        %s\n", a->model);
    static const char *keys[] = {
        "family",      "arch",      "naming",      "img_size",       "patch_size", "in_chans",
        "embed_dim",   "depths",    "depth",       "num_heads",      "window_size", "mlp_ratio",
        "mlp_hidden_dim", "activation", "class_token", "global_pool", "num_classes", "norm_eps"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const char *v = swin_model_get(m, keys[i]);
        if (v) printf("%-12s %s\n", keys[i], v);
    }
    printf("parameters   %lld (%.2f M)\n", (long long)swin_model_num_params(m),
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
    if (!a->model || !a->input || !a->output)
        return usage_error("run needs --model, --input and --output", NULL);
    swin_output kind = SWIN_OUTPUT_LOGITS;
    if (a->emit && strcmp(a->emit, "features") == 0) kind = SWIN_OUTPUT_FEATURES;
    else if (a->emit && strcmp(a->emit, "logits") != 0)
        return usage_error("--emit takes logits or features", a->emit);
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
    if ((s = swin_context_create(&ctx, m)) != SWIN_OK || (s = swin_context_run(ctx, in)) != SWIN_OK ||
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

int main(int argc, char **argv) {
    if (argc < 2) return usage_error("no command", NULL);
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(usage, stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("swin %s (library %s)\n", SWIN_VERSION_STRING, swin_version_string());
        return 0;
    }
    args a = {0};
    if (swin_options_create(&a.opts) != SWIN_OK) return fail("options", SWIN_ERR_OUT_OF_MEMORY);
    int rc;
    if (strcmp(argv[1], "info") == 0) {
        rc = parse(argc, argv, &a, 2);
        if (!rc && !a.model) rc = usage_error("info needs MODEL", NULL);
        if (!rc) rc = cmd_info(&a);
    } else if (strcmp(argv[1], "run") == 0) {
        rc = parse(argc, argv, &a, 2);
        if (!rc) rc = cmd_run(&a);
    } else {
        rc = usage_error("unknown command", argv[1]);
    }
    swin_options_free(a.opts);
    return rc;
}
