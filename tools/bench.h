/* swin bench (tools/bench.c). */
#ifndef SWIN_TOOLS_BENCH_H
#define SWIN_TOOLS_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <swin/swin.h>

typedef struct bench_args {
    const char *model; /* file or hub folder, or NULL for random weights of arch */
    const char *arch;
    int batch, threads, runs, warmup;
    int64_t size; /* input side; 0: the model's */
    bool json;
    const swin_options *opts;
} bench_args;

int bench_run(const bench_args *a);
bool bench_synthesize(const char *arch, int64_t img, uint8_t **out, size_t *size);
/* A monotonic clock in milliseconds. */
double bench_now_ms(void);
/* Median of v[0..n) (n >= 1); sorts v. */
double bench_median(double *v, int n);

#endif
