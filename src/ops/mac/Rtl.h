// Dense and every convolution window's multiply-accumulate as netlist blocks (Rtl.cpp);
// the Verilog graph builder (backends/verilog/StreamRtl.cpp), GarNet and the recurrent cells
// build theirs from macRtl and xnorRtl.
#pragma once

#include "backends/verilog/LayerRtl.h"

#include <string>
#include <vector>

namespace tachyon::verilog {

// One multiply-accumulate block (Dense, or a convolution's window): y_j =
// act(cast<result>(acc_j)) with the accumulation of docs/semantics.md (Kernel.cpp).
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

// The op registry's entries (ops/OpList.h): a Dense layer over the last axis, and what a
// Dense or Conv layer cannot be built with.
std::vector<Sig> denseRtl(RtlContext& c, const Layer& l, const LoweredGraph& low, const std::vector<Sig>& in,
                          const FixedType& inT);
std::string macLegality(const Layer& l);   // fused activations other than linear / relu

}  // namespace tachyon::verilog
