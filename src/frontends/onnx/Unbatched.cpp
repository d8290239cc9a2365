// Tensors whose batch axis is not their first (attention as PyTorch exports it): the node is
// rewritten to see the batch as an ordinary axis and handed to its usual handler.
#include "frontends/onnx/OnnxReader.h"
#include "util/Error.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

namespace tachyon::onnxfe {

std::optional<Shape> OnnxReader::fullShape(const std::string& tensor) const {
    if (auto it = seq_.find(tensor); it != seq_.end()) {
        Shape s = it->second.v.onnx;
        s.insert(s.begin() + it->second.batch, 1);
        return s;
    }
    auto it = values_.find(tensor);
    if (it == values_.end()) return std::nullopt;
    if (unbatched_.count(tensor)) return it->second.onnx;
    Shape s = it->second.onnx;
    s.insert(s.begin(), 1);
    return s;
}

bool OnnxReader::readsUnbatched(const onnx::NodeProto& n) const {
    for (const auto& in : n.input())
        if (unbatched_.count(in)) return true;
    return false;
}

void OnnxReader::unbatchedNode(const onnx::NodeProto& n) {
    onnx::NodeProto m = n;
    // Every computed operand as an unbatched tensor: its batch axis (size 1) made explicit.
    for (int i = 0; i < n.input_size(); ++i) {
        const std::string& t = n.input(i);
        if (t.empty() || constant(t) || unbatched_.count(t)) continue;
        const auto full = fullShape(t);
        if (!full) fail(n, "reads '" + t + "', which no earlier node produces");
        Value v;
        v.onnx = *full;
        if (auto it = seq_.find(t); it != seq_.end()) {
            v.layer = it->second.v.layer;
            for (int a : it->second.v.src) v.src.push_back(a >= it->second.batch ? a + 1 : a);
            v.src.push_back(it->second.batch);
        } else {
            const Value& x = values_.at(t);
            v.layer = x.layer;
            for (int a : x.src) v.src.push_back(a + 1);
            v.src.push_back(0);
        }
        const std::string alias = t + "#unbatched";
        values_[alias] = v;
        uses_[alias] = uses_[t];
        m.set_input(i, alias);
    }
    // ONNX axes count the batch; the handlers take axis k as the sample's axis k - 1.
    // (Clamped first: a malformed model's axes must not overflow; the handlers reject them.)
    auto shift = [](int64_t a) { return a >= 0 ? std::min<int64_t>(a, 1 << 30) + 1 : a; };
    for (auto& a : *m.mutable_attribute()) {
        if (a.name() == "perm") {
            std::vector<int64_t> p = {0};
            for (int64_t v : a.ints()) p.push_back(std::clamp<int64_t>(v, -(1 << 30), 1 << 30) + 1);
            a.clear_ints();
            for (int64_t v : p) a.add_ints(v);
        } else if (a.name() == "axis") {
            a.set_i(shift(a.i()));
        } else if (a.name() == "axes") {
            for (int k = 0; k < a.ints_size(); ++k) a.set_ints(k, shift(a.ints(k)));
        }
    }
    auto rewriteConst = [&](int i, ConstTensor c) {
        const std::string name = n.input(i) + "#unbatched";
        consts_[name] = std::move(c);
        m.set_input(i, name);
    };
    const std::string& op = n.op_type();
    if (op == "Reshape") {
        ConstTensor target = requireConst(n, 1, "shape");
        target.values.insert(target.values.begin(), 1.0);
        target.dims = {int64_t(target.values.size())};
        rewriteConst(1, std::move(target));
    } else if ((op == "Squeeze" || op == "Unsqueeze") && n.input_size() > 1 && !n.input(1).empty()) {
        ConstTensor axes = requireConst(n, 1, "axes");
        for (double& v : axes.values) v = double(shift(constIndex(v)));
        rewriteConst(1, std::move(axes));
    } else if (op == "Slice") {
        if (n.input_size() < 3) fail(n, "expects starts and ends inputs");
        ConstTensor axes;
        if (n.input_size() > 3 && !n.input(3).empty()) {
            axes = requireConst(n, 3, "axes");
        } else {
            for (size_t k = 0; k < requireConst(n, 1, "starts").values.size(); ++k) axes.values.push_back(double(k));
            axes.dims = {int64_t(axes.values.size())};
            while (m.input_size() < 4) m.add_input("");
        }
        for (double& v : axes.values) v = double(shift(constIndex(v)));
        const std::string name = n.output(0) + "#axes";
        consts_[name] = std::move(axes);
        m.set_input(3, name);
    }
    unbatchedMode_ = true;
    dispatch(m);
    unbatchedMode_ = false;
    // A leading axis of size 1 can be the batch again.
    auto made = values_.find(n.output(0));
    if (made == values_.end()) fail(n, "produced no tensor from an unbatched operand");
    Value& out = made->second;
    if (out.onnx.size() >= 2 && out.onnx[0] == 1) {
        out.onnx.erase(out.onnx.begin());
        std::vector<int> src;
        for (int a : out.src)
            if (a != 0) src.push_back(a - 1);
        out.src = src;
        // Stored without that axis too, as every ordinary tensor is.
        Shape stored;
        for (int a : out.src) stored.push_back(out.onnx[size_t(a)]);
        out.layer = b_.view(nodeName(n) + "_batch", out.layer, stored);
    } else {
        unbatched_.insert(n.output(0));
    }
}

}  // namespace tachyon::onnxfe
