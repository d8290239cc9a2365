#include "backends/verilog/Timing.h"

#include "util/Error.h"

#include <algorithm>
#include <map>
#include <unordered_map>

namespace tachyon::verilog {

namespace {

enum class CellKind { Register, Lut, Carry, Mux, Wire };

CellKind kindOf(const std::string& type) {
    const auto starts = [&](const char* p) { return type.rfind(p, 0) == 0; };
    if (starts("FD") || starts("SRL") || starts("RAMB") || starts("URAM") || starts("DSP") || starts("FIFO") || starts("$_DFF") ||
        starts("$dff") || starts("$_SDFF"))
        return CellKind::Register;
    if (starts("LUT") || type == "INV" || starts("$_")) return CellKind::Lut;  // INV is a LUT1
    // Distributed RAM/ROM (RAM32M, RAM64X1S, ...): the read is a LUT's asynchronous path.
    if (starts("RAM")) return CellKind::Lut;
    if (starts("CARRY")) return CellKind::Carry;
    if (starts("MUXF")) return CellKind::Mux;
    return CellKind::Wire;  // I/O buffers, constants: no logic level
}

bool isClockPin(const std::string& pin) { return pin == "C" || pin.find("CLK") != std::string::npos; }

// The delay model of Timing.h, in ns.
// A block RAM's clock-to-out without its optional output register (a ROM Yosys maps into
// RAMB18/36 or URAM absorbs the address register: the data leaves the RAM itself) is
// 1.2-1.6 ns on UltraScale+, not a flip-flop's 0.10 ns.
constexpr double kRamClockToOut = 1.40;
constexpr double kClockToOut = 0.10, kSetup = 0.05, kLut = 0.13, kCarryEntry = 0.10, kCarryChain = 0.05,
                 kMux = 0.08, kNet = 0.30, kNetPerLoad = 0.01, kNetMax = 1.0;

struct Pin {
    std::string name;
    int bit;
};

struct Cell {
    std::string name, type;
    CellKind kind;
    std::vector<Pin> inputs;
    std::vector<int> outputs;
};

// The worst path arriving at a point: delay, cells by kind, and where it started.
struct Arrival {
    double ns = 0.0;
    int luts = 0, carries = 0, muxes = 0;
    int fromBit = -1;
    int levels() const { return luts + carries + muxes; }
};

}  // namespace

TimingReport analyseTiming(const nlohmann::json& netlist, const std::string& top) {
    TimingReport rep;
    if (!netlist.contains("modules") || !netlist["modules"].contains(top)) return rep;
    const auto& mod = netlist["modules"][top];

    // --- Cells, drivers and loads -------------------------------------------------------
    std::vector<Cell> cells;
    std::unordered_map<int, int> driver;  // bit -> cell; input-port bits are absent (sources)
    std::unordered_map<int, int> loads;   // bit -> number of cell input pins it feeds
    std::unordered_map<int, std::string> bitName;
    const auto bitOf = [](const nlohmann::json& b) { return b.is_number() ? b.get<int>() : -1; };  // "0"/"1"/"x": constants
    if (mod.contains("cells"))
        for (const auto& [name, c] : mod["cells"].items()) {
            Cell cell{name, c.value("type", ""), kindOf(c.value("type", "")), {}, {}};
            if (!c.contains("connections")) continue;
            for (const auto& [pin, bits] : c["connections"].items()) {
                const std::string dir =
                    c.contains("port_directions") && c["port_directions"].contains(pin) ? c["port_directions"][pin].get<std::string>() : "input";
                for (const auto& b : bits) {
                    const int bit = bitOf(b);
                    if (bit < 0) continue;
                    if (dir == "output") cell.outputs.push_back(bit);
                    else cell.inputs.push_back({pin, bit});
                }
            }
            cells.push_back(std::move(cell));
        }
    for (size_t i = 0; i < cells.size(); ++i) {
        for (int b : cells[i].outputs) driver[b] = int(i);
        for (const Pin& p : cells[i].inputs)
            if (!(cells[i].kind == CellKind::Register && isClockPin(p.name))) ++loads[p.bit];
    }
    // A bit's name: one the designer wrote (not hidden) if any, else the shortest.
    std::unordered_map<int, bool> bitHidden;
    if (mod.contains("netnames"))
        for (const auto& [name, n] : mod["netnames"].items()) {
            const bool hidden = n.value("hide_name", 0) != 0;
            const auto& bits = n["bits"];
            for (size_t k = 0; k < bits.size(); ++k) {
                const int bit = bitOf(bits[k]);
                if (bit < 0) continue;
                const std::string full = bits.size() > 1 ? name + "[" + std::to_string(k) + "]" : name;
                auto it = bitName.find(bit);
                const bool better = it == bitName.end() || (bitHidden[bit] && !hidden) ||
                                    (bitHidden[bit] == hidden && full.size() < it->second.size());
                if (better) bitName[bit] = full, bitHidden[bit] = hidden;
            }
        }
    const auto nameOf = [&](int bit) {
        auto it = bitName.find(bit);
        std::string n = it != bitName.end() ? it->second : "bit " + std::to_string(bit);
        if (!n.empty() && n[0] == '\\') n.erase(0, 1);
        return n;
    };

    // --- Registers on feedback loops: Tarjan's strongly connected components (iterative) ---
    const size_t N = cells.size();
    std::vector<std::vector<int>> succ(N);
    for (size_t i = 0; i < N; ++i)
        for (const Pin& p : cells[i].inputs) {
            if (cells[i].kind == CellKind::Register && isClockPin(p.name)) continue;
            auto d = driver.find(p.bit);
            if (d != driver.end()) succ[size_t(d->second)].push_back(int(i));
        }
    std::vector<int> index(N, -1), low(N, 0), comp(N, -1);
    std::vector<char> onStack(N, 0);
    std::vector<int> stack, compSize;
    int counter = 0;
    for (size_t root = 0; root < N; ++root) {
        if (index[root] >= 0) continue;
        std::vector<std::pair<int, size_t>> work{{int(root), 0}};
        while (!work.empty()) {
            auto& [v, next] = work.back();
            if (next == 0 && index[size_t(v)] < 0) {
                index[size_t(v)] = low[size_t(v)] = counter++;
                stack.push_back(v);
                onStack[size_t(v)] = 1;
            }
            if (next < succ[size_t(v)].size()) {
                const int w = succ[size_t(v)][next++];
                if (index[size_t(w)] < 0) work.push_back({w, 0});
                else if (onStack[size_t(w)]) low[size_t(v)] = std::min(low[size_t(v)], index[size_t(w)]);
                continue;
            }
            if (low[size_t(v)] == index[size_t(v)]) {
                const int id = int(compSize.size());
                compSize.push_back(0);
                for (int w = -1; w != v;) {
                    w = stack.back();
                    stack.pop_back();
                    onStack[size_t(w)] = 0;
                    comp[size_t(w)] = id;
                    ++compSize.back();
                }
            }
            const int done = v;
            work.pop_back();
            if (!work.empty()) low[size_t(work.back().first)] = std::min(low[size_t(work.back().first)], low[size_t(done)]);
        }
    }
    std::vector<char> loopReg(N, 0);
    for (size_t i = 0; i < N; ++i) {
        if (cells[i].kind != CellKind::Register) continue;
        bool self = std::find(succ[i].begin(), succ[i].end(), int(i)) != succ[i].end();
        if (compSize[size_t(comp[i])] > 1 || self) loopReg[i] = 1, ++rep.loopRegisters;
    }

    // --- Topological order: registers are sources; loop registers lose their in-edges ----
    std::vector<int> indeg(N, 0);
    for (size_t i = 0; i < N; ++i)
        for (int w : succ[i])
            if (!loopReg[size_t(w)]) ++indeg[size_t(w)];
    std::vector<int> order;
    for (size_t i = 0; i < N; ++i)
        if (indeg[i] == 0) order.push_back(int(i));
    for (size_t k = 0; k < order.size(); ++k)
        for (int w : succ[size_t(order[k])])
            if (!loopReg[size_t(w)] && --indeg[size_t(w)] == 0) order.push_back(w);

    // --- Stages and arrival times in that order ---------------------------------------
    std::vector<int> stage(N, 0);
    std::vector<Arrival> arrival(N);
    std::map<int, StageTiming> perStage;
    const auto sourceAt = [&](int bit, int& srcStage) {
        auto d = driver.find(bit);
        if (d == driver.end()) {  // an input port (or undriven)
            srcStage = 0;
            Arrival a;
            a.fromBit = bit;
            return a;
        }
        const size_t s = size_t(d->second);
        if (cells[s].kind == CellKind::Register) {
            srcStage = stage[s];
            Arrival a;
            const std::string& t = cells[s].type;
            a.ns = t.rfind("RAMB", 0) == 0 || t.rfind("URAM", 0) == 0 ? kRamClockToOut : kClockToOut;
            a.fromBit = bit;
            return a;
        }
        srcStage = stage[s];
        return arrival[s];
    };
    const auto netDelay = [&](int bit, const Cell& consumer, const std::string& pin) {
        auto d = driver.find(bit);
        if (d != driver.end()) {
            const CellKind src = cells[size_t(d->second)].kind;
            if (consumer.kind == CellKind::Carry && src == CellKind::Carry && pin.rfind("CI", 0) == 0) return 0.0;
            if (consumer.kind == CellKind::Mux && (src == CellKind::Lut || src == CellKind::Mux)) return 0.0;
            // An adder bit's LUT feeds its carry cell's S input inside the slice (O6 -> S),
            // when that is its only load.
            if (consumer.kind == CellKind::Carry && src == CellKind::Lut && pin.rfind("S", 0) == 0 && loads[bit] == 1)
                return 0.0;
            if (src == CellKind::Wire) return 0.0;
        }
        if (consumer.kind == CellKind::Wire) return 0.0;
        return std::min(kNetMax, kNet + kNetPerLoad * std::max(0, loads[bit] - 1));
    };
    const auto record = [&](StageTiming& t, const Arrival& a, double ns, const std::string& to) {
        ++t.endpoints;
        if (ns <= t.ns && t.endpoints > 1) return;
        t.ns = ns;
        t.levels = a.levels();
        t.luts = a.luts, t.carries = a.carries, t.muxes = a.muxes;
        t.from = a.fromBit >= 0 ? nameOf(a.fromBit) : "";
        t.to = to;
    };
    for (int vi : order) {
        const size_t v = size_t(vi);
        const Cell& c = cells[v];
        if (c.kind == CellKind::Register) {
            int st = 0;
            for (const Pin& p : c.inputs) {
                if (isClockPin(p.name)) continue;
                int s = 0;
                const Arrival a = sourceAt(p.bit, s);
                st = std::max(st, s + 1);
                const double ns = a.ns + netDelay(p.bit, c, p.name) + kSetup;
                if (loopReg[v]) continue;  // after the loop: its drivers come later in the order
                perStage[s + 1].stage = s + 1;
                record(perStage[s + 1], a, ns, c.outputs.empty() ? c.name : nameOf(c.outputs[0]));
            }
            stage[v] = loopReg[v] ? 0 : st;
            continue;
        }
        Arrival best;
        int st = 0;
        bool any = false;
        for (const Pin& p : c.inputs) {
            int s = 0;
            Arrival a = sourceAt(p.bit, s);
            st = std::max(st, s);
            a.ns += netDelay(p.bit, c, p.name);
            switch (c.kind) {
                case CellKind::Lut: a.ns += kLut, ++a.luts; break;
                case CellKind::Carry: a.ns += p.name.rfind("CI", 0) == 0 ? kCarryChain : kCarryEntry, ++a.carries; break;
                case CellKind::Mux: a.ns += kMux, ++a.muxes; break;
                default: break;
            }
            if (!any || a.ns > best.ns) best = a, any = true;
        }
        stage[v] = st;
        arrival[v] = best;
    }
    for (size_t v = 0; v < N; ++v) {
        if (!loopReg[v]) continue;
        for (const Pin& p : cells[v].inputs) {
            if (isClockPin(p.name)) continue;
            int s = 0;
            const Arrival a = sourceAt(p.bit, s);
            record(rep.loops, a, a.ns + netDelay(p.bit, cells[v], p.name) + kSetup,
                   cells[v].outputs.empty() ? cells[v].name : nameOf(cells[v].outputs[0]));
        }
    }
    // Output ports end paths too.
    if (mod.contains("ports"))
        for (const auto& [name, p] : mod["ports"].items()) {
            if (p.value("direction", "") != "output") continue;
            for (const auto& b : p["bits"]) {
                const int bit = bitOf(b);
                if (bit < 0) continue;
                int s = 0;
                const Arrival a = sourceAt(bit, s);
                perStage[s + 1].stage = s + 1;
                record(perStage[s + 1], a, a.ns, nameOf(bit));
            }
        }

    for (auto& [s, t] : perStage) {
        rep.stages.push_back(t);
        if (t.ns > rep.worst.ns) rep.worst = t;
    }
    if (rep.loops.ns > rep.worst.ns) rep.worst = rep.loops;
    rep.valid = !rep.stages.empty() || rep.loops.endpoints > 0;
    return rep;
}

}  // namespace tachyon::verilog
