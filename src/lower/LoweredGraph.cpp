#include "lower/LoweredGraph.h"

#include "util/Error.h"

namespace tachyon {

LoweredGraph::LoweredGraph(const Graph& g, std::vector<LoweredLayer> layers, FixedReference reference)
    : graph_(&g), layers_(std::move(layers)), reference_(std::move(reference)) {
    for (size_t k = 0; k < layers_.size(); ++k) index_[layers_[k].layer->name] = k;
}

const LoweredLayer& LoweredGraph::layer(const std::string& name) const {
    auto it = index_.find(name);
    if (it == index_.end()) throw Error("lowered graph: no layer named '" + name + "'");
    return layers_[it->second];
}

namespace {
const LayerConstants& constantsOf(const LoweredGraph& g, const std::string& name) { return *g.layer(name).constants; }
const LookupTable* ifFilled(const LookupTable& t) { return t.size ? &t : nullptr; }
}  // namespace

const std::vector<int64_t>& LoweredGraph::weightRaw(const std::string& l) const { return constantsOf(*this, l).weight; }
const std::vector<int64_t>& LoweredGraph::biasRaw(const std::string& l) const { return constantsOf(*this, l).bias; }
const std::vector<int64_t>& LoweredGraph::scaleRaw(const std::string& l) const { return constantsOf(*this, l).scale; }
const std::vector<int64_t>& LoweredGraph::paramRaw(const std::string& l) const { return constantsOf(*this, l).param; }

const LookupTable* LoweredGraph::activationTable(const std::string& l) const { return ifFilled(constantsOf(*this, l).table); }

const BinaryMac* LoweredGraph::binaryMac(const std::string& l) const {
    const auto& form = constantsOf(*this, l).binaryMac;
    return form ? &*form : nullptr;
}

const SoftmaxTables* LoweredGraph::softmaxTables(const std::string& l) const {
    const LayerConstants& c = constantsOf(*this, l);
    return c.hasSoftmax ? &c.softmax : nullptr;
}

const GarNetConstants& LoweredGraph::garnetConstants(const std::string& l) const { return constantsOf(*this, l).garnet; }

const std::vector<int64_t>& LoweredGraph::recurrentWeightRaw(const std::string& l) const {
    return constantsOf(*this, l).recurrentWeight;
}
const std::vector<int64_t>& LoweredGraph::recurrentBiasRaw(const std::string& l) const {
    return constantsOf(*this, l).recurrentBias;
}

const LookupTable* LoweredGraph::recurrentTable(const std::string& l, RecurrentTable which) const {
    const LayerConstants& c = constantsOf(*this, l);
    switch (which) {
    case RecurrentTable::Activation: return ifFilled(c.actTable);
    case RecurrentTable::StateActivation: return ifFilled(c.stateActTable);
    case RecurrentTable::RecurrentActivation: return ifFilled(c.recurrentTable);
    }
    return nullptr;
}

const FixedType& LoweredGraph::inputType(const std::string& l) const {
    const LoweredLayer& low = layer(l);
    if (low.inputTypes.empty()) throw Error("lowered graph: layer '" + l + "' reads no other layer");
    return low.inputTypes.front();
}

}  // namespace tachyon
