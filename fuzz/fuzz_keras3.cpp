// Keras 3 archive (.keras): libzip on hostile bytes, then config.json through the Keras
// reader and model.weights.h5 through libhdf5.
//
// In-process (loadKeras3InProcess) for coverage; like fuzz_keras_h5 it runs in libFuzzer's
// fork mode (scripts/fuzz.sh), since a weights file that passes the zip's CRC check can
// still reach libhdf5's own crashes, which the CLI contains in a child process.
#include "FuzzCommon.h"
#include "frontends/Frontend.h"

#include <hdf5.h>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string path = tachyon::fuzz::writeInput(data, size, ".keras");
    const int rc = tachyon::fuzz::expectOnlyTachyonErrors([&] { tachyon::loadKeras3InProcess(path); });
    H5garbage_collect();
    return rc;
}
