#include "ir/Graph.h"

#include "util/Error.h"

#include <cmath>
#include <set>
#include <sstream>

namespace tachyon {

std::string toString(LayerKind k) {
    switch (k) {
    case LayerKind::Input: return "Input";
    case LayerKind::Dense: return "Dense";
    case LayerKind::BatchNorm: return "BatchNormalization";
    case LayerKind::Activation: return "Activation";
    case LayerKind::Softmax: return "Softmax";
    case LayerKind::Reshape: return "Reshape";
    }
    return "?";
}

std::string toString(ActKind a) {
    switch (a) {
    case ActKind::Linear: return "linear";
    case ActKind::ReLU: return "relu";
    case ActKind::LeakyReLU: return "leaky_relu";
    case ActKind::ReLU6: return "relu6";
    case ActKind::Sigmoid: return "sigmoid";
    case ActKind::Tanh: return "tanh";
    case ActKind::HardSigmoid: return "hard_sigmoid";
    }
    return "?";
}

std::optional<ActKind> parseActivation(const std::string& name) {
    for (ActKind a : {ActKind::Linear, ActKind::ReLU, ActKind::LeakyReLU, ActKind::ReLU6,
                      ActKind::Sigmoid, ActKind::Tanh, ActKind::HardSigmoid})
        if (toString(a) == name) return a;
    if (name == "leakyrelu" || name == "LeakyReLU") return ActKind::LeakyReLU;
    if (name == "ReLU") return ActKind::ReLU;
    return std::nullopt;
}

bool isPiecewiseLinear(ActKind a) {
    return a == ActKind::Linear || a == ActKind::ReLU || a == ActKind::ReLU6 ||
           a == ActKind::LeakyReLU || a == ActKind::HardSigmoid;
}

int Layer::outSize() const {
    int n = 1;
    for (int d : shape) n *= d;
    return n;
}

const FixedType& Layer::type(const std::string& var) const {
    auto it = precision.find(var);
    if (it == precision.end())
        throw Error("layer '" + name + "': no '" + var + "' precision assigned");
    return it->second;
}

Layer* Graph::find(const std::string& n) {
    for (auto& l : layers)
        if (l.name == n) return &l;
    return nullptr;
}
const Layer* Graph::find(const std::string& n) const {
    for (auto& l : layers)
        if (l.name == n) return &l;
    return nullptr;
}

std::vector<const Layer*> Graph::consumers(const std::string& n) const {
    std::vector<const Layer*> out;
    for (auto& l : layers)
        if (l.input == n) out.push_back(&l);
    return out;
}

void verify(const Graph& g, bool requireTypes) {
    auto fail = [&](const Layer& l, const std::string& why) {
        throw Error("model '" + g.name + "', layer '" + l.name + "' (" + toString(l.kind) + "): " + why);
    };
    if (g.layers.empty()) throw Error("model '" + g.name + "': no layers");
    if (g.layers.front().kind != LayerKind::Input)
        throw Error("model '" + g.name + "': first layer must be the Input");
    std::set<std::string> seen;
    for (size_t i = 0; i < g.layers.size(); ++i) {
        const Layer& l = g.layers[i];
        if (l.name.empty()) throw Error("model '" + g.name + "': layer " + std::to_string(i) + " has no name");
        if (!seen.insert(l.name).second) fail(l, "duplicate layer name");
        if (l.shape.empty() || l.outSize() <= 0) fail(l, "empty or invalid output shape");
        if (l.kind == LayerKind::Input) {
            if (i != 0) fail(l, "only one Input layer is supported");
            continue;
        }
        const Layer* in = g.find(l.input);
        if (!in || !seen.count(l.input)) fail(l, "input '" + l.input + "' is not an earlier layer");
        const int nIn = in->outSize();
        switch (l.kind) {
        case LayerKind::Dense:
            if (l.nIn != nIn) fail(l, "expects " + std::to_string(l.nIn) + " inputs but '" + in->name + "' gives " + std::to_string(nIn));
            if ((int)l.weight.size() != l.nIn * l.nOut) fail(l, "weight has " + std::to_string(l.weight.size()) + " values, expected " + std::to_string(l.nIn * l.nOut));
            if ((int)l.bias.size() != l.nOut) fail(l, "bias has " + std::to_string(l.bias.size()) + " values, expected " + std::to_string(l.nOut));
            if (l.outSize() != l.nOut) fail(l, "output shape does not match n_out");
            break;
        case LayerKind::BatchNorm:
            if ((int)l.scale.size() != nIn || (int)l.shift.size() != nIn) fail(l, "scale/shift size does not match the input size " + std::to_string(nIn));
            if (l.outSize() != nIn) fail(l, "output size differs from input size");
            break;
        case LayerKind::Activation:
        case LayerKind::Softmax:
        case LayerKind::Reshape:
            if (l.outSize() != nIn) fail(l, "output size " + std::to_string(l.outSize()) + " differs from input size " + std::to_string(nIn));
            break;
        case LayerKind::Input: break;
        }
        for (const auto* v : {&l.weight, &l.bias, &l.scale, &l.shift})
            for (double x : *v)
                if (!std::isfinite(x)) fail(l, "non-finite parameter value");
        // Any size >= 2: the tables are indexed by a shift, so emulator/Tables.cpp rounds a
        // size that is not a power of two up to the next one (docs/config.md).
        for (const TableSpec* t : {&l.table, &l.invTable})
            if (t->size != 0 && t->size < 2) fail(l, "table size " + std::to_string(t->size) + " is below 2");
        if (l.schedule.reuseFactor < 1) fail(l, "ReuseFactor must be >= 1");
        if (l.schedule.parallelizationFactor < 1) fail(l, "ParallelizationFactor must be >= 1");
        if (l.schedule.strategy != "Latency" && l.schedule.strategy != "Resource" &&
            l.schedule.strategy != "Distributed_Arithmetic")
            fail(l, "unknown Strategy '" + l.schedule.strategy + "' (Latency, Resource or Distributed_Arithmetic)");
    }
    if (requireTypes) {
        for (const Layer& l : g.layers) {
            if (!l.hasType("result")) fail(l, "no result precision");
            if (l.kind == LayerKind::Dense)
                for (auto v : {"weight", "bias", "accum"})
                    if (!l.hasType(v)) fail(l, std::string("no ") + v + " precision");
        }
    }
}

std::string dump(const Graph& g) {
    std::ostringstream os;
    os << "model " << g.name;
    if (!g.sourceFile.empty()) os << "  (" << g.sourceFile << ")";
    os << "\n";
    size_t params = 0;
    for (const Layer& l : g.layers) {
        os << "  " << l.name << ": " << toString(l.kind);
        if (l.kind == LayerKind::Dense) os << " " << l.nIn << "->" << l.nOut;
        if (l.kind == LayerKind::Activation || (l.kind == LayerKind::Dense && l.activation != ActKind::Linear))
            os << " activation=" << toString(l.activation);
        if (l.activation == ActKind::LeakyReLU) os << "(alpha=" << l.alpha << ")";
        os << "  shape=[";
        for (size_t i = 0; i < l.shape.size(); ++i) os << (i ? "," : "") << l.shape[i];
        os << "]";
        if (!l.input.empty()) os << "  <- " << l.input;
        os << "\n";
        if (l.kind == LayerKind::Dense) {
            size_t zeros = 0;
            for (double w : l.weight) zeros += (w == 0.0);
            os << "      weights " << l.weight.size() << " (" << zeros << " zero)\n";
            params += l.weight.size() + l.bias.size();
        }
        for (const auto& [var, t] : l.precision) os << "      " << var << ": " << t.str() << "\n";
        if (l.table.size) os << "      table_size: " << l.table.size << "\n";
        if (l.schedule.reuseFactor != 1 || l.schedule.strategy != "Latency")
            os << "      ReuseFactor: " << l.schedule.reuseFactor << "  Strategy: " << l.schedule.strategy << "\n";
    }
    os << "parameters: " << params << "\n";
    return os.str();
}

}  // namespace tachyon
