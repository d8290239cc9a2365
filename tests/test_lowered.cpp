// The lowered stage (lower/LoweredGraph.h): every layer's quantised constants and input types,
// computed once and read by the backends, which never include the emulator.
#include "config/Config.h"
#include "emulator/Emulator.h"
#include "fixture_dir.h"
#include "frontends/Frontend.h"
#include "lower/LoweredGraph.h"
#include "passes/Pass.h"
#include "util/Error.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using namespace tachyon;

namespace {

Graph loweringFixture(const std::string& model, const std::string& config) {
    Graph g = loadModel(fixtureDirMadeBy("make_fixtures.py", "nn_fixtures.stamp", "2") + "/" + model);
    runPipeline(g, Config::parse(config, "test-config"));
    return g;
}

}  // namespace

TEST(Lowered, ConstantsAreTheKernelsAndTypesTheProducers) {
    const Graph g = loweringFixture("dense_bn.onnx", "Model:\n  Precision: ap_fixed<12,4>\n");
    const Emulator emu(g);
    const LoweredGraph& low = emu.lowered();
    ASSERT_EQ(low.layers().size(), emu.graph().layers.size());
    int macs = 0;
    for (const LoweredLayer& ll : low.layers()) {
        const Layer& l = *ll.layer;
        ASSERT_NE(ll.constants, nullptr) << l.name;
        // Each input's type is its producer's result type (an Input reads its own type).
        if (l.kind == LayerKind::Input) {
            ASSERT_EQ(ll.inputTypes.size(), 1u);
            EXPECT_EQ(ll.inputTypes[0], l.type("result"));
        } else {
            ASSERT_EQ(ll.inputTypes.size(), l.inputs.size()) << l.name;
            for (size_t i = 0; i < l.inputs.size(); ++i)
                EXPECT_EQ(ll.inputTypes[i], emu.graph().at(l.inputs[i]).type("result")) << l.name;
        }
        if (l.kind != LayerKind::Dense) continue;
        ++macs;
        // Raws of the layer's weight type, one per trained weight: value = raw * 2^-frac.
        const FixedType& wT = l.type("weight");
        const std::vector<int64_t>& w = low.weightRaw(l.name);
        ASSERT_EQ(w.size(), l.param("weight").size()) << l.name;
        for (size_t k = 0; k < w.size(); ++k)
            EXPECT_EQ(w[k], int64_t(wT.castDouble(l.param("weight")[k]))) << l.name << " weight " << k;
        EXPECT_EQ(low.biasRaw(l.name).size(), l.param("bias").size());
        EXPECT_EQ(&low.weightRaw(l.name), &emu.weightRaw(l.name)) << "computed once: one copy";
    }
    EXPECT_GT(macs, 0);
    EXPECT_EQ(low.inputSize(), g.inputSize());
    EXPECT_EQ(low.outputSize(), g.outputSize());
}

TEST(Lowered, ReferenceIsTheEmulatorsFixedPointRun) {
    const Graph g = loweringFixture("dense_relu.onnx", "Model:\n  Precision: ap_fixed<10,3>\n");
    const Emulator emu(g);
    const size_t rows = 7, nIn = size_t(g.inputSize()), nOut = size_t(g.outputSize());
    std::vector<int64_t> x(rows * nIn), viaLowered(rows * nOut), direct(rows * nOut);
    for (size_t i = 0; i < x.size(); ++i) x[i] = int64_t(i * 37 % 200) - 100;
    emu.lowered().runFixedRaw(x.data(), rows, viaLowered.data());
    emu.runFixedRaw(x.data(), rows, direct.data());
    EXPECT_EQ(viaLowered, direct);
}

TEST(Lowered, UnknownLayerIsAnErrorNamingIt) {
    const Graph g = loweringFixture("dense_relu.onnx", "Model:\n  Precision: ap_fixed<10,3>\n");
    const Emulator emu(g);
    try {
        emu.lowered().weightRaw("no_such_layer");
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("no_such_layer"), std::string::npos) << e.what();
    }
}

// Backends read the lowered graph only: none includes the emulator's driver or kernels, so no
// backend can run an Emulator to get its numbers.
// The ops' HLS and RTL files (src/ops/<op>/Hls*, Rtl*) are backend code too.
TEST(Lowered, NoBackendIncludesTheEmulator) {
    const fs::path src = fs::path(TACHYON_SOURCE_DIR) / "src";
    const fs::path backends = src / "backends";
    const std::vector<std::string> forbidden = {"emulator/Emulator.h", "emulator/Kernel.h", "emulator/KernelAdapters.h"};
    std::vector<std::string> found;
    size_t scanned = 0;
    std::vector<fs::path> files;
    for (const auto& entry : fs::recursive_directory_iterator(backends)) files.push_back(entry.path());
    for (const auto& entry : fs::recursive_directory_iterator(src / "ops")) {
        const std::string name = entry.path().filename().string();
        if (entry.path().parent_path() != src / "ops" && (name.rfind("Hls", 0) == 0 || name.rfind("Rtl", 0) == 0))
            files.push_back(entry.path());
    }
    for (const fs::path& path : files) {
        const std::string ext = path.extension().string();
        if (!fs::is_regular_file(path) || (ext != ".cpp" && ext != ".h")) continue;
        ++scanned;
        std::ifstream in(path);
        int lineNo = 0;
        for (std::string line; std::getline(in, line);) {
            ++lineNo;
            if (line.rfind("#include", 0) != 0) continue;
            for (const std::string& header : forbidden)
                if (line.find("\"" + header + "\"") != std::string::npos)
                    found.push_back(fs::relative(path, src).string() + ":" + std::to_string(lineNo) +
                                    ": " + line);
        }
    }
    EXPECT_GT(scanned, 20u) << "the backends were not found at " << backends;
    for (const std::string& f : found) ADD_FAILURE() << "a backend includes the emulator (read lower/LoweredGraph.h): " << f;
}
