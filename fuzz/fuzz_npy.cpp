// .npy input rows: the whole-file reader and the block-streaming reader.
#include "FuzzCommon.h"
#include "util/Npy.h"

#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string path = tachyon::fuzz::writeInput(data, size, ".npy");
    return tachyon::fuzz::expectOnlyTachyonErrors([&] {
        tachyon::NpyReader r(path);
        std::vector<double> block;
        while (r.read(7, block)) {}
    });
}
