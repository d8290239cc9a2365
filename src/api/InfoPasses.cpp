// `tachyon info --passes` (api::infoPassesText): what each pass did to the graph, for people
// who add a pass or wonder where a layer went.
#include "api/Api.h"

#include "config/Config.h"
#include "frontends/Frontend.h"
#include "passes/Pass.h"

#include <sstream>

namespace tachyon::api {

std::string infoPassesText(const std::string& model, const std::string& weights, const std::string& cfg,
                           std::vector<std::string>& warnings) {
    Graph g = readModel(model, weights);
    std::ostringstream os;
    os << "== frontend: " << model << "\n" << dump(g);
    std::string previous = dump(g);
    size_t step = 0;
    const size_t total = importPasses().size() + allPasses().size();
    const PassObserver show = [&](const PassInfo& p, const Graph& after) {
        const std::string table = dump(after);
        os << "\n== pass " << ++step << "/" << total << ": " << p.name
           << (table == previous ? " (unchanged)" : " (changed)") << "\n   " << p.help << "\n"
           << table;
        previous = table;
    };
    runImportPasses(g, show);
    // The configured pipeline needs a configuration: the user's, or the one `tachyon convert`
    // uses without -c (the model-granularity template).
    const Config c = cfg.empty() ? Config::parse(configTemplate(g, Granularity::Model, false), "<default configuration>")
                                 : Config::load(cfg);
    warnings = runPipeline(g, c, show);
    return os.str();
}

}  // namespace tachyon::api
