// Lookup-table backend: when a model's inputs together are only a few bits wide, the whole
// model (any graph the emulator runs: trees, small networks, both) is evaluated once for every
// input word and stored in a ROM read in one registered cycle.
//   address = {x_{n-1}, ..., x_1, x_0}      (input i in bits [i*Win +: Win], raw bits of the Input type)
//   word    = {y_{k-1}, ..., y_1, y_0}      (output k in bits [k*Wout +: Wout], raw bits of the output type)
#pragma once

#include "lower/LoweredGraph.h"
#include "ir/Graph.h"
#include "ir/Target.h"

#include <string>

namespace tachyon::lut {

struct LutOptions {
    std::string projectName = "myproject";
    Target target;           // recorded in the manifest (clock, part)
    int maxInputBits = 20;   // the configuration's LutMaxInputBits
};

// Fills `dir` (created if needed) with rtl/<top>.v, the ROM as .mem and .coe, the shared
// Verilator testbench with every address as its rows, and tachyon_project.json. Throws tachyon::Error naming
// the model when the inputs are wider than maxInputBits or the word wider than 64 bits.
void writeProject(const Graph& g, const LoweredGraph& low, const std::string& dir, const LutOptions& opt);

}  // namespace tachyon::lut
