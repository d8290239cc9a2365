// The top-level keys of tree-ensemble configurations (docs/trees.md) in the normal
// Config. A tree ensemble is a TreeEnsemble layer, so its types are precision variables:
//   InputPrecision     -> LayerType Input      result     (the features)
//   ThresholdPrecision -> LayerType TreeEnsemble threshold (default: the features' type)
//   ScorePrecision     -> LayerType TreeEnsemble result    (leaves, base scores, adders, output)
//   Precision          -> all three (conifer's one-type form)
// Pipeline sets the Verilog register stages (unless --stages does), LutMaxInputBits the
// trees' lookup-table backend;
// conifer's Unroll is accepted (its writers always unroll). Tree layers keep the tree
// default type ap_fixed<18,8> where no Model Precision is configured.
#include "config/Config.h"

#include "util/Error.h"

#include <yaml-cpp/yaml.h>

namespace tachyon {

namespace {

std::string typeText(const YAML::Node& v, const std::string& where) {
    if (!v.IsScalar()) throw Error(where + ": expected a type such as ap_fixed<18,8>");
    const std::string t = v.as<std::string>();
    try {
        (void)FixedType::parse(t);
    } catch (const std::exception& e) {
        throw Error(where + ": " + e.what());
    }
    return t;
}

int intIn(const YAML::Node& v, const std::string& where, int lo, int hi) {
    int n = 0;
    try {
        n = v.as<int>();
    } catch (const YAML::Exception&) {
        throw Error(where + ": expected an integer");
    }
    if (n < lo || n > hi) throw Error(where + ": must be between " + std::to_string(lo) + " and " + std::to_string(hi));
    return n;
}

}  // namespace

bool parseTreeKey(Config& cfg, const std::string& key, const YAML::Node& v) {
    const std::string where = cfg.source + ": " + key;
    if (key == "InputPrecision") {
        cfg.byType["Input"].precision["result"] = typeText(v, where);
    } else if (key == "ThresholdPrecision") {
        cfg.byType["TreeEnsemble"].precision["threshold"] = typeText(v, where);
    } else if (key == "ScorePrecision") {
        cfg.byType["TreeEnsemble"].precision["result"] = typeText(v, where);
    } else if (key == "Precision") {
        const std::string t = typeText(v, where);
        cfg.byType["Input"].precision.emplace("result", t);   // the specific keys win, in any order
        cfg.byType["TreeEnsemble"].precision.emplace("threshold", t);
        cfg.byType["TreeEnsemble"].precision.emplace("result", t);
    } else if (key == "Pipeline") {
        if (v.IsScalar() && v.as<std::string>() == "auto") cfg.treePipeline = -1;
        else cfg.treePipeline = intIn(v, where + " (must be 'auto' or 0..64)", 0, 64);
    } else if (key == "LutMaxInputBits") {
        cfg.lutMaxInputBits = intIn(v, where, 1, 26);
    } else if (key == "Unroll") {
        // conifer's HLS loop unrolling: Tachyon's tree writers always unroll.
    } else {
        return false;
    }
    return true;
}

namespace {

// A layer of a tree model: a TreeEnsemble, or an Input that only trees read.
bool isTreeLayer(const Graph& g, const Layer& l) {
    if (l.kind == LayerKind::TreeEnsemble) return true;
    if (l.kind != LayerKind::Input) return false;
    const auto readers = g.consumers(l.name);
    if (readers.empty()) return false;
    for (const Layer* c : readers)
        if (c->kind != LayerKind::TreeEnsemble) return false;
    return true;
}

}  // namespace

LayerConfig resolveWithTreeDefaults(const Config& cfg, const Graph& g, const Layer& l) {
    if (cfg.modelPrecisionGiven || !isTreeLayer(g, l)) return cfg.resolve(l);
    Config tree = cfg;
    tree.model.precision["default"] = kTreeDefaultPrecision;
    return tree.resolve(l);
}

}  // namespace tachyon
