#include "trigger/Command.h"

#include "trigger/Study.h"
#include "util/AtomicOutput.h"
#include "util/Error.h"

#include <filesystem>
#include <iomanip>
#include <iostream>

namespace fs = std::filesystem;

namespace tachyon::trigger {

namespace {

std::pair<std::string, SampleSpec> parseSignal(const std::string& text) {
    const size_t eq = text.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == text.size())
        throw Error("--signal: '" + text + "': expected NAME=FILE[:DATASET]");
    const std::string name = text.substr(0, eq);
    if (name == "background" || name.find_first_of(",/ ") != std::string::npos)
        throw Error("--signal: '" + name + "': a signal name may not be 'background' nor hold ',', '/' or spaces");
    return {name, parseSampleSpec(text.substr(eq + 1))};
}

// --report ALGORITHM=PROJECT: the Verilog project `tachyon report` synthesised for it.
void applyReport(Menu& menu, const std::string& text) {
    const size_t eq = text.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == text.size())
        throw Error("--report: '" + text + "': expected ALGORITHM=PROJECT (a Verilog project after `tachyon report`)");
    const std::string name = text.substr(0, eq), prj = text.substr(eq + 1);
    std::error_code ec;
    if (!fs::is_directory(prj, ec)) throw Error("--report " + name + ": " + prj + ": no such project folder");
    for (AlgorithmSpec& a : menu.algorithms)
        if (a.name == name) {
            a.report = prj;
            return;
        }
    std::string known;
    for (const AlgorithmSpec& a : menu.algorithms) known += (known.empty() ? "" : ", ") + a.name;
    throw Error("--report: the menu has no algorithm '" + name + "' (it has " + known + ")");
}

}  // namespace

int cmdTrigger(const TriggerArgs& args) {
    // Every argument is checked before the (long) scoring starts.
    StudyOptions opt;
    if (!args.targetRate.empty()) opt.targetRateHz = parseRateHz(args.targetRate);
    if (!args.latencyBudget.empty()) opt.latencyBudgetNs = parseLatencyBudgetNs(args.latencyBudget);
    if (args.bunches > 0) opt.bunches = args.bunches;
    opt.flat40 = args.flat40;
    opt.device = args.device;
    opt.backend = args.backend;
    deviceByName(opt.device);
    std::vector<std::pair<std::string, SampleSpec>> signals;
    for (const auto& s : args.signals) {
        signals.push_back(parseSignal(s));
        for (size_t i = 0; i + 1 < signals.size(); ++i)
            if (signals[i].first == signals.back().first) throw Error("--signal: '" + signals.back().first + "' given twice");
    }
    const SampleSpec bg = parseSampleSpec(args.background);
    std::vector<std::string> inputs{args.menu, bg.file};
    for (const auto& s : signals) inputs.push_back(s.second.file);
    Menu menu = readMenu(args.menu);
    for (const std::string& r : args.reports) applyReport(menu, r);
    for (const auto& a : menu.algorithms) inputs.push_back(a.model), inputs.push_back(a.config), inputs.push_back(a.report);
    OutputRules rules;
    for (const auto& in : inputs) rules.others.push_back({"input", in});
    rules.force = args.force;
    { AtomicOutput probe(args.out, "-o", OutputKind::Study, rules); }   // fails early on a bad -o
    std::error_code ec;
    if (!fs::is_regular_file(bg.file, ec)) throw Error(bg.file + ": --background: no such file");
    for (const auto& [name, spec] : signals)
        if (!fs::is_regular_file(spec.file, ec)) throw Error(spec.file + ": --signal " + name + ": no such file");

    const Scorer scorer(menu);
    std::ostream* log = args.quiet ? nullptr : &std::cerr;
    if (log) *log << "background: " << bg.text() << "\n";
    const SampleScores background = scorer.score(bg, "background", log, 65536, args.threads);
    std::vector<SampleScores> sig;
    for (const auto& [name, spec] : signals) {
        if (log) *log << name << ": " << spec.text() << "\n";
        sig.push_back(scorer.score(spec, name, log, 65536, args.threads));
    }
    const StudyResult r = summarise(scorer, background, sig, opt);
    writeStudy(r, args.out, inputs, args.force, args.plots, std::cerr);

    std::cout << std::setprecision(6);
    for (const auto& a : r.summary["algorithms"]) {
        std::cout << a["name"].get<std::string>() << ": threshold " << a["threshold"].get<double>() << ", rate "
                  << a["rate_hz"].get<double>() << " +- " << a["rate_err_hz"].get<double>() << " Hz (float "
                  << a["rate_float_hz"].get<double>() << "), flips " << a["flips"]["count"].get<size_t>();
        for (auto it = a["efficiency"].begin(); it != a["efficiency"].end(); ++it)
            std::cout << ", eff(" << it.key() << ") " << it.value().get<double>();
        std::cout << "\n  firmware: " << a["verdict"].get<std::string>() << ": "
                  << (a["fits_budget"].get<bool>() ? "fits" : "DOES NOT FIT") << "\n";
    }
    std::cout << "menu: " << r.summary["menu"]["rate_hz"].get<double>() << " Hz\n";
    std::cout << "wrote " << args.out << "/summary.json\n";
    return 0;
}

}  // namespace tachyon::trigger
