// Model frontends on the project's own fixtures (scripts/make_fixtures.py: small torch
// models exported to ONNX, and a hand-written Keras-2 JSON + H5 pair), on ONNX models built
// here with the protobuf classes (to reach every supported operator), and on malformed
// files, which must give a tachyon::Error naming the file.
#include "config/Config.h"
#include "emulator/Emulator.h"
#include "frontends/Frontend.h"
#include "passes/Pass.h"
#include "util/Error.h"
#include "util/Npy.h"

#include "float_reference.h"

#include "fixture_dir.h"
#include "support/error_of.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <onnx/onnx-ml.pb.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <random>
#include <unistd.h>

using namespace tachyon;
using test_support::errorOf;
namespace fs = std::filesystem;

namespace {

// The fixture directory, generated on first use when missing.
const std::string& fixtureDir() {
    static const std::string dir = fixtureDirMadeBy("make_fixtures.py", "nn_fixtures.stamp", "2");
    return dir;
}

std::string fixture(const std::string& name) { return fixtureDir() + "/" + name; }

// A scratch directory for malformed files, unique per process.
const fs::path& scratchDir() {
    static const fs::path dir = [] {
        fs::path d = fs::temp_directory_path() / ("tachyon_frontends_" + std::to_string(getpid()));
        fs::create_directories(d);
        return d;
    }();
    return dir;
}

std::string writeFile(const std::string& name, const std::string& bytes) {
    const fs::path p = scratchDir() / name;
    std::ofstream(p, std::ios::binary) << bytes;
    return p.string();
}

std::string readFile(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

#define EXPECT_CONTAINS(haystack, needle) \
    EXPECT_NE(std::string(haystack).find(needle), std::string::npos) << "'" << (haystack) << "' lacks '" << (needle) << "'"

std::vector<double> npy(const std::string& path, size_t& rows, size_t& cols) { return readNpy(path, rows, cols); }
std::vector<double> npy(const std::string& path) {
    size_t r, c;
    return readNpy(path, r, c);
}

std::vector<LayerKind> kinds(const Graph& g) {
    std::vector<LayerKind> k;
    for (const auto& l : g.layers) k.push_back(l.kind);
    return k;
}

// ---- Building ONNX models in memory -------------------------------------------------

struct OnnxModel {
    onnx::ModelProto m;
    explicit OnnxModel(int opset = 13, int nIn = 4) {
        m.set_ir_version(7);
        auto* o = m.add_opset_import();
        o->set_domain("");
        o->set_version(opset);
        auto* g = m.mutable_graph();
        g->set_name("test");
        auto* in = g->add_input();
        in->set_name("x");
        auto* t = in->mutable_type()->mutable_tensor_type();
        t->set_elem_type(onnx::TensorProto::FLOAT);
        t->mutable_shape()->add_dim()->set_dim_param("batch");
        t->mutable_shape()->add_dim()->set_dim_value(nIn);
    }
    onnx::TensorProto* init(const std::string& name, std::vector<int64_t> dims, const std::vector<double>& v,
                            int type = onnx::TensorProto::FLOAT, bool raw = true) {
        auto* t = m.mutable_graph()->add_initializer();
        t->set_name(name);
        for (auto d : dims) t->add_dims(d);
        t->set_data_type(type);
        fillTensor(*t, v, type, raw);
        return t;
    }
    static void fillTensor(onnx::TensorProto& t, const std::vector<double>& v, int type, bool raw) {
        std::string bytes;
        for (double x : v) {
            if (type == onnx::TensorProto::FLOAT) {
                float f = float(x);
                if (raw) bytes.append(reinterpret_cast<char*>(&f), 4); else t.add_float_data(f);
            } else if (type == onnx::TensorProto::DOUBLE) {
                if (raw) bytes.append(reinterpret_cast<char*>(&x), 8); else t.add_double_data(x);
            } else {
                int64_t i = int64_t(x);
                if (raw) bytes.append(reinterpret_cast<char*>(&i), 8); else t.add_int64_data(i);
            }
        }
        if (raw) t.set_raw_data(bytes);
    }
    onnx::NodeProto* node(const std::string& op, std::vector<std::string> ins, const std::string& out,
                          const std::string& name = "") {
        auto* n = m.mutable_graph()->add_node();
        n->set_op_type(op);
        n->set_name(name);
        for (auto& i : ins) n->add_input(i);
        n->add_output(out);
        return n;
    }
    static void attr(onnx::NodeProto* n, const std::string& name, double f) {
        auto* a = n->add_attribute();
        a->set_name(name);
        a->set_type(onnx::AttributeProto::FLOAT);
        a->set_f(float(f));
    }
    static void attrInt(onnx::NodeProto* n, const std::string& name, int64_t i) {
        auto* a = n->add_attribute();
        a->set_name(name);
        a->set_type(onnx::AttributeProto::INT);
        a->set_i(i);
    }
    std::string save(const std::string& file, const std::string& output) {
        m.mutable_graph()->add_output()->set_name(output);
        std::string bytes;
        m.SerializeToString(&bytes);
        return writeFile(file, bytes);
    }
};

}  // namespace

// ---- Fixtures from make_fixtures.py ----------------------------------------------------

TEST(FrontendsOnnx, DenseReluStructure) {
    const Graph g = loadModel(fixture("dense_relu.onnx"));
    EXPECT_EQ(g.name, "dense_relu");
    EXPECT_EQ(g.sourceFile, fixture("dense_relu.onnx"));
    using K = LayerKind;
    EXPECT_EQ(kinds(g), (std::vector<K>{K::Input, K::Dense, K::Activation, K::Dense, K::Activation, K::Dense, K::Softmax}));
    EXPECT_EQ(g.layers[0].name, "input");
    // PyTorch's "/0/Gemm" made identifier-safe.
    EXPECT_EQ(g.layers[1].name, "layer_0_Gemm");
    EXPECT_EQ(g.layers[2].name, "layer_1_Relu");
    EXPECT_EQ(g.layers[2].activation(), ActKind::ReLU);
    EXPECT_EQ(g.inputSize(), 16);
    EXPECT_EQ(macDims(g.layers[1]).nOut, 32);
    EXPECT_EQ(macDims(g.layers[3]).nIn, 32);
    EXPECT_EQ(macDims(g.layers[3]).nOut, 16);
    EXPECT_EQ(g.outputSize(), 5);
    for (const auto& l : g.layers) {
        EXPECT_TRUE(l.precision.empty()) << l.name;
        if (l.kind != LayerKind::Input) {
            EXPECT_EQ(l.input(), g.layers[&l - &g.layers[0] - 1].name);
        }
    }
    EXPECT_NO_THROW(verify(g));
}

// Every Dense/BatchNorm parameter equals torch's (dumped as float64 by the script).
TEST(FrontendsOnnx, WeightsEqualTorch) {
    for (const std::string model : {"dense_relu", "dense_acts", "dense_bn"}) {
        const Graph g = loadOnnx(fixture(model + ".onnx"));
        int dense = 0, bn = 0;
        for (const Layer& l : g.layers) {
            // "layer_3_Gemm" (from "/3/Gemm") -> torch module index "3".
            const std::string idx = l.name.rfind("layer_", 0) == 0 ? l.name.substr(6, l.name.find('_', 6) - 6) : "";
            const std::string p = fixture(model + "_params/" + idx);
            if (l.kind == LayerKind::Dense) {
                ++dense;
                size_t out, in;
                const auto w = npy(p + ".weight.npy", out, in);   // torch: [out][in]
                const auto b = npy(p + ".bias.npy");
                ASSERT_EQ((int)in, macDims(l).nIn) << l.name;
                ASSERT_EQ((int)out, macDims(l).nOut) << l.name;
                for (int i = 0; i < macDims(l).nIn; ++i)
                    for (int o = 0; o < macDims(l).nOut; ++o)
                        ASSERT_EQ(l.param("weight")[i * macDims(l).nOut + o], w[o * in + i]) << model << " " << l.name << " w[" << i << "][" << o << "]";
                for (int o = 0; o < macDims(l).nOut; ++o) ASSERT_EQ(l.param("bias")[o], b[o]) << l.name;
            } else if (l.kind == LayerKind::BatchNorm) {
                ++bn;
                const auto gamma = npy(p + ".weight.npy"), beta = npy(p + ".bias.npy");
                const auto mean = npy(p + ".running_mean.npy"), var = npy(p + ".running_var.npy");
                ASSERT_EQ(gamma.size(), l.param("scale").size());
                for (size_t i = 0; i < gamma.size(); ++i) {
                    const double scale = gamma[i] / std::sqrt(var[i] + 1e-5);
                    EXPECT_NEAR(l.param("scale")[i], scale, 1e-9 * std::abs(scale)) << l.name;
                    EXPECT_NEAR(l.param("shift")[i], beta[i] - mean[i] * scale, 1e-9 * (std::abs(beta[i]) + std::abs(mean[i] * scale)));
                }
            }
        }
        EXPECT_EQ(dense, model == "dense_relu" ? 3 : model == "dense_acts" ? 4 : 3) << model;
        EXPECT_EQ(bn, model == "dense_bn" ? 2 : 0) << model;
    }
}

TEST(FrontendsOnnx, ActivationParameters) {
    const Graph g = loadOnnx(fixture("dense_acts.onnx"));
    std::vector<const Layer*> acts;
    for (const Layer& l : g.layers)
        if (l.kind == LayerKind::Activation) acts.push_back(&l);
    ASSERT_EQ(acts.size(), 4u);
    EXPECT_EQ(acts[0]->activation(), ActKind::Sigmoid);
    EXPECT_EQ(acts[1]->activation(), ActKind::Tanh);
    EXPECT_EQ(acts[2]->activation(), ActKind::LeakyReLU);
    EXPECT_NEAR(acts[2]->as<ActAttrs>().alpha, 0.1, 1e-7);
    EXPECT_EQ(acts[3]->activation(), ActKind::HardSigmoid);   // torch: relu6(x + 3) / 6
    EXPECT_NEAR(acts[3]->as<ActAttrs>().slope, 1.0 / 6, 1e-7);
    EXPECT_NEAR(acts[3]->as<ActAttrs>().offset, 0.5, 1e-7);
}

TEST(FrontendsOnnx, BatchNormModel) {
    const Graph g = loadOnnx(fixture("dense_bn.onnx"));
    using K = LayerKind;
    EXPECT_EQ(kinds(g), (std::vector<K>{K::Input, K::Dense, K::BatchNorm, K::Activation, K::Dense, K::BatchNorm,
                                        K::Activation, K::Dense}));
    EXPECT_EQ(g.layers[2].shape, std::vector<int>{24});
    EXPECT_EQ(g.outputSize(), 4);
}

TEST(FrontendsKeras, SingleFileModel) {
    const Graph full = loadModel(fixture("keras_dense_full.h5"));
    const Graph split = loadModel(fixture("keras_dense.json"));
    ASSERT_EQ(full.layers.size(), split.layers.size());
    for (size_t i = 0; i < full.layers.size(); ++i) {
        const Layer &a = full.layers[i], &b = split.layers[i];
        EXPECT_EQ(a.name, b.name);
        EXPECT_EQ(a.kind, b.kind);
        EXPECT_EQ(a.params, b.params) << a.name;
    }
    EXPECT_EQ(full.sourceFile, fixture("keras_dense_full.h5"));
}

TEST(FrontendsKeras, JsonAndWeightsFixture) {
    const Graph g = loadModel(fixture("keras_dense.json"));   // finds keras_dense_weights.h5 beside it
    std::vector<std::string> names;
    for (const auto& l : g.layers) names.push_back(l.name);
    EXPECT_EQ(names, (std::vector<std::string>{"input_1", "fc1", "fc1_relu", "bn1", "fc2", "fc2_tanh", "fc3", "fc3_softmax"}));
    EXPECT_EQ(g.name, "keras_dense");
    EXPECT_EQ(g.find("fc2_tanh")->activation(), ActKind::Tanh);
    EXPECT_EQ(g.find("fc3_softmax")->kind, LayerKind::Softmax);
    EXPECT_EQ(macDims(*g.find("fc2")).nIn, 12);
    EXPECT_EQ(macDims(*g.find("fc2")).nOut, 6);
    // The same model through an explicit weights path.
    const Graph g2 = loadKeras(fixture("keras_dense.json"), fixture("keras_dense_weights.h5"));
    EXPECT_EQ(g2.find("fc2")->param("weight"), g.find("fc2")->param("weight"));
    EXPECT_EQ(g2.find("bn1")->param("scale"), g.find("bn1")->param("scale"));
}

// Old-style Sequential (config is the layer list, no InputLayer: the first layer carries
// batch_input_shape) with the standalone activation layers, on the fixture's weights.
TEST(FrontendsKeras, SequentialWithActivationLayers) {
    nlohmann::json functional = nlohmann::json::parse(readFile(fixture("keras_dense.json")));
    nlohmann::json layers = nlohmann::json::array();
    for (auto l : functional["config"]["layers"]) {
        if (l["class_name"] == "InputLayer") continue;
        l.erase("inbound_nodes");
        if (layers.empty()) l["config"]["batch_input_shape"] = {nullptr, 8};
        layers.push_back(l);
        if (l["config"]["name"] == "fc2") {
            layers.push_back({{"class_name", "LeakyReLU"}, {"config", {{"name", "leaky"}, {"alpha", 0.125}}}});
            layers.push_back({{"class_name", "Flatten"}, {"config", {{"name", "flat"}}}});
            layers.push_back({{"class_name", "ReLU"}, {"config", {{"name", "six"}, {"max_value", 6.0}}}});
            layers.push_back({{"class_name", "Activation"}, {"config", {{"name", "hs"}, {"activation", "hard_sigmoid"}}}});
        }
    }
    const nlohmann::json seq = {{"class_name", "Sequential"}, {"config", layers}};
    const std::string path = writeFile("seq.json", seq.dump());
    const Graph g = loadKeras(path, fixture("keras_dense_weights.h5"));
    std::vector<std::string> names;
    for (const auto& l : g.layers) names.push_back(l.name);
    EXPECT_EQ(names, (std::vector<std::string>{"fc1_input", "fc1", "fc1_relu", "bn1", "fc2", "fc2_tanh", "leaky",
                                               "six", "hs", "fc3", "fc3_softmax"}));
    EXPECT_EQ(g.name, "seq");
    EXPECT_EQ(g.find("leaky")->activation(), ActKind::LeakyReLU);
    EXPECT_EQ(g.find("leaky")->as<ActAttrs>().alpha, 0.125);
    EXPECT_EQ(g.find("six")->activation(), ActKind::ReLU6);
    EXPECT_EQ(g.find("hs")->activation(), ActKind::HardSigmoid);
    EXPECT_EQ(g.find("hs")->as<ActAttrs>().slope, 0.2);
    EXPECT_EQ(g.find("fc3")->param("weight"), loadModel(fixture("keras_dense.json")).find("fc3")->param("weight"));
}

// ---- Every supported ONNX operator, on models built here ------------------------------

TEST(FrontendsOnnx, MatMulAddClipFlattenReshape) {
    OnnxModel m(13, 3);
    m.init("W", {3, 2}, {1, 2, 3, 4, 5, 6}, onnx::TensorProto::DOUBLE);
    m.init("B", {2}, {0.5, -0.5}, onnx::TensorProto::FLOAT, false);   // float_data, not raw
    m.init("W2", {2, 2}, {1, 0, 0, 1});
    m.init("shape", {2}, {-1, 2}, onnx::TensorProto::INT64);
    m.node("MatMul", {"x", "W"}, "mm", "dense1");
    m.node("Add", {"mm", "B"}, "biased", "bias1");
    m.node("Identity", {"biased"}, "id");
    auto* clip = m.node("Clip", {"id", "lo", "hi"}, "c", "relu6");
    auto* lo = m.node("Constant", {}, "lo");
    // Constants must come before their use in a sorted graph: move them to the front.
    (void)clip;
    auto* attr = lo->add_attribute();
    attr->set_name("value");
    OnnxModel::fillTensor(*attr->mutable_t(), {0.0}, onnx::TensorProto::FLOAT, true);
    attr->mutable_t()->set_data_type(onnx::TensorProto::FLOAT);
    auto* hi = m.node("Constant", {}, "hi");
    attr = hi->add_attribute();
    attr->set_name("value_float");
    attr->set_f(6.0f);
    m.node("Flatten", {"c"}, "f", "flat");
    m.node("Reshape", {"f", "shape"}, "r", "reshape");
    m.node("MatMul", {"r", "W2"}, "y", "dense2");   // MatMul without Add: zero bias
    // Put the two Constant nodes first (topological order).
    auto* nodes = m.m.mutable_graph()->mutable_node();
    std::rotate(nodes->begin(), nodes->begin() + 4, nodes->begin() + 6);
    const Graph g = loadOnnx(m.save("ops.onnx", "y"));
    using K = LayerKind;
    ASSERT_EQ(kinds(g), (std::vector<K>{K::Input, K::Dense, K::Activation, K::Dense})) << dump(g);
    const Layer& d1 = g.layers[1];
    EXPECT_EQ(d1.name, "dense1");
    EXPECT_EQ(d1.param("weight"), (std::vector<double>{1, 2, 3, 4, 5, 6}));
    EXPECT_EQ(d1.param("bias"), (std::vector<double>{0.5, -0.5}));
    EXPECT_EQ(g.layers[2].activation(), ActKind::ReLU6);
    EXPECT_EQ(g.layers[3].param("bias"), (std::vector<double>{0, 0}));
}

TEST(FrontendsOnnx, GemmAttributesAndUnnamedNodes) {
    OnnxModel m(9, 2);
    m.init("B", {2, 3}, {1, 2, 3, 4, 5, 6});   // transB = 0: [K][M]
    m.init("C", {3}, {1, 1, 1});
    m.init("B2", {1, 3}, {1, 2, 3});           // transB = 1: [M][K]
    auto* gemm = m.node("Gemm", {"x", "B", "C"}, "g1");
    OnnxModel::attr(gemm, "alpha", 2.0);
    OnnxModel::attr(gemm, "beta", 0.5);
    auto* lr = m.node("LeakyRelu", {"g1"}, "lr", "leaky");
    OnnxModel::attr(lr, "alpha", 0.25);
    auto* g2 = m.node("Gemm", {"lr", "B2"}, "g2");
    OnnxModel::attrInt(g2, "transB", 1);
    m.node("Sigmoid", {"g2"}, "out");
    const Graph g = loadOnnx(m.save("gemm.onnx", "out"));
    ASSERT_EQ(g.layers.size(), 5u) << dump(g);
    EXPECT_EQ(g.layers[1].name, "g1");   // unnamed node: its output tensor's name
    EXPECT_EQ(g.layers[1].param("weight"), (std::vector<double>{2, 4, 6, 8, 10, 12}));
    EXPECT_EQ(g.layers[1].param("bias"), (std::vector<double>{0.5, 0.5, 0.5}));
    EXPECT_EQ(g.layers[2].as<ActAttrs>().alpha, 0.25);
    EXPECT_EQ(g.layers[3].param("weight"), (std::vector<double>{1, 2, 3}));
    EXPECT_EQ(macDims(g.layers[3]).nOut, 1);
    EXPECT_EQ(g.layers[4].activation(), ActKind::Sigmoid);
}

// ---- Malformed inputs ----------------------------------------------------------------

TEST(FrontendsErrors, TruncatedEmptyAndGarbageOnnx) {
    const std::string good = readFile(fixture("dense_relu.onnx"));
    ASSERT_GT(good.size(), 1000u);
    for (size_t cut : {good.size() / 2, good.size() - 7, size_t(10)}) {
        const std::string p = writeFile("truncated.onnx", good.substr(0, cut));
        EXPECT_CONTAINS(errorOf([&] { loadModel(p); }), p);
    }
    const std::string empty = writeFile("empty.onnx", "");
    EXPECT_CONTAINS(errorOf([&] { loadModel(empty); }), "empty");
    std::mt19937 rng(7);
    for (int trial = 0; trial < 20; ++trial) {
        std::string bytes(1 + rng() % 4000, '\0');
        for (char& c : bytes) c = char(rng());
        const std::string p = writeFile("garbage.onnx", bytes);
        EXPECT_CONTAINS(errorOf([&] { loadModel(p); }), p);
    }
    // Flipping single bytes of a valid model must never crash (either loads or errors).
    for (int trial = 0; trial < 50; ++trial) {
        std::string bytes = good;
        bytes[rng() % bytes.size()] = char(rng());
        const std::string p = writeFile("flipped.onnx", bytes);
        try {
            verify(loadModel(p));
        } catch (const Error& e) {
            EXPECT_CONTAINS(e.what(), p);
        }
    }
}

TEST(FrontendsErrors, UnsupportedOnnxOperator) {
    OnnxModel m(13, 4);
    m.init("W", {2, 2}, {1, 0, 0, 1});
    m.node("Einsum", {"x", "W"}, "y", "einsum_1");
    const std::string p = m.save("einsum.onnx", "y");
    const std::string msg = errorOf([&] { loadModel(p); });
    EXPECT_CONTAINS(msg, p);
    EXPECT_CONTAINS(msg, "einsum_1");
    EXPECT_CONTAINS(msg, "Einsum");

    // A 1-D input cannot feed a convolution (it needs [channels, width]).
    OnnxModel conv(13, 4);
    conv.init("W", {2, 1, 3}, {1, 1, 1, 1, 1, 1});
    conv.node("Conv", {"x", "W"}, "y", "conv_1");
    const std::string pc = conv.save("conv.onnx", "y");
    const std::string cmsg = errorOf([&] { loadModel(pc); });
    EXPECT_CONTAINS(cmsg, "conv_1");
    EXPECT_CONTAINS(cmsg, "1-D and 2-D");

    OnnxModel clip(13, 2);
    auto* c = clip.node("Clip", {"x", "lo", "hi"}, "y", "clip");
    (void)c;
    clip.init("lo", {}, {-1});
    clip.init("hi", {}, {1});
    EXPECT_CONTAINS(errorOf([&] { loadModel(clip.save("clip.onnx", "y")); }), "Clip(-1, 1)");
}

TEST(FrontendsErrors, OnnxNodesWithTooFewInputsOrOutputs) {
    // Found by fuzz_onnx: an LSTM node stripped of its inputs was read at input 0.
    for (const auto& [op, ins] : std::vector<std::pair<std::string, std::vector<std::string>>>{
             {"LSTM", {}}, {"LSTM", {"x", "W"}}, {"GRU", {"x"}}, {"Gemm", {"x"}}, {"Relu", {}}, {"Add", {"x"}}}) {
        OnnxModel m(13, 4);
        m.init("W", {1, 4, 4}, std::vector<double>(16, 0.5));
        m.node(op, ins, "y", "broken_node");
        const std::string p = m.save("arity_" + op + std::to_string(ins.size()) + ".onnx", "y");
        const std::string msg = errorOf([&] { loadModel(p); });
        EXPECT_CONTAINS(msg, p);
        EXPECT_CONTAINS(msg, "broken_node");
        EXPECT_CONTAINS(msg, "input(s); " + op + " needs at least");
    }
    OnnxModel noOut(13, 4);
    noOut.node("Relu", {"x"}, "", "no_output");
    EXPECT_CONTAINS(errorOf([&] { loadModel(noOut.save("no_output.onnx", "y")); }), "has no output");
}

TEST(FrontendsErrors, KerasMalformed) {
    // Missing weights file: the JSON copied somewhere without its _weights.h5.
    const std::string json = writeFile("lonely.json", readFile(fixture("keras_dense.json")));
    std::string msg = errorOf([&] { loadModel(json); });
    EXPECT_CONTAINS(msg, "lonely_weights.h5");
    EXPECT_CONTAINS(msg, json);
    // Weights file that is not HDF5.
    const std::string notH5 = writeFile("bad_weights.h5", "not an hdf5 file at all");
    EXPECT_CONTAINS(errorOf([&] { loadKeras(json, notH5); }), notH5);
    // Broken JSON and an unknown layer class.
    const std::string broken = writeFile("broken.json", "{\"class_name\": \"Model\", \"config\": {");
    EXPECT_CONTAINS(errorOf([&] { loadKeras(broken, fixture("keras_dense_weights.h5")); }), broken);
    std::string text = readFile(fixture("keras_dense.json"));
    text.replace(text.find("\"BatchNormalization\""), 20, "\"Conv2D\"");
    const std::string conv = writeFile("conv.json", text);
    msg = errorOf([&] { loadKeras(conv, fixture("keras_dense_weights.h5")); });
    EXPECT_CONTAINS(msg, "'bn1'");
    EXPECT_CONTAINS(msg, "Conv2D");
    EXPECT_CONTAINS(msg, conv);
    // A weights-only H5 file loaded as a full model has no architecture.
    EXPECT_CONTAINS(errorOf([&] { loadModel(fixture("keras_dense_weights.h5")); }), "model_config");
}

// Cleans the scratch directory after all tests.
class ScratchCleanup : public ::testing::Environment {
    void TearDown() override {
        std::error_code ec;
        fs::remove_all(scratchDir(), ec);
    }
};
const auto* const kScratchCleanup = ::testing::AddGlobalTestEnvironment(new ScratchCleanup);

TEST(FrontendsErrors, OtherFormats) {
    const std::string pt = writeFile("model.pt", "PK\x03\x04");
    const std::string msg = errorOf([&] { loadModel(pt); });
    EXPECT_CONTAINS(msg, pt);
    EXPECT_CONTAINS(msg, "torch.onnx.export");
    EXPECT_CONTAINS(errorOf([&] { loadModel(writeFile("model.xyz", "x")); }), "model.xyz");
    EXPECT_CONTAINS(errorOf([&] { loadModel((scratchDir() / "nope.onnx").string()); }), "nope.onnx");
}

// ---- Float accuracy against torch -----------------------------------------------------

TEST(FrontendsFloat, FixturesMatchTorch) {
    for (const std::string model : {"dense_relu", "dense_acts", "dense_bn"})
        expectFloatMatchesReference(loadOnnx(fixture(model + ".onnx")), fixture(model + "_X.npy"), fixture(model + "_Y.npy"), 1e-6, 1e-12);
    expectFloatMatchesReference(loadModel(fixture("keras_dense.json")), fixture("keras_dense_X.npy"), fixture("keras_dense_Y.npy"), 1e-6, 1e-12);
}
