// Writing and C-simulating many HLS projects in a test, shared by the HLS test suites.
#pragma once

#include "backends/hls/HlsWriter.h"
#include "emulator/Emulator.h"

#include <cstdint>
#include <exception>
#include <filesystem>
#include <functional>
#include <future>
#include <sstream>
#include <string>
#include <vector>

// Writes each case's project (case k: `c.g` under projectDir(c), c.rows test rows, seed
// seedBase + k) and runs its C simulation, two cases at a time (compiling dominates).
// Returns one log per failing case: rows missing, a mismatch, or an exception. Adds the
// rows compared to *rowsCompared when given. CASE_T has `name`, `g`, `target` (io type, clock)
// and `rows`.
template <class CASE_T>
std::vector<std::string> simulateCsimCases(std::vector<CASE_T>& cases,
                                           const std::function<std::filesystem::path(const CASE_T&)>& projectDir,
                                           uint64_t seedBase, size_t* rowsCompared = nullptr) {
    std::vector<std::string> logs(cases.size());
    std::vector<size_t> rows(cases.size(), 0);
    auto one = [&](size_t k) {
        CASE_T& c = cases[k];
        try {
            tachyon::Emulator emu(c.g);
            tachyon::hls::HlsOptions opt;
            opt.target = c.target;
            opt.testRows = c.rows;
            opt.seed = seedBase + k;
            const std::filesystem::path prj = projectDir(c);
            tachyon::hls::writeProject(c.g, emu, prj.string(), opt);
            std::ostringstream log;
            const tachyon::hls::CsimResult r = tachyon::hls::csim(prj.string(), log);
            rows[k] = r.rows;
            if (r.rows != c.rows || r.mismatches != 0) logs[k] = c.name + ": " + log.str();
        } catch (const std::exception& e) {
            logs[k] = c.name + ": " + e.what();
        }
    };
    for (size_t k = 0; k < cases.size(); k += 2) {
        auto second = std::async(std::launch::async, [&, k] { if (k + 1 < cases.size()) one(k + 1); });
        one(k);
        second.get();
    }
    if (rowsCompared)
        for (size_t r : rows) *rowsCompared += r;
    std::vector<std::string> failures;
    for (const std::string& l : logs)
        if (!l.empty()) failures.push_back(l);
    return failures;
}
