// The import stage: a frontend's graph (readModel) through the import passes, which need no
// configuration and run before anything else reads the graph (config templates, `info`,
// the configured pipeline).
#include "frontends/Frontend.h"
#include "passes/Pass.h"
#include "util/Error.h"

namespace tachyon {

const std::vector<PassInfo>& importPasses() {
    static const std::vector<PassInfo> passes = {
        {"eliminate_dead_layers",
         "Remove the layers the model output does not depend on (auxiliary heads, replaced views and projections).",
         eliminateDeadLayers},
    };
    return passes;
}

void runImportPasses(Graph& g, const PassObserver& afterEach) {
    static const Config kNoConfiguration;   // import passes read none
    for (const PassInfo& p : importPasses()) {
        p.run(g, kNoConfiguration);
        try {
            verify(g);
        } catch (const Error& e) {
            throw Error(g.sourceFile + ": after pass " + p.name + ": " + e.what());
        }
        if (afterEach) afterEach(p, g);
    }
}

Graph loadModel(const std::string& path, const std::string& weightsPath) {
    Graph g = readModel(path, weightsPath);
    runImportPasses(g);
    return g;
}

}  // namespace tachyon
