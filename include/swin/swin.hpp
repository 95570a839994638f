/**
 * @file swin.hpp
 * @brief libswin for C++17: RAII handles and exceptions over the C API of swin.h.
 *
 * Header-only; it adds no symbols to the library and no ABI of its own: everything here is
 * inline code that calls swin.h, whose documentation (statuses, ownership, thread safety)
 * applies unchanged.
 *
 * Objects
 *   swin::Options, swin::Model, swin::Context, swin::Tensor, swin::Image own one C handle each:
 *   move-only, freed by their (noexcept) destructors. A moved-from object holds nothing; only
 *   destroying it or assigning to it is meaningful. handle() gives the C handle, still owned by
 *   the object, for calls this header does not wrap. As in C, a Model must outlive its Contexts
 *   and the bytes given to Model::load_memory, and a Tensor::wrap'ed buffer the Tensor.
 *   swin::TensorView is a borrowed, non-owning view (a context's outputs).
 *
 * Errors
 *   Every call that fails in C throws swin::Error, which carries the swin_status (status())
 *   and the message of swin_last_error() at the time of the failure (what()). Calls that
 *   cannot fail in C are noexcept; std::bad_alloc may come from the std::string and
 *   std::vector results. No exception ever crosses into libswin: the library calls nothing
 *   of the caller's.
 *
 * Example
 * @code
 *   swin::Model model = swin::Model::load_file("examples/shapes");   // a file or a hub folder
 *   swin::Context ctx(model);
 *   swin::Tensor batch = swin::Image::load_file("cat.png").preprocess(model);  // [1, 3, S, S]
 *   ctx.run(batch);
 *   for (const swin::Prediction &p : ctx.topk(0, 5))
 *       std::cout << model.label(p.index).value_or("?") << " " << p.prob << "\n";
 * @endcode
 */
#ifndef SWIN_SWIN_HPP
#define SWIN_SWIN_HPP

#if !defined(__cplusplus) || __cplusplus < 201703L
#error "swin/swin.hpp needs C++17 (C and older C++ use swin/swin.h)"
#endif

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "swin.h"

/** The C++ layer over swin.h. */
namespace swin {

/** A failed libswin call: its status and the message swin_last_error() gave for it. */
class Error : public std::runtime_error {
  public:
    /**
     * @param status  the call's status (not SWIN_OK).
     * @param message what went wrong (swin_last_error()'s text).
     */
    Error(swin_status status, const std::string &message)
        : std::runtime_error(message), status_(status) {}
    /** @return the status the C call returned. */
    swin_status status() const noexcept {
        return status_;
    }

  private:
    swin_status status_;
};

/** @cond detail */
namespace detail {
/** Throws Error for a failed status, with this thread's message. */
inline void check(swin_status status) {
    if (status != SWIN_OK) throw Error(status, swin_last_error());
}
/** unique_ptr deleter calling a swin_*_free function (each accepts NULL, none throws). */
template <class T, void (*Free)(T *)> struct Deleter {
    void operator()(T *p) const noexcept {
        Free(p);
    }
};
template <class T, void (*Free)(T *)> using Owned = std::unique_ptr<T, Deleter<T, Free>>;
/** A shape's rank for C: sizes beyond SWIN_MAX_DIMS stay invalid instead of wrapping. */
inline int rank(const std::vector<int64_t> &shape) noexcept {
    return shape.size() > SWIN_MAX_DIMS ? SWIN_MAX_DIMS + 1 : static_cast<int>(shape.size());
}
} // namespace detail
/** @endcond */

/** Version of the library actually linked ("major.minor.patch"). */
inline std::string version() {
    return swin_version_string();
}

/**
 * Sets the default number of threads of contexts (process-global; swin_set_num_threads).
 * @param n 1..1024. @throws Error SWIN_ERR_INVALID_ARGUMENT.
 */
inline void set_num_threads(int n) {
    detail::check(swin_set_num_threads(n));
}

/** Explicit architecture and preprocessing settings (swin_options). */
class Options {
  public:
    /** An empty set. @throws Error SWIN_ERR_OUT_OF_MEMORY. */
    Options() {
        swin_options *o = nullptr;
        detail::check(swin_options_create(&o));
        p_.reset(o);
    }
    /**
     * Sets key to value (swin_options_set).
     * @return *this, to chain settings.
     * @throws Error SWIN_ERR_CONFIG (unknown key, malformed value), SWIN_ERR_OUT_OF_MEMORY.
     */
    Options &set(const std::string &key, const std::string &value) {
        detail::check(swin_options_set(p_.get(), key.c_str(), value.c_str()));
        return *this;
    }
    /** @return the C handle, owned by this object. */
    swin_options *handle() const noexcept {
        return p_.get();
    }

  private:
    detail::Owned<swin_options, swin_options_free> p_;
};

/**
 * A borrowed, read-only view of a float32 row-major tensor: a context's output (valid until
 * that context's next run, reserve or destruction) or a Tensor's view().
 */
class TensorView {
  public:
    /** @param t the tensor viewed, not owned. */
    explicit TensorView(const swin_tensor *t) noexcept : t_(t) {}
    /** @return the numel() floats, row-major. */
    const float *data() const noexcept {
        return swin_tensor_data(t_);
    }
    /** @return the number of dimensions, 1..SWIN_MAX_DIMS. */
    int ndim() const noexcept {
        return swin_tensor_ndim(t_);
    }
    /** @param i a dimension, 0..ndim()-1. @return its size (0 when out of range). */
    int64_t dim(int i) const noexcept {
        return swin_tensor_dim(t_, i);
    }
    /** @return the number of elements. */
    int64_t numel() const noexcept {
        return swin_tensor_numel(t_);
    }
    /** @return the sizes of all dimensions. */
    std::vector<int64_t> shape() const {
        std::vector<int64_t> s(static_cast<std::size_t>(ndim()));
        for (std::size_t i = 0; i < s.size(); i++)
            s[i] = dim(static_cast<int>(i));
        return s;
    }
    /** Writes the tensor as a .npy file, atomically (swin_tensor_save_npy). @throws Error. */
    void save_npy(const std::string &path) const {
        detail::check(swin_tensor_save_npy(t_, path.c_str()));
    }
    /** @return the C handle viewed. */
    const swin_tensor *handle() const noexcept {
        return t_;
    }

  private:
    const swin_tensor *t_;
};

/** An owned float32 row-major tensor of 1 to SWIN_MAX_DIMS dimensions (swin_tensor). */
class Tensor {
  public:
    /**
     * A zero-filled tensor (swin_tensor_create).
     * @param shape 1..SWIN_MAX_DIMS sizes, each >= 1.
     * @throws Error SWIN_ERR_INVALID_ARGUMENT, SWIN_ERR_OUT_OF_MEMORY.
     */
    explicit Tensor(const std::vector<int64_t> &shape) {
        swin_tensor *t = nullptr;
        detail::check(swin_tensor_create(&t, detail::rank(shape), shape.data()));
        p_.reset(t);
    }
    /**
     * Wraps caller memory without copying (swin_tensor_wrap).
     * @param data  the product of shape floats, borrowed: they must outlive the tensor.
     * @param shape 1..SWIN_MAX_DIMS sizes, each >= 1.
     * @throws Error SWIN_ERR_INVALID_ARGUMENT, SWIN_ERR_OUT_OF_MEMORY.
     */
    static Tensor wrap(float *data, const std::vector<int64_t> &shape) {
        swin_tensor *t = nullptr;
        detail::check(swin_tensor_wrap(&t, data, detail::rank(shape), shape.data()));
        return Tensor(t);
    }
    /**
     * Reads a float32 .npy file (swin_tensor_load_npy).
     * @throws Error SWIN_ERR_IO, SWIN_ERR_FORMAT, SWIN_ERR_TRUNCATED, ...
     */
    static Tensor load_npy(const std::string &path) {
        swin_tensor *t = nullptr;
        detail::check(swin_tensor_load_npy(&t, path.c_str()));
        return Tensor(t);
    }
    /** @return the numel() floats, row-major, writable. */
    float *data() noexcept {
        return swin_tensor_data(p_.get());
    }
    /** @return the numel() floats, row-major. */
    const float *data() const noexcept {
        return swin_tensor_data(p_.get());
    }
    /** @return a read-only view, valid as long as this tensor. */
    TensorView view() const noexcept {
        return TensorView(p_.get());
    }
    /** @return the number of dimensions. */
    int ndim() const noexcept {
        return view().ndim();
    }
    /** @param i a dimension, 0..ndim()-1. @return its size (0 when out of range). */
    int64_t dim(int i) const noexcept {
        return view().dim(i);
    }
    /** @return the number of elements. */
    int64_t numel() const noexcept {
        return view().numel();
    }
    /** @return the sizes of all dimensions. */
    std::vector<int64_t> shape() const {
        return view().shape();
    }
    /** Writes the tensor as a .npy file, atomically. @throws Error. */
    void save_npy(const std::string &path) const {
        view().save_npy(path);
    }
    /** @return the C handle, owned by this object. */
    swin_tensor *handle() const noexcept {
        return p_.get();
    }

  private:
    explicit Tensor(swin_tensor *t) noexcept : p_(t) {}
    detail::Owned<swin_tensor, swin_tensor_free> p_;
};

/** A loaded model: weights and resolved architecture (swin_model). Shareable between threads. */
class Model {
  public:
    /**
     * Loads a .safetensors file or a Hugging Face hub folder (swin_model_load_file).
     * @throws Error SWIN_ERR_IO (a missing file), SWIN_ERR_HEADER, SWIN_ERR_CONFIG, ...
     */
    static Model load_file(const std::string &path) {
        return load_file(path, nullptr);
    }
    /** As load_file(path), with explicit settings (not kept by the model). @throws Error. */
    static Model load_file(const std::string &path, const Options &opts) {
        return load_file(path, opts.handle());
    }
    /**
     * Loads safetensors bytes in memory (swin_model_load_memory).
     * @param data the bytes, borrowed: valid and unchanged until the model is destroyed.
     * @param size their size.
     * @throws Error as load_file.
     */
    static Model load_memory(const void *data, std::size_t size) {
        return load_memory(data, size, nullptr);
    }
    /** As load_memory(data, size), with explicit settings. @throws Error. */
    static Model load_memory(const void *data, std::size_t size, const Options &opts) {
        return load_memory(data, size, opts.handle());
    }

    /**
     * A resolved architecture or preprocessing value (swin_model_get): an option key, "family",
     * "naming", "pooler".
     * @return the value; std::nullopt for an unknown key.
     */
    std::optional<std::string> get(const std::string &key) const {
        const char *v = swin_model_get(p_.get(), key.c_str());
        return v ? std::optional<std::string>(v) : std::nullopt;
    }
    /** @return the number of classes of the head; 0 when the model has none. */
    int64_t num_classes() const noexcept {
        return swin_model_num_classes(p_.get());
    }
    /**
     * Name of a class (swin_model_label).
     * @param index 0..num_classes()-1.
     * @return the name; std::nullopt when the model has none for index.
     */
    std::optional<std::string> label(int64_t index) const {
        const char *v = swin_model_label(p_.get(), index);
        return v ? std::optional<std::string>(v) : std::nullopt;
    }
    /** @return S, the side of the square input the preprocessing produces. */
    int64_t input_size() const noexcept {
        return swin_model_input_size(p_.get());
    }
    /** @return the number of stages (1 for ViT). */
    int num_stages() const noexcept {
        return swin_model_num_stages(p_.get());
    }
    /** @return the number of parameters the architecture uses. */
    int64_t num_params() const noexcept {
        return swin_model_num_params(p_.get());
    }
    /** @return the C handle, owned by this object. */
    swin_model *handle() const noexcept {
        return p_.get();
    }

  private:
    explicit Model(swin_model *m) noexcept : p_(m) {}
    static Model load_file(const std::string &path, const swin_options *opts) {
        swin_model *m = nullptr;
        detail::check(swin_model_load_file(&m, path.c_str(), opts));
        return Model(m);
    }
    static Model load_memory(const void *data, std::size_t size, const swin_options *opts) {
        swin_model *m = nullptr;
        detail::check(swin_model_load_memory(&m, data, size, opts));
        return Model(m);
    }
    detail::Owned<swin_model, swin_model_free> p_;
};

/** A decoded 8-bit RGB image (swin_image). */
class Image {
  public:
    /**
     * Decodes a JPEG or PNG file (swin_image_load_file).
     * @throws Error SWIN_ERR_IO, SWIN_ERR_FORMAT, SWIN_ERR_TRUNCATED, SWIN_ERR_OUT_OF_MEMORY.
     */
    static Image load_file(const std::string &path) {
        swin_image *i = nullptr;
        detail::check(swin_image_load_file(&i, path.c_str()));
        return Image(i);
    }
    /**
     * Decodes a JPEG or PNG file in memory, read during the call only (swin_image_load_memory).
     * @throws Error SWIN_ERR_FORMAT, SWIN_ERR_TRUNCATED, SWIN_ERR_OUT_OF_MEMORY.
     */
    static Image load_memory(const void *data, std::size_t size) {
        swin_image *i = nullptr;
        detail::check(swin_image_load_memory(&i, data, size));
        return Image(i);
    }
    /**
     * An image from decoded pixels in any swin_pixel_format, copied and converted to RGB8
     * (swin_image_wrap): the pixels may be freed right after.
     * @param pixels       height rows of width pixels, read only.
     * @param width        pixels per row, >= 1.
     * @param height       rows, >= 1.
     * @param stride_bytes bytes from one row to the next, >= width * bytes per pixel.
     * @param format       the layout (SWIN_PIXEL_BGR8 for OpenCV's images).
     * @throws Error SWIN_ERR_INVALID_ARGUMENT, SWIN_ERR_OUT_OF_MEMORY.
     */
    static Image wrap(const uint8_t *pixels, int64_t width, int64_t height, int64_t stride_bytes,
                      swin_pixel_format format = SWIN_PIXEL_RGB8) {
        swin_image *i = nullptr;
        detail::check(swin_image_wrap(&i, pixels, width, height, stride_bytes, format));
        return Image(i);
    }
    /** @return the width in pixels. */
    int64_t width() const noexcept {
        return swin_image_width(p_.get());
    }
    /** @return the height in pixels. */
    int64_t height() const noexcept {
        return swin_image_height(p_.get());
    }
    /**
     * @param stride receives the row length in bytes; may be NULL.
     * @return the RGB8 rows, owned by the image.
     */
    const uint8_t *pixels(int64_t *stride = nullptr) const noexcept {
        return swin_image_pixels(p_.get(), stride);
    }
    /**
     * Writes the image into slot index of batch with the model's evaluation transform
     * (swin_image_preprocess).
     * @param model the model whose preprocessing applies.
     * @param batch [B, 3, S, S], S = model.input_size().
     * @param index the slot, 0..B-1.
     * @throws Error SWIN_ERR_INVALID_ARGUMENT, SWIN_ERR_CONFIG, SWIN_ERR_UNSUPPORTED, ...
     */
    void preprocess(const Model &model, Tensor &batch, int64_t index) const {
        detail::check(swin_image_preprocess(p_.get(), model.handle(), batch.handle(), index));
    }
    /**
     * The image preprocessed for model as a batch of one.
     * @return a new [1, 3, S, S] tensor, S = model.input_size().
     * @throws Error as preprocess(model, batch, index).
     */
    Tensor preprocess(const Model &model) const {
        const int64_t s = model.input_size();
        Tensor batch({1, 3, s, s});
        preprocess(model, batch, 0);
        return batch;
    }
    /** @return the C handle, owned by this object. */
    swin_image *handle() const noexcept {
        return p_.get();
    }

  private:
    explicit Image(swin_image *i) noexcept : p_(i) {}
    detail::Owned<swin_image, swin_image_free> p_;
};

/** One class of Context::topk(): its index (Model::label names it) and its probability. */
struct Prediction {
    int64_t index; /**< the class, 0..num_classes-1 */
    float prob;    /**< its softmax probability, in [0, 1] */
};

/**
 * Activation memory for running one model (swin_context): one thread at a time. The model
 * must outlive the context.
 */
class Context {
  public:
    /** A context for model. @throws Error SWIN_ERR_OUT_OF_MEMORY. */
    explicit Context(const Model &model) : model_(model.handle()) {
        swin_context *c = nullptr;
        detail::check(swin_context_create(&c, model.handle()));
        p_.reset(c);
    }
    /** A temporary model would be freed while the context still uses it. */
    explicit Context(Model &&) = delete;
    /**
     * Threads this context runs on (swin_context_set_num_threads).
     * @param n 1..1024, or 0 to follow swin::set_num_threads().
     * @throws Error SWIN_ERR_INVALID_ARGUMENT, SWIN_ERR_BUSY.
     */
    void set_num_threads(int n) {
        detail::check(swin_context_set_num_threads(p_.get(), n));
    }
    /**
     * Plans and allocates for inputs of [batch, in_chans, height, width] (swin_context_reserve).
     * @throws Error SWIN_ERR_INVALID_ARGUMENT, SWIN_ERR_INPUT_SIZE, SWIN_ERR_OUT_OF_MEMORY, ...
     */
    void reserve(int64_t batch, int64_t height, int64_t width) {
        detail::check(swin_context_reserve(p_.get(), batch, height, width));
    }
    /** @return the bytes of activation memory held now. */
    std::size_t memory_bytes() const noexcept {
        return swin_context_memory_bytes(p_.get());
    }
    /**
     * Runs the model (swin_context_run).
     * @param input [B, in_chans, H, W] float32, read during the call only.
     * @throws Error SWIN_ERR_INVALID_ARGUMENT, SWIN_ERR_INPUT_SIZE, SWIN_ERR_OUT_OF_MEMORY, ...
     */
    void run(const Tensor &input) {
        detail::check(swin_context_run(p_.get(), input.handle()));
    }
    /**
     * An output of the last run (swin_context_output), borrowed: valid until the next run,
     * reserve or destruction of this context.
     * @param kind  which output.
     * @param index the stage for SWIN_OUTPUT_STAGE; ignored otherwise.
     * @throws Error SWIN_ERR_INVALID_ARGUMENT (no run yet, no such output), SWIN_ERR_BUSY.
     */
    TensorView output(swin_output kind = SWIN_OUTPUT_LOGITS, int index = 0) {
        const swin_tensor *t = nullptr;
        detail::check(swin_context_output(p_.get(), kind, index, &t));
        return TensorView(t);
    }
    /**
     * The k most probable classes of one input of the last run, most probable first
     * (swin_context_topk).
     * @param batch_index the input, 0..B-1.
     * @param k           1..num_classes.
     * @throws Error SWIN_ERR_INVALID_ARGUMENT (no run yet, no head, index or k out of range),
     * SWIN_ERR_BUSY.
     */
    std::vector<Prediction> topk(int64_t batch_index, int64_t k) {
        // libswin refuses a k outside 1..num_classes before writing anything, so the buffers
        // need no more than num_classes entries whatever k is (and an absurd k allocates nothing).
        const int64_t n =
            std::clamp<int64_t>(k, 1, std::max<int64_t>(1, swin_model_num_classes(model_)));
        std::vector<int64_t> classes(static_cast<std::size_t>(n));
        std::vector<float> probs(classes.size());
        detail::check(swin_context_topk(p_.get(), batch_index, k, classes.data(), probs.data()));
        std::vector<Prediction> top(static_cast<std::size_t>(k));
        for (std::size_t i = 0; i < top.size(); i++)
            top[i] = Prediction{classes[i], probs[i]};
        return top;
    }
    /** @return the C handle, owned by this object. */
    swin_context *handle() const noexcept {
        return p_.get();
    }

  private:
    const swin_model *model_; // not owned: the model outlives the context
    detail::Owned<swin_context, swin_context_free> p_;
};

} // namespace swin

#endif /* SWIN_SWIN_HPP */
