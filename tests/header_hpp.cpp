// The C++17 layer, include/swin/swin.hpp, compiled with -Wall -Wextra -pedantic -Werror and run
// on the committed examples: the micro model's logits equal expected_logits.npy, topk is a
// descending distribution, failures throw swin::Error with their status, the handles are
// move-only RAII, and images loaded, decoded from memory or wrapped in any pixel layout
// preprocess alike.
#include <swin/swin.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#ifndef SWIN_EXAMPLES_DIR
#error "SWIN_EXAMPLES_DIR must be defined"
#endif

static_assert(!std::is_copy_constructible_v<swin::Model> &&
              !std::is_copy_assignable_v<swin::Model>);
static_assert(!std::is_copy_constructible_v<swin::Context>);
static_assert(!std::is_copy_constructible_v<swin::Tensor>);
static_assert(!std::is_copy_constructible_v<swin::Image>);
static_assert(!std::is_copy_constructible_v<swin::Options>);
static_assert(std::is_nothrow_move_constructible_v<swin::Model> &&
              std::is_nothrow_move_assignable_v<swin::Model>);
static_assert(std::is_nothrow_move_constructible_v<swin::Context>);
static_assert(std::is_nothrow_move_constructible_v<swin::Tensor>);
static_assert(std::is_nothrow_move_constructible_v<swin::Image>);
static_assert(std::is_nothrow_destructible_v<swin::Context>);
static_assert(!std::is_constructible_v<swin::Context, swin::Model &&>); // would dangle
static_assert(std::is_base_of_v<std::runtime_error, swin::Error>);

static int failures = 0;
#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            std::fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);          \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

static const std::string examples = SWIN_EXAMPLES_DIR;

// Runs f, which must throw swin::Error with status; its message must not be empty.
template <class F> static bool throws(swin_status status, F f) {
    try {
        f();
    } catch (const swin::Error &e) {
        if (e.status() == status && e.what()[0] != '\0') return true;
        std::fprintf(stderr, "  threw %s (%s), expected %s\n", swin_status_string(e.status()),
                     e.what(), swin_status_string(status));
        return false;
    }
    std::fprintf(stderr, "  nothing thrown, expected %s\n", swin_status_string(status));
    return false;
}

static std::vector<char> read_bytes(const std::string &path) {
    std::ifstream f(path, std::ios::binary);
    return std::vector<char>(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

// Logits against examples/expected_logits.npy: |got - ref| <= 1e-5 * max(1, |ref|) each.
static void check_logits(const swin::TensorView &got) {
    const swin::Tensor ref = swin::Tensor::load_npy(examples + "/expected_logits.npy");
    CHECK(got.shape() == ref.shape());
    if (got.shape() != ref.shape()) return;
    double worst = 0.0;
    int64_t at = 0;
    for (int64_t i = 0; i < ref.numel(); i++) {
        const double r = ref.data()[i],
                     err = std::fabs(got.data()[i] - r) / std::max(1.0, std::fabs(r));
        if (!(err <= worst)) worst = err, at = i;
    }
    if (!(worst <= 1e-5))
        std::fprintf(stderr, "  logits: worst relative error %.3g at %lld\n", worst, (long long)at);
    CHECK(worst <= 1e-5);
}

// topk(b, num_classes) for every input: a permutation of the classes, descending, summing to 1,
// led by the largest logit.
static void check_topk(swin::Context &ctx, const swin::Model &model,
                       const swin::TensorView &logits) {
    const int64_t K = model.num_classes();
    for (int64_t b = 0; b < logits.dim(0); b++) {
        const std::vector<swin::Prediction> top = ctx.topk(b, K);
        CHECK((int64_t)top.size() == K);
        double sum = 0.0;
        std::vector<bool> seen(static_cast<std::size_t>(K));
        for (std::size_t i = 0; i < top.size(); i++) {
            sum += top[i].prob;
            CHECK(top[i].index >= 0 && top[i].index < K && !seen[(std::size_t)top[i].index]);
            if (top[i].index >= 0 && top[i].index < K) seen[(std::size_t)top[i].index] = true;
            if (i) CHECK(top[i - 1].prob >= top[i].prob);
        }
        CHECK(std::fabs(sum - 1.0) <= 1e-6);
        const float *row = logits.data() + b * K;
        CHECK(top[0].index == std::max_element(row, row + K) - row);
        const std::vector<swin::Prediction> top3 = ctx.topk(b, 3);
        CHECK(top3.size() == 3 && top3[2].index == top[2].index && top3[2].prob == top[2].prob);
    }
    CHECK(throws(SWIN_ERR_INVALID_ARGUMENT, [&] { ctx.topk(0, 0); }));
    CHECK(throws(SWIN_ERR_INVALID_ARGUMENT, [&] { ctx.topk(0, K + 1); }));
    CHECK(throws(SWIN_ERR_INVALID_ARGUMENT, [&] { ctx.topk(0, INT64_MAX); }));
    CHECK(throws(SWIN_ERR_INVALID_ARGUMENT, [&] { ctx.topk(logits.dim(0), 1); }));
}

static void test_micro() {
    const std::string path = examples + "/swin_micro.safetensors";
    swin::Model model = swin::Model::load_file(path);
    CHECK(model.get("family") == std::optional<std::string>("swin"));
    CHECK(!model.get("no_such_key"));
    CHECK(model.num_classes() == 10 && model.num_stages() == 3 && model.num_params() > 0);

    const swin::Tensor input = swin::Tensor::load_npy(examples + "/input.npy");
    CHECK(input.ndim() == 4 && input.dim(1) == 3);
    swin::Context ctx(model);
    CHECK(throws(SWIN_ERR_INVALID_ARGUMENT, [&] { ctx.output(); })); // no run yet
    CHECK(throws(SWIN_ERR_INVALID_ARGUMENT, [&] { ctx.set_num_threads(-1); }));
    ctx.set_num_threads(2);
    ctx.reserve(input.dim(0), input.dim(2), input.dim(3));
    CHECK(ctx.memory_bytes() > 0);
    ctx.run(input);
    const swin::TensorView logits = ctx.output(SWIN_OUTPUT_LOGITS);
    check_logits(logits);
    check_topk(ctx, model, logits);
    CHECK(ctx.output(SWIN_OUTPUT_STAGE, 2).dim(3) == 64);
    CHECK(throws(SWIN_ERR_INVALID_ARGUMENT, [&] { ctx.output(SWIN_OUTPUT_STAGE, 3); }));

    // Moves carry the handle; the moved-from objects hold nothing and destroy quietly.
    swin::Model moved = std::move(model);
    CHECK(!model.handle() && moved.handle() && moved.num_classes() == 10);
    swin::Context ctx2 = std::move(ctx);
    CHECK(!ctx.handle());
    ctx2.run(input);
    check_logits(ctx2.output());

    // From memory, with explicit options (load=copy: the weights copied out of the bytes).
    const std::vector<char> bytes = read_bytes(path);
    CHECK(!bytes.empty());
    swin::Options opts;
    opts.set("load", "copy").set("num_classes", "10");
    const swin::Model from_memory = swin::Model::load_memory(bytes.data(), bytes.size(), opts);
    CHECK(from_memory.get("load") == std::optional<std::string>("copy"));
    swin::Context ctx3(from_memory);
    ctx3.run(input);
    check_logits(ctx3.output());
    const swin::Model from_file = swin::Model::load_file(path, swin::Options().set("load", "map"));
    CHECK(from_file.get("load") == std::optional<std::string>("map"));
}

static void test_errors() {
    const std::string missing = examples + "/no_such_model.safetensors";
    bool thrown = false;
    try {
        swin::Model::load_file(missing);
    } catch (const swin::Error &e) {
        thrown = true;
        CHECK(e.status() == SWIN_ERR_IO);
        CHECK(std::string(e.what()).find("no_such_model.safetensors") != std::string::npos);
    }
    CHECK(thrown);
    CHECK(throws(SWIN_ERR_IO, [] { swin::Tensor::load_npy(examples + "/no_such.npy"); }));
    CHECK(throws(SWIN_ERR_IO, [] { swin::Image::load_file(examples + "/no_such.png"); }));
    CHECK(throws(SWIN_ERR_CONFIG, [] { swin::Options().set("no_such_key", "1"); }));
    CHECK(throws(SWIN_ERR_CONFIG, [] {
        swin::Model::load_file(examples + "/swin_micro.safetensors",
                               swin::Options().set("arch", "no_such_arch"));
    }));
    const char junk[] = "not a safetensors file";
    CHECK(throws(SWIN_ERR_TRUNCATED, [&] { swin::Model::load_memory(junk, 4); }));
    CHECK(throws(SWIN_ERR_FORMAT, [&] { swin::Image::load_memory(junk, sizeof junk); }));
    CHECK(throws(SWIN_ERR_INVALID_ARGUMENT, [] { swin::Tensor({2, 0}); }));
    CHECK(throws(SWIN_ERR_INVALID_ARGUMENT, [] { swin::Tensor(std::vector<int64_t>(9, 1)); }));
    CHECK(throws(SWIN_ERR_INVALID_ARGUMENT, [] { swin::set_num_threads(0); }));
    const uint8_t px[3] = {1, 2, 3};
    CHECK(throws(SWIN_ERR_INVALID_ARGUMENT, [&] { swin::Image::wrap(px, 1, 1, 2); }));
    CHECK(throws(SWIN_ERR_INVALID_ARGUMENT,
                 [&] { swin::Image::wrap(px, 1, 1, 3, static_cast<swin_pixel_format>(99)); }));
}

static void test_images() {
    const swin::Model model = swin::Model::load_file(examples + "/shapes");
    const int64_t S = model.input_size();
    CHECK(S == 64 && model.label(0) == std::optional<std::string>("circle") && !model.label(10));

    const std::string file = examples + "/shapes/images/img01.png";
    const swin::Image image = swin::Image::load_file(file);
    const std::vector<char> bytes = read_bytes(file);
    const swin::Image decoded = swin::Image::load_memory(bytes.data(), bytes.size());
    const int64_t w = image.width(), h = image.height();
    CHECK(w > 0 && h > 0 && decoded.width() == w && decoded.height() == h);

    // The same pixels as RGB, BGR, BGRA (padded rows) and wrapped Tensor input: one result.
    int64_t stride = 0;
    const uint8_t *rgb = image.pixels(&stride);
    std::vector<uint8_t> bgr((std::size_t)(w * h * 3)), bgra((std::size_t)(h * (w * 4 + 8)));
    for (int64_t y = 0; y < h; y++)
        for (int64_t x = 0; x < w; x++)
            for (int c = 0; c < 3; c++) {
                const uint8_t v = rgb[y * stride + x * 3 + c];
                bgr[(std::size_t)((y * w + x) * 3 + 2 - c)] = v;
                bgra[(std::size_t)(y * (w * 4 + 8) + x * 4 + 2 - c)] = v;
            }
    const swin::Tensor ref = image.preprocess(model);
    CHECK(ref.shape() == std::vector<int64_t>({1, 3, S, S}));
    const auto same = [&](const swin::Tensor &t) {
        return t.numel() == ref.numel() && std::equal(t.data(), t.data() + t.numel(), ref.data());
    };
    CHECK(same(decoded.preprocess(model)));
    CHECK(same(swin::Image::wrap(rgb, w, h, stride).preprocess(model)));
    CHECK(same(swin::Image::wrap(bgr.data(), w, h, w * 3, SWIN_PIXEL_BGR8).preprocess(model)));
    CHECK(
        same(swin::Image::wrap(bgra.data(), w, h, w * 4 + 8, SWIN_PIXEL_BGRA8).preprocess(model)));

    // A batch of two, filled slot by slot; a wrapped tensor runs like an owned one.
    std::vector<float> memory((std::size_t)(2 * 3 * S * S));
    swin::Tensor batch = swin::Tensor::wrap(memory.data(), {2, 3, S, S});
    image.preprocess(model, batch, 0);
    decoded.preprocess(model, batch, 1);
    CHECK(throws(SWIN_ERR_INVALID_ARGUMENT, [&] { image.preprocess(model, batch, 2); }));
    swin::Context ctx(model);
    ctx.run(batch);
    const std::vector<swin::Prediction> a = ctx.topk(0, 5), b = ctx.topk(1, 5);
    CHECK(a.size() == 5 && a[0].index == b[0].index && a[0].prob == b[0].prob);
    CHECK(a[0].prob > 0.5f && model.label(a[0].index).has_value());
}

int main() {
    const std::pair<const char *, void (*)()> tests[] = {
        {"micro", test_micro}, {"errors", test_errors}, {"images", test_images}};
    for (const auto &[name, run] : tests) {
        const int before = failures;
        try {
            run();
        } catch (const std::exception &e) {
            std::fprintf(stderr, "%s: unexpected exception: %s\n", name, e.what());
            failures++;
        }
        std::printf("%s: %s\n", name, failures == before ? "ok" : "FAILED");
    }
    std::printf("swin.hpp over libswin %s: %s\n", swin::version().c_str(),
                failures ? "FAILED" : "all passed");
    return failures ? 1 : 0;
}
