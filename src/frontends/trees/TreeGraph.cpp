// A tree model as a layer graph: Input [features] -> TreeEnsemble [classes]. From here
// on a tree ensemble is a layer like any other: configured by the normal Config (its
// types are precision variables), emulated by the TreeEnsemble kernel, and free to sit
// after or before other layers.
#include "frontends/Frontend.h"
#include "frontends/GraphBuilder.h"
#include "frontends/trees/Frontends.h"

#include <filesystem>
#include <memory>

namespace tachyon {

Graph treeGraph(trees::Ensemble e, const std::string& name) {
    trees::verify(e);
    GraphBuilder b(name, e.sourceFile);
    const std::string in = b.input("input", {e.nFeatures});
    TreeEnsembleAttrs a;
    a.ensemble = std::make_shared<const trees::Ensemble>(std::move(e));
    const std::string out = b.add("trees", LayerKind::TreeEnsemble, {in}, a);
    return b.finish(out);
}

Graph loadTreeModel(const std::string& path) {
    return treeGraph(trees::readTreeModel(path), std::filesystem::path(path).stem().string());
}

}  // namespace tachyon
