// Verilog backend: a fully unrolled, pipelined Verilog-2005 module for dense-family
// networks, its Verilator testbench, RTL simulation against the emulator and a Yosys
// resource report. See docs/verilog.md.
#pragma once

#include "backends/verilog/Cmvm.h"
#include "backends/verilog/Estimate.h"
#include "backends/verilog/Timing.h"

#include "lower/LoweredGraph.h"
#include "ir/Graph.h"
#include "ir/Target.h"

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

namespace tachyon::verilog {

struct VerilogOptions {
    std::string projectName = "myproject";
    Target target;             // clock (stage placement), RegisterInputs, part (Config::target())
    std::string cmvm = "da";   // "da": shift-add adder graphs with CSE | "naive": one `*` per weight
    int stages = -1;           // pipeline register stages; -1: placed from the clock period
    size_t testRows = 1000;    // rows of sim/input_raw.dat and sim/expected_raw.dat
    uint64_t seed = 1;
    std::vector<double> testInputs;   // the user's rows instead (float values); empty: random
};

// Writes PRJ/rtl/<top>.v, PRJ/sim/{tb.cpp,input_raw.dat,expected_raw.dat} and
// PRJ/tachyon_project.json into outDir (created if needed). Throws tachyon::Error
// naming every layer this backend cannot build.
void writeProject(const Graph& g, const LoweredGraph& low, const std::string& outDir, const VerilogOptions& opt);

// What writeProject generates, without touching the disk (for tests and benchmarks).
struct GeneratedRtl {
    std::string verilog;
    int latencyCycles = 0;
    int inputWidth = 0, outputWidth = 0;   // bits per value on the buses
    double criticalPathNs = 0.0;           // estimate, unpipelined
    // Streaming designs (spatial input): the raster timing of the input pixels, the
    // initiation interval (cycles between frames) and the latency from a frame's first
    // input pixel to out_valid (latencyCycles).
    bool streaming = false;
    int pixelHeight = 1, pixelWidth = 1, channels = 0;
    int64_t rowStep = 1, colStep = 1, intervalCycles = 1;
    int pipelineStages = 0;                // register stages of the combinational logic
    std::vector<LayerAdders> adders;       // shift-add adders per layer (CSE and CSD-only)
    // The scheduler's delay estimate per register stage, index k - 1 for the logic that
    // ends at stage k's registers (stage 1: the input registers; the last: the output
    // registers to the output port), as `report` numbers them.
    std::vector<double> stageEstimatesNs;
    ResourceEstimate estimate;             // LUTs, FFs and cycles before synthesis (Estimate.h)
};
GeneratedRtl generateRtl(const Graph& g, const LoweredGraph& low, const VerilogOptions& opt);

// --- Verilator testbench shared with other Verilog generators (backends/lut) ---
// The module must have ports: clk, in_valid, in_data[inputs*inputWidth-1:0],
// out_valid, out_data[outputs*outputWidth-1:0]; value k of a bus sits at bits
// [k*width +: width] (value 0 in the least significant bits), two's complement
// for signed types; out_valid rises exactly latencyCycles clock edges after in_valid.
struct TestbenchSpec {
    std::string top;
    int inputs = 0, inputWidth = 0;
    bool inputSigned = true;
    int outputs = 0, outputWidth = 0;
    bool outputSigned = true;
    int latencyCycles = 1;
    // Streaming: `inputs` values per pixel; a row of the input file is one frame of
    // height x width pixels, pixel (r, c) presented r*rowStep + c*colStep cycles after
    // the frame's first pixel, frames every `interval` cycles; one output row per frame.
    bool streaming = false;
    int height = 1, width = 1;
    int64_t rowStep = 1, colStep = 1, interval = 1;
};
// Writes simDir/tb.cpp: reads a raw vector file (argv[1]), streams one row per clock,
// writes the outputs as raw integers to argv[2] in the same format.
void writeVerilatorTestbench(const std::string& simDir, const TestbenchSpec& spec);

struct RtlsimResult {
    size_t rows = 0, mismatches = 0;
};
// Builds PRJ/sim/tb.cpp with the RTL (Verilator, -O1), runs it on sim/input_raw.dat and
// compares with sim/expected_raw.dat bit for bit. Driven only by PRJ/tachyon_project.json.
RtlsimResult rtlsim(const std::string& prjDir, std::ostream& log);

struct SynthReport {
    int luts = 0, ffs = 0, carry = 0, dsps = 0, brams = 0, srls = 0, muxes = 0, latencyCycles = 0;
    int logicLevels = 0;   // cells on the worst register-to-register path (Timing.h)
    double clockNs = 0.0;
    TimingReport timing;
    std::vector<LayerAdders> adders;   // from tachyon_project.json (cmvm_adders)
    std::vector<double> stageEstimatesNs;   // from tachyon_project.json (GeneratedRtl's)
};
// Yosys synth_xilinx -family xcup -nodsp -nowidelut on PRJ's rtl_files; progress lines go to log.
SynthReport report(const std::string& prjDir, std::ostream& log);
// The per-layer adder table `tachyon report` prints ("" when there are no shift-add graphs).
std::string adderTable(const std::vector<LayerAdders>& adders);
// Parses the text of Yosys `stat` output (exposed for tests).
SynthReport parseYosysLog(const std::string& text);

}  // namespace tachyon::verilog
