// SimpleRNN, LSTM and GRU as netlist blocks (docs/semantics.md, "Recurrent layers"),
// unrolled in time: every step's cell is built again from the same constants, so the whole
// sequence is one combinational function of the input that the scheduler pipelines.
#pragma once

#include "backends/verilog/RtlOps.h"
#include "lower/LoweredGraph.h"

#include <vector>

namespace tachyon::verilog {

// The layer's outputs (raw of its result type) from the sequence `in` ([steps][nIn], raw of
// inT), computing exactly what src/ops/recurrent/Kernel.cpp computes.
std::vector<Sig> recurrentRtl(RtlContext& c, const Layer& l, const LoweredGraph& low, const std::vector<Sig>& in,
                              const FixedType& inT);

}  // namespace tachyon::verilog
