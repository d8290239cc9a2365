// hls4ml's project-level keys (IOType, Part, ClockPeriod, ClockUncertainty, Backend) and
// Tachyon's RegisterInputs as the typed Target the backends read: the only place their
// spellings are mapped.
#include "config/Config.h"

#include "util/Error.h"

namespace tachyon {

Target Config::target() const {
    Target t;
    if (ioType == "io_stream") t.io = IoType::Stream;
    else if (ioType == "io_parallel") t.io = IoType::Parallel;
    else throw Error(source + ": IOType: '" + ioType + "' is not supported (io_parallel or io_stream)");
    t.part = part;
    t.clockPeriodNs = clockPeriodNs;
    t.clockUncertainty = clockUncertainty;
    t.backend = backend;
    t.registerInputs = registerInputs;
    return t;
}

}  // namespace tachyon
