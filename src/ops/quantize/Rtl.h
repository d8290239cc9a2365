// Quantize layers (quantisation-aware models: QKeras, HGQ, QONNX, binary/ternary) as
// netlist blocks, bit-exact to src/ops/quantize/Kernel.cpp.
#pragma once

#include "backends/verilog/RtlOps.h"
#include "ir/Graph.h"
#include "lower/LoweredGraph.h"

#include <vector>

namespace tachyon::verilog {

// The layer's outputs as raw integers of its result type, from its inputs (raw of inT).
// `in` is the whole tensor (io_parallel) or one pixel of a stream (its channels); a
// stream needs the same quantiser at every pixel (refused by name otherwise).
//   Fixed:     y_e = cast<result>(cast<T_e>(x_e)): two exact casts (castTo), 0 for a
//              0-bit element;
//   Threshold: y = cast<result>(levels[n]), n = #{thresholds of the channel <= x}: the
//              thresholds become bounds on the raw input (thresholdRaw), sorted (the count
//              does not depend on their order), those the input's range always or never
//              reaches are folded, the rest is one priority chain of comparators.
std::vector<Sig> quantizeRtl(RtlContext& c, const Layer& l, const std::vector<Sig>& in, const FixedType& inT);

// quantizeRtl with the op registry's rtl signature (ops/OpList.h).
std::vector<Sig> quantizeLayerRtl(RtlContext& c, const Layer& l, const LoweredGraph& low, const std::vector<Sig>& in,
                   const FixedType& inT);

}  // namespace tachyon::verilog
