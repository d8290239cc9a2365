// The exact GELU as PyTorch exports it, x / sqrt(2) -> Erf -> + 1 -> x * . -> * 0.5, found on
// the node list before the walk: the first four nodes are skipped and the last one becomes one
// GELU activation. (The IR has no Erf, so the nodes cannot become layers for a graph pass to
// fuse.)
#include "frontends/onnx/OnnxReader.h"
#include "util/Error.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>
#include <map>

namespace tachyon::onnxfe {

void OnnxReader::findGelu() {
    std::map<std::string, const onnx::NodeProto*> producer;
    std::map<std::string, std::vector<const onnx::NodeProto*>> readers;
    for (const auto& n : graph_.node()) {
        for (const auto& o : n.output()) producer[o] = &n;
        for (const auto& i : n.input()) readers[i].push_back(&n);
    }
    // The one reader of `t`, if it has exactly one.
    auto only = [&](const std::string& t) -> const onnx::NodeProto* {
        auto it = readers.find(t);
        return it != readers.end() && it->second.size() == 1 ? it->second[0] : nullptr;
    };
    // The constant operand of a two-input node whose other operand is `t`, or nullptr.
    auto constOperand = [&](const onnx::NodeProto* n, const std::string& t) -> const ConstTensor* {
        if (!n || n->input_size() != 2) return nullptr;
        const int other = n->input(0) == t ? 1 : n->input(1) == t ? 0 : -1;
        const ConstTensor* c = other >= 0 ? constant(n->input(other)) : nullptr;
        return c && c->values.size() == 1 ? c : nullptr;
    };
    auto near = [](const ConstTensor* c, double v) { return c && std::abs(c->values[0] - v) < 1e-6; };
    for (const auto& erf : graph_.node()) {
        if (erf.op_type() != "Erf" || erf.input_size() != 1) continue;
        auto p = producer.find(erf.input(0));
        if (p == producer.end()) continue;
        const onnx::NodeProto* div = p->second;
        if (div->input_size() != 2 || constant(div->input(0))) continue;
        const std::string x = div->input(0);
        const ConstTensor* c = constOperand(div, x);
        const bool scaled = (div->op_type() == "Div" && near(c, std::sqrt(2.0))) ||
                            (div->op_type() == "Mul" && near(c, std::sqrt(0.5)));
        const onnx::NodeProto* add = only(erf.output(0));
        const onnx::NodeProto* mulX = add ? only(add->output(0)) : nullptr;
        const onnx::NodeProto* half = mulX ? only(mulX->output(0)) : nullptr;
        if (!scaled || only(div->output(0)) != &erf || !add || add->op_type() != "Add" ||
            !near(constOperand(add, erf.output(0)), 1.0) || !mulX || mulX->op_type() != "Mul" ||
            mulX->input_size() != 2 ||
            !((mulX->input(0) == x && mulX->input(1) == add->output(0)) ||
              (mulX->input(1) == x && mulX->input(0) == add->output(0))) ||
            !half || half->op_type() != "Mul" || !near(constOperand(half, mulX->output(0)), 0.5))
            continue;
        for (const onnx::NodeProto* n : {div, &erf, add, mulX}) geluInner_.insert(n->output(0));
        geluOutput_[half->output(0)] = x;
    }
}

}  // namespace tachyon::onnxfe
