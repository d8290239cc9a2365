// ONNX protobuf -> Graph, then the pass pipeline and the emulator on one row.
#include "FuzzCommon.h"
#include "config/Config.h"
#include "emulator/Emulator.h"
#include "frontends/Frontend.h"
#include "passes/Pass.h"

#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string path = tachyon::fuzz::writeInput(data, size, ".onnx");
    return tachyon::fuzz::expectOnlyTachyonErrors([&] {
        tachyon::Graph g = tachyon::loadModel(path);
        tachyon::runPipeline(g, tachyon::Config::defaults());
        tachyon::Emulator emu(g);
        std::vector<double> x(size_t(emu.inputSize()), 0.5), y(size_t(emu.outputSize()));
        std::vector<int64_t> raw(y.size());
        emu.runFixed(x.data(), 1, raw.data(), y.data(), nullptr, {});
    });
}
