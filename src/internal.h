/* Internal declarations shared between libswin's translation units (swin__* names). */
#ifndef SWIN_INTERNAL_H
#define SWIN_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "swin/swin.h"

/* ---- errors (status.c) ---- */

/* Records a formatted message for this thread and returns status. */
swin_status swin__error(swin_status status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Records the fixed out-of-memory message (no allocation) and returns SWIN_ERR_OUT_OF_MEMORY. */
swin_status swin__oom(void);

/* Propagate a failing status in one line; the message is already set. */
#define SWIN_TRY(expr)                                                                             \
    do {                                                                                           \
        swin_status swin__s = (expr);                                                              \
        if (swin__s != SWIN_OK) return swin__s;                                                    \
    } while (0)

/* Propagate to a cleanup label. */
#define SWIN_TRY_GOTO(st, expr, label)                                                             \
    do {                                                                                           \
        (st) = (expr);                                                                             \
        if ((st) != SWIN_OK) goto label;                                                           \
    } while (0)

/* ---- memory (status.c): every heap allocation of the library goes through these ---- */

/* ---- files (fileio.c) ---- */
/* Whether path names anything: false only when not even a (dangling) link of that name exists. */
bool swin__path_present(const char *path);
/* Opens a regular file for reading, never blocking (a FIFO, socket, device or directory is
 * SWIN_ERR_IO at once); SWIN_ERR_IO naming the path and the errno text on failure. */
swin_status swin__open_regular(const char *path, int *fd);
swin_status swin__fopen_regular(const char *path, FILE **fp);
/* Writes path atomically: write(fp, arg) into a temporary file in path's folder, flushed and
 * fsync'ed, then renamed over path. write returns false on failure (errno set). On any failure
 * the temporary is removed, path is unchanged, and the status names path and the errno text
 * ("No space left on device"). */
typedef bool (*swin_write_fn)(FILE *fp, const void *arg);
swin_status swin__write_atomic(const char *path, swin_write_fn write, const void *arg);

void *swin__malloc(size_t size);
void *swin__calloc(size_t n, size_t size);
void *swin__realloc(void *p, size_t size);
void swin__free(void *p);
/* 64-byte aligned allocation, freed with swin__aligned_free. */
void *swin__aligned_alloc(size_t size);
void swin__aligned_free(void *p);
/* swin__aligned_alloc for buffers of megabytes: 2 MiB aligned, advised as huge pages; freed with
 * swin__aligned_free. */
void *swin__aligned_alloc_large(size_t size);
char *swin__strdup(const char *s);
/* Test-only failure injection (tests/test_alloc_fail.c; hidden, not part of the ABI):
 * swin__alloc_fail_at(k) makes the k-th allocation from now return NULL, once (0 disarms);
 * live = allocations not yet freed, total = allocations made so far. */
void swin__alloc_fail_at(long k);
long swin__alloc_live(void);
long swin__alloc_total(void);
/* The largest single request (malloc, calloc, realloc) since the last reset; reset: also
 * start again from 0. */
size_t swin__alloc_largest(bool reset);

/* a*b and a+b with overflow detection: return false on overflow. */
static inline bool swin__mul_size(size_t a, size_t b, size_t *out) {
    return !__builtin_mul_overflow(a, b, out);
}
static inline bool swin__add_size(size_t a, size_t b, size_t *out) {
    return !__builtin_add_overflow(a, b, out);
}

/* ---- tensors (tensor.c) ---- */

struct swin_tensor {
    float *data;
    int ndim;
    int64_t shape[SWIN_MAX_DIMS];
    bool owned;
};

/* Sets a non-owning view in place (used for context outputs). */
void swin__tensor_view(swin_tensor *t, float *data, int ndim, const int64_t *shape);

/* ---- .npy (npy.c) ---- */

/* Reads an .npy stream from its start (path names it in messages); *out is set on success.
 * swin_tensor_load_npy is this on the opened file; fuzzing feeds it memory (fmemopen). */
swin_status swin__npy_read(swin_tensor **out, FILE *fp, const char *path);

/* ---- safetensors (safetensors.c) ---- */

typedef enum swin_dtype {
    SWIN_DT_F64,
    SWIN_DT_F32,
    SWIN_DT_F16,
    SWIN_DT_BF16,
    SWIN_DT_I64,
    SWIN_DT_I32,
    SWIN_DT_I16,
    SWIN_DT_I8,
    SWIN_DT_U64,
    SWIN_DT_U32,
    SWIN_DT_U16,
    SWIN_DT_U8,
    SWIN_DT_BOOL,
    SWIN_DT_F8_E4M3,
    SWIN_DT_F8_E5M2,
} swin_dtype;

typedef struct swin_st_tensor {
    char *name;
    swin_dtype dtype;
    int ndim;
    int64_t shape[SWIN_MAX_DIMS];
    size_t numel;
    const uint8_t *raw; /* into the mapped file, (end - begin) bytes */
    size_t nbytes;
    size_t begin;     /* offset in the data section */
    const float *f32; /* float32 view: in place or converted; NULL for non-float dtypes */
} swin_st_tensor;

typedef struct swin_st_meta {
    char *key;
    char *value;
} swin_st_meta;

typedef struct swin_safetensors {
    swin_st_tensor *tensors; /* in file (offset) order */
    size_t num_tensors;
    const swin_st_tensor **by_name; /* the same, sorted by name: swin__st_find is a search */
    swin_st_meta *meta;
    size_t num_meta;
    float *converted; /* arena for F16/BF16 and unaligned F32 tensors (an anonymous mapping) */
    size_t converted_bytes;
    /* the mapping, when the file was opened by us */
    void *map;
    size_t map_size;
    /* the file's holes (sparse files), when known: byte ranges [holes[i][0], holes[i][1]) of
     * the file that read as zeros, in order; conversion skips them */
    size_t (*holes)[2];
    size_t num_holes;
} swin_safetensors;

/* Largest header accepted (the format's reference implementation uses 100 MB). */
#define SWIN_ST_MAX_HEADER ((size_t)100 * 1000 * 1000)

const char *swin__dtype_name(swin_dtype dt);
/* Parses and validates bytes [data, data+size) (borrowed). */
swin_status swin__st_parse(swin_safetensors *st, const uint8_t *data, size_t size);
/* Maps path and parses it; the mapping is owned by st. copy: the bytes are read into memory of
 * st's own instead (immune to the file changing or shrinking afterwards). */
swin_status swin__st_open(swin_safetensors *st, const char *path, bool copy);
/* Parses a copy of [data, data+size) owned by st. */
swin_status swin__st_copy(swin_safetensors *st, const uint8_t *data, size_t size);
void swin__st_close(swin_safetensors *st);
const swin_st_tensor *swin__st_find(const swin_safetensors *st, const char *name);
const char *swin__st_meta(const swin_safetensors *st, const char *key);

/* A context's worker threads (pool.c). Every function that runs in parallel takes the pool it
 * runs on; NULL runs it serially on the calling thread. */
typedef struct swin_pool swin_pool;

/* ---- GEMM seam (gemm.c): the only file that includes cblas.h ---- */

/* C[M,N] = alpha * op(A) op(B) + beta * C, row-major; op = transpose when trans_x. */
void swin__sgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                 const float *A, int64_t lda, const float *B, int64_t ldb, float beta, float *C,
                 int64_t ldc);
/* The same contract, a plain triple loop accumulating in double: the reference for tests. */
void swin__sgemm_naive(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                       const float *A, int64_t lda, const float *B, int64_t ldb, float beta,
                       float *C, int64_t ldc);
/* PyTorch Linear: out[M,N] = in[M,K] W[N,K]^T + b[N] (b may be NULL). Split across pool's
 * threads. */
void swin__linear(float *out, const float *in, const float *W, const float *b, int64_t M, int64_t K,
                  int64_t N, swin_pool *pool);
/* Activations: exact (erf) GELU, ReLU, tanh-approximated GELU (torch's approximate='tanh'),
 * QuickGELU x sigmoid(1.702 x), SiLU x sigmoid(x), none. */
typedef enum swin_activation {
    SWIN_ACT_GELU,
    SWIN_ACT_RELU,
    SWIN_ACT_GELU_TANH,
    SWIN_ACT_QUICK_GELU,
    SWIN_ACT_SILU,
    SWIN_ACT_NONE
} swin_activation;
/* What swin__linear_ex does with the product P = in W^T of each output element. */
typedef enum swin_epilogue {
    SWIN_EPI_BIAS,            /* out = P + b */
    SWIN_EPI_BIAS_GELU,       /* out = gelu(P + b) */
    SWIN_EPI_BIAS_RELU,       /* out = max(P + b, 0) */
    SWIN_EPI_ACCUMULATE,      /* out += P + b (a residual connection) */
    SWIN_EPI_BIAS_GELU_TANH,  /* out = gelu_tanh(P + b) */
    SWIN_EPI_BIAS_QUICK_GELU, /* out = quick_gelu(P + b) */
    SWIN_EPI_BIAS_SILU        /* out = silu(P + b) */
} swin_epilogue;
/* The epilogue that applies act after the bias. */
swin_epilogue swin__epilogue_of(swin_activation act);
/* out rows have stride ldo; b may be NULL. */
void swin__linear_ex(float *out, int64_t ldo, const float *in, const float *W, const float *b,
                     int64_t M, int64_t K, int64_t N, swin_epilogue epi, swin_pool *pool);
/* Work on rows [r0, r1) of a product's input (before) or output (after), fused into the
 * product's row blocks; rows of different calls never overlap. */
typedef struct swin_rows_hook {
    void (*fn)(void *arg, int64_t r0, int64_t r1);
    void *arg;
} swin_rows_hook;
/* swin__linear_ex with hooks: before makes input rows, after consumes output rows. When the
 * product is split by columns they run as loops of their own, before and after it. */
void swin__linear_fused(float *out, int64_t ldo, const float *in, const float *W, const float *b,
                        int64_t M, int64_t K, int64_t N, swin_epilogue epi,
                        const swin_rows_hook *before, const swin_rows_hook *after, swin_pool *pool);
/* Rows [r0, r1) of swin__linear_ex's product (in [*, K], W [N, K]), on the calling thread. */
void swin__linear_rows(float *out, int64_t ldo, const float *in, const float *W, const float *b,
                       int64_t K, int64_t N, int64_t r0, int64_t r1, swin_epilogue epi);
/* Blocks of rows hold about 8 MB of their widest intermediate: each block repacks the
 * weights, and fewer repacks were measured to matter more than keeping a block in L2
 * (docs/performance.md). */
#define SWIN_BLOCK_FLOATS ((int64_t)(8 << 20) / (int64_t)sizeof(float))
/* Items per block when n items are cut into equal blocks of about `fit` items (at least 1),
 * a multiple of T blocks so that no thread gets one more. */
int64_t swin__block_items(int64_t n, int64_t fit, int64_t T);
/* Runs h over rows [0, rows), split across pool's threads. */
void swin__rows_parallel(swin_pool *pool, int64_t rows, const swin_rows_hook *h);
/* Makes OpenBLAS run each call on the calling thread (libswin parallelises itself) and stops its
 * idle server threads; once per process (gemm.c). */
void swin__blas_single_threaded(void);
/* Around a pass on `threads` threads: SWIN_ERR_OUT_OF_MEMORY (and no pass) when an
 * address-space limit leaves no room for the OpenBLAS work buffers the pass may add, which
 * OpenBLAS would otherwise wait for forever (gemm.c). */
swin_status swin__blas_enter(int threads);
void swin__blas_leave(int threads);

/* ---- worker pool (pool.c) ---- */

/* A chunk [begin, end) of a parallel loop, run by thread tid (0 = the caller, < pool size). */
typedef void (*swin_task_fn)(void *arg, int64_t begin, int64_t end, int tid);
/* nthreads - 1 workers; fewer when threads cannot be started. OOM only for the pool itself. */
swin_status swin__pool_create(swin_pool **out, int nthreads);
void swin__pool_free(swin_pool *p);
/* Whether p was made before a fork() of this process (its workers are not here). */
bool swin__pool_stale(const swin_pool *p);
/* Threads of p, the caller included (1 for NULL). Per-thread scratch is sized by it. */
int swin__pool_size(const swin_pool *p);
/* Runs fn over [0, n) in chunks of `chunk` on p's threads (serially when p is NULL); returns
 * when all are done. A chunk has no pool: what it runs, it runs on its own thread. */
void swin__parallel_for(swin_pool *p, int64_t n, int64_t chunk, swin_task_fn fn, void *arg);
/* The same with one chunk per thread, chunk sizes rounded up to a multiple of align. */
void swin__parallel_split(swin_pool *p, int64_t n, int64_t align, swin_task_fn fn, void *arg);
/* Flushes subnormal floats to zero in this thread (x86 MXCSR FTZ|DAZ); returns the previous
 * state for swin__fp_leave. No-ops elsewhere. */
unsigned swin__fp_enter(void);
void swin__fp_leave(unsigned saved);
/* p's buffer for partial products (NULL without a pool of two or more); *floats receives its
 * size. Only for use inside one parallel step of p's caller. */
float *swin__pool_partials(swin_pool *p, size_t *floats);
/* swin_set_num_threads's value, else SWIN_NUM_THREADS (1..1024), else the number of online
 * processors (at most 64). */
int swin__default_threads(void);

/* ---- kernels (src/kernels/: dispatch.c over one table per ISA, layout.c) ---- */

/* LayerNorm over the last dim C of [rows, C]: out may alias in. */
void swin__layernorm(float *out, const float *in, const float *gamma, const float *beta,
                     int64_t rows, int64_t C, float eps, swin_pool *pool);
/* Softmax of each row of [rows, n], in place, with the row maximum subtracted. */
void swin__softmax_rows(float *x, int64_t rows, int64_t n);
/* x[r, :] += bias[r, :] (if not NULL) + mask[r, :] (if not NULL), then softmax of each row.
 * With inv_sum, the rows are left unnormalised (exp(x - max)) and inv_sum[r] receives the
 * factor 1 / sum that normalises row r, for the caller to apply to a smaller product. */
void swin__softmax_rows_add(float *x, int64_t rows, int64_t n, const float *bias, const float *mask,
                            float *inv_sum);
/* Exact GELU: x * 0.5 * (1 + erf(x / sqrt(2))), in place. */
void swin__gelu(float *x, int64_t n);
/* x[i] = gelu(x[i] + b[i]) for i < n (b may be NULL). */
void swin__bias_gelu(float *x, const float *b, int64_t n);
/* x[i] = act(x[i] + b[i]) for i < n (b may be NULL). */
void swin__bias_act(float *x, const float *b, int64_t n, swin_activation act);
/* The kernel path (src/kernels/): SWIN_OK, or the status and message of a SWIN_ISA that names
 * no path (SWIN_ERR_CONFIG) or one this CPU cannot run (SWIN_ERR_UNSUPPORTED). */
swin_status swin__kernels_ready(void);
/* Test hooks: switch to path isa (0 scalar, 1 AVX2+FMA, 2 AVX-512, 3 NEON; false, and nothing
 * changed, when the CPU or build lacks it), the path in use, and a path's name. Not for use
 * while kernels run. */
bool swin__kernels_force(int isa);
int swin__kernels_current(void);
const char *swin__kernels_name(int isa);
/* out[i] += in[i]. */
void swin__add_inplace(float *restrict out, const float *restrict in, int64_t n);
/* out[r * ld + c] *= s[r], for rows r < rows and columns c < n. */
void swin__scale_rows(float *out, int64_t ld, int64_t rows, int64_t n, const float *s);
/* Rows r < rows of x (n columns, stride ld) to length f: x * f / max(|x|_2, 1e-12), as
 * F.normalize then times f; the sums of squares in double, the factor a float. */
void swin__unit_rows(float *x, int64_t ld, int64_t rows, int64_t n, double f);

/* Spatial helpers on channels-last maps (B, H, W, C). */
/* out[b, h, w] = in[b, (h + sh) mod H, (w + sw) mod W]: torch.roll(in, (-sh, -sw), (1, 2)). */
void swin__roll(float *restrict out, const float *restrict in, int64_t B, int64_t H, int64_t W,
                int64_t C, int64_t sh, int64_t sw);
/* Copies (B, H, W, C) into (B, Hp, Wp, C) with zeros bottom/right. */
void swin__pad(float *restrict out, const float *restrict in, int64_t B, int64_t H, int64_t W,
               int64_t Hp, int64_t Wp, int64_t C);
/* (B, Hp, Wp, C) -> (B * nWh * nWw, wh * ww, C), windows in row-major order per image. */
void swin__window_partition(float *restrict out, const float *restrict in, int64_t B, int64_t Hp,
                            int64_t Wp, int64_t C, int64_t wh, int64_t ww);
/* Inverse of window_partition, keeping only the top-left H x W of the padded grid. */
void swin__window_reverse(float *restrict out, const float *restrict in, int64_t B, int64_t Hp,
                          int64_t Wp, int64_t H, int64_t W, int64_t C, int64_t wh, int64_t ww);

/* ---- preprocessing (preprocess.c) ---- */

/* The eval transform: timm's (resize the shorter side to input_size / crop_pct, center crop),
 * or a transformers image processor's (resize to resize_h x resize_w, or the shorter side to
 * shortest_edge; center crop when center_crop; rescale; normalise). */
typedef struct swin_preproc {
    int64_t input_size;     /* S: the side of the tensor made */
    char interpolation[16]; /* bicubic, bilinear, lanczos, hamming, box */
    double crop_pct;        /* timm */
    char crop_mode[8];      /* timm: center (squash and border are not computed yet) */
    float mean[3], std[3];
    bool transformers;
    int64_t resize_h, resize_w; /* transformers: exact resize (0: none) */
    int64_t shortest_edge;      /* transformers: aspect-preserving resize (0: none) */
    bool center_crop;           /* transformers: crop to S x S after the resize */
    double rescale_factor;      /* transformers: 1/255 usually */
} swin_preproc;

bool swin__interpolation_known(const char *name);
/* out [3, S, S] <- RGB8 image (rows of stride bytes), S = p->input_size. */
swin_status swin__preprocess(float *out, const uint8_t *pixels, int64_t stride, int64_t w,
                             int64_t h, const swin_preproc *p);

/* ---- Swin geometry (window_attention.c) ---- */

/* Relative position index of a wh x ww window: [N, N] with N = wh*ww, as the official code. */
void swin__relative_position_index(int32_t *idx, int64_t wh, int64_t ww);
/* Shifted-window mask on the padded grid Hp x Wp: [nW, N, N] of 0 and -100. */
void swin__shift_mask(float *mask, int64_t Hp, int64_t Wp, int64_t wh, int64_t ww, int64_t sh,
                      int64_t sw);

#endif /* SWIN_INTERNAL_H */
