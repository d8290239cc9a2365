// One graph run under several emulator kernels (TACHYON_EMULATOR_KERNEL, emulator/Kernel.h)
// and the runs compared: the harness of the fast-path tests (test_emulator_fastpath,
// test_conv_lanes, test_emulator_fold), with the random types they draw.
#pragma once

#include "emulator/Emulator.h"
#include "emulator/KernelPath.h"
#include "ir/Graph.h"
#include "passes/Pass.h"
#include "kernel_choice.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

namespace test_support {

inline const char* const kQuantModes[] = {"AP_TRN",     "AP_TRN_ZERO",    "AP_RND",     "AP_RND_ZERO",
                                          "AP_RND_INF", "AP_RND_MIN_INF", "AP_RND_CONV"};
inline const char* const kOverflowModes[] = {"AP_WRAP", "AP_SAT", "AP_SAT_SYM", "AP_SAT_ZERO"};

inline std::string fixedTypeText(bool isSigned, int width, int intBits, const std::string& q, const std::string& o) {
    return std::string(isSigned ? "ap_fixed<" : "ap_ufixed<") + std::to_string(width) + "," + std::to_string(intBits) +
           "," + q + "," + o + ">";
}

inline int pickIn(std::mt19937_64& rng, int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); }

// A MAC layer's weight (and bias) type: signed, 2-16 bits, TRN or RND, saturating.
inline tachyon::FixedType randomWeightType(std::mt19937_64& rng) {
    const int w = pickIn(rng, 1, 16);
    return tachyon::FixedType::parse(
        fixedTypeText(true, std::max(w, 2), pickIn(rng, 0, 3), pickIn(rng, 0, 1) ? "AP_RND" : "AP_TRN", "AP_SAT"));
}

// Its accumulator: `auto` (exact products, never overflows) one time in three, else one whose
// LSB may drop product bits (s > 0) and that may wrap or saturate, so every kernel path and
// its corrections get their turn.
inline tachyon::FixedType randomAccumulator(std::mt19937_64& rng, const tachyon::Layer& l, const tachyon::FixedType& in,
                                            const tachyon::FixedType& weight) {
    if (pickIn(rng, 0, 2) == 0) return tachyon::autoAccumulator(l, in);
    const int s = pickIn(rng, 0, 3) == 0 ? 0 : pickIn(rng, 0, 12);
    const int frac = in.frac() + weight.frac() - s;
    const int intBits = pickIn(rng, 2, 22);
    const char* q = pickIn(rng, 0, 4) == 0 ? kQuantModes[pickIn(rng, 0, 6)] : (pickIn(rng, 0, 1) ? "AP_RND" : "AP_TRN");
    const char* o = pickIn(rng, 0, 1) ? "AP_WRAP" : "AP_SAT";
    return tachyon::FixedType::parse(
        fixedTypeText(true, std::clamp(frac + intBits, 2, 48), std::clamp(intBits, -8, 48), q, o));
}

// A Dense or Conv layer's random parameters (shape already set): normal weights, up to
// `maxZeroShare` of them zero (pruned), normal biases, randomWeightType for both, and
// randomAccumulator over the input type `in`.
inline void randomMacParameters(std::mt19937_64& rng, tachyon::Layer& l, const tachyon::FixedType& in,
                                double maxZeroShare) {
    const auto [nIn, nOut] = tachyon::macDims(l);
    std::normal_distribution<double> nd(0, 1.0);
    std::uniform_real_distribution<double> u(0, 1);
    const double zeros = u(rng) * maxZeroShare;
    for (int i = 0; i < nIn * nOut; ++i) l.param("weight").push_back(u(rng) < zeros ? 0.0 : nd(rng));
    for (int j = 0; j < nOut; ++j) l.param("bias").push_back(nd(rng));
    const tachyon::FixedType wT = randomWeightType(rng);
    l.precision["weight"] = wT;
    l.precision["bias"] = wT;
    l.precision["accum"] = randomAccumulator(rng, l, in, wT);
}

// Raw inputs uniform over the type, a quarter of them zero (the kernels skip zeros).
inline std::vector<int64_t> randomRaws(const tachyon::FixedType& t, size_t n, std::mt19937_64& rng) {
    std::uniform_int_distribution<int64_t> raw(int64_t(t.minRaw()), int64_t(t.maxRaw()));
    std::uniform_int_distribution<int> zero(0, 3);
    std::vector<int64_t> x(n);
    for (auto& v : x) v = zero(rng) == 0 ? 0 : raw(rng);
    return x;
}

struct KernelRun {
    std::vector<int64_t> y;                      // raw outputs
    std::vector<tachyon::LayerStats> stats;
    std::map<std::string, std::string> paths;   // Dense/Conv layer -> its kernel path (macKernelPath)
    size_t folded = 0;                           // layers run inside their producer's kernel
};

// The graph in fixed mode with TACHYON_EMULATOR_KERNEL = `kernel` (nullptr: the default
// choice), on raw inputs (xRaw) or values (x).
template <class X>
KernelRun runWithKernel(const tachyon::Graph& g, const char* kernel, const std::vector<X>& x, size_t rows, int threads,
                        size_t chunkRows) {
    KernelChoice choice(kernel);
    tachyon::Emulator emu(g);
    KernelRun r;
    r.y.resize(rows * size_t(emu.outputSize()));
    const tachyon::EmulatorOptions opt{threads, chunkRows};
    if constexpr (std::is_same_v<X, int64_t>)
        emu.runFixedRaw(x.data(), rows, r.y.data(), &r.stats, opt);
    else
        emu.runFixed(x.data(), rows, r.y.data(), nullptr, &r.stats, opt);
    r.folded = tachyon::foldedLayersOfLastEmulator();
    for (const tachyon::Layer& l : g.layers)
        if (l.kind == tachyon::LayerKind::Dense || l.kind == tachyon::LayerKind::Conv)
            r.paths[l.name] = tachyon::macKernelPath(emu.lowered().layer(l.name));
    return r;
}

// The same outputs and per-layer counts. A wrapping accumulator's overflow count differs
// by design between the step-by-step reference (any partial sum out of range) and the fast
// kernels (the exact sum wrapped once, outputs whose sum left the range), and between the
// pair kernels (sums modulo 2^(32-s)) and the rest: wrapAccumCounts compares them too, for
// runs that count them the same way.
inline void expectSameRun(const tachyon::Graph& g, const KernelRun& want, const KernelRun& got, const std::string& what,
                          bool wrapAccumCounts = false) {
    ASSERT_EQ(want.y.size(), got.y.size());
    for (size_t k = 0; k < want.y.size(); ++k) ASSERT_EQ(want.y[k], got.y[k]) << what << ": value " << k;
    ASSERT_EQ(want.stats.size(), got.stats.size());
    for (size_t k = 0; k < want.stats.size(); ++k) {
        const std::string& layer = want.stats[k].layer;
        EXPECT_EQ(want.stats[k].resultOverflows, got.stats[k].resultOverflows) << what << ": layer " << layer;
        EXPECT_EQ(want.stats[k].values, got.stats[k].values) << what << ": layer " << layer;
        const tachyon::Layer& l = g.at(layer);
        const bool wrappingMac = tachyon::isMac(l) && l.type("accum").overflow == tachyon::Overflow::WRAP;
        if (wrappingMac && !wrapAccumCounts) continue;
        EXPECT_EQ(want.stats[k].accumOverflows, got.stats[k].accumOverflows) << what << ": layer " << layer;
    }
}

}  // namespace test_support
