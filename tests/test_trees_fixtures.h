// Shared helpers for the tree tests: locating (and if needed generating) the fixtures.
#pragma once

#include "util/Npy.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include <unistd.h>
#include <string>
#include <vector>

namespace tachyon::trees::testing {

// TACHYON_FIXTURES, else TACHYON_BINARY_DIR/fixtures; runs the fixture script when the
// tree fixtures are missing. Empty string when they cannot be made.
inline std::string treeFixtures() {
    static std::string dir = [] {
        const char* env = std::getenv("TACHYON_FIXTURES");
        std::string d = env && *env ? env : std::string(TACHYON_BINARY_DIR) + "/fixtures";
        if (!std::filesystem::exists(d + "/tmva_known.xml")) {
            std::string cmd = "/usr/bin/python3 " + std::string(TACHYON_SOURCE_DIR) +
                              "/scripts/make_tree_fixtures.py '" + d + "' > /dev/null";
            if (std::system(cmd.c_str()) != 0) return std::string();
        }
        return d;
    }();
    return dir;
}

struct Matrix {
    std::vector<double> data;
    size_t rows = 0, cols = 0;
};

inline Matrix loadNpy(const std::string& path) {
    Matrix m;
    m.data = readNpy(path, m.rows, m.cols);
    return m;
}

// A fresh, empty scratch directory under the build dir.
// One folder per test process: ctest runs tests in parallel processes, which must not
// clear each other's files.
inline std::string scratchDir(const std::string& name) {
    std::string d = std::string(TACHYON_BINARY_DIR) + "/test_trees_tmp/" + name + "_" + std::to_string(::getpid());
    std::filesystem::remove_all(d);
    std::filesystem::create_directories(d);
    return d;
}

}  // namespace tachyon::trees::testing

#define TREE_FIXTURES_OR_SKIP(var)                                              \
    const std::string var = ::tachyon::trees::testing::treeFixtures();           \
    if (var.empty()) GTEST_SKIP() << "tree fixtures unavailable (python3-xgboost/sklearn)"
