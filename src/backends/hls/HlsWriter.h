// The Vitis HLS C++ backend: writes a self-contained HLS project for a typed Graph and
// compiles/runs its C simulation with g++ (no vendor tools needed).
//
// Every number in the project comes from the lowered graph (lower/LoweredGraph.h: quantised
// weights, lookup tables, and its reference for the expected test outputs), the constants
// the emulator computes with, so the project computes exactly what the emulator computes.
// See docs/hls.md for the project layout, the kernels and the ReuseFactor rules.
#pragma once

#include "lower/LoweredGraph.h"
#include "ir/Graph.h"
#include "ir/Target.h"

#include <cstddef>
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

namespace tachyon::hls {

struct HlsOptions {
    std::string projectName = "myproject";  // top function name (a C++ identifier)
    Target target;                          // io type, part, clock (Config::target())
    size_t testRows = 1000;                 // rows in tb_data (random, including saturating values)
    uint64_t seed = 1;                      // for the test rows
    std::vector<double> testInputs;         // the user's rows instead (hls4ml's InputData); empty: random
};

// An analytic estimate of the generated design's latency and initiation interval, composed
// from the schedule each kernel is emitted with (docs/hls.md, "Latency estimate"). Vitis HLS
// is not run: this is an estimate, not a synthesis report.
struct LatencyEstimate {
    struct LayerFigure {
        std::string name, kind, detail;
        long long latency = 0, ii = 1;   // cycles
    };
    std::vector<LayerFigure> layers;     // graph order, Input layers excluded
    long long latency = 0;               // the layers one after another
    long long ii = 1;                    // the slowest layer's II (layers overlap across samples)
    double clockPeriodNs = 0;
    std::string text() const;            // a few lines for a terminal
};

// Writes the project into outDir (created if missing; existing files are overwritten) and
// returns its latency estimate (also in tachyon_project.json, "latency_estimate").
// Throws tachyon::Error naming the layer for configurations the backend cannot build
// (invalid ReuseFactor, unsupported strategy, averages wider than 62-bit integers).
LatencyEstimate writeProject(const Graph& g, const LoweredGraph& low, const std::string& outDir, const HlsOptions& opt);

// The same estimate without writing a project.
LatencyEstimate estimateLatency(const Graph& g, const LoweredGraph& low, const Target& target);

// Checks the schedule of every layer without writing anything (same errors as writeProject).
void validateSchedule(const Graph& g);

struct CsimResult {
    size_t rows = 0, mismatches = 0;
};

// Compiles the project's testbench with g++ -O1 against the bundled headers in
// <prj>/include, runs it on tb_data/input_raw.dat and compares its output with
// tb_data/expected_raw.dat. Prints a summary and the first mismatches to `log`.
// The compiler is $CXX when set, else g++. Throws tachyon::Error when it cannot build or run.
// apInclude (else $TACHYON_AP_INCLUDE when set) names a folder with Xilinx's own ap_int.h and
// ap_fixed.h to use instead of the bundled ones; an Error names it when they are missing.
CsimResult csim(const std::string& prjDir, std::ostream& log, const std::string& apInclude = "");

}  // namespace tachyon::hls
