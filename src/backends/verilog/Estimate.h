// Resources of a scheduled netlist counted before synthesis, for `tachyon report
// --estimate`: seconds instead of Yosys' minutes, for quick iterations on a design.
//
// Flip-flops are exact for what the module declares (every pipeline register bit and the
// valid pipeline); Yosys may still drop constant or duplicate bits. LUTs are a model: an
// adder of the shift-add graph takes one LUT per bit of its carry chain (adderBits), any
// other logic node one per result bit, a product of two variables half a LUT per partial
// product, a ROM one LUT6 per 64 entries per value bit; wiring (shifts, slices) none.
// Yosys merges adders into carry-save trees and packs narrow logic, so the LUT figure is
// an order of magnitude to compare designs by, not a synthesis result (docs/verilog.md).
#pragma once

#include "backends/verilog/Netlist.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

namespace tachyon::verilog {

struct ResourceEstimate {
    int64_t luts = 0;
    int64_t ffs = 0;            // every declared register bit (pipeline, valid, line buffers, counters)
    int64_t passThroughFfs = 0; // of which registers that only carry a value to a later stage
    int cycles = 0;             // latency (the caller adds a streaming design's fill time)
    int logicStages = 0;        // stages holding logic (the rest only register values)
};

// After Netlist::schedule. `verilog` is the emitted module: its `reg` declarations give the
// flip-flops exactly, also those a streaming design's line buffers, counters and collectors
// declare inside their nodes.
ResourceEstimate estimateResources(const Netlist& nl, const std::string& verilog);

// Bits of every `reg` the Verilog text declares (`reg [signed] [H:L] a, b = 0;`).
int64_t declaredRegisterBits(const std::string& verilog);

nlohmann::ordered_json toJson(const ResourceEstimate& e);
// What `tachyon report --estimate` prints for a project's tachyon_project.json; throws
// tachyon::Error naming the file when it holds no estimate (a project from an older tachyon).
std::string estimateReport(const std::string& prjDir);

}  // namespace tachyon::verilog
