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

// A TreeEnsemble (TreeRtl.cpp): its scores, raw of its result type, from features raw of inT.
std::vector<Sig> treeEnsembleRtl(RtlContext& c, const Layer& l, const std::vector<Sig>& in, const FixedType& inT);

// Why this backend cannot build the layer, or empty when it can.
std::string unsupportedReason(const Layer& l);

// The layer's outputs as raw integers of its result type, from its inputs (raw of inT).
std::vector<Sig> emitLayer(RtlContext& c, const Layer& l, const LoweredGraph& low, const std::vector<Sig>& in,
                           const FixedType& inT);

}  // namespace tachyon::verilog
