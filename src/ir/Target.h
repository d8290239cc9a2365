// What a model is built for, as opposed to what it computes: how the top function moves
// data (io type), the FPGA part, the clock, and the hls4ml backend name the configuration
// recorded. The configuration maps hls4ml's spellings ("io_stream", "12.5%") onto it
// (config/Config.h, Config::target()); backends read only these typed fields.
#pragma once

#include <string>

namespace tachyon {

enum class IoType {
    Parallel,   // hls4ml io_parallel: every tensor is one array, the top function is pipelined
    Stream,     // hls4ml io_stream: tensors are FIFOs of one pixel (all channels) per beat
};

// hls4ml's name ("io_parallel", "io_stream"), as written into projects and manifests.
std::string toString(IoType io);

struct Target {
    IoType io = IoType::Parallel;
    std::string part = "xcvu13p-flga2577-2-e";
    double clockPeriodNs = 5.0;
    // The clock uncertainty as the configuration wrote it, for build_prj.tcl: a duration in ns
    // ("0.5") or a share of the period ("12.5%"); empty = the tool's default.
    std::string clockUncertainty;
    std::string backend = "Vivado";   // hls4ml Backend (recorded; Tachyon writes HLS or Verilog)
    bool registerInputs = false;      // Verilog: a register stage on the input bus before any logic (RegisterInputs)

    bool streaming() const { return io == IoType::Stream; }
    // The uncertainty in ns (0 when none was given).
    double clockUncertaintyNs() const;
};

}  // namespace tachyon
