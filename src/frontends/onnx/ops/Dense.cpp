// Gemm and MatMul: a Dense layer over the last axis (a constant weight), or a MatMul layer
// (two activations); Slice of a Dense output's last axis (a packed projection's split).
#include "frontends/onnx/OnnxReader.h"
#include "util/Error.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

namespace tachyon::onnxfe {

void OnnxReader::gemm(const onnx::NodeProto& n) {
    const Value& x = dataInput(n);
    if (intAttr(n, "transA", 0) != 0) fail(n, "transA=1 is not supported");
    const bool transB = intAttr(n, "transB", 0) != 0;
    const double alpha = floatAttr(n, "alpha", 1.0), beta = floatAttr(n, "beta", 1.0);
    const ConstTensor& b = requireConst(n, 1, "weight (B)");
    if (b.dims.size() != 2) fail(n, "weight (B) must be 2-D");
    const int nIn = int(transB ? b.dims[1] : b.dims[0]);
    const int nOut = int(transB ? b.dims[0] : b.dims[1]);
    const std::string in = plain(n, x);
    // An unbatched [rows, features] operand (attention's [tokens * batch, embed]): one
    // Dense over the last axis for every row.
    const bool rows = unbatchedMode_ && x.onnx.size() >= 2;
    if (rows ? x.onnx.back() != nIn : (nIn != b_.size(in) || nOut <= 0))
        fail(n, "weight (B) expects " + std::to_string(nIn) + " inputs but the input has " + std::to_string(b_.size(in)) + " values");
    std::vector<double> w(size_t(nIn) * size_t(nOut));
    for (int i = 0; i < nIn; ++i)
        for (int o = 0; o < nOut; ++o)
            w[size_t(i) * nOut + o] = alpha * b.values[transB ? size_t(o) * nIn + i : size_t(i) * nOut + o];
    std::vector<double> bias(size_t(nOut), 0.0);
    if (n.input_size() > 2 && !n.input(2).empty()) {
        const ConstTensor& c = requireConst(n, 2, "bias (C)");
        if (c.values.size() != 1 && (int)c.values.size() != nOut)
            fail(n, "bias (C) has " + std::to_string(c.values.size()) + " values, expected " + std::to_string(nOut));
        for (int o = 0; o < nOut; ++o) bias[size_t(o)] = beta * c.values[c.values.size() == 1 ? 0 : size_t(o)];
    }
    const std::string flat = b_.reshape(nodeName(n) + "_flatten", in, rows ? x.onnx : Shape{nIn});
    const std::string out = b_.dense(nodeName(n), flat, nOut, std::move(w), std::move(bias));
    quantizedWeightTypes(n, out);
    Shape shape = rows ? x.onnx : Shape{nOut};
    shape.back() = nOut;
    produced(n, Value{out, shape, identityOrder(shape.size())});
}

void OnnxReader::matMul(const onnx::NodeProto& n) {
    if (n.input_size() != 2) fail(n, "expected two inputs");
    if (!constant(n.input(0)) && !constant(n.input(1))) {
        activationMatMul(n);
        return;
    }
    if (constant(n.input(0))) fail(n, "a constant first operand (constant x data) is not supported");
    const Value& x = value(n, n.input(0));
    const ConstTensor& b = requireConst(n, 1, "weight");
    if (b.dims.size() != 2) fail(n, "weight must be 2-D");
    const std::string in = plain(n, x);
    // MatMul multiplies over the last axis; leading axes are kept (e.g. [T, F] x [F, O]).
    Shape shape = x.onnx;
    if (shape.empty() || shape.back() != b.dims[0])
        fail(n, "weight expects " + std::to_string(b.dims[0]) + " inputs on the last axis, the input is " + shapeString(shape));
    Shape exact = shape;
    const std::string view = b_.reshape(nodeName(n) + "_view", in, isVectorLike(shape) ? Shape{b_.size(in)} : exact);
    const std::string out = b_.dense(nodeName(n), view, int(b.dims[1]), b.values, {});
    quantizedWeightTypes(n, out);
    shape.back() = int(b.dims[1]);
    produced(n, Value{out, shape, identityOrder(shape.size())});
}

// MatMul of two activations (attention's Q.K^T, A.V): a MatMul layer over the operands in
// plain order. numpy-style broadcasting of batch axes is refused.
void OnnxReader::activationMatMul(const onnx::NodeProto& n) {
    const Value& x = value(n, n.input(0));
    const Value& y = value(n, n.input(1));
    if (x.onnx.size() < 2 || x.onnx.size() != y.onnx.size())
        fail(n, "a MatMul of two activations needs operands of the same rank >= 2 per sample (got " +
                    shapeString(x.onnx) + " and " + shapeString(y.onnx) + "); broadcasting is not supported");
    const std::string a = plain(n, x), b = plain(n, y);
    const std::string va = b_.reshape(nodeName(n) + "_a", a, x.onnx);
    const std::string vb = b_.reshape(nodeName(n) + "_b", b, y.onnx);
    const std::string out = b_.add(nodeName(n), LayerKind::MatMul, {va, vb}, MatMulAttrs{}, {});
    const Shape shape = b_.layer(out).shape;
    produced(n, Value{out, shape, identityOrder(shape.size())});
}

// Slice of the last axis of a Dense layer's output (the query, key and value parts of
// nn.MultiheadAttention's packed in-projection): a Dense with those output columns.
void OnnxReader::slice(const onnx::NodeProto& n) {
    const Value& x = value(n, n.input(0));
    if (opset_ < 10) fail(n, "Slice before opset 10 (attributes instead of inputs) is not supported");
    const ConstTensor& starts = requireConst(n, 1, "starts");
    const ConstTensor& ends = requireConst(n, 2, "ends");
    if (starts.values.size() != 1 || ends.values.size() != 1) fail(n, "only slices along one axis are supported");
    int64_t axis = 0;
    if (n.input_size() > 3 && !n.input(3).empty()) {
        const ConstTensor& axes = requireConst(n, 3, "axes");
        if (axes.values.size() != 1) fail(n, "only slices along one axis are supported");
        axis = constIndex(axes.values[0]);
    }
    if (n.input_size() > 4 && !n.input(4).empty()) {
        const ConstTensor& steps = requireConst(n, 4, "steps");
        if (steps.values.size() != 1 || steps.values[0] != 1) fail(n, "only slices with step 1 are supported");
    }
    const int a = sampleAxis(n, axis, x.onnx.size());
    const int64_t dim = x.onnx[size_t(a)];
    auto bound = [&](double v) {
        int64_t k = constIndex(v);
        if (k < 0) k += dim;
        return std::clamp<int64_t>(k, 0, dim);
    };
    const int64_t begin = bound(starts.values[0]), end = bound(ends.values[0]);
    if (end <= begin) fail(n, "the slice is empty");
    Layer& prod = b_.layer(x.layer);
    if (a != int(x.onnx.size()) - 1 || x.src.back() != a || prod.kind != LayerKind::Dense ||
        prod.activation() != ActKind::Linear)
        fail(n, "only slices of the last axis of a MatMul/Gemm output (a split of a packed projection) are supported");
    const int nIn = prod.as<DenseAttrs>().nIn, nOut = prod.as<DenseAttrs>().nOut, width = int(end - begin);
    std::vector<double> w(size_t(nIn) * size_t(width)), bias(static_cast<size_t>(width));
    for (int i = 0; i < nIn; ++i)
        for (int j = 0; j < width; ++j) w[size_t(i) * width + j] = prod.param("weight")[size_t(i) * nOut + size_t(begin) + j];
    for (int j = 0; j < width; ++j) bias[size_t(j)] = prod.param("bias")[size_t(begin) + j];
    const std::string in = prod.input();
    const std::string out = b_.dense(nodeName(n), in, width, std::move(w), std::move(bias));
    Shape shape = x.onnx;
    shape.back() = width;
    produced(n, Value{out, shape, x.src});
}

}  // namespace tachyon::onnxfe
