// Single-file Keras 2 model (.h5): libhdf5 on hostile bytes, then the Keras reader.
//
// In-process (loadKerasInProcess), so that the fuzzer sees libhdf5's and the reader's
// coverage. The CLI reads H5 files in a child process first because libhdf5 1.10 crashes
// on some corrupt files; scripts/fuzz.sh runs this harness in libFuzzer's fork mode and
// sorts its crashes into libhdf5's own (handled by that child process) and Tachyon's.
#include "FuzzCommon.h"
#include "frontends/Frontend.h"

#include <hdf5.h>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string path = tachyon::fuzz::writeInput(data, size, ".h5");
    const int rc = tachyon::fuzz::expectOnlyTachyonErrors([&] { tachyon::loadKerasInProcess(path, ""); });
    // libhdf5 keeps free lists across files; release them between inputs.
    H5garbage_collect();
    return rc;
}
