// GarNet / GarNetStack as netlist blocks (docs/semantics.md, "GarNet").
#pragma once

#include "backends/verilog/RtlOps.h"
#include "lower/LoweredGraph.h"

#include <vector>

namespace tachyon::verilog {

// The layer's outputs (raw of its result type) from the vertex features (`vertices`,
// [V][F] raws of dataT) and the vertex count (`count`, a raw of countT), computing exactly
// what src/ops/garnet/Kernel.cpp computes, every vertex in parallel.
std::vector<Sig> garnetRtl(RtlContext& c, const Layer& l, const LoweredGraph& low, const std::vector<Sig>& vertices,
                           const FixedType& dataT, Sig count, const FixedType& countT);

}  // namespace tachyon::verilog
