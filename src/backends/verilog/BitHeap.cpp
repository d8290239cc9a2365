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
    "  endfunction\n";

struct Placed {
    int index;    // into the level's input bits
    int column;
};

}  // namespace

int HeapLevel::luts() const {
    int n = 0;
    for (size_t k = 0; k < counters.size(); ++k)
        n += (counterSum[k] >= 0) + (counterOutputs[k][0] >= 0) + (counterOutputs[k][1] >= 0);
    return n;
}

HeapPlan planHeap(const std::vector<HeapOperand>& operands, Int128 constant, int width) {
    if (width < 1 || width > 120) throw Error("Verilog bit heap: width " + std::to_string(width) + " out of range");
    HeapPlan p;
    p.width = width;
    const Int128 mod = Int128(1) << width;
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
            p.bits.push_back({HeapBit::Kind::Operand, int(o), i, inverted});
            p.bitColumn.push_back(col);
        }
    }
    k = ((k % mod) + mod) % mod;
    for (int col = 0; col < width; ++col)
        if ((k >> col) & 1) {
            p.bits.push_back({HeapBit::Kind::One, 0, 0, false});
            p.bitColumn.push_back(col);
        }

    std::vector<int> column = p.bitColumn;   // columns of the current level's input bits
    for (int guard = 0;; ++guard) {
        std::vector<std::vector<int>> byColumn(static_cast<size_t>(width));
        for (size_t b = 0; b < column.size(); ++b) byColumn[size_t(column[b])].push_back(int(b));
        size_t tallest = 0;
        for (const auto& c : byColumn) tallest = std::max(tallest, c.size());
        if (tallest <= 2) {
            p.rows.assign(size_t(width), {-1, -1});
            for (int col = 0; col < width; ++col)
                for (size_t r = 0; r < byColumn[size_t(col)].size(); ++r) p.rows[size_t(col)][r] = byColumn[size_t(col)][r];
            return p;
        }
        if (guard > 64) throw Error("Verilog bit heap: the compressor tree does not converge");
        HeapLevel lv;
        for (int col = 0; col < width; ++col) {
            const auto& bits = byColumn[size_t(col)];
            size_t at = 0;
            // Six at a time; a rest of three to five gets a counter of its own; one or two
            // bits pass through (a counter would not make the column shorter).
            while (bits.size() - at >= 3) {
                const size_t n = std::min<size_t>(6, bits.size() - at);
                HeapCounter ctr;
                ctr.column = col;
                ctr.inputs.assign(bits.begin() + ptrdiff_t(at), bits.begin() + ptrdiff_t(at + n));
                lv.counters.push_back(std::move(ctr));
                at += n;
            }
            for (; at < bits.size(); ++at) lv.passThrough.push_back(bits[at]);
        }
        std::vector<int> next;
        for (const HeapCounter& ctr : lv.counters) {
            auto place = [&](int col) {
                if (col >= width) return -1;
                next.push_back(col);
                return int(next.size()) - 1;
            };
            lv.counterSum.push_back(place(ctr.column));
            const int b1 = place(ctr.column + 1);
            const int b2 = ctr.outputs() == 3 ? place(ctr.column + 2) : -1;
            lv.counterOutputs.push_back({b1, b2});
        }
        for (int b : lv.passThrough) next.push_back(column[size_t(b)]);
        lv.outputColumn = next;
        p.levels.push_back(std::move(lv));
        column = std::move(next);
    }
}

Int128 evaluateHeap(const HeapPlan& p, const std::vector<HeapOperand>& operands, const std::vector<Int128>& values) {
    std::vector<int> bits;
    for (const HeapBit& b : p.bits) {
        int v = 1;
        if (b.kind == HeapBit::Kind::Operand) {
            const Int128 mod = Int128(1) << operands[size_t(b.src)].width;
            const Int128 raw = ((values[size_t(b.src)] % mod) + mod) % mod;   // the wire's two's complement
            v = int((raw >> b.bit) & 1);
        }
        bits.push_back(b.inverted ? 1 - v : v);
    }
    for (const HeapLevel& lv : p.levels) {
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
    Int128 sum = 0;
    for (int col = 0; col < p.width; ++col)
        for (int r : p.rows[size_t(col)])
            if (r >= 0) sum += Int128(bits[size_t(r)]) << col;
    const Int128 mod = Int128(1) << p.width;
    sum %= mod;
    return sum >= mod / 2 ? sum - mod : sum;
}

Sig heapSum(RtlContext& c, const std::vector<Sig>& operandSigs, const std::vector<HeapOperand>& operands, Int128 constant,
            int width, Int128 lo, Int128 hi) {
    if (operandSigs.size() != operands.size()) throw Error("Verilog bit heap: operand count mismatch");
    auto plan = std::make_shared<const HeapPlan>(planHeap(operands, constant, width));
    c.nl.addPreamble("tachyon_count6", kCounterFunction);
    // Verilog of input bit b of level L (L = 0: the initial heap, read from the operands).
    auto bitText = [plan](size_t level, int b, const std::vector<std::string>& ops) -> std::string {
        if (level == 0) {
            const HeapBit& hb = plan->bits[size_t(b)];
            if (hb.kind == HeapBit::Kind::One) return "1'b1";
            return (hb.inverted ? "~" : "") + ops[size_t(hb.src)] + "[" + std::to_string(hb.bit) + "]";
        }
        return ops[0] + "[" + std::to_string(b) + "]";
    };
    std::vector<Sig> prev = operandSigs;
    const DelayModel& d = c.delay;
    for (size_t L = 0; L < plan->levels.size(); ++L) {
        const HeapLevel& lv = plan->levels[L];
        Node n;
        n.name = c.nl.freshName(c.prefix + "heap");
        n.ops = prev;
        n.lo = 0;
        n.hi = 0;
        n.width = std::max<int>(1, int(lv.outputColumn.size()));
        n.delay = d.logic();
        // Each bit feeds the three LUTs of its counter (two of a full adder).
        n.operandLoads.assign(prev.size(), 3.0);
        n.luts = lv.luts();
        n.body = [plan, L, bitText](std::ostream& os, const std::vector<std::string>& ops, const std::string& self) {
            const HeapLevel& lv = plan->levels[L];
            std::vector<std::string> out(lv.outputColumn.size(), "1'b0");
            for (size_t k = 0; k < lv.counters.size(); ++k) {
                const auto& in = lv.counters[k].inputs;
                std::string v;
                for (size_t i = 6; i-- > 0;) v += (v.empty() ? "" : ", ") + (i < in.size() ? bitText(L, in[i], ops) : "1'b0");
                const std::string w = self + "_c" + std::to_string(k);
                os << "  wire [2:0] " << w << " = tachyon_count6({" << v << "});\n";
                if (lv.counterSum[k] >= 0) out[size_t(lv.counterSum[k])] = w + "[0]";
                if (lv.counterOutputs[k][0] >= 0) out[size_t(lv.counterOutputs[k][0])] = w + "[1]";
                if (lv.counterOutputs[k][1] >= 0) out[size_t(lv.counterOutputs[k][1])] = w + "[2]";
            }
            const size_t first = lv.outputColumn.size() - lv.passThrough.size();
            for (size_t k = 0; k < lv.passThrough.size(); ++k) out[first + k] = bitText(L, lv.passThrough[k], ops);
            std::string cat;
            for (size_t b = out.size(); b-- > 0;) cat += (cat.empty() ? "" : ", ") + out[b];
            os << "  assign " << self << " = {" << (cat.empty() ? "1'b0" : cat) << "};\n";
        };
        prev = {c.nl.add(std::move(n))};
    }
    // The carry-propagate adder of the two rows left.
    Node n;
    n.name = c.nl.freshName(c.prefix + "hsum");
    n.ops = prev;
    n.lo = lo;
    n.hi = hi;
    n.width = width;
    n.delay = d.adder(width);
    const size_t L = plan->levels.size();
    n.body = [plan, L, bitText](std::ostream& os, const std::vector<std::string>& ops, const std::string& self) {
        for (int r = 0; r < 2; ++r) {
            std::string cat;
            for (int col = plan->width; col-- > 0;) {
                const int b = plan->rows[size_t(col)][size_t(r)];
                cat += (cat.empty() ? "" : ", ") + (b < 0 ? std::string("1'b0") : bitText(L, b, ops));
            }
            os << "  wire [" << plan->width - 1 << ":0] " << self << "_r" << r << " = {" << cat << "};\n";
        }
        os << "  assign " << self << " = " << self << "_r0 + " << self << "_r1;\n";
    };
    if (L == 0) n.operandLoads.assign(prev.size(), 1.0);
    const Sig s = c.nl.add(std::move(n));
    if (c.nl.node(s).width != width)
        throw Error("Verilog bit heap: the sum's range needs " + std::to_string(c.nl.node(s).width) + " bits, not " +
                    std::to_string(width));
    return s;
}

}  // namespace tachyon::verilog
