// A layer as netlist blocks through the op registry: each op's block (src/ops/<op>/Rtl.cpp)
// follows docs/semantics.md exactly, with the constants of the lowered graph
// (lower/LoweredGraph.h), the ones the emulator computes with, so the RTL computes what it
// computes. Kept here: the cast of Input and Reshape layers.
#include "backends/verilog/LayerRtl.h"

#include "ops/Registry.h"
#include "util/Error.h"

namespace tachyon::verilog {

std::vector<Sig> castRtl(RtlContext& c, const Layer& l, const LoweredGraph&, const std::vector<Sig>& in,
                         const FixedType& inT) {
    std::vector<Sig> out;
    for (Sig x : in) out.push_back(castTo(c, x, inT.frac(), l.type("result")));
    return out;
}

std::string alwaysBuilt(const Layer&) { return {}; }

std::string unsupportedReason(const Layer& l) { return ops::opInfo(l.kind).legality(l); }

std::vector<Sig> emitLayer(RtlContext& c, const Layer& l, const LoweredGraph& low, const std::vector<Sig>& in,
                           const FixedType& inT) {
    c.prefix = l.name + "_";
    c.delayConstraint = l.schedule.delayConstraint;
    for (char& ch : c.prefix)
        if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '_') ch = '_';
    const LayerEmitter emit = ops::opInfo(l.kind).rtl;
    if (!emit) throw Error("Verilog backend: layer " + l.name + ": kind " + toString(l.kind) + " not supported");
    return emit(c, l, low, in, inT);
}

}  // namespace tachyon::verilog
