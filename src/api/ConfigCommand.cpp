// `tachyon config MODEL -g model|type|name [-o FILE]`: the configuration template of a model
// (Python: config_from_model), written whole or not at all.
#include "api/Api.h"

#include "config/Config.h"
#include "frontends/Frontend.h"
#include "passes/Pass.h"
#include "util/AtomicOutput.h"
#include "util/Error.h"

#include <fstream>

namespace tachyon::api {

std::string configTemplateText(const std::string& model, const std::string& granularity, const std::string& weights) {
    if (granularity != "model" && granularity != "type" && granularity != "name")
        throw Error("granularity: '" + granularity + "' is not one of model, type, name");
    const Granularity gr = granularity == "model" ? Granularity::Model
                           : granularity == "type" ? Granularity::Type
                                                   : Granularity::Name;
    return configTemplate(loadModel(model, weights), gr);   // a tree model: its tree keys, whatever the granularity
}

std::string infoText(const std::string& model, const std::string& weights, const std::string& cfg,
                     std::vector<std::string>& warnings) {
    Graph g = loadModel(model, weights);
    if (cfg.empty()) return dump(g);
    const Config c = Config::load(cfg);
    warnings = runPipeline(g, c);
    return dump(g) + "defaults: " + c.defaultsSummary() + "\n";
}

void writeTextOutput(const std::string& path, const std::string& text, const std::string& option, bool force,
                     const std::vector<std::pair<std::string, std::string>>& inputs) {
    OutputRules rules;
    rules.force = force;
    rules.others = inputs;
    AtomicOutput out(path, option, OutputKind::File, rules);
    std::ofstream f(out.tmp());
    f << text;
    f.close();
    if (!f) throw Error(path + ": " + option + ": cannot write file (disk full?)");
    out.commit();
}

}  // namespace tachyon::api
