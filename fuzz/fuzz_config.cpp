// hls4ml-style YAML configuration, tree-model keys (InputPrecision, ...) included: they are
// parsed by the same Config (config/TreeKeys.cpp).
#include "FuzzCommon.h"
#include "config/Config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string path = tachyon::fuzz::writeInput(data, size, ".yml");
    return tachyon::fuzz::expectOnlyTachyonErrors([&] { tachyon::Config::load(path); });
}
