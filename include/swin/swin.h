/**
 * @file swin.h
 * @brief libswin: Swin Transformer and ViT inference on the CPU, with a stable C ABI.
 *
 * This header is the whole API: if it is not here, it is not API.
 *
 * Objects
 *   swin_model    weights (memory-mapped safetensors) and the resolved architecture. Immutable
 *                 once loaded: any number of threads may use one model at the same time.
 *   swin_context  the activation memory for running a model. One context per thread; a context
 *                 is planned once per (batch, height, width) and then runs without allocating.
 *   swin_tensor   a float32 row-major tensor, owned or wrapping caller memory.
 *   swin_options  explicit architecture settings from the caller (key = value strings).
 *   swin_image    a decoded 8-bit RGB image, owned or wrapping caller pixels.
 *
 * Errors
 *   Every fallible function returns a swin_status; SWIN_OK is 0. On failure a message describing
 *   what and where is available from swin_last_error() in the same thread; it stays there until
 *   another call in this thread fails (successful calls leave it) or swin_clear_error().
 * Constructors set their out-parameter to NULL on failure. The library never prints, exits or
 * aborts.
 *
 * Thread safety
 *   swin_model: read-only after load, safe to share. swin_context, swin_tensor, swin_options,
 *   swin_image: not synchronised; use each from one thread at a time (different objects may be
 *   used by different threads at once). swin_last_error() is thread-local.
 *   swin_set_num_threads() is process-global. Each context runs on its own worker threads
 *   (swin_context_set_num_threads). Free functions accept NULL and do nothing.
 */
#ifndef SWIN_SWIN_H
#define SWIN_SWIN_H

#include <stddef.h>
#include <stdint.h>

#include "version.h"

#if defined(_WIN32) && defined(SWIN_SHARED)
#if defined(SWIN_BUILDING)
#define SWIN_API __declspec(dllexport)
#else
#define SWIN_API __declspec(dllimport)
#endif
#elif defined(__GNUC__) && defined(SWIN_BUILDING)
#define SWIN_API __attribute__((visibility("default")))
#else
#define SWIN_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/** Status codes. Stable values; new codes are only appended. */
typedef enum swin_status {
    /** Success. */
    SWIN_OK = 0,
    /** A NULL pointer, a bad value or a wrongly shaped tensor passed by the caller. */
    SWIN_ERR_INVALID_ARGUMENT = 1,
    /** An allocation failed. */
    SWIN_ERR_OUT_OF_MEMORY = 2,
    /** open, stat, mmap, read or write failed (the message carries the path and errno text). */
    SWIN_ERR_IO = 3,
    /** The file is shorter than its header requires. */
    SWIN_ERR_TRUNCATED = 4,
    /** A safetensors header that is too long, not JSON, or has a malformed entry. */
    SWIN_ERR_HEADER = 5,
    /** Tensor data offsets out of range, overlapping, or not matching dtype and shape. */
    SWIN_ERR_OFFSETS = 6,
    /** A tensor dtype that is unknown, or not usable for the tensor's role. */
    SWIN_ERR_DTYPE = 7,
    /** A tensor shape that does not match the architecture. */
    SWIN_ERR_SHAPE = 8,
    /** A tensor the architecture needs is not in the file. */
    SWIN_ERR_MISSING_TENSOR = 9,
    /** Architecture settings that are invalid, inconsistent, or an unknown arch or key. */
    SWIN_ERR_CONFIG = 10,
    /** An input whose size the model cannot run (not divisible by the patch, window mismatch). */
    SWIN_ERR_INPUT_SIZE = 11,
    /** A stored buffer (relative_position_index, attn_mask) differs from the recomputed one. */
    SWIN_ERR_BUFFER_MISMATCH = 12,
    /** A malformed data file other than safetensors (for instance .npy). */
    SWIN_ERR_FORMAT = 13,
    /** An internal invariant failed: a bug in libswin. */
    SWIN_ERR_INTERNAL = 14,
    /** A valid input that libswin does not handle (a known model architecture, layout or
     *  setting whose computation libswin lacks; the message names it). */
    SWIN_ERR_UNSUPPORTED = 15,
    /** The context is inside a call from another thread (a context must not be used by two
     *  threads at once: give each thread its own); nothing was done. */
    SWIN_ERR_BUSY = 16
} swin_status;

/** Which output of the last run to read with swin_context_output(). */
typedef enum swin_output {
    /** Classifier logits [B, num_classes]; unavailable when the model has no head. */
    SWIN_OUTPUT_LOGITS = 0,
    /** Pooled features that feed the head [B, C]: final LayerNorm, then mean over tokens.
     *  ViT: the class token after the final norm (global_pool token), or the mean of the patch
     *  tokens followed by fc_norm (global_pool avg); a distilled DeiT (with head_dist): the
     *  mean of its class and distillation tokens after the final norm, as timm's pre_logits. */
    SWIN_OUTPUT_FEATURES = 1,
    /** Output of stage `index` after its blocks, before the final norm: [B, H_s, W_s, C_s].
     *  ViT has one stage: the last block's patch tokens [B, H/p, W/p, D], class token dropped. */
    SWIN_OUTPUT_STAGE = 2,
    /** transformers' ViTModel pooler, tanh(dense(final-norm class token)) [B, D]; only for a
     *  model whose file holds pooler weights (swin_model_get(model, "pooler") is "1"). */
    SWIN_OUTPUT_POOLER = 3,
    /** The token map, the last hidden state after the final norm (timm's forward_features):
     *  ViT [B, T, D], the prefix tokens (class, distillation) first, then the patch tokens in
     *  row-major order; Swin [B, H*W, C] of the last stage. For dense tasks on patch tokens. A
     *  model whose final norm comes after pooling (timm's fc_norm) gives the tokens unnormed. */
    SWIN_OUTPUT_TOKENS = 4
} swin_output;

/** A loaded model: weights and resolved architecture. Immutable, shareable between threads. */
typedef struct swin_model swin_model;
/** Activation memory for running one model; one thread at a time. */
typedef struct swin_context swin_context;
/** A float32 row-major tensor of 1 to SWIN_MAX_DIMS dimensions, owned or wrapping memory. */
typedef struct swin_tensor swin_tensor;
/** Explicit architecture and preprocessing settings (key = value strings). */
typedef struct swin_options swin_options;
/** A decoded 8-bit RGB image, owned or wrapping caller pixels. */
typedef struct swin_image swin_image;

/* ---------------------------------------------------------------------------------------------
 * Version and errors
 * ------------------------------------------------------------------------------------------- */

/**
 * Version of the library actually linked, to compare with the header's SWIN_VERSION_NUMBER.
 * @return major * 10000 + minor * 100 + patch. Thread-safe.
 */
SWIN_API unsigned swin_version_number(void);
/**
 * Version string of the library actually linked.
 * @return "major.minor.patch", static storage. Thread-safe.
 */
SWIN_API const char *swin_version_string(void);
/**
 * The vector kernels this process runs (LayerNorm, softmax, activations, residual adds; every
 * matrix product is OpenBLAS's): "avx512", "avx2" (with FMA), "neon" (AArch64) or "scalar".
 * Chosen once, at first use, as the best path the CPU has; the environment variable SWIN_ISA
 * (one of those names) forces one. When SWIN_ISA names no path, or one this CPU cannot run,
 * this returns the path in use anyway, and every model load fails with SWIN_ERR_CONFIG or
 * SWIN_ERR_UNSUPPORTED and a message that says so (docs/performance.md).
 * @return a static string. Thread-safe.
 */
SWIN_API const char *swin_kernel_isa(void);

/**
 * Name of a status.
 * @param status any value.
 * @return a static string such as "SWIN_ERR_SHAPE"; "SWIN_ERR_UNKNOWN" for values not listed.
 * Thread-safe.
 */
SWIN_API const char *swin_status_string(swin_status status);

/**
 * Message of the last failing call in this thread.
 * @return never NULL ("" when none). The text stays until another call in this thread fails
 * (successful calls leave it) or swin_clear_error(); copy it before then if you keep it. The
 * pointer itself is valid for the thread's life. Thread-local, allocation-free.
 */
SWIN_API const char *swin_last_error(void);

/** Empties this thread's message. Thread-local. */
SWIN_API void swin_clear_error(void);

/**
 * Sets the default number of threads a context runs a model on (its own worker threads plus
 * the calling thread). Process-global; a context picks the value up at its next reserve or run,
 * unless swin_context_set_num_threads() gave it its own. Default: the environment variable
 * SWIN_NUM_THREADS (1..1024), else the number of online processors (at most 64).
 * libswin parallelises itself and calls OpenBLAS single-threaded: the first reserve or run in
 * a process sets OpenBLAS's own thread count to 1. OpenBLAS's idle threads still spin for a
 * while after the library is loaded and slow a pass that starts then; OPENBLAS_NUM_THREADS=1
 * in the environment keeps them from starting (docs/threading.md).
 * @param n threads, 1..1024.
 * @return SWIN_OK, SWIN_ERR_INVALID_ARGUMENT (n outside 1..1024).
 */
SWIN_API swin_status swin_set_num_threads(int n);

/**
 * The default number of threads for contexts (process-global).
 * @return swin_set_num_threads's value, else SWIN_NUM_THREADS, else the number of online
 * processors (at most 64).
 */
SWIN_API int swin_get_num_threads(void);

/* ---------------------------------------------------------------------------------------------
 * Options: explicit architecture and preprocessing settings (key = value strings). They take
 * precedence over a hub folder's config.json, which takes precedence over the file's metadata,
 * then over the timm architecture named by "arch" (libswin carries timm's table of every
 * vit_*, deit*, swin*, swinv2*, eva* architecture), then over what the tensors tell.
 * The keys are those of the model families (their timm constructor arguments among them) and
 * of the preprocessing: swin_option_count() and swin_option_info() list them with what they
 * do; docs/weights.md and docs/vit.md explain them. "arch" is a timm architecture name
 * (swin_arch_info() lists them and whether libswin runs each) or a family: "swin", "vit",
 * "vit_postnorm".
 * ------------------------------------------------------------------------------------------- */

/**
 * Number of option keys libswin knows (every family's and the preprocessing's). Thread-safe.
 * @return the count.
 */
SWIN_API size_t swin_option_count(void);

/**
 * One option key. Any out pointer may be NULL; the strings are static. Thread-safe.
 * @param i           0 <= i < swin_option_count().
 * @param key         receives the key.
 * @param family      receives the family that declares it first ("all" for the common keys).
 * @param description receives what it sets.
 * @return SWIN_OK, SWIN_ERR_INVALID_ARGUMENT (i out of range).
 */
SWIN_API swin_status swin_option_info(size_t i, const char **key, const char **family,
                                      const char **description);

/**
 * Number of timm architecture names libswin knows (timm's registry for vit_*, deit*, swin*,
 * swinv2*, eva*, generated from timm's source). Thread-safe.
 * @return the count.
 */
SWIN_API size_t swin_arch_count(void);

/**
 * One timm architecture, in name order. Any out pointer may be NULL. Thread-safe.
 * @param i          0 <= i < swin_arch_count().
 * @param name       receives its name (static).
 * @param family     receives the family that computes it, or "" when none does (static).
 * @param pretrained receives 1 when timm publishes weights for it, else 0.
 * @param missing    receives NULL when libswin runs it; else what it needs that libswin does
 *                   not support yet. Thread-local: valid until the next call in this thread.
 * @return SWIN_OK, SWIN_ERR_INVALID_ARGUMENT (i out of range).
 */
SWIN_API swin_status swin_arch_info(size_t i, const char **name, const char **family,
                                    int *pretrained, const char **missing);

/**
 * Creates an empty options set, owned by the caller (free with swin_options_free).
 * @param out receives the options; NULL on failure.
 * @return SWIN_OK, SWIN_ERR_INVALID_ARGUMENT (out NULL), SWIN_ERR_OUT_OF_MEMORY.
 */
SWIN_API swin_status swin_options_create(swin_options **out);

/**
 * Sets key to value (both copied; a later set of the same key replaces it). The value is
 * checked for its syntax here and for consistency at load. At most 256 keys.
 * @param opts  the options set.
 * @param key   one of swin_option_info()'s keys.
 * @param value its value as text.
 * @return SWIN_OK, SWIN_ERR_INVALID_ARGUMENT (NULL argument), SWIN_ERR_CONFIG (unknown key or
 * malformed value), SWIN_ERR_OUT_OF_MEMORY.
 */
SWIN_API swin_status swin_options_set(swin_options *opts, const char *key, const char *value);

/**
 * Frees an options set.
 * @param opts the options set; NULL is a no-op.
 */
SWIN_API void swin_options_free(swin_options *opts);

/* ---------------------------------------------------------------------------------------------
 * Models
 * ------------------------------------------------------------------------------------------- */

/**
 * Loads a .safetensors file, or a Hugging Face folder holding model.safetensors and
 * config.json as timm saves it (architecture, num_classes, global_pool, model_args,
 * pretrained_cfg, label_names) or as transformers saves it (model_type, architectures, the
 * config's fields, id2label; and preprocessor_config.json); the caller's opts override it.
 * Tensor names may follow timm, the official Swin release, transformers or the post-norm ViT's
 * PyTorch modules (docs/weights.md: the layout is recognised, swin_model_get "naming"). The
 * file is memory-mapped; aligned F32 tensors are used in place, F16 and BF16 are converted to
 * float32 at load, separate q/k/v tensors are stacked into one matrix. Every tensor of the file
 * must be used by the architecture. The model is owned by the caller (free with
 * swin_model_free).
 * @param out  receives the model; NULL on failure.
 * @param path the file or folder.
 * @param opts explicit settings, or NULL. The model does not keep opts.
 * @return SWIN_OK or: SWIN_ERR_INVALID_ARGUMENT, SWIN_ERR_IO, SWIN_ERR_TRUNCATED,
 * SWIN_ERR_HEADER, SWIN_ERR_OFFSETS, SWIN_ERR_DTYPE, SWIN_ERR_SHAPE, SWIN_ERR_MISSING_TENSOR,
 * SWIN_ERR_CONFIG, SWIN_ERR_BUFFER_MISMATCH, SWIN_ERR_FORMAT (a malformed config.json),
 * SWIN_ERR_UNSUPPORTED (an architecture, layout or setting libswin does not compute yet, named
 * in the message), SWIN_ERR_OUT_OF_MEMORY.
 * Thread-safe (different calls may load concurrently).
 */
SWIN_API swin_status swin_model_load_file(swin_model **out, const char *path,
                                          const swin_options *opts);

/**
 * As swin_model_load_file, from safetensors bytes in memory.
 * @param out  receives the model; NULL on failure.
 * @param data the bytes, borrowed: they must stay valid and unchanged until swin_model_free().
 * @param size their size.
 * @param opts explicit settings, or NULL. The model does not keep opts.
 * @return as swin_model_load_file. Thread-safe.
 */
SWIN_API swin_status swin_model_load_memory(swin_model **out, const void *data, size_t size,
                                            const swin_options *opts);

/**
 * Frees a model and unmaps its file. No context of it may be in use.
 * @param model the model; NULL is a no-op.
 */
SWIN_API void swin_model_free(swin_model *model);

/**
 * Resolved architecture value for key. Thread-safe.
 * @param model the model.
 * @param key   a key of swin_options, or "family" ("swin", "swinv2", "swinv2_cr", "vit" or
 *              "vit_postnorm"), "naming" (the checkpoint layout: "timm", "official", "transformers"
 * or "pytorch"), "pooler" ("1" when SWIN_OUTPUT_POOLER exists).
 * @return the value as a string owned by the model (valid until swin_model_free), or NULL for
 * an unknown key or a NULL argument.
 */
SWIN_API const char *swin_model_get(const swin_model *model, const char *key);

/**
 * Number of entries of the model's resolved configuration (family, arch, naming, the
 * architecture's values, the preprocessing), in the order swin info prints them. Thread-safe.
 * @param model the model.
 * @return the count; 0 for NULL.
 */
SWIN_API size_t swin_model_config_count(const swin_model *model);

/**
 * One entry of the model's resolved configuration. Any out pointer may be NULL; the strings
 * are owned by the model (valid until swin_model_free). Thread-safe.
 * @param model the model.
 * @param i     0 <= i < swin_model_config_count(model).
 * @param key   receives the key.
 * @param value receives its value.
 * @return SWIN_OK, SWIN_ERR_INVALID_ARGUMENT.
 */
SWIN_API swin_status swin_model_config_item(const swin_model *model, size_t i, const char **key,
                                            const char **value);

/**
 * Name of a class: from config.json's label_names, else the ImageNet-1k names for a
 * 1000-class model. Thread-safe.
 * @param model the model.
 * @param index the class, 0..num_classes-1.
 * @return the name, owned by the model (or static), or NULL when there is none.
 */
SWIN_API const char *swin_model_label(const swin_model *model, int64_t index);

/**
 * Side of the square input the model's preprocessing produces. Thread-safe.
 * @param model the model.
 * @return S (pretrained_cfg input_size, else img_size); 0 for NULL.
 */
SWIN_API int64_t swin_model_input_size(const swin_model *model);

/**
 * Number of classes of the head. Thread-safe.
 * @param model the model.
 * @return the classes; 0 when the file has no head, or for NULL.
 */
SWIN_API int64_t swin_model_num_classes(const swin_model *model);
/**
 * Number of stages. Thread-safe.
 * @param model the model.
 * @return the stages (1 for ViT); 0 for NULL.
 */
SWIN_API int swin_model_num_stages(const swin_model *model);
/**
 * Parameters the architecture uses (weights and biases; not the buffers). Thread-safe.
 * @param model the model.
 * @return the count; 0 for NULL.
 */
SWIN_API int64_t swin_model_num_params(const swin_model *model);

/**
 * Shape facts of a stage at the model's img_size. Any out pointer may be NULL. Thread-safe.
 * @param model    the model.
 * @param stage    the stage, 0..num_stages-1.
 * @param depth    receives its number of blocks.
 * @param heads    receives its attention heads.
 * @param channels receives its channels.
 * @param height   receives its token grid height.
 * @param width    receives its token grid width.
 * @param window   receives its effective window size (0 for ViT).
 * @return SWIN_OK, SWIN_ERR_INVALID_ARGUMENT (NULL model or stage out of range).
 */
SWIN_API swin_status swin_model_stage_dims(const swin_model *model, int stage, int64_t *depth,
                                           int64_t *heads, int64_t *channels, int64_t *height,
                                           int64_t *width, int64_t *window);

/**
 * Floating-point operations, counted as multiply-accumulates like the Swin paper (4.5 G for
 * Swin-T), for one image at the model's img_size. stage = -1 is the whole model (patch
 * embedding and head included); 0..num_stages-1 one stage (its blocks and its PatchMerging).
 * *flops is with windowed attention (W-MSA); *flops_global is the same stage if its attention
 * were global (MSA, 4hwC^2 + 2(hw)^2C instead of 4hwC^2 + 2M^2hwC).
 * ViT: one stage of global attention, 4NC^2 + 2N^2C + 2NCF per block over N tokens (class
 * token included), so *flops == *flops_global; swin_model_stage_dims reports window 0.
 * Thread-safe.
 * @param model        the model.
 * @param stage        -1, or a stage.
 * @param flops        receives the count with windowed attention; may be NULL.
 * @param flops_global receives the count with global attention; may be NULL.
 * @return SWIN_OK, SWIN_ERR_INVALID_ARGUMENT.
 */
SWIN_API swin_status swin_model_flops(const swin_model *model, int stage, double *flops,
                                      double *flops_global);

/**
 * Number of tensors in the model's file (all of them, used or not). Thread-safe.
 * @param model the model.
 * @return the count; 0 for NULL.
 */
SWIN_API size_t swin_model_num_tensors(const swin_model *model);

/**
 * Facts of one of the file's tensors, in file order. Pointers are owned by the model (valid
 * until swin_model_free). Any out pointer may be NULL. Thread-safe.
 * @param model the model.
 * @param i     the tensor, 0 <= i < swin_model_num_tensors(model).
 * @param name  receives its name.
 * @param dtype receives its safetensors dtype ("F32", "F16", "BF16", ...).
 * @param ndim  receives its number of dimensions.
 * @param shape receives its shape (ndim values).
 * @return SWIN_OK, SWIN_ERR_INVALID_ARGUMENT.
 */
SWIN_API swin_status swin_model_tensor_info(const swin_model *model, size_t i, const char **name,
                                            const char **dtype, int *ndim, const int64_t **shape);

/* ---------------------------------------------------------------------------------------------
 * Tensors (float32, row-major, at most 8 dimensions)
 * ------------------------------------------------------------------------------------------- */

/** Most dimensions a swin_tensor has. */
#define SWIN_MAX_DIMS 8

/**
 * Allocates a zero-filled tensor, owned by the caller (free with swin_tensor_free).
 * @param out   receives the tensor; NULL on failure.
 * @param ndim  1..SWIN_MAX_DIMS.
 * @param shape ndim sizes, each >= 1.
 * @return SWIN_OK, SWIN_ERR_INVALID_ARGUMENT (bad ndim or shape, size overflow),
 * SWIN_ERR_OUT_OF_MEMORY.
 */
SWIN_API swin_status swin_tensor_create(swin_tensor **out, int ndim, const int64_t *shape);

/**
 * Wraps caller memory without copying. The tensor handle is owned by the caller (free with
 * swin_tensor_free, which leaves data alone).
 * @param out   receives the tensor; NULL on failure.
 * @param data  numel floats, borrowed: they must outlive the tensor.
 * @param ndim  1..SWIN_MAX_DIMS.
 * @param shape ndim sizes, each >= 1.
 * @return as swin_tensor_create.
 */
SWIN_API swin_status swin_tensor_wrap(swin_tensor **out, float *data, int ndim,
                                      const int64_t *shape);

/**
 * Frees a tensor (not wrapped memory).
 * @param tensor the tensor; NULL is a no-op. Not for the borrowed outputs of a context.
 */
SWIN_API void swin_tensor_free(swin_tensor *tensor);

/**
 * Data pointer.
 * @param tensor the tensor.
 * @return its numel floats, row-major (valid as long as the tensor); NULL for NULL.
 */
SWIN_API float *swin_tensor_data(const swin_tensor *tensor);
/**
 * Number of dimensions.
 * @param tensor the tensor.
 * @return 1..SWIN_MAX_DIMS; 0 for NULL.
 */
SWIN_API int swin_tensor_ndim(const swin_tensor *tensor);
/**
 * Size of a dimension.
 * @param tensor the tensor.
 * @param i      the dimension, 0..ndim-1.
 * @return its size, or 0 when i is out of range or tensor is NULL.
 */
SWIN_API int64_t swin_tensor_dim(const swin_tensor *tensor, int i);
/**
 * Number of elements.
 * @param tensor the tensor.
 * @return the product of the sizes; 0 for NULL.
 */
SWIN_API int64_t swin_tensor_numel(const swin_tensor *tensor);

/**
 * Reads a NumPy .npy file (format 1.0, 2.0 or 3.0) holding float32 ('<f4', or big-endian '>f4',
 * byte-swapped on reading), C order, 1 to 8 dimensions, into a new tensor owned by the caller.
 * The header must be the dict numpy writes: the keys 'descr', 'fortran_order' and 'shape', each
 * exactly once, and no other. Non-regular files (a FIFO) are refused at once. Thread-safe.
 * @param out  receives the tensor; NULL on failure.
 * @param path the file.
 * @return SWIN_OK, SWIN_ERR_INVALID_ARGUMENT, SWIN_ERR_IO, SWIN_ERR_FORMAT (bad magic, header,
 * dtype, Fortran order, size), SWIN_ERR_TRUNCATED, SWIN_ERR_OUT_OF_MEMORY.
 */
SWIN_API swin_status swin_tensor_load_npy(swin_tensor **out, const char *path);

/**
 * Writes a tensor as a .npy file (format 1.0, '<f4', C order), atomically: into a temporary
 * file in path's folder, flushed to disk, then renamed over path. On any failure (a full disk,
 * a file-size limit) the temporary is removed and path is left as it was; the message gives
 * the reason ("No space left on device"). A replaced file gets the default permissions of a
 * new one.
 * @param tensor the tensor (a context's output too).
 * @param path   the file, created or replaced.
 * @return SWIN_OK, SWIN_ERR_INVALID_ARGUMENT, SWIN_ERR_IO.
 */
SWIN_API swin_status swin_tensor_save_npy(const swin_tensor *tensor, const char *path);

/* ---------------------------------------------------------------------------------------------
 * Contexts: running a model
 * ------------------------------------------------------------------------------------------- */

/**
 * Creates a context for a model, owned by the caller (free with swin_context_free).
 * Allocates nothing large until swin_context_reserve or the first run. Any number of
 * contexts may run one model at the same time, each in its own thread.
 * @param out   receives the context; NULL on failure.
 * @param model the model, which must outlive the context.
 * @return SWIN_OK, SWIN_ERR_INVALID_ARGUMENT, SWIN_ERR_OUT_OF_MEMORY.
 */
SWIN_API swin_status swin_context_create(swin_context **out, const swin_model *model);

/**
 * Frees a context and its outputs.
 * @param ctx the context; NULL is a no-op.
 */
SWIN_API void swin_context_free(swin_context *ctx);

/**
 * Plans and allocates the activation memory for inputs of [batch, in_chans, height, width].
 * swin_context_run does this by itself when the input shape changes; calling it first keeps
 * allocation out of the first run and reports an unfit size early. Invalidates the outputs.
 * @param ctx    the context.
 * @param batch  B >= 1.
 * @param height H of the input.
 * @param width  W of the input.
 * @return SWIN_OK, SWIN_ERR_INVALID_ARGUMENT, SWIN_ERR_INPUT_SIZE (not divisible by the patch
 * size, a stage whose effective window does not match the weights, or a ViT input whose token
 * count does not fit pos_embed), SWIN_ERR_OUT_OF_MEMORY.
 */
SWIN_API swin_status swin_context_reserve(swin_context *ctx, int64_t batch, int64_t height,
                                          int64_t width);

/**
 * Bytes of activation memory the context holds now.
 * @param ctx the context.
 * @return the size of its arena; 0 for NULL or before the first plan.
 */
SWIN_API size_t swin_context_memory_bytes(const swin_context *ctx);

/**
 * Sets the number of threads this context runs on (its workers plus the calling thread),
 * overriding swin_set_num_threads(). Takes effect at the next reserve or run, which then starts
 * the workers; a worker that cannot be started leaves a smaller pool, not an error. Results do
 * not depend on the thread count. Several contexts running at once should together use no more
 * threads than there are cores (e.g. 1 each when every core runs its own context).
 * @param ctx the context.
 * @param n   1..1024 threads, or 0 to follow swin_set_num_threads().
 * @return SWIN_OK, SWIN_ERR_INVALID_ARGUMENT (NULL, n outside 0..1024).
 */
SWIN_API swin_status swin_context_set_num_threads(swin_context *ctx, int n);

/**
 * Runs the model on an input. Outputs are then read with swin_context_output(). Allocates only
 * when the input shape differs from the last plan.
 * @param ctx   the context (one thread at a time).
 * @param input [B, in_chans, H, W] (NCHW float32), read only during the call.
 * @return SWIN_OK, SWIN_ERR_INVALID_ARGUMENT (NULL, wrong ndim or channels),
 * SWIN_ERR_INPUT_SIZE, SWIN_ERR_OUT_OF_MEMORY.
 */
SWIN_API swin_status swin_context_run(swin_context *ctx, const swin_tensor *input);

/**
 * Borrowed view of an output of the last run, owned by the context and valid until the next
 * run, reserve or free of the context. Do not free it.
 * @param ctx   the context.
 * @param kind  which output.
 * @param index the stage for SWIN_OUTPUT_STAGE (0..num_stages-1); ignored otherwise.
 * @param out   receives the view.
 * @return SWIN_OK, SWIN_ERR_INVALID_ARGUMENT (NULL, no run yet, bad kind or index, logits of a
 * model without head, the pooler of a model without one).
 */
SWIN_API swin_status swin_context_output(swin_context *ctx, swin_output kind, int index,
                                         const swin_tensor **out);

/**
 * The k most probable classes of one input of the last run: a softmax over its logits
 * (max-subtracted, in double), sorted by probability, ties to the lower class index. What
 * classifying an image needs, so that no caller writes it again.
 * @param ctx         a context that has run a model with a classifier head.
 * @param batch_index the input within the last run's batch, 0 .. B-1.
 * @param k           how many, 1 .. num_classes.
 * @param classes     receives k class indices (swin_model_label() names them).
 * @param probs       receives their k probabilities (in [0, 1]; NaN when the logits are not
 *                    finite); may be NULL.
 * @return SWIN_OK, SWIN_ERR_INVALID_ARGUMENT (NULL, no run yet, no head, index or k out of
 * range), SWIN_ERR_BUSY.
 */
SWIN_API swin_status swin_context_topk(swin_context *ctx, int64_t batch_index, int64_t k,
                                       int64_t *classes, float *probs);

/* ---------------------------------------------------------------------------------------------
 * Images: decoding and timm's evaluation preprocessing
 * ------------------------------------------------------------------------------------------- */

/**
 * Decodes a JPEG (libjpeg-turbo) or PNG (libpng) file to 8-bit RGB, as PIL's
 * Image.open(path).convert("RGB"): grayscale and palette images are expanded, alpha is dropped
 * (not composited), 16-bit channels keep their high byte; EXIF orientation is not applied
 * (timm's loader does not apply it either). The image is owned by the caller (free with
 * swin_image_free). Thread-safe.
 * @param out  receives the image; NULL on failure.
 * @param path the file.
 * @return SWIN_OK, SWIN_ERR_INVALID_ARGUMENT, SWIN_ERR_IO, SWIN_ERR_FORMAT (not JPEG/PNG,
 * corrupt, larger than 178956970 pixels), SWIN_ERR_TRUNCATED, SWIN_ERR_OUT_OF_MEMORY. CMYK and
 * YCCK JPEGs are decoded and converted to RGB as PIL converts them.
 */
SWIN_API swin_status swin_image_load_file(swin_image **out, const char *path);

/**
 * As swin_image_load_file, from encoded bytes in memory. Thread-safe.
 * @param out  receives the image; NULL on failure.
 * @param data the encoded file, read during the call only (the pixels are decoded into the
 *             image).
 * @param size its size in bytes.
 * @return as swin_image_load_file, without SWIN_ERR_IO.
 */
SWIN_API swin_status swin_image_load_memory(swin_image **out, const void *data, size_t size);

/**
 * Wraps caller-decoded pixels without copying. The image handle is owned by the caller (free
 * with swin_image_free, which leaves the pixels alone).
 * @param out    receives the image; NULL on failure.
 * @param pixels RGB8 interleaved rows, borrowed: they must outlive the image and are never
 *               written.
 * @param width  pixels per row, >= 1.
 * @param height rows, >= 1.
 * @param stride bytes from one row to the next, >= 3 * width.
 * @return SWIN_OK, SWIN_ERR_INVALID_ARGUMENT, SWIN_ERR_OUT_OF_MEMORY.
 */
SWIN_API swin_status swin_image_wrap_rgb8(swin_image **out, const uint8_t *pixels, int64_t width,
                                          int64_t height, int64_t stride);

/** The pixel layouts swin_image_wrap() takes: 8 bits per channel, interleaved. */
typedef enum swin_pixel_format {
    SWIN_PIXEL_RGB8 = 0,  /**< R, G, B */
    SWIN_PIXEL_BGR8 = 1,  /**< B, G, R (OpenCV's default) */
    SWIN_PIXEL_RGBA8 = 2, /**< R, G, B, A: alpha dropped, as PIL's convert("RGB") does */
    SWIN_PIXEL_BGRA8 = 3, /**< B, G, R, A: alpha dropped */
    SWIN_PIXEL_GRAY8 = 4  /**< one channel, copied to R, G and B (PIL's L -> RGB) */
} swin_pixel_format;

/**
 * An image from caller-decoded pixels of any of the swin_pixel_format layouts, converted to
 * RGB8 into memory of the image's own (the caller's pixels may be freed right after). The image
 * is owned by the caller (free with swin_image_free). Thread-safe.
 * @param out          receives the image; NULL on failure.
 * @param pixels       height rows of width pixels each, read only.
 * @param width        pixels per row, >= 1.
 * @param height       rows, >= 1 (width * height at most 178956970, as decoded files).
 * @param stride_bytes bytes from one row to the next, >= width * the format's bytes per pixel.
 * @param format       the layout.
 * @return SWIN_OK, SWIN_ERR_INVALID_ARGUMENT (NULL, sizes, stride or format),
 * SWIN_ERR_OUT_OF_MEMORY.
 */
SWIN_API swin_status swin_image_wrap(swin_image **out, const uint8_t *pixels, int64_t width,
                                     int64_t height, int64_t stride_bytes,
                                     swin_pixel_format format);

/**
 * Writes an image into one slot of a batch with the model's evaluation transform: timm's, as
 * PIL + torchvision compute it (resize the shorter side to floor(S / crop_pct) with the model's
 * interpolation, PIL's antialiased resampling; center crop S x S; scale to [0, 1]; normalise
 * with the model's mean and std), or for a transformers folder its image processor's, as
 * transformers computes it (docs/preprocessing.md). Thread-safe for different batches.
 * @param image the image.
 * @param model the model whose preprocessing settings apply.
 * @param batch [B, 3, S, S] with S = swin_model_input_size(model).
 * @param index the slot, 0..B-1; the other slots are left alone.
 * @return SWIN_OK, SWIN_ERR_INVALID_ARGUMENT (NULL, batch shape, index), SWIN_ERR_CONFIG,
 * SWIN_ERR_UNSUPPORTED (timm's crop_mode squash or border, not computed yet),
 * SWIN_ERR_OUT_OF_MEMORY.
 */
SWIN_API swin_status swin_image_preprocess(const swin_image *image, const swin_model *model,
                                           swin_tensor *batch, int64_t index);

/**
 * Frees an image (not wrapped pixels).
 * @param image the image; NULL is a no-op.
 */
SWIN_API void swin_image_free(swin_image *image);
/**
 * Width of an image.
 * @param image the image.
 * @return width in pixels; 0 for NULL.
 */
SWIN_API int64_t swin_image_width(const swin_image *image);
/**
 * Height of an image.
 * @param image the image.
 * @return height in pixels; 0 for NULL.
 */
SWIN_API int64_t swin_image_height(const swin_image *image);
/**
 * Pixels of an image.
 * @param image  the image.
 * @param stride receives the row length in bytes; may be NULL.
 * @return the RGB8 rows, owned by the image (or the caller's, when wrapped); NULL for NULL.
 */
SWIN_API const uint8_t *swin_image_pixels(const swin_image *image, int64_t *stride);

#ifdef __cplusplus
}
#endif

#endif /* SWIN_SWIN_H */
