// Conv (1-D/2-D, grouped as depthwise) and MaxPool/AveragePool/GlobalMaxPool/GlobalAveragePool,
// with their spatial padding (pads or auto_pad).
#include "frontends/onnx/OnnxReader.h"
#include "util/Error.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

namespace tachyon::onnxfe {

void OnnxReader::windowPads(const onnx::NodeProto& n, const Shape& spatial, const std::vector<int>& k,
                            const std::vector<int>& s, const std::vector<int>& d, std::vector<int>& pb,
                            std::vector<int>& pe) const {
    const size_t r = k.size();
    pb.assign(r, 0);
    pe.assign(r, 0);
    const std::string autoPad = stringAttr(n, "auto_pad", "NOTSET");
    if (autoPad == "NOTSET") {
        if (auto pads = intsAttr(n, "pads")) {
            if (pads->size() != 2 * r) fail(n, "pads must have " + std::to_string(2 * r) + " entries");
            for (size_t a = 0; a < r; ++a) {
                if ((*pads)[a] < 0 || (*pads)[a + r] < 0 || (*pads)[a] > (1 << 20) || (*pads)[a + r] > (1 << 20))
                    fail(n, "invalid pads");
                pb[a] = int((*pads)[a]);
                pe[a] = int((*pads)[a + r]);
            }
        }
    } else if (autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER") {
        for (size_t a = 0; a < r; ++a) {
            const int outLen = (spatial[a] + s[a] - 1) / s[a];
            const int total = std::max((outLen - 1) * s[a] + (k[a] - 1) * d[a] + 1 - spatial[a], 0);
            const int small = total / 2, big = total - small;
            pb[a] = autoPad == "SAME_UPPER" ? small : big;
            pe[a] = autoPad == "SAME_UPPER" ? big : small;
        }
    } else if (autoPad != "VALID") {
        fail(n, "unknown auto_pad '" + autoPad + "'");
    }
}

void OnnxReader::conv(const onnx::NodeProto& n) {
    const Value& x = dataInput(n);
    if (n.input(0) != dataInputs(n)[0]) fail(n, "the weight must be a constant");
    const ConstTensor& w = requireConst(n, 1, "weight");
    const size_t rank = x.onnx.size() - 1;   // spatial axes
    if (x.onnx.size() < 2 || rank > 2) fail(n, "only 1-D and 2-D convolutions are supported (input " + shapeString(x.onnx) + ")");
    if (w.dims.size() != rank + 2) fail(n, "weight has rank " + std::to_string(w.dims.size()) + ", expected " + std::to_string(rank + 2));
    const int cin = x.onnx[0], m = int(w.dims[0]);
    const int group = int(intAttr(n, "group", 1));
    ConvAttrs a;
    a.rank = int(rank);
    a.inChannels = cin;
    a.outChannels = m;
    for (size_t i = 0; i < rank; ++i) a.kernel.push_back(int(w.dims[i + 2]));
    if (auto ks = intsAttr(n, "kernel_shape"))
        for (size_t i = 0; i < rank && i < ks->size(); ++i)
            if ((*ks)[i] != a.kernel[i]) fail(n, "kernel_shape does not match the weight");
    auto list = [&](const char* key) {
        std::vector<int> v(rank, 1);
        if (auto s = intsAttr(n, key)) {
            if (s->size() != rank) fail(n, std::string(key) + " must have " + std::to_string(rank) + " entries");
            for (size_t i = 0; i < rank; ++i) {
                if ((*s)[i] < 1 || (*s)[i] > (1 << 20)) fail(n, std::string("invalid ") + key);
                v[i] = int((*s)[i]);
            }
        }
        return v;
    };
    a.strides = list("strides");
    a.dilation = list("dilations");
    windowPads(n, Shape(x.onnx.begin() + 1, x.onnx.end()), a.kernel, a.strides, a.dilation, a.padBegin, a.padEnd);
    long long window = 1;
    for (int k : a.kernel) window *= k;
    // ONNX weight [M][C/group][k...] -> Tachyon [k...][C][M], or depthwise [k...][C][M/C].
    std::vector<double> weight;
    if (group == 1) {
        if (w.dims[1] != cin) fail(n, "weight expects " + std::to_string(w.dims[1]) + " input channels, the input has " + std::to_string(cin));
        weight.resize(size_t(window) * cin * m);
        for (int o = 0; o < m; ++o)
            for (int c = 0; c < cin; ++c)
                for (long long p = 0; p < window; ++p)
                    weight[(size_t(p) * cin + c) * m + o] = w.values[(size_t(o) * cin + c) * window + p];
    } else if (group == cin && w.dims[1] == 1 && m % cin == 0) {
        a.depthwise = true;
        a.depthMultiplier = m / cin;
        weight.resize(size_t(window) * m);
        for (int o = 0; o < m; ++o)   // output channel o = c * multiplier + j reads input channel c
            for (long long p = 0; p < window; ++p) weight[size_t(p) * m + o] = w.values[size_t(o) * window + p];
    } else {
        fail(n, "grouped convolution with group " + std::to_string(group) + " is not supported (only 1 or depthwise)");
    }
    std::vector<double> bias(size_t(m), 0.0);
    if (n.input_size() > 2 && !n.input(2).empty()) {
        const ConstTensor& c = requireConst(n, 2, "bias");
        if ((int)c.values.size() != m) fail(n, "bias has " + std::to_string(c.values.size()) + " values, expected " + std::to_string(m));
        bias = c.values;
    }
    const std::string in = channelsLast(n, x);
    Shape stored;
    for (int ax : channelsLastOrder(x.onnx.size())) stored.push_back(x.onnx[size_t(ax)]);
    const std::string view = b_.view(nodeName(n) + "_view", in, stored);
    const std::string out = b_.add(nodeName(n), LayerKind::Conv, {view}, a, {{"weight", std::move(weight)}, {"bias", std::move(bias)}});
    quantizedWeightTypes(n, out);
    Shape outOnnx = {m};
    const Shape& os = b_.shape(out);
    outOnnx.insert(outOnnx.end(), os.begin(), os.end() - 1);
    produced(n, Value{out, outOnnx, channelsLastOrder(outOnnx.size())});
}

void OnnxReader::pooling(const onnx::NodeProto& n) {
    const Value& x = dataInput(n);
    const std::string& op = n.op_type();
    const size_t rank = x.onnx.size() - 1;
    if (x.onnx.size() < 2 || rank > 2) fail(n, "only 1-D and 2-D pooling is supported (input " + shapeString(x.onnx) + ")");
    PoolAttrs a;
    a.rank = int(rank);
    a.op = op.find("Max") != std::string::npos ? PoolOp::Max : PoolOp::Average;
    a.global = op.rfind("Global", 0) == 0;
    if (!a.global) {
        auto ks = intsAttr(n, "kernel_shape");
        if (!ks || ks->size() != rank) fail(n, "kernel_shape must have " + std::to_string(rank) + " entries");
        for (int64_t k : *ks) {
            if (k < 1 || k > (1 << 20)) fail(n, "invalid kernel_shape");
            a.kernel.push_back(int(k));
        }
        a.strides.assign(rank, 1);
        if (auto s = intsAttr(n, "strides")) {
            if (s->size() != rank) fail(n, "strides must have " + std::to_string(rank) + " entries");
            for (size_t i = 0; i < rank; ++i) {
                if ((*s)[i] < 1 || (*s)[i] > (1 << 20)) fail(n, "invalid strides");
                a.strides[i] = int((*s)[i]);
            }
        }
        if (auto d = intsAttr(n, "dilations"))
            for (int64_t v : *d)
                if (v != 1) fail(n, "dilated pooling is not supported");
        windowPads(n, Shape(x.onnx.begin() + 1, x.onnx.end()), a.kernel, a.strides, std::vector<int>(rank, 1), a.padBegin, a.padEnd);
        a.countPadding = intAttr(n, "count_include_pad", 0) != 0;
        if (intAttr(n, "ceil_mode", 0) != 0) {
            for (size_t i = 0; i < rank; ++i) {
                const int len = x.onnx[i + 1] + a.padBegin[i] + a.padEnd[i] - a.kernel[i];
                if (len % a.strides[i] != 0) fail(n, "ceil_mode=1 with a partial last window is not supported");
            }
        }
    }
    const std::string in = channelsLast(n, x);
    const std::string out = b_.add(nodeName(n), LayerKind::Pooling, {in}, a);
    Shape outOnnx = {x.onnx[0]};
    if (a.global) outOnnx.insert(outOnnx.end(), rank, 1);
    else {
        const Shape& os = b_.shape(out);
        outOnnx.insert(outOnnx.end(), os.begin(), os.end() - 1);
    }
    produced(n, Value{out, outOnnx, channelsLastOrder(outOnnx.size())});
}

}  // namespace tachyon::onnxfe
