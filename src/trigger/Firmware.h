// The firmware view of a trigger algorithm (docs/trigger.md, "Firmware view"): latency and
// initiation interval from the HLS backend's analytic estimate and a DSP estimate, or from
// the Verilog backend's pipeline and its shift-add adders (LUT bits, no DSP), against a
// latency budget and a named FPGA; or, for a Verilog project that `tachyon report` has
// synthesised, the measured cell counts of that project.
#pragma once

#include "api/Api.h"

#include <optional>
#include <string>

namespace tachyon::trigger {

struct Device {
    std::string name;
    long long luts, ffs, dsps, bram36;
};
// VU9P, VU13P, KU15P (Xilinx data sheets DS890/DS923). Throws naming the known devices.
const Device& deviceByName(const std::string& name);

// What Yosys counted in a Verilog project (`tachyon report` leaves PRJ/synth/stat.txt),
// with the latency and interval of the same project (its tachyon_project.json).
struct MeasuredResources {
    std::string project;
    long long luts = 0, srls = 0, ffs = 0, carry = 0, dsps = 0, brams = 0;
    long long latencyCycles = 0, iiCycles = 1;
    double clockNs = 0;
    long long lutTotal() const { return luts + srls; }   // shift registers occupy LUTs too
};
// Reads PRJ's measured report for the model `m` (as configured). Throws naming the project
// when it has not been synthesised, is not a Verilog project, or was made from a model with
// other inputs, outputs or types.
MeasuredResources readMeasuredResources(const std::string& prjDir, const api::Model& m);

struct FirmwareView {
    bool available = false;        // false for tree ensembles (no estimate here)
    std::string backend = "hls";   // hls | verilog
    long long latencyCycles = 0, iiCycles = 0;
    double clockNs = 0, latencyNs = 0;
    long long multipliers = 0;     // products per sample in Dense/Conv layers (non-zero weights)
    long long activationProducts = 0;   // products of two activations (Multiply merges)
    long long dspEstimate = 0;     // hls: products / ReuseFactor, binary weights excluded; verilog: activation products
    long long lutEstimate = -1;    // verilog: LUT bits of the shift-add adders; -1: not estimated
    std::optional<MeasuredResources> measured;   // set: resources, latency and II are measured
    api::Json toJson(const Device& dev, std::optional<double> budgetNs) const;
    bool fits(const Device& dev, std::optional<double> budgetNs) const;
    // Why it fits or not, in words ("latency 65 ns > budget 48 ns").
    std::string verdict(const Device& dev, std::optional<double> budgetNs) const;
};
// backend: hls (analytic schedule) or verilog (generated pipeline, without writing it).
FirmwareView firmwareView(const api::Model& m, const std::string& backend = "hls");
// The view of a synthesised project: its measured resources, latency and interval.
FirmwareView firmwareView(const api::Model& m, const MeasuredResources& measured);

// "50ns", "12.5us", "1ms" or a number of ns -> ns. Throws naming the option (`what`) and the text.
double parseDurationNs(const std::string& text, const std::string& what = "--latency-budget");
// "1kHz", "500 Hz", "2.5MHz" or a number of Hz -> Hz.
double parseRateHz(const std::string& text, const std::string& what = "--target-rate");
// --latency-budget: a duration, or `phase2` for the Phase-2 L1 trigger's 12.5 us.
double parseLatencyBudgetNs(const std::string& text);

}  // namespace tachyon::trigger
