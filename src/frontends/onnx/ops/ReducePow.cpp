// Pow with a constant integer exponent, and ReduceSum/ReduceMean/ReduceMax over one axis.
#include "frontends/onnx/OnnxReader.h"
#include "util/Error.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>
#include <map>

namespace tachyon::onnxfe {

// Pow(x, k) for a constant integer k in 1..8: a Pow layer (x^2 is an autoencoder's squared
// error); k = 1 is x itself. The power's bits grow k-fold, hence the bound.
void OnnxReader::square(const onnx::NodeProto& n) {
    constexpr int kMaxExponent = 8;
    if (!constant(n.input(1))) fail(n, "only a constant exponent is supported");
    const ConstTensor& e = requireConst(n, 1, "exponent");
    if (e.values.size() != 1 || e.values[0] != std::floor(e.values[0]) || e.values[0] < 1 || e.values[0] > kMaxExponent)
        fail(n, "only an integer exponent 1.." + std::to_string(kMaxExponent) + " is supported");
    const int k = int(e.values[0]);
    const Value& x = value(n, n.input(0));
    if (k == 1) {
        produced(n, x);
        return;
    }
    const std::string out = b_.add(nodeName(n), LayerKind::Pow, {x.layer}, PowAttrs{k});
    produced(n, Value{out, x.onnx, x.src});
}

// ReduceSum / ReduceMean / ReduceMax over one axis: a Reduce layer on the tensor in ONNX
// order (docs/semantics.md, "Reduce").
void OnnxReader::reduceLastAxis(const onnx::NodeProto& n) {
    static const std::map<std::string, ReduceOp> kOps = {
        {"ReduceSum", ReduceOp::Sum}, {"ReduceMean", ReduceOp::Mean}, {"ReduceMax", ReduceOp::Max}};
    const Value& x = value(n, n.input(0));
    const size_t rank = x.onnx.size();
    const auto ax = axes(n);
    if (rank == 0 || (ax && ax->size() != 1) || (!ax && rank != 1))
        fail(n, "only a reduction over one axis is supported");
    const int axis = ax ? sampleAxis(n, (*ax)[0], rank) : 0;
    const std::string in = plain(n, x);
    Shape shape = x.onnx;
    const bool flat = isVectorLike(shape) && axis == int(rank) - 1;
    const std::string view = b_.reshape(nodeName(n) + "_view", in, flat ? Shape{b_.size(in)} : shape);
    const std::string out =
        b_.add(nodeName(n), LayerKind::Reduce, {view}, ReduceAttrs{kOps.at(n.op_type()), flat ? 0 : axis});
    shape[size_t(axis)] = 1;
    if (intAttr(n, "keepdims", 1) == 0 && rank > 1) shape.erase(shape.begin() + axis);
    produced(n, Value{out, shape, identityOrder(shape.size())});
}

}  // namespace tachyon::onnxfe
