// Single-file Keras 2 model (.h5): libhdf5 on hostile bytes, then the Keras reader.
#include "FuzzCommon.h"
#include "frontends/Frontend.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string path = tachyon::fuzz::writeInput(data, size, ".h5");
    return tachyon::fuzz::expectOnlyTachyonErrors([&] { tachyon::loadModel(path); });
}
