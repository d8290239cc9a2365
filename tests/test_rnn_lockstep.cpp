// The recurrent kernel's lock-step path (rows in lanes, vector casts, int64 cell products)
// against its row-by-row scalar path (TACHYON_EMULATOR_KERNEL=reference) on random
// SimpleRNN/LSTM/GRU layers: every quantisation and overflow mode, odd widths, 1-17 units,
// several steps, row counts that leave a partial block of lanes. Outputs and both overflow
// counts must agree exactly.
#include "emulator/Emulator.h"
#include "frontends/GraphBuilder.h"

#include "support/kernel_choice.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

using namespace tachyon;

namespace {

const char* kQuant[] = {"AP_TRN", "AP_TRN_ZERO", "AP_RND", "AP_RND_ZERO", "AP_RND_INF", "AP_RND_MIN_INF", "AP_RND_CONV"};
const char* kOverflow[] = {"AP_WRAP", "AP_SAT", "AP_SAT_SYM", "AP_SAT_ZERO"};
const ActKind kActs[] = {ActKind::Tanh, ActKind::Sigmoid, ActKind::HardSigmoid, ActKind::ReLU, ActKind::Linear,
                         ActKind::Softsign};

struct RandomRnn {
    Graph graph;
    std::string description;
};

// A random type: signed or not, width in [minW, maxW], integer bits around the middle.
FixedType randomType(std::mt19937& rng, int minW, int maxW) {
    const int w = std::uniform_int_distribution<int>(minW, maxW)(rng);
    const int intBits = std::uniform_int_distribution<int>(-2, std::min(w, 10))(rng);
    const bool isSigned = rng() % 5 != 0;
    const std::string s = std::string(isSigned ? "ap_fixed<" : "ap_ufixed<") + std::to_string(w) + "," +
                          std::to_string(intBits) + "," + kQuant[rng() % 7] + "," + kOverflow[rng() % 4] + ">";
    return FixedType::parse(s);
}

RandomRnn randomRnn(std::mt19937& rng) {
    RecurrentAttrs a;
    const RnnCell cells[] = {RnnCell::SimpleRNN, RnnCell::LSTM, RnnCell::GRU};
    a.cell = cells[rng() % 3];
    a.units = std::uniform_int_distribution<int>(1, 17)(rng);
    a.nIn = std::uniform_int_distribution<int>(2, 5)(rng);   // the builder reads [steps, 1] as [steps]
    a.steps = std::uniform_int_distribution<int>(2, 6)(rng);   // a 1-step shape reads as [features]
    a.returnSequences = rng() % 2;
    a.goBackwards = rng() % 2;
    a.outputInInputOrder = rng() % 2;
    a.resetAfter = rng() % 2;
    a.activation = kActs[rng() % 6];
    a.recurrentActivation = kActs[rng() % 3];
    GraphBuilder b("rec", "test");
    const std::string in = b.input("x", {a.steps, a.nIn});
    const size_t g = size_t(a.gates() * a.units);
    std::normal_distribution<double> nd(0.0, 0.3 + double(rng() % 4));
    auto vec = [&](size_t k) {
        std::vector<double> v(k);
        for (double& x : v) x = nd(rng);
        return v;
    };
    const std::string out = b.add("rec", LayerKind::Recurrent, {in}, a,
                                  {{"weight", vec(size_t(a.nIn) * g)}, {"recurrent_weight", vec(size_t(a.units) * g)},
                                   {"bias", vec(g)}, {"recurrent_bias", vec(g)}});
    RandomRnn r{b.finish(out), ""};
    Layer& l = r.graph.layers[1];
    r.graph.layers[0].precision["result"] = randomType(rng, 1, 20);
    // Accumulators both narrow (int64 cell products) and wide (Int128), up to 40 bits.
    for (const char* k : {"result", "accum", "state", "weight", "recurrent_weight", "bias", "recurrent_bias"})
        l.precision[k] = randomType(rng, 1, std::string(k) == "accum" || std::string(k) == "state" ? 40 : 24);
    l.precision["table"] = randomType(rng, 6, 18);
    l.precision["param"] = randomType(rng, 6, 18);
    r.description = toString(a.cell) + " units " + std::to_string(a.units) + " nIn " +
                    std::to_string(a.nIn) + " steps " + std::to_string(a.steps) + " act " + toString(a.activation) +
                    "/" + toString(a.recurrentActivation) + " in " + r.graph.layers[0].type("result").str();
    for (const auto& [k, t] : l.precision) r.description += " " + k + "=" + t.str();
    return r;
}

struct FixedRun {
    std::vector<int64_t> out;
    std::vector<LayerStats> stats;
};

FixedRun runWith(const char* kernel, const Graph& g, const std::vector<double>& x, size_t rows) {
    KernelChoice choice(kernel);
    Emulator emu(g);
    FixedRun r;
    r.out.resize(rows * size_t(emu.outputSize()));
    emu.runFixed(x.data(), rows, r.out.data(), nullptr, &r.stats);
    return r;
}

}  // namespace

TEST(RnnLockStep, EqualsRowByRowReferenceOnRandomLayers) {
    std::mt19937 rng(20261207);
    uint64_t resultOverflows = 0, accumOverflows = 0;
    int models = 0;
    for (int trial = 0; trial < 300; ++trial) {
        const RandomRnn m = randomRnn(rng);
        SCOPED_TRACE(m.description);
        const size_t rows = 1 + rng() % 41;   // partial blocks of 16 lanes included
        std::normal_distribution<double> nd(0.0, 0.5 + double(rng() % 8));
        std::vector<double> x(rows * size_t(m.graph.inputSize()));
        for (double& v : x) v = nd(rng);
        const FixedRun ref = runWith("reference", m.graph, x, rows);
        const FixedRun fast = runWith(nullptr, m.graph, x, rows);
        ASSERT_EQ(fast.out, ref.out);
        ASSERT_EQ(fast.stats.size(), ref.stats.size());
        for (size_t k = 0; k < ref.stats.size(); ++k) {
            EXPECT_EQ(fast.stats[k].resultOverflows, ref.stats[k].resultOverflows) << ref.stats[k].layer;
            EXPECT_EQ(fast.stats[k].accumOverflows, ref.stats[k].accumOverflows) << ref.stats[k].layer;
            resultOverflows += ref.stats[k].resultOverflows;
            accumOverflows += ref.stats[k].accumOverflows;
        }
        ++models;
    }
    EXPECT_EQ(models, 300);
    // The draw reaches saturating and wrapping casts, so the counts above were compared non-zero.
    EXPECT_GT(resultOverflows, 0u);
    EXPECT_GT(accumOverflows, 0u);
}
