// TreeEnsemble layers in the network HLS project (nnet_utils/nnet_bdt.h): the ensemble's
// nodes as constant arrays, quantised exactly as the emulator's TreeEnsemble kernel
// quantises them (the same tree evaluator, built with the layer's types).
#include "backends/hls/HlsEmit.h"

#include "emulator/TreeEmulator.h"
#include "ir/TreeEnsemble.h"
#include "util/Error.h"

#include <string>
#include <vector>

namespace tachyon::hls {

LayerCode emitTreeEnsemble(const Layer& l, const std::string& id, const LayerInputs& in, const LoweredGraph& low) {
    if (in.streaming)
        throw Error(layerError(l, "a tree ensemble is written for io_parallel only (set IOType: io_parallel)"));
    const trees::Ensemble& e = *l.as<TreeEnsembleAttrs>().ensemble;
    trees::TreeConfig types;
    types.input = in.types.at(0);
    types.threshold = l.type("threshold");
    types.score = l.type("result");
    const trees::TreeEmulator q(e, types);

    // All trees' nodes in one numbering: tree t starts at start[t].
    std::vector<int> start, feature, left, right;
    std::vector<int64_t> threshold, leaf;
    for (size_t t = 0; t < e.trees.size(); ++t) {
        const int base = int(feature.size());
        start.push_back(base);
        const auto& nodes = e.trees[t].nodes;
        for (size_t n = 0; n < nodes.size(); ++n) {
            const trees::Node& nd = nodes[n];
            const bool isLeaf = nd.isLeaf();
            feature.push_back(isLeaf ? -1 : nd.feature);
            left.push_back(isLeaf ? -1 : base + nd.left);
            right.push_back(isLeaf ? -1 : base + nd.right);
            threshold.push_back(isLeaf ? 0 : q.thresholdRaw(int(t), int(n)));
            leaf.push_back(isLeaf ? q.leafRaw(int(t), int(n)) : 0);
        }
    }
    std::vector<int> treeClass;
    for (const trees::Tree& t : e.trees) treeClass.push_back(t.classIndex);
    const size_t nNodes = feature.size();

    LayerCode c;
    c.id = id;
    ParamsText p;
    p.id = id;
    p.os << "// " << l.name << ": TreeEnsemble, " << e.trees.size() << " trees (" << e.source << "), "
         << e.nFeatures << " features -> " << e.nClasses << " scores\n";
    p.typedefLine(types.threshold.str(), "threshold_t");
    p.typedefLine(types.score.str(), "result_t");
    p.beginConfig("bdt_config");
    p.constant("unsigned", "n_features", e.nFeatures);
    p.constant("unsigned", "n_classes", e.nClasses);
    p.constant("unsigned", "n_trees", e.trees.size());
    p.constant("unsigned", "n_nodes", nNodes);
    p.constant("unsigned", "max_depth", std::max(1, e.maxDepth()));
    p.constant("bool", "less", boolText(e.comparison == trees::Comparison::Less));
    p.alias("threshold_t");
    p.endConfig();
    c.params = p.os.str();

    auto ints = [&](const std::string& name, const std::vector<int>& v) {
        return constArray("int", id + "_" + name, v.size(), 16, [&](size_t k) { return std::to_string(v[k]); });
    };
    std::string body = constArray(id + "_threshold_t", id + "_threshold", nNodes, 8,
                                  [&](size_t k) { return literal(types.threshold, threshold[k]); });
    body += ints("feature", feature) + ints("left", left) + ints("right", right);
    body += constArray(id + "_result_t", id + "_leaf", nNodes, 8, [&](size_t k) { return literal(types.score, leaf[k]); });
    body += ints("tree_start", start) + ints("tree_class", treeClass);
    body += constArray(id + "_result_t", id + "_base", size_t(e.nClasses), 8,
                       [&](size_t k) { return literal(types.score, q.baseRaw(int(k))); });
    c.constants.push_back({id + "_t.h", header(id, "t", body)});

    KernelCall k;
    k.kernel = "bdt";
    k.config = id + "_config";
    k.inputs = in.keys;
    k.output = l.name;
    for (const char* a : {"threshold", "feature", "left", "right", "leaf", "tree_start", "tree_class", "base"})
        k.constantArgs.push_back(id + "_" + a);
    c.calls.push_back(k);
    // One comparison level per cycle, then the adder tree.
    c.timing.latency = std::max(1, e.maxDepth()) + trees::adderLevels(int(e.trees.size()) + 1);
    c.timing.detail = "comparisons by depth, then the balanced adder tree";
    return c;
}

}  // namespace tachyon::hls
