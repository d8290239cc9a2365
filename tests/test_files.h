// Small file helpers shared by the test suites that write projects.
#pragma once

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

// A fresh, empty folder <build>/<suite>/<name> for one test's outputs.
inline std::filesystem::path freshTestDir(const std::string& suite, const std::string& name) {
    std::filesystem::path d = std::filesystem::path(TACHYON_BINARY_DIR) / suite / name;
    std::filesystem::remove_all(d);
    std::filesystem::create_directories(d);
    return d;
}

inline std::string readFile(const std::filesystem::path& p) {
    std::ifstream f(p);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}
