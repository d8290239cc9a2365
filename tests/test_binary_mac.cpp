// Binary x binary Dense and Conv layers as XNOR-popcount (passes/BinaryMac.h): which layers get
// the form, and that the emulator's packed-bit kernel gives exactly the integers of the
// step-by-step accumulation of docs/semantics.md ("Dense") on random rows; on binary models,
// the emulator, the HLS C simulation and Verilator agree bit for bit.
#include "support/zoo.h"
#include "backends/hls/HlsWriter.h"
#include "backends/verilog/VerilogWriter.h"
#include "config/Config.h"
#include "emulator/Emulator.h"
#include "frontends/Frontend.h"
#include "passes/BinaryMac.h"
#include "passes/Pass.h"
#include "support/io_target.h"
#include "support/long_tests.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using namespace tachyon;

namespace {

struct BinaryCase {
    std::string name;
    int nIn = 8, nOut = 4;
    int positions = 1;             // > 1: the Dense runs over the last axis of [positions, nIn]
    std::vector<double> levels = {-1.0, 1.0};   // the Quantize layer's levels (one threshold per level step)
    std::string quantizeResult = "ap_int<2>";
    std::vector<double> weightLevels = {1.0};    // |w| of output j: weightLevels[j % size]
    std::string weight = "ap_int<2>", bias = "ap_fixed<8,4>", accum = "ap_fixed<16,8>";
    std::string result = "ap_fixed<16,8>";
    bool relu = false;
    bool fromInput = false;        // the Dense reads the Input directly (not binary)
    int zeroWeights = 0;           // weights set to 0 (not binary)
    double oddWeight = 0.0;        // if set, one weight of output 0 gets this magnitude
    double biasScale = 1.0;        // biases N(0, 4) times this
};

// Input(nIn) -> Quantize (Threshold, per-channel thresholds) -> Dense, types from the case.
Graph binaryGraph(const BinaryCase& bc, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> normal(0.0, 1.0);
    Graph g;
    g.name = bc.name;
    g.sourceFile = "<test>";
    Layer in;
    in.name = "x";
    in.kind = LayerKind::Input;
    in.shape = bc.positions > 1 ? Shape{bc.positions, bc.nIn} : Shape{bc.nIn};
    g.layers.push_back(in);
    if (!bc.fromInput) {
        QuantizeAttrs q;
        q.mode = QuantizeMode::Threshold;
        q.nThresholds = int(bc.levels.size()) - 1;
        q.levels = bc.levels;
        for (int k = 0; k < q.nThresholds; ++k) q.strict.push_back(k % 2);
        for (int c = 0; c < bc.nIn; ++c) {
            double t = -0.4 + 0.1 * (c % 7);
            for (int k = 0; k < q.nThresholds; ++k, t += 0.5) q.thresholds.push_back(t);
        }
        Layer l;
        l.name = "sign";
        l.kind = LayerKind::Quantize;
        l.inputs = {"x"};
        l.shape = in.shape;
        l.attrs = q;
        l.trained["result"] = FixedType::parse(bc.quantizeResult);
        g.layers.push_back(l);
    }
    Layer d;
    d.name = "fc";
    d.kind = LayerKind::Dense;
    d.inputs = {g.layers.back().name};
    d.shape = bc.positions > 1 ? Shape{bc.positions, bc.nOut} : Shape{bc.nOut};
    DenseAttrs a;
    a.nIn = bc.nIn;
    a.nOut = bc.nOut;
    a.activation = bc.relu ? ActKind::ReLU : ActKind::Linear;
    d.attrs = a;
    auto& w = d.param("weight");
    for (int i = 0; i < bc.nIn; ++i)
        for (int j = 0; j < bc.nOut; ++j)
            w.push_back((rng() & 1 ? 1.0 : -1.0) * bc.weightLevels[size_t(j) % bc.weightLevels.size()]);
    for (int k = 0; k < bc.zeroWeights; ++k) w[rng() % w.size()] = 0.0;
    if (bc.oddWeight != 0.0) w[size_t(bc.nOut) * size_t(bc.nIn / 2)] = bc.oddWeight;
    auto& b = d.param("bias");
    for (int j = 0; j < bc.nOut; ++j) b.push_back(std::ldexp(std::round(normal(rng) * 8.0), -2) * bc.biasScale);
    g.layers.push_back(d);
    const std::string cfg = "Model:\n  Precision: ap_fixed<16,6>\nLayerName:\n  fc:\n    Precision:\n      weight: " +
                            bc.weight + "\n      bias: " + bc.bias + "\n      accum: " + bc.accum + "\n      result: " +
                            bc.result + "\n";
    runPipeline(g, Config::parse(cfg, "<test config>"));
    return g;
}

// A Dense or Conv layer's outputs from its traced input, step by step (docs/semantics.md
// "Dense", "Conv"): over each output position's window (padded inputs are 0 and add
// nothing), acc = cast<accum>(b), then acc = cast<accum>(acc + cast<accum>(x_i w_i)) in
// window order, y = cast<result>(acc), then the fused ReLU. Raw integers, rows x outputs.
std::vector<int64_t> macStepByStep(const Graph& g, const std::vector<std::vector<double>>& trace, const std::string& name,
                                   size_t rows) {
    const Layer& l = g.at(name);
    const Layer& p = g.at(l.input());
    const std::vector<double>& xin = trace[g.indexOf(p.name)];
    const FixedType inT = p.type("result"), wT = l.type("weight"), bT = l.type("bias");
    const FixedType accT = l.type("accum"), outT = l.type("result");
    auto [nIn, nOut] = macDims(l);
    const size_t inSize = size_t(p.outSize());
    // Depthwise: one window entry per kernel position (channel 0's index); output o reads
    // channel o / multiplier, weight [tap][o].
    const bool depthwise = l.kind == LayerKind::Conv && l.as<ConvAttrs>().depthwise;
    const int mult = depthwise ? l.as<ConvAttrs>().depthMultiplier : 1;
    std::vector<int> window;
    if (l.kind == LayerKind::Conv) {
        window = convWindowIndex(l.as<ConvAttrs>(), p.shape, l.shape, depthwise);
        if (depthwise) nIn = int(l.param("weight").size()) / nOut;
    } else {
        for (size_t k = 0; k < inSize; ++k) window.push_back(int(k));
    }
    const size_t positions = window.size() / size_t(nIn);
    std::vector<int64_t> y;
    for (size_t r = 0; r < rows; ++r)
        for (size_t pos = 0; pos < positions; ++pos)
            for (int j = 0; j < nOut; ++j) {
                Int128 acc = accT.castRaw(bT.castDouble(l.param("bias")[size_t(j)]), bT.frac());
                for (int i = 0; i < nIn; ++i) {
                    int at = window[pos * size_t(nIn) + size_t(i)];
                    if (at < 0) continue;   // padding: x = 0
                    if (depthwise) at += j / mult;
                    const Int128 xi = Int128(std::llround(std::ldexp(xin[r * inSize + size_t(at)], inT.frac())));
                    const Int128 wij = wT.castDouble(l.param("weight")[size_t(i) * size_t(nOut) + size_t(j)]);
                    if (wij == 0) continue;
                    acc = accT.castRaw(acc + accT.castRaw(xi * wij, inT.frac() + wT.frac()), accT.frac());
                }
                Int128 z = outT.castRaw(acc, accT.frac());
                if (l.activation() == ActKind::ReLU && z < 0) z = 0;
                y.push_back(int64_t(z));
            }
    return y;
}

// Every MAC layer of `g` on `rows` random rows (normal, with values at and near the
// quantisers' thresholds mixed in): the emulator's traced output against the step-by-step
// accumulation over the same traced input, and the batch run's output against the trace;
// total mismatching values.
size_t macMismatches(const Graph& g, size_t rows, uint64_t seed) {
    Emulator emu(g);
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> normal(0.0, 1.0);
    const size_t nIn = size_t(g.inputSize());
    std::vector<double> x(rows * nIn);
    for (size_t k = 0; k < x.size(); ++k) x[k] = (rng() % 16 == 0) ? -0.4 + 0.1 * double(k % nIn % 7) : normal(rng);
    const auto trace = emu.traceFixed(x.data(), rows);
    std::vector<int64_t> out(rows * size_t(g.outputSize()));
    emu.runFixed(x.data(), rows, out.data(), nullptr);
    const std::vector<double>& traced = trace[g.indexOf(g.output().name)];
    const int outFrac = g.output().type("result").frac();
    size_t bad = 0, checked = 0;
    EXPECT_EQ(out.size(), traced.size());
    for (size_t k = 0; k < std::min(out.size(), traced.size()); ++k) bad += std::llround(std::ldexp(traced[k], outFrac)) != out[k];
    for (const Layer& l : g.layers) {
        if (l.kind != LayerKind::Dense && l.kind != LayerKind::Conv) continue;
        const std::vector<int64_t> want = macStepByStep(g, trace, l.name, rows);
        const std::vector<double>& got = trace[g.indexOf(l.name)];
        const int frac = l.type("result").frac();
        EXPECT_EQ(got.size(), want.size()) << l.name;
        for (size_t k = 0; k < std::min(got.size(), want.size()); ++k)
            bad += std::llround(std::ldexp(got[k], frac)) != want[k];
        ++checked;
    }
    EXPECT_GT(checked, 0u);
    return bad;
}

}  // namespace

// Binary inputs and +-h weights with exact accumulators: the XNOR form is chosen, and the
// packed-bit kernel equals the step-by-step accumulation on 3,000 rows per case (input
// widths below, at and above one 64-bit word; per-output weight magnitudes, a weight
// level that is not a power of two, narrow rounding/saturating/wrapping results, ReLU, a
// Dense over the last axis of a [5, 70] tensor).
TEST(BinaryMac, XnorKernelMatchesStepByStep) {
    std::vector<BinaryCase> cases;
    {
        BinaryCase c;
        c.name = "n7_narrow_sat";
        c.nIn = 7;
        c.nOut = 5;
        c.accum = "ap_fixed<10,6>";
        c.result = "ap_fixed<5,2,AP_RND,AP_SAT>";
        cases.push_back(c);
    }
    {
        BinaryCase c;
        c.name = "n64_half_relu_wrap";
        c.nIn = 64;
        c.nOut = 9;
        c.levels = {0.5, -0.5};   // inverted quantiser: below the threshold +a
        c.quantizeResult = "ap_fixed<4,1>";
        c.weightLevels = {0.25, 0.5, 1.0};
        c.weight = "ap_fixed<6,2>";
        c.accum = "ap_fixed<20,10>";
        c.result = "ap_fixed<7,2,AP_TRN,AP_WRAP>";
        c.relu = true;
        cases.push_back(c);
    }
    {
        BinaryCase c;
        c.name = "n130_three_quarters";
        c.nIn = 130;
        c.nOut = 17;
        c.weightLevels = {0.75};
        c.weight = "ap_fixed<4,1>";
        c.accum = "ap_fixed<14,10>";
        c.result = "ap_fixed<8,5,AP_RND_CONV,AP_SAT_SYM>";
        cases.push_back(c);
    }
    {
        BinaryCase c;
        c.name = "n200_levels_2_3";
        c.nIn = 200;
        c.nOut = 6;
        c.levels = {-2.0, -2.0, 2.0};   // two thresholds, still only +-2
        c.quantizeResult = "ap_int<3>";
        c.weightLevels = {3.0, 1.0};
        c.weight = "ap_int<3>";
        c.accum = "ap_int<12>";
        c.result = "ap_fixed<9,9,AP_TRN,AP_SAT>";
        c.relu = true;
        cases.push_back(c);
    }
    {
        BinaryCase c;
        c.name = "n33_unsigned_result";
        c.nIn = 33;
        c.nOut = 3;
        c.accum = "ap_fixed<12,8,AP_TRN,AP_SAT>";
        c.result = "ap_ufixed<4,3,AP_RND,AP_WRAP>";
        cases.push_back(c);
    }
    {
        BinaryCase c;
        c.name = "n70_over_5_positions";
        c.nIn = 70;
        c.nOut = 4;
        c.positions = 5;
        c.accum = "ap_fixed<12,8>";
        c.result = "ap_fixed<6,4,AP_RND,AP_SAT>";
        c.relu = true;
        cases.push_back(c);
    }
    {
        BinaryCase c;
        c.name = "n40_accumulator_beyond_double";   // |acc| ~ 2^55: cast one int64 at a time
        c.nIn = 40;
        c.nOut = 5;
        c.bias = "ap_fixed<62,60>";
        c.accum = "ap_fixed<62,60>";
        c.biasScale = std::ldexp(1.0, 53);
        c.result = "ap_fixed<20,20,AP_TRN,AP_WRAP>";   // keeps the low bits of the exact sum
        cases.push_back(c);
    }
    for (const BinaryCase& c : cases) {
        SCOPED_TRACE(c.name);
        const Graph g = binaryGraph(c, 7);
        Emulator emu(g);
        const BinaryMac* f = emu.binaryMac("fc");
        ASSERT_NE(f, nullptr);
        EXPECT_EQ(f->nIn, c.nIn);
        EXPECT_EQ(macMismatches(g, 3000, 11), 0u);
    }
}

// Layers that are not binary x binary keep the generic multiply-accumulate (and stay
// bit-exact): a ternary or {0, 1} input, an input that is not quantised, a zero or an
// odd-sized weight, an accumulator that could overflow, products that the accumulator
// would round.
TEST(BinaryMac, NotBinaryKeepsGenericMac) {
    std::vector<BinaryCase> cases;
    BinaryCase base;
    base.nIn = 40;
    base.nOut = 6;
    base.accum = "ap_fixed<14,8>";
    base.result = "ap_fixed<8,4,AP_RND,AP_SAT>";
    {
        BinaryCase c = base;
        c.name = "ternary_input";
        c.levels = {-1.0, 0.0, 1.0};
        cases.push_back(c);
    }
    {
        BinaryCase c = base;
        c.name = "use01_input";
        c.levels = {0.0, 1.0};
        cases.push_back(c);
    }
    {
        BinaryCase c = base;
        c.name = "unquantised_input";
        c.fromInput = true;
        c.accum = "ap_fixed<24,12>";
        cases.push_back(c);
    }
    {
        BinaryCase c = base;
        c.name = "zero_weights";
        c.zeroWeights = 3;
        cases.push_back(c);
    }
    {
        BinaryCase c = base;
        c.name = "odd_weight";
        c.weight = "ap_int<3>";
        c.oddWeight = 2.0;
        cases.push_back(c);
    }
    {
        BinaryCase c = base;
        c.name = "accumulator_may_overflow";
        c.accum = "ap_fixed<6,5,AP_TRN,AP_SAT>";   // +-40 does not fit [-16, 15.5]
        cases.push_back(c);
    }
    {
        BinaryCase c = base;
        c.name = "products_rounded";
        c.levels = {-0.5, 0.5};
        c.quantizeResult = "ap_fixed<4,1>";
        c.weightLevels = {0.25};
        c.weight = "ap_fixed<4,0>";
        c.accum = "ap_fixed<12,10,AP_RND>";   // 0.125 products at 0.25 LSBs
        cases.push_back(c);
    }
    for (const BinaryCase& c : cases) {
        SCOPED_TRACE(c.name);
        const Graph g = binaryGraph(c, 5);
        EXPECT_FALSE(binaryMacForm(g, g.at("fc")).has_value());
        Emulator emu(g);
        EXPECT_EQ(emu.binaryMac("fc"), nullptr);
        EXPECT_EQ(macMismatches(g, 2000, 13), 0u);
    }
}

namespace {

std::string readText(const fs::path& p) {
    std::ifstream f(p);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

size_t occurrences(const std::string& text, const std::string& what) {
    size_t n = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
}

// One model through the emulator, the HLS C simulation and Verilator: the expected Dense
// layers get the XNOR-popcount form (emulator, manifest, emitted code), and csim and rtlsim
// equal the emulator bit for bit on `rows` rows.
void expectXnorEverywhere(const std::string& name, const fs::path& model, const std::vector<std::string>& xnorLayers,
                          size_t rows) {
    SCOPED_TRACE(name);
    for (const char* io : {"io_parallel", "io_stream"}) {
        SCOPED_TRACE(io);
        Graph g = loadModel(model.string());
        runPipeline(g, Config::parse(std::string("IOType: ") + io + "\nModel:\n  Precision: ap_fixed<16,6>\n", "<test config>"));
        Emulator emu(g);
        std::vector<std::string> chosen;
        for (const Layer& l : g.layers)
            if (emu.binaryMac(l.name)) chosen.push_back(l.name);
        EXPECT_EQ(chosen, xnorLayers);
        const fs::path dir = fs::path(TACHYON_BINARY_DIR) / "binary_mac_tests" / (name + "_" + io);
        fs::remove_all(dir);

        hls::HlsOptions hopt;
        hopt.target = test_support::ioTarget(io);
        hopt.testRows = rows;
        hls::writeProject(g, emu, (dir / "hls").string(), hopt);
        const std::string top = readText(dir / "hls" / "firmware" / "myproject.cpp");
        EXPECT_EQ(occurrences(top, "nnet::dense_xnor<") + occurrences(top, "nnet::conv_xnor<"), xnorLayers.size()) << top;
        const auto hlsManifest = nlohmann::json::parse(readText(dir / "hls" / "tachyon_project.json"));
        EXPECT_EQ(hlsManifest["xnor_popcount_layers"].get<std::vector<std::string>>(), xnorLayers);
        std::ostringstream hlog;
        const hls::CsimResult cs = hls::csim((dir / "hls").string(), hlog);
        EXPECT_EQ(cs.rows, rows) << hlog.str();
        EXPECT_EQ(cs.mismatches, 0u) << hlog.str();

        if (std::string(io) == "io_stream") continue;   // one Verilog design per model
        verilog::VerilogOptions vopt;
        vopt.testRows = rows;
        verilog::writeProject(g, emu, (dir / "rtl").string(), vopt);
        const std::string v = readText(dir / "rtl" / "rtl" / "myproject.v");
        for (const std::string& l : xnorLayers) EXPECT_NE(v.find(l + "_xbit_"), std::string::npos) << l;
        const auto vManifest = nlohmann::json::parse(readText(dir / "rtl" / "tachyon_project.json"));
        EXPECT_EQ(vManifest["xnor_popcount_layers"].get<std::vector<std::string>>(), xnorLayers);
        std::ostringstream vlog;
        const verilog::RtlsimResult rs = verilog::rtlsim((dir / "rtl").string(), vlog);
        EXPECT_EQ(rs.rows, rows) << vlog.str();
        EXPECT_EQ(rs.mismatches, 0u) << vlog.str();
    }
}

}  // namespace

// The project's own BinaryNet MLP (scripts/make_quant_fixtures.py; H = 1 and 0.5): fc2 and
// fc3 read binary tanh outputs (fc1 reads the real-valued input and stays a MAC).
TEST(BinaryMac, OwnBinaryMlpEmulatorCsimRtlsimBitExact) {
    const char* env = std::getenv("TACHYON_FIXTURES");
    const fs::path model = fs::path(env && *env ? env : TACHYON_BINARY_DIR "/fixtures") / "quant" / "binary_mlp.json";
    if (!fs::exists(model)) GTEST_FAIL() << model << " is missing (scripts/make_quant_fixtures.py)";
    expectXnorEverywhere("binary_mlp", model, {"fc2", "fc3"}, 2000);
}

// The project's own channels-first binary QONNX CNN (scripts/make_quant_fixtures.py):
// BipolarQuant -> Transpose (layout) -> Conv 3x3 same -> BipolarQuant -> Conv 2x2 stride
// 2 -> BipolarQuant -> Transpose -> Flatten -> MatMul, every MAC binary x binary (the
// first Conv and the MatMul reach their Quantize through the Transpose / Flatten).
TEST(BinaryMac, OwnBinaryQonnxCnnEmulatorCsimRtlsimBitExact) {
    const char* env = std::getenv("TACHYON_FIXTURES");
    const fs::path model = fs::path(env && *env ? env : TACHYON_BINARY_DIR "/fixtures") / "quant" / "qonnx_bnn_conv.onnx";
    if (!fs::exists(model)) GTEST_FAIL() << model << " is missing (scripts/make_quant_fixtures.py)";
    expectXnorEverywhere("qonnx_bnn_conv", model, {"c1", "c2", "y"}, 1000);
}

// The zoo's KERAS_3layer_binary_smaller (BinaryMac + binary_tanh) and bnn_model_fc_1layer
// (QONNX BipolarQuant before a binary Gemm).
TEST(BinaryMac, ZooBinaryModelsEmulatorCsimRtlsimBitExact) {
    LONG_TEST_OR_SKIP();
    const fs::path shared = test_support::zooDir();
    ZOO_OR_SKIP();
    expectXnorEverywhere("binary_smaller", shared / "keras" / "KERAS_3layer_binary_smaller.json", {"fc2", "fc3", "output"},
                         2000);
    expectXnorEverywhere("bnn_fc_1layer", shared / "onnx" / "bnn_model_fc_1layer.onnx", {"linear_Gemm"}, 2000);
}

// ---- binary convolutions, and binary inputs reached through shape-only layers ----

namespace {

struct BinaryCnnCase {
    std::string name;
    Shape input = {9, 8, 3};            // [H, W, C] or [L, C]
    std::vector<int> kernel = {3, 3}, strides = {1, 1}, dilation = {1, 1}, padBegin = {1, 1}, padEnd = {1, 1};
    int filters = 5;
    std::vector<double> levels = {-1.0, 1.0};   // both Quantize layers' levels
    std::string quantizeResult = "ap_int<2>";
    double convWeightLevel = 1.0, denseWeightLevel = 0.5;
    std::string weight = "ap_fixed<4,2>", bias = "ap_fixed<8,4>", accum = "ap_fixed<16,10>";
    std::string result = "ap_fixed<16,10>";
    bool relu = false;
    bool transpose = false;             // Transpose (swap the spatial axes of a 2-D image) before the Flatten
    int denseOut = 4;                   // Quantize -> [Transpose ->] Flatten -> Dense (0: no Dense)
    int zeroWeights = 0;                // conv weights set to 0 (not binary)
    bool depthwise = false;
};

Layer& addLayer(Graph& g, const std::string& name, LayerKind kind, const std::string& input, Attrs attrs,
                Shape shape = {}) {
    Layer l;
    l.name = name;
    l.kind = kind;
    l.inputs = {input};
    l.attrs = std::move(attrs);
    l.shape = kind == LayerKind::Reshape ? shape : inferShape(kind, l.attrs, {g.at(input).shape});
    g.layers.push_back(l);
    return g.layers.back();
}

// Two-level Threshold Quantize over `in` with per-channel thresholds near 0.
void addSign(Graph& g, const std::string& name, const std::string& in, const BinaryCnnCase& bc) {
    QuantizeAttrs q;
    q.mode = QuantizeMode::Threshold;
    q.nThresholds = int(bc.levels.size()) - 1;
    q.levels = bc.levels;
    for (int k = 0; k < q.nThresholds; ++k) q.strict.push_back(k % 2);
    const int channels = g.at(in).shape.back();
    for (int c = 0; c < channels; ++c) {
        double t = -0.3 + 0.1 * (c % 5);
        for (int k = 0; k < q.nThresholds; ++k, t += 0.5) q.thresholds.push_back(t);
    }
    Layer& l = addLayer(g, name, LayerKind::Quantize, in, q);
    l.trained["result"] = FixedType::parse(bc.quantizeResult);
}

// Input -> sign -> conv (binary weights) -> sign2 -> [transpose ->] flatten -> fc (binary
// weights), types from the case.
Graph binaryCnn(const BinaryCnnCase& bc, uint64_t seed, const std::string& io = "io_parallel") {
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> normal(0.0, 1.0);
    Graph g;
    g.name = bc.name;
    g.sourceFile = "<test>";
    Layer in;
    in.name = "x";
    in.kind = LayerKind::Input;
    in.shape = bc.input;
    g.layers.push_back(in);
    addSign(g, "sign", "x", bc);
    ConvAttrs a;
    a.rank = int(bc.kernel.size());
    a.kernel = bc.kernel;
    a.strides = bc.strides;
    a.dilation = bc.dilation;
    a.padBegin = bc.padBegin;
    a.padEnd = bc.padEnd;
    a.inChannels = bc.input.back();
    a.outChannels = bc.depthwise ? a.inChannels : bc.filters;
    a.depthwise = bc.depthwise;
    a.activation = bc.relu ? ActKind::ReLU : ActKind::Linear;
    Layer& conv = addLayer(g, "conv", LayerKind::Conv, "sign", a);
    const auto [nIn, nOut] = macDims(conv);
    auto& w = conv.param("weight");
    for (int k = 0; k < nIn * nOut; ++k) w.push_back((rng() & 1 ? 1.0 : -1.0) * bc.convWeightLevel);
    for (int k = 0; k < bc.zeroWeights; ++k) w[rng() % w.size()] = 0.0;
    auto& b = conv.param("bias");
    for (int j = 0; j < nOut; ++j) b.push_back(std::ldexp(std::round(normal(rng) * 8.0), -2));
    std::string cfg = "IOType: " + io + "\nModel:\n  Precision: ap_fixed<16,6>\nLayerName:\n";
    auto types = [&](const std::string& layer) {
        cfg += "  " + layer + ":\n    Precision:\n      weight: " + bc.weight + "\n      bias: " + bc.bias +
               "\n      accum: " + bc.accum + "\n      result: " + bc.result + "\n";
    };
    types("conv");
    if (bc.denseOut > 0) {
        addSign(g, "sign2", "conv", bc);
        std::string last = "sign2";
        if (bc.transpose) {
            addLayer(g, "swap", LayerKind::Transpose, last, TransposeAttrs{{1, 0, 2}});
            last = "swap";
        }
        const int n = g.at(last).outSize();
        addLayer(g, "flat", LayerKind::Reshape, last, ReshapeAttrs{}, Shape{n});
        Layer& d = addLayer(g, "fc", LayerKind::Dense, "flat", DenseAttrs{n, bc.denseOut, ActKind::Linear});
        auto& dw = d.param("weight");
        for (int k = 0; k < n * bc.denseOut; ++k)
            dw.push_back((rng() & 1 ? 1.0 : -1.0) * bc.denseWeightLevel * (k % bc.denseOut % 2 ? 2.0 : 1.0));
        auto& db = d.param("bias");
        for (int j = 0; j < bc.denseOut; ++j) db.push_back(std::ldexp(std::round(normal(rng) * 8.0), -2));
        types("fc");
    }
    runPipeline(g, Config::parse(cfg, "<test config>"));
    return g;
}

std::vector<BinaryCnnCase> binaryCnnCases() {
    std::vector<BinaryCnnCase> cases;
    {
        BinaryCnnCase c;
        c.name = "conv2d_same_3x3";
        cases.push_back(c);
    }
    {
        BinaryCnnCase c;
        c.name = "conv2d_valid_strided_relu_transpose";
        c.input = {10, 9, 4};
        c.kernel = {3, 2};
        c.strides = {2, 1};
        c.padBegin = {0, 0};
        c.padEnd = {0, 0};
        c.filters = 6;
        c.relu = true;
        c.transpose = true;
        c.levels = {0.5, -0.5};   // inverted: below the threshold +a
        c.quantizeResult = "ap_fixed<4,1>";
        c.convWeightLevel = 0.75;
        c.result = "ap_fixed<8,5,AP_RND,AP_SAT>";
        cases.push_back(c);
    }
    {
        BinaryCnnCase c;
        c.name = "conv2d_asymmetric_same_dilated_strided";
        c.input = {8, 7, 5};
        c.kernel = {3, 3};
        c.strides = {2, 2};
        c.dilation = {2, 1};
        c.padBegin = {1, 1};
        c.padEnd = {2, 1};
        c.filters = 3;
        c.result = "ap_fixed<6,4,AP_RND_CONV,AP_SAT_SYM>";
        cases.push_back(c);
    }
    {
        BinaryCnnCase c;
        c.name = "conv2d_wide_window_70_inputs";   // 70 window inputs: two 64-bit words
        c.input = {6, 6, 14};
        c.kernel = {1, 5};
        c.padBegin = {0, 2};
        c.padEnd = {0, 2};
        c.filters = 4;
        c.accum = "ap_fixed<18,12>";
        c.result = "ap_fixed<7,5,AP_TRN,AP_WRAP>";
        cases.push_back(c);
    }
    {
        BinaryCnnCase c;
        c.name = "conv1d_same_relu";
        c.input = {20, 3};
        c.kernel = {5};
        c.strides = {1};
        c.dilation = {1};
        c.padBegin = {2};
        c.padEnd = {2};
        c.filters = 8;
        c.relu = true;
        c.levels = {-2.0, -2.0, 2.0};   // two thresholds, still only +-2
        c.quantizeResult = "ap_int<3>";
        c.convWeightLevel = 3.0;
        c.denseWeightLevel = 1.0;   // +-1 and +-2 (0.5 would be 0 in ap_int<3>)
        c.weight = "ap_int<3>";
        c.accum = "ap_int<14>";
        c.result = "ap_fixed<9,9,AP_TRN,AP_SAT>";
        cases.push_back(c);
    }
    {
        BinaryCnnCase c;
        c.name = "conv1d_causal_dilated_strided";
        c.input = {17, 4};
        c.kernel = {3};
        c.strides = {2};
        c.dilation = {3};
        c.padBegin = {6};
        c.padEnd = {0};
        c.filters = 5;
        cases.push_back(c);
    }
    {
        BinaryCnnCase c;
        c.name = "conv1d_valid";
        c.input = {12, 6};
        c.kernel = {4};
        c.strides = {1};
        c.dilation = {1};
        c.padBegin = {0};
        c.padEnd = {0};
        c.filters = 7;
        c.result = "ap_ufixed<5,3,AP_RND,AP_SAT>";
        cases.push_back(c);
    }
    return cases;
}

}  // namespace

// Binary convolutions (1-D and 2-D; same, asymmetric, causal and valid padding; strides;
// dilation; one- and two-word windows) and a binary Dense behind Quantize -> [Transpose ->]
// Flatten: the form is chosen for both, and the emulator (XNOR-popcount, the padded
// inputs left out of each position's popcount) equals the step-by-step accumulation on
// 3,000 rows per case.
TEST(BinaryMac, ConvXnorMatchesStepByStep) {
    for (const BinaryCnnCase& c : binaryCnnCases()) {
        SCOPED_TRACE(c.name);
        const Graph g = binaryCnn(c, 3);
        Emulator emu(g);
        const BinaryMac* conv = emu.binaryMac("conv");
        ASSERT_NE(conv, nullptr);
        const bool padded = std::any_of(c.padBegin.begin(), c.padBegin.end(), [](int p) { return p > 0; }) ||
                            std::any_of(c.padEnd.begin(), c.padEnd.end(), [](int p) { return p > 0; });
        EXPECT_EQ(conv->hasPadding(), padded);
        EXPECT_NE(emu.binaryMac("fc"), nullptr);
        EXPECT_EQ(macMismatches(g, 3000, 21), 0u);
    }
}

// Near misses keep the generic multiply-accumulate (and stay exact): a ternary input, a
// zero weight, a depthwise convolution, a Flatten of a tensor that is not binary.
TEST(BinaryMac, ConvNearMissesKeepGenericMac) {
    BinaryCnnCase base;
    base.input = {6, 5, 3};
    {
        BinaryCnnCase c = base;
        c.name = "ternary_input";
        c.levels = {-1.0, 0.0, 1.0};
        const Graph g = binaryCnn(c, 4);
        SCOPED_TRACE(c.name);
        EXPECT_FALSE(binaryMacForm(g, g.at("conv")).has_value());
        EXPECT_FALSE(binaryMacForm(g, g.at("fc")).has_value());
        EXPECT_EQ(macMismatches(g, 1000, 5), 0u);
    }
    {
        BinaryCnnCase c = base;
        c.name = "zero_weight";
        c.zeroWeights = 1;
        const Graph g = binaryCnn(c, 4);
        SCOPED_TRACE(c.name);
        EXPECT_FALSE(binaryMacForm(g, g.at("conv")).has_value());
        EXPECT_TRUE(binaryMacForm(g, g.at("fc")).has_value());
        EXPECT_EQ(macMismatches(g, 1000, 5), 0u);
    }
    {
        BinaryCnnCase c = base;
        c.name = "depthwise";
        c.depthwise = true;
        c.denseOut = 0;
        const Graph g = binaryCnn(c, 4);
        SCOPED_TRACE(c.name);
        EXPECT_FALSE(binaryMacForm(g, g.at("conv")).has_value());
        EXPECT_EQ(macMismatches(g, 1000, 5), 0u);
    }
    {
        // Input -> Flatten -> Dense: the flattened tensor is the real-valued input.
        Graph g;
        g.name = "flatten_of_input";
        g.sourceFile = "<test>";
        Layer in;
        in.name = "x";
        in.kind = LayerKind::Input;
        in.shape = {4, 3};
        g.layers.push_back(in);
        addLayer(g, "flat", LayerKind::Reshape, "x", ReshapeAttrs{}, Shape{12});
        Layer& d = addLayer(g, "fc", LayerKind::Dense, "flat", DenseAttrs{12, 2, ActKind::Linear});
        for (int k = 0; k < 24; ++k) d.param("weight").push_back(k % 3 ? 1.0 : -1.0);
        d.param("bias") = {0.0, 0.5};
        runPipeline(g, Config::parse("Model:\n  Precision: ap_fixed<16,6>\n", "<test config>"));
        EXPECT_FALSE(binaryMacForm(g, g.at("fc")).has_value());
    }
}

// Binary CNNs built here through the emulator, the HLS C simulation (io_parallel and
// io_stream) and Verilator (both): the convolution (conv_xnor in HLS, xnorRtl on the
// Verilog stream, ternary re-encoded where padding zeroes taps) and the Dense behind
// Quantize -> Flatten are XNOR-popcount everywhere, and csim and rtlsim equal the emulator
// bit for bit on 1,000 rows.
TEST(BinaryMac, OwnBinaryCnnsEmulatorCsimRtlsimBitExact) {
    std::vector<BinaryCnnCase> cases;
    {
        BinaryCnnCase c;
        c.name = "cnn2d_same_strided";   // padded taps, A = 4 LSB: the 2-bit {sign, x != 0} taps
        c.input = {7, 6, 3};
        c.strides = {2, 1};
        c.filters = 4;
        c.relu = true;
        c.levels = {-0.5, 0.5};
        c.quantizeResult = "ap_fixed<4,1>";
        cases.push_back(c);
    }
    {
        BinaryCnnCase c;
        c.name = "cnn1d_dilated_valid";   // no padding: 1-bit taps
        c.input = {14, 3};
        c.kernel = {3};
        c.strides = {1};
        c.dilation = {2};
        c.padBegin = {0};
        c.padEnd = {0};
        c.filters = 5;
        c.result = "ap_fixed<8,5,AP_RND,AP_SAT>";
        cases.push_back(c);
    }
    const size_t rows = 1000;
    for (const BinaryCnnCase& bc : cases) {
        SCOPED_TRACE(bc.name);
        for (const char* io : {"io_parallel", "io_stream"}) {
            SCOPED_TRACE(io);
            const Graph g = binaryCnn(bc, 9, io);
            Emulator emu(g);
            ASSERT_NE(emu.binaryMac("conv"), nullptr);
            ASSERT_NE(emu.binaryMac("fc"), nullptr);
            const fs::path dir = fs::path(TACHYON_BINARY_DIR) / "binary_mac_tests" / (bc.name + "_" + io);
            fs::remove_all(dir);

            hls::HlsOptions hopt;
            hopt.target = test_support::ioTarget(io);
            hopt.testRows = rows;
            hls::writeProject(g, emu, (dir / "hls").string(), hopt);
            const std::string top = readText(dir / "hls" / "firmware" / "myproject.cpp");
            EXPECT_EQ(occurrences(top, "nnet::conv_xnor<"), 1u) << top;
            EXPECT_EQ(occurrences(top, "nnet::dense_xnor<"), 1u) << top;
            const auto hlsManifest = nlohmann::json::parse(readText(dir / "hls" / "tachyon_project.json"));
            EXPECT_EQ(hlsManifest["xnor_popcount_layers"].get<std::vector<std::string>>(),
                      (std::vector<std::string>{"conv", "fc"}));
            std::ostringstream hlog;
            const hls::CsimResult cs = hls::csim((dir / "hls").string(), hlog);
            EXPECT_EQ(cs.rows, rows) << hlog.str();
            EXPECT_EQ(cs.mismatches, 0u) << hlog.str();

            verilog::VerilogOptions vopt;
            vopt.target = test_support::ioTarget(io);
            vopt.testRows = rows;
            verilog::writeProject(g, emu, (dir / "rtl").string(), vopt);
            const std::string v = readText(dir / "rtl" / "rtl" / "myproject.v");
            EXPECT_NE(v.find("conv_xbit_"), std::string::npos);
            EXPECT_NE(v.find("fc_xbit_"), std::string::npos);
            const auto vManifest = nlohmann::json::parse(readText(dir / "rtl" / "tachyon_project.json"));
            EXPECT_EQ(vManifest["xnor_popcount_layers"].get<std::vector<std::string>>(),
                      (std::vector<std::string>{"conv", "fc"}));
            std::ostringstream vlog;
            const verilog::RtlsimResult rs = verilog::rtlsim((dir / "rtl").string(), vlog);
            EXPECT_EQ(rs.rows, rows) << vlog.str();
            EXPECT_EQ(rs.mismatches, 0u) << vlog.str();
        }
    }
}
