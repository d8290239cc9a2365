// Constant matrix-vector multiplication (CMVM) as a shift-and-add adder graph.
//
// y_j = sum_i x_i * M[i][j] with integer constants M is built from two-input adders
// only: every weight is recoded in canonical signed digits (CSD: the fewest non-zero
// digits in {-1, 0, +1}), which turns y_j into a sum of signed, shifted inputs; then
// common subexpressions (the same pair of shifted terms, up to a common shift and sign)
// are extracted greedily across all outputs, the pair that saves the most LUT bits first
// ((uses - 1) x the bits of its adder, from the inputs' ranges), so that each shared pair
// costs one adder for the whole layer, optionally within an adder-depth budget
// (CmvmOptions::delayConstraint); finally each output's remaining terms are
// summed as a tree that always adds the two shallowest terms (minimum adder depth for
// the given terms). Zero weights produce no term and cost nothing.
#pragma once

#include "fixed/FixedType.h"

#include <cstdint>
#include <functional>
#include <optional>
#include <utility>
#include <string>
#include <vector>

namespace tachyon::verilog {

// ±(signal << shift). Signals 0..nIn-1 are the inputs, nIn + k is adder node k.
struct Term {
    int sig = 0;
    int shift = 0;
    bool neg = false;
    bool operator==(const Term&) const = default;
};

// One adder: a + b. Nodes are normalised so that a.shift == 0 and !a.neg.
struct AdderNode {
    Term a, b;
};

struct AdderGraph {
    int nIn = 0;
    std::vector<AdderNode> nodes;               // in topological order
    std::vector<std::optional<Term>> outputs;   // nullopt: the output is identically zero

    int adders() const { return int(nodes.size()); }
    // Adder depth of every signal (inputs 0) and of the deepest output.
    std::vector<int> depths() const;
    int depth() const;
    // value of each signal as an integer combination of the inputs: coeff[sig][i].
    std::vector<std::vector<Int128>> coefficients() const;
};

struct CmvmOptions {
    bool cse = true;                 // false: CSD terms summed per output, nothing shared at all
    // Raw integer range [lo, hi] of each input, for the adder cost (LUT bits); empty:
    // every input is taken as 8-bit signed.
    std::vector<std::pair<Int128, Int128>> inputRange = {};
    // Depth vs area (da4ml's hard_dc; config key DelayConstraint, docs/config.md): -1 =
    // share every pair that saves bits (fewest LUTs); d >= 0 = no output gets deeper than
    // its CSD-only minimum adder depth plus d (0: CSE never costs depth).
    int delayConstraint = -1;
    // Deepest adder CSE may share (-1: any). Outputs summed as bit heaps (BitHeap.h) want
    // shallow shared adders: a shared adder d levels deep holds its bits back ~2d counter
    // levels, while the heap itself halves per counter level.
    int maxSharedDepth = -1;
    // CSE bookkeeping grows with the number of term pairs; above this many the layer
    // is built without CSE (still CSD, still depth-balanced) to keep codegen fast.
    size_t maxPairs = 4'000'000;
    // Called with a line before and after the CSE of a graph with at least
    // progressPairs term pairs (seconds of work), so that a long codegen never looks hung.
    std::function<void(const std::string&)> progress = {};
    size_t progressPairs = 500'000;
};

// LUT bits of the adder a + ±(b << shift) whose result lies in [lo, hi]: the carry
// chain runs from bit `shift` (a's lower bits pass through) to the result's top bit.
int adderBits(Int128 lo, Int128 hi, int shift);

// Two-input adders of one layer's shift-add graphs (for `tachyon report`): with CSE, and
// what the same CSD terms would take unshared.
struct LayerAdders {
    std::string layer;
    int cse = 0, csdOnly = 0;
    int64_t cseBits = 0, csdOnlyBits = 0;   // their LUT bits (adderBits)
};

// CSD digits of v, least significant first, each in {-1, 0, +1}.
std::vector<int> csdDigits(int64_t v);

// matrix is row-major [nIn][nOut].
AdderGraph buildCmvm(const std::vector<int64_t>& matrix, int nIn, int nOut,
                     const CmvmOptions& opt = {});

// Range of a + ±(b << shift) for a in [a.first, a.second], b likewise (interval arithmetic).
std::pair<Int128, Int128> termSumRange(std::pair<Int128, Int128> a, std::pair<Int128, Int128> b, int shift, bool neg);
// Sum of adderBits over the graph's adders, for inputs in `inputRange` (raw integers; node
// ranges by interval arithmetic, as the CSE's cost model sees them).
int64_t lutBits(const AdderGraph& g, const std::vector<std::pair<Int128, Int128>>& inputRange);

// Runs the graph on integer inputs (for tests and self-checks).
std::vector<Int128> evaluate(const AdderGraph& g, const std::vector<Int128>& x);

}  // namespace tachyon::verilog
