// fold_batchnorm: a BatchNormalization that directly follows a Dense layer (with no
// activation in between, and nothing else reading the Dense output) is folded into the
// Dense weights: w'_ij = w_ij * scale_j, b'_j = b_j * scale_j + shift_j. In real
// arithmetic this is the same function; it removes a multiplier stage from the firmware.
// A BatchNormalization named in the configuration's LayerName section is kept, since
// the user asked for its own types.
#include "passes/Pass.h"

namespace tachyon {

void foldBatchNorm(Graph& g, const Config& cfg) {
    for (size_t k = 1; k < g.layers.size(); ++k) {
        Layer& bn = g.layers[k];
        if (bn.kind != LayerKind::BatchNorm || cfg.byName.count(bn.name)) continue;
        Layer* dense = g.find(bn.input);
        if (!dense || dense->kind != LayerKind::Dense || dense->activation != ActKind::Linear) continue;
        if (g.consumers(dense->name).size() != 1) continue;
        for (int i = 0; i < dense->nIn; ++i)
            for (int j = 0; j < dense->nOut; ++j) dense->weight[size_t(i) * dense->nOut + j] *= bn.scale[size_t(j)];
        for (int j = 0; j < dense->nOut; ++j)
            dense->bias[size_t(j)] = dense->bias[size_t(j)] * bn.scale[size_t(j)] + bn.shift[size_t(j)];
        // Readers of the BatchNorm now read the Dense layer.
        const std::string bnName = bn.name, denseName = dense->name;
        for (Layer& l : g.layers)
            if (l.input == bnName) l.input = denseName;
        g.layers.erase(g.layers.begin() + long(k));
        --k;
    }
}

}  // namespace tachyon
