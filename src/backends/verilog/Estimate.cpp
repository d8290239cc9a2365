#include "backends/verilog/Estimate.h"

#include "backends/ProjectManifest.h"
#include "util/Error.h"

#include <cmath>
#include <cstdlib>
#include <regex>
#include <set>
#include <sstream>

namespace tachyon::verilog {

namespace {

// The LUTs of one node under the model of Estimate.h.
double lutsOf(const Node& n) {
    if (n.luts >= 0) return n.luts;
    const bool wiring = n.ops.empty() || (n.delay == 0.0 && !n.registered);
    return wiring ? 0.0 : double(n.width);
}

}  // namespace

int64_t declaredRegisterBits(const std::string& verilog) {
    static const std::regex decl(R"(^\s*reg\s+(?:signed\s+)?(?:\[(\d+):(\d+)\]\s*)?([^;]+);)");
    static const std::regex opens(R"(^\s*(?:function|task)\b)"), closes(R"(^\s*(?:endfunction|endtask)\b)");
    int64_t bits = 0;
    bool inSubprogram = false;   // a function's `reg`s are its combinational temporaries
    std::istringstream is(verilog);
    for (std::string line; std::getline(is, line);) {
        if (std::regex_search(line, opens)) inSubprogram = true;
        if (std::regex_search(line, closes)) inSubprogram = false;
        std::smatch m;
        if (inSubprogram || !std::regex_search(line, m, decl)) continue;
        const int64_t width = m[1].matched ? std::abs(std::stoll(m[1]) - std::stoll(m[2])) + 1 : 1;
        int64_t names = 1;   // `a, b = 0, c`: one register per comma-separated name
        for (char ch : std::string(m[3])) names += ch == ',';
        bits += width * names;
    }
    return bits;
}

ResourceEstimate estimateResources(const Netlist& nl, const std::string& verilog) {
    ResourceEstimate e;
    e.cycles = nl.latency();
    const std::vector<int> copies = nl.registerCopies();
    double luts = 0;
    std::set<int> stagesWithLogic;
    for (Sig s = 0; s < nl.size(); ++s) {
        const Node& n = nl.node(s);
        const double l = lutsOf(n);
        luts += l;
        if (l > 0) stagesWithLogic.insert(n.stage);
        e.passThroughFfs += int64_t(n.width) * std::max(0, copies[size_t(s)] - 1);
    }
    e.ffs = declaredRegisterBits(verilog);
    e.luts = int64_t(std::llround(luts));
    e.logicStages = int(stagesWithLogic.size());
    return e;
}

nlohmann::ordered_json toJson(const ResourceEstimate& e) {
    return {{"luts", e.luts},
            {"ffs", e.ffs},
            {"pass_through_ffs", e.passThroughFfs},
            {"cycles", e.cycles},
            {"logic_stages", e.logicStages}};
}

std::string estimateReport(const std::string& prjDir) {
    const backend::ProjectManifest m = backend::readProjectManifest(prjDir, "report", /*requireRtl=*/true);
    const nlohmann::json& j = m.json;
    if (!j.contains("estimate") || !j["estimate"].is_object())
        throw Error(prjDir + "/tachyon_project.json: no resource estimate (written by an older tachyon? convert the "
                             "model again, or run `tachyon report` without --estimate for Yosys)");
    const auto& e = j["estimate"];
    const double clock = j.value("clock_period_ns", 5.0);
    const int cycles = j.value("latency_cycles", e.value("cycles", 0));
    std::ostringstream os;
    os << "estimate from the netlist before synthesis (no Yosys; `tachyon report` without --estimate "
          "synthesises):\n"
       << "  LUTs          ~" << e.value("luts", int64_t(0)) << "  (model: one per adder carry bit; Yosys "
          "differs, docs/verilog.md)\n"
       << "  FFs           " << e.value("ffs", int64_t(0)) << "  (register bits the module declares; of the pipeline's, "
       << e.value("pass_through_ffs", int64_t(0)) << " only carry a value past a stage)\n"
       << "  latency       " << cycles << " cycles = " << cycles * clock << " ns at " << clock << " ns ("
       << e.value("logic_stages", 0) << " stages hold logic)\n";
    if (j.contains("stage_estimates_ns")) {
        double worst = 0;
        for (double v : j["stage_estimates_ns"]) worst = std::max(worst, v);
        os << "  worst stage   ~" << worst << " ns of logic by the scheduler's delay model\n";
    }
    return os.str();
}

}  // namespace tachyon::verilog
