// BatchNormalization (over the channel axis, stored channels-last) and LayerNormalization
// (over the last axis).
#include "frontends/onnx/OnnxReader.h"
#include "util/Error.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

namespace tachyon::onnxfe {

void OnnxReader::batchNorm(const onnx::NodeProto& n) {
    const Value& x = dataInput(n);
    if (x.onnx.empty()) fail(n, "input has no channel dimension");
    // ONNX normalises over axis 1 (the first per-sample axis); Tachyon over its last
    // storage axis, so the tensor is stored channels-last.
    const int channels = x.onnx[0];
    std::vector<std::vector<double>> p;
    const char* roles[] = {"scale", "B", "mean", "var"};
    for (int i = 0; i < 4; ++i) {
        const ConstTensor& c = requireConst(n, i + 1, roles[i]);
        if ((int)c.values.size() != channels)
            fail(n, std::string(roles[i]) + " has " + std::to_string(c.values.size()) + " values, expected " +
                        std::to_string(channels));
        p.push_back(c.values);
    }
    Shape stored;
    for (int a : channelsLastOrder(x.onnx.size())) stored.push_back(x.onnx[size_t(a)]);
    const std::string in = b_.view(nodeName(n) + "_view", channelsLast(n, x), isVectorLike(stored) ? Shape{b_.size(x.layer)} : stored);
    const std::string out = b_.batchNorm(nodeName(n), in, p[0], p[1], p[2], p[3], floatAttr(n, "epsilon", 1e-5));
    produced(n, Value{out, x.onnx, channelsLastOrder(x.onnx.size())});
}

// LayerNormalization (opset 17) over the last ONNX axis only (ONNX normalises over every
// axis from `axis` on); that axis is put last in storage, as for Softmax.
void OnnxReader::layerNorm(const onnx::NodeProto& n) {
    const Value& x = dataInput(n);
    const Shape& shape = x.onnx;
    const int rank = int(shape.size()) + 1;   // with the batch axis
    int64_t axis = intAttr(n, "axis", -1);
    if (axis < 0) axis += rank;
    if (axis != rank - 1)
        fail(n, "LayerNormalization over several axes (axis " + std::to_string(axis) + " of " + std::to_string(rank) +
                    ") is not supported; only the last axis");
    if (n.output_size() > 1)
        for (int k = 1; k < n.output_size(); ++k)
            if (!n.output(k).empty() && uses_.count(n.output(k)) && uses_.at(n.output(k)) > 0)
                fail(n, "the Mean / InvStdDev outputs are not supported");
    const int features = shape.back();
    const ConstTensor& gamma = requireConst(n, 1, "scale");
    if ((int)gamma.values.size() != features)
        fail(n, "scale has " + std::to_string(gamma.values.size()) + " values, expected " + std::to_string(features));
    std::vector<double> beta(size_t(features), 0.0);
    if (n.input_size() > 2 && !n.input(2).empty()) {
        const ConstTensor& b = requireConst(n, 2, "bias (B)");
        if ((int)b.values.size() != features)
            fail(n, "bias has " + std::to_string(b.values.size()) + " values, expected " + std::to_string(features));
        beta = b.values;
    }
    std::vector<int> want;
    for (int a = 0; a < rank - 1; ++a) want.push_back(a);
    const std::string in = b_.view(nodeName(n) + "_view", inOrder(n, x, want), shape);
    LayerNormAttrs attrs;
    attrs.epsilon = floatAttr(n, "epsilon", 1e-5);
    const std::string out =
        b_.add(nodeName(n), LayerKind::LayerNorm, {in}, attrs, {{"scale", gamma.values}, {"bias", std::move(beta)}});
    produced(n, Value{out, shape, want});
}

}  // namespace tachyon::onnxfe
