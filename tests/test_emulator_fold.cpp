// Binary layers with their elementwise followers folded in (Kernel::foldFollowers: a binary
// Dense or Conv, its BatchNorm and its sign/threshold Quantize as per-output tables over the
// popcount) and the vectorised BatchNorm and Quantize casts, against the same emulator's
// step-by-step paths on random binary models: TACHYON_EMULATOR_KERNEL=reference (every
// kernel step by step, nothing folded) and =unfolded (only folding off). The models draw
// every quantisation and overflow mode for the Dense result and BatchNorm types, widths that
// overflow, fused ReLU, binary and ternary activations with shared or per-channel thresholds,
// 1-17 outputs, inputs of one and two 64-bit words, and padded convolutions. Outputs and
// every layer's overflow counts must agree exactly, and the default run must fold.
#include "emulator/Emulator.h"
#include "emulator/KernelPath.h"
#include "passes/Pass.h"
#include "support/kernel_runs.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <optional>
#include <random>
#include <string>

using namespace tachyon;

namespace {

using test_support::KernelRun;

class ModelBuilder {
public:
    explicit ModelBuilder(uint64_t seed) : rng_(seed) { g.name = "fold"; }

    int pick(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
    double normal() { return std::normal_distribution<double>(0.0, 1.0)(rng_); }

    // ap_fixed<w, i, random quantisation, random overflow>.
    std::string randomType(int wLo, int wHi) {
        const int w = pick(wLo, wHi);
        return "ap_fixed<" + std::to_string(w) + "," + std::to_string(pick(1, w)) + "," + test_support::kQuantModes[pick(0, 6)] + "," +
               test_support::kOverflowModes[pick(0, 3)] + ">";
    }

    Layer& add(const std::string& name, LayerKind kind, Attrs attrs, Shape shape) {
        Layer l;
        l.name = name;
        l.kind = kind;
        if (!g.layers.empty()) l.inputs = {g.layers.back().name};
        l.attrs = std::move(attrs);
        l.shape = std::move(shape);
        g.layers.push_back(std::move(l));
        return g.layers.back();
    }

    void input(Shape shape) {
        add("x", LayerKind::Input, NoAttrs{}, shape).precision["result"] = FixedType::parse("ap_fixed<10,4>");
    }

    // Threshold Quantize: two levels +-a (binary) or three (ternary), thresholds per channel
    // or one row for all.
    void sign(const std::string& name, bool ternary) {
        const Shape shape = g.layers.back().shape;
        QuantizeAttrs q;
        q.mode = QuantizeMode::Threshold;
        const double a = pick(0, 1) ? 1.0 : 0.5;
        q.levels = ternary ? std::vector<double>{-a, 0.0, a} : std::vector<double>{-a, a};
        q.nThresholds = int(q.levels.size()) - 1;
        for (int k = 0; k < q.nThresholds; ++k) q.strict.push_back(pick(0, 1));
        const int rows = pick(0, 1) ? shape.back() : 1;
        for (int c = 0; c < rows; ++c) {
            double t = 0.3 * normal();
            for (int k = 0; k < q.nThresholds; ++k, t += 0.25 + std::fabs(normal())) q.thresholds.push_back(t);
        }
        add(name, LayerKind::Quantize, q, shape).precision["result"] = FixedType::parse("ap_fixed<4,2>");
    }

    // Binary weights +-H_j (or, not `binary`, normal ones), a random result type (narrow ones
    // overflow) and fused ReLU.
    void mac(Layer& l, int nIn, int nOut, bool binary = true) {
        const double levels[] = {1.0, 0.5, 2.0, 0.75};
        std::vector<double> h(static_cast<size_t>(nOut));
        for (double& v : h) v = levels[pick(0, 3)];
        for (int i = 0; i < nIn; ++i)
            for (int j = 0; j < nOut; ++j)
                l.param("weight").push_back(binary ? (pick(0, 1) ? 1.0 : -1.0) * h[size_t(j)] : normal());
        for (int j = 0; j < nOut; ++j) l.param("bias").push_back(std::ldexp(std::round(normal() * 8.0), -2));
        l.precision["weight"] = FixedType::parse("ap_fixed<4,2>");
        l.precision["bias"] = FixedType::parse("ap_fixed<8,4>");
        l.precision["accum"] = autoAccumulator(l, g.at(l.inputs[0]).type("result"));
        l.precision["result"] = FixedType::parse(randomType(2, 14));
    }

    void dense(const std::string& name, int nOut, bool binary = true) {
        const int nIn = g.layers.back().shape.back();
        Layer& l = add(name, LayerKind::Dense, DenseAttrs{nIn, nOut, pick(0, 2) == 0 ? ActKind::ReLU : ActKind::Linear}, {nOut});
        mac(l, nIn, nOut, binary);
    }

    // A "same"-padded 2-D convolution (3x3 or 1x5 windows, stride 1 or 2).
    void conv(const std::string& name, int filters) {
        const Shape in = g.layers.back().shape;
        ConvAttrs a;
        a.rank = 2;
        a.kernel = pick(0, 1) ? std::vector<int>{3, 3} : std::vector<int>{1, 5};
        const int s = pick(1, 2);
        a.strides = {s, s};
        a.dilation = {1, 1};
        a.padBegin = {a.kernel[0] / 2, a.kernel[1] / 2};
        a.padEnd = a.padBegin;
        a.inChannels = in.back();
        a.outChannels = filters;
        a.activation = pick(0, 2) == 0 ? ActKind::ReLU : ActKind::Linear;
        Layer& l = add(name, LayerKind::Conv, a, inferShape(LayerKind::Conv, a, {in}));
        mac(l, a.windowSize(), filters);
    }

    void batchNorm(const std::string& name) {
        const Shape shape = g.layers.back().shape;
        Layer& l = add(name, LayerKind::BatchNorm, NoAttrs{}, shape);
        for (int c = 0; c < shape.back(); ++c) {
            l.param("scale").push_back(std::fabs(normal()) * (pick(0, 3) ? 1.0 : -1.0));
            l.param("shift").push_back(normal());
        }
        l.precision["scale"] = FixedType::parse("ap_fixed<10,3>");
        l.precision["shift"] = FixedType::parse("ap_fixed<10,4>");
        l.precision["result"] = FixedType::parse(randomType(2, 16));
    }

    void flatten(const std::string& name) {
        int n = 1;
        for (int d : g.layers.back().shape) n *= d;
        const FixedType t = g.layers.back().type("result");
        add(name, LayerKind::Reshape, ReshapeAttrs{}, {n}).precision["result"] = t;
    }

    Graph g;

private:
    std::mt19937_64 rng_;
};

// Input -> sign -> (binary Dense -> BatchNorm -> sign/ternary) x 2 -> binary Dense -> BatchNorm;
// in half the models the first Dense reads the input itself with real weights (the generic
// MAC), so that its BatchNorm and sign fold into thresholds on its result instead.
Graph randomBinaryMlp(uint64_t seed, std::string& description) {
    ModelBuilder b(seed);
    const int nIn = b.pick(0, 3) == 0 ? b.pick(65, 140) : b.pick(1, 64);
    b.input({nIn});
    const bool realFirst = b.pick(0, 1);
    if (!realFirst) b.sign("sign0", false);
    for (int k = 1; k <= 2; ++k) {
        b.dense("fc" + std::to_string(k), b.pick(1, 17), !(realFirst && k == 1));
        b.batchNorm("bn" + std::to_string(k));
        b.sign("act" + std::to_string(k), k == 2 && b.pick(0, 3) == 0);
    }
    b.dense("out", b.pick(1, 17));
    b.batchNorm("bn_out");
    for (const Layer& l : b.g.layers)
        if (l.precision.count("result")) description += l.name + " " + l.type("result").str() + " | ";
    return b.g;
}

// Input [h, w, c] -> sign -> padded binary Conv -> BatchNorm -> sign -> Flatten -> binary Dense -> BatchNorm.
Graph randomBinaryCnn(uint64_t seed, std::string& description) {
    ModelBuilder b(seed);
    b.input({b.pick(3, 7), b.pick(3, 7), b.pick(1, 8)});
    b.sign("sign0", false);
    b.conv("conv", b.pick(1, 17));
    b.batchNorm("bn1");
    b.sign("act1", false);
    b.flatten("flat");
    b.dense("out", b.pick(1, 17));
    b.batchNorm("bn_out");
    for (const Layer& l : b.g.layers)
        if (l.precision.count("result")) description += l.name + " " + l.type("result").str() + " | ";
    return b.g;
}

KernelRun runWith(const Graph& g, const char* kernel, const std::vector<double>& x, size_t rows, int threads) {
    return test_support::runWithKernel(g, kernel, x, rows, threads, 29);
}

// Every count compares: these graphs' MAC layers have `auto` accumulators, which never
// overflow, so no wrapping count can differ between the paths.
void expectSame(const Graph& g, const KernelRun& want, const KernelRun& got, const std::string& what) {
    test_support::expectSameRun(g, want, got, what, true);
}

// Rows around the thresholds: normal values, scaled so that every sign flips often.
std::vector<double> randomRows(size_t n, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> nd(0.0, 1.0);
    std::vector<double> x(n);
    for (double& v : x) v = nd(rng) * 2.0;
    return x;
}

// Runs `models` random graphs from `make` three ways; returns how many layers the default
// run folded in all, and how many result overflows the reference run counted.
std::pair<size_t, uint64_t> checkAgainstReference(Graph (*make)(uint64_t, std::string&), int models, uint64_t seed) {
    size_t folded = 0;
    uint64_t overflows = 0;
    for (int m = 0; m < models; ++m) {
        std::string description;
        const Graph g = make(seed + uint64_t(m), description);
        SCOPED_TRACE(description);
        const size_t rows = 1 + size_t((seed * 31 + uint64_t(m) * 17) % 120);
        const auto x = randomRows(rows * size_t(g.inputSize()), seed + uint64_t(m));
        const KernelRun ref = runWith(g, "reference", x, rows, 1);
        EXPECT_EQ(ref.folded, 0u);
        const KernelRun unfolded = runWith(g, "unfolded", x, rows, 1);
        EXPECT_EQ(unfolded.folded, 0u);
        const KernelRun fast = runWith(g, nullptr, x, rows, 2);
        expectSame(g, ref, unfolded, "vectorised BatchNorm/Quantize vs reference");
        expectSame(g, ref, fast, "folded vs reference");
        folded += fast.folded;
        for (const LayerStats& s : ref.stats) overflows += s.resultOverflows;
        if (::testing::Test::HasFatalFailure()) break;
    }
    return {folded, overflows};
}

}  // namespace

TEST(EmulatorFold, RandomBinaryMlpsMatchTheReferencePath) {
    const auto [folded, overflows] = checkAgainstReference(randomBinaryMlp, 150, 100);
    // Every binary Dense after a sign folds its BatchNorm and activation (2 or 3 of them a
    // model: 3 to 6 layers, and a BatchNorm + sign after a real first Dense may fold as 1);
    // overflows were exercised.
    EXPECT_GT(folded, 150u * 3);
    EXPECT_GT(overflows, 1000u);
}

TEST(EmulatorFold, RandomBinaryCnnsMatchTheReferencePath) {
    const auto [folded, overflows] = checkAgainstReference(randomBinaryCnn, 60, 900);
    EXPECT_GE(folded, 60u * 2);   // the padded conv's BatchNorm and sign at least
    EXPECT_GT(overflows, 100u);
}

// A group ends at a layer that two layers read: its output is the group's, written as
// usual; nothing after it joins the group.
TEST(EmulatorFold, SharedIntermediateIsNotFolded) {
    ModelBuilder b(7);
    b.input({12});
    b.sign("sign0", false);
    b.dense("fc", 6);
    b.batchNorm("bn");
    b.sign("act", false);
    Layer cat;
    cat.name = "cat";
    cat.kind = LayerKind::Concatenate;
    cat.inputs = {"bn", "act"};
    cat.attrs = ConcatAttrs{0};
    cat.shape = {12};
    cat.precision["result"] = FixedType::parse("ap_fixed<16,8>");
    b.g.layers.push_back(cat);
    const auto x = randomRows(50 * 12, 3);
    const KernelRun ref = runWith(b.g, "reference", x, 50, 1);
    const KernelRun fast = runWith(b.g, nullptr, x, 50, 1);
    EXPECT_EQ(fast.folded, 1u);   // bn into fc; act not (bn's output is read twice)
    expectSame(b.g, ref, fast, "shared intermediate");
    // Without the second reader the same chain folds.
    b.g.layers.pop_back();
    EXPECT_EQ(runWith(b.g, nullptr, x, 50, 1).folded, 2u);
}

// BatchNorm -> sign after a generic (not binary) Dense folds into one threshold per channel
// on the Dense's result: with a wide BatchNorm result, and with a narrow saturating one that
// many inputs overflow (those run step by step and are counted); not when a level of the
// sign overflows its result type.
TEST(EmulatorFold, BatchNormSignBecomesThresholdsOnTheDenseResult) {
    struct Case {
        const char* bnResult;
        const char* signResult;
        size_t folded;
    };
    for (const Case& c : {Case{"ap_fixed<18,10>", "ap_fixed<4,2>", 1}, Case{"ap_fixed<4,2,AP_RND,AP_SAT>", "ap_fixed<4,2>", 1},
                          Case{"ap_fixed<5,3,AP_TRN,AP_WRAP>", "ap_fixed<4,2>", 1}, Case{"ap_fixed<18,10>", "ap_fixed<2,1>", 0}}) {
        SCOPED_TRACE(std::string(c.bnResult) + " " + c.signResult);
        ModelBuilder b(11);
        b.input({9});
        b.dense("fc", 13, false);
        b.g.layers.back().precision["result"] = FixedType::parse("ap_fixed<10,5,AP_RND,AP_SAT>");
        b.batchNorm("bn");
        b.g.layers.back().precision["result"] = FixedType::parse(c.bnResult);
        b.sign("act", false);
        b.g.layers.back().precision["result"] = FixedType::parse(c.signResult);
        const auto x = randomRows(300 * 9, 5);
        const KernelRun ref = runWith(b.g, "reference", x, 300, 1);
        const KernelRun fast = runWith(b.g, nullptr, x, 300, 1);
        EXPECT_EQ(fast.folded, c.folded);
        expectSame(b.g, ref, fast, "BatchNorm + sign");
        // Both levels occur (a constant output would pass trivially), or the level overflowed.
        if (c.folded) {
            EXPECT_NE(*std::min_element(ref.y.begin(), ref.y.end()), *std::max_element(ref.y.begin(), ref.y.end()));
        } else {
            EXPECT_GT(ref.stats[3].resultOverflows, 10u);
        }
        if (std::string(c.bnResult) != "ap_fixed<18,10>") {
            EXPECT_GT(ref.stats[2].resultOverflows, 10u);   // bn overflowed
        }
    }
}

// The vectorised casts of a one-type Quantize (QKeras quantized_bits, QONNX Quant) and of
// BatchNorm against their step-by-step forms: random quantiser and result types of every
// rounding and overflow mode, from an input type that overflows them.
TEST(EmulatorFold, VectorisedQuantizeAndBatchNormCastsMatchTheReferencePath) {
    uint64_t overflows = 0;
    for (int m = 0; m < 200; ++m) {
        ModelBuilder b(5000 + uint64_t(m));
        const int n = b.pick(1, 40);
        b.input({n});
        b.g.layers.back().precision["result"] = FixedType::parse(b.randomType(2, 24));
        QuantizeAttrs q;
        q.mode = QuantizeMode::Fixed;
        q.quant = Quant(b.pick(0, 6));
        q.overflow = Overflow(b.pick(0, 3));
        const int w = b.pick(1, 20);
        q.width = {w};
        q.integer = {b.pick(-2, w + 2)};
        q.isSigned = {b.pick(0, 3) != 0 || w == 1 ? 1 : 0};
        if (w == 1) q.isSigned = {0};
        b.add("quant", LayerKind::Quantize, q, {n}).precision["result"] = FixedType::parse(b.randomType(2, 24));
        b.batchNorm("bn");
        std::string description;
        for (const Layer& l : b.g.layers) description += l.name + " " + l.type("result").str() + " | ";
        SCOPED_TRACE(description + " quantiser " + q.elementType(0).str());
        const size_t rows = 1 + size_t(m % 50);
        const auto x = randomRows(rows * size_t(n), uint64_t(m));
        const KernelRun ref = runWith(b.g, "reference", x, rows, 1);
        const KernelRun fast = runWith(b.g, nullptr, x, rows, 1);
        expectSame(b.g, ref, fast, "vectorised casts");
        for (const LayerStats& s : ref.stats) overflows += s.resultOverflows;
        if (HasFatalFailure()) return;
    }
    EXPECT_GT(overflows, 500u);
}
