// fuse_activation: a linear or ReLU activation that follows a Dense or Conv layer is
// merged into it when that is exact: the activation's result type equals the layer's
// result type (so the activation's own cast is the identity) and nothing else reads the
// layer's output. Linear activations anywhere are removed under the same condition.
// Fewer layers means fewer registers and casts in the generated firmware, with identical
// numbers.
#include "passes/Pass.h"

namespace tachyon {

void fuseActivations(Graph& g, const Config&) {
    for (size_t k = 1; k < g.layers.size(); ++k) {
        Layer& act = g.layers[k];
        if (act.kind != LayerKind::Activation) continue;
        const ActKind kind = act.activation();
        if (kind != ActKind::Linear && kind != ActKind::ReLU) continue;
        Layer* prev = g.find(act.input());
        if (!prev || prev->kind == LayerKind::Input || g.consumers(prev->name).size() != 1) continue;
        if (!act.hasType("result") || !prev->hasType("result") || act.type("result") != prev->type("result")) continue;
        if (kind == ActKind::ReLU) {
            if (!isMac(*prev) || prev->activation() != ActKind::Linear) continue;
            if (prev->kind == LayerKind::Dense) prev->as<DenseAttrs>().activation = ActKind::ReLU;
            else prev->as<ConvAttrs>().activation = ActKind::ReLU;
        }
        const std::string actName = act.name, prevName = prev->name;
        for (Layer& l : g.layers)
            for (auto& in : l.inputs)
                if (in == actName) in = prevName;
        g.layers.erase(g.layers.begin() + long(k));
        --k;
    }
}

}  // namespace tachyon
