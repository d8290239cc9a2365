// CSV input rows.
#include "FuzzCommon.h"
#include "util/Npy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string path = tachyon::fuzz::writeInput(data, size, ".csv");
    return tachyon::fuzz::expectOnlyTachyonErrors([&] {
        size_t rows = 0, cols = 0;
        tachyon::readCsv(path, rows, cols);
    });
}
