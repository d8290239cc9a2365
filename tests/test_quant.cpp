// Quantisation-aware models: QKeras quantisers against hand-derived values, the Quantize
// kernel, and whole models (the zoo's QKeras/HGQ/binary/ternary models and an own QKeras
// CNN fixture) against independent numpy re-implementations of the frameworks' inference
// (scripts/make_quant_fixtures.py).
#include "support/zoo.h"
#include "emulator/Emulator.h"
#include "frontends/Frontend.h"
#include "frontends/QuantizerMath.h"
#include "passes/Pass.h"
#include "util/Error.h"
#include "util/Npy.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

using namespace tachyon;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const std::string kShared = test_support::zooDir();

std::string fixtures() {
    const char* env = std::getenv("TACHYON_FIXTURES");
    return std::string(env ? env : TACHYON_BINARY_DIR "/fixtures") + "/quant";
}

QKerasQuantizer parse(const std::string& s) { return *parseQKerasQuantizer(json(s), "test"); }

std::vector<double> weights(const std::string& q, std::vector<double> w, std::vector<size_t> dims = {}) {
    if (dims.empty()) dims = {w.size()};
    return quantizeWeights(parse(q), w, dims, "test").values;
}

// Applies an activation quantiser through a one-layer graph (fixed and float mode).
struct Act {
    Emulator* emu;
    std::unique_ptr<Emulator> own;
};

std::unique_ptr<Emulator> quantizerModel(const QuantizeAttrs& a, const FixedType& result, int n,
                                         const std::string& inType = "ap_fixed<16,6>") {
    Graph g;
    g.name = "q";
    Layer in;
    in.name = "x";
    in.kind = LayerKind::Input;
    in.shape = {n};
    g.layers.push_back(in);
    Layer q;
    q.name = "q";
    q.kind = LayerKind::Quantize;
    q.inputs = {"x"};
    q.shape = {n};
    q.attrs = a;
    q.trained["result"] = result;
    g.layers.push_back(q);
    Config cfg = Config::parse("Model:\n  Precision: " + inType + "\n", "test");
    runPipeline(g, cfg);
    return std::make_unique<Emulator>(g);
}

std::vector<double> runFixed(const Emulator& emu, const std::vector<double>& x) {
    const size_t rows = x.size() / size_t(emu.inputSize());
    std::vector<int64_t> raw(rows * size_t(emu.outputSize()));
    std::vector<double> y(raw.size());
    emu.runFixed(x.data(), rows, raw.data(), y.data());
    return y;
}

std::vector<double> runFloat(const Emulator& emu, const std::vector<double>& x) {
    const size_t rows = x.size() / size_t(emu.inputSize());
    std::vector<double> y(rows * size_t(emu.outputSize()));
    emu.runFloat(x.data(), rows, y.data());
    return y;
}

std::unique_ptr<Emulator> model(const std::string& path, const std::string& cfgYaml = "Model:\n  Precision: ap_fixed<16,6>\n") {
    Graph g = loadModel(path);
    runPipeline(g, Config::parse(cfgYaml, "test"));
    return std::make_unique<Emulator>(g);
}

}  // namespace

// quantized_bits(6,0): LSB 1/32, ties to even, saturating at [-1, 31/32].
TEST(QuantMath, QuantizedBitsRoundsHalfEvenAndSaturates) {
    const double l = 1.0 / 32;
    EXPECT_EQ(weights("quantized_bits(6,0)", {0.5 * l, 1.5 * l, 2.5 * l, -0.5 * l, -1.5 * l, 2.0, -2.0, 0.96875}),
              (std::vector<double>{0, 2 * l, 2 * l, 0, -2 * l, 31 * l, -1.0, 31 * l}));
    // symmetric: the most negative code is dropped; keep_negative=False: unsigned, [0, 63/64].
    EXPECT_EQ(weights("quantized_bits(6,0,1)", {-2.0})[0], -31 * l);
    EXPECT_EQ(weights("quantized_bits(6,0,keep_negative=False)", {-0.3, 0.3, 5.0}),
              (std::vector<double>{0, 19.0 / 64, 63.0 / 64}));
    // integer bits move the point: quantized_bits(4,2): LSB 1/2, range [-4, 3.5].
    EXPECT_EQ(weights("quantized_bits(4,2)", {1.25, 1.75, 9.0, -9.0}), (std::vector<double>{1.0, 2.0, 3.5, -4.0}));
    // a numeric alpha scales the grid; one bit is sign(x) with 0 -> +1.
    EXPECT_EQ(weights("quantized_bits(6,0,alpha=0.5)", {0.5})[0], 0.25);
    EXPECT_EQ(weights("quantized_bits(1,0)", {-0.2, 0.0, 0.3}), (std::vector<double>{-1, 1, 1}));
    const FixedType t = quantizedBitsType(parse("quantized_bits(6,0)"));
    EXPECT_EQ(t.str(), "ap_fixed<6,1,AP_RND_CONV,AP_SAT>");
    EXPECT_EQ(quantizedBitsType(parse("quantized_bits(4,0,1)")).overflow, Overflow::SAT_SYM);
}

// alpha="auto_po2": per output channel, scale = 2^round(log2(2 max|w| / levels)), refined
// by least squares on the quantised values (QKeras' 5 iterations).
TEST(QuantMath, QuantizedBitsAutoPo2ScalesPerChannel) {
    // Two channels (last axis): column 0 max 0.9, column 1 max 0.1; bits 4 -> levels 14.
    const std::vector<double> w = {0.9, 0.1, -0.45, 0.05, 0.2, -0.02};
    const auto q = quantizeWeights(parse("quantized_bits(4,0,alpha='auto_po2')"), w, {3, 2}, "test");
    ASSERT_TRUE(q.channelScale.empty());   // powers of two are multiplied in
    // Column 0: scale 2^round(log2(0.9*2/14)) = 2^-3 -> z = round(w/0.125) clipped at 7:
    // {7, -4, 2} (0.9/0.125 = 7.2); least squares keeps 1/8.
    EXPECT_DOUBLE_EQ(q.values[0], 7 * 0.125);
    EXPECT_DOUBLE_EQ(q.values[2], -4 * 0.125);   // -0.45/0.125 = -3.6
    EXPECT_DOUBLE_EQ(q.values[4], 2 * 0.125);    // 0.2/0.125 = 1.6
    // Column 1: 2^round(log2(0.2/14)) = 2^-6: z = {6.4 -> 6, 3.2 -> 3, -1.28 -> -1}; least
    // squares (0.1*6 + 0.05*3 + 0.02*1)/(36+9+1) = 0.0167 -> 2^-6.
    EXPECT_DOUBLE_EQ(q.values[1], 6.0 / 64);
    EXPECT_DOUBLE_EQ(q.values[3], 3.0 / 64);
    EXPECT_DOUBLE_EQ(q.values[5], -1.0 / 64);
    // alpha="auto": the scale is kept apart (per channel), the grid values are integers * m_i.
    const auto a = quantizeWeights(parse("quantized_bits(4,0,alpha='auto')"), w, {3, 2}, "test");
    ASSERT_EQ(a.channelScale.size(), 2u);
    EXPECT_DOUBLE_EQ(a.channelScale[0], 0.9 * 2 / 14);
    EXPECT_DOUBLE_EQ(a.values[0], 7.0);
}

TEST(QuantMath, BinaryTernaryPo2Weights) {
    EXPECT_EQ(weights("binary", {-0.3, 0.0, 2.0}), (std::vector<double>{-1, 1, 1}));
    EXPECT_EQ(weights("binary(use_01=True)", {-0.3, 0.0}), (std::vector<double>{0, 1}));
    EXPECT_EQ(weights("binary(alpha=0.5)", {-3.0})[0], -0.5);
    // ternary: |x| >= 0.33 (float32, as the weights: a weight of 0.33 reaches it) -> sign(x).
    EXPECT_EQ(weights("ternary", {0.33, 0.329, -0.5, 0.1, -0.33}), (std::vector<double>{1, 0, -1, 0, -1}));
    EXPECT_EQ(weights("ternary(threshold=0.5)", {0.5, -0.49}), (std::vector<double>{1, 0}));
    // quantized_po2(4, max_value=1): exponents in [-8, 7] (no exponent sign bit needed),
    // |x| clipped to 1, x ~ 0 gives +2^-8.
    EXPECT_EQ(weights("quantized_po2(4,1)", {0.3, -0.7, 5.0, 0.0, 1e-5}),
              (std::vector<double>{0.25, -0.5, 1.0, 1.0 / 256, 1.0 / 256}));
    // quantized_po2(4): exponents [-4, 3].
    EXPECT_EQ(weights("quantized_po2(4)", {100.0, 0.001}), (std::vector<double>{8.0, 1.0 / 16}));
    EXPECT_THROW(parse("quantized_ulaw(8)"), Error);
    EXPECT_THROW(parse("quantized_bits(6,0,qnoise_factor=0.5)"), Error);
}

TEST(QuantMath, ExactTypeHoldsEveryValue) {
    EXPECT_EQ(exactTypeFor({0.5, -0.25, 0.75}, "t").str(), "ap_fixed<3,1>");
    EXPECT_EQ(exactTypeFor({16.0, -1.5}, "t").str(), "ap_fixed<7,6>");
    EXPECT_EQ(exactTypeFor({1.0, 3.0}, "t").str(), "ap_uint<2>");
    EXPECT_THROW(exactTypeFor({1e-30}, "t"), Error);   // beyond 64 fraction bits
}

// quantized_relu(3,1): ap_ufixed<3,1,RND_CONV,SAT>: LSB 1/4, [0, 1.75], ties to even.
TEST(QuantKernel, QuantizedReluTanhSigmoid) {
    FixedType r;
    auto relu = quantizerModel(activationQuantizer(parse("quantized_relu(3,1)"), r, "t"), r, 6);
    const std::vector<double> x = {-1.0, 0.125, 0.375, 0.625, 1.9, 1.0};
    const std::vector<double> want = {0, 0, 0.5, 0.5, 1.75, 1.0};
    EXPECT_EQ(runFixed(*relu, x), want);
    EXPECT_EQ(runFloat(*relu, x), want);
    // quantized_tanh(4): clip(round(clip(x,-1,1)*8)/8, -1, 7/8).
    auto tanh = quantizerModel(activationQuantizer(parse("quantized_tanh(4)"), r, "t"), r, 4);
    EXPECT_EQ(runFixed(*tanh, {-3.0, 0.0625, 0.1875, 2.0}), (std::vector<double>{-1, 0, 0.25, 0.875}));
    // quantized_sigmoid(2): clip(round((x/2+1/2)*4)/4, 0, 3/4), ties to even: x = -0.25 ->
    // p*4 = 1.5 -> 2; x = 0.25 -> 2.5 -> 2; x = -0.75 -> 0.5 -> 0; x = 0.26 -> 2.52 -> 3.
    auto sig = quantizerModel(activationQuantizer(parse("quantized_sigmoid(2)"), r, "t"), r, 5);
    const std::vector<double> xs = {-0.25, 0.25, -0.75, 0.26, 9.0}, ws = {0.5, 0.5, 0, 0.75, 0.75};
    EXPECT_EQ(runFixed(*sig, xs), ws);
    EXPECT_EQ(runFloat(*sig, xs), ws);
    // binary activation: sign with 0 -> +1; ternary: -alpha for x <= -t.
    auto bin = quantizerModel(activationQuantizer(parse("binary"), r, "t"), r, 3);
    EXPECT_EQ(runFixed(*bin, {-0.001, 0.0, 3.0}), (std::vector<double>{-1, 1, 1}));
    auto ter = quantizerModel(activationQuantizer(parse("ternary(threshold=0.5)"), r, "t"), r, 4);
    EXPECT_EQ(runFixed(*ter, {-0.5, -0.49, 0.49, 0.5}), (std::vector<double>{-1, 0, 0, 1}));
    EXPECT_EQ(runFloat(*ter, {-0.5, -0.49, 0.49, 0.5}), (std::vector<double>{-1, 0, 0, 1}));
}

// HGQ per-element types: fixed<4,2> TRN WRAP, ufixed<3,1>, a 0-bit element.
TEST(QuantKernel, PerElementTypesWrapAndZeroBits) {
    QuantizeAttrs a;
    a.quant = Quant::TRN;
    a.overflow = Overflow::WRAP;
    a.width = {4, 3, 0};
    a.integer = {2, 1, 0};
    a.isSigned = {1, 0, 0};
    const FixedType u = unionType(a);
    EXPECT_EQ(u.width, 4);   // sign + 1 integer + 2 fraction bits: fixed<4,2> holds ufixed<3,1> too
    EXPECT_EQ(u.integer, 2);
    auto emu = quantizerModel(a, u, 3);
    // 2.3 -> floor(2.3*4)=9 -> wraps in [-8, 7] to -7 -> -1.75; -0.3 -> floor(-1.2)=-2 -> in
    // ufixed<3,1> wraps mod 8 to 6 -> 1.5; the 0-bit element is 0.
    EXPECT_EQ(runFixed(*emu, {2.3, -0.3, 5.0}), (std::vector<double>{-1.75, 1.5, 0.0}));
    EXPECT_EQ(runFloat(*emu, {2.3, -0.3, 5.0}), (std::vector<double>{-1.75, 1.5, 0.0}));
}

// The qkeras_3layer jet tagger: the fixed-point logits equal QKeras' inference (numpy
// re-implementation) exactly; the float softmax equals it too.
TEST(QuantModels, QKeras3LayerEqualsQKerasInference) {
    const std::string ref = fixtures() + "/qkeras_3layer_X.npy";
    if (!fs::exists(ref)) GTEST_SKIP() << "no " << ref << " (needs ../shared/models and make_quant_fixtures.py)";
    size_t rows, cols, r2, c2;
    const auto x = readNpy(ref, rows, cols);
    const auto logits = readNpy(fixtures() + "/qkeras_3layer_logits.npy", r2, c2);
    const auto y = readNpy(fixtures() + "/qkeras_3layer_Y.npy", r2, c2);
    for (const std::string& cfg : {std::string("Model:\n  Precision: ap_fixed<16,6>\n"),
                                  std::string("")}) {
        std::unique_ptr<Emulator> emu;
        if (cfg.empty()) {   // the hls4ml configuration file of the zoo
            Graph g = loadModel(kShared + "/keras/qkeras_3layer.json");
            // With Tachyon's defaults: trained layers keep exact accumulators (hls4ml's
            // defaults, which the file would get, round them to Model.Precision as hls4ml).
            Config c = Config::load(kShared + "/config-files/qkeras_3layer_config.yml");
            c.compatibility = Compatibility::Tachyon;
            c.weightQuantization = "tachyon";
            runPipeline(g, c);
            emu = std::make_unique<Emulator>(g);
        } else {
            emu = model(kShared + "/keras/qkeras_3layer.json", cfg);
        }
        const auto trace = emu->traceFixed(x.data(), rows);
        const size_t out = emu->graph().indexOf("output");
        ASSERT_EQ(trace[out].size(), logits.size());
        for (size_t i = 0; i < logits.size(); ++i) ASSERT_EQ(trace[out][i], logits[i]) << "value " << i;
        const auto yf = runFloat(*emu, x);
        for (size_t i = 0; i < y.size(); ++i) ASSERT_NEAR(yf[i], y[i], 1e-12);
    }
}

// The HGQ proxy model: fixed point equals the proxy's gfixed_quantizer evaluation exactly.
TEST(QuantModels, HgqProxyBitExact) {
    const std::string ref = fixtures() + "/hgq_jet_classifier_X.npy";
    if (!fs::exists(ref)) GTEST_SKIP() << "no " << ref;
    size_t rows, cols, r2, c2;
    const auto x = readNpy(ref, rows, cols);
    const auto y = readNpy(fixtures() + "/hgq_jet_classifier_Y.npy", r2, c2);
    auto emu = model(kShared + "/keras/hgq_jet_classifier.h5");
    EXPECT_EQ(runFixed(*emu, x), y);
    EXPECT_EQ(runFloat(*emu, x), y);
}

// BinaryDense/TernaryDense + BatchNorm + binary_tanh/ternary_tanh: float mode equals the
// numpy reference; fixed point (BatchNorm in ap_fixed<16,6>) keeps nearly every row.
TEST(QuantModels, BinaryTernaryZooModels) {
    for (const char* m : {"KERAS_3layer_binary_smaller", "KERAS_3layer_ternary_small"}) {
        const std::string ref = fixtures() + "/" + std::string(m) + "_X.npy";
        if (!fs::exists(ref)) GTEST_SKIP() << "no " << ref;
        size_t rows, cols, r2, c2;
        const auto x = readNpy(ref, rows, cols);
        const auto y = readNpy(fixtures() + "/" + std::string(m) + "_Y.npy", r2, c2);
        auto emu = model(kShared + "/keras/" + std::string(m) + ".json");
        const auto yf = runFloat(*emu, x);
        for (size_t i = 0; i < y.size(); ++i) ASSERT_NEAR(yf[i], y[i], 1e-9 * (1 + std::fabs(y[i]))) << m;
        const auto yq = runFixed(*emu, x);
        size_t same = 0;
        for (size_t r = 0; r < rows; ++r) {
            auto arg = [&](const std::vector<double>& v) {
                return std::max_element(v.begin() + long(r * c2), v.begin() + long((r + 1) * c2)) - v.begin();
            };
            same += arg(yq) == arg(y);
        }
        EXPECT_GE(same, rows * 85 / 100) << m;
    }
}

// The project's own BinaryNet and TernaryNet MLPs (zoo layout, H = 1 and 0.5): float mode
// equals the numpy evaluation; in fixed point (ap_fixed<16,6>) the argmax stays on nearly
// every row. Weights are exact (+-H, 0); only BatchNorm's constants round.
TEST(QuantModels, OwnBinaryTernaryMlps) {
    for (const std::string m : {"binary_mlp", "ternary_mlp"}) {
        SCOPED_TRACE(m);
        size_t rows, cols, r2, c2;
        const auto x = readNpy(fixtures() + "/" + m + "_X.npy", rows, cols);
        const auto y = readNpy(fixtures() + "/" + m + "_Y.npy", r2, c2);
        auto emu = model(fixtures() + "/" + m + ".json");
        for (const Layer& l : emu->graph().layers)
            if (l.kind == LayerKind::Dense) {
                EXPECT_LE(l.type("weight").width, 2) << l.name;   // +-H (and 0): 2 bits
            }
        const auto yf = runFloat(*emu, x);
        for (size_t i = 0; i < y.size(); ++i) ASSERT_NEAR(yf[i], y[i], 1e-9 * (1 + std::fabs(y[i])));
        const auto yq = runFixed(*emu, x);
        size_t same = 0;
        for (size_t r = 0; r < rows; ++r) {
            auto arg = [&](const std::vector<double>& v) {
                return std::max_element(v.begin() + long(r * c2), v.begin() + long((r + 1) * c2)) - v.begin();
            };
            same += arg(yq) == arg(y);
        }
        EXPECT_GE(same, rows * 95 / 100);
    }
}

// An own QKeras CNN (QConv2D, QDepthwiseConv2D, quantized_relu/tanh, QAveragePooling2D with
// an average_quantizer, quantized_po2 QDense): bit-exact against the numpy reference.
TEST(QuantModels, QKerasCnnFixtureBitExact) {
    const std::string ref = fixtures() + "/qcnn_X.npy";
    if (!fs::exists(ref)) GTEST_SKIP() << "no " << ref << " (run scripts/make_quant_fixtures.py)";
    size_t rows, cols, r2, c2;
    const auto x = readNpy(ref, rows, cols);
    const auto y = readNpy(fixtures() + "/qcnn_Y.npy", r2, c2);
    auto emu = model(fixtures() + "/qcnn.json");
    EXPECT_EQ(runFixed(*emu, x), y);
    const auto yf = runFloat(*emu, x);
    for (size_t i = 0; i < y.size(); ++i) ASSERT_NEAR(yf[i], y[i], 1e-12);
}

// Every quantisation-aware model of the zoo imports and runs without configuration.
TEST(QuantModels, ZooModelsImportAndRun) {
    ZOO_OR_SKIP();
    for (const char* m : {"keras/qkeras_3layer.json", "keras/qkeras_mnist_dense.json",
                                "keras/KERAS_3layer_binary_smaller.json", "keras/KERAS_3layer_ternary_small.json",
                                "keras/hgq_jet_classifier.h5"}) {
        SCOPED_TRACE(m);
        auto emu = model(kShared + "/" + std::string(m));
        std::vector<double> x(size_t(emu->inputSize()) * 4, 0.25);
        const auto y = runFixed(*emu, x);
        EXPECT_EQ(y.size(), size_t(emu->outputSize()) * 4);
    }
    // qkeras_mnist_dense with its hls4ml configuration file.
    Graph g = loadModel(kShared + "/keras/qkeras_mnist_dense.json");
    runPipeline(g, Config::load(kShared + "/config-files/qkeras_mnist_dense_config.yml"));
    Emulator emu(g);
    // The file's `weight: ap_int<5>` is hls4ml's exponent width for quantized_po2: as in
    // hls4ml, the quantiser's type wins (tests/test_hls4ml_parity.cpp).
    EXPECT_EQ(g.at("q_dense_2").type("weight"), g.at("q_dense_2").trained.at("weight"));
}

// QONNX: the own qonnx_conv fixture (channels-first Conv1D with Quant weights, MatMul),
// the own binary qonnx_bnn_conv (BipolarQuant, two Conv2D and a MatMul, all XNOR-popcount),
// the own qonnx_threshold fixture (FINN MultiThreshold, channels-first and
// channels-last, per-channel unsorted and shared rows, out_scale/out_bias), the zoo's
// Brevitas binary layer (BipolarQuant on input, weights and output, a
// 4-bit Quant bias) and the own qonnx_mlp fixture (Quant on weights and activations, 3 to
// 8 bits, signed/unsigned, narrow, ROUND/FLOOR/ROUND_TO_ZERO, per-channel weight scales),
// the own qonnx_trunc fixture (Trunc version 2 FLOOR 12 -> 6 bits, version 1 ROUND 10 -> 6
// bits, version 2 narrow ROUND on an input beyond its declared width):
// float and fixed point both equal the numpy evaluation of the QONNX ops, value for value.
TEST(QonnxModels, FloatAndFixedEqualNumpyReference) {
    int tested = 0;
    for (const std::string m : {"qonnx_mlp", "qonnx_threshold", "qonnx_conv", "qonnx_bnn_conv", "qonnx_trunc",
                                 "bnn_model_fc_1layer"}) {
        SCOPED_TRACE(m);
        const std::string ref = fixtures() + "/" + m + "_X.npy";
        if (!fs::exists(ref)) continue;   // the zoo model's reference needs ../shared/models
        size_t rows, cols, r2, c2;
        const auto x = readNpy(ref, rows, cols);
        const auto y = readNpy(fixtures() + "/" + m + "_Y.npy", r2, c2);
        const std::string path = m.rfind("qonnx_", 0) == 0 ? fixtures() + "/" + m + ".onnx" : kShared + "/onnx/" + m + ".onnx";
        auto emu = model(path);
        ASSERT_GE(rows, 1000u);
        EXPECT_EQ(runFloat(*emu, x), y);
        EXPECT_EQ(runFixed(*emu, x), y);
        ++tested;
    }
    if (!tested) GTEST_SKIP() << "no QONNX references (run scripts/make_quant_fixtures.py)";
}

// Folded weight quantisers give the dense layer the exact trained weight type.
TEST(QonnxModels, QuantizedWeightsKeepTheirType) {
    const std::string path = fixtures() + "/qonnx_mlp.onnx";
    if (!fs::exists(path)) GTEST_SKIP() << "no " << path;
    Graph g = loadModel(path);
    int quantizers = 0;
    for (const Layer& l : g.layers) {
        quantizers += l.kind == LayerKind::Quantize;
        if (l.kind == LayerKind::Dense) {
            EXPECT_TRUE(l.trained.count("weight")) << l.name;
        }
    }
    EXPECT_EQ(quantizers, 4);   // q_in, q_a1, q_a2 and y; the weight quantisers fold
    // 4-bit narrow signed at scale 1/4: values -7/4 .. 7/4.
    EXPECT_EQ(g.at("g1").trained.at("weight").str(), "ap_fixed<4,2>");
    // MultiThreshold over a channels-first [3, 4] tensor runs channels-last: a transpose to
    // [4, 3] before it and one back before the Flatten.
    const Graph t = loadModel(fixtures() + "/qonnx_threshold.onnx");
    int transposes = 0;
    for (const Layer& l : t.layers) transposes += l.kind == LayerKind::Transpose;
    EXPECT_EQ(transposes, 2);
    EXPECT_EQ(t.at("m1").shape, (Shape{4, 3}));
}

// QONNX quantisers that are no exact fixed-point cast are refused naming node and reason.
TEST(QonnxModels, InexactQuantizersAreRefusedByName) {
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"ceil", "rounding_mode 'CEIL'"},
        {"scale3", "not a power of two"},
        {"zeropoint", "zero_point"},
        {"narrow_unsigned", "narrow range on an unsigned"},
    };
    for (const auto& [name, needle] : cases) {
        const std::string path = fixtures() + "/qonnx_refused_" + name + ".onnx";
        if (!fs::exists(path)) GTEST_SKIP() << "no " << path;
        std::string msg = "<no error>";
        try {
            loadModel(path);
        } catch (const Error& e) {
            msg = e.what();
        }
        EXPECT_NE(msg.find(path), std::string::npos) << msg;
        EXPECT_NE(msg.find("'q_" + name + "'"), std::string::npos) << msg;
        EXPECT_NE(msg.find(needle), std::string::npos) << msg;
    }
    // Trunc: CEIL, a rescale by a non-power-of-two factor, a zero point.
    for (const auto& [name, needle] : std::vector<std::pair<std::string, std::string>>{
             {"ceil", "rounding_mode 'CEIL'"}, {"scale3", "out_scale / scale is not a power of two"},
             {"zeropoint", "non-zero zeropt"}}) {
        const std::string path = fixtures() + "/qonnx_trunc_refused_" + name + ".onnx";
        std::string msg = "<no error>";
        try {
            loadModel(path);
        } catch (const Error& e) {
            msg = e.what();
        }
        EXPECT_NE(msg.find("'t_" + name + "' (Trunc)"), std::string::npos) << msg;
        EXPECT_NE(msg.find(needle), std::string::npos) << msg;
    }
}
