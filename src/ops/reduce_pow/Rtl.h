// Reduce and Pow layers as netlist blocks (docs/semantics.md, "Reduce" and "Pow").
#pragma once

#include "backends/verilog/RtlOps.h"
#include "ir/Graph.h"
#include "lower/LoweredGraph.h"

#include <vector>

namespace tachyon::verilog {

// Reduce over the axis of l: `in` holds [outer][n][inner] values (raw of inT), n and
// inner those of the input shape `inShape` (outer follows from in.size(): a streamed
// reduction over the last axis passes one pixel's channels).
std::vector<Sig> reduceRtl(RtlContext& c, const Layer& l, const std::vector<Sig>& in, const FixedType& inT,
                           const Shape& inShape);
// x^k per value.
std::vector<Sig> powRtl(RtlContext& c, const Layer& l, const std::vector<Sig>& in, const FixedType& inT);

// powRtl with the op registry's rtl signature (ops/OpList.h).
std::vector<Sig> powLayerRtl(RtlContext& c, const Layer& l, const LoweredGraph& low, const std::vector<Sig>& in,
                   const FixedType& inT);

}  // namespace tachyon::verilog
