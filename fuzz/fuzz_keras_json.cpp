// Keras 2 architecture JSON (with a valid weights file beside it: the seed corpus's
// keras_dense_weights.h5, found through TACHYON_FUZZ_WEIGHTS or the build's fixtures).
#include "FuzzCommon.h"
#include "frontends/Frontend.h"

#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const std::string weights = [] {
        const char* env = std::getenv("TACHYON_FUZZ_WEIGHTS");
        return std::string(env && *env ? env : TACHYON_FUZZ_FIXTURES "/keras_dense_weights.h5");
    }();
    const std::string path = tachyon::fuzz::writeInput(data, size, ".json");
    // In-process: the CLI's trial read in a child process would hide the reader's coverage.
    return tachyon::fuzz::expectOnlyTachyonErrors([&] { tachyon::loadKerasInProcess(path, weights); });
}
