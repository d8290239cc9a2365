// The `tachyon trigger` and `tachyon trigger scout` subcommands (tools/main.cpp parses the
// options into these structs).
#pragma once

#include <string>
#include <vector>

namespace tachyon::trigger {

struct TriggerArgs {
    std::string menu, background, out, targetRate, latencyBudget, device = "VU9P";
    std::vector<std::string> signals;   // NAME=FILE[:DATASET]
    int bunches = 0;                    // 0: the menu's, else 2,544
    bool flat40 = false, force = false, quiet = false, plots = true;
    int threads = 1;
};
int cmdTrigger(const TriggerArgs& args);

}  // namespace tachyon::trigger
