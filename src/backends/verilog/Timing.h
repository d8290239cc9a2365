// Register-to-register timing of a synthesised netlist (Yosys `write_json` after
// `synth_xilinx`), for `tachyon report`.
//
// Yosys' own `ltp` counts the longest path through every cell, registers included: on a
// pipeline that is the whole design pad to pad, not a clock period. Here paths start at a
// register output or an input port and end at a register input or an output port; they
// are cut at every sequential cell (FD*, SRL*, RAMB*, DSP*). Each register gets a pipeline
// stage (inputs are stage 0; a register is one more than the latest stage feeding it), so
// the worst path is reported per stage. Registers on feedback loops (streaming designs'
// counters and line buffers) have no stage and are reported apart.
//
// The delay is an estimate, not a timing sign-off: no placement exists. Per cell on the
// path (UltraScale+ speed grade -2 orders of magnitude, from the data sheets' typical
// figures): register clock-to-out 0.10 ns (block RAM, unregistered output: 1.40 ns) and
// setup 0.05 ns; LUT 0.13 ns; carry cell
// 0.10 ns when entered from LUT logic and 0.05 ns along the chain; MUXF7/8 0.08 ns.
// Each routed net adds 0.30 ns + 0.01 ns per extra load (at most 1.0 ns); the dedicated
// carry-chain, LUT -> MUXF and LUT -> carry S (an adder bit's LUT whose only load is its
// carry cell: the same slice) connections add nothing.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace tachyon::verilog {

struct StageTiming {
    int stage = 0;          // the endpoint register's stage (logic between stage-1 and stage)
    int levels = 0;         // cells on the worst path: LUTs + carry cells + MUXF
    int luts = 0, carries = 0, muxes = 0;
    double ns = 0.0;        // estimated delay of that path
    std::string from, to;   // its start and end (register or port names)
    int endpoints = 0;      // register inputs / output bits in this stage
};

struct TimingReport {
    bool valid = false;
    StageTiming worst;               // the worst path over the whole design (by estimated delay)
    std::vector<StageTiming> stages; // the worst path per stage, by stage
    StageTiming loops;               // worst path ending at a register on a feedback loop
    int loopRegisters = 0;
};

// `netlist` is Yosys' JSON; `top` the flattened top module.
TimingReport analyseTiming(const nlohmann::json& netlist, const std::string& top);

}  // namespace tachyon::verilog
