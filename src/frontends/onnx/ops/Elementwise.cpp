// Add/Sub/Mul/Div/Max/Min/Sum/Mean: a Merge layer over computed tensors, a bias folded into
// the MatMul/Gemm/Conv that produced the tensor, or a BatchNorm for a constant operand.
#include "frontends/onnx/OnnxReader.h"
#include "util/Error.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>
#include <map>

namespace tachyon::onnxfe {

void OnnxReader::elementwise(const onnx::NodeProto& n) {
    const std::string& op = n.op_type();
    const auto ins = dataInputs(n);
    if (ins.size() == 1 && n.input_size() == 2 && op == "Add") {
        // A constant added to a MatMul (or bias-free Gemm/Conv) output is that layer's bias.
        const Value& x = value(n, ins[0]);
        Layer& prod = b_.layer(x.layer);
        const ConstTensor& c = requireConst(n, n.input(0) == ins[0] ? 1 : 0, "bias");
        const bool biasable = (prod.kind == LayerKind::Dense || prod.kind == LayerKind::Conv) &&
                              uses_.at(ins[0]) == 1 && prod.activation() == ActKind::Linear;
        std::vector<double>& bias = prod.param("bias");
        if (biasable && (c.values.size() == 1 || c.values.size() == bias.size())) {
            for (size_t o = 0; o < bias.size(); ++o) bias[o] += c.values[c.values.size() == 1 ? 0 : o];
            produced(n, x);
            return;
        }
    }
    if (ins.size() == 1 && n.input_size() == 2 && (op == "Add" || op == "Sub" || op == "Mul" || op == "Div")) {
        constantAffine(n);
        return;
    }
    if (ins.size() != size_t(n.input_size()) || ins.size() < 2)
        fail(n, "only element-wise operations between computed tensors of one shape, or with one scalar or "
                "per-channel constant, are supported");
    if (op == "Div") fail(n, "dividing one computed tensor by another is not supported");
    static const std::map<std::string, MergeOp> ops = {
        {"Add", MergeOp::Add}, {"Sum", MergeOp::Add}, {"Sub", MergeOp::Subtract}, {"Mul", MergeOp::Multiply},
        {"Max", MergeOp::Maximum}, {"Min", MergeOp::Minimum}, {"Mean", MergeOp::Average}};
    const Value& first = value(n, ins[0]);
    std::vector<std::string> layers;
    for (const auto& t : ins) {
        const Value& v = value(n, t);
        if (v.onnx != first.onnx) fail(n, "inputs of different shapes (broadcasting is not supported)");
        layers.push_back(inOrder(n, v, first.src));
    }
    const std::string out = b_.add(nodeName(n), LayerKind::Merge, layers, MergeAttrs{ops.at(op)});
    produced(n, Value{out, first.onnx, first.src});
}

void OnnxReader::constantAffine(const onnx::NodeProto& n) {
    // x + c, x - c, c - x, x * c, x / c with a scalar or per-channel constant c: a
    // BatchNormalization layer y = x * scale + shift over the channel axis.
    const std::string& op = n.op_type();
    const bool constFirst = constant(n.input(0)) != nullptr;
    const Value& x = value(n, n.input(constFirst ? 1 : 0));
    const ConstTensor& c = requireConst(n, constFirst ? 0 : 1, "constant operand");
    if (op == "Div" && constFirst) fail(n, "dividing a constant by a tensor is not supported");
    // Which ONNX axis the constant varies along (it must broadcast over all others).
    size_t significant = 0;
    int axis = -1;
    const int rank = int(x.onnx.size());
    for (size_t d = 0; d < c.dims.size(); ++d)
        if (c.dims[d] != 1) {
            ++significant;
            axis = int(d) - int(c.dims.size()) + rank;   // numpy broadcasting aligns the last axes
        }
    if (significant > 1 || (significant == 1 && (axis < 0 || c.values.size() != size_t(x.onnx[size_t(axis)]))))
        fail(n, "only a scalar or a per-channel constant operand is supported");
    // The varying axis must be Tachyon's last storage axis; a scalar fits any order.
    std::vector<int> want = x.src;
    if (axis >= 0) {
        want.clear();
        for (int a = 0; a < rank; ++a)
            if (a != axis) want.push_back(a);
        want.push_back(axis);
    }
    Shape stored;
    for (int a : want) stored.push_back(x.onnx[size_t(a)]);
    const std::string in = b_.view(nodeName(n) + "_view", inOrder(n, x, want), isVectorLike(stored) ? Shape{b_.size(x.layer)} : stored);
    const size_t channels = size_t(b_.shape(in).back());
    std::vector<double> scale(channels, 1.0), shift(channels, 0.0);
    for (size_t k = 0; k < channels; ++k) {
        const double v = c.values[c.values.size() == 1 ? 0 : k];
        if (op == "Add") shift[k] = v;
        else if (op == "Sub" && constFirst) scale[k] = -1.0, shift[k] = v;
        else if (op == "Sub") shift[k] = -v;
        else if (op == "Mul") scale[k] = v;
        else {
            if (v == 0) fail(n, "division by zero");
            scale[k] = 1.0 / v;
        }
    }
    const std::string out = b_.add(nodeName(n), LayerKind::BatchNorm, {in}, NoAttrs{},
                                   {{"scale", std::move(scale)}, {"shift", std::move(shift)}});
    produced(n, Value{out, x.onnx, want});
}

}  // namespace tachyon::onnxfe
