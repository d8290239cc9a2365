// BatchNorm as netlist blocks (Rtl.cpp).
#pragma once

#include "backends/verilog/LayerRtl.h"

#include <string>
#include <vector>

namespace tachyon::verilog {

// The op registry's entry (ops/OpList.h): per channel of the last axis.
std::vector<Sig> batchNormRtl(RtlContext& c, const Layer& l, const LoweredGraph& low, const std::vector<Sig>& in,
                              const FixedType& inT);

}  // namespace tachyon::verilog
