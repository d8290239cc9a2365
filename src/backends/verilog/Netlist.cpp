#include "backends/verilog/Netlist.h"

#include "util/Error.h"

#include <algorithm>
#include <cmath>
#include <sstream>

namespace tachyon::verilog {

int signedBits(Int128 lo, Int128 hi) {
    int w = 1;
    while (w < 127 && (lo < -(Int128(1) << (w - 1)) || hi > (Int128(1) << (w - 1)) - 1)) ++w;
    return w;
}

std::string literal(Int128 value, int width) {
    unsigned __int128 bits = (unsigned __int128)value;
    if (width < 128) bits &= (((unsigned __int128)1 << width) - 1);
    std::string hex;
    do {
        hex.insert(hex.begin(), "0123456789abcdef"[int(bits & 15)]);
        bits >>= 4;
    } while (bits != 0);
    return "$signed(" + std::to_string(width) + "'h" + hex + ")";
}

std::string literal(Int128 value) { return literal(value, signedBits(value, value)); }

double DelayModel::rom(int entries) const {
    int bits = 0;
    while ((1 << bits) < entries) ++bits;
    // A LUT6 resolves 6 index bits; wider indexes add a mux level per 2 bits (F7/F8 muxes).
    return 0.5 + 0.45 * std::ceil(std::max(0, bits - 6) / 2.0) + logic();
}

double DelayModel::multiply(int wa, int wb) const {
    const int n = std::max(2, std::min(wa, wb));
    return 0.8 + 0.6 * std::log2(double(n)) + 0.02 * (wa + wb);
}

std::string Netlist::freshName(const std::string& base) {
    return base + "_" + std::to_string(counter_++);
}

Sig Netlist::addInput(const std::string& name, int offset, int width, bool isSigned) {
    Node n;
    n.name = name;
    n.lo = isSigned ? -(Int128(1) << (width - 1)) : 0;
    n.hi = isSigned ? (Int128(1) << (width - 1)) - 1 : (Int128(1) << width) - 1;
    const std::string slice = "in_data[" + std::to_string(offset) + " +: " + std::to_string(width) + "]";
    n.body = [slice, isSigned](std::ostream& os, const std::vector<std::string>&, const std::string& self) {
        os << "  assign " << self << " = " << (isSigned ? slice : "{1'b0, " + slice + "}") << ";\n";
    };
    Sig s = add(std::move(n));
    inputs_.push_back({s, {offset, width}});
    return s;
}

Sig Netlist::add(Node n) {
    if (n.lo > n.hi) throw Error("Verilog netlist: empty range for signal " + n.name);
    n.width = std::max(n.width, signedBits(n.lo, n.hi));
    for (Sig o : n.ops)
        if (o < 0 || o >= size()) throw Error("Verilog netlist: bad operand of " + n.name);
    nodes_.push_back(std::move(n));
    return Sig(nodes_.size() - 1);
}

void Netlist::addPreamble(const std::string& key, const std::string& text) {
    for (const auto& [k, t] : preamble_)
        if (k == key) return;
    preamble_.push_back({key, text});
}

void Netlist::addOutput(Sig s, int width) { outputs_.push_back({s, width}); }

bool Netlist::isWiring(const Node& n) { return n.delay == 0.0 && !n.registered && !n.ops.empty(); }

std::vector<double> Netlist::fanoutLoads() const {
    // Fan-out of every signal in LUT inputs on its worst bit: the net delay it adds to its
    // readers. That bit is the sign bit: a reader wider than the operand (after the
    // operand's shift) sign-extends it, one more LUT input per extended bit. A node with no
    // logic (a shift, a slice) is wiring: its readers load its operand.
    const auto wiring = [](const Node& n) { return isWiring(n); };
    std::vector<double> loads(nodes_.size(), 0.0);
    for (size_t i = nodes_.size(); i-- > 0;) {
        const Node& n = nodes_[i];
        for (size_t k = 0; k < n.ops.size(); ++k) {
            const Node& o = nodes_[size_t(n.ops[k])];
            const int shift = k < n.operandShifts.size() ? n.operandShifts[k] : 0;
            // Given loads (a ROM index, a product's operand) already count every reader.
            const bool given = k < n.operandLoads.size();
            const double reads = given ? n.operandLoads[k] : 1.0;
            const double extension = given ? 0 : std::max(0, n.width - o.width - shift);
            loads[size_t(n.ops[k])] += wiring(n) ? loads[i] : reads + extension;
        }
    }
    return loads;
}

int Netlist::schedule(double budgetNs) {
    const DelayModel model;
    const auto wiring = [](const Node& n) { return isWiring(n); };
    const std::vector<double> loads = fanoutLoads();
    std::vector<bool> isInput(nodes_.size(), false);
    for (const auto& [s, bits] : inputs_) isInput[size_t(s)] = registerInputs_;
    int last = 0;
    for (Node& n : nodes_) {
        // The stage of each operand as this node sees it (a registered input: one later).
        int s = 0;
        for (Sig o : n.ops) s = std::max(s, nodes_[size_t(o)].stage + (isInput[size_t(o)] ? 1 : 0));
        // Arrival: an operand of this stage arrives at its arrival, one from a register at
        // 0; either way plus its net's fan-out.
        double a = 0.0, fromRegisters = 0.0;
        for (Sig o : n.ops) {
            const Node& on = nodes_[size_t(o)];
            const bool sameStage = on.stage == s && !isInput[size_t(o)];
            // Read from a register: its clock-to-out beyond a flip-flop's and its net's
            // fan-out. Wiring read in its own stage: its fan-out is already in its arrival.
            const double registered = on.clockToOut + model.fanout(loads[size_t(o)]);
            const double net = wiring(on) && sameStage ? 0.0 : model.fanout(loads[size_t(o)]);
            a = std::max(a, sameStage ? on.arrival + net : registered);
            // Moved a stage later, the node reads every operand from a register, wiring too.
            fromRegisters = std::max(fromRegisters, registered);
        }
        if (n.registered) {
            n.stage = s;
            n.arrival = 0.0;
            continue;
        }
        if (a > fromRegisters && a + n.delay > budgetNs) {
            ++s;   // operands come from registers: the path restarts
            a = fromRegisters;
        }
        n.stage = s;
        n.arrival = a + n.delay;
    }
    for (const auto& [s, w] : outputs_) last = std::max(last, nodes_[size_t(s)].stage);
    latency_ = last + 1;
    return latency_;
}

std::vector<double> Netlist::stageEstimatesNs() const {
    std::vector<double> worst(size_t(latency_), 0.0);
    for (const Node& n : nodes_)
        if (n.stage < latency_ && !n.registered) worst[size_t(n.stage)] = std::max(worst[size_t(n.stage)], n.arrival);
    return worst;
}

double Netlist::criticalPathNs() {
    schedule(1e30);
    double worst = 0.0;
    for (const Node& n : nodes_) worst = std::max(worst, n.arrival);
    return worst;
}

int Netlist::scheduleStages(int stages) {
    if (stages < 1) throw Error("Verilog backend: the number of pipeline stages must be >= 1, got " +
                                std::to_string(stages));
    double hi = criticalPathNs() + 1.0, lo = 0.0;
    // Smallest budget whose latency is at most `stages`: the stages are then balanced.
    for (int it = 0; it < 50; ++it) {
        double mid = 0.5 * (lo + hi);
        if (schedule(mid) <= stages) hi = mid;
        else lo = mid;
    }
    schedule(hi);
    latency_ = std::max(latency_, stages);   // extra stages are output registers
    return latency_;
}

std::vector<int> Netlist::registerCopies() const {
    const int L = latency_;
    std::vector<int> copies(nodes_.size(), 0);
    for (const Node& n : nodes_)
        for (Sig o : n.ops) copies[size_t(o)] = std::max(copies[size_t(o)], n.stage - nodes_[size_t(o)].stage);
    for (const auto& [s, w] : outputs_) copies[size_t(s)] = std::max(copies[size_t(s)], L - nodes_[size_t(s)].stage);
    if (outputValid_ >= 0)
        copies[size_t(outputValid_)] = std::max(copies[size_t(outputValid_)], L - nodes_[size_t(outputValid_)].stage);
    return copies;
}

void Netlist::emit(std::ostream& os, const std::string& top, int inputBits, int outputBits) const {
    const int L = latency_;
    const std::vector<int> copies = registerCopies();
    auto nameAt = [&](Sig s, int stage) {
        int d = stage - nodes_[size_t(s)].stage;
        return d == 0 ? nodes_[size_t(s)].name : nodes_[size_t(s)].name + "_r" + std::to_string(d);
    };

    os << "module " << top << " (\n"
       << "  input  wire clk,\n"
       << "  input  wire in_valid,\n"
       << "  input  wire [" << inputBits - 1 << ":0] in_data,\n"
       << "  output wire out_valid,\n"
       << "  output wire [" << outputBits - 1 << ":0] out_data\n"
       << ");\n\n";
    if (outputValid_ < 0) {
        os << "  // Valid travels with the data through the " << L << " register stage(s).\n";
        os << "  reg [" << L - 1 << ":0] valid_pipe = " << L << "'d0;\n";
        os << "  always @(posedge clk) valid_pipe <= "
           << (L == 1 ? std::string("in_valid") : "{valid_pipe[" + std::to_string(L - 2) + ":0], in_valid}") << ";\n";
        os << "  assign out_valid = valid_pipe[" << L - 1 << "];\n\n";
    }

    for (const auto& [k, t] : preamble_) os << t << "\n";
    os << globalLogic_;
    for (int stage = 0; stage <= L; ++stage) {
        bool header = false;
        for (size_t k = 0; k < nodes_.size(); ++k) {
            const Node& n = nodes_[k];
            if (n.stage != stage) continue;
            if (!header) {
                os << "  // ---- stage " << stage << " ----\n";
                header = true;
            }
            os << "  wire signed [" << n.width - 1 << ":0] " << n.name << ";\n";
            std::vector<std::string> ops;
            for (Sig o : n.ops) ops.push_back(nameAt(o, stage));
            n.body(os, ops, n.name);
        }
    }

    os << "\n  // ---- pipeline registers ----\n";
    for (size_t k = 0; k < nodes_.size(); ++k) {
        for (int d = 1; d <= copies[k]; ++d)
            os << "  reg signed [" << nodes_[k].width - 1 << ":0] " << nodes_[k].name << "_r" << d << ";\n";
    }
    os << "  always @(posedge clk) begin\n";
    for (size_t k = 0; k < nodes_.size(); ++k) {
        for (int d = 1; d <= copies[k]; ++d)
            os << "    " << nodes_[k].name << "_r" << d << " <= " << nameAt(Sig(k), nodes_[k].stage + d - 1)
               << ";\n";
    }
    os << "  end\n\n  // ---- output bus ----\n";
    if (outputValid_ >= 0) os << "  assign out_valid = " << nameAt(outputValid_, L) << "[0];\n";
    int offset = 0;
    for (size_t j = 0; j < outputs_.size(); ++j) {
        const auto& [s, w] = outputs_[j];
        const int ext = std::max(w, nodes_[size_t(s)].width);
        const std::string o = "out_" + std::to_string(j);
        os << "  wire signed [" << ext - 1 << ":0] " << o << " = " << nameAt(s, L) << ";\n";
        os << "  assign out_data[" << offset << " +: " << w << "] = " << o << "[" << w - 1 << ":0];\n";
        offset += w;
    }
    os << "endmodule\n";
}

}  // namespace tachyon::verilog
