// Pooling in the Verilog backend: the graph builder (backends/verilog/StreamRtl.cpp,
// StreamForm::Pool) builds the windows; this is what it refuses.
#include "ops/pooling/Rtl.h"

namespace tachyon::verilog {

std::string poolingLegality(const Layer& l) {
    const auto& a = l.as<PoolAttrs>();
    bool padded = false;
    for (int p : a.padBegin) padded = padded || p > 0;
    for (int p : a.padEnd) padded = padded || p > 0;
    if (!a.global && a.op == PoolOp::Average && padded && !a.countPadding)
        return "average pooling whose divisor excludes the padding (a different divisor per border position)";
    return {};
}

}  // namespace tachyon::verilog
