// The lowered stage (lower/LoweredGraph.h): every layer's quantised constants and input types,
// computed once and read by the backends, which never include the emulator.
#include "config/Config.h"
#include "emulator/Emulator.h"
#include "fixture_dir.h"
#include "frontends/Frontend.h"
#include "lower/Lower.h"
#include "lower/LoweredGraph.h"
#include "passes/Pass.h"
#include "util/Error.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
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

// The lowering alone (lowerLayer, no emulator) makes every constant the emulator computes
// with: lowering each layer again gives the same raws and tables, on models with weights,
// BatchNorm, table activations, softmax, recurrent cells and LayerNorm.
TEST(Lowered, LoweringAloneGivesTheEmulatorsConstants) {
    struct Model {
        std::string dir, file, config;
    };
    const std::string nn = fixtureDirMadeBy("make_fixtures.py", "nn_fixtures.stamp", "2");
    const std::string rnn = fixtureDirMadeBy("make_rnn_fixtures.py", "rnn_fixtures.stamp", "");
    const std::string attn = fixtureDirMadeBy("make_attention_fixtures.py", "attention_fixtures.stamp", "5");
    const std::string cnn = fixtureDirMadeBy("make_cnn_fixtures.py", "cnn_fixtures.stamp", "3");
    const std::string cl = fixtureDirMadeBy("make_channels_last_fixtures.py", "channels_last_fixtures.stamp", "2");
    const std::vector<Model> models = {
        {nn, "dense_bn.onnx", "Model:\n  Precision: ap_fixed<12,4>\n"},
        {nn, "dense_acts.onnx", "Model:\n  Precision: ap_fixed<14,5>\n"},
        {rnn, "lstm_last.onnx", "Model:\n  Precision: ap_fixed<16,6>\n"},
        {rnn, "gru_seq.onnx", "Model:\n  Precision: ap_fixed<16,6>\n"},
        {attn, "attn_encoder_block.onnx", "Model:\n  Precision: ap_fixed<18,8>\n"},
        {cnn, "cnn_pool.onnx", "Model:\n  Precision: ap_fixed<16,6>\n"},
        {cl, "cl_depthwise.onnx", "Model:\n  Precision: ap_fixed<16,6>\n"},
    };
    std::set<LayerKind> kinds;
    for (const Model& m : models) {
        Graph g = loadModel(m.dir + "/" + m.file);
        runPipeline(g, Config::parse(m.config, "test-config"));
        const Emulator emu(g);
        for (const LoweredLayer& ll : emu.lowered().layers()) {
            const Layer& l = *ll.layer;
            const LayerConstants again = lowerLayer(emu.graph(), l, loweredInputs(emu.graph(), l));
            const LayerConstants& c = *ll.constants;
            const std::string where = m.file + ": " + l.name;
            EXPECT_EQ(again.weight, c.weight) << where;
            EXPECT_EQ(again.bias, c.bias) << where;
            EXPECT_EQ(again.scale, c.scale) << where;
            EXPECT_EQ(again.param, c.param) << where;
            EXPECT_EQ(again.table.values, c.table.values) << where;
            EXPECT_EQ(again.recurrentWeight, c.recurrentWeight) << where;
            EXPECT_EQ(again.recurrentBias, c.recurrentBias) << where;
            EXPECT_EQ(again.actTable.values, c.actTable.values) << where;
            EXPECT_EQ(again.stateActTable.values, c.stateActTable.values) << where;
            EXPECT_EQ(again.recurrentTable.values, c.recurrentTable.values) << where;
            EXPECT_EQ(again.hasSoftmax, c.hasSoftmax) << where;
            EXPECT_EQ(again.softmax.exp.values, c.softmax.exp.values) << where;
            EXPECT_EQ(again.softmax.inv.values, c.softmax.inv.values) << where;
            EXPECT_EQ(again.binaryMac.has_value(), c.binaryMac.has_value()) << where;
            EXPECT_EQ(again.window, c.window) << where;
            // Windows: one per output position, each index inside the input or -1 (padding).
            if (l.kind == LayerKind::Conv || l.kind == LayerKind::Pooling) {
                ASSERT_FALSE(c.window.empty()) << where;
                int inSize = 1;
                for (int d : ll.layer->kind == LayerKind::Pooling ? Shape(emu.graph().at(l.input()).shape.begin(),
                                                                           emu.graph().at(l.input()).shape.end() - 1)
                                                                     : emu.graph().at(l.input()).shape)
                    inSize *= d;
                for (int k : c.window) EXPECT_TRUE(k >= -1 && k < inSize) << where << ": " << k;
            }
            const bool any = !c.weight.empty() || !c.scale.empty() || !c.param.empty() || c.table.size > 0 ||
                             c.hasSoftmax || !c.recurrentWeight.empty() || !c.window.empty();
            if (any) kinds.insert(l.kind);
        }
    }
    for (LayerKind k : {LayerKind::Dense, LayerKind::BatchNorm, LayerKind::Activation, LayerKind::Softmax,
                        LayerKind::Recurrent, LayerKind::LayerNorm, LayerKind::Conv, LayerKind::Pooling})
        EXPECT_TRUE(kinds.count(k)) << "no " << toString(k) << " layer with constants among the models";
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
    const std::vector<std::string> forbidden = {"emulator/Emulator.h", "emulator/Kernel.h"};
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
