// Shape arithmetic (Shape, Gather, Add, Div, ... on shapes) evaluated with a batch of one, so
// that sizes computed from a tensor (Slice bounds, a recurrent layer's initial state) become
// constants. It works on ONNX tensors that never become layers, hence here and not a graph
// pass.
#include "frontends/onnx/OnnxReader.h"
#include "util/Error.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

namespace tachyon::onnxfe {

void OnnxReader::foldShapeArithmetic(const onnx::NodeProto& n) {
    const std::string& op = n.op_type();
    ConstTensor out;
    auto in = [&](int i) -> const ConstTensor* {
        return i < n.input_size() && !n.input(i).empty() ? constant(n.input(i)) : nullptr;
    };
    if (op == "Shape") {
        const auto s = fullShape(n.input(0));
        if (!s) return;
        int64_t r = int64_t(s->size()), start = intAttr(n, "start", 0), end = intAttr(n, "end", r);
        if (start < 0) start += r;
        if (end < 0) end += r;
        for (int64_t k = std::clamp<int64_t>(start, 0, r); k < std::clamp<int64_t>(end, 0, r); ++k)
            out.values.push_back((*s)[size_t(k)]);
        out.dims = {int64_t(out.values.size())};
    } else if (op == "Gather") {
        const ConstTensor *data = in(0), *idx = in(1);
        if (!data || !idx || data->dims.size() > 1 || intAttr(n, "axis", 0) != 0) return;
        for (double v : idx->values) {
            int64_t k = constIndex(v) < 0 ? constIndex(v) + int64_t(data->values.size()) : constIndex(v);
            if (k < 0 || k >= int64_t(data->values.size())) return;
            out.values.push_back(data->values[size_t(k)]);
        }
        out.dims = idx->dims;
    } else if (op == "Add" || op == "Sub" || op == "Mul" || op == "Div") {
        const ConstTensor *a = in(0), *b = in(1);
        if (!a || !b || a->values.empty() || b->values.empty() ||
            (a->values.size() != b->values.size() && a->values.size() != 1 && b->values.size() != 1))
            return;
        const size_t count = std::max(a->values.size(), b->values.size());
        for (size_t k = 0; k < count; ++k) {
            const double x = a->values[a->values.size() == 1 ? 0 : k], y = b->values[b->values.size() == 1 ? 0 : k];
            if (op == "Div" && y == 0) return;
            // Sizes are integers: Div is ONNX's integer division (truncating).
            out.values.push_back(op == "Add" ? x + y : op == "Sub" ? x - y : op == "Mul" ? x * y : std::trunc(x / y));
        }
        out.dims = a->values.size() >= b->values.size() ? a->dims : b->dims;
    } else if (op == "Unsqueeze" || op == "Squeeze" || op == "Cast" || op == "Reshape") {
        const ConstTensor* a = in(0);
        if (!a) return;
        out.values = a->values;
        out.dims = {int64_t(out.values.size())};
    } else if (op == "Concat") {
        for (int i = 0; i < n.input_size(); ++i) {
            const ConstTensor* a = in(i);
            if (!a) return;
            out.values.insert(out.values.end(), a->values.begin(), a->values.end());
        }
        out.dims = {int64_t(out.values.size())};
    } else {
        return;
    }
    consts_[n.output(0)] = std::move(out);
}

}  // namespace tachyon::onnxfe
