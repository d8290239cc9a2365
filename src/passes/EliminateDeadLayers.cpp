// eliminate_dead_layers: keeps only the layers the model output (the last layer) depends
// on. Frontends map every node or layer of the file, and some of those feed nothing the
// output needs: an auxiliary training head, a reshape view or a packed projection that a
// later handler replaced (ONNX Slice of a packed attention projection), an unused second
// output. Removing them here keeps every frontend free of that bookkeeping and every
// later stage free of layers that compute nothing the user sees.
#include "passes/Pass.h"
#include "util/Error.h"

#include <set>

namespace tachyon {

void eliminateDeadLayers(Graph& g, const Config&) {
    if (g.layers.empty()) return;
    std::set<std::string> needed{g.layers.back().name};
    for (size_t k = g.layers.size(); k-- > 0;)
        if (needed.count(g.layers[k].name))
            for (const auto& in : g.layers[k].inputs) needed.insert(in);
    std::vector<Layer> kept;
    for (auto& l : g.layers)
        if (needed.count(l.name)) kept.push_back(std::move(l));
    g.layers = std::move(kept);
    if (g.layers.size() < 2) throw Error(g.sourceFile + ": the model has no layers after its input");
}

}  // namespace tachyon
