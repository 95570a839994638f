// Image files in, top-5 labels out, with the C++17 layer (swin/swin.hpp): what
// examples/classify.c does, with RAII handles and exceptions.
//   classify_cpp MODEL IMAGE...
// Prints "IMAGE: label (prob%)" lines, most probable first; an image that fails is reported on
// stderr, the others still run, and the exit status is then 1.
#include <cstdio>
#include <swin/swin.hpp>

int main(int argc, char **argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: classify_cpp MODEL IMAGE...\n");
        return 2;
    }
    try {
        const swin::Model model = swin::Model::load_file(argv[1]);
        swin::Context ctx(model);
        const int64_t k = model.num_classes() < 5 ? model.num_classes() : 5;
        int status = 0;
        for (int i = 2; i < argc; i++) {
            try {
                ctx.run(swin::Image::load_file(argv[i]).preprocess(model));
                for (const swin::Prediction &p : ctx.topk(0, k)) {
                    const auto label = model.label(p.index);
                    std::printf("%s: %s (%.2f%%)\n", argv[i],
                                label ? label->c_str()
                                      : ("class " + std::to_string(p.index)).c_str(),
                                100.0 * static_cast<double>(p.prob));
                }
            } catch (const swin::Error &e) {
                std::fprintf(stderr, "%s: %s\n", argv[i], e.what());
                status = 1;
            }
        }
        return status;
    } catch (const swin::Error &e) {
        std::fprintf(stderr, "classify_cpp: %s\n", e.what());
        return 1;
    }
}
