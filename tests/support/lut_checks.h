// Checks shared by the LUT-backend tests (a network or tree ensemble written as one ROM).
#pragma once

#include "../test_files.h"
#include "cli.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

namespace test_support {

// The raw inputs ROM address `a` stands for: n fields of `bits` bits each, field i in
// bits [i * bits, (i + 1) * bits), two's complement.
inline std::vector<int64_t> romAddressInputs(uint64_t a, int n, int bits) {
    std::vector<int64_t> x(static_cast<size_t>(n));
    const uint64_t mask = (uint64_t(1) << bits) - 1, sign = uint64_t(1) << (bits - 1);
    for (int i = 0; i < n; ++i) {
        const uint64_t field = (a >> (bits * i)) & mask;
        x[size_t(i)] = int64_t(field) - ((field & sign) ? int64_t(mask + 1) : 0);
    }
    return x;
}

// Calls check(address, word) for every line of a ROM .mem file (one hex word per address),
// stopping at the first fatal failure (an ASSERT in check); returns the number of words read.
inline size_t forEachRomWord(const std::string& memFile, const std::function<void(uint64_t, uint64_t)>& check) {
    std::ifstream mem(memFile);
    EXPECT_TRUE(mem) << "no ROM file " << memFile;
    std::string word;
    uint64_t a = 0;
    for (; std::getline(mem, word); ++a) {
        check(a, std::stoull(word, nullptr, 16));
        if (::testing::Test::HasFatalFailure()) break;
    }
    return size_t(a);
}

// The LUT project's manifest says so, and its own rtlsim command (Verilator reading the
// ROM back on every address) writes exactly the expected rows, `words` of them.
inline void expectLutRtlsimReadsEveryWord(const std::string& prj, size_t words) {
    const nlohmann::json j = nlohmann::json::parse(readFile(prj + "/tachyon_project.json"));
    EXPECT_EQ(j["backend"], "lut");
    const CliResult r = runShell("cd '" + prj + "' && " + j["rtlsim_command"].get<std::string>());
    EXPECT_EQ(r.status, 0) << r.output.substr(0, 3000);
    const std::string rtl = readFile(prj + "/sim/rtl_output_raw.dat");
    EXPECT_EQ(size_t(std::count(rtl.begin(), rtl.end(), '\n')), words);
    EXPECT_EQ(rtl, readFile(prj + "/sim/expected_raw.dat"));
}

}  // namespace test_support
