// One exception type for every user-facing error. The message names the file,
// the layer/node or configuration key, and the reason; the CLI prints it and exits 1.
#pragma once

#include <stdexcept>
#include <string>

namespace tachyon {

class Error : public std::runtime_error {
public:
    explicit Error(const std::string& msg) : std::runtime_error(msg) {}
};

}  // namespace tachyon
