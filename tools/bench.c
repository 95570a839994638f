/* swin bench: latency, throughput and memory of one model, with random weights when no file is
 * given (a safetensors image of the preset, made in memory, so it runs on a fresh machine). */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <swin/swin.h>

#include "bench.h"

typedef struct entry {
    char name[96];
    int ndim;
    int64_t shape[4];
    int kind; /* 0 random weight, 1 ones (norm gain), 2 zeros (bias) */
} entry;

typedef struct list {
    entry *e;
    size_t n, cap;
} list;

__attribute__((format(printf, 8, 0))) static bool add(list *l, int kind, int ndim, int64_t d0,
                                                      int64_t d1, int64_t d2, int64_t d3,
                                                      const char *fmt, int a, int b) {
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 256;
        entry *e = realloc(l->e, cap * sizeof *e);
        if (!e) return false;
        l->e = e;
        l->cap = cap;
    }
    entry *t = &l->e[l->n++];
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    snprintf(t->name, sizeof t->name, fmt, a, b);
#pragma GCC diagnostic pop
    t->ndim = ndim;
    const int64_t d[4] = {d0, d1, d2, d3};
    memcpy(t->shape, d, sizeof d);
    t->kind = kind;
    return true;
}

/* Adds "<prefix>.weight" (ones) and ".bias" (zeros) of a LayerNorm of C channels. */
#define NORM(l, C, fmt, a, b)                                                                      \
    (add(l, 1, 1, C, 0, 0, 0, fmt ".weight", a, b) && add(l, 2, 1, C, 0, 0, 0, fmt ".bias", a, b))
#define LINEAR(l, O, I, fmt, a, b)                                                                 \
    (add(l, 0, 2, O, I, 0, 0, fmt ".weight", a, b) && add(l, 2, 1, O, 0, 0, 0, fmt ".bias", a, b))

typedef struct preset {
    const char *name;
    bool swin;
    int64_t dim, patch, window, img;
    int depths[4], heads[4]; /* ViT: depths[0], heads[0] */
} preset;

static const preset presets[] = {
    {"swin_tiny_patch4_window7_224", true, 96, 4, 7, 224, {2, 2, 6, 2}, {3, 6, 12, 24}},
    {"swin_small_patch4_window7_224", true, 96, 4, 7, 224, {2, 2, 18, 2}, {3, 6, 12, 24}},
    {"swin_base_patch4_window7_224", true, 128, 4, 7, 224, {2, 2, 18, 2}, {4, 8, 16, 32}},
    {"swin_large_patch4_window7_224", true, 192, 4, 7, 224, {2, 2, 18, 2}, {6, 12, 24, 48}},
    {"swin_base_patch4_window12_384", true, 128, 4, 12, 384, {2, 2, 18, 2}, {4, 8, 16, 32}},
    {"swin_large_patch4_window12_384", true, 192, 4, 12, 384, {2, 2, 18, 2}, {6, 12, 24, 48}},
    {"vit_tiny_patch16_224", false, 192, 16, 0, 224, {12}, {3}},
    {"vit_small_patch16_224", false, 384, 16, 0, 224, {12}, {6}},
    {"vit_base_patch16_224", false, 768, 16, 0, 224, {12}, {12}},
    {"vit_large_patch16_224", false, 1024, 16, 0, 224, {24}, {16}},
    {"vit_base_patch32_224", false, 768, 32, 0, 224, {12}, {12}},
    {"vit_base_patch16_384", false, 768, 16, 0, 384, {12}, {12}},
    {"deit_tiny_patch16_224", false, 192, 16, 0, 224, {12}, {3}},
    {"deit_small_patch16_224", false, 384, 16, 0, 224, {12}, {6}},
    {"deit_base_patch16_224", false, 768, 16, 0, 224, {12}, {12}},
};

static bool tensors_swin(list *l, const preset *p, int64_t img) {
    const int64_t D = p->dim, K = 1000;
    bool ok = add(l, 0, 4, D, 3, p->patch, p->patch, "patch_embed.proj.weight", 0, 0) &&
              add(l, 2, 1, D, 0, 0, 0, "patch_embed.proj.bias", 0, 0) &&
              NORM(l, D, "patch_embed.norm", 0, 0);
    const int64_t grid = img / p->patch;
    for (int s = 0; ok && s < 4; s++) {
        const int64_t C = D << s, res = grid >> s, w = res <= p->window ? res : p->window;
        if (s > 0)
            ok = NORM(l, 2 * C, "layers.%d.downsample.norm", s, 0) &&
                 add(l, 0, 2, C, 2 * C, 0, 0, "layers.%d.downsample.reduction.weight", s, 0);
        for (int b = 0; ok && b < p->depths[s]; b++)
            ok = NORM(l, C, "layers.%d.blocks.%d.norm1", s, b) &&
                 LINEAR(l, 3 * C, C, "layers.%d.blocks.%d.attn.qkv", s, b) &&
                 add(l, 0, 2, (2 * w - 1) * (2 * w - 1), p->heads[s], 0, 0,
                     "layers.%d.blocks.%d.attn.relative_position_bias_table", s, b) &&
                 LINEAR(l, C, C, "layers.%d.blocks.%d.attn.proj", s, b) &&
                 NORM(l, C, "layers.%d.blocks.%d.norm2", s, b) &&
                 LINEAR(l, 4 * C, C, "layers.%d.blocks.%d.mlp.fc1", s, b) &&
                 LINEAR(l, C, 4 * C, "layers.%d.blocks.%d.mlp.fc2", s, b);
    }
    return ok && NORM(l, D << 3, "norm", 0, 0) && LINEAR(l, K, D << 3, "head.fc", 0, 0);
}

static bool tensors_vit(list *l, const preset *p, int64_t img) {
    const int64_t D = p->dim, g = img / p->patch, K = 1000;
    bool ok = add(l, 0, 4, D, 3, p->patch, p->patch, "patch_embed.proj.weight", 0, 0) &&
              add(l, 2, 1, D, 0, 0, 0, "patch_embed.proj.bias", 0, 0) &&
              add(l, 0, 3, 1, 1, D, 0, "cls_token", 0, 0) &&
              add(l, 0, 3, 1, g * g + 1, D, 0, "pos_embed", 0, 0);
    for (int b = 0; ok && b < p->depths[0]; b++)
        ok = NORM(l, D, "blocks.%d.norm1", b, 0) &&
             LINEAR(l, 3 * D, D, "blocks.%d.attn.qkv", b, 0) &&
             LINEAR(l, D, D, "blocks.%d.attn.proj", b, 0) && NORM(l, D, "blocks.%d.norm2", b, 0) &&
             LINEAR(l, 4 * D, D, "blocks.%d.mlp.fc1", b, 0) &&
             LINEAR(l, D, 4 * D, "blocks.%d.mlp.fc2", b, 0);
    return ok && NORM(l, D, "norm", 0, 0) && LINEAR(l, K, D, "head", 0, 0);
}

/* A safetensors image of the preset at image size img, random weights, F32. */
bool bench_synthesize(const char *arch, int64_t img, uint8_t **out, size_t *out_size) {
    const preset *p = NULL;
    for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++)
        if (strcmp(presets[i].name, arch) == 0) p = &presets[i];
    if (!p) return false;
    if (img <= 0) img = p->img;
    list l = {0};
    if (!(p->swin ? tensors_swin(&l, p, img) : tensors_vit(&l, p, img))) {
        free(l.e);
        return false;
    }
    /* header: every entry is at most ~200 bytes */
    size_t cap = 256 + l.n * 200, hlen = 0, offset = 0;
    char *hdr = malloc(cap);
    if (!hdr) {
        free(l.e);
        return false;
    }
    hlen += (size_t)snprintf(hdr, cap, "{\"__metadata__\":{\"arch\":\"%s\",\"img_size\":\"%lld\"}",
                             arch, (long long)img);
    for (size_t i = 0; i < l.n; i++) {
        const entry *e = &l.e[i];
        size_t numel = 1;
        hlen += (size_t)snprintf(hdr + hlen, cap - hlen, ",\"%s\":{\"dtype\":\"F32\",\"shape\":[",
                                 e->name);
        for (int d = 0; d < e->ndim; d++) {
            numel *= (size_t)e->shape[d];
            hlen += (size_t)snprintf(hdr + hlen, cap - hlen, d ? ",%lld" : "%lld",
                                     (long long)e->shape[d]);
        }
        hlen += (size_t)snprintf(hdr + hlen, cap - hlen, "],\"data_offsets\":[%zu,%zu]}", offset,
                                 offset + numel * 4);
        offset += numel * 4;
    }
    hlen += (size_t)snprintf(hdr + hlen, cap - hlen, "}");
    const size_t padded = (hlen + 7) / 8 * 8, total = 8 + padded + offset;
    uint8_t *buf = malloc(total);
    if (!buf) {
        free(hdr);
        free(l.e);
        return false;
    }
    for (int i = 0; i < 8; i++)
        buf[i] = (uint8_t)((uint64_t)padded >> (8 * i));
    memcpy(buf + 8, hdr, hlen);
    memset(buf + 8 + hlen, ' ', padded - hlen);
    float *data = (float *)(void *)(buf + 8 + padded);
    uint32_t state = 0x12345678u;
    for (size_t i = 0; i < l.n; i++) {
        const entry *e = &l.e[i];
        size_t numel = 1;
        for (int d = 0; d < e->ndim; d++)
            numel *= (size_t)e->shape[d];
        /* weights ~ U(-a, a) with a = 1/sqrt(fan_in), so activations keep a sane scale */
        const double fan_in = e->ndim >= 2 ? (double)(numel / (size_t)e->shape[0]) : 1.0;
        const float a = (float)(1.0 / sqrt(fan_in));
        for (size_t k = 0; k < numel; k++) {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            const float u = (float)((double)state / 4294967296.0) * 2.0f - 1.0f;
            data[k] = e->kind == 1 ? 1.0f : e->kind == 2 ? 0.0f : a * u;
        }
        data += numel;
    }
    free(hdr);
    free(l.e);
    *out = buf;
    *out_size = total;
    return true;
}

double bench_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *x, const void *y) {
    const double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

double bench_median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Peak resident memory of this process. Linux's VmHWM is this process's own; getrusage's
 * ru_maxrss also counts the parent's peak before exec, so it is only the fallback. */
static double peak_rss_mb(void) {
    FILE *f = fopen("/proc/self/status", "r");
    if (f) {
        char line[256];
        long kb = -1;
        while (fgets(line, sizeof line, f))
            if (sscanf(line, "VmHWM: %ld kB", &kb) == 1) break;
        fclose(f);
        if (kb >= 0) return (double)kb / 1024.0;
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss / 1024.0;
}

int bench_run(const bench_args *a) {
    if (a->threads > 0 && swin_set_num_threads(a->threads) != SWIN_OK) {
        fprintf(stderr, "swin: error: --threads: %s\n", swin_last_error());
        return 2;
    }
    uint8_t *synth = NULL;
    size_t synth_size = 0;
    if (!a->model && !bench_synthesize(a->arch, a->size, &synth, &synth_size)) {
        fprintf(stderr, "swin: error: --arch %s: not a preset bench knows (or out of memory)\n",
                a->arch);
        return 2;
    }
    swin_model *m = NULL;
    swin_context *ctx = NULL;
    swin_tensor *x = NULL;
    double *times = NULL;
    int rc = 1;
    const double t0 = bench_now_ms();
    swin_status s = a->model ? swin_model_load_file(&m, a->model, a->opts)
                             : swin_model_load_memory(&m, synth, synth_size, a->opts);
    const double load_ms = bench_now_ms() - t0;
    if (s != SWIN_OK) {
        fprintf(stderr, "swin: error: %s: %s (%s)\n", a->model ? a->model : a->arch,
                swin_last_error(), swin_status_string(s));
        goto done;
    }
    const char *cin = swin_model_get(m, "in_chans");
    const int64_t S = a->size > 0 ? a->size : swin_model_input_size(m);
    const int64_t shape[4] = {a->batch, cin ? atoll(cin) : 3, S, S};
    if ((s = swin_tensor_create(&x, 4, shape)) != SWIN_OK ||
        (s = swin_context_create(&ctx, m)) != SWIN_OK ||
        (s = swin_context_reserve(ctx, a->batch, S, S)) != SWIN_OK) {
        fprintf(stderr, "swin: error: %s (%s)\n", swin_last_error(), swin_status_string(s));
        goto done;
    }
    float *px = swin_tensor_data(x);
    uint32_t state = 99;
    for (int64_t i = 0; i < swin_tensor_numel(x); i++) {
        state = state * 1664525u + 1013904223u;
        px[i] = (float)(state >> 8) / 16777216.0f * 2.0f - 1.0f;
    }
    times = malloc((size_t)a->runs * sizeof *times);
    if (!times) goto done;
    double first_ms = 0.0; /* the process's first pass, warm-up or not */
    double cold_ms = 0.0;  /* from the start of the load to the end of that first pass */
    for (int i = 0; i < a->warmup + a->runs; i++) {
        const double start = bench_now_ms();
        if ((s = swin_context_run(ctx, x)) != SWIN_OK) {
            fprintf(stderr, "swin: error: %s (%s)\n", swin_last_error(), swin_status_string(s));
            goto done;
        }
        const double ms = bench_now_ms() - start;
        if (i == 0) {
            first_ms = ms;
            cold_ms = bench_now_ms() - t0;
        }
        if (i >= a->warmup) times[i - a->warmup] = ms;
    }
    const double med = bench_median(times, a->runs); /* sorts times */
    const double rss_mb = peak_rss_mb();
    const double ips = (double)a->batch * 1000.0 / med;
    const char *name = a->model ? a->model : a->arch;
    if (a->json) {
        printf("{\"model\": \"%s\", \"batch\": %d, \"size\": %lld, \"threads\": %d, \"runs\": %d, "
               "\"min_ms\": %.3f, \"median_ms\": %.3f, \"max_ms\": %.3f, \"images_per_s\": %.3f, "
               "\"peak_rss_mb\": %.1f, \"load_ms\": %.3f, \"first_ms\": %.3f, "
               "\"load_first_ms\": %.3f, \"context_mb\": %.1f, \"kernels\": \"%s\"}\n",
               name, a->batch, (long long)S, swin_get_num_threads(), a->runs, times[0], med,
               times[a->runs - 1], ips, rss_mb, load_ms, first_ms, cold_ms,
               (double)swin_context_memory_bytes(ctx) / 1048576.0, swin_kernel_isa());
    } else {
        printf("model        %s\nbatch        %d\nsize         %lld\nthreads      %d\n"
               "kernels      %s\n",
               name, a->batch, (long long)S, swin_get_num_threads(), swin_kernel_isa());
        printf("load         %.2f ms%s\n", load_ms, a->model ? "" : " (random weights, in memory)");
        printf("latency      min %.2f  median %.2f  max %.2f ms (%d runs, %d warm-up)\n", times[0],
               med, times[a->runs - 1], a->runs, a->warmup);
        printf("first pass   %.2f ms (the process's first run, warm-up included); %.2f ms with "
               "the load (%.2f x the median)\n",
               first_ms, cold_ms, cold_ms / med);
        printf("throughput   %.2f images/s\n", ips);
        printf("memory       peak RSS %.1f MB, activations %.1f MB\n", rss_mb,
               (double)swin_context_memory_bytes(ctx) / 1048576.0);
    }
    rc = 0;
done:
    free(times);
    swin_tensor_free(x);
    swin_context_free(ctx);
    swin_model_free(m);
    free(synth);
    return rc;
}
