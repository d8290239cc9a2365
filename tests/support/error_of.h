// The message of the tachyon::Error a piece of code throws, for tests of error messages.
#pragma once

#include "util/Error.h"

#include <gtest/gtest.h>

#include <exception>
#include <functional>
#include <string>

namespace test_support {

// The message of the tachyon::Error that `f` throws, "" when it throws none. Any other
// exception is a test failure: Tachyon reports bad input as tachyon::Error.
inline std::string errorOf(const std::function<void()>& f) {
    try {
        f();
    } catch (const tachyon::Error& e) {
        return e.what();
    } catch (const std::exception& e) {
        ADD_FAILURE() << "expected tachyon::Error, got another exception: " << e.what();
        return "(another exception)";
    }
    return "";
}

}  // namespace test_support
