// A word-level netlist of signed integer signals, scheduled into pipeline stages and
// printed as one Verilog-2005 module.
//
// Every signal is a raw fixed-point integer with a known exact range [lo, hi]; its
// Verilog wire is `signed` and exactly as wide as that range needs, so all arithmetic
// is sign-extended correctly and no bit is wasted. A node carries an estimated delay;
// `schedule` walks the nodes in order and starts a new pipeline stage whenever the
// accumulated delay would exceed the budget, and `emit` inserts the registers where a
// value crosses stages (a value used k stages later goes through k registers).
#pragma once

#include "fixed/FixedType.h"

#include <algorithm>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

namespace tachyon::verilog {

// Bits of a signed wire that holds every integer in [lo, hi] (at least 1).
int signedBits(Int128 lo, Int128 hi);
// `$signed(W'h...)`: a signed literal of exactly `width` bits (two's complement).
std::string literal(Int128 value, int width);
// A literal wide enough for `value`.
std::string literal(Int128 value);

using Sig = int;  // index of a netlist node

struct Node {
    std::string name;
    std::vector<Sig> ops;
    Int128 lo = 0, hi = 0;
    int width = 1;
    double delay = 0.0;   // estimated ns
    // Writes the Verilog that drives `self` from the (stage-aligned) operand names.
    // It may declare helper wires prefixed with `self`.
    std::function<void(std::ostream&, const std::vector<std::string>& ops, const std::string& self)> body;
    // The node's wire is driven by a register (a shift-register tap, a counter): its
    // combinational path restarts at 0, and it sits at the stage of its operands.
    bool registered = false;
    // LUT inputs each bit of operand k drives (empty: 1 each), for the fan-out term of the
    // delay model: a variable product's operand bit feeds a row of partial products, a
    // ROM's index bit every LUT of the ROM.
    std::vector<double> operandLoads;
    // Bits operand k is shifted left by inside this node's expression (`a + (b <<< k)`),
    // for the sign-extension term of the fan-out (empty: 0 each).
    std::vector<int> operandShifts;
    // LUTs of this node's logic for `report --estimate` (Estimate.h); < 0: one per result
    // bit when the node has logic (an adder, a comparison, a mux), none for wiring.
    double luts = -1.0;
    // How much later than a flip-flop's the registered value is available to the next
    // stage: a ROM that synthesis maps into block RAM (DelayModel::romClockToOut).
    double clockToOut = 0.0;
    // scheduling results
    int stage = 0;
    double arrival = 0.0;
};

// UltraScale+ delays used only to place pipeline registers (docs/verilog.md,
// "Pipelining"). Each node's delay includes its own logic and one ordinary routed net; the
// scheduler adds the fan-out of every net on top (fanout()).
//
// Calibrated against the per-stage paths `tachyon report` measures on Yosys' netlist
// (Timing.cpp) of five designs (docs/verilog.md, "Calibration"). Yosys maps a two-input
// adder to a LUT level and a carry chain, but also merges adder chains into carry-save
// trees, shares XOR LUTs between a sum and a difference (an inverter level on the
// difference) and packs narrow sums into LUTs, so one adder of the shift-add graph costs
// 0.7-1.5 ns on the measured path, nearly independent of its width (carry chains overlap
// across a tree's levels). adder() and fanout() are the fit of a per-adder, a subtraction
// and a per-load term to those paths, scaled by 1.3 and registerOverhead() holds 0.5 ns of
// margin, the least with which every measured stage fits its estimate (the worst measured
// path of a stage is the worst of thousands, so it runs ahead of any per-node estimate).
struct DelayModel {
    double adder(int width, bool subtract = false) const { return 0.8 + 0.008 * width + (subtract ? 0.26 : 0.0); }
    double logic() const { return 0.45; }           // a LUT level plus routing
    // A bit heap's counter level (BitHeap.h): one LUT6 of six nets by design, but ABC does not
    // keep the counters' boundaries; it maps the levels of a pipeline stage as one cone and,
    // blind to the carry chain that follows, spends their slack on area (3 counter levels
    // measured as 5 LUT levels). Priced from `tachyon report` runs (docs/verilog.md, "Timing").
    double counterLevel() const { return 0.65; }
    // An OR/AND reduction of `bits` bits (a rounding's sticky bit, `|x[s-2:0]`): a tree of
    // LUT6 levels, each a LUT plus routing; one bit costs nothing (it is a wire).
    double reduce(int bits) const {
        int levels = 0;
        for (int reach = 1; reach < bits; reach *= 6) ++levels;
        return levels * logic();
    }
    // A comparison is a subtraction's carry chain (Yosys maps $lt/$gt to one), priced as an
    // adder of the same width: the LUT in front, the chain, the carry out (recalibrated on
    // `tachyon report` runs, docs/verilog.md, "Timing").
    double compare(int width) const { return adder(width); }
    // A ROM of `entries` words is mapped by Yosys into block RAM from about 1,024 entries
    // (the jet tagger's softmax: 256-entry tables in LUTs, the 2,048-entry one in a RAMB18),
    // whose data leaves the RAM 1.4 ns after the clock, 1.3 ns later than a flip-flop's
    // (the value `report`'s timing walk uses).
    double romClockToOut(int entries) const { return entries >= 1024 ? 1.3 : 0.0; }
    double rom(int entries) const;                   // LUT tree of the index bits
    // LUT inputs one index bit of a ROM drives: every LUT6 of every output bit.
    double romLoads(int entries, int valueBits) const { return double(valueBits) * std::max(1, entries / 64); }
    double multiply(int wa, int wb) const;           // variable x variable, LUT based
    // Clock-to-out, setup and skew (0.6 ns) plus the calibration margin (0.5 ns).
    double registerOverhead() const { return 1.1; }
    double fanout(double loads) const { return std::min(0.7, 0.02 * std::max(0.0, loads - 1.0)); }
};

class Netlist {
public:
    // A raw input of `width` bits at bit `offset` of the input bus, signed or not.
    Sig addInput(const std::string& name, int offset, int width, bool isSigned);
    // A node; the caller fills ops, lo/hi, delay and body; the width is derived from lo/hi
    // unless `width` is already larger (a wrapped value keeps its declared width).
    Sig add(Node n);
    const Node& node(Sig s) const { return nodes_[size_t(s)]; }
    Node& node(Sig s) { return nodes_[size_t(s)]; }
    int size() const { return int(nodes_.size()); }
    std::string freshName(const std::string& base);
    // Module-level declarations (functions) printed before the logic, once each.
    void addPreamble(const std::string& key, const std::string& text);

    // Output `index` of `width` bits (sign or zero representation of the port type).
    void addOutput(Sig s, int width);
    // Streaming designs: out_valid is this (1-bit, [0, 1]) signal at the output stage,
    // instead of in_valid delayed by the latency.
    void setOutputValid(Sig s) { outputValid_ = s; }
    // Module-level logic printed after the declarations of the preamble (e.g. counters
    // shared by several nodes); may be replaced until emit.
    void setGlobalLogic(const std::string& text) { globalLogic_ = text; }

    // Register the input bus before any logic (stage 0 holds only the ports; no path
    // starts at an unregistered input pin). On by default.
    void setRegisterInputs(bool on) { registerInputs_ = on; }

    // Greedy stage placement with a combinational budget per stage (ns). Returns the
    // latency in cycles (the output bus is always registered, so latency >= 1).
    int schedule(double budgetNs);
    // The scheduler's estimate of the longest combinational path ending in each stage
    // (index = stage, ns, nets and fan-out included, register overhead not), after schedule.
    std::vector<double> stageEstimatesNs() const;
    // Picks the budget so that the latency is exactly `stages` (>= 1) when possible.
    int scheduleStages(int stages);
    // Critical path of the whole unpipelined netlist (ns).
    double criticalPathNs();
    int latency() const { return latency_; }
    // After schedule(budgetNs): moves single nodes one stage later or earlier where that
    // needs fewer register bits and every stage still meets the budget (Retime.cpp).
    // Returns the register bits saved. Designs with registered nodes are left as they are.
    int64_t reduceRegisters(double budgetNs);
    // After schedule: how many pipeline registers of each signal the module holds (a value
    // read k stages after its own has k copies), output registers included.
    std::vector<int> registerCopies() const;

    void emit(std::ostream& os, const std::string& top, int inputBits, int outputBits) const;

private:
    static bool isWiring(const Node& n);     // no logic of its own (a shift, a slice)
    std::vector<double> fanoutLoads() const; // LUT inputs each signal's worst bit drives
    std::vector<Node> nodes_;
    std::vector<std::pair<Sig, int>> outputs_;
    std::vector<std::pair<std::string, std::string>> preamble_;   // (signal, port width)
    std::vector<std::pair<Sig, std::pair<int, int>>> inputs_;
    int latency_ = 1;
    int counter_ = 0;
    bool registerInputs_ = true;
    Sig outputValid_ = -1;
    std::string globalLogic_;
};

}  // namespace tachyon::verilog
