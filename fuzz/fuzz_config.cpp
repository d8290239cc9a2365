// hls4ml-style YAML configuration (networks) and the tree configuration reader.
#include "FuzzCommon.h"
#include "config/Config.h"
#include "config/TreeConfig.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string path = tachyon::fuzz::writeInput(data, size, ".yml");
    tachyon::fuzz::expectOnlyTachyonErrors([&] { tachyon::Config::load(path); });
    return tachyon::fuzz::expectOnlyTachyonErrors([&] { tachyon::trees::readTreeConfig(path); });
}
