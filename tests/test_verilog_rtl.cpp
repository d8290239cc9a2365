// Verilog backend end to end: generate the project, build it with Verilator and compare
// the RTL with the emulator bit for bit on random rows (including saturating values).
#include "support/zoo.h"
#include "backends/verilog/Netlist.h"
#include "backends/verilog/VerilogWriter.h"
#include "config/Config.h"
#include "emulator/Emulator.h"
#include "frontends/Frontend.h"
#include "passes/Pass.h"
#include "util/Error.h"
#include "support/long_tests.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

namespace fs = std::filesystem;
using namespace tachyon;

namespace {

const std::string kModels = test_support::zooDir();

Graph prepared(Graph g, const std::string& yaml) {
    runPipeline(g, Config::parse(yaml, "<test config>"));
    return g;
}

std::string projectDir(const std::string& name) {
    fs::path p = fs::path(TACHYON_BINARY_DIR) / "verilog_tests" / name;
    fs::remove_all(p);
    return p.string();
}

void expectBitExact(const Graph& g, const std::string& name, size_t rows, verilog::VerilogOptions opt = {}) {
    Emulator emu(g);
    opt.testRows = rows;
    const std::string dir = projectDir(name);
    verilog::writeProject(g, emu, dir, opt);
    std::ostringstream log;
    verilog::RtlsimResult r = verilog::rtlsim(dir, log);
    EXPECT_EQ(r.rows, rows) << log.str();
    EXPECT_EQ(r.mismatches, 0u) << log.str();
}

Layer dense(const std::string& name, const std::string& input, int nIn, int nOut, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> n(0.0, 0.7);
    Layer l;
    l.name = name;
    l.kind = LayerKind::Dense;
    if (!input.empty()) l.inputs = {input};
    l.attrs = DenseAttrs{nIn, nOut};
    l.shape = {nOut};
    for (int k = 0; k < nIn * nOut; ++k) l.param("weight").push_back(k % 5 == 3 ? 0.0 : n(rng));
    for (int k = 0; k < nOut; ++k) l.param("bias").push_back(n(rng));
    return l;
}

Layer act(const std::string& name, const std::string& input, int n, ActKind a, LayerKind kind = LayerKind::Activation) {
    Layer l;
    l.name = name;
    l.kind = kind;
    if (!input.empty()) l.inputs = {input};
    l.shape = {n};
    l.attrs = ActAttrs{a};
    l.as<ActAttrs>().alpha = 0.3;
    return l;
}

}  // namespace

// Every layer kind and many cast modes in one small network (one Verilator build):
// exact-product WRAP accumulator (adder graph), quantising products into a saturating
// accumulator that can overflow (ascending saturating chain), unsigned and SAT_SYM /
// SAT_ZERO / saturation-bit results, BatchNorm, piecewise-linear and table activations,
// softmax.
TEST(VerilogRtl, AllLayerKindsAndCastModesBitExact) {
    Graph g;
    g.name = "mix";
    g.sourceFile = "<test>";
    Layer in = act("input", "", 6, ActKind::Linear, LayerKind::Input);
    in.inputs.clear();
    g.layers.push_back(in);
    g.layers.push_back(dense("d1", "input", 6, 8, 1));
    g.layers.push_back(act("r1", "d1", 8, ActKind::ReLU));
    g.layers.push_back(dense("d2", "r1", 8, 7, 2));
    Layer bn = act("bn", "d2", 7, ActKind::Linear, LayerKind::BatchNorm);
    bn.param("scale") = {1.5, -0.75, 0.3, 2.0, 0.0, -1.25, 0.9};
    bn.param("shift") = {0.1, -0.5, 0.25, 0.0, 1.0, 0.3, -0.2};
    g.layers.push_back(bn);
    g.layers.push_back(act("lk", "bn", 7, ActKind::LeakyReLU));
    g.layers.push_back(dense("d3", "lk", 7, 6, 3));
    g.layers.push_back(act("hs", "d3", 6, ActKind::HardSigmoid));
    g.layers.push_back(dense("d4", "hs", 6, 6, 4));
    g.layers.push_back(act("r6", "d4", 6, ActKind::ReLU6));
    g.layers.push_back(dense("d5", "r6", 6, 5, 5));
    g.layers.push_back(act("sg", "d5", 5, ActKind::Sigmoid));
    g.layers.push_back(dense("d6", "sg", 5, 5, 6));
    g.layers.push_back(act("th", "d6", 5, ActKind::Tanh));
    g.layers.push_back(dense("d7", "th", 5, 4, 7));
    g.layers.push_back(act("sm", "d7", 4, ActKind::Linear, LayerKind::Softmax));
    const std::string yaml = R"(
Model:
  Precision: ap_fixed<12,4,AP_RND,AP_SAT>
LayerName:
  input:
    Precision: ap_fixed<10,3>
  d1:
    Precision: {weight: 'ap_fixed<8,2>', bias: 'ap_fixed<8,3>', accum: 'ap_fixed<24,8>', result: 'ap_fixed<14,5,AP_RND_CONV,AP_WRAP>'}
    DelayConstraint: 0
  r1:
    Precision: ap_ufixed<9,3,AP_RND,AP_SAT>
  d2:
    Precision: {weight: 'ap_fixed<7,2,AP_RND>', bias: 'ap_fixed<7,2>', accum: 'ap_fixed<10,4,AP_RND,AP_SAT>', result: 'ap_fixed<10,4,AP_TRN_ZERO,AP_SAT_SYM>'}
  bn:
    Precision: {scale: 'ap_fixed<8,3>', shift: 'ap_fixed<8,2>', result: 'ap_fixed<9,3,AP_RND_INF,AP_WRAP,2>'}
  lk:
    Precision: {result: 'ap_fixed<10,3,AP_RND_MIN_INF,AP_SAT_ZERO>'}
  d3:
    Precision: {weight: 'ap_fixed<6,2>', bias: 'ap_fixed<6,2>', accum: 'ap_fixed<12,5,AP_RND_ZERO,AP_WRAP>', result: 'ap_fixed<10,4,AP_TRN,AP_SAT>'}
  d4:
    Precision: {weight: 'ap_fixed<6,1>', bias: 'ap_fixed<6,1>', accum: 'ap_fixed<11,4,AP_TRN,AP_SAT>', result: 'ap_ufixed<8,4,AP_RND,AP_WRAP>'}
  d6:
    Precision: {weight: 'ap_fixed<6,2>', bias: 'ap_fixed<6,2>', accum: auto, result: 'ap_fixed<10,4,AP_RND,AP_SAT>'}
  sm:
    Precision: {result: 'ap_ufixed<10,1,AP_RND,AP_SAT>'}
)";
    expectBitExact(prepared(g, yaml), "mix", 20000);
}

// tachyon_project.json records each layer's shift-add adders (CSE and CSD-only), which
// `tachyon report` prints; DelayConstraint reaches the layer's schedule.
TEST(VerilogRtl, ProjectRecordsAddersPerLayer) {
    Graph g;
    g.name = "two_dense";
    g.sourceFile = "<test>";
    Layer in = act("input", "", 12, ActKind::Linear, LayerKind::Input);
    in.inputs.clear();
    g.layers.push_back(in);
    g.layers.push_back(dense("fc1", "input", 12, 16, 8));
    g.layers.push_back(dense("fc2", "fc1", 16, 4, 9));
    g = prepared(g, "Model:\n  Precision: {default: 'ap_fixed<10,4>', weight: 'ap_fixed<6,1>', bias: 'ap_fixed<6,1>', "
                    "accum: auto}\nLayerName:\n  fc2:\n    DelayConstraint: 1\n");
    EXPECT_EQ(g.find("fc1")->schedule.delayConstraint, -1);
    EXPECT_EQ(g.find("fc2")->schedule.delayConstraint, 1);
    Emulator emu(g);
    const std::string dir = projectDir("adders");
    verilog::writeProject(g, emu, dir, {});
    std::ifstream is(fs::path(dir) / "tachyon_project.json");
    const auto j = nlohmann::json::parse(is);
    ASSERT_TRUE(j.contains("cmvm_adders"));
    ASSERT_EQ(j["cmvm_adders"].size(), 2u) << j["cmvm_adders"].dump();
    for (const auto& a : j["cmvm_adders"]) {
        EXPECT_GT(a["cse"].get<int>(), 0);
        EXPECT_LT(a["cse"].get<int>(), a["csd_only"].get<int>()) << a.dump();
        EXPECT_LT(a["cse_bits"].get<int64_t>(), a["csd_only_bits"].get<int64_t>()) << a.dump();
    }
    EXPECT_EQ(j["cmvm_adders"][0]["layer"], "fc1");
    EXPECT_EQ(j["cmvm_adders"][1]["layer"], "fc2");
    // The same numbers as the in-memory generator gives.
    const auto rtl = verilog::generateRtl(g, emu, {});
    ASSERT_EQ(rtl.adders.size(), 2u);
    EXPECT_EQ(rtl.adders[0].cse, j["cmvm_adders"][0]["cse"].get<int>());
    EXPECT_NE(verilog::adderTable(rtl.adders).find("fc2"), std::string::npos);
}

// hls4ml's ClockUncertainty comes off every stage's budget: the same design at the same
// clock is cut into more stages, each estimated within period - uncertainty - overhead.
TEST(VerilogRtl, ClockUncertaintyShortensTheStageBudget) {
    auto latency = [](const std::string& uncertainty, std::vector<double>* estimates) {
        Graph g;
        g.name = "two_dense";
        g.sourceFile = "<test>";
        Layer in = act("input", "", 12, ActKind::Linear, LayerKind::Input);
        in.inputs.clear();
        g.layers.push_back(in);
        g.layers.push_back(dense("fc1", "input", 12, 16, 8));
        g.layers.push_back(dense("fc2", "fc1", 16, 4, 9));
        const std::string yaml = "ClockPeriod: 5\n" +
                                 (uncertainty.empty() ? std::string() : "ClockUncertainty: " + uncertainty + "\n") +
                                 "Model:\n  Precision: {default: 'ap_fixed<16,6>', weight: 'ap_fixed<8,2>', accum: auto}\n";
        g = prepared(g, yaml);
        Emulator emu(g);
        verilog::VerilogOptions opt;
        opt.target = Config::parse(yaml, "<test config>").target();
        const auto rtl = verilog::generateRtl(g, emu, opt);
        if (estimates) *estimates = rtl.stageEstimatesNs;
        return rtl.latencyCycles;
    };
    std::vector<double> est;
    const int plain = latency("", nullptr);
    const int percent = latency("20%", &est);   // 1 ns of 5
    EXPECT_GT(percent, plain);
    // (A budget below one adder and its fan-out, ~2 ns, would leave single nodes over it.)
    const double budget = 5.0 - 1.0 - verilog::DelayModel{}.registerOverhead();
    ASSERT_FALSE(est.empty());
    for (double e : est) EXPECT_LE(e, budget + 1e-9);
    EXPECT_EQ(latency("1", nullptr), percent);    // the same in ns
}

TEST(VerilogRtl, UnsupportedLayerIsNamed) {
    Graph g;
    g.sourceFile = "<test>";
    Layer in = act("input", "", 3, ActKind::Linear, LayerKind::Input);
    in.inputs.clear();
    g.layers.push_back(in);
    g.layers.push_back(dense("fc", "input", 3, 2, 1));
    g = prepared(g, "Model:\n  Precision: ap_fixed<16,6>\n");
    g.layers.back().as<DenseAttrs>().activation = ActKind::Sigmoid;   // a fused table activation
    try {
        Emulator emu(g);
        verilog::generateRtl(g, emu, {});
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("fc"), std::string::npos) << e.what();
    }
}

namespace {

struct ModelCase {
    const char* name;
    const char* path;
    const char* yaml;
};

const char* kJet16 = "Model:\n  Precision: ap_fixed<16,6>\n";
// 6-bit weights and biases, 8-bit activations, exact accumulators.
const char* kJet6 = R"(
Model:
  Precision:
    default: ap_fixed<8,3,AP_RND,AP_SAT>
    weight: ap_fixed<6,1>
    bias: ap_fixed<6,1>
    accum: auto
)";

void runModel(const ModelCase& m, size_t rows) {
    const std::string path = kModels + "/" + m.path;
    if (!fs::exists(path)) GTEST_SKIP() << path << " not found";
    expectBitExact(prepared(loadModel(path), m.yaml), m.name, rows);
}

}  // namespace

TEST(VerilogRtl, JetTaggerApFixed16BitExact) {
    LONG_TEST_OR_SKIP();   // 24,548 counters: an 8-minute Verilator build
    runModel({"jet16", "keras/KERAS_3layer.json", kJet16}, 100000);
}

TEST(VerilogRtl, JetTagger6BitWeightsBitExact) {
    runModel({"jet6", "keras/KERAS_3layer.json", kJet6}, 100000);
}

// The quantisation-aware models (qkeras_3layer, qkeras_mnist_dense, binary, ternary, HGQ,
// QONNX): tests/test_verilog_quant.cpp.
TEST(VerilogRtl, DenseFamilyModelsBitExact) {
    runModel({"keras_1layer", "keras/KERAS_1layer.json", kJet16}, 100000);
}

// Three more of the family, 2-4 minutes of Verilator build each.
TEST(VerilogRtl, DenseFamilyBatchNormAndOnnxModelsBitExact) {
    LONG_TEST_OR_SKIP();
    const ModelCase cases[] = {
        {"keras_3layer_bn", "keras/KERAS_3layer_batch_norm.json", kJet6},
        {"onnx_three_layer_pytorch", "onnx/three_layer_pytorch.onnx", kJet6},
        {"onnx_three_layer_bn", "onnx/three_layer_bn_pytorch.onnx", kJet6},
    };
    for (const auto& m : cases) {
        SCOPED_TRACE(m.name);
        runModel(m, 100000);
    }
}
