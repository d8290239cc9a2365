// fuse_activation: a linear or ReLU activation that follows a Dense layer is merged into
// it when that is exact: the activation's result type equals the Dense result type (so
// the activation's own cast is the identity) and nothing else reads the Dense output.
// Linear activations anywhere are removed under the same condition. Fewer layers means
// fewer registers and casts in the generated firmware, with identical numbers.
#include "passes/Pass.h"

namespace tachyon {

void fuseActivations(Graph& g, const Config&) {
    for (size_t k = 1; k < g.layers.size(); ++k) {
        Layer& act = g.layers[k];
        if (act.kind != LayerKind::Activation) continue;
        if (act.activation != ActKind::Linear && act.activation != ActKind::ReLU) continue;
        Layer* prev = g.find(act.input);
        if (!prev || prev->kind == LayerKind::Input || g.consumers(prev->name).size() != 1) continue;
        if (!act.hasType("result") || !prev->hasType("result") || act.type("result") != prev->type("result")) continue;
        if (act.activation == ActKind::ReLU) {
            if (prev->kind != LayerKind::Dense || prev->activation != ActKind::Linear) continue;
            prev->activation = ActKind::ReLU;
        }
        const std::string actName = act.name, prevName = prev->name;
        for (Layer& l : g.layers)
            if (l.input == actName) l.input = prevName;
        g.layers.erase(g.layers.begin() + long(k));
        --k;
    }
}

}  // namespace tachyon
