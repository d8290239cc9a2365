// Graph layers as netlist blocks: the op registry's Verilog columns (ops/OpList.h) and how
// the backend reaches them. Each op's block is in src/ops/<op>/Rtl.cpp.
#pragma once

#include "backends/verilog/RtlOps.h"
#include "lower/LoweredGraph.h"

#include <string>
#include <vector>

namespace tachyon::verilog {

// Why this backend cannot build the layer, or empty when it can: the legality column of
// the op registry (ops/OpList.h) for its kind.
std::string unsupportedReason(const Layer& l);

// The layer's outputs as raw integers of its result type, from its inputs (raw of inT):
// the rtl column of the op registry for its kind.
std::vector<Sig> emitLayer(RtlContext& c, const Layer& l, const LoweredGraph& low, const std::vector<Sig>& in,
                           const FixedType& inT);

// ---- the op registry's Verilog columns (ops/OpList.h) -----------------------------------

// rtl: one layer of a vector design (or one pixel of a stream), as emitLayer describes.
using LayerEmitter = std::vector<Sig> (*)(RtlContext& c, const Layer& l, const LoweredGraph& low,
                                          const std::vector<Sig>& in, const FixedType& inT);
// legality: why the backend refuses this layer, or "".
using Legality = std::string (*)(const Layer& l);
// streamRtl: how the graph builder (StreamRtl.cpp) carries the layer.
enum class StreamForm {
    Elementwise,   // per pixel on a stream (rtl column), on the whole tensor otherwise
    Conv,          // line buffers and a window per output pixel
    Pool,          // windows or global pooling
    Pad,           // zero padding: a remapped stream
    Resize,        // nearest upsampling: a remapped stream
    Merge,         // Merge and Concatenate: operands aligned in time
    Reduce,        // per pixel over the last axis, else on the collected tensor
    Sequence,      // the whole collected sequence at once (recurrent layers)
    GarNet,        // vertices and their count, collected
    MatMul,        // two collected operands
    Movement,      // Reshape, Transpose: an index map on the collected tensor
};

// The entries kept here (LayerRtl.cpp): a cast to the result type (Input, Reshape) and the
// legality of the ops the backend always builds. Each op declares its own in
// src/ops/<op>/Rtl.h.
std::vector<Sig> castRtl(RtlContext& c, const Layer& l, const LoweredGraph& low, const std::vector<Sig>& in,
                         const FixedType& inT);
std::string alwaysBuilt(const Layer& l);   // ""

}  // namespace tachyon::verilog
