// The backends' Target for an IOType, as a test writes it ("io_parallel" or "io_stream"):
// what a configuration with only that key gives (Config::target()), so the tests that build
// a graph themselves hand the backends the io type their configuration named.
#pragma once

#include "config/Config.h"

#include <string>

namespace test_support {

inline tachyon::Target ioTarget(const std::string& io) {
    return tachyon::Config::parse("IOType: " + io + "\n", "<test io type>").target();
}

}  // namespace test_support
