// The op registry (ops/OpList.h, ops/Registry.h): every layer kind has one line, and each
// line names what the lowering, the emulator, the HLS backend and the Verilog backend run for it.
#include "ops/Registry.h"

#include <gtest/gtest.h>

using namespace tachyon;

namespace {

// Every LayerKind, in declaration order (ir/Graph.h): Input first, Pow last.
std::vector<LayerKind> allKinds() {
    std::vector<LayerKind> kinds;
    for (int k = int(LayerKind::Input); k <= int(LayerKind::Pow); ++k) kinds.push_back(LayerKind(k));
    return kinds;
}

}  // namespace

TEST(OpRegistry, EveryKindHasALine) {
    for (LayerKind k : allKinds()) {
        const ops::OpInfo& op = ops::opInfo(k);
        EXPECT_TRUE(op.lower != nullptr) << toString(k);
        EXPECT_TRUE(op.kernel != nullptr) << toString(k);
        EXPECT_TRUE(op.hls != nullptr) << toString(k);
        EXPECT_TRUE(op.legality != nullptr) << toString(k);
        // The graph builder hands elementwise and sequence layers to the rtl column.
        if (op.streamRtl == verilog::StreamForm::Elementwise || op.streamRtl == verilog::StreamForm::Sequence) {
            EXPECT_TRUE(op.rtl != nullptr) << toString(k);
        }
    }
}

TEST(OpRegistry, LegalityNamesTheReason) {
    Layer sm;
    sm.name = "softmax";
    sm.kind = LayerKind::Softmax;
    EXPECT_EQ(ops::opInfo(LayerKind::Softmax).legality(sm), "");
    sm.softmax.implementation = SoftmaxImpl::Legacy;
    EXPECT_NE(ops::opInfo(LayerKind::Softmax).legality(sm).find("legacy"), std::string::npos);
}
