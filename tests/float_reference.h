// Shared by the frontend and conformance tests: a model's float-mode output (after the
// standard pass pipeline), or its fixed-point output, against reference outputs stored
// as .npy.
#pragma once

#include "config/Config.h"
#include "emulator/Emulator.h"
#include "passes/Pass.h"
#include "util/Npy.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

// Every output within rtol * |reference| + atol of the reference.
inline void expectFloatMatchesReference(tachyon::Graph g, const std::string& xPath, const std::string& yPath,
                                        double rtol, double atol) {
    using namespace tachyon;
    size_t rows, nIn, yRows, nOut;
    const std::vector<double> x = readNpy(xPath, rows, nIn);
    const std::vector<double> y = readNpy(yPath, yRows, nOut);
    ASSERT_EQ((int)nIn, g.inputSize()) << g.name;
    ASSERT_EQ((int)nOut, g.outputSize()) << g.name;
    ASSERT_EQ(rows, yRows);
    runPipeline(g, Config::defaults());
    Emulator emu(g);
    std::vector<double> out(rows * nOut);
    emu.runFloat(x.data(), rows, out.data());
    size_t bad = 0;
    double worst = 0;
    for (size_t i = 0; i < out.size(); ++i) {
        const double err = std::abs(out[i] - y[i]);
        worst = std::max(worst, err / std::max(std::abs(y[i]), 1e-300));
        bad += !(err <= rtol * std::abs(y[i]) + atol);
    }
    EXPECT_EQ(bad, 0u) << g.name << ": worst relative error " << worst;
}

// The fixed-point emulator (after the pass pipeline with `cfg`) on every row of xPath
// against the float reference yPath: the mean and the largest absolute difference over
// every output (both infinite when the files do not fit the model).
struct FixedPointError {
    double mean = 0, worst = 0;
};

inline FixedPointError fixedPointError(tachyon::Graph g, const tachyon::Config& cfg, const std::string& xPath,
                                       const std::string& yPath) {
    using namespace tachyon;
    size_t rows, nIn, yRows, nOut;
    const std::vector<double> x = readNpy(xPath, rows, nIn);
    const std::vector<double> y = readNpy(yPath, yRows, nOut);
    runPipeline(g, cfg);
    EXPECT_EQ(rows, yRows) << g.name;
    EXPECT_EQ((int)nOut, g.outputSize()) << g.name;
    if (rows != yRows || (int)nOut != g.outputSize()) return {INFINITY, INFINITY};
    Emulator emu(g);
    std::vector<int64_t> raw(rows * nOut);
    std::vector<double> val(rows * nOut);
    emu.runFixed(x.data(), rows, raw.data(), val.data());
    FixedPointError e;
    for (size_t i = 0; i < val.size(); ++i) {
        e.worst = std::max(e.worst, std::abs(val[i] - y[i]));
        e.mean += std::abs(val[i] - y[i]) / double(val.size());
    }
    return e;
}
