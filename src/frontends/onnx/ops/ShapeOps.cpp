// Data-movement ops: Concat, Pad, Resize/Upsample, Transpose and the shape-only
// Flatten/Reshape/Squeeze/Unsqueeze.
#include "frontends/onnx/OnnxReader.h"
#include "util/Error.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>
#include <map>

namespace tachyon::onnxfe {

void OnnxReader::concat(const onnx::NodeProto& n) {
    const auto ins = dataInputs(n);
    if (ins.size() != size_t(n.input_size()) || ins.size() < 2) fail(n, "only concatenation of two or more computed tensors is supported");
    const Value& first = value(n, ins[0]);
    const int axis = sampleAxis(n, intAttr(n, "axis", 1), first.onnx.size());
    std::vector<std::string> layers;
    Shape outOnnx = first.onnx;
    outOnnx[size_t(axis)] = 0;
    // Every input in the first one's storage order, with its exact axes.
    Shape stored;
    for (int ax : first.src) stored.push_back(first.onnx[size_t(ax)]);
    for (const auto& t : ins) {
        const Value& v = value(n, t);
        if (v.onnx.size() != first.onnx.size()) fail(n, "inputs of different ranks");
        outOnnx[size_t(axis)] += v.onnx[size_t(axis)];
        Shape exact;
        for (int ax : first.src) exact.push_back(v.onnx[size_t(ax)]);
        layers.push_back(b_.view(nodeName(n) + "_view", inOrder(n, v, first.src), exact));
    }
    const std::string out = b_.add(nodeName(n), LayerKind::Concatenate, layers, ConcatAttrs{storageAxis(first, axis)});
    produced(n, Value{out, outOnnx, first.src});
}

void OnnxReader::pad(const onnx::NodeProto& n) {
    const Value& x = value(n, n.input(0));
    if (stringAttr(n, "mode", "constant") != "constant") fail(n, "only constant (zero) padding is supported");
    std::vector<int64_t> pads;
    if (opset_ < 11) pads = intsAttr(n, "pads").value_or(std::vector<int64_t>{});
    else pads = std::vector<int64_t>(requireConst(n, 1, "pads").values.begin(), requireConst(n, 1, "pads").values.end());
    if (n.input_size() > 2 && !n.input(2).empty()) {
        const ConstTensor& v = requireConst(n, 2, "constant_value");
        if (!v.values.empty() && v.values[0] != 0) fail(n, "only zero padding is supported");
    }
    if (floatAttr(n, "value", 0.0) != 0) fail(n, "only zero padding is supported");
    if (n.input_size() > 3 && !n.input(3).empty()) fail(n, "the axes input is not supported");
    const size_t r = x.onnx.size() + 1;
    if (pads.size() != 2 * r) fail(n, "pads must have " + std::to_string(2 * r) + " entries");
    if (pads[0] != 0 || pads[r] != 0) fail(n, "padding the batch axis");
    if (std::all_of(pads.begin(), pads.end(), [](int64_t v) { return v == 0; })) {
        produced(n, x);   // PyTorch writes such a Pad before average pooling
        return;
    }
    PadAttrs a;
    a.padBegin.assign(x.onnx.size(), 0);
    a.padEnd.assign(x.onnx.size(), 0);
    Shape outOnnx = x.onnx;
    for (size_t i = 0; i + 1 < r; ++i) {
        const int64_t pb = pads[i + 1], pe = pads[r + i + 1];
        if (pb < 0 || pe < 0 || pb > (1 << 20) || pe > (1 << 20)) fail(n, "negative (cropping) or invalid pads");
        outOnnx[i] += int(pb + pe);
    }
    Shape stored;
    for (int ax : x.src) stored.push_back(x.onnx[size_t(ax)]);
    const std::string in = b_.view(nodeName(n) + "_view", x.layer, stored);
    for (size_t j = 0; j < x.src.size(); ++j) {
        a.padBegin[j] = int(pads[size_t(x.src[j]) + 1]);
        a.padEnd[j] = int(pads[r + size_t(x.src[j]) + 1]);
    }
    produced(n, Value{b_.add(nodeName(n), LayerKind::Pad, {in}, a), outOnnx, x.src});
}

void OnnxReader::resize(const onnx::NodeProto& n) {
    const Value& x = value(n, n.input(0));
    if (stringAttr(n, "mode", "nearest") != "nearest") fail(n, "only nearest-neighbour resizing is supported");
    const std::string ctm = stringAttr(n, "coordinate_transformation_mode", "half_pixel");
    if (ctm == "align_corners" || ctm == "tf_crop_and_resize") fail(n, "coordinate_transformation_mode '" + ctm + "' is not supported");
    const size_t r = x.onnx.size() + 1;
    std::vector<double> scales;
    if (n.op_type() == "Upsample") {
        scales = opset_ >= 9 ? requireConst(n, 1, "scales").values : std::vector<double>{};
        if (opset_ < 9)
            for (const auto& at : n.attribute())
                if (at.name() == "scales") scales.assign(at.floats().begin(), at.floats().end());
    } else {
        // Resize(X, roi, scales, sizes): scales or sizes, whichever is given.
        if (n.input_size() > 2 && !n.input(2).empty() && !requireConst(n, 2, "scales").values.empty())
            scales = requireConst(n, 2, "scales").values;
        else if (n.input_size() > 3 && !n.input(3).empty()) {
            const ConstTensor& sizes = requireConst(n, 3, "sizes");
            if (sizes.values.size() != r) fail(n, "sizes must have " + std::to_string(r) + " entries");
            scales.push_back(1.0);
            for (size_t i = 1; i < r; ++i) scales.push_back(sizes.values[i] / x.onnx[i - 1]);
        }
    }
    if (scales.size() != r) fail(n, "scales must have " + std::to_string(r) + " entries");
    if (scales[0] != 1) fail(n, "resizing the batch axis");
    ResizeAttrs a;
    Shape outOnnx = x.onnx;
    std::vector<int> perOnnx;
    for (size_t i = 1; i < r; ++i) {
        const double s = scales[i];
        if (s < 1 || s > 1024 || s != std::floor(s)) fail(n, "only integer upsampling factors are supported");
        perOnnx.push_back(int(s));
        outOnnx[i - 1] *= int(s);
    }
    for (int ax : x.src) a.scale.push_back(perOnnx[size_t(ax)]);
    Shape stored;
    for (int ax : x.src) stored.push_back(x.onnx[size_t(ax)]);
    const std::string in = b_.view(nodeName(n) + "_view", x.layer, stored);
    produced(n, Value{b_.add(nodeName(n), LayerKind::Resize, {in}, a), outOnnx, x.src});
}

void OnnxReader::transpose(const onnx::NodeProto& n) {
    const Value& x = dataInput(n);
    const size_t r = x.onnx.size() + 1;
    std::vector<int64_t> perm = intsAttr(n, "perm").value_or(std::vector<int64_t>{});
    if (perm.empty())
        for (size_t i = r; i-- > 0;) perm.push_back(int64_t(i));
    if (perm.size() != r || perm[0] != 0) fail(n, "only transposes that keep the batch axis first are supported");
    std::vector<int> p;   // per-sample: out axis i = in axis p[i]
    std::vector<bool> seen(r, false);
    for (size_t i = 1; i < r; ++i) {
        if (perm[i] < 1 || perm[i] >= int64_t(r) || seen[size_t(perm[i])]) fail(n, "perm is not a permutation");
        seen[size_t(perm[i])] = true;
        p.push_back(int(perm[i] - 1));
    }
    // No data moves: the storage stays, only which ONNX axis each storage axis holds.
    Value v{x.layer, {}, {}};
    for (int a : p) v.onnx.push_back(x.onnx[size_t(a)]);
    for (int s : x.src)
        for (size_t i = 0; i < p.size(); ++i)
            if (p[i] == s) v.src.push_back(int(i));
    produced(n, v);
}

void OnnxReader::shapeOnly(const onnx::NodeProto& n) {
    const Value& x = value(n, n.input(0));
    Shape shape = x.onnx;
    const std::string& op = n.op_type();
    long long size = 1;
    for (int d : shape) size *= d;
    if (op == "Flatten") {
        const int64_t axis = intAttr(n, "axis", 1);
        // axis 0 also flattens the batch, which exporters use with batch size 1.
        if (axis != 0 && axis != 1) fail(n, "only Flatten with axis 0 or 1 is supported");
        shape = {int(size)};
    } else if (op == "Reshape") {
        const ConstTensor& target = requireConst(n, 1, "shape");
        if (target.values.empty()) fail(n, "empty target shape");
        Shape out;
        int unknown = -1;
        for (size_t i = 1; i < target.values.size(); ++i) {   // [0] is the batch
            int64_t d = (int64_t)target.values[i];
            if (d == 0) {
                if (i - 1 >= shape.size()) fail(n, "shape copies a dimension that does not exist");
                d = shape[i - 1];
            }
            if (d == -1) {
                if (unknown >= 0) fail(n, "shape has more than one -1");
                unknown = int(out.size());
                d = 1;
            }
            if (d <= 0 || d > size) fail(n, "invalid target dimension " + std::to_string(d));
            out.push_back((int)d);
        }
        long long known = 1;
        for (int d : out) known *= d;
        if (unknown >= 0) {
            if (known == 0 || size % known) fail(n, "cannot infer the -1 dimension");
            out[size_t(unknown)] = int(size / known);
        }
        if (out.empty()) out = {1};
        if (target.values[0] != 0 && target.values[0] != -1 && target.values[0] != 1)
            fail(n, "reshapes across the batch dimension");
        shape = out;
    } else if (op == "Squeeze") {
        auto ax = axes(n);
        Shape out;
        const int rank = int(shape.size()) + 1;
        std::set<int64_t> drop;
        if (ax)
            for (int64_t a : *ax) {
                if (a < 0) a += rank;
                if (a <= 0 || a >= rank) fail(n, "cannot squeeze axis " + std::to_string(a));
                if (shape[size_t(a - 1)] != 1) fail(n, "squeezed axis " + std::to_string(a) + " has size " + std::to_string(shape[size_t(a - 1)]));
                drop.insert(a - 1);
            }
        for (size_t i = 0; i < shape.size(); ++i)
            if (ax ? !drop.count(int64_t(i)) : shape[i] != 1) out.push_back(shape[i]);
        if (out.empty()) out = {1};
        shape = out;
    } else {  // Unsqueeze
        auto ax = axes(n);
        if (!ax) fail(n, "missing axes");
        const int64_t outRank = int64_t(shape.size()) + 1 + int64_t(ax->size());
        std::vector<int64_t> sorted;
        for (int64_t a : *ax) sorted.push_back(a < 0 ? a + outRank : a);
        std::sort(sorted.begin(), sorted.end());
        Shape full = {0};   // placeholder for the batch
        full.insert(full.end(), shape.begin(), shape.end());
        for (int64_t a : sorted) {
            if (a <= 0 || a > (int64_t)full.size()) fail(n, "cannot unsqueeze at axis " + std::to_string(a));
            full.insert(full.begin() + a, 1);
        }
        shape.assign(full.begin() + 1, full.end());
    }
    // Reshapes read the data in ONNX order.
    const std::string in = plain(n, x);
    produced(n, Value{b_.reshape(nodeName(n), in, shape), shape, identityOrder(shape.size())});
}

}  // namespace tachyon::onnxfe
