// Recurrent networks as PyTorch exports them: LSTM/GRU/RNN nodes, the sequence-major tensors
// around them, the last-step Gather, and the shape arithmetic that builds their zero
// initial states (ShapeArithmetic.cpp evaluates it).
#include "frontends/onnx/OnnxReader.h"
#include "util/Error.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

namespace tachyon::onnxfe {

bool OnnxReader::zeroState(const onnx::NodeProto& n, int i) const {
    if (i >= n.input_size() || n.input(i).empty()) return true;
    if (auto it = filled_.find(n.input(i)); it != filled_.end()) return it->second == 0.0;
    if (const ConstTensor* c = constant(n.input(i)))
        return std::all_of(c->values.begin(), c->values.end(), [](double v) { return v == 0.0; });
    return false;
}

// A Transpose of `x`, whose batch is ONNX axis `batch`: the batch may move (the
// sequence-major layout of recurrent ops); the data stays where it is.
void OnnxReader::batchTranspose(const onnx::NodeProto& n, const Value& x, int batch) {
    const size_t r = x.onnx.size() + 1;
    std::vector<int64_t> perm = intsAttr(n, "perm").value_or(std::vector<int64_t>{});
    if (perm.empty())
        for (size_t i = r; i-- > 0;) perm.push_back(int64_t(i));
    if (perm.size() != r) fail(n, "perm does not match the input rank");
    auto sampleIndex = [&](int64_t full) { return int(full - (full > batch ? 1 : 0)); };
    std::vector<int> p;
    int newBatch = -1;
    for (size_t i = 0; i < r; ++i) {
        if (perm[i] < 0 || perm[i] >= int64_t(r)) fail(n, "perm is not a permutation");
        if (perm[i] == batch) newBatch = int(i);
        else p.push_back(sampleIndex(perm[i]));
    }
    if (newBatch < 0) fail(n, "perm is not a permutation");
    Value v{x.layer, {}, {}};
    for (int a : p) v.onnx.push_back(x.onnx[size_t(a)]);
    for (int s : x.src)
        for (size_t i = 0; i < p.size(); ++i)
            if (p[i] == s) v.src.push_back(int(i));
    if (newBatch == 0) produced(n, v);
    else seq_[n.output(0)] = SeqValue{v, newBatch};
}

bool OnnxReader::recurrentNode(const onnx::NodeProto& n) {
    const std::string& op = n.op_type();
    auto anyIn = [&](const auto& set) {
        for (const auto& in : n.input())
            if (set.count(in)) return true;
        return false;
    };
    // Shape arithmetic (the batch size PyTorch reads to build zero initial states).
    if (op == "Shape" || ((op == "Gather" || op == "Unsqueeze" || op == "Squeeze" || op == "Concat" ||
                           op == "Reshape" || op == "Cast" || op == "Add" || op == "Sub" || op == "Mul" ||
                           op == "Div") && anyIn(shapeDerived_)) ||
        (op == "Slice" && shapeDerived_.count(n.input(0)))) {
        foldShapeArithmetic(n);
        for (const auto& o : n.output()) shapeDerived_.insert(o);
        return true;
    }
    if (op == "ConstantOfShape") {
        double v = 0.0;
        for (const auto& a : n.attribute())
            if (a.name() == "value") {
                const ConstTensor c = toConst(a.t(), "constant '" + nodeName(n) + "'");
                if (!c.values.empty()) v = c.values[0];
            }
        filled_[n.output(0)] = v;
        return true;
    }
    if (op == "Expand") {
        const ConstTensor* c = constant(n.input(0));
        if (!c || c->values.empty() || std::any_of(c->values.begin(), c->values.end(), [&](double v) { return v != c->values[0]; }))
            fail(n, "only expanding a constant filled with one value (a recurrent layer's initial state) is supported");
        filled_[n.output(0)] = c->values[0];
        return true;
    }
    if (op == "LSTM" || op == "GRU" || op == "RNN") {
        recurrent(n);
        return true;
    }
    if (op == "Transpose") {
        if (auto it = seq_.find(n.input(0)); it != seq_.end()) {
            const SeqValue s = it->second;
            batchTranspose(n, s.v, s.batch);
            return true;
        }
        const auto perm = intsAttr(n, "perm");
        if (perm && !perm->empty() && (*perm)[0] != 0) {
            batchTranspose(n, value(n, n.input(0)), 0);
            return true;
        }
        return false;
    }
    if (op == "Squeeze") {
        auto it = seq_.find(n.input(0));
        if (it == seq_.end()) return false;
        SeqValue s = it->second;
        auto ax = axes(n);
        if (!ax) fail(n, "squeezing a sequence-major tensor needs explicit axes");
        const int rank = int(s.v.onnx.size()) + 1;
        std::vector<int> drop;
        for (int64_t a : *ax) {
            if (a < 0) a += rank;
            if (a < 0 || a >= rank || a == s.batch) fail(n, "cannot squeeze axis " + std::to_string(a));
            drop.push_back(int(a - (a > s.batch ? 1 : 0)));
        }
        std::sort(drop.rbegin(), drop.rend());
        int newBatch = s.batch;
        for (int64_t a : *ax) newBatch -= (a < 0 ? a + rank : a) < s.batch;
        for (int d : drop) {
            if (s.v.onnx[size_t(d)] != 1) fail(n, "squeezed axis has size " + std::to_string(s.v.onnx[size_t(d)]));
            s.v.onnx.erase(s.v.onnx.begin() + d);
            std::vector<int> src;
            for (int a : s.v.src)
                if (a != d) src.push_back(a > d ? a - 1 : a);
            s.v.src = src;
        }
        if (newBatch == 0) produced(n, s.v);
        else seq_[n.output(0)] = SeqValue{s.v, newBatch};
        return true;
    }
    if (op == "Gather") {
        // The last step of a recurrent layer's output sequence (PyTorch's y[:, -1, :]):
        // the layer then returns only its final state.
        const Value& x = value(n, n.input(0));
        const ConstTensor& idx = requireConst(n, 1, "indices");
        const int axis = sampleAxis(n, intAttr(n, "axis", 0), x.onnx.size());
        Layer& l = b_.layer(x.layer);
        const bool seqOut = l.kind == LayerKind::Recurrent && l.as<RecurrentAttrs>().returnSequences;
        if (!seqOut || idx.values.size() != 1 || !idx.dims.empty() || axis != 0 || x.onnx.size() < 2 ||
            uses_.at(n.input(0)) != 1)
            fail(n, "Gather is only supported to take the last step of a recurrent layer's output sequence");
        auto& a = l.as<RecurrentAttrs>();
        const int64_t k = int64_t(idx.values[0]) < 0 ? int64_t(idx.values[0]) + a.steps : int64_t(idx.values[0]);
        // With outputs in processing order the final state is the last entry; in input
        // order (ONNX reverse) it is the first.
        const int64_t last = a.goBackwards && a.outputInInputOrder ? 0 : a.steps - 1;
        if (k != last) fail(n, "Gather is only supported to take the final state of a recurrent layer's sequence");
        a.returnSequences = false;
        l.shape = {a.units};
        Shape shape(x.onnx.begin() + 1, x.onnx.end());
        produced(n, Value{x.layer, shape, identityOrder(shape.size())});
        return true;
    }
    return false;
}

// ONNX LSTM / GRU / RNN (one direction, zero initial state, no sequence_lens). Gate order
// becomes Keras': LSTM iofc -> ifco; GRU zrh stays.
void OnnxReader::recurrent(const onnx::NodeProto& n) {
    const std::string& op = n.op_type();
    const bool batchFirst = intAttr(n, "layout", 0) == 1;
    std::string xl;
    Shape xs;
    if (auto it = seq_.find(n.input(0)); it != seq_.end()) {
        if (batchFirst || it->second.batch != 1 || it->second.v.onnx.size() != 2)
            fail(n, "expects a sequence-major [steps, batch, features] input");
        xs = it->second.v.onnx;
        xl = plain(n, it->second.v);
    } else {
        const Value& x = value(n, n.input(0));
        if (!batchFirst || x.onnx.size() != 2) fail(n, "expects a [steps, batch, features] input (or layout=1 with [batch, steps, features])");
        xs = x.onnx;
        xl = plain(n, x);
    }
    const std::string dir = stringAttr(n, "direction", "forward");
    if (dir != "forward" && dir != "reverse") fail(n, "direction '" + dir + "' is not supported (forward or reverse)");
    for (const auto& a : n.attribute())
        if (a.name() == "clip" || a.name() == "input_forget" || a.name() == "activation_alpha" || a.name() == "activation_beta")
            if (a.name() != "input_forget" || a.i() != 0) fail(n, "attribute '" + a.name() + "' is not supported");
    if (n.input_size() > 4 && !n.input(4).empty()) fail(n, "sequence_lens is not supported (static sequence length only)");
    for (int i : {5, 6})
        if (!zeroState(n, i)) fail(n, "only a zero initial state is supported");
    if (n.input_size() > 7 && !n.input(7).empty()) fail(n, "peephole weights (P) are not supported");
    RecurrentAttrs a;
    a.cell = op == "LSTM" ? RnnCell::LSTM : op == "GRU" ? RnnCell::GRU : RnnCell::SimpleRNN;
    a.steps = xs[0];
    a.nIn = xs[1];
    a.units = int(intAttr(n, "hidden_size", 0));
    if (a.units <= 0) fail(n, "no valid hidden_size");
    a.goBackwards = dir == "reverse";
    a.outputInInputOrder = true;
    a.resetAfter = intAttr(n, "linear_before_reset", 0) != 0;
    // Activations: f (gates), g (candidate / cell input), h (cell output, LSTM).
    std::vector<std::string> acts;
    for (const auto& at : n.attribute())
        if (at.name() == "activations")
            for (const auto& s : at.strings()) acts.push_back(s);
    auto kind = [&](const std::string& s) {
        static const std::map<std::string, ActKind> m = {{"Sigmoid", ActKind::Sigmoid}, {"Tanh", ActKind::Tanh},
                                                         {"Relu", ActKind::ReLU},       {"Softsign", ActKind::Softsign},
                                                         {"Softplus", ActKind::Softplus}};
        auto it = m.find(s);
        if (it == m.end()) fail(n, "activation '" + s + "' is not supported");
        return it->second;
    };
    if (a.cell == RnnCell::SimpleRNN) {
        a.activation = acts.empty() ? ActKind::Tanh : kind(acts[0]);
    } else {
        a.recurrentActivation = acts.empty() ? ActKind::Sigmoid : kind(acts[0]);
        a.activation = acts.size() < 2 ? ActKind::Tanh : kind(acts[1]);
        if (a.cell == RnnCell::LSTM && acts.size() >= 3 && kind(acts[2]) != a.activation)
            fail(n, "LSTM with different cell-input and cell-output activations is not supported");
    }
    const int G = a.gates(), H = a.units;
    const ConstTensor& W = requireConst(n, 1, "W");
    const ConstTensor& R = requireConst(n, 2, "R");
    if (W.values.size() != size_t(G * H * a.nIn) || R.values.size() != size_t(G * H * H))
        fail(n, "W/R do not match " + std::to_string(G) + " gates of hidden_size " + std::to_string(H) + " over " +
                    std::to_string(a.nIn) + " features (bidirectional layers are not supported)");
    // IR gate k reads ONNX gate order[k].
    const std::vector<int> order = a.cell == RnnCell::LSTM ? std::vector<int>{0, 2, 3, 1} : a.cell == RnnCell::GRU ? std::vector<int>{0, 1, 2} : std::vector<int>{0};
    std::vector<double> w(size_t(a.nIn * G * H)), rw(size_t(H * G * H)), b(size_t(G * H), 0.0), rb(size_t(G * H), 0.0);
    for (int k = 0; k < G; ++k)
        for (int j = 0; j < H; ++j) {
            const size_t row = size_t(order[size_t(k)] * H + j), col = size_t(k * H + j);
            for (int i = 0; i < a.nIn; ++i) w[size_t(i) * size_t(G * H) + col] = W.values[row * size_t(a.nIn) + size_t(i)];
            for (int i = 0; i < H; ++i) rw[size_t(i) * size_t(G * H) + col] = R.values[row * size_t(H) + size_t(i)];
        }
    if (n.input_size() > 3 && !n.input(3).empty()) {
        const ConstTensor& B = requireConst(n, 3, "B");
        if (B.values.size() != size_t(2 * G * H)) fail(n, "B does not match 2 x " + std::to_string(G * H));
        for (int k = 0; k < G; ++k)
            for (int j = 0; j < H; ++j) {
                b[size_t(k * H + j)] = B.values[size_t(order[size_t(k)] * H + j)];
                rb[size_t(k * H + j)] = B.values[size_t(G * H + order[size_t(k)] * H + j)];
            }
    }
    auto used = [&](int k) {
        if (n.output_size() <= k || n.output(k).empty()) return false;
        if (uses_.count(n.output(k))) return true;
        for (const auto& o : graph_.output())
            if (o.name() == n.output(k)) return true;
        return false;
    };
    const bool yUsed = used(0), hUsed = used(1);
    if (used(2))
        fail(n, "the final cell state output (Y_c) is not supported");
    if (yUsed && hUsed) fail(n, "using both the output sequence (Y) and the final state (Y_h) is not supported");
    a.returnSequences = !hUsed;
    const std::string x = b_.view(nodeName(n) + "_input", xl, {a.steps, a.nIn});
    const std::string l = b_.add(nodeName(n), LayerKind::Recurrent, {x}, a,
                                 {{"weight", std::move(w)}, {"recurrent_weight", std::move(rw)}, {"bias", std::move(b)},
                                  {"recurrent_bias", std::move(rb)}});
    // Y: [T, 1, B, H] (layout 1: [B, T, 1, H]); Y_h: [1, B, H] (layout 1: [B, 1, H]).
    if (a.returnSequences) {
        Value v{l, {a.steps, 1, H}, {0, 1, 2}};
        if (batchFirst) values_[n.output(0)] = v;
        else seq_[n.output(0)] = SeqValue{v, 2};
    } else if (n.output_size() > 1) {
        Value v{l, {1, H}, {0, 1}};
        if (batchFirst) values_[n.output(1)] = v;
        else seq_[n.output(1)] = SeqValue{v, 1};
    }
}

void OnnxReader::recurrentOp(const onnx::NodeProto& n) {
    if (!recurrentNode(n))
        fail(n, n.op_type() + " is only supported in the patterns of a recurrent network (its initial state, its last step)");
}

}  // namespace tachyon::onnxfe
