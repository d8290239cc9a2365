// QONNX's channels-last domain (frontends/onnx/ChannelsLast.h): hand-built ONNX models whose
// Conv/MaxPool/AveragePool/BatchNormalization nodes are channels-last, against numpy
// references computed directly in that layout (scripts/make_channels_last_fixtures.py),
// and the clear errors for what Tachyon does not read.
#include "frontends/Frontend.h"
#include "util/Error.h"

#include "fixture_dir.h"
#include "float_reference.h"

#include <gtest/gtest.h>

#include <filesystem>

using namespace tachyon;
namespace fs = std::filesystem;

namespace {

const std::string& fixtures() {
    static const std::string dir =
        fixtureDirMadeBy("make_channels_last_fixtures.py", "channels_last_fixtures.stamp", "2");
    return dir;
}

class ChannelsLastFixture : public ::testing::TestWithParam<std::string> {};

// Float mode against the numpy reference: the layouts are right to the last bit of
// double arithmetic (the tolerance only absorbs summation order).
TEST_P(ChannelsLastFixture, FloatMatchesNumpyReference) {
    const std::string base = fixtures() + "/" + GetParam();
    Graph g = loadModel(base + ".onnx");
    expectFloatMatchesReference(g, base + "_X.npy", base + "_Y.npy", 1e-9, 1e-9);
}

// cl_separable, cl_branched and cl_tiny_unet have the structure of hls4ml's QONNX test models
// separable_conv_model_ch_last, branched_model_ch_last and tiny_unet_ch_last (activation
// Quants, depthwise + pointwise channels-last Convs, MaxPool, a standard Resize and Concat
// on channels-last tensors), at 8x8.
INSTANTIATE_TEST_SUITE_P(Models, ChannelsLastFixture,
                         ::testing::Values("cl_conv2d", "cl_conv1d", "cl_depthwise", "cl_separable", "cl_branched",
                                           "cl_tiny_unet"));

// The refused models name the file, the node and the reason.
TEST(ChannelsLast, UnsupportedNodesAreClearErrors) {
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"cl_refused_resize", "node 'up' (Resize, domain qonnx.custom_op.channels_last): is not supported"},
        {"cl_refused_weight", "node 'conv' (Conv, domain qonnx.custom_op.channels_last): its weight is computed by a Mul node"},
    };
    for (const auto& [name, expected] : cases) {
        const std::string path = fixtures() + "/" + name + ".onnx";
        try {
            loadModel(path);
            ADD_FAILURE() << name << " loaded";
        } catch (const Error& e) {
            const std::string what = e.what();
            EXPECT_NE(what.find(path), std::string::npos) << what;
            EXPECT_NE(what.find(expected), std::string::npos) << what;
        }
    }
}

}  // namespace
