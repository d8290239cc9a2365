// Elementwise activations (Relu, LeakyRelu, Sigmoid, Tanh, HardSigmoid, Elu, Selu, Softplus,
// Softsign), Clip as ReLU/ReLU6, and Softmax.
#include "frontends/onnx/OnnxReader.h"
#include "util/Error.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>
#include <limits>
#include <sstream>

namespace tachyon::onnxfe {

void OnnxReader::activation(const onnx::NodeProto& n) {
    const Value& x = dataInput(n);
    const std::string& op = n.op_type();
    ActAttrs a;
    if (op == "Relu") a.kind = ActKind::ReLU;
    else if (op == "Sigmoid") a.kind = ActKind::Sigmoid;
    else if (op == "Tanh") a.kind = ActKind::Tanh;
    else if (op == "Softplus") a.kind = ActKind::Softplus;
    else if (op == "Softsign") a.kind = ActKind::Softsign;
    else if (op == "LeakyRelu") a.kind = ActKind::LeakyReLU, a.alpha = floatAttr(n, "alpha", 0.01);
    else if (op == "Elu") a.kind = ActKind::ELU, a.alpha = floatAttr(n, "alpha", 1.0);
    else if (op == "Selu") {
        a.kind = ActKind::SELU;
        if (std::abs(floatAttr(n, "alpha", 1.67326319217681884765625) - 1.6732632423543772) > 1e-6 ||
            std::abs(floatAttr(n, "gamma", 1.05070102214813232421875) - 1.0507009873554805) > 1e-6)
            fail(n, "only the standard SELU constants are supported");
    } else if (op == "HardSigmoid") {
        a.kind = ActKind::HardSigmoid;
        a.slope = floatAttr(n, "alpha", 0.2);
        a.offset = floatAttr(n, "beta", 0.5);
    }
    produced(n, Value{b_.activation(nodeName(n), x.layer, a), x.onnx, x.src});
}

void OnnxReader::clip(const onnx::NodeProto& n) {
    const Value& x = dataInput(n);
    double lo = -std::numeric_limits<double>::infinity(), hi = std::numeric_limits<double>::infinity();
    if (opset_ < 11) {
        lo = floatAttr(n, "min", lo);
        hi = floatAttr(n, "max", hi);
    } else {
        auto bound = [&](int i, const char* role, double dflt) {
            if (n.input_size() <= i || n.input(i).empty()) return dflt;
            const ConstTensor& c = requireConst(n, i, role);
            if (c.values.size() != 1) fail(n, std::string(role) + " must be a scalar");
            return c.values[0];
        };
        lo = bound(1, "min", lo);
        hi = bound(2, "max", hi);
    }
    ActKind kind;
    if (lo == 0 && hi == 6) kind = ActKind::ReLU6;
    else if (lo == 0 && std::isinf(hi)) kind = ActKind::ReLU;
    else {
        std::ostringstream os;
        os << "only Clip(0, 6) (relu6) and Clip(0, inf) (relu) are supported, got Clip(" << lo << ", " << hi << ")";
        fail(n, os.str());
    }
    produced(n, Value{b_.activation(nodeName(n), x.layer, kind), x.onnx, x.src});
}

void OnnxReader::softmax(const onnx::NodeProto& n) {
    const Value& x = dataInput(n);
    const Shape& shape = x.onnx;
    const int rank = int(shape.size()) + 1;   // with the batch axis
    int64_t axis = intAttr(n, "axis", opset_ >= 13 ? -1 : 1);
    if (axis < 0) axis += rank;
    // Before opset 13, Softmax flattens everything from `axis` on, so axis 1 means "the
    // whole sample"; from 13 on it is one axis. Tachyon's softmax runs over the last
    // storage axis, for every position of the others.
    const bool wholeSample = (opset_ < 13 && axis == 1) || isVectorLike(shape);
    if (wholeSample) {
        if (!isVectorLike(shape)) fail(n, "softmax over a whole multi-dimensional sample is not supported");
        produced(n, Value{b_.softmax(nodeName(n), x.layer), x.onnx, x.src});
        return;
    }
    if (axis <= 0 || axis >= rank) fail(n, "softmax over the batch axis");
    std::vector<int> want;
    for (int a = 0; a < rank - 1; ++a)
        if (a != axis - 1) want.push_back(a);
    want.push_back(int(axis - 1));
    Shape stored;
    for (int a : want) stored.push_back(shape[size_t(a)]);
    const std::string in = b_.view(nodeName(n) + "_view", inOrder(n, x, want), stored);
    produced(n, Value{b_.softmax(nodeName(n), in), shape, want});
}

}  // namespace tachyon::onnxfe
