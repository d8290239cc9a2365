// The `tachyon trigger` and `tachyon trigger scout` subcommands (tools/main.cpp parses the
// options into these structs).
#pragma once

#include <string>
#include <vector>

namespace tachyon::trigger {

struct TriggerArgs {
    std::string menu, background, out, targetRate, latencyBudget, device = "VU9P", backend = "hls";
    std::vector<std::string> signals;   // NAME=FILE[:DATASET]
    std::vector<std::string> reports;   // ALGORITHM=PROJECT: measured resources (overrides the menu's report)
    int bunches = 0;                    // 0: the menu's, else 2,544
    bool flat40 = false, force = false, quiet = false, plots = true;
    int threads = 1;
};
int cmdTrigger(const TriggerArgs& args);

}  // namespace tachyon::trigger

namespace tachyon::trigger {

struct ScoutArgs {
    std::string rate = "1MHz", arrivals = "poisson", filling, objects = "1", objectsFrom, batches = "1";
    int bunches = 2544, objectsColumn = 0, workers = 1, seed = 1;
    std::string maxDelay, duration = "10ms", out;
    long long buffer = 0;
    // Compute time: measured on the emulator (model), an FPGA pipeline (--fpga: the model's
    // HLS estimate, or --ii-cycles/--latency-cycles/--clock-ns), or a fixed --service time.
    std::string model, config, service, perObject, perf;   // perf: `tachyon perf --json` output
    bool fpga = false, floatMode = false, force = false, plots = true;
    long long iiCycles = 0, latencyCycles = 0;
    double clockNs = 0;
};
int cmdScout(const ScoutArgs& args);

}  // namespace tachyon::trigger
