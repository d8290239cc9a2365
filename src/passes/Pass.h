// Passes transform the IR in place. Each pass lives in its own file with its help text
// and one entry point; `runPipeline` runs them in order and verifies the graph between.
#pragma once

#include "config/Config.h"
#include "ir/Graph.h"

#include <string>
#include <vector>

namespace tachyon {

struct PassInfo {
    const char* name;
    const char* help;
    void (*run)(Graph&, const Config&);
};

void foldBatchNorm(Graph& g, const Config& cfg);
void assignPrecision(Graph& g, const Config& cfg);
void fuseActivations(Graph& g, const Config& cfg);

// In pipeline order.
const std::vector<PassInfo>& allPasses();

// Runs every pass, verifying after each; the result is ready for the emulator and backends.
void runPipeline(Graph& g, const Config& cfg);

// Smallest signed type that holds every partial sum of layer `l` exactly, for inputs of
// type `in` (interval arithmetic over the quantised weights). Used by `accum: auto`.
FixedType autoAccumulator(const Layer& l, const FixedType& in);

}  // namespace tachyon
