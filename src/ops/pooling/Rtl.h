// Pooling in the Verilog backend (Rtl.cpp): the windows are built by the graph builder
// (backends/verilog/StreamRtl.cpp, StreamForm::Pool).
#pragma once

#include "backends/verilog/LayerRtl.h"

#include <string>
#include <vector>

namespace tachyon::verilog {

// The op registry's legality entry (ops/OpList.h): padded averages that exclude the padding.
std::string poolingLegality(const Layer& l);

}  // namespace tachyon::verilog
