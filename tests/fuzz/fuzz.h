/* Shared by the libFuzzer targets of tests/fuzz (docs/security.md). Each target is one
 * translation unit defining LLVMFuzzerTestOneInput; it is linked either with libFuzzer
 * (SWIN_FUZZ=ON, clang) or with standalone.c, which replays files (the regression tests).
 * A broken API contract (a failure without a message, an out-parameter left set, a status
 * outside the documented ones) is a finding too: FUZZ_CHECK traps. */
#ifndef SWIN_FUZZ_H
#define SWIN_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "internal.h"

#ifndef SWIN_FUZZ_DIR
#error "SWIN_FUZZ_DIR (tests/fuzz) must be defined"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: FUZZ_CHECK(%s) failed; last error \"%s\"\n", __FILE__,         \
                    __LINE__, #cond, swin_last_error());                                           \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* A failing call: a documented status (not INTERNAL, not OK) and a message. */
#define FUZZ_CHECK_FAILURE(s)                                                                      \
    FUZZ_CHECK((s) > SWIN_OK && (s) <= SWIN_ERR_UNSUPPORTED && (s) != SWIN_ERR_INTERNAL &&         \
               swin_last_error()[0] != '\0')

/* tests/fuzz/<rel> read whole (malloc'd); the harness cannot run without it. */
static inline uint8_t *fuzz_read(const char *rel, size_t *size) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", SWIN_FUZZ_DIR, rel);
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        fprintf(stderr, "fuzz: cannot open %s\n", path);
        abort();
    }
    fseek(fp, 0, SEEK_END);
    const long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    uint8_t *buf = malloc(n > 0 ? (size_t)n : 1);
    if (!buf || n < 0 || fread(buf, 1, (size_t)n, fp) != (size_t)n) abort();
    fclose(fp);
    *size = (size_t)n;
    return buf;
}

/* Reads every value of a tensor (ASan sees an out-of-bounds view) and returns their sum. */
static inline float fuzz_touch(const float *x, int64_t n) {
    float s = 0.0f;
    for (int64_t i = 0; i < n; i++)
        s += x[i];
    return s;
}

#endif
