// A trigger menu (docs/trigger.md): algorithms, each a model with its precision
// configuration, a score expression, an optional fixed threshold and cuts on the event's
// columns; the menu fires on their OR. Paths are relative to the menu file.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace tachyon::trigger {

struct AlgorithmSpec {
    std::string name, model, config;   // config "" = Tachyon's defaults
    std::string score = "out[0]";
    std::optional<double> threshold;   // none: chosen for the target rate
    std::vector<std::string> cuts;
    int inputBegin = 0, inputEnd = -1;   // the event columns the model reads ("inputs: 0:16"); -1 = all
    std::string report;   // a Verilog project synthesised by `tachyon report`: measured resources
};

struct Menu {
    std::string path;
    std::optional<int> bunches;
    std::vector<std::string> columns;   // names of the event columns, for cuts and scores
    std::vector<AlgorithmSpec> algorithms;
};

// Throws tachyon::Error "<menu>: <key>: <reason>" for missing or unknown keys and
// duplicate algorithm names.
Menu readMenu(const std::string& path);

}  // namespace tachyon::trigger
