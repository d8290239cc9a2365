// Building blocks of the softmax datapath that keep it shallow (issue 26: a softmax over a
// handful of classes in a few cycles).
#pragma once

#include "backends/verilog/RtlOps.h"

#include <vector>

namespace tachyon::verilog {

// d_i = max_j x_j - x_i for every i. Up to 8 inputs: every comparison and every difference
// x_j - x_i at once, then each d_i selects the difference of the (first) maximum, one
// comparator and an AND-OR level deep instead of a comparator tree and a subtractor in a
// row. More inputs: the comparator tree, then one subtractor each.
std::vector<Sig> maxMinusEach(RtlContext& c, const std::vector<Sig>& x);

// cast<dst>(a * b) with a * b at fraction `frac`; under AP_RND the rounding half is the
// product's constant addend (one multiply-accumulate), so the cast is a slice.
Sig roundedProduct(RtlContext& c, Sig a, Sig b, int frac, const FixedType& dst);

}  // namespace tachyon::verilog
