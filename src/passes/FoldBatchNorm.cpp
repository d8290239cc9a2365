// fold_batchnorm: a BatchNormalization that directly follows a Dense or Conv layer (with
// no activation in between, and nothing else reading that layer's output) is folded into
// its weights: w'_ij = w_ij * scale_j, b'_j = b_j * scale_j + shift_j. In real arithmetic
// this is the same function; it removes a multiplier stage from the firmware. A
// BatchNormalization named in the configuration's LayerName section is kept, since the
// user asked for its own types.
#include "passes/Pass.h"

namespace tachyon {

void foldBatchNorm(Graph& g, const Config& cfg) {
    for (size_t k = 1; k < g.layers.size(); ++k) {
        Layer& bn = g.layers[k];
        if (bn.kind != LayerKind::BatchNorm || cfg.byName.count(bn.name)) continue;
        Layer* mac = g.find(bn.input());
        if (!mac || !isMac(*mac) || mac->activation() != ActKind::Linear) continue;
        if (mac->trained.count("weight")) continue;   // quantisation-aware weights stay as trained
        if (g.consumers(mac->name).size() != 1) continue;
        const auto [nIn, nOut] = macDims(*mac);
        const auto& scale = bn.param("scale");
        const auto& shift = bn.param("shift");
        auto& w = mac->param("weight");
        auto& b = mac->param("bias");
        for (int i = 0; i < nIn; ++i)
            for (int j = 0; j < nOut; ++j) w[size_t(i) * nOut + j] *= scale[size_t(j)];
        for (int j = 0; j < nOut; ++j) b[size_t(j)] = b[size_t(j)] * scale[size_t(j)] + shift[size_t(j)];
        // Readers of the BatchNorm now read the Dense/Conv layer.
        const std::string bnName = bn.name, macName = mac->name;
        for (Layer& l : g.layers)
            for (auto& in : l.inputs)
                if (in == bnName) in = macName;
        g.layers.erase(g.layers.begin() + long(k));
        --k;
    }
}

}  // namespace tachyon
