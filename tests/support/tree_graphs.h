// Building graphs that mix a TreeEnsemble with other layers, for the tree-layer tests:
// the Input "x", reproducible Dense layers and the ensemble's layer "bdt".
#pragma once

#include "ir/Graph.h"
#include "ir/TreeEnsemble.h"

#include <memory>
#include <random>
#include <string>

namespace test_support {

inline tachyon::Layer inputLayer(int n) {
    tachyon::Layer l;
    l.name = "x";
    l.kind = tachyon::LayerKind::Input;
    l.shape = {n};
    return l;
}

// A Dense layer `name` reading `in`, weights uniform in +-1 and biases in +-0.5 from `seed`.
inline tachyon::Layer randomDenseLayer(const std::string& name, const std::string& in, int nIn, int nOut,
                                       unsigned seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<double> u(-1.0, 1.0);
    tachyon::Layer l;
    l.name = name;
    l.kind = tachyon::LayerKind::Dense;
    l.inputs = {in};
    l.shape = {nOut};
    l.attrs = tachyon::DenseAttrs{nIn, nOut, tachyon::ActKind::Linear};
    for (int i = 0; i < nIn * nOut; ++i) l.params["weight"].push_back(u(rng));
    for (int j = 0; j < nOut; ++j) l.params["bias"].push_back(0.5 * u(rng));
    return l;
}

// The ensemble `e` as the layer "bdt" reading `in`.
inline tachyon::Layer treeEnsembleLayer(const tachyon::trees::Ensemble& e, const std::string& in) {
    tachyon::Layer l;
    l.name = "bdt";
    l.kind = tachyon::LayerKind::TreeEnsemble;
    l.inputs = {in};
    l.shape = {e.nClasses};
    l.attrs = tachyon::TreeEnsembleAttrs{std::make_shared<const tachyon::trees::Ensemble>(e)};
    return l;
}

}  // namespace test_support
