#include "ir/Target.h"

namespace tachyon {

std::string toString(IoType io) { return io == IoType::Stream ? "io_stream" : "io_parallel"; }

double Target::clockUncertaintyNs() const {
    if (clockUncertainty.empty()) return 0.0;
    // The configuration accepted it as a number or a percentage (config/Config.cpp).
    if (clockUncertainty.back() == '%') return std::stod(clockUncertainty) / 100.0 * clockPeriodNs;
    return std::stod(clockUncertainty);
}

}  // namespace tachyon
