// Verilog for quantisation-aware models (Quantize layers; binary, ternary, po2 and
// heterogeneous weights in the shift-add CMVM): rtlsim == emulator bit for bit on the zoo's
// QKeras / HGQ / binary / ternary / QONNX models and on the project's own quantised fixtures
// (scripts/make_quant_fixtures.py), each design built by Verilator once.
#include "support/zoo.h"
#include "backends/ProjectFiles.h"
#include "backends/verilog/Cmvm.h"
#include "backends/verilog/VerilogWriter.h"
#include "config/Config.h"
#include "emulator/Emulator.h"
#include "frontends/Frontend.h"
#include "passes/Pass.h"
#include "util/Error.h"
#include "support/long_tests.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <random>
#include <sstream>

namespace fs = std::filesystem;
using namespace tachyon;

namespace {

const fs::path kModels = test_support::zooDir();

fs::path fixtureDir() {
    const char* env = std::getenv("TACHYON_FIXTURES");   // filled by ctest's make_fixtures step
    return fs::path(env && *env ? env : TACHYON_BINARY_DIR "/fixtures") / "quant";
}

// How the test rows drive the model's Quantize layers: outputs of Fixed-mode quantisers
// clipped to their largest value (or, signed, their most negative one), and outputs of
// Threshold-mode quantisers at their bottom and at their top level. The rows are exactly
// those writeProject puts in sim/input_raw.dat (same generator, same seed).
struct QuantizerCoverage {
    size_t fixedValues = 0, fixedClipped = 0;
    size_t thresholdValues = 0, thresholdBottom = 0, thresholdTop = 0;
};

QuantizerCoverage quantizerCoverage(const Graph& g, const Emulator& emu, size_t rows, uint64_t seed) {
    const FixedType inT = g.input().type("result");
    const std::vector<int64_t> raw = backend::randomTestRows(inT, rows, size_t(g.inputSize()), seed);
    std::vector<double> x(raw.size());
    for (size_t k = 0; k < raw.size(); ++k) x[k] = std::ldexp(double(raw[k]), -inT.frac());
    const auto trace = emu.traceFixed(x.data(), rows);
    QuantizerCoverage cov;
    for (size_t li = 0; li < g.layers.size(); ++li) {
        const Layer& l = g.layers[li];
        if (l.kind != LayerKind::Quantize) continue;
        const auto& a = l.as<QuantizeAttrs>();
        const FixedType& outT = l.type("result");
        const size_t n = size_t(l.outSize());
        for (size_t k = 0; k < trace[li].size(); ++k) {
            const double y = trace[li][k];
            if (a.mode == QuantizeMode::Fixed) {
                const size_t e = a.width.size() == 1 ? 0 : k % n;
                if (a.width[e] == 0) continue;
                const FixedType t = a.elementType(e);
                const bool symmetric = t.overflow == Overflow::SAT_SYM;
                const double hi = outT.quantize(t.maxValue());
                const double lo = outT.quantize(t.minValue() + (symmetric ? t.lsb() : 0.0));
                ++cov.fixedValues;
                cov.fixedClipped += y >= hi || (t.isSigned && y <= lo);
            } else {
                ++cov.thresholdValues;
                cov.thresholdTop += y == outT.quantize(a.levels.back());
                cov.thresholdBottom += y == outT.quantize(a.levels.front());
            }
        }
    }
    return cov;
}

// Builds the project once (Verilator), rtlsim on `rows` rows, expects every row equal to
// the emulator; also expects Quantize layers in the graph and test rows that saturate
// the quantisers (see QuantizerCoverage).
void expectRtlsimBitExact(const std::string& name, const fs::path& model, const std::string& yaml, size_t rows) {
    SCOPED_TRACE(name);
    Graph g = loadModel(model.string());
    runPipeline(g, Config::parse(yaml, "<test config>"));
    ASSERT_TRUE(std::any_of(g.layers.begin(), g.layers.end(), [](const Layer& l) { return l.kind == LayerKind::Quantize; }))
        << name << " has no Quantize layer";
    Emulator emu(g);
    verilog::VerilogOptions opt;
    opt.testRows = rows;
    const fs::path dir = fs::path(TACHYON_BINARY_DIR) / "verilog_tests" / ("quant_" + name);
    fs::remove_all(dir);
    verilog::writeProject(g, emu, dir.string(), opt);
    std::ostringstream log;
    const verilog::RtlsimResult r = verilog::rtlsim(dir.string(), log);
    EXPECT_EQ(r.rows, rows) << log.str();
    EXPECT_EQ(r.mismatches, 0u) << log.str();
    const QuantizerCoverage cov = quantizerCoverage(g, emu, rows, opt.seed);
    if (cov.fixedValues > 0) {
        EXPECT_GT(cov.fixedClipped, 0u) << "no test row saturates a quantiser";
    }
    if (cov.thresholdValues > 0) {
        EXPECT_GT(cov.thresholdBottom, 0u) << "no test row reaches a threshold quantiser's bottom level";
        EXPECT_GT(cov.thresholdTop, 0u) << "no test row reaches a threshold quantiser's top level";
    }
    std::cout << "[ rtlsim   ] " << name << ": " << r.rows << " rows, " << r.mismatches << " mismatches; quantiser outputs: "
              << cov.fixedClipped << " of " << cov.fixedValues << " fixed-point clipped, " << cov.thresholdBottom << " / "
              << cov.thresholdTop << " of " << cov.thresholdValues << " threshold at the bottom / top level\n";
}

// The zoo's quantised models take their types from the trained quantisers; the rest
// (input, softmax) from this default, as hls4ml's configs for them.
const char* kDefault16 = "Model:\n  Precision: ap_fixed<16,6>\n";

}  // namespace

// Binary (+-1) and ternary (+-1, 0) weights are additions and subtractions of the inputs
// (no shifted terms, one term per non-zero weight), po2 weights one shifted term each: the
// only adders are those that sum the terms (fewer with CSE), and the graph is exact.
TEST(VerilogQuant, BinaryTernaryPo2WeightsAreAddSubtractShift) {
    const int nIn = 24, nOut = 16;
    std::mt19937_64 rng(11);
    for (const char* kind : {"binary", "ternary", "po2"}) {
        SCOPED_TRACE(kind);
        std::vector<int64_t> m(size_t(nIn) * nOut);
        for (auto& v : m) {
            const int64_t sign = (rng() & 1) ? 1 : -1;
            if (std::string(kind) == "binary") v = sign;
            else if (std::string(kind) == "ternary") v = (rng() % 3 == 0) ? 0 : sign;
            else v = (rng() % 4 == 0) ? 0 : sign * (int64_t(1) << (rng() % 5));
        }
        int terms = 0, nonZeroOutputs = 0;
        for (int j = 0; j < nOut; ++j) {
            int t = 0;
            for (int i = 0; i < nIn; ++i) t += m[size_t(i) * nOut + j] != 0;
            terms += t;
            nonZeroOutputs += t > 0;
        }
        verilog::CmvmOptions noCse;
        noCse.cse = false;
        for (const verilog::AdderGraph& g : {verilog::buildCmvm(m, nIn, nOut), verilog::buildCmvm(m, nIn, nOut, noCse)}) {
            EXPECT_LE(g.adders(), terms - nonZeroOutputs);
            if (std::string(kind) != "po2") {
                for (const auto& a : g.nodes) EXPECT_EQ(a.b.shift, 0);
                for (const auto& o : g.outputs) {
                    if (o) {
                        EXPECT_EQ(o->shift, 0);
                    }
                }
            }
            for (int trial = 0; trial < 20; ++trial) {
                std::vector<Int128> x(static_cast<size_t>(nIn));
                for (auto& v : x) v = Int128(int64_t(rng() % 4096) - 2048);
                const std::vector<Int128> y = verilog::evaluate(g, x);
                for (int j = 0; j < nOut; ++j) {
                    Int128 want = 0;
                    for (int i = 0; i < nIn; ++i) want += x[size_t(i)] * m[size_t(i) * nOut + j];
                    ASSERT_TRUE(y[size_t(j)] == want) << "output " << j;
                }
            }
        }
    }
}

// Every quantisation and overflow mode the emulator has, in one design (one Verilator
// build): the input goes to 28 Fixed-mode Quantize layers (one per mode pair) with
// per-element types (widths 1..9, integer bits -2..6, signed and unsigned, a 0-bit
// element) and a narrower result that casts again, and to a Threshold layer with
// per-channel unsorted rows, strict and non-strict thresholds, thresholds beyond the
// input's range on both sides and a level that overflows the result; all concatenated.
TEST(VerilogQuant, AllQuantiserModesBitExact) {
    const int n = 12;
    Graph g;
    g.name = "quant_modes";
    g.sourceFile = "<test>";
    Layer in;
    in.name = "x";
    in.kind = LayerKind::Input;
    in.shape = {n};
    g.layers.push_back(in);
    Layer cat;
    cat.name = "all";
    cat.kind = LayerKind::Concatenate;
    cat.attrs = ConcatAttrs{0};
    const Quant quants[] = {Quant::TRN, Quant::TRN_ZERO, Quant::RND, Quant::RND_ZERO, Quant::RND_INF, Quant::RND_MIN_INF, Quant::RND_CONV};
    const Overflow overflows[] = {Overflow::WRAP, Overflow::SAT, Overflow::SAT_ZERO, Overflow::SAT_SYM};
    int k = 0;
    for (Quant q : quants) {
        for (Overflow o : overflows) {
            QuantizeAttrs a;
            a.quant = q;
            a.overflow = o;
            for (int e = 0; e < n; ++e) {
                const int w = e == (k % n) ? 0 : 1 + (e * 5 + k) % 9;
                a.width.push_back(w);
                a.integer.push_back(-2 + (e * 3 + k) % 9);
                a.isSigned.push_back((e + k) % 3 != 0);
            }
            Layer l;
            l.name = "q" + std::to_string(k++);
            l.kind = LayerKind::Quantize;
            l.inputs = {"x"};
            l.shape = {n};
            l.attrs = a;
            l.trained["result"] = FixedType::parse(k % 2 ? "ap_fixed<7,3,AP_RND,AP_SAT>" : "ap_fixed<6,2,AP_TRN,AP_WRAP>");
            g.layers.push_back(l);
            cat.inputs.push_back(l.name);
        }
    }
    QuantizeAttrs t;
    t.mode = QuantizeMode::Threshold;
    t.nThresholds = 3;
    t.strict = {1, 0, 1};
    for (int c = 0; c < n; ++c) {
        const double base = -3.0 + 0.5 * c;
        const std::vector<double> row = c == 0   ? std::vector<double>{40.0, -1.0, 50.0}     // two never reached
                                        : c == 1 ? std::vector<double>{-60.0, -40.0, 0.25}  // two always reached
                                                 : std::vector<double>{base + 1.0, base, base + 0.3125};
        t.thresholds.insert(t.thresholds.end(), row.begin(), row.end());
    }
    t.levels = {-2.0, -0.5, 1.0, 9.0};   // 9 overflows ap_fixed<6,3>
    Layer th;
    th.name = "thr";
    th.kind = LayerKind::Quantize;
    th.inputs = {"x"};
    th.shape = {n};
    th.attrs = t;
    th.trained["result"] = FixedType::parse("ap_fixed<6,3,AP_TRN,AP_SAT>");
    g.layers.push_back(th);
    cat.inputs.push_back(th.name);
    cat.shape = {n * int(cat.inputs.size())};
    g.layers.push_back(cat);
    runPipeline(g, Config::parse("Model:\n  Precision: ap_fixed<12,4>\n", "<test config>"));
    Emulator emu(g);
    verilog::VerilogOptions opt;
    opt.testRows = 5000;
    const fs::path dir = fs::path(TACHYON_BINARY_DIR) / "verilog_tests" / "quant_modes";
    fs::remove_all(dir);
    verilog::writeProject(g, emu, dir.string(), opt);
    std::ostringstream log;
    const verilog::RtlsimResult r = verilog::rtlsim(dir.string(), log);
    EXPECT_EQ(r.rows, opt.testRows) << log.str();
    EXPECT_EQ(r.mismatches, 0u) << log.str();
    const QuantizerCoverage cov = quantizerCoverage(g, emu, opt.testRows, opt.seed);
    EXPECT_GT(cov.fixedClipped, 0u);
    EXPECT_GT(cov.thresholdBottom, 0u);
    EXPECT_GT(cov.thresholdTop, 0u);
}

// The zoo's quantisation-aware models: QKeras (quantized_bits/relu), binary and ternary
// Keras layers, HGQ (per-element heterogeneous types, pruned elements), QONNX
// (BipolarQuant / MultiThreshold).
TEST(VerilogQuant, SharedModelsRtlsimMatchEmulator) {
    LONG_TEST_OR_SKIP();
    ZOO_OR_SKIP();
    const std::pair<const char*, const char*> models[] = {
        {"qkeras_3layer", "keras/qkeras_3layer.json"},
        {"qkeras_mnist_dense", "keras/qkeras_mnist_dense.json"},
        {"binary_smaller", "keras/KERAS_3layer_binary_smaller.json"},
        {"ternary_small", "keras/KERAS_3layer_ternary_small.json"},
        {"hgq_jet_classifier", "keras/hgq_jet_classifier.h5"},
        {"bnn_fc_1layer", "onnx/bnn_model_fc_1layer.onnx"},
    };
    for (const auto& [name, path] : models) expectRtlsimBitExact(name, kModels / path, kDefault16, 2000);
}

// The project's own fixtures (no ../shared needed): a QKeras-format CNN (QConv2D,
// QDepthwiseConv2D, quantized_relu/tanh, QAveragePooling, po2 QDense; streaming RTL), and
// QONNX models with Quant on weights and activations, MultiThreshold per channel
// (channels-first, unsorted rows) and shared, a channels-first Conv1D (streaming), and
// Trunc versions 1 and 2 after quantised accumulators.
TEST(VerilogQuant, QuantizedFixturesRtlsimMatchEmulator) {
    const fs::path dir = fixtureDir();
    for (const char* m : {"qcnn.json", "qonnx_mlp.onnx", "qonnx_threshold.onnx", "qonnx_conv.onnx", "qonnx_trunc.onnx",
                          "binary_mlp.json", "ternary_mlp.json"}) {
        if (!fs::exists(dir / m)) {
            ADD_FAILURE() << (dir / m) << " is missing (scripts/make_quant_fixtures.py)";
            continue;
        }
        expectRtlsimBitExact(fs::path(m).stem().string(), dir / m, "Model:\n  ReuseFactor: 1\n", 2000);
    }
}

// Per-element quantisers that differ between the pixels of a stream cannot be applied
// per channel by the streaming RTL: refused with the layer's name.
TEST(VerilogQuant, StreamWithPerPixelQuantisersIsRefusedByName) {
    const fs::path model = fixtureDir() / "qcnn.json";
    if (!fs::exists(model)) GTEST_FAIL() << model << " is missing (scripts/make_quant_fixtures.py)";
    Graph g = loadModel(model.string());
    runPipeline(g, Config::parse("Model:\n  ReuseFactor: 1\n", "<test config>"));
    auto it = std::find_if(g.layers.begin(), g.layers.end(), [](const Layer& l) {
        return l.kind == LayerKind::Quantize && l.as<QuantizeAttrs>().mode == QuantizeMode::Fixed && l.shape.size() > 1;
    });
    ASSERT_NE(it, g.layers.end()) << "qcnn has no Quantize layer on a stream";
    auto& a = it->as<QuantizeAttrs>();
    const size_t n = size_t(it->outSize());
    a.width.assign(n, a.width[0]);
    a.integer.assign(n, a.integer[0]);
    a.isSigned.assign(n, a.isSigned[0]);
    a.width[n - 1] = 0;   // the last pixel's last channel pruned, the others not
    Emulator emu(g);
    try {
        verilog::generateRtl(g, emu, {});
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find(it->name), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("differ between pixels"), std::string::npos) << e.what();
    }
}
