// The layers of attention blocks as netlist blocks: MatMul between two activations and
// LayerNormalization (docs/semantics.md, "MatMul" and "LayerNormalization").
#pragma once

#include "backends/verilog/RtlOps.h"
#include "lower/LoweredGraph.h"

#include <vector>

namespace tachyon::verilog {

// y = A . B (or A . B^T) per batch position, every product a variable x variable multiplier,
// summed as src/ops/attention/MatMulKernel.cpp sums them. a, b: raws of aT, bT in the row-major
// order of their shapes.
std::vector<Sig> matMulRtl(RtlContext& c, const Layer& l, const std::vector<Sig>& a, const FixedType& aT,
                           const Shape& aShape, const std::vector<Sig>& b, const FixedType& bT, const Shape& bShape);

// LayerNormalization over the last axis of `in` (raw of inT; any number of groups of
// l.shape.back() values), exactly as src/ops/attention/LayerNormKernel.cpp.
std::vector<Sig> layerNormRtl(RtlContext& c, const Layer& l, const LoweredGraph& low, const std::vector<Sig>& in,
                              const FixedType& inT);

}  // namespace tachyon::verilog
