/* Error state, version getters and the library's allocation functions. */
#define _DEFAULT_SOURCE /* madvise, MADV_HUGEPAGE */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/mman.h>

#include "internal.h"

#define SWIN_ERROR_CAP 512

static _Thread_local char tls_message[SWIN_ERROR_CAP];

unsigned swin_version_number(void) {
    return SWIN_VERSION_NUMBER;
}

const char *swin_version_string(void) {
    return SWIN_VERSION_STRING;
}

const char *swin_status_string(swin_status status) {
    switch (status) {
    case SWIN_OK:
        return "SWIN_OK";
    case SWIN_ERR_INVALID_ARGUMENT:
        return "SWIN_ERR_INVALID_ARGUMENT";
    case SWIN_ERR_OUT_OF_MEMORY:
        return "SWIN_ERR_OUT_OF_MEMORY";
    case SWIN_ERR_IO:
        return "SWIN_ERR_IO";
    case SWIN_ERR_TRUNCATED:
        return "SWIN_ERR_TRUNCATED";
    case SWIN_ERR_HEADER:
        return "SWIN_ERR_HEADER";
    case SWIN_ERR_OFFSETS:
        return "SWIN_ERR_OFFSETS";
    case SWIN_ERR_DTYPE:
        return "SWIN_ERR_DTYPE";
    case SWIN_ERR_SHAPE:
        return "SWIN_ERR_SHAPE";
    case SWIN_ERR_MISSING_TENSOR:
        return "SWIN_ERR_MISSING_TENSOR";
    case SWIN_ERR_CONFIG:
        return "SWIN_ERR_CONFIG";
    case SWIN_ERR_INPUT_SIZE:
        return "SWIN_ERR_INPUT_SIZE";
    case SWIN_ERR_BUFFER_MISMATCH:
        return "SWIN_ERR_BUFFER_MISMATCH";
    case SWIN_ERR_FORMAT:
        return "SWIN_ERR_FORMAT";
    case SWIN_ERR_INTERNAL:
        return "SWIN_ERR_INTERNAL";
    case SWIN_ERR_UNSUPPORTED:
        return "SWIN_ERR_UNSUPPORTED";
    case SWIN_ERR_BUSY:
        return "SWIN_ERR_BUSY";
    }
    return "SWIN_ERR_UNKNOWN";
}

const char *swin_last_error(void) {
    return tls_message;
}

void swin_clear_error(void) {
    tls_message[0] = '\0';
}

swin_status swin__error(swin_status status, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tls_message, sizeof tls_message, fmt, ap);
    va_end(ap);
    return status;
}

swin_status swin__oom(void) {
    static const char msg[] = "out of memory";
    memcpy(tls_message, msg, sizeof msg);
    return SWIN_ERR_OUT_OF_MEMORY;
}

/* ---- allocation, with a test-only failure hook ----
 * tests/test_alloc_fail.c makes the k-th allocation from now fail and counts the allocations
 * still live. The hook is internal (hidden visibility: the shared library does not export it;
 * tests reach it through the static library). Its cost is a few relaxed atomic operations per
 * allocation, and the library allocates only while loading and planning, never in a run.
 * Live/total counts let a test check that a call leaked nothing and that a run allocated
 * nothing, in any build. */
static atomic_long alloc_countdown; /* 0: disarmed; k: the k-th allocation from now fails */
static atomic_long alloc_live, alloc_total;
static atomic_size_t alloc_largest; /* the largest request since the last reset */

void swin__alloc_fail_at(long k) {
    atomic_store(&alloc_countdown, k > 0 ? k : 0);
}

static bool should_fail(void) {
    long k = atomic_load_explicit(&alloc_countdown, memory_order_relaxed);
    while (k > 0)
        if (atomic_compare_exchange_weak(&alloc_countdown, &k, k - 1)) return k == 1;
    return false;
}

long swin__alloc_live(void) {
    return atomic_load(&alloc_live);
}

long swin__alloc_total(void) {
    return atomic_load(&alloc_total);
}

static void *counted(void *p) {
    if (p) {
        atomic_fetch_add_explicit(&alloc_live, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&alloc_total, 1, memory_order_relaxed);
    }
    return p;
}

static void note_size(size_t size) {
    size_t m = atomic_load_explicit(&alloc_largest, memory_order_relaxed);
    while (size > m && !atomic_compare_exchange_weak_explicit(
                           &alloc_largest, &m, size, memory_order_relaxed, memory_order_relaxed)) {
    }
}

size_t swin__alloc_largest(bool reset) {
    return reset ? atomic_exchange(&alloc_largest, 0) : atomic_load(&alloc_largest);
}

void *swin__malloc(size_t size) {
    note_size(size);
    if (should_fail()) return NULL;
    return counted(malloc(size ? size : 1));
}

void *swin__calloc(size_t n, size_t size) {
    size_t bytes;
    note_size(swin__mul_size(n, size, &bytes) ? bytes : SIZE_MAX);
    if (should_fail()) return NULL;
    return counted(calloc(n ? n : 1, size ? size : 1));
}

void *swin__realloc(void *p, size_t size) {
    note_size(size);
    if (should_fail()) return NULL;
    void *q = realloc(p, size ? size : 1);
    return p ? q : counted(q);
}

void swin__free(void *p) {
    if (p) atomic_fetch_sub_explicit(&alloc_live, 1, memory_order_relaxed);
    free(p);
}

/* size bytes (at least 64) on an align boundary, counted, or NULL. */
static void *aligned_counted(size_t align, size_t size) {
    if (should_fail()) return NULL;
    void *p = NULL;
    if (posix_memalign(&p, align, size ? size : 64) != 0) return NULL;
    return counted(p);
}

void *swin__aligned_alloc(size_t size) {
    return aligned_counted(64, size);
}

/* Large buffers (a context's activations) on 2 MiB boundaries, offered to the kernel as
 * transparent huge pages: their first touch, in a process's first pass, then takes one fault per
 * 2 MiB instead of one per 4 KiB page (where THP is "always" or "madvise"; elsewhere a no-op). */
void *swin__aligned_alloc_large(size_t size) {
    enum { HUGE = 2 << 20 };
    void *p = aligned_counted(size < HUGE ? 64 : HUGE, size);
#ifdef MADV_HUGEPAGE
    if (p && size >= HUGE)
        madvise(p, size / HUGE * HUGE, MADV_HUGEPAGE); /* advice only: failure changes nothing */
#endif
    return p;
}

void swin__aligned_free(void *p) {
    swin__free(p);
}

char *swin__strdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = swin__malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}
