// Graph layers as netlist blocks (see LayerRtl.cpp for how each layer is built).
#pragma once

#include "backends/verilog/RtlOps.h"
#include "lower/LoweredGraph.h"

#include <string>
#include <vector>

namespace tachyon::verilog {

// One multiply-accumulate block (Dense, or a convolution's window): y_j =
// act(cast<result>(acc_j)) with the accumulation of docs/semantics.md (Mac.cpp).
struct MacSpec {
    std::vector<int64_t> weight;   // raw, [nIn][nOut]
    std::vector<int64_t> bias;     // raw, [nOut]
    int nIn = 0, nOut = 0;
    FixedType accum, result;
    int weightFrac = 0, biasFrac = 0;
    bool relu = false;
};
MacSpec macSpec(const Layer& l, const LoweredGraph& low);
std::vector<Sig> macRtl(RtlContext& c, const MacSpec& spec, const std::vector<Sig>& in, const FixedType& inT);
// y_j = act(cast<result>(acc_j)) from the accumulators (raw of spec.accum).
// halfAdded: the accumulators already hold + half an LSB of the result (AP_RND folded in).
std::vector<Sig> macOutputs(RtlContext& c, const MacSpec& spec, const std::vector<Sig>& acc, bool halfAdded = false);
// The same layer when it is binary x binary (passes/BinaryMac.h): XNOR-popcount.
// mayBeZero: some inputs may be 0 at run time (a streamed convolution's padded taps).
std::vector<Sig> xnorRtl(RtlContext& c, const MacSpec& spec, const BinaryMac& f, const std::vector<Sig>& in,
                         bool mayBeZero = false);

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

// rtl entries of the ops kept here (LayerRtl.cpp): a cast to the result type (Input,
// Reshape), Dense, BatchNorm, activations, softmax over the last axis. The ops with a folder
// of their own declare theirs in src/ops/<op>/Rtl.h.
std::vector<Sig> castRtl(RtlContext& c, const Layer& l, const LoweredGraph& low, const std::vector<Sig>& in,
                         const FixedType& inT);
std::vector<Sig> denseRtl(RtlContext& c, const Layer& l, const LoweredGraph& low, const std::vector<Sig>& in,
                          const FixedType& inT);
std::vector<Sig> batchNormRtl(RtlContext& c, const Layer& l, const LoweredGraph& low, const std::vector<Sig>& in,
                              const FixedType& inT);
std::vector<Sig> activationRtl(RtlContext& c, const Layer& l, const LoweredGraph& low, const std::vector<Sig>& in,
                               const FixedType& inT);
std::vector<Sig> softmaxRtl(RtlContext& c, const Layer& l, const LoweredGraph& low, const std::vector<Sig>& in,
                            const FixedType& inT);
// legality entries (LayerRtl.cpp).
std::string alwaysBuilt(const Layer& l);       // ""
std::string macLegality(const Layer& l);       // fused activations other than linear / relu
std::string poolingLegality(const Layer& l);   // padded averages that exclude the padding
std::string softmaxLegality(const Layer& l);   // hls4ml's legacy softmax

}  // namespace tachyon::verilog
