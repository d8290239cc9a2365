// Every fast Dense kernel of the emulator (the AVX-512 pair kernel, the portable 32-bit
// kernel, either with the result cast fused into its integer epilogue, and the double
// kernel) against the step-by-step 128-bit reference path of the same emulator, on random
// models: every quantisation and overflow mode of the result, saturating and wrapping
// accumulators, widths 1 to 32 bits, 1 to 17 outputs, fused ReLU or none. Outputs and the
// overflow counts must agree exactly. TACHYON_EMULATOR_KERNEL selects the implementation
// ("reference", "portable", "unfused": the result cast in a second pass, or unset: the
// fastest this CPU has); each emulator reads it when it is built.
#include "emulator/Emulator.h"
#include "emulator/KernelPath.h"
#include "passes/Pass.h"

#include "support/kernel_runs.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <optional>
#include <random>
#include <string>

using namespace tachyon;

namespace {

using test_support::fixedTypeText;
using test_support::kOverflowModes;
using test_support::kQuantModes;
using test_support::KernelRun;

// A random chain Input -> Dense -> Dense, types drawn so that every kernel gets its turn.
struct RandomModel {
    Graph graph;
    std::string description;
};

RandomModel randomModel(std::mt19937_64& rng, int denseLayers = 2) {
    auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
    RandomModel m;
    Graph& g = m.graph;
    g.name = "random";
    // Input: mostly narrow enough for the 16-bit pair kernel.
    const int inW = pick(0, 5) == 0 ? pick(17, 24) : pick(1, 16);
    const bool inSigned = pick(0, 3) != 0;
    const FixedType inT = FixedType::parse(fixedTypeText(inSigned || inW == 1 ? inSigned : false, inW, pick(-2, inW), "AP_TRN", "AP_WRAP"));
    const int nIn0 = pick(1, 40);
    Layer in;
    in.name = "in";
    in.kind = LayerKind::Input;
    in.shape = {nIn0};
    in.precision["result"] = inT;
    g.layers.push_back(in);
    m.description = "in " + inT.str();

    FixedType prevT = inT;
    int nIn = nIn0;
    for (int k = 0; k < denseLayers; ++k) {
        const int nOut = pick(1, 17);
        Layer l;
        l.name = "fc" + std::to_string(k);
        l.kind = LayerKind::Dense;
        l.inputs = {g.layers.back().name};
        l.attrs = DenseAttrs{nIn, nOut, pick(0, 1) ? ActKind::ReLU : ActKind::Linear};
        l.shape = {nOut};
        test_support::randomMacParameters(rng, l, prevT, 0.5);
        // Result: every mode, widths 1-32 (an occasional N saturation bits falls back).
        const int rW = pick(1, 32);
        const bool rSigned = rW > 1 ? pick(0, 3) != 0 : false;
        std::string rq = kQuantModes[pick(0, 6)], ro = kOverflowModes[pick(0, 3)];
        std::string rs = fixedTypeText(rSigned, rW, pick(-2, std::min(rW, 14)), rq, ro);
        if (ro == "AP_WRAP" && pick(0, 9) == 0) rs = rs.substr(0, rs.size() - 1) + ",2>";
        l.precision["result"] = FixedType::parse(rs);
        m.description += " | " + l.name + " " + std::to_string(nIn) + "x" + std::to_string(nOut) + " w " + l.type("weight").str() +
                         " acc " + l.type("accum").str() + " res " + l.type("result").str() +
                         (l.activation() == ActKind::ReLU ? " relu" : "");
        prevT = l.type("result");
        nIn = nOut;
        g.layers.push_back(std::move(l));
    }
    return m;
}

KernelRun runWith(const Graph& g, const char* kernel, const std::vector<int64_t>& x, size_t rows, int threads) {
    return test_support::runWithKernel(g, kernel, x, rows, threads, 37);
}

}  // namespace

TEST(EmulatorFastPath, RandomDenseModelsMatchTheReferencePath) {
    std::mt19937_64 rng(2024);
    std::map<std::string, int> seen;   // kernel path -> layers that ran on it (default choice)
    std::map<std::string, int> seenPortable;
    for (int m = 0; m < 400; ++m) {
        RandomModel model = randomModel(rng);
        SCOPED_TRACE(model.description);
        const size_t rows = 1 + size_t(rng() % 90);
        const auto x = test_support::randomRaws(model.graph.input().type("result"), rows * size_t(model.graph.inputSize()), rng);
        const KernelRun ref = runWith(model.graph, "reference", x, rows, 1);
        for (const auto& [layer, path] : ref.paths) ASSERT_EQ(path, "reference") << layer;
        const KernelRun fast = runWith(model.graph, nullptr, x, rows, 2);
        test_support::expectSameRun(model.graph, ref, fast, "default kernels");
        const KernelRun portable = runWith(model.graph, "portable", x, rows, 1);
        test_support::expectSameRun(model.graph, ref, portable, "portable kernels");
        // The fused epilogue against the same kernels casting in a second pass.
        const KernelRun unfused = runWith(model.graph, "unfused", x, rows, 1);
        test_support::expectSameRun(model.graph, unfused, fast, "fused vs unfused", true);
        for (const auto& [layer, path] : fast.paths) ++seen[path];
        for (const auto& [layer, path] : portable.paths) {
            ++seenPortable[path];
            EXPECT_EQ(path.find("pair"), std::string::npos) << "the portable switch must rule out the pair kernel";
        }
        if (HasFatalFailure()) return;
    }
    // Every fast path was exercised (the pair kernel only where the CPU and build have it).
    for (const char* p : {"int32", "int32+fused", "double", "reference"})
        EXPECT_GT(seenPortable[p], 5) << p;
    std::string summary;
    for (const auto& [p, n] : seen) summary += p + ": " + std::to_string(n) + "  ";
    RecordProperty("paths", summary);
    if (seen["pair"] + seen["pair+fused"] > 0) {
        for (const char* p : {"pair", "pair+fused", "pair-rows", "pair-rows+fused"}) EXPECT_GT(seen[p], 5) << p;
    }
}

// Batch sizes around the chunking: one row (run inline), a partial chunk, many chunks on
// several threads; the same answers every time.
TEST(EmulatorFastPath, AnyBatchSizeAndThreadCountGivesTheSameRows) {
    std::mt19937_64 rng(7);
    RandomModel model = randomModel(rng);
    const size_t rows = 1000;
    const auto x = test_support::randomRaws(model.graph.input().type("result"), rows * size_t(model.graph.inputSize()), rng);
    const KernelRun all = runWith(model.graph, nullptr, x, rows, 3);
    KernelChoice choice(nullptr);
    Emulator emu(model.graph);
    const size_t nOut = size_t(emu.outputSize());
    for (size_t n : {size_t(1), size_t(2), size_t(36), size_t(37), size_t(38), size_t(500)})
        for (int threads : {0, 1, 4}) {
            std::vector<int64_t> y(n * nOut);
            emu.runFixedRaw(x.data(), n, y.data(), nullptr, EmulatorOptions{threads, 37});
            for (size_t k = 0; k < y.size(); ++k) ASSERT_EQ(y[k], all.y[k]) << n << " rows, " << threads << " threads";
        }
}

// Chains of 1 to 4 Dense layers: the AVX2 pair kernel ("pair8", TACHYON_EMULATOR_KERNEL=avx2
// chooses it over the VNNI one) passes int16 activations from one Dense layer's fused epilogue
// to the next (the chain), against the reference path; "unfolded" runs the same kernels one
// layer at a time from doubles. Odd and even widths, every cast mode, TRN and RND products
// (s = 0 skips the truncation correction), wrapping and saturating accumulators.
TEST(EmulatorFastPath, Int16DenseChainsMatchTheReferencePath) {
    std::mt19937_64 rng(4242);
    std::map<std::string, int> seen;
    size_t chained = 0;
    for (int m = 0; m < 300; ++m) {
        RandomModel model = randomModel(rng, 1 + int(rng() % 4));
        SCOPED_TRACE(model.description);
        const size_t rows = 1 + size_t(rng() % 90);
        const auto x = test_support::randomRaws(model.graph.input().type("result"), rows * size_t(model.graph.inputSize()), rng);
        const KernelRun ref = runWith(model.graph, "reference", x, rows, 1);
        EXPECT_EQ(ref.folded, 0u);
        const KernelRun avx2 = runWith(model.graph, "avx2", x, rows, 2);
        test_support::expectSameRun(model.graph, ref, avx2, "avx2 kernels, chained");
        const KernelRun unfolded = runWith(model.graph, "unfolded", x, rows, 1);
        EXPECT_EQ(unfolded.folded, 0u);
        test_support::expectSameRun(model.graph, ref, unfolded, "default kernels, one layer at a time");
        const KernelRun unfused = runWith(model.graph, "unfused", x, rows, 1);
        test_support::expectSameRun(model.graph, unfused, avx2, "chained vs unfused", true);
        chained += avx2.folded;
        for (const auto& [layer, path] : avx2.paths) ++seen[path];
        if (HasFatalFailure()) return;
    }
    std::string summary;
    for (const auto& [p, n] : seen) summary += p + ": " + std::to_string(n) + "  ";
    RecordProperty("paths", summary);
    if (seen["pair8+fused"] > 0) {   // built with AVX2: both forms ran, and chains formed
        EXPECT_GT(seen["pair8"], 5);
        EXPECT_GT(chained, 20u);   // 43 with this seed: chains need result types of at most 16 bits
    }
}
