// The folder of the project's own test fixtures ($TACHYON_FIXTURES, else build/fixtures).
// ctest's make_fixtures step fills it before the tests; a test run on its own makes the
// fixtures of one script on first use, when that script's stamp file is missing or (with
// a `version`) holds another version.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <string>

inline std::string fixtureDirMadeBy(const std::string& script, const std::string& stamp, const std::string& version) {
    const char* env = std::getenv("TACHYON_FIXTURES");
    const std::string d = env && *env ? env : TACHYON_BINARY_DIR "/fixtures";
    std::ifstream in(d + "/" + stamp);
    std::string found;
    const bool current = in && (in >> found, version.empty() || found == version);
    if (!current) {
        const std::string cmd = "/usr/bin/python3 " TACHYON_SOURCE_DIR "/scripts/" + script + " '" + d + "' > /dev/null 2>&1";
        if (std::system(cmd.c_str()) != 0) ADD_FAILURE() << "fixture script failed: " << cmd;
    }
    return d;
}
