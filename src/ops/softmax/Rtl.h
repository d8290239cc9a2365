// Softmax as netlist blocks (Rtl.cpp): Tachyon's softmax and hls4ml's stable, latency and
// argmax ones, with building blocks that keep the datapath shallow (issue 26: a softmax over
// a handful of classes in a few cycles).
#pragma once

#include "backends/verilog/LayerRtl.h"
#include "backends/verilog/RtlOps.h"

#include <string>

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

// The op registry's entries (ops/OpList.h): one softmax per position of the other axes,
// over the last; and hls4ml's legacy softmax refused by name.
std::vector<Sig> softmaxRtl(RtlContext& c, const Layer& l, const LoweredGraph& low, const std::vector<Sig>& in,
                            const FixedType& inT);
std::string softmaxLegality(const Layer& l);

}  // namespace tachyon::verilog
