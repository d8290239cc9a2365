// Conformance of the frontends on models trained by other people (../shared/models, the
// hls4ml example-model collection): every dense-family model imports, verifies and, in
// float mode, reproduces the independent numpy reference outputs; every other model is
// refused with an error naming the unsupported layer or operator. Skips when the shared
// folder is absent.
#include "support/zoo.h"
#include "config/Config.h"
#include "emulator/Emulator.h"
#include "frontends/Frontend.h"
#include "passes/Pass.h"
#include "util/Error.h"
#include "util/Npy.h"

#include "float_reference.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

using namespace tachyon;
namespace fs = std::filesystem;

namespace {

const std::string kShared = test_support::zooDir();

struct DenseModel {
    std::string file;        // relative to the zoo
    std::string reference;   // reference/<reference>_X.npy / _Y.npy ("" = none)
    int inputs, outputs;
    int dense, batchNorm;    // expected layer counts
};

const std::vector<DenseModel> kDenseModels = {
    {"keras/KERAS_1layer.json", "keras_KERAS_1layer", 10, 1, 2, 0},
    {"keras/KERAS_3layer.json", "keras_KERAS_3layer", 16, 5, 4, 0},
    {"keras/KERAS_3layer_batch_norm.json", "keras_KERAS_3layer_batch_norm", 16, 5, 4, 4},
    {"keras/KERAS_dense_16x100x100x100x100x100x5.json", "keras_KERAS_dense_16x100x100x100x100x100x5", 16, 5, 6, 0},
    {"onnx/three_layer_keras.onnx", "onnx_three_layer_keras", 16, 5, 4, 0},
    {"onnx/three_layer_pytorch.onnx", "onnx_three_layer_pytorch", 16, 5, 4, 0},
    {"onnx/two_layer_keras.onnx", "onnx_two_layer_keras", 10, 1, 2, 0},
    {"onnx/two_layer_pytorch.onnx", "onnx_two_layer_pytorch", 10, 1, 2, 0},
    {"onnx/three_layer_bn_pytorch.onnx", "", 16, 5, 4, 4},
};

}  // namespace

TEST(ConformanceImport, DenseModelsImportAndVerify) {
    ZOO_OR_SKIP();
    for (const DenseModel& m : kDenseModels) {
        SCOPED_TRACE(m.file);
        const std::string path = kShared + "/" + m.file;
        Graph g;
        ASSERT_NO_THROW(g = loadModel(path));
        EXPECT_NO_THROW(verify(g));
        EXPECT_EQ(g.sourceFile, path);
        EXPECT_EQ(g.inputSize(), m.inputs);
        EXPECT_EQ(g.outputSize(), m.outputs);
        int dense = 0, bn = 0;
        for (const Layer& l : g.layers) {
            dense += l.kind == LayerKind::Dense;
            bn += l.kind == LayerKind::BatchNorm;
            EXPECT_TRUE(l.precision.empty()) << l.name;
        }
        EXPECT_EQ(dense, m.dense);
        EXPECT_EQ(bn, m.batchNorm);
    }
}

// hls4ml-style names: a Keras Dense with a fused activation is split into "<dense>_<act>",
// Dropout disappears.
TEST(ConformanceImport, KerasLayerNames) {
    ZOO_OR_SKIP();
    const Graph g = loadModel(kShared + "/keras/KERAS_dense_16x100x100x100x100x100x5.json");
    EXPECT_EQ(g.name, "KERAS_dense_16x100x100x100x100x100x5");
    ASSERT_NE(g.find("fc1_relu_relu"), nullptr);
    EXPECT_EQ(g.find("fc1_relu_relu")->input(), "fc1_relu");
    EXPECT_EQ(g.find("fc2_relu")->input(), "fc1_relu_relu");   // dropout_1 removed
    EXPECT_EQ(g.find("output_softmax_softmax")->kind, LayerKind::Softmax);
    for (const Layer& l : g.layers) EXPECT_EQ(l.name.find("dropout"), std::string::npos) << l.name;
}

TEST(ConformanceImport, FloatMatchesReference) {
    ZOO_OR_SKIP();
    for (const DenseModel& m : kDenseModels) {
        if (m.reference.empty()) continue;
        SCOPED_TRACE(m.file);
        Graph g = loadModel(kShared + "/" + m.file);
        expectFloatMatchesReference(g, kShared + "/reference/" + m.reference + "_X.npy",
                                    kShared + "/reference/" + m.reference + "_Y.npy", 1e-5, 1e-9);
    }
}

// The PyTorch BatchNorm model has no reference file: its BatchNorm (Unsqueeze/BN/Squeeze)
// must at least act as the inference formula on the trained statistics, which the import
// folds into finite, non-trivial scale/shift vectors.
TEST(ConformanceImport, PytorchBatchNormUnsqueeze) {
    ZOO_OR_SKIP();
    const Graph g = loadModel(kShared + "/onnx/three_layer_bn_pytorch.onnx");
    std::vector<const Layer*> bns;
    for (const Layer& l : g.layers)
        if (l.kind == LayerKind::BatchNorm) bns.push_back(&l);
    ASSERT_EQ(bns.size(), 4u);
    for (const Layer* l : bns) {
        EXPECT_EQ(l->shape.size(), 1u) << l->name;   // the Unsqueeze'd axis is gone
        EXPECT_EQ(g.find(l->input())->kind, LayerKind::Dense);
        bool nonTrivial = false;
        for (size_t i = 0; i < l->param("scale").size(); ++i) nonTrivial |= l->param("scale")[i] != 1.0 || l->param("shift")[i] != 0.0;
        EXPECT_TRUE(nonTrivial) << l->name;
    }
    EXPECT_EQ(g.output().kind, LayerKind::Softmax);
}

TEST(ConformanceImport, UnsupportedModelsAreRefused) {
    ZOO_OR_SKIP();
    const std::vector<std::pair<std::string, std::vector<std::string>>> cases = {
        // garnet_1layer (issue 14), the QKeras, binary and ternary models and the QONNX
        // bnn_model_fc_1layer (issue 11) import now.
        {"pytorch/three_layer_model.pt", {"torch.onnx.export"}},
    };
    for (const auto& [file, needles] : cases) {
        const std::string path = kShared + "/" + file;
        std::string msg = "<no error>";
        try {
            loadModel(path);
        } catch (const Error& e) {
            msg = e.what();
        }
        EXPECT_NE(msg.find(path), std::string::npos) << msg;
        for (const auto& n : needles) EXPECT_NE(msg.find(n), std::string::npos) << file << ": '" << msg << "' lacks " << n;
    }
}
