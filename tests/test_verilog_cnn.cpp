// Streaming CNN / DAG Verilog end to end: generate the project, simulate it with
// Verilator (frames streamed one pixel per clock with the design's raster timing) and
// compare with the emulator bit for bit, at ap_fixed<16,6> and at narrow saturating types.
#include "support/zoo.h"
#include "backends/verilog/VerilogWriter.h"
#include "config/Config.h"
#include "emulator/Emulator.h"
#include "frontends/Frontend.h"
#include "passes/Pass.h"
#include "util/Error.h"
#include "support/long_tests.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace fs = std::filesystem;
using namespace tachyon;

namespace {

const std::string kModels = test_support::zooDir();

std::string fixtures() {
    const char* f = std::getenv("TACHYON_FIXTURES");
    return f ? f : std::string(TACHYON_BINARY_DIR) + "/fixtures";
}

const char* k16 = "Model:\n  Precision: ap_fixed<16,6>\n";
// Narrow and saturating everywhere, accumulators that can overflow (saturating chain).
const char* kNarrowSat = R"(
Model:
  Precision:
    default: ap_fixed<8,3,AP_RND,AP_SAT>
    weight: ap_fixed<6,1>
    bias: ap_fixed<6,1>
    accum: ap_fixed<10,4,AP_RND,AP_SAT>
)";
// 6-bit weights, 8-bit saturating activations, exact accumulators.
const char* kNarrowExact = R"(
Model:
  Precision:
    default: ap_fixed<8,3,AP_RND,AP_SAT>
    weight: ap_fixed<6,1>
    bias: ap_fixed<6,1>
    accum: auto
)";

void runModel(const std::string& name, const std::string& path, const char* yaml, size_t rows) {
    if (!fs::exists(path)) GTEST_SKIP() << path << " not found";
    Graph g = loadModel(path);
    runPipeline(g, Config::parse(yaml, "<test config>"));
    Emulator emu(g);
    verilog::VerilogOptions opt;
    opt.testRows = rows;
    const fs::path dir = fs::path(TACHYON_BINARY_DIR) / "verilog_tests" / name;
    fs::remove_all(dir);
    verilog::writeProject(g, emu, dir.string(), opt);
    std::ostringstream log;
    const verilog::RtlsimResult r = verilog::rtlsim(dir.string(), log);
    EXPECT_EQ(r.rows, rows) << log.str();
    EXPECT_EQ(r.mismatches, 0u) << log.str();
}

}  // namespace

// 2-D convolutions with padding, max and average pooling, BatchNorm on a stream, flatten,
// dense head, softmax.
TEST(VerilogCnn, CnnPoolBitExact) { runModel("cnn_pool", fixtures() + "/cnn_pool.onnx", k16, 1000); }
// Residual Add of two branches of different depth (aligned in time), global average pooling.
TEST(VerilogCnn, CnnResidualBitExact) {
    LONG_TEST_OR_SKIP();
    runModel("cnn_residual", fixtures() + "/cnn_residual.onnx", k16, 1000);
}
// Stride-2 branch and pooled branch concatenated along channels, tanh, flatten.
TEST(VerilogCnn, CnnConcatNarrowSaturatingBitExact) {
    runModel("cnn_concat_sat", fixtures() + "/cnn_concat.onnx", kNarrowSat, 1000);
}
// Encoder/decoder: max pooling, nearest upsampling, skip concatenation, sigmoid output image.
TEST(VerilogCnn, UnetTinyBitExact) {
    LONG_TEST_OR_SKIP();
    runModel("unet_tiny", fixtures() + "/unet_tiny.onnx", k16, 1000);
}
// 1-D: stride 2, dilation 2, padding 2, ELU, depthwise Conv1d, global max pooling.
TEST(VerilogCnn, Cnn1dNarrowSaturatingBitExact) {
    runModel("cnn1d_sat", fixtures() + "/cnn1d.onnx", kNarrowSat, 1000);
}
// Keras: 'same' stride-2 (asymmetric) padding, DepthwiseConv2D, SeparableConv2D, Add,
// asymmetric ZeroPadding2D, MaxPooling, UpSampling2D, Concatenate, GAP, softmax.
TEST(VerilogCnn, KerasCnnBitExact) {
    LONG_TEST_OR_SKIP();
    runModel("keras_cnn", fixtures() + "/keras_cnn.json", k16, 1000);
    runModel("keras_cnn_sat", fixtures() + "/keras_cnn.json", kNarrowSat, 1000);
}

// The example-model zoo (skipped without ../shared/models).
TEST(VerilogCnn, ZooJetTaggerConv2D6BitBitExact) {
    LONG_TEST_OR_SKIP();
    runModel("zoo_jet_conv2d", kModels + "/keras/jetTagger_Conv2D_Small_NoBatchNorm.json", kNarrowExact, 1000);
}
TEST(VerilogCnn, ZooConv2dSmallOnnxBitExact) {
    LONG_TEST_OR_SKIP();
    runModel("zoo_conv2d_onnx", kModels + "/onnx/conv2d_small_keras.onnx", k16, 1000);
}
TEST(VerilogCnn, ZooConv1dSmallOnnxNarrowBitExact) {
    runModel("zoo_conv1d_onnx", kModels + "/onnx/conv1d_small_keras.onnx", kNarrowSat, 1000);
}
TEST(VerilogCnn, ZooKerasConv1dBitExact) {
    LONG_TEST_OR_SKIP();
    runModel("zoo_keras_conv1d", kModels + "/keras/KERAS_conv1d_small.json", k16, 1000);
}
TEST(VerilogCnn, ZooKerasConv2dNarrowBitExact) {
    LONG_TEST_OR_SKIP();
    runModel("zoo_keras_conv2d", kModels + "/keras/KERAS_conv2d_model.json", kNarrowSat, 1000);
}

// What stays HLS-only fails with the layer's name and the reason.
TEST(VerilogCnn, AveragePoolingExcludingPaddingIsRefusedByName) {
    Graph g;
    g.sourceFile = "<test>";
    Layer in;
    in.name = "input";
    in.kind = LayerKind::Input;
    in.shape = {6, 6, 2};
    g.layers.push_back(in);
    Layer p;
    p.name = "avgpool_same";
    p.kind = LayerKind::Pooling;
    p.inputs = {"input"};
    PoolAttrs a;
    a.op = PoolOp::Average;
    a.kernel = {3, 3};
    a.strides = {1, 1};
    a.padBegin = {1, 1};
    a.padEnd = {1, 1};
    p.attrs = a;
    p.shape = {6, 6, 2};
    g.layers.push_back(p);
    runPipeline(g, Config::parse(k16, "<test config>"));
    Emulator emu(g);
    try {
        verilog::generateRtl(g, emu, {});
        FAIL() << "expected an error";
    } catch (const Error& e) {
        const std::string m = e.what();
        EXPECT_NE(m.find("avgpool_same"), std::string::npos) << m;
        EXPECT_NE(m.find("divisor"), std::string::npos) << m;
    }
}

// A Reshape that adds a channel axis to a 2-D input before a Conv2D (Keras' Reshape((H, W, 1));
// HGQ's MNIST CNNs): the input streams in the Reshape's shape, bit-exact in Verilator.
TEST(VerilogCnn, ChannelAddingReshapeBeforeConvBitExact) {
    LONG_TEST_OR_SKIP();
    const fs::path dir = fs::path(TACHYON_BINARY_DIR) / "verilog_tests" / "reshape_cnn_model";
    fs::remove_all(dir);
    fs::create_directories(dir);
    const std::string script =
        "import sys, numpy as np\n"
        "sys.path.insert(0, '" TACHYON_SOURCE_DIR "/scripts')\n"
        "from make_fixtures import write_keras_model\n"
        "rng = np.random.default_rng(7)\n"
        "def node(n): return [[[n, 0, 0, {}]]]\n"
        "layers = [\n"
        " {'class_name': 'InputLayer', 'name': 'img', 'inbound_nodes': [],\n"
        "  'config': {'name': 'img', 'batch_input_shape': [None, 7, 6], 'dtype': 'float32'}},\n"
        " {'class_name': 'Reshape', 'name': 'add_channel', 'config': {'name': 'add_channel', 'target_shape': [7, 6, 1]},\n"
        "  'inbound_nodes': node('img')},\n"
        " {'class_name': 'Conv2D', 'name': 'conv', 'inbound_nodes': node('add_channel'),\n"
        "  'config': {'name': 'conv', 'filters': 3, 'kernel_size': [3, 3], 'strides': [1, 1], 'padding': 'same',\n"
        "             'activation': 'relu', 'use_bias': True, 'data_format': 'channels_last', 'dilation_rate': [1, 1]}},\n"
        " {'class_name': 'Flatten', 'name': 'flat', 'config': {'name': 'flat'}, 'inbound_nodes': node('conv')},\n"
        " {'class_name': 'Dense', 'name': 'out', 'inbound_nodes': node('flat'),\n"
        "  'config': {'name': 'out', 'units': 4, 'activation': 'linear', 'use_bias': True}},\n"
        "]\n"
        "w = {'conv': {'kernel:0': rng.normal(0, .5, (3, 3, 1, 3)).astype(np.float32),\n"
        "              'bias:0': rng.normal(0, .1, 3).astype(np.float32)},\n"
        "     'out': {'kernel:0': rng.normal(0, .3, (126, 4)).astype(np.float32),\n"
        "             'bias:0': rng.normal(0, .1, 4).astype(np.float32)}}\n"
        "write_keras_model(sys.argv[1], 'reshape_cnn', layers, w, ['img'], ['out'])\n";
    std::ofstream((dir / "make.py").string()) << script;
    ASSERT_EQ(std::system(("/usr/bin/python3 " + (dir / "make.py").string() + " " + dir.string()).c_str()), 0);
    runModel("reshape_cnn", (dir / "reshape_cnn.json").string(), k16, 500);
}
