// TreeEnsemble layers as netlist blocks (Rtl.cpp).
#pragma once

#include "backends/verilog/RtlOps.h"
#include "lower/LoweredGraph.h"

#include <vector>

namespace tachyon::verilog {

// Its scores, raw of its result type, from features raw of inT.
std::vector<Sig> treeEnsembleRtl(RtlContext& c, const Layer& l, const std::vector<Sig>& in, const FixedType& inT);
// The same with the op registry's rtl signature (ops/OpList.h).
std::vector<Sig> treeEnsembleLayerRtl(RtlContext& c, const Layer& l, const LoweredGraph& low,
                                      const std::vector<Sig>& in, const FixedType& inT);

}  // namespace tachyon::verilog
