// TreeEnsemble layers on the network backend's Netlist, so that trees share its
// pipeliner, timing model, testbench and report. The arithmetic is the emulator's
// (emulator/TreeEmulator.h, built here with the layer's types): a split goes left when
// x_raw <= bound (its threshold as an integer bound in input LSBs), i.e. when bound - x
// is not negative; a tree is a mux tree over its leaves' constants; per class the terms
// [base, trees in model order] are reduced by the balanced adder tree, each sum cast to
// the result type.
#include "ops/trees/Rtl.h"

#include "emulator/TreeEmulator.h"
#include "ir/TreeEnsemble.h"

#include <map>
#include <utility>

namespace tachyon::verilog {

namespace {

struct TreeBuilder {
    RtlContext& c;
    const trees::TreeEmulator& q;
    const std::vector<Sig>& in;
    std::map<int64_t, Sig> constants = {};            // one node per distinct constant
    std::map<std::pair<int, int64_t>, Sig> splits = {};   // one comparison per (feature, bound)

    Sig constantOf(int64_t v) {
        auto it = constants.find(v);
        if (it != constants.end()) return it->second;
        return constants[v] = constant(c, v);
    }
    Sig goesLeft(int feature, int64_t bound) {   // bound - x: not negative when x goes left
        auto key = std::make_pair(feature, bound);
        auto it = splits.find(key);
        if (it != splits.end()) return it->second;
        return splits[key] = add(c, constantOf(bound), in[size_t(feature)], true);
    }
    // The value of tree t's subtree at `node`. Depth is at most trees::kMaxTreeDepth.
    Sig value(int t, int node) {
        const trees::Node& n = q.ensemble().trees[size_t(t)].nodes[size_t(node)];
        if (n.isLeaf()) return constantOf(q.leafRaw(t, node));
        const Sig key = goesLeft(n.feature, q.leftIfAtMost(t, node));
        return selectSign(c, key, value(t, n.left), value(t, n.right));
    }
};

}  // namespace

std::vector<Sig> treeEnsembleRtl(RtlContext& c, const Layer& l, const std::vector<Sig>& in, const FixedType& inT) {
    trees::TreeConfig types;
    types.input = inT;
    types.threshold = l.type("threshold");
    types.score = l.type("result");
    const trees::TreeEmulator q(*l.as<TreeEnsembleAttrs>().ensemble, types);
    TreeBuilder b{c, q, in};
    const trees::Ensemble& e = q.ensemble();
    std::vector<Sig> treeValue;
    for (size_t t = 0; t < e.trees.size(); ++t) treeValue.push_back(b.value(int(t), 0));
    std::vector<Sig> out;
    for (int k = 0; k < e.nClasses; ++k) {
        std::vector<Sig> terms = {b.constantOf(q.baseRaw(k))};
        for (int t : e.treesOfClass(k)) terms.push_back(treeValue[size_t(t)]);
        while (terms.size() > 1) {
            std::vector<Sig> next;
            for (size_t i = 0; i + 1 < terms.size(); i += 2)
                next.push_back(castTo(c, add(c, terms[i], terms[i + 1]), types.score.frac(), types.score));
            if (terms.size() % 2) next.push_back(terms.back());
            terms = std::move(next);
        }
        out.push_back(terms[0]);
    }
    return out;
}

std::vector<Sig> treeEnsembleLayerRtl(RtlContext& c, const Layer& l, const LoweredGraph&, const std::vector<Sig>& in,
                                      const FixedType& inT) {
    return treeEnsembleRtl(c, l, in, inT);
}

}  // namespace tachyon::verilog
