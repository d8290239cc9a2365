// hls4ml parity of the configuration (issue 25): the hls4ml_config.yml hls4ml writes into
// a project loads (tests/data/hls4ml_configs/*_hls4ml_config.yml, in its exact layout),
// such a file gets hls4ml's defaults (`Compatibility`), `auto` follows hls4ml's type
// inference (Tachyon's exact rule stays available as `auto_exact`), constants are rounded
// through hls4ml's decimal text, and hls4ml's layer names are accepted. Zoo models come
// from ../shared/models; those tests skip when it is absent.
#include "support/zoo.h"
#include "config/Config.h"
#include "emulator/Emulator.h"
#include "frontends/Frontend.h"
#include "passes/Pass.h"
#include "util/Error.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <random>

using namespace tachyon;
namespace fs = std::filesystem;

namespace {

const std::string kShared = test_support::zooDir();

std::string dataFile(const std::string& name) {
    return std::string(TACHYON_SOURCE_DIR) + "/tests/data/hls4ml_configs/" + name;
}

Graph configured(const std::string& model, const Config& cfg, std::vector<std::string>* warnings = nullptr) {
    Graph g = loadModel(kShared + "/" + model);
    std::vector<std::string> w = runPipeline(g, cfg);
    if (warnings) *warnings = w;
    return g;
}

// Runs random rows through the fixed-point emulator; every output is finite.
void runsEndToEnd(const Graph& g) {
    Emulator e(g);
    const int rows = 32;
    std::vector<double> x(size_t(g.inputSize()) * rows), y(size_t(g.outputSize()) * rows);
    std::vector<int64_t> raw(y.size());
    std::mt19937_64 rng(5);
    std::normal_distribution<double> nd(0, 1);
    for (double& v : x) v = nd(rng);
    e.runFixed(x.data(), rows, raw.data(), y.data());
    for (double v : y) ASSERT_TRUE(std::isfinite(v));
}

std::string typeOf(const Graph& g, const std::string& layer, const std::string& var) {
    const Layer* l = g.find(layer);
    if (!l) return "<no layer " + layer + ">";
    return l->type(var).str();
}

// hls4ml's `auto` for a Dense/Conv accumulator (infer_precision.py,
// _infer_common_precision) with ap_fixed<16,6> input, weight and bias and n terms:
// width 16+16+ceil(log2 n), integer 6+6+ceil(log2 n), then one bit more for the bias.
std::string hls4mlMacType(int n) {
    const int log2n = int(std::ceil(std::log2(double(n))));
    const int integer = 12 + log2n + 1;
    const int width = integer + 20;
    return "ap_fixed<" + std::to_string(width) + "," + std::to_string(integer) + ">";
}

// input (4) -> fc1 (Dense 3, its weights from `weights`) -> relu -> softmax.
Graph smallDense(std::vector<double> weights = {}, std::vector<double> bias = {}) {
    if (weights.empty()) weights = {0.5, -1.25, 2.0, 0.75, 1.5, -0.5, 0.25, -2.0, 1.0, 0.125, -0.375, 0.625};
    if (bias.empty()) bias = {0.1, -0.2, 0.3};
    Graph g;
    g.name = "small";
    Layer in;
    in.name = "input_1";
    in.kind = LayerKind::Input;
    in.shape = {4};
    g.layers.push_back(in);
    Layer d;
    d.name = "fc1";
    d.kind = LayerKind::Dense;
    d.inputs = {"input_1"};
    d.attrs = DenseAttrs{4, 3};
    d.shape = {3};
    d.param("weight") = weights;
    d.param("bias") = bias;
    g.layers.push_back(d);
    Layer r;
    r.name = "relu";
    r.kind = LayerKind::Activation;
    r.attrs = ActAttrs{ActKind::ReLU};
    r.inputs = {"fc1"};
    r.shape = {3};
    g.layers.push_back(r);
    Layer sm;
    sm.name = "softmax";
    sm.kind = LayerKind::Softmax;
    sm.inputs = {"relu"};
    sm.shape = {3};
    g.layers.push_back(sm);
    return g;
}

Graph converted(Graph g, const std::string& yaml) {
    runPipeline(g, Config::parse(yaml, "cfg.yml"));
    return g;
}

}  // namespace

TEST(Hls4mlParity, WrittenProjectConfigsLoadForDenseAndCnn) {
    ZOO_OR_SKIP();
    struct Case {
        const char* config;
        const char* model;
        std::vector<std::pair<std::string, int>> macs;   // layer, hls4ml's n_ops
        const char* relu;
        const char* softmax;
    };
    const std::vector<Case> cases = {
        {"KERAS_3layer_hls4ml_config.yml", "keras/KERAS_3layer.json",
         {{"fc1_relu", 16}, {"fc2_relu", 64}, {"fc3_relu", 32}, {"output_softmax", 32}}, "fc1_relu_relu",
         "output_softmax_softmax"},
        {"KERAS_conv2d_model_hls4ml_config.yml", "keras/KERAS_conv2d_model.json",
         {{"conv2d_1", 9}, {"dense_1", 128}}, "conv2d_1_relu", "dense_1_softmax"},
    };
    for (const Case& c : cases) {
        SCOPED_TRACE(c.config);
        Config cfg;
        ASSERT_NO_THROW(cfg = Config::load(dataFile(c.config)));
        EXPECT_EQ(cfg.compatibility, Compatibility::Hls4ml);
        EXPECT_EQ(cfg.weightQuantization, "hls4ml");
        Graph g;
        ASSERT_NO_THROW(g = configured(c.model, cfg));
        for (const auto& [layer, n] : c.macs) {
            EXPECT_EQ(typeOf(g, layer, "accum"), hls4mlMacType(n)) << layer;
            EXPECT_EQ(typeOf(g, layer, "result"), hls4mlMacType(n)) << layer;
            EXPECT_EQ(typeOf(g, layer, "weight"), "ap_fixed<16,6>") << layer;
        }
        // hls4ml infers nothing for an activation: the model default, not the input's type.
        EXPECT_EQ(typeOf(g, c.relu, "result"), "ap_fixed<16,6>");
        EXPECT_EQ(g.find(c.softmax)->softmax.implementation, SoftmaxImpl::Stable);
        EXPECT_EQ(g.inputs().size(), 1u);
        runsEndToEnd(g);
    }
    EXPECT_EQ(Config::load(dataFile("KERAS_conv2d_model_hls4ml_config.yml")).ioType, "io_stream");
}

TEST(Hls4mlParity, WriterKeysAreCheckedNotJustSkipped) {
    const std::string good = "InputShapes:\n  input_1: [16]\nOutputShapes:\n  out: [5]\n"
                             "WriterConfig: {Namespace: null, WriteEmulationConstants: false}\n"
                             "HLSConfig:\n  Model:\n    BitExact: null\n    AllowDAFallback: true\n";
    EXPECT_NO_THROW(Config::parse(good, "cfg.yml"));
    auto errorOf = [](const std::string& yaml) -> std::string {
        try {
            Config::parse(yaml, "cfg.yml");
        } catch (const Error& e) {
            return e.what();
        }
        return "";
    };
    EXPECT_NE(errorOf("InputShapes:\n  input_1: 16\n").find("InputShapes.input_1"), std::string::npos);
    EXPECT_NE(errorOf("OutputShapes:\n  y: [0]\n").find("OutputShapes.y"), std::string::npos);
    EXPECT_NE(errorOf("WriterConfig:\n  WriteTar: maybe\n").find("WriterConfig.WriteTar"), std::string::npos);
    EXPECT_NE(errorOf("WriterConfig:\n  Compress: true\n").find("WriterConfig.Compress"), std::string::npos);
    EXPECT_NE(errorOf("Model:\n  BitExact: sometimes\n").find("Model.BitExact"), std::string::npos);
    EXPECT_NE(errorOf("Compatibility: vivado\n").find("Compatibility"), std::string::npos);
    EXPECT_NE(errorOf("WeightQuantization: float\n").find("WeightQuantization"), std::string::npos);
}

TEST(Hls4mlParity, CompatibilityFollowsWhoWroteTheFile) {
    // hls4ml's project keys switch to hls4ml's defaults; ProjectName alone does not (Tachyon's
    // own templates have it); the key itself wins over both.
    EXPECT_EQ(Config::parse("OutputDir: prj\n", "c").compatibility, Compatibility::Hls4ml);
    EXPECT_EQ(Config::parse("HLSConfig:\n  Model:\n    ReuseFactor: 1\n", "c").compatibility, Compatibility::Hls4ml);
    EXPECT_EQ(Config::parse("ProjectName: jet\n", "c").compatibility, Compatibility::Tachyon);
    // Every project key docs/config.md lists.
    for (const char* line : {"Backend: Vivado\n", "KerasJson: m.json\n", "KerasModel: m.h5\n", "OnnxModel: m.onnx\n",
                             "PytorchModel: m.pt\n", "Stamp: df97b94c\n", "WriterConfig:\n  WriteTar: false\n"})
        EXPECT_EQ(Config::parse(line, "c").compatibility, Compatibility::Hls4ml) << line;
    EXPECT_EQ(Config::parse("Backend: Vivado\nCompatibility: tachyon\n", "c").compatibility, Compatibility::Tachyon);
    EXPECT_EQ(Config::parse("Compatibility: hls4ml\n", "c").compatibility, Compatibility::Hls4ml);
    // Constant rounding follows, unless set.
    EXPECT_EQ(Config::parse("Compatibility: hls4ml\n", "c").weightQuantization, "hls4ml");
    EXPECT_EQ(Config::parse("Backend: Vivado\nWeightQuantization: tachyon\n", "c").weightQuantization, "tachyon");
    EXPECT_EQ(Config::parse("IOType: io_parallel\n", "c").weightQuantization, "tachyon");
    // `tachyon info -c` prints this line.
    EXPECT_NE(Config::parse("Backend: Vivado\n", "c").defaultsSummary().find("hls4ml defaults (the file has hls4ml's 'Backend' key)"),
              std::string::npos);
    EXPECT_NE(Config::parse("", "c").defaultsSummary().find("Tachyon defaults"), std::string::npos);
    // Tachyon's own templates say which defaults they mean, and load back in that mode.
    const Graph g = smallDense();
    for (Granularity gr : {Granularity::Model, Granularity::Type, Granularity::Name})
        EXPECT_EQ(Config::parse(configTemplate(g, gr), "t.yml").compatibility, Compatibility::Tachyon);
}

TEST(Hls4mlParity, AutoFollowsHls4mlsInferenceAndAutoExactTachyons) {
    const std::string autos = "LayerName:\n  fc1:\n    Precision: {accum: auto, result: auto, weight: auto, bias: auto}\n"
                              "  relu:\n    Precision: {result: auto}\n";
    // hls4ml: weight/bias the default; accum = result = 16+16+2 bits (n = 4), 6+6+2 integer,
    // +1 for the bias: ap_fixed<35,15>; ReLU's result the default.
    Graph h = converted(smallDense(), "Compatibility: hls4ml\nModel:\n  Precision: ap_fixed<16,6>\n" + autos);
    EXPECT_EQ(typeOf(h, "fc1", "weight"), "ap_fixed<16,6>");
    EXPECT_EQ(typeOf(h, "fc1", "accum"), "ap_fixed<35,15>");
    EXPECT_EQ(typeOf(h, "fc1", "result"), "ap_fixed<35,15>");
    EXPECT_EQ(typeOf(h, "relu", "result"), "ap_fixed<16,6>");
    // Unsigned input and bias: the sign bit is added where hls4ml adds it.
    Graph u = converted(smallDense(), "Compatibility: hls4ml\nModel:\n  Precision: ap_fixed<16,6>\nLayerName:\n"
                                      "  input_1:\n    Precision: {result: 'ap_ufixed<8,3>'}\n"
                                      "  fc1:\n    Precision: {accum: auto, weight: 'ap_fixed<8,2>', bias: 'ap_ufixed<6,1>'}\n");
    // 8+8+2 = 18 wide, 3+2+2 = 7 integer, signed; bias unsigned 1 integer (+1 as signed): 8 integer, 18-7 = 11 frac.
    EXPECT_EQ(typeOf(u, "fc1", "accum"), "ap_fixed<19,8>");
    // Model.Precision.maximum caps width and integer bits.
    Graph m = converted(smallDense(), "Compatibility: hls4ml\nModel:\n  Precision: {default: 'ap_fixed<16,6>', "
                                      "maximum: 'ap_fixed<24,10>'}\n" + autos);
    EXPECT_EQ(typeOf(m, "fc1", "accum"), "ap_fixed<24,10>");
    // Tachyon's rule: the exact accumulator over the quantised weights, and ReLU keeps its
    // input type; `auto_exact` asks for it in hls4ml mode.
    Graph t = converted(smallDense(), "Compatibility: tachyon\n" + autos);
    Graph e = converted(smallDense(), "Compatibility: hls4ml\nLayerName:\n  fc1:\n    Precision: {accum: auto_exact, "
                                      "result: auto_exact, weight: auto_exact, bias: auto_exact}\n"
                                      "  relu:\n    Precision: {result: auto_exact}\n");
    for (const Graph* g : {&t, &e}) {
        const Layer& fc1 = *g->find("fc1");
        EXPECT_EQ(fc1.type("accum"), autoAccumulator(fc1, g->find("input_1")->type("result")));
        EXPECT_EQ(fc1.type("result"), fc1.type("accum"));
        // ReLU keeps its input type, so fuse_activation may merge it into fc1.
        if (g->find("relu")) {
            EXPECT_EQ(typeOf(*g, "relu", "result"), fc1.type("result").str());
        }
        EXPECT_LT(fc1.type("accum").width, 35);   // narrower than hls4ml's worst case
    }
}

TEST(Hls4mlParity, Hls4mlAutoConfigsLoadForEveryZooKerasModel) {
    ZOO_OR_SKIP();
    // config_from_keras_model(granularity='name') writes `auto` for every result and, for
    // Dense/Conv, weight, bias and accum; here from Tachyon's names (hls4ml's for Keras).
    for (const char* model : {"KERAS_1layer", "KERAS_3layer", "KERAS_3layer_batch_norm",
                              "KERAS_dense_16x100x100x100x100x100x5", "KERAS_conv1d_small", "KERAS_conv2d_model",
                              "jetTagger_Conv2D_Small_NoBatchNorm"}) {
        SCOPED_TRACE(model);
        const std::string path = std::string("keras/") + model + ".json";
        const Graph raw = loadModel(kShared + "/" + path);
        std::string yaml = "Backend: Vivado\nHLSConfig:\n  Model:\n    Precision:\n      default: fixed<16,6>\n  LayerName:\n";
        for (const Layer& l : raw.layers) {
            yaml += "    " + l.name + ":\n      Precision:\n        result: auto\n";
            if (isMac(l)) yaml += "        accum: auto\n        weight: auto\n        bias: auto\n";
        }
        Graph g;
        ASSERT_NO_THROW(g = configured(path, Config::parse(yaml, "name.yml")));
        for (const Layer& l : g.layers)
            if (l.kind == LayerKind::Activation) {
                EXPECT_EQ(l.type("result").str(), "ap_fixed<16,6>") << l.name;
            }
        runsEndToEnd(g);
        // Tachyon's exact rule keeps each ReLU's input type, so the accumulators grow
        // layer after layer: the deep models need more than 64 bits there.
        if (std::string(model) == "KERAS_3layer") {
            std::string err;
            try {
                configured(path, Config::parse("Compatibility: tachyon\n" + yaml, "name.yml"));
            } catch (const Error& e) {
                err = e.what();
            }
            EXPECT_NE(err.find("more than 64"), std::string::npos) << err;
        }
    }
}

TEST(Hls4mlParity, ConstantsRoundThroughHls4mlsDecimalText) {
    const FixedType t = FixedType::parse("ap_fixed<16,6>");   // AP_TRN: the float cast floors
    // hls4ml writes '{:.10f}': -1.5e-18 becomes "-0.0000000000", i.e. 0, where the float
    // floors to -1 LSB.
    EXPECT_EQ(hls4mlDecimalText(-1.4940461e-18, t), 0.0);
    EXPECT_EQ(t.castDouble(hls4mlDecimalText(-1.4940461e-18, t)), 0);
    EXPECT_EQ(t.castDouble(-1.4940461e-18), -1);
    // A value on the grid survives the text exactly; an integer type prints no digits.
    EXPECT_EQ(hls4mlDecimalText(-0.0009765625, t), -0.0009765625);
    EXPECT_EQ(hls4mlDecimalText(2.5, FixedType::parse("ap_int<4>")), 2.0);   // '{:.0f}': round half even
    EXPECT_EQ(hls4mlDecimalText(3.5, FixedType::parse("ap_int<4>")), 4.0);
    // 10 digits round 0.12345678949 to 0.1234567895.
    EXPECT_DOUBLE_EQ(hls4mlDecimalText(0.12345678949, t), 0.1234567895);

    // In a model: WeightQuantization hls4ml (the default of hls4ml mode) vs tachyon.
    Graph h = converted(smallDense({}, {-1.5e-18, -8e-21, 0.3}), "Compatibility: hls4ml\n");
    Graph f = converted(smallDense({}, {-1.5e-18, -8e-21, 0.3}), "Compatibility: hls4ml\nWeightQuantization: tachyon\n");
    const FixedType bT = h.find("fc1")->type("bias");
    EXPECT_EQ(bT.castDouble(h.find("fc1")->param("bias")[0]), 0);
    EXPECT_EQ(bT.castDouble(h.find("fc1")->param("bias")[1]), 0);
    EXPECT_EQ(bT.castDouble(f.find("fc1")->param("bias")[0]), -1);
    EXPECT_EQ(bT.castDouble(f.find("fc1")->param("bias")[1]), -1);
}

TEST(Hls4mlParity, JetTaggerTinyBiasesBecomeZeroAsInHls4ml) {
    ZOO_OR_SKIP();
    // cnn2D_1_relu has biases -1.49e-18 and -7.95e-21 (trained float32 noise).
    const std::string model = "keras/jetTagger_Conv2D_Small_NoBatchNorm.json";
    const std::string base = "Model:\n  Precision: ap_fixed<16,6>\n";
    for (const char* mode : {"hls4ml", "tachyon"}) {
        SCOPED_TRACE(mode);
        Graph g = configured(model, Config::parse(base + "WeightQuantization: " + mode + "\n", "cfg.yml"));
        const Layer& conv = *g.find("cnn2D_1_relu");
        int negative = 0;   // tiny biases that come out below zero
        for (double b : conv.param("bias")) negative += std::fabs(b) < 1e-12 && conv.type("bias").castDouble(b) < 0;
        EXPECT_EQ(negative, std::string(mode) == "hls4ml" ? 0 : 2);
    }
}

TEST(Hls4mlParity, Hls4mlLayerNamesAreAccepted) {
    // Keras Sequential input: hls4ml `input1`.
    Layer input;
    input.name = "conv2d_1_input";
    input.kind = LayerKind::Input;
    EXPECT_TRUE(Config::namesLayer("input1", input));
    // PyTorch converter (FX) names vs torch.onnx node names.
    Layer gemm;
    gemm.name = "fc1_Gemm";
    gemm.kind = LayerKind::Dense;
    EXPECT_TRUE(Config::namesLayer("fc1", gemm));
    EXPECT_FALSE(Config::namesLayer("fc", gemm));
    Layer relu;
    relu.name = "Relu_1";
    relu.kind = LayerKind::Activation;
    EXPECT_TRUE(Config::namesLayer("relu_1", relu));
    EXPECT_FALSE(Config::namesLayer("relu", relu));
    // A Keras-made activation is not taken for its Dense (`fc1_relu` is lower-case).
    Layer act;
    act.name = "fc1_relu";
    act.kind = LayerKind::Activation;
    EXPECT_FALSE(Config::namesLayer("fc1", act));

    // In a pipeline: the alias applies; the layer's own name wins over it.
    Graph g = smallDense();
    g.find("fc1")->name = "fc1_Gemm";
    g.find("relu")->inputs = {"fc1_Gemm"};
    runPipeline(g, Config::parse("LayerName:\n  fc1:\n    Precision: {weight: 'ap_fixed<8,3>', bias: 'ap_fixed<9,3>'}\n"
                                 "  fc1_Gemm:\n    Precision: {bias: 'ap_fixed<10,4>'}\n"
                                 "  input1:\n    Precision: {result: 'ap_fixed<12,4>'}\n",
                                 "cfg.yml"));
    EXPECT_EQ(typeOf(g, "fc1_Gemm", "weight"), "ap_fixed<8,3>");
    EXPECT_EQ(typeOf(g, "fc1_Gemm", "bias"), "ap_fixed<10,4>");
    EXPECT_EQ(typeOf(g, "input_1", "result"), "ap_fixed<12,4>");
}

TEST(Hls4mlParity, ZooGarnetConfigLoadsWithAWarning) {
    ZOO_OR_SKIP();
    // Its LayerName `regression_linear` names no layer (hls4ml's name for a linear
    // activation it removes): hls4ml ignores it, Tachyon warns.
    Graph g;
    std::vector<std::string> warnings;
    EXPECT_NO_THROW(g = configured("keras/garnet_1layer.json",
                                   Config::load(kShared + "/config-files/garnet_1layer_config.yml", false), &warnings));
    ASSERT_EQ(warnings.size(), 1u);
    EXPECT_NE(warnings[0].find("LayerName.regression_linear: no layer of that name"), std::string::npos) << warnings[0];
    EXPECT_EQ(typeOf(g, "input_2", "result"), "ap_uint<8>");
}

TEST(Hls4mlParity, Hls4mlRuleForBatchNormMergePoolingAndMoves) {
    const FixedType x = FixedType::parse("ap_fixed<16,6>");
    const FixedType u = FixedType::parse("ap_ufixed<8,3>");
    LayerConfig lc;
    lc.precision["default"] = "ap_fixed<16,6>";
    auto rule = [&](const Layer& l, const std::string& var, std::vector<FixedType> in) {
        return hls4mlAutoType(l, var, in, lc, x, "cfg.yml").str();
    };
    Layer bn;
    bn.name = "bn";
    bn.kind = LayerKind::BatchNorm;
    // x * scale: 32 bits, 12 integer; + bias: 13 integer, 20 fraction bits.
    EXPECT_EQ(rule(bn, "result", {x}), "ap_fixed<33,13>");
    Layer add;
    add.name = "add";
    add.kind = LayerKind::Merge;
    add.attrs = MergeAttrs{MergeOp::Add};
    // Signed + unsigned: the unsigned side needs a sign bit (3 + 1), then one carry bit.
    EXPECT_EQ(rule(add, "result", {x, u}), "ap_fixed<17,7>");
    add.attrs = MergeAttrs{MergeOp::Multiply};
    EXPECT_EQ(rule(add, "result", {x, u}), "ap_fixed<24,9>");
    Layer cat;
    cat.name = "cat";
    cat.kind = LayerKind::Concatenate;
    cat.attrs = ConcatAttrs{0};
    EXPECT_EQ(rule(cat, "result", {u, u}), u.str());
    EXPECT_EQ(rule(cat, "result", {x, u}), "ap_fixed<16,6>");
    Layer pool;
    pool.name = "pool";
    pool.kind = LayerKind::Pooling;
    PoolAttrs pa;
    pa.op = PoolOp::Average;
    pa.kernel = {2, 2};
    pool.attrs = pa;
    EXPECT_EQ(rule(pool, "result", {u}), u.str());
    EXPECT_EQ(rule(pool, "accum", {x}), "ap_fixed<20,8>");   // 2 more integer bits, 2 more fraction bits
    Layer flat;
    flat.name = "flat";
    flat.kind = LayerKind::Reshape;
    EXPECT_EQ(rule(flat, "result", {u}), u.str());
    Layer sig;
    sig.name = "sig";
    sig.kind = LayerKind::Activation;
    sig.attrs = ActAttrs{ActKind::Sigmoid};
    EXPECT_EQ(rule(sig, "result", {u}), x.str());
    // Beyond 64 bits: an error naming the layer and the rule.
    Layer wide;
    wide.name = "wide";
    wide.kind = LayerKind::Dense;
    wide.attrs = DenseAttrs{1024, 1};
    const FixedType big = FixedType::parse("ap_fixed<40,20>");   // 40 + 16 + 10 + 1 bits
    std::string err;
    try {
        hls4mlAutoType(wide, "accum", {big}, lc, big, "cfg.yml");
    } catch (const Error& e) {
        err = e.what();
    }
    EXPECT_NE(err.find("layer 'wide'"), std::string::npos) << err;
    EXPECT_NE(err.find("hls4ml's auto rule"), std::string::npos) << err;
}

namespace {

// input (2) -> fc1 (Dense, +-1 weights) -> bn1 -> sign (binary_tanh) -> fc2 (Dense, +-1) .
Graph binaryNet(std::vector<double> scale, std::vector<double> shift) {
    Graph g;
    g.name = "binary";
    Layer in;
    in.name = "x";
    in.kind = LayerKind::Input;
    in.shape = {2};
    g.layers.push_back(in);
    auto dense = [](const std::string& name, const std::string& input, int nIn, int nOut, std::vector<double> w) {
        Layer d;
        d.name = name;
        d.kind = LayerKind::Dense;
        d.inputs = {input};
        d.attrs = DenseAttrs{nIn, nOut};
        d.shape = {nOut};
        d.param("weight") = std::move(w);
        d.param("bias") = std::vector<double>(size_t(nOut), 0.0);
        return d;
    };
    g.layers.push_back(dense("fc1", "x", 2, 2, {1, -1, 1, 1}));
    Layer bn;
    bn.name = "bn1";
    bn.kind = LayerKind::BatchNorm;
    bn.inputs = {"fc1"};
    bn.shape = {2};
    bn.param("scale") = std::move(scale);
    bn.param("shift") = std::move(shift);
    g.layers.push_back(bn);
    Layer sign;
    sign.name = "sign1";
    sign.kind = LayerKind::Quantize;
    sign.inputs = {"bn1"};
    sign.shape = {2};
    QuantizeAttrs qa;
    qa.mode = QuantizeMode::Threshold;
    qa.nThresholds = 1;
    qa.thresholds = {0.0};
    qa.strict = {1};
    qa.levels = {-1.0, 1.0};
    sign.attrs = qa;
    g.layers.push_back(sign);
    g.layers.push_back(dense("fc2", "sign1", 2, 1, {1, -1}));
    return g;
}

}  // namespace

TEST(Hls4mlParity, BinaryBatchNormMergesIntoAnIntegerThreshold) {
    // bn1: 40 x + 2.5 (its 16-bit result would wrap for |x| > 0.8) and -3 x + 0.7.
    Graph h = binaryNet({40, -3}, {2.5, 0.7});
    runPipeline(h, Config::parse("Compatibility: hls4ml\nModel:\n  Precision: ap_fixed<16,6>\n", "cfg.yml"));
    ASSERT_EQ(h.find("bn1"), nullptr) << "merged into the threshold, as hls4ml's MergeBatchNormAndQuantizedTanh";
    const auto& a = h.find("sign1")->as<QuantizeAttrs>();
    // floor(-shift/scale * 2^10) / 2^10 per channel; x >= T counts (hls4ml: datareg >= threshold).
    ASSERT_EQ(a.thresholds.size(), 2u);
    EXPECT_EQ(a.thresholds[0], -64.0 / 1024);
    EXPECT_EQ(a.thresholds[1], 238.0 / 1024);
    EXPECT_EQ(a.strict, std::vector<int>{0});
    // The first layer keeps its configured type; a +-1 layer after a threshold sums +-1s:
    // hls4ml's QuantizeDenseOutput gives it ap_int<ceil(log2 2) + 2>.
    EXPECT_EQ(typeOf(h, "fc1", "result"), "ap_fixed<16,6>");
    EXPECT_EQ(typeOf(h, "fc2", "result"), "ap_int<3>");
    EXPECT_EQ(typeOf(h, "fc2", "accum"), "ap_int<3>");

    // Against a reference of hls4ml's arithmetic written out here: x cast to ap_fixed<16,6>
    // (AP_TRN), fc1 exact, sign by the thresholds, fc2 the +-1 sum.
    Graph t = binaryNet({40, -3}, {2.5, 0.7});
    runPipeline(t, Config::parse("Compatibility: tachyon\nModel:\n  Precision: ap_fixed<16,6>\n", "cfg.yml"));
    ASSERT_NE(t.find("bn1"), nullptr) << "Tachyon mode keeps the BatchNorm";
    Emulator eh(h), et(t);
    const int rows = 400;
    std::vector<double> x(2 * rows), yh(rows), yt(rows);
    std::vector<int64_t> raw(rows);
    std::mt19937_64 rng(9);
    std::uniform_real_distribution<double> ud(-2.5, 2.5);
    for (double& v : x) v = ud(rng);
    eh.runFixed(x.data(), rows, raw.data(), yh.data());
    et.runFixed(x.data(), rows, raw.data(), yt.data());
    int differ = 0;
    for (int r = 0; r < rows; ++r) {
        const double x0 = std::floor(x[2 * r] * 1024) / 1024, x1 = std::floor(x[2 * r + 1] * 1024) / 1024;
        const double h0 = x0 + x1, h1 = -x0 + x1;   // weight [in][out] = {1, -1, 1, 1}
        const double s0 = h0 >= -64.0 / 1024 ? 1 : -1, s1 = h1 >= 238.0 / 1024 ? 1 : -1;
        ASSERT_EQ(yh[size_t(r)], s0 - s1) << "row " << r;
        differ += yh[size_t(r)] != yt[size_t(r)];
    }
    // The kept 16-bit BatchNorm wraps (40 x beyond 32) and flips signs on some rows.
    EXPECT_GT(differ, 0);
}

TEST(Hls4mlParity, TemplatesLoadBackAndKeepTrainedTypes) {
    ZOO_OR_SKIP();
    // Every zoo model: `config -g model|type|name` (configTemplate, the text the command
    // writes) loads back and, used unedited, gives the numbers of the configuration it was
    // made from: the empty one, which keeps trained types (tests/test_quant.cpp checks those
    // against QKeras/HGQ) and gives every other layer Tachyon's defaults.
    std::vector<std::string> models;
    for (const auto& e : fs::directory_iterator(kShared + "/keras")) {
        const std::string f = e.path().filename().string();
        if (f.size() > 11 && f.substr(f.size() - 11) == "_weights.h5") continue;
        models.push_back("keras/" + f);
    }
    for (const auto& e : fs::directory_iterator(kShared + "/onnx")) models.push_back("onnx/" + e.path().filename().string());
    std::sort(models.begin(), models.end());
    auto outputs = [](const Graph& g) {
        Emulator e(g);
        const int rows = 16;
        std::vector<double> x(size_t(g.inputSize()) * rows), y(size_t(g.outputSize()) * rows);
        std::vector<int64_t> raw(y.size());
        std::mt19937_64 rng(2);
        std::uniform_real_distribution<double> ud(0, 3);   // also valid GarNet vertex counts
        for (double& v : x) v = std::floor(ud(rng) * 8) / 8;
        e.runFixed(x.data(), rows, raw.data(), y.data());
        return y;
    };
    int quantisationAware = 0;
    for (const std::string& m : models) {
        SCOPED_TRACE(m);
        const Graph raw = loadModel(kShared + "/" + m);
        bool trained = false;
        for (const Layer& l : raw.layers) trained = trained || !l.trained.empty() || l.kind == LayerKind::Quantize;
        quantisationAware += trained;
        Graph reference = raw;
        runPipeline(reference, Config::parse("", "empty.yml"));
        for (Granularity gr : {Granularity::Model, Granularity::Type, Granularity::Name}) {
            // The template of the defaults (`exactAccumulators = false`) gives the defaults' numbers;
            // the one `config -g` writes (exact `accum: auto`) loads too.
            Graph g = raw;
            ASSERT_NO_THROW(runPipeline(g, Config::parse(configTemplate(raw, gr, false), "template.yml")));
            EXPECT_EQ(outputs(g), outputs(reference)) << "granularity " << int(gr) << (trained ? " (trained)" : "");
            Graph exact = raw;
            ASSERT_NO_THROW(runPipeline(exact, Config::parse(configTemplate(raw, gr), "template.yml")));
            // ... and keeps every type training fixed (weights, biases, quantiser results).
            for (const Layer& l : raw.layers)
                for (const auto& [var, t] : l.trained)
                    if (const Layer* e = exact.find(l.name); e && e->hasType(var)) {
                        EXPECT_EQ(e->type(var), t) << l.name << "." << var << ", granularity " << int(gr);
                    }
        }
    }
    EXPECT_GE(models.size(), 21u);   // 13 Keras + 8 ONNX models
    // qkeras_3layer, qkeras_mnist_dense, hgq_jet_classifier, binary, ternary, bnn_model_fc_1layer
    EXPECT_GE(quantisationAware, 6);
}

TEST(Hls4mlParity, ZooQKerasMnistConfigKeepsThePo2Weights) {
    ZOO_OR_SKIP();
    // Its q_dense_2 entry says `weight: ap_int<5>`: hls4ml's type for quantized_po2(5), the
    // exponent's width. hls4ml takes a quantised weight's type from its quantiser, so the
    // weights stay the trained powers of two (as ap_int<5> they would all round to 0 and
    // every row would give the same output).
    const Graph raw = loadModel(kShared + "/keras/qkeras_mnist_dense.json");
    ASSERT_TRUE(raw.find("q_dense_2") && raw.find("q_dense_2")->trained.count("weight"));
    Graph g = raw;
    runPipeline(g, Config::load(kShared + "/config-files/qkeras_mnist_dense_config.yml", false));
    EXPECT_EQ(g.find("q_dense_2")->type("weight"), raw.find("q_dense_2")->trained.at("weight"));
    Emulator e(g);
    const int rows = 8;
    std::vector<double> x(size_t(g.inputSize()) * rows), y(size_t(g.outputSize()) * rows);
    std::vector<int64_t> raws(y.size());
    std::mt19937_64 rng(4);
    std::uniform_real_distribution<double> ud(0, 1);
    for (double& v : x) v = ud(rng);
    e.runFixed(x.data(), rows, raws.data(), y.data());
    const size_t n = size_t(g.outputSize());
    int differentRows = 0;
    for (int r = 1; r < rows; ++r)
        differentRows += !std::equal(y.begin() + r * n, y.begin() + (r + 1) * n, y.begin());
    EXPECT_GT(differentRows, 0);
}
