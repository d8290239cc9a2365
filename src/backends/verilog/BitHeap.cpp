#include "backends/verilog/BitHeap.h"

#include "backends/verilog/RtlOps.h"
#include "util/Error.h"

#include <algorithm>
#include <memory>
#include <sstream>

namespace tachyon::verilog {

namespace {

// A counter of up to six bits: its sum bit (parity), then bits 1 and 2 of the count, as
// two full adders and their combination in plain logic (no `+`, so that Yosys maps each
// output to one LUT6 and not to a carry chain).
//
// Verilator, though, inlines a function at every call with its own temporaries: a CNN's
// thousands of counters made 50 MB of C++ and a 4-minute rtlsim build. Under Verilator the
// counter is the same count written as a sum (2.5x faster to build and run), which is an
// equality, not an approximation: test VerilogBitHeap.CounterLogicIsThePopcountOnAllInputs
// proves both forms equal to the popcount on all 64 inputs, under Icarus.
const char* kCounterFunction =
    "  // Parallel counter (docs/verilog.md, \"Bit heaps\"): {bit 2, bit 1, bit 0} of the\n"
    "  // number of ones in v, in plain logic so that each output is one LUT6.\n"
    "  function [2:0] tachyon_count6(input [5:0] v);\n"
    "    reg s1, c1, s2, c2;\n"
    "    begin\n"
    "      s1 = v[0] ^ v[1] ^ v[2];\n"
    "      c1 = (v[0] & v[1]) | (v[0] & v[2]) | (v[1] & v[2]);\n"
    "      s2 = v[3] ^ v[4] ^ v[5];\n"
    "      c2 = (v[3] & v[4]) | (v[3] & v[5]) | (v[4] & v[5]);\n"
    "      tachyon_count6 = {(c1 & c2) | (c1 & s1 & s2) | (c2 & s1 & s2), c1 ^ c2 ^ (s1 & s2), s1 ^ s2};\n"
    "    end\n"
    "  endfunction\n"
    "  // The counter at each use: the function above for synthesis, the same count as a sum\n"
    "  // for Verilator (which copies a function's body into every call).\n"
    "`ifdef VERILATOR\n"
    "  `define TACHYON_COUNT6(f, e, d, c, b, a) \\\n"
    "    ({2'b0, a} + {2'b0, b} + {2'b0, c} + {2'b0, d} + {2'b0, e} + {2'b0, f})\n"
    "`else\n"
    "  `define TACHYON_COUNT6(f, e, d, c, b, a) tachyon_count6({f, e, d, c, b, a})\n"
    "`endif\n";

}  // namespace

const char* counterVerilog() { return kCounterFunction; }

int HeapLevel::luts() const {
    int n = 0;
    for (size_t k = 0; k < counters.size(); ++k)
        n += (counterSum[k] >= 0) + (counterOutputs[k][0] >= 0) + (counterOutputs[k][1] >= 0);
    return n;
}

size_t HeapPlan::bits() const {
    size_t n = finalInjected.size();
    for (const HeapLevel& lv : levels) n += lv.injected.size();
    return n;
}

HeapPlan planHeap(const std::vector<HeapOperand>& operands, Int128 constant, int width) {
    if (width < 1 || width > 120) throw Error("Verilog bit heap: width " + std::to_string(width) + " out of range");
    HeapPlan p;
    p.width = width;
    const Int128 mod = Int128(1) << width;
    // Every operand bit (with the level it may join at); the constants they imply and the
    // caller's go into one constant whose 1-bits join at level 0.
    std::vector<std::pair<int, HeapBit>> pending;
    Int128 k = constant;
    for (size_t o = 0; o < operands.size(); ++o) {
        const HeapOperand& op = operands[o];
        const int top = op.nonNegative ? op.width - 1 : op.width;   // a known-zero sign bit adds nothing
        for (int i = 0; i < top; ++i) {
            const int col = i + op.shift;
            if (col >= width) break;
            const bool sign = !op.nonNegative && i == op.width - 1;
            // x_i enters as is, except: the sign bit of +x (weight -2^col) and the other bits
            // of -x (weight -2^col each) enter inverted, with -2^col into the constant.
            const bool inverted = op.neg != sign;
            if (inverted) k -= Int128(1) << col;
            pending.push_back({std::max(0, op.ready), HeapBit{HeapBit::Kind::Operand, int(o), i, inverted, col}});
        }
    }
    k = ((k % mod) + mod) % mod;
    for (int col = 0; col < width; ++col)
        if ((k >> col) & 1) pending.push_back({0, HeapBit{HeapBit::Kind::One, 0, 0, false, col}});
    std::stable_sort(pending.begin(), pending.end(), [](const auto& a, const auto& b) { return a.first < b.first; });

    std::vector<int> column;   // columns of the previous level's outputs
    size_t next = 0;           // first pending bit not yet in the heap
    for (int level = 0;; ++level) {
        if (level > 200) throw Error("Verilog bit heap: the compressor tree does not converge");
        std::vector<HeapBit> injected;
        while (next < pending.size() && pending[next].first <= level) injected.push_back(pending[next++].second);
        std::vector<int> cols = column;
        for (const HeapBit& b : injected) cols.push_back(b.column);
        std::vector<std::vector<int>> byColumn(static_cast<size_t>(width));
        for (size_t b = 0; b < cols.size(); ++b) byColumn[size_t(cols[b])].push_back(int(b));
        size_t tallest = 0;
        for (const auto& c : byColumn) tallest = std::max(tallest, c.size());
        if (tallest <= 2 && next < pending.size()) {
            // Nothing to compress yet: the late bits join now rather than after a level of
            // pure wiring.
            for (auto it = pending.begin() + ptrdiff_t(next); it != pending.end(); ++it) it->first = level;
            next -= injected.size();   // planned again at this level with them
            --level;
            continue;
        }
        if (tallest <= 2) {
            p.finalInjected = std::move(injected);
            p.rows.assign(size_t(width), {-1, -1});
            for (int col = 0; col < width; ++col)
                for (size_t r = 0; r < byColumn[size_t(col)].size(); ++r) p.rows[size_t(col)][r] = byColumn[size_t(col)][r];
            return p;
        }
        HeapLevel lv;
        lv.injected = std::move(injected);
        // Dadda's rule with six-input counters: a heap no taller than 3, 6, 12, 24, ... is
        // two bits tall after 1, 2, 3, 4, ... levels; this level only brings every column
        // down to the next height of that sequence (the carries from the two columns below
        // counted), so columns that are short already cost no counters yet.
        size_t target = 2;
        for (size_t next = 3; next < tallest; next = next <= 3 ? 6 : next * 2) target = next;
        std::vector<size_t> incoming(static_cast<size_t>(width) + 2, 0);
        for (int col = 0; col < width; ++col) {
            const auto& bits = byColumn[size_t(col)];
            size_t at = 0, sums = 0;
            const auto height = [&] { return bits.size() - at + sums + incoming[size_t(col)]; };
            while (height() > target && bits.size() - at >= 2) {
                // The fewest inputs that reach the target, rounded up to a size that is
                // cheap per bit removed (six: 3 LUTs for 3 bits; five: 3 for 2; three: 2 for
                // 1; four and two are the dearest), as far as the column has bits.
                const size_t avail = bits.size() - at, need = height() - target + 1;
                size_t n = avail;
                for (size_t size : {3, 5, 6})
                    if (size >= need && size <= avail) {
                        n = size;
                        break;
                    }
                n = std::min({n, avail, size_t(6)});
                HeapCounter ctr;
                ctr.column = col;
                ctr.inputs.assign(bits.begin() + ptrdiff_t(at), bits.begin() + ptrdiff_t(at + n));
                ++sums;
                ++incoming[size_t(col) + 1];
                if (ctr.outputs() == 3) ++incoming[size_t(col) + 2];
                lv.counters.push_back(std::move(ctr));
                at += n;
            }
            for (; at < bits.size(); ++at) lv.passThrough.push_back(bits[at]);
        }
        std::vector<int> out;
        const auto place = [&](int col) {
            if (col >= width) return -1;
            out.push_back(col);
            return int(out.size()) - 1;
        };
        for (const HeapCounter& ctr : lv.counters) {
            lv.counterSum.push_back(place(ctr.column));
            const int b1 = place(ctr.column + 1);
            const int b2 = ctr.outputs() == 3 ? place(ctr.column + 2) : -1;
            lv.counterOutputs.push_back({b1, b2});
        }
        for (int b : lv.passThrough) out.push_back(cols[size_t(b)]);
        lv.outputColumn = out;
        p.levels.push_back(std::move(lv));
        column = std::move(out);
    }
}

Int128 evaluateHeap(const HeapPlan& p, const std::vector<HeapOperand>& operands, const std::vector<Int128>& values) {
    const auto bitOf = [&](const HeapBit& b) {
        int v = 1;
        if (b.kind == HeapBit::Kind::Operand) {
            const Int128 mod = Int128(1) << operands[size_t(b.src)].width;
            const Int128 raw = ((values[size_t(b.src)] % mod) + mod) % mod;   // the wire's two's complement
            v = int((raw >> b.bit) & 1);
        }
        return b.inverted ? 1 - v : v;
    };
    std::vector<int> bits;
    for (const HeapLevel& lv : p.levels) {
        for (const HeapBit& b : lv.injected) bits.push_back(bitOf(b));
        std::vector<int> out(lv.outputColumn.size(), 0);
        for (size_t k = 0; k < lv.counters.size(); ++k) {
            int count = 0;
            for (int i : lv.counters[k].inputs) count += bits[size_t(i)];
            if (lv.counterSum[k] >= 0) out[size_t(lv.counterSum[k])] = count & 1;
            if (lv.counterOutputs[k][0] >= 0) out[size_t(lv.counterOutputs[k][0])] = (count >> 1) & 1;
            if (lv.counterOutputs[k][1] >= 0) out[size_t(lv.counterOutputs[k][1])] = (count >> 2) & 1;
        }
        const size_t first = lv.outputColumn.size() - lv.passThrough.size();
        for (size_t k = 0; k < lv.passThrough.size(); ++k) out[first + k] = bits[size_t(lv.passThrough[k])];
        bits = std::move(out);
    }
    for (const HeapBit& b : p.finalInjected) bits.push_back(bitOf(b));
    Int128 sum = 0;
    for (int col = 0; col < p.width; ++col)
        for (int r : p.rows[size_t(col)])
            if (r >= 0) sum += Int128(bits[size_t(r)]) << col;
    const Int128 mod = Int128(1) << p.width;
    sum %= mod;
    return sum >= mod / 2 ? sum - mod : sum;
}

namespace {

// The netlist operands of a node that reads the previous level's output (if any) and the
// operands of `injected`: ops and, per operand index, its position among them.
struct NodeInputs {
    std::vector<Sig> ops;
    std::vector<int> slot;   // operand index -> position in ops (-1: not read)
};

NodeInputs inputsOf(Sig previous, const std::vector<HeapBit>& injected, const std::vector<Sig>& operandSigs) {
    NodeInputs in;
    in.slot.assign(operandSigs.size(), -1);
    if (previous >= 0) in.ops.push_back(previous);
    for (const HeapBit& b : injected)
        if (b.kind == HeapBit::Kind::Operand && in.slot[size_t(b.src)] < 0) {
            in.slot[size_t(b.src)] = int(in.ops.size());
            in.ops.push_back(operandSigs[size_t(b.src)]);
        }
    return in;
}

// Verilog of input bit b of a node: the previous level's output b, or an injected bit.
std::string bitText(int b, size_t previousBits, bool hasPrevious, const std::vector<HeapBit>& injected,
                    const std::vector<int>& slot, const std::vector<std::string>& ops) {
    if (size_t(b) < previousBits && hasPrevious) return ops[0] + "[" + std::to_string(b) + "]";
    const HeapBit& hb = injected[size_t(b) - (hasPrevious ? previousBits : 0)];
    if (hb.kind == HeapBit::Kind::One) return "1'b1";
    return (hb.inverted ? "~" : "") + ops[size_t(slot[size_t(hb.src)])] + "[" + std::to_string(hb.bit) + "]";
}

}  // namespace

Sig heapSum(RtlContext& c, const std::vector<Sig>& operandSigs, const std::vector<HeapOperand>& operands, Int128 constant,
            int width, Int128 lo, Int128 hi) {
    if (operandSigs.size() != operands.size()) throw Error("Verilog bit heap: operand count mismatch");
    auto plan = std::make_shared<const HeapPlan>(planHeap(operands, constant, width));
    c.nl.addPreamble("tachyon_count6", counterVerilog());
    const DelayModel& d = c.delay;
    Sig prev = -1;
    size_t prevBits = 0;
    for (size_t L = 0; L < plan->levels.size(); ++L) {
        const HeapLevel& lv = plan->levels[L];
        NodeInputs in = inputsOf(prev, lv.injected, operandSigs);
        Node n;
        n.name = c.nl.freshName(c.prefix + "heap");
        n.ops = in.ops;
        n.lo = 0;
        n.hi = 0;
        n.width = std::max<int>(1, int(lv.outputColumn.size()));
        n.delay = d.counterLevel();
        // Each bit feeds the three LUTs of its counter (two of a full adder).
        n.operandLoads.assign(n.ops.size(), 3.0);
        n.luts = lv.luts();
        const bool hasPrev = prev >= 0;
        n.body = [plan, L, prevBits, hasPrev, slot = in.slot](std::ostream& os, const std::vector<std::string>& ops,
                                                             const std::string& self) {
            const HeapLevel& lv = plan->levels[L];
            const auto text = [&](int b) { return bitText(b, prevBits, hasPrev, lv.injected, slot, ops); };
            std::vector<std::string> out(lv.outputColumn.size(), "1'b0");
            for (size_t k = 0; k < lv.counters.size(); ++k) {
                const auto& ins = lv.counters[k].inputs;
                std::string v;
                for (size_t i = 6; i-- > 0;) v += (v.empty() ? "" : ", ") + (i < ins.size() ? text(ins[i]) : "1'b0");
                const std::string w = self + "_c" + std::to_string(k);
                os << "  wire [2:0] " << w << " = `TACHYON_COUNT6(" << v << ");\n";
                if (lv.counterSum[k] >= 0) out[size_t(lv.counterSum[k])] = w + "[0]";
                if (lv.counterOutputs[k][0] >= 0) out[size_t(lv.counterOutputs[k][0])] = w + "[1]";
                if (lv.counterOutputs[k][1] >= 0) out[size_t(lv.counterOutputs[k][1])] = w + "[2]";
            }
            const size_t first = lv.outputColumn.size() - lv.passThrough.size();
            for (size_t k = 0; k < lv.passThrough.size(); ++k) out[first + k] = text(lv.passThrough[k]);
            std::string cat;
            for (size_t b = out.size(); b-- > 0;) cat += (cat.empty() ? "" : ", ") + out[b];
            os << "  assign " << self << " = {" << (cat.empty() ? "1'b0" : cat) << "};\n";
        };
        prev = c.nl.add(std::move(n));
        prevBits = lv.outputColumn.size();
    }
    // The carry-propagate adder of the two rows left.
    NodeInputs in = inputsOf(prev, plan->finalInjected, operandSigs);
    Node n;
    n.name = c.nl.freshName(c.prefix + "hsum");
    n.ops = in.ops;
    n.lo = lo;
    n.hi = hi;
    n.width = width;
    n.delay = d.adder(width);
    n.operandLoads.assign(n.ops.size(), 1.0);
    const bool hasPrev = prev >= 0;
    n.body = [plan, prevBits, hasPrev, slot = in.slot](std::ostream& os, const std::vector<std::string>& ops,
                                                      const std::string& self) {
        for (int r = 0; r < 2; ++r) {
            std::string cat;
            for (int col = plan->width; col-- > 0;) {
                const int b = plan->rows[size_t(col)][size_t(r)];
                cat += (cat.empty() ? "" : ", ") +
                       (b < 0 ? std::string("1'b0") : bitText(b, prevBits, hasPrev, plan->finalInjected, slot, ops));
            }
            // "_row", not "_r": the Netlist names a node's pipeline copies NAME_r1, NAME_r2, ...
            os << "  wire [" << plan->width - 1 << ":0] " << self << "_row" << r << " = {" << cat << "};\n";
        }
        os << "  assign " << self << " = " << self << "_row0 + " << self << "_row1;\n";
    };
    const Sig s = c.nl.add(std::move(n));
    if (c.nl.node(s).width != width)
        throw Error("Verilog bit heap: the sum's range needs " + std::to_string(c.nl.node(s).width) + " bits, not " +
                    std::to_string(width));
    return s;
}

}  // namespace tachyon::verilog
