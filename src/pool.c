/* The worker pool of a context: T-1 threads plus the calling thread run the chunks of one
 * parallel loop at a time. A job is published by bumping a generation counter; workers spin on
 * it for a fraction of a millisecond (a forward pass issues a parallel loop every few tens of
 * microseconds), then sleep on a condition variable. Chunks are handed out through an atomic
 * counter, so uneven chunks balance themselves.
 * The mutex is taken only on the way to or from sleep: a sleeper announces itself in a counter
 * (workers) or a flag (the caller) before it checks its condition for the last time, and the
 * other side looks at that counter or flag after changing the condition. Both are sequentially
 * consistent, so at least one of the two sees the other and no wake-up is lost. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "internal.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CPU_RELAX() _mm_pause()
#elif defined(__aarch64__)
#define CPU_RELAX() __asm__ __volatile__("yield" ::: "memory")
#else
#define CPU_RELAX() ((void)0)
#endif

/* Spin iterations before sleeping: about 0.1 to 1 ms of pause instructions (their latency
 * varies by CPU: 0.22 ms on the development machine's Xeon), longer than the gaps between the
 * parallel loops of a forward pass. */
#define SPIN_ITERS 16000

/* Partial products of a K-split product (gemm.c): 1 MB per extra thread. */
#define PARTIAL_FLOATS ((size_t)1 << 18)

struct swin_pool {
    unsigned long forks; /* fork_count when the workers were started */
    int nthreads;        /* including the caller */
    float *partials;     /* (nthreads - 1) * PARTIAL_FLOATS */
    pthread_t *threads;
    int started; /* workers actually running */
    pthread_mutex_t mu;
    pthread_cond_t wake, done;
    atomic_ulong gen;
    atomic_int sleepers;      /* workers waiting on wake (or about to) */
    atomic_bool caller_waits; /* the caller waits on done (or is about to) */
    atomic_int active;        /* workers that have not finished the current job */
    atomic_long next;         /* next chunk index */
    atomic_bool stop;
    /* the current job: written by the caller before gen is bumped */
    swin_task_fn fn;
    void *arg;
    int64_t n, chunk, nchunks;
};

/* fork() copies only the calling thread: in a child, a pool made before the fork has no
 * workers. Pools remember the fork count of their making; a stale one runs serially, and its
 * context replaces it (swin__pool_stale). */
static atomic_ulong fork_count;
static void count_fork(void) {
    atomic_fetch_add(&fork_count, 1);
}
static void register_fork_handler(void) {
    pthread_atfork(NULL, NULL, count_fork);
}

/* Subnormal floats: masked attention scores become probabilities around 1e-44, and products
 * with subnormal operands take a slow microcode path on x86 (8x slower attention here) and on
 * many Arm cores. Inside a forward pass they are flushed to zero (x86: FTZ, and DAZ to read
 * them as zero; AArch64: FPCR.FZ, which does both); the caller's setting is restored
 * afterwards. Values below 1.2e-38 change nothing measurable in the outputs. */
unsigned swin__fp_enter(void) {
#if defined(__x86_64__) || defined(__i386__)
    const unsigned saved = _mm_getcsr();
    _mm_setcsr(saved | 0x8040u); /* FTZ (bit 15) | DAZ (bit 6) */
    return saved;
#elif defined(__aarch64__)
    uint64_t fpcr;
    __asm__ __volatile__("mrs %0, fpcr" : "=r"(fpcr));
    __asm__ __volatile__("msr fpcr, %0" : : "r"(fpcr | (UINT64_C(1) << 24))); /* FZ (bit 24) */
    return (unsigned)fpcr; /* FPCR's defined bits are its low 32 */
#else
    return 0;
#endif
}

void swin__fp_leave(unsigned saved) {
#if defined(__x86_64__) || defined(__i386__)
    _mm_setcsr(saved);
#elif defined(__aarch64__)
    __asm__ __volatile__("msr fpcr, %0" : : "r"((uint64_t)saved));
#else
    (void)saved;
#endif
}

static void run_chunks(swin_pool *p, int tid) {
    for (;;) {
        const long c = atomic_fetch_add_explicit(&p->next, 1, memory_order_relaxed);
        if (c >= p->nchunks) return;
        const int64_t begin = c * p->chunk;
        const int64_t end = begin + p->chunk < p->n ? begin + p->chunk : p->n;
        p->fn(p->arg, begin, end, tid);
    }
}

typedef struct worker_arg {
    swin_pool *pool;
    int tid;
} worker_arg;

static void *worker(void *v) {
    swin_pool *p = ((worker_arg *)v)->pool;
    const int tid = ((worker_arg *)v)->tid;
    unsigned long seen = 0;
    (void)swin__fp_enter(); /* workers only run forward passes */
    for (;;) {
        unsigned long g = atomic_load_explicit(&p->gen, memory_order_acquire);
        for (int i = 0; g == seen && i < SPIN_ITERS; i++) {
            CPU_RELAX();
            g = atomic_load_explicit(&p->gen, memory_order_acquire);
        }
        if (g == seen) {
            pthread_mutex_lock(&p->mu);
            atomic_fetch_add(&p->sleepers, 1);
            while ((g = atomic_load(&p->gen)) == seen && !atomic_load(&p->stop))
                pthread_cond_wait(&p->wake, &p->mu);
            atomic_fetch_sub(&p->sleepers, 1);
            pthread_mutex_unlock(&p->mu);
        }
        if (atomic_load(&p->stop)) return NULL;
        seen = g;
        run_chunks(p, tid);
        if (atomic_fetch_sub(&p->active, 1) == 1 && atomic_load(&p->caller_waits)) {
            pthread_mutex_lock(&p->mu);
            pthread_cond_signal(&p->done);
            pthread_mutex_unlock(&p->mu);
        }
    }
}

swin_status swin__pool_create(swin_pool **out, int nthreads) {
    *out = NULL;
    if (nthreads < 1) nthreads = 1;
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, register_fork_handler);
    swin_pool *p = swin__calloc(1, sizeof *p);
    if (!p) return swin__oom();
    p->forks = atomic_load(&fork_count);
    p->nthreads = 1;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->done, NULL);
    atomic_init(&p->gen, 0);
    atomic_init(&p->sleepers, 0);
    atomic_init(&p->caller_waits, false);
    atomic_init(&p->active, 0);
    atomic_init(&p->next, 0);
    atomic_init(&p->stop, false);
    if (nthreads > 1) {
        /* one allocation: the thread handles, then the workers' arguments */
        const size_t n = (size_t)(nthreads - 1);
        p->threads = swin__malloc(n * (sizeof(pthread_t) + sizeof(worker_arg)));
        if (!p->threads) {
            swin__pool_free(p);
            return swin__oom();
        }
        worker_arg *args = (worker_arg *)(p->threads + n);
        for (size_t i = 0; i < n; i++) {
            args[i] = (worker_arg){p, (int)i + 1};
            /* A thread that cannot be started leaves a smaller pool, not an error. */
            if (pthread_create(&p->threads[i], NULL, worker, &args[i]) != 0) break;
            p->started++;
        }
        p->nthreads = 1 + p->started;
        if (p->started > 0) {
            p->partials = swin__aligned_alloc((size_t)p->started * PARTIAL_FLOATS * sizeof(float));
            if (!p->partials) {
                swin__pool_free(p);
                return swin__oom();
            }
        }
    }
    *out = p;
    return SWIN_OK;
}

bool swin__pool_stale(const swin_pool *p) {
    return p && p->forks != atomic_load(&fork_count);
}

void swin__pool_free(swin_pool *p) {
    if (!p) return;
    if (swin__pool_stale(p)) {
        /* in a forked child: the workers do not exist here, and the locks may have been
         * copied mid-use; only the memory is released */
        swin__aligned_free(p->partials);
        swin__free(p->threads);
        swin__free(p);
        return;
    }
    pthread_mutex_lock(&p->mu);
    atomic_store(&p->stop, true);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->started; i++)
        pthread_join(p->threads[i], NULL);
    pthread_cond_destroy(&p->done);
    pthread_cond_destroy(&p->wake);
    pthread_mutex_destroy(&p->mu);
    swin__aligned_free(p->partials);
    swin__free(p->threads);
    swin__free(p);
}

float *swin__pool_partials(swin_pool *p, size_t *floats) {
    *floats = p && p->partials ? (size_t)(p->nthreads - 1) * PARTIAL_FLOATS : 0;
    return p ? p->partials : NULL;
}

int swin__pool_size(const swin_pool *p) {
    return p ? p->nthreads : 1;
}

void swin__parallel_for(swin_pool *p, int64_t n, int64_t chunk, swin_task_fn fn, void *arg) {
    if (n <= 0) return;
    if (chunk < 1) chunk = 1;
    const int64_t nchunks = (n + chunk - 1) / chunk;
    if (!p || p->nthreads == 1 || nchunks == 1 || swin__pool_stale(p)) {
        for (int64_t b = 0; b < n; b += chunk)
            fn(arg, b, b + chunk < n ? b + chunk : n, 0);
        return;
    }
    p->fn = fn;
    p->arg = arg;
    p->n = n;
    p->chunk = chunk;
    p->nchunks = nchunks;
    atomic_store_explicit(&p->next, 0, memory_order_relaxed);
    atomic_store_explicit(&p->active, p->started, memory_order_relaxed);
    atomic_fetch_add(&p->gen, 1);
    if (atomic_load(&p->sleepers) > 0) {
        pthread_mutex_lock(&p->mu);
        pthread_cond_broadcast(&p->wake);
        pthread_mutex_unlock(&p->mu);
    }
    run_chunks(p, 0);
    for (int i = 0; atomic_load_explicit(&p->active, memory_order_acquire) != 0 && i < SPIN_ITERS;
         i++)
        CPU_RELAX();
    if (atomic_load_explicit(&p->active, memory_order_acquire) != 0) {
        pthread_mutex_lock(&p->mu);
        atomic_store(&p->caller_waits, true);
        while (atomic_load(&p->active) != 0)
            pthread_cond_wait(&p->done, &p->mu);
        atomic_store(&p->caller_waits, false);
        pthread_mutex_unlock(&p->mu);
    }
}

void swin__parallel_split(swin_pool *p, int64_t n, int64_t align, swin_task_fn fn, void *arg) {
    const int64_t T = swin__pool_size(p);
    if (align < 1) align = 1;
    int64_t chunk = (n + T - 1) / T;
    chunk = (chunk + align - 1) / align * align;
    swin__parallel_for(p, n, chunk, fn, arg);
}

/* ---- the process-wide default thread count ---- */

static atomic_int default_threads; /* 0: not set, use the number of online processors */

int swin__default_threads(void) {
    const int n = atomic_load(&default_threads);
    if (n > 0) return n;
    /* SWIN_NUM_THREADS, when it is a number in 1..1024 (anything else is ignored) */
    const char *env = getenv("SWIN_NUM_THREADS");
    if (env && *env) {
        char *end;
        const long v = strtol(env, &end, 10);
        if (*end == '\0' && v >= 1 && v <= 1024) return (int)v;
    }
    const long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    return cpus < 1 ? 1 : cpus > 64 ? 64 : (int)cpus;
}

swin_status swin_set_num_threads(int n) {
    if (n < 1 || n > 1024)
        return swin__error(SWIN_ERR_INVALID_ARGUMENT, "swin_set_num_threads: %d is outside 1..1024",
                           n);
    atomic_store(&default_threads, n);
    return SWIN_OK;
}

int swin_get_num_threads(void) {
    return swin__default_threads();
}
