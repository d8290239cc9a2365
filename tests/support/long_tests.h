// Long tests: each takes minutes (a large design through Verilator, Yosys, place and route,
// a whole zoo through csim). They prove the same properties as the quick tests beside
// them, on bigger models, so the default run (CI) skips them and `scripts/test.sh --long`
// (or TACHYON_LONG_TESTS=1 in the environment of ctest) runs them; README "Tests" lists them.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>

namespace test_support {

inline bool longTestsEnabled() {
    const char* v = std::getenv("TACHYON_LONG_TESTS");
    return v && *v && std::strcmp(v, "0") != 0;
}

}  // namespace test_support

// First line of a long test's body.
#define LONG_TEST_OR_SKIP()                       \
    if (!test_support::longTestsEnabled())        \
    GTEST_SKIP() << "long test: runs with TACHYON_LONG_TESTS=1 (scripts/test.sh --long)"
