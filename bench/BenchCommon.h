// Shared by the emulator benchmarks: the model loaded and configured as the CLI does,
// random input rows, wall time since a point, and this process's CPU time (on a shared
// machine wall time also counts other processes' turns on the core, so the single-thread
// figures are reported from CPU time).
#pragma once

#include "config/Config.h"
#include "frontends/Frontend.h"
#include "passes/Pass.h"

#include <chrono>
#include <random>
#include <string>
#include <time.h>
#include <vector>

namespace tachyon::bench {

using Clock = std::chrono::steady_clock;

inline double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

inline double cpuSeconds() {
    timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

// The model with the passes run under `cfgPath` (the defaults when empty).
inline Graph configuredModel(const std::string& model, const std::string& cfgPath) {
    Graph g = loadModel(model);
    runPipeline(g, cfgPath.empty() ? Config::defaults() : Config::load(cfgPath));
    return g;
}

// `n` standard-normal values from a fixed seed: the same rows on every run.
inline std::vector<double> normalRows(size_t n) {
    std::mt19937_64 rng(1);
    std::normal_distribution<double> nd(0, 1);
    std::vector<double> x(n);
    for (double& v : x) v = nd(rng);
    return x;
}

}  // namespace tachyon::bench
