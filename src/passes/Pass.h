// Passes transform the IR in place. Each pass lives in its own file with its help text
// and one entry point; `runPipeline` runs them in order and verifies the graph between.
#pragma once

#include "config/Config.h"
#include "ir/Graph.h"

#include <functional>
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
void mergeBatchNormThreshold(Graph& g, const Config& cfg);
void fuseActivations(Graph& g, const Config& cfg);
void eliminateDeadLayers(Graph& g, const Config& cfg);

// Called after each pass with the pass and the graph it left (`tachyon info --passes`).
using PassObserver = std::function<void(const PassInfo&, const Graph&)>;

// The import passes (passes/Import.cpp): clean-ups that need no configuration, run by
// loadModel on every frontend's graph before anything else reads it.
const std::vector<PassInfo>& importPasses();
void runImportPasses(Graph& g, const PassObserver& afterEach = {});

// LayerName entries that name no layer of `g`: an error in Tachyon mode (a typo); in
// hls4ml mode one warning each, for the caller to report, as hls4ml ignores them (its
// templates name layers its optimizers remove, such as `fc1_linear`).
std::vector<std::string> unusedLayerNames(const Graph& g, const Config& cfg);

// In pipeline order.
const std::vector<PassInfo>& allPasses();

// Runs every pass, verifying after each; the result is ready for the emulator and backends.
// Returns the warnings about the configuration against this graph (unusedLayerNames) for
// the caller to report: the CLI prints them, the Python module issues them.
std::vector<std::string> runPipeline(Graph& g, const Config& cfg, const PassObserver& afterEach = {});

// Smallest signed type that holds every partial sum of layer `l` exactly, for inputs of
// type `in` (interval arithmetic over the quantised weights). Used by `accum: auto`.
FixedType autoAccumulator(const Layer& l, const FixedType& in);

// GarNet (docs/semantics.md, "GarNet"): hls4ml's type for a constant array with these
// values, and the default intermediate types (distance, edge_weight, edge_weight_aggr,
// aggr, norm) for a layer whose vertex data has type `in`.
FixedType garnetConstantType(const std::vector<double>& values);
std::vector<std::pair<std::string, FixedType>> garnetDefaultTypes(const GarNetAttrs& a, const FixedType& in);

}  // namespace tachyon
