// GarNet's mean_by_nvert in fixed point (docs/semantics.md, "GarNet"). Keras divides the
// aggregated features by the count and its mean collapse by the flag itself (1); hls4ml's C++
// divides by the count everywhere, in its own arithmetic: the vertex sums shifted right by
// floor(log2 V), times norm_t(trunc(V / count)), and no bias normalisation in the collapse.
// - Tachyon's own rule (1/n in `norm`) runs per vertex; a mean collapse is refused by name;
// - under Compatibility: hls4ml both run hls4ml's arithmetic: checked here against a
//   reference written from hls4ml's nnet_garnet.h formulas, and against hls4ml's own C
//   simulation in tests/data/hls4ml_recorded (garnet_*_nvert_name, test_hls4ml_recorded.cpp);
// - the generated HLS (a restoring divider for the quotient) and Verilog (quotient mux,
//   floored sums) agree with the emulator bit for bit.
#include "backends/hls/HlsWriter.h"
#include "config/Config.h"
#include "emulator/Emulator.h"
#include "frontends/Frontend.h"
#include "lower/GarNetNorm.h"
#include "passes/Pass.h"
#include "util/Error.h"
#include "util/Npy.h"

#include "fixture_dir.h"
#include "support/error_of.h"
#include "support/garnet_fixtures.h"
#include "test_files.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <random>

using namespace tachyon;
using test_support::errorOf;
using test_support::garnetLayer;
namespace fs = std::filesystem;

namespace {

const std::string& fixtureDir() { return test_support::garnetFixtureDir(); }

Graph load(const std::string& name, const std::string& config) { return test_support::loadGarNetFixture(name, config); }

// hls4ml-mode types for the V = 8 and V = 16 fixtures: hls4ml's own defaults for these sizes
// (garnet_templates.py: aggr ap_fixed<log2V+3+10, log2V+3>, edge_weight_aggr
// ap_ufixed<log2V+10, log2V>, norm ap_ufixed<14,4>), and a signed fractional count type so
// that random rows hold negative and fractional counts too.
std::string hls4mlConfig(int log2V, const std::string& count = "ap_fixed<10,6>") {
    const std::string a = std::to_string(log2V + 3), e = std::to_string(log2V);
    return "Compatibility: hls4ml\nModel:\n  Precision: ap_fixed<16,6>\nLayerName:\n  nvtx:\n    Precision:\n      result: " +
           count + "\n  gar:\n    Precision:\n      aggr: ap_fixed<" + std::to_string(log2V + 13) + "," + a +
           ",AP_TRN,AP_SAT>\n      edge_weight_aggr: ap_ufixed<" + std::to_string(log2V + 10) + "," + e +
           ",AP_TRN,AP_SAT>\n      norm: ap_ufixed<14,4,AP_TRN,AP_SAT>\n";
}

}  // namespace

// Float mode follows Keras for the mean collapse with mean_by_nvert (the sum divided by 1):
// the fixture's numpy reference (scripts/make_garnet_fixtures.py) is matched. (The emulator
// is built under Compatibility: hls4ml, as Tachyon mode refuses the layer in fixed point.)
TEST(GarNetMeanByNvert, MeanCollapseFloatFollowsKeras) {
    Graph g = load("garnet_mean_nvert", hls4mlConfig(4));
    size_t rows = 0, nIn = 0, yRows = 0, nOut = 0;
    const std::vector<double> x = readNpy(fixtureDir() + "/garnet_mean_nvert_X.npy", rows, nIn);
    const std::vector<double> y = readNpy(fixtureDir() + "/garnet_mean_nvert_Y.npy", yRows, nOut);
    ASSERT_EQ(size_t(g.inputSize()), nIn);
    ASSERT_EQ(size_t(g.outputSize()), nOut);
    Emulator emu(g);
    std::vector<double> out(rows * nOut);
    emu.runFloat(x.data(), rows, out.data());
    double worst = 0;
    for (size_t i = 0; i < out.size(); ++i) worst = std::max(worst, std::abs(out[i] - y[i]));
    EXPECT_LT(worst, 1e-9);
}

// Tachyon's rule has no answer for the mean collapse (Keras: /1, hls4ml: /n): refused by name
// unless Compatibility: hls4ml picks hls4ml's.
TEST(GarNetMeanByNvert, MeanCollapseNeedsHls4mlCompatibility) {
    Graph own = load("garnet_mean_nvert", "Model:\n  Precision: ap_fixed<16,6>\n");
    const std::string e = errorOf([&] { Emulator emu(own); });
    EXPECT_NE(e.find("'gar'"), std::string::npos) << e;
    EXPECT_NE(e.find("Compatibility: hls4ml"), std::string::npos) << e;
    Graph hls4ml = load("garnet_mean_nvert", hls4mlConfig(4));
    EXPECT_EQ(errorOf([&] { Emulator emu(hls4ml); }), "");
}

// hls4ml's arithmetic, step by step from nnet_garnet.h (aggregate, set_means_normalized with
// mean_by_nvert, set_output), written here on doubles that hold every value exactly, on the
// garnet_mean_nvert fixture (one sublayer, mean collapse) for every count the count type
// ap_fixed<10,6> holds between -2 and V + 2 in steps of 1/4.
TEST(GarNetMeanByNvert, Hls4mlArithmeticStepByStep) {
    Graph g = load("garnet_mean_nvert", hls4mlConfig(4));
    const Layer& l = garnetLayer(g);
    const auto& a = l.as<GarNetAttrs>();
    ASSERT_TRUE(a.meanByNvert && a.hls4mlCount);
    Emulator emu(g);
    const GarNetConstants& k = emu.lowered().garnetConstants(l.name);
    ASSERT_EQ(k.sublayers.size(), 1u);
    EXPECT_EQ(garnetNormShift(a), 4);
    const int V = a.nVertices, X = a.nInFeatures, A = a.nAggregators[0], O = a.nFilters[0];
    const FixedType dataT = g.inputs()[0]->type("result"), countT = g.inputs()[1]->type("result");
    const FixedType distT = l.type("distance"), edgeT = l.type("edge_weight"), edgeSumT = l.type("edge_weight_aggr"),
                    aggrT = l.type("aggr"), normT = l.type("norm"), resT = l.type("result");
    auto cast = [](const FixedType& t, double v) { return std::ldexp(double(t.castDouble(v)), -t.frac()); };
    auto value = [](const FixedType& t, int64_t raw) { return std::ldexp(double(raw), -t.frac()); };
    const auto& w = k.sublayers[0];
    std::mt19937_64 rng(11);
    std::normal_distribution<double> normal(0, 1);
    size_t rowsCompared = 0;
    for (double count = -2; count <= V + 2; count += 0.25) {
        std::vector<double> row;
        for (int i = 0; i < V * X; ++i) row.push_back(cast(dataT, normal(rng)));
        const double c = cast(countT, count);
        row.push_back(c);
        // Which vertices hls4ml's loops visit: up to the count, all of them for a negative or
        // fractional one (docs/semantics.md, "GarNet").
        const int n = (c < 0 || c != std::floor(c)) ? V : int(std::min<double>(c, V));
        std::vector<double> sumE(size_t(A), 0), sumWF(size_t(A * X), 0), edge(size_t(V * A), 0);
        for (int v = 0; v < n; ++v)
            for (int q = 0; q < A; ++q) {
                double d = cast(distT, value(l.type("aggregator_distance_biases"), w.aggregatorDistanceBiases[size_t(q)]));
                for (int i = 0; i < X; ++i)
                    d = cast(distT, d + cast(distT, row[size_t(v * X + i)] *
                                                      value(l.type("aggregator_distance_weights"),
                                                            w.aggregatorDistanceWeights[size_t(q * X + i)])));
                const int64_t bits = distT.castDouble(d) & ((int64_t(1) << distT.width) - 1);
                const double e = value(edgeT, k.edgeWeightTable[size_t(bits)]);
                sumE[size_t(q)] = cast(edgeSumT, sumE[size_t(q)] + e);
                for (int i = 0; i < X; ++i)
                    sumWF[size_t(q * X + i)] = cast(aggrT, sumWF[size_t(q * X + i)] + cast(dataT, row[size_t(v * X + i)] * e));
            }
        // norm_t nvtx_norm = (n_vertices / reuse_factor) / nvtx: an integer quotient.
        const double quotient = c == 0 ? 0 : std::trunc(V / c);
        const double norm = cast(normT, quotient);
        // means_accum += local >> log2(V): a floor at the type's own resolution.
        auto shifted = [&](const FixedType& t, double s) { return std::ldexp(std::floor(std::ldexp(s, t.frac() - 4)), -t.frac()); };
        std::vector<double> expected;
        for (int o = 0; o < O; ++o) {
            double acc = cast(resT, value(l.type("output_transform_biases"), w.outputTransformBiases[size_t(o)]));
            for (int q = 0; q < A; ++q) {
                const double meanE = cast(edgeT, shifted(edgeSumT, sumE[size_t(q)]) * norm);
                double base = cast(aggrT, meanE * value(l.type("input_transform_biases"), w.inputTransformBiases[size_t(o * A + q)]));
                for (int i = 0; i < X; ++i) {
                    const double meanWF = cast(aggrT, shifted(aggrT, sumWF[size_t(q * X + i)]) * norm);
                    base = cast(aggrT, base + meanWF * value(l.type("input_transform_weights"),
                                                             w.inputTransformWeights[size_t((o * A + q) * X + i)]));
                }
                acc = cast(resT, acc + meanE * base);
            }
            expected.push_back(acc);
        }
        std::vector<double> out(static_cast<size_t>(O));
        std::vector<int64_t> raw(static_cast<size_t>(O));
        emu.runFixed(row.data(), 1, raw.data(), out.data());
        for (int o = 0; o < O; ++o) EXPECT_EQ(out[size_t(o)], expected[size_t(o)]) << "count " << c << ", output " << o;
        ++rowsCompared;
    }
    EXPECT_GT(rowsCompared, 70u);
}

// The generated HLS computes the quotient with its restoring divider and the floored sums as
// the emulator does: 1,000 random rows per fixture (counts negative, fractional, 0, up to
// beyond V), per-vertex output and mean collapse.
TEST(GarNetMeanByNvert, Hls4mlHlsCsimMatchesEmulator) {
    for (const auto& [name, log2V] : std::vector<std::pair<std::string, int>>{{"garnet_vertices", 3}, {"garnet_mean_nvert", 4}}) {
        SCOPED_TRACE(name);
        Graph g = load(name, hls4mlConfig(log2V));
        Emulator emu(g);
        hls::HlsOptions opt;
        opt.testRows = 1000;
        const fs::path prj = freshTestDir("test_garnet_mean_by_nvert", name);
        hls::writeProject(g, emu, prj.string(), opt);
        std::ostringstream log;
        const hls::CsimResult r = hls::csim(prj.string(), log);
        EXPECT_EQ(r.rows, opt.testRows) << log.str();
        EXPECT_EQ(r.mismatches, 0u) << log.str();
    }
}

// The quotient table the Verilog mux and the HLS read for whole counts in [0, V] is hls4ml's
// trunc(V / n) in norm_t (saturating at 16 - 2^-10 for n = 1 with V = 16).
TEST(GarNetMeanByNvert, Hls4mlQuotientTable) {
    Graph g = load("garnet_mean_nvert", hls4mlConfig(4));
    Emulator emu(g);
    const GarNetConstants& k = emu.lowered().garnetConstants(garnetLayer(g).name);
    const FixedType normT = garnetLayer(g).type("norm");
    ASSERT_EQ(k.norm.size(), 17u);
    EXPECT_EQ(k.norm[0], 0);
    EXPECT_EQ(k.norm[1], int64_t(normT.maxRaw()));
    for (int n = 2; n <= 16; ++n) EXPECT_EQ(std::ldexp(double(k.norm[size_t(n)]), -normT.frac()), double(16 / n)) << n;
}

// ReuseFactor > 1: hls4ml shifts each of its partial sums on its own; not reproduced, refused.
TEST(GarNetMeanByNvert, Hls4mlReuseFactorAboveOneRefused) {
    Graph g = load("garnet_vertices", hls4mlConfig(3) + "    ReuseFactor: 2\n");
    const std::string e = errorOf([&] { Emulator emu(g); });
    EXPECT_NE(e.find("'gar'"), std::string::npos) << e;
    EXPECT_NE(e.find("ReuseFactor"), std::string::npos) << e;
}
