// Arithmetic building blocks on a Netlist: the exact fixed-point cast, constant
// linear maps (adder graph or naive multipliers), comparisons, ROM lookups.
// Every block computes raw integers exactly as docs/semantics.md defines them and
// derives its output range, so downstream wires keep their exact widths.
#pragma once

#include "backends/verilog/Cmvm.h"
#include "backends/verilog/Netlist.h"
#include "emulator/Tables.h"
#include "fixed/FixedType.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace tachyon::verilog {

struct RtlContext {
    Netlist& nl;
    DelayModel delay;
    bool naive = false;     // constant products as `*` instead of shift-add graphs
    std::string prefix;     // name prefix of the current layer
    // delayTap: source signal -> (its register chain node, the chain's depth).
    std::map<Sig, std::pair<Sig, std::shared_ptr<int64_t>>> chains = {};
    // The current layer's DelayConstraint (Schedule::delayConstraint) for its shift-add graphs.
    int delayConstraint = -1;
    // Adders of the shift-add graphs per layer, in the order the layers were built.
    std::vector<LayerAdders> adders = {};
    // Combinational time per pipeline stage (clock period minus register overhead): an
    // operation the DelayModel says cannot fit a stage is split into parts that can.
    double stageBudgetNs = 4.4;
    // Shift-add outputs of three or more terms summed as bit heaps (BitHeap.h: LUT-level
    // counters and one carry-propagate adder) instead of trees of two-input adders.
    bool bitHeaps = true;
};

// cast<dst>(raw * 2^-srcFrac): quantisation mode then overflow mode, as FixedType::castRaw.
Sig castTo(RtlContext& c, Sig src, int srcFrac, const FixedType& dst);
// Only the quantisation step of castTo: raw at dst.frac(), no overflow handling yet.
Sig castQuantize(RtlContext& c, Sig src, int srcFrac, const FixedType& dst);

// y_j = consts[j] + (sum_i x_i * m[i][j]) << outShift, m row-major [nIn][nOut].
// modBits > 0: only the value modulo 2^modBits is needed (wrapping accumulators), so
// no wire is wider than that. Shift-add graph with CSE unless c.naive.
std::vector<Sig> linearMap(RtlContext& c, const std::vector<Sig>& x, const std::vector<int64_t>& m,
                           int nIn, int nOut, const std::vector<Int128>& consts, int outShift = 0,
                           int modBits = 0);

Sig constant(RtlContext& c, Int128 v);
Sig shiftLeft(RtlContext& c, Sig a, int k);
Sig add(RtlContext& c, Sig a, Sig b, bool subtract = false);
Sig multiply(RtlContext& c, Sig a, Sig b, Int128 addend = 0);   // a * b + addend, variable x variable (softmax)
Sig maximum(RtlContext& c, Sig a, Sig b);
Sig minimum(RtlContext& c, Sig a, Sig b);
// max_i x_i as a balanced comparator tree: ceil(log2 n) comparator levels instead of a
// chain of n - 1 (the maximum is exact, so the order does not change the value).
Sig maxTree(RtlContext& c, std::vector<Sig> level);
// castRational: cast<dst>(num * 2^-frac / den) exactly (den >= 1 constant), as
// emulator/Cast.h: 4*floor(2n/d)/2 + sticky bit at frac(dst) + 2, then castTo.
Sig castDivConst(RtlContext& c, Sig num, int frac, Int128 den, const FixedType& dst);
// `valid ? x : fill` (valid: a [0, 1] signal).
Sig maskValid(RtlContext& c, Sig x, Sig valid, Int128 fill);
// x as it was `cycles` clock edges ago (a shift register; the same stage as x).
// Taps of one source share one register chain.
Sig delayTap(RtlContext& c, Sig x, int64_t cycles);
// ops[sel] (sel: a signal in [0, ops.size() - 1]).
Sig selectIndex(RtlContext& c, Sig sel, const std::vector<Sig>& ops);
Sig clampConst(RtlContext& c, Sig a, Int128 lo, Int128 hi);   // min(max(a, lo), hi)
Sig selectSign(RtlContext& c, Sig key, Sig ifNonNegative, Sig ifNegative);
// table.lookup(raw key), with the table's own index arithmetic; entries become a
// `case` ROM emitted once per table as a Verilog function.
// offsetInKey: `key` already holds table.offset << table.shift (added where it was cheaper,
// e.g. in an adder tree's constant), so the index needs no adder of its own. A small
// non-negative key addresses a ROM by its own bits, the index arithmetic in the entries.
Sig romLookup(RtlContext& c, Sig key, const LookupTable& table, const std::string& tableName,
              bool offsetInKey = false);

}  // namespace tachyon::verilog
