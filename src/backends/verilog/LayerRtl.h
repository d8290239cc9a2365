// Graph layers as netlist blocks (see LayerRtl.cpp for how each layer is built).
#pragma once

#include "backends/verilog/RtlOps.h"
#include "emulator/Emulator.h"

#include <string>
#include <vector>

namespace tachyon::verilog {

// Why this backend cannot build the layer, or empty when it can.
std::string unsupportedReason(const Layer& l);

// The layer's outputs as raw integers of its result type, from its inputs (raw of inT).
std::vector<Sig> emitLayer(RtlContext& c, const Layer& l, const Emulator& emu, const std::vector<Sig>& in,
                           const FixedType& inT);

}  // namespace tachyon::verilog
