// The shared model zoo: ../shared/models beside the source folder (worktrees share one).
// Tests that need it skip, naming the folder, when it is absent (CI checks it out).
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

namespace test_support {

inline const std::string& zooDir() {
    static const std::string dir = std::string(TACHYON_SOURCE_DIR) + "/../shared/models";
    return dir;
}

// A file of the zoo by its path inside it ("keras/KERAS_3layer.json").
inline std::string zooFile(const std::string& relative) { return zooDir() + "/" + relative; }

inline bool zooPresent() { return std::filesystem::exists(zooDir() + "/README.md"); }

}  // namespace test_support

// In a test body: skips the test when the zoo is not there.
#define ZOO_OR_SKIP() \
    if (!test_support::zooPresent()) GTEST_SKIP() << "no shared model zoo at " << test_support::zooDir()
