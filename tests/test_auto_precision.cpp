// --auto-precision against what a quantisation-aware model already fixed: the configuration it
// writes loads back, keeps every trained type (QKeras, HGQ, QONNX, binary; a GarNet vertex
// count's integer type) exactly, judges a single sigmoid output as a classifier (decisions at
// 0.5), and leaves an output softmax/sigmoid at least a score resolution.
#include "support/zoo.h"
#include "api/Api.h"
#include "config/Config.h"
#include "config/TrainedTypes.h"
#include "emulator/Emulator.h"
#include "fixed/FixedType.h"
#include "frontends/Frontend.h"
#include "passes/Pass.h"
#include "util/Npy.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

using namespace tachyon;
namespace fs = std::filesystem;

namespace {

const fs::path kZoo = test_support::zooDir();

std::string quantFixtures() {
    const char* env = std::getenv("TACHYON_FIXTURES");
    return std::string(env && *env ? env : TACHYON_BINARY_DIR "/fixtures") + "/quant";
}

// Calibration rows: N(0,1) features; a GarNet vertex-count column gets counts 1..V.
std::vector<double> calibrationRows(const Graph& g, size_t rows) {
    const size_t nIn = size_t(g.inputSize());
    std::mt19937 rng(7);
    std::normal_distribution<double> n01;
    std::vector<double> x(rows * nIn);
    for (double& v : x) v = n01(rng);
    int vertices = 0;
    for (const Layer& l : g.layers)
        if (l.kind == LayerKind::GarNet) vertices = l.as<GarNetAttrs>().nVertices;
    if (vertices > 0 && g.inputs().size() == 2)
        for (size_t r = 0; r < rows; ++r) x[r * nIn + nIn - 1] = double(1 + r % size_t(vertices));
    return x;
}

api::AutoPrecisionResult autoPrecisionOn(const std::string& path, const std::vector<double>& x,
                                         api::AutoPrecisionOptions opt = {}) {
    std::ostringstream log;
    opt.threads = 1;
    const size_t rows = x.size() / size_t(loadModel(path).inputSize());
    return api::autoPrecision(path, nullptr, x.data(), rows, opt, log);
}

// The written configuration loads back (its text, as `tachyon config -o` writes it), runs, and
// every type the trained model fixes is in it unchanged.
void expectLoadsBackKeepingTrainedTypes(const std::string& path, const api::Json& base = nullptr) {
    SCOPED_TRACE(path);
    const Graph raw = loadModel(path);
    std::ostringstream log;
    api::AutoPrecisionOptions opt;
    opt.threads = 1;
    const std::vector<double> x = calibrationRows(raw, 300);
    const api::AutoPrecisionResult r = api::autoPrecision(path, base, x.data(), 300, opt, log);
    const std::string yaml = api::jsonToYaml(r.config);
    Config cfg;
    ASSERT_NO_THROW(cfg = Config::parse(yaml, "<auto-precision of " + path + ">")) << yaml;
    Graph g = raw;
    ASSERT_NO_THROW({
        runPipeline(g, cfg);
        Emulator emu(g);
    });
    size_t trainedSeen = 0;
    for (const Layer& l : raw.layers) {
        if (!r.config["LayerName"].contains(l.name)) continue;   // folded away
        const api::Json& prec = r.config["LayerName"][l.name]["Precision"];
        std::vector<std::string> vars = {"result", "accum"};
        for (const auto& [var, values] : l.params) vars.push_back(var);
        for (const std::string& var : vars) {
            const auto t = trainedType(raw, l, var);
            if (!t) continue;
            ++trainedSeen;
            ASSERT_TRUE(prec.contains(var)) << l.name << "." << var << " (trained " << *t << ") missing";
            // `auto` (exact from the trained types) is written by its mode-independent name.
            EXPECT_EQ(prec[var].get<std::string>(), *t == "auto" ? "auto_exact" : *t) << l.name << "." << var;
        }
    }
    EXPECT_GT(trainedSeen, 0u) << "no trained type seen: the check would be empty";
}

// An own fixture: Dense(16->8) ReLU Dense(8->1) sigmoid, as ONNX, random weights.
std::string sigmoidScoreModel() {
    const fs::path d = fs::path(TACHYON_BINARY_DIR) / "auto_precision_test";
    fs::create_directories(d);
    const fs::path model = d / "sigmoid_score.onnx";
    if (fs::exists(model)) return model.string();
    const fs::path py = d / "make_sigmoid_score.py";
    std::ofstream(py) << "import sys, numpy as np, onnx\n"
                         "from onnx import helper, numpy_helper, TensorProto\n"
                         "r = np.random.default_rng(3)\n"
                         "w1 = r.normal(0, 0.5, (16, 8)).astype(np.float32); b1 = r.normal(0, 0.1, 8).astype(np.float32)\n"
                         "w2 = r.normal(0, 0.7, (8, 1)).astype(np.float32); b2 = np.zeros(1, np.float32)\n"
                         "inits = [numpy_helper.from_array(a, n) for a, n in ((w1, 'w1'), (b1, 'b1'), (w2, 'w2'), (b2, 'b2'))]\n"
                         "nodes = [helper.make_node('Gemm', ['x', 'w1', 'b1'], ['h'], name='fc1'),\n"
                         "         helper.make_node('Relu', ['h'], ['hr'], name='relu1'),\n"
                         "         helper.make_node('Gemm', ['hr', 'w2', 'b2'], ['z'], name='fc2'),\n"
                         "         helper.make_node('Sigmoid', ['z'], ['y'], name='score')]\n"
                         "g = helper.make_graph(nodes, 'sigmoid_score',\n"
                         "    [helper.make_tensor_value_info('x', TensorProto.FLOAT, [None, 16])],\n"
                         "    [helper.make_tensor_value_info('y', TensorProto.FLOAT, [None, 1])], inits)\n"
                         "onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid('', 13)]), sys.argv[1])\n";
    const std::string cmd = "/usr/bin/python3 '" + py.string() + "' '" + model.string() + "'";
    EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
    return model.string();
}

int outputFractionBits(const api::AutoPrecisionResult& r, const Graph& g) {
    const std::string t = r.config["LayerName"][g.output().name]["Precision"]["result"].get<std::string>();
    return FixedType::parse(t).frac();
}

}  // namespace

TEST(AutoPrecision, OwnQuantisedFixturesLoadBackWithTrainedTypes) {
    const std::string d = quantFixtures();
    if (!fs::exists(d + "/qonnx_mlp.onnx")) GTEST_SKIP() << "quant fixtures not made (scripts/make_quant_fixtures.py)";
    expectLoadsBackKeepingTrainedTypes(d + "/qonnx_mlp.onnx");
    expectLoadsBackKeepingTrainedTypes(d + "/qcnn.json");
    expectLoadsBackKeepingTrainedTypes(d + "/binary_mlp.json");
    // A base configuration in hls4ml mode, where plain `auto` would be hls4ml's inference.
    expectLoadsBackKeepingTrainedTypes(d + "/qcnn.json", api::Json{{"Compatibility", "hls4ml"}});
}

TEST(AutoPrecision, ZooQuantisedModelsLoadBackWithTrainedTypes) {
    if (!fs::exists(kZoo / "keras" / "qkeras_3layer.json")) GTEST_SKIP() << "zoo not present at " << kZoo;
    for (const char* m : {"keras/qkeras_3layer.json", "keras/qkeras_mnist_dense.json", "keras/hgq_jet_classifier.h5",
                          "keras/KERAS_3layer_binary_smaller.json", "keras/KERAS_3layer_ternary_small.json",
                          "keras/garnet_1layer.json", "onnx/bnn_model_fc_1layer.onnx"})
        expectLoadsBackKeepingTrainedTypes((kZoo / m).string());
}

TEST(AutoPrecision, SingleSigmoidOutputIsAClassifierWithScoreResolution) {
    const std::string path = sigmoidScoreModel();
    const Graph raw = loadModel(path);
    const std::vector<double> x = calibrationRows(raw, 400);
    // The sigmoid is a lookup table: rows right at 0.5 may flip even at the widest types.
    api::AutoPrecisionOptions opt;
    opt.targetAgreement = 0.99;
    const api::AutoPrecisionResult r = autoPrecisionOn(path, x, opt);
    EXPECT_TRUE(r.classifier);
    ASSERT_TRUE(r.met) << r.table();
    EXPECT_GE(outputFractionBits(r, raw), 8) << r.table();

    // The metric is the decision agreement at 0.5, recomputed here from the two predictions.
    auto m = api::Model::load(path, r.config);
    std::vector<double> fixed(400), ref(400);
    m->predict(x.data(), 400, fixed.data(), false);
    m->predict(x.data(), 400, ref.data(), true);
    size_t same = 0, positives = 0;
    for (size_t k = 0; k < 400; ++k) {
        same += (fixed[k] > 0.5) == (ref[k] > 0.5);
        positives += ref[k] > 0.5;
    }
    EXPECT_GT(positives, 40u);   // both decisions occur: agreement is not trivial
    EXPECT_LT(positives, 360u);
    EXPECT_DOUBLE_EQ(r.metric, double(same) / 400.0);
    EXPECT_GE(r.metric, 0.99);

    api::AutoPrecisionOptions finer = opt;
    finer.scoreFracBits = 12;
    EXPECT_GE(outputFractionBits(autoPrecisionOn(path, x, finer), raw), 12);
}

TEST(AutoPrecision, SoftmaxOutputKeepsScoreResolution) {
    const fs::path m = kZoo / "keras" / "KERAS_3layer.json";
    if (!fs::exists(m)) GTEST_SKIP() << "zoo not present at " << kZoo;
    const Graph raw = loadModel(m.string());
    const api::AutoPrecisionResult r = autoPrecisionOn(m.string(), calibrationRows(raw, 300));
    EXPECT_TRUE(r.classifier);
    EXPECT_GE(outputFractionBits(r, raw), 8) << r.table();
}

// The HGQ jet classifier is quantised everywhere: with the types --auto-precision writes it
// stays bit-exact against the independent numpy re-implementation of HGQ's inference
// (scripts/make_quant_fixtures.py), as it is with its trained types.
TEST(AutoPrecision, HgqStaysExactAgainstNumpyReference) {
    const fs::path m = kZoo / "keras" / "hgq_jet_classifier.h5";
    const std::string xPath = quantFixtures() + "/hgq_jet_classifier_X.npy";
    if (!fs::exists(m) || !fs::exists(xPath)) GTEST_SKIP() << "zoo or quant fixtures absent";
    size_t rows = 0, nIn = 0, yRows = 0, nOut = 0;
    const std::vector<double> x = readNpy(xPath, rows, nIn);
    const std::vector<double> ref = readNpy(quantFixtures() + "/hgq_jet_classifier_Y.npy", yRows, nOut);
    ASSERT_EQ(rows, yRows);
    const api::AutoPrecisionResult r = autoPrecisionOn(m.string(), x);
    auto model = api::Model::load(m.string(), r.config);
    std::vector<double> y(rows * nOut);
    model->predict(x.data(), rows, y.data(), false);
    size_t differ = 0;
    for (size_t k = 0; k < y.size(); ++k) differ += y[k] != ref[k];
    EXPECT_EQ(differ, 0u) << r.table();
}

// The CLI's --score-bits reaches the search; out-of-range values are refused.
TEST(AutoPrecision, CliScoreBitsOption) {
    const fs::path m = kZoo / "keras" / "KERAS_3layer.json";
    if (!fs::exists(m)) GTEST_SKIP() << "zoo not present at " << kZoo;
    const fs::path d = fs::path(TACHYON_BINARY_DIR) / "auto_precision_test" / "score_bits";
    fs::remove_all(d);
    fs::create_directories(d);
    const Graph raw = loadModel(m.string());
    const std::vector<double> x = calibrationRows(raw, 300);
    writeNpy((d / "x.npy").string(), x.data(), 300, size_t(raw.inputSize()));
    const std::string base = std::string(TACHYON_CLI) + " config " + m.string() + " --auto-precision " +
                             (d / "x.npy").string() + " > /dev/null 2>&1";
    ASSERT_EQ(std::system((base + " --score-bits 11 -o " + (d / "c.yml").string()).c_str()), 0);
    const api::Json cfg = api::readYamlFile((d / "c.yml").string());
    const std::string t = cfg["LayerName"][raw.output().name]["Precision"]["result"].get<std::string>();
    EXPECT_GE(FixedType::parse(t).frac(), 11) << t;
    EXPECT_NE(std::system((base + " --score-bits -3 -o " + (d / "bad.yml").string()).c_str()), 0);
    EXPECT_FALSE(fs::exists(d / "bad.yml"));
}
