// Constant matrix-vector multiplication (CMVM) as a shift-and-add adder graph.
//
// y_j = sum_i x_i * M[i][j] with integer constants M is built from two-input adders
// only: every weight is recoded in canonical signed digits (CSD: the fewest non-zero
// digits in {-1, 0, +1}), which turns y_j into a sum of signed, shifted inputs; then
// common subexpressions (the same pair of shifted terms, up to a common shift and sign)
// are extracted greedily across all outputs, most frequent first, so that each shared
// pair costs one adder for the whole layer; finally each output's remaining terms are
// summed as a tree that always adds the two shallowest terms (minimum adder depth for
// the given terms). Zero weights produce no term and cost nothing.
#pragma once

#include "fixed/FixedType.h"

#include <cstdint>
#include <optional>
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
    bool cse = true;                 // false: CSD terms summed per output, nothing shared
    // CSE bookkeeping grows with the number of term pairs; above this many the layer
    // is built without CSE (still CSD, still depth-balanced) to keep codegen fast.
    size_t maxPairs = 4'000'000;
};

// CSD digits of v, least significant first, each in {-1, 0, +1}.
std::vector<int> csdDigits(int64_t v);

// matrix is row-major [nIn][nOut].
AdderGraph buildCmvm(const std::vector<int64_t>& matrix, int nIn, int nOut,
                     const CmvmOptions& opt = {});

// Runs the graph on integer inputs (for tests and self-checks).
std::vector<Int128> evaluate(const AdderGraph& g, const std::vector<Int128>& x);

}  // namespace tachyon::verilog
