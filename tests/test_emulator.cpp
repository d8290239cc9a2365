// The emulator's fast kernels against a straightforward step-by-step implementation of
// docs/semantics.md written here with FixedType::castRaw only, on random graphs, types
// and inputs (including values that saturate and accumulators that overflow).
#include "emulator/Emulator.h"
#include "passes/Pass.h"

#include <gtest/gtest.h>

#include <random>

using namespace tachyon;

namespace {

FixedType T(const std::string& s) { return FixedType::parse(s); }

Layer input(int n, const FixedType& t) {
    Layer l;
    l.name = "in";
    l.kind = LayerKind::Input;
    l.shape = {n};
    l.precision["result"] = t;
    return l;
}

Layer dense(const std::string& name, const std::string& in, int nIn, int nOut, std::mt19937_64& rng, double zeroFrac,
            double scale) {
    Layer l;
    l.name = name;
    l.kind = LayerKind::Dense;
    if (!in.empty()) l.inputs = {in};
    l.attrs = DenseAttrs{nIn, nOut};
    l.shape = {nOut};
    std::normal_distribution<double> nd(0, scale);
    std::uniform_real_distribution<double> u(0, 1);
    for (int k = 0; k < nIn * nOut; ++k) l.param("weight").push_back(u(rng) < zeroFrac ? 0.0 : nd(rng));
    for (int j = 0; j < nOut; ++j) l.param("bias").push_back(nd(rng));
    return l;
}

Layer activation(const std::string& name, const std::string& in, int n, ActKind a) {
    Layer l;
    l.name = name;
    l.kind = LayerKind::Activation;
    if (!in.empty()) l.inputs = {in};
    l.attrs = ActAttrs{a};
    l.as<ActAttrs>().alpha = 0.3;
    l.shape = {n};
    return l;
}

// Reference: one value at a time, with castRaw for every cast the semantics name.
std::vector<Int128> referenceRow(const Emulator& emu, const Graph& g, const std::vector<Int128>& xIn) {
    std::map<std::string, std::vector<Int128>> vals;
    for (const Layer& l : g.layers) {
        std::vector<Int128> out;
        const FixedType& rT = l.type("result");
        if (l.kind == LayerKind::Input) {
            vals[l.name] = xIn;
            continue;
        }
        const std::vector<Int128>& x = vals[l.input()];
        const FixedType& inT = g.find(l.input())->type("result");
        if (l.kind == LayerKind::Dense) {
            const FixedType &wT = l.type("weight"), &bT = l.type("bias"), &aT = l.type("accum");
            for (int j = 0; j < macDims(l).nOut; ++j) {
                Int128 acc = aT.castRaw(bT.castDouble(l.param("bias")[size_t(j)]), bT.frac());
                for (int i = 0; i < macDims(l).nIn; ++i) {
                    Int128 w = wT.castDouble(l.param("weight")[size_t(i) * macDims(l).nOut + j]);
                    Int128 p = aT.castRaw(x[size_t(i)] * w, inT.frac() + wT.frac());
                    acc = aT.castRaw(acc + p, aT.frac());
                }
                Int128 z = rT.castRaw(acc, aT.frac());
                if (l.activation() == ActKind::ReLU && z < 0) z = 0;
                out.push_back(z);
            }
        } else if (l.kind == LayerKind::Activation) {
            for (Int128 v : x) {
                switch (l.activation()) {
                case ActKind::Linear: out.push_back(rT.castRaw(v, inT.frac())); break;
                case ActKind::ReLU: out.push_back(rT.castRaw(v < 0 ? 0 : v, inT.frac())); break;
                case ActKind::LeakyReLU: {
                    const FixedType& p = l.type("param");
                    Int128 a = p.castDouble(l.as<ActAttrs>().alpha);
                    out.push_back(v >= 0 ? rT.castRaw(v, inT.frac()) : rT.castRaw(v * a, inT.frac() + p.frac()));
                    break;
                }
                case ActKind::Sigmoid:
                case ActKind::Tanh: {
                    const LookupTable* t = emu.activationTable(l.name);
                    out.push_back(rT.castRaw(t->lookup(int64_t(v)), t->valueType.frac()));
                    break;
                }
                default: ADD_FAILURE() << "activation not covered by the reference";
                }
            }
        } else if (l.kind == LayerKind::Softmax) {
            const SoftmaxTables* t = emu.softmaxTables(l.name);
            Int128 m = x[0];
            for (Int128 v : x) m = std::max(m, v);
            Int128 s = 0;
            std::vector<Int128> e;
            for (Int128 v : x) { e.push_back(t->exp.lookup(int64_t(m - v))); s += e.back(); }
            Int128 r = t->inv.lookup(int64_t(s));
            for (Int128 ev : e) out.push_back(rT.castRaw(ev * r, t->exp.valueType.frac() + t->inv.valueType.frac()));
        }
        vals[l.name] = out;
    }
    return vals[g.output().name];
}

void checkAgainstReference(const Graph& g, size_t rows, uint64_t seed) {
    Emulator emu(g);
    std::mt19937_64 rng(seed);
    const FixedType& inT = g.input().type("result");
    std::uniform_int_distribution<int64_t> raw(int64_t(inT.minRaw()), int64_t(inT.maxRaw()));
    std::vector<int64_t> x(rows * size_t(emu.inputSize()));
    for (auto& v : x) v = raw(rng);
    std::vector<int64_t> y(rows * size_t(emu.outputSize()));
    std::vector<LayerStats> stats;
    emu.runFixedRaw(x.data(), rows, y.data(), &stats, EmulatorOptions{2, 97});
    for (size_t r = 0; r < rows; ++r) {
        std::vector<Int128> row(x.begin() + long(r * emu.inputSize()), x.begin() + long((r + 1) * emu.inputSize()));
        auto want = referenceRow(emu, g, row);
        for (int j = 0; j < emu.outputSize(); ++j)
            ASSERT_EQ(y[r * emu.outputSize() + j], int64_t(want[size_t(j)])) << "row " << r << " output " << j;
    }
}

Graph mlp(const std::string& in, const std::string& w, const std::string& acc, const std::string& res, uint64_t seed,
          ActKind act = ActKind::ReLU, bool softmax = true) {
    std::mt19937_64 rng(seed);
    Graph g;
    g.name = "mlp";
    g.layers.push_back(input(16, T(in)));
    g.layers.push_back(dense("fc1", "in", 16, 24, rng, 0.3, 0.5));
    g.layers.push_back(activation("act1", "fc1", 24, act));
    g.layers.push_back(dense("fc2", "act1", 24, 5, rng, 0.1, 0.5));
    if (softmax) {
        Layer s;
        s.name = "softmax";
        s.kind = LayerKind::Softmax;
        s.inputs = {"fc2"};
        s.shape = {5};
        g.layers.push_back(s);
    }
    for (Layer& l : g.layers) {
        l.precision["result"] = T(res);
        if (l.kind == LayerKind::Input) l.precision["result"] = T(in);
        if (l.kind == LayerKind::Dense) {
            l.precision["weight"] = T(w);
            l.precision["bias"] = T(w);
            l.precision["accum"] = T(acc);
        }
        if (l.kind == LayerKind::Activation) { l.precision["table"] = defaultTableType(); l.precision["param"] = defaultParamType(); }
        if (l.kind == LayerKind::Softmax) {
            l.precision["exp_table"] = defaultSoftmaxTableType(T(res));
            l.precision["inv_table"] = defaultSoftmaxTableType(T(res));
        }
    }
    return g;
}

}  // namespace

TEST(Emulator, WrapTruncMatchesReference) {
    checkAgainstReference(mlp("ap_fixed<16,6>", "ap_fixed<16,6>", "ap_fixed<16,6>", "ap_fixed<16,6>", 1), 3000, 11);
}

TEST(Emulator, RoundSaturateMatchesReference) {
    // A narrow saturating accumulator forces the step-by-step path and real saturation.
    checkAgainstReference(mlp("ap_fixed<8,3,AP_RND,AP_SAT>", "ap_fixed<8,3,AP_RND,AP_SAT>",
                              "ap_fixed<10,4,AP_RND,AP_SAT>", "ap_fixed<8,3,AP_RND,AP_SAT>", 2),
                          3000, 12);
}

TEST(Emulator, EveryQuantisationModeInTheAccumulator) {
    for (const char* q : {"AP_TRN", "AP_TRN_ZERO", "AP_RND", "AP_RND_ZERO", "AP_RND_INF", "AP_RND_MIN_INF", "AP_RND_CONV"})
        for (const char* o : {"AP_WRAP", "AP_SAT", "AP_SAT_SYM", "AP_SAT_ZERO"}) {
            std::string acc = std::string("ap_fixed<14,5,") + q + "," + o + ">";
            std::string res = std::string("ap_fixed<10,4,") + q + "," + o + ">";
            SCOPED_TRACE(acc);
            checkAgainstReference(mlp("ap_fixed<12,4>", "ap_fixed<9,2,AP_RND>", acc, res, 3, ActKind::LeakyReLU, false),
                                  300, 13);
        }
}

TEST(Emulator, LookupTablesAndWideTypes) {
    checkAgainstReference(mlp("ap_fixed<20,8>", "ap_fixed<18,3>", "ap_fixed<40,16>", "ap_fixed<18,8,AP_RND,AP_SAT>", 4,
                              ActKind::Sigmoid),
                          2000, 14);
    checkAgainstReference(mlp("ap_fixed<10,5>", "ap_fixed<6,1>", "ap_fixed<24,12>", "ap_fixed<10,5>", 5, ActKind::Tanh),
                          2000, 15);
    checkAgainstReference(mlp("ap_fixed<32,12>", "ap_fixed<32,12>", "ap_fixed<64,24>", "ap_fixed<32,12>", 6), 500, 16);
}

TEST(Emulator, AutoAccumulatorNeverOverflows) {
    Graph g = mlp("ap_fixed<16,6>", "ap_fixed<8,2>", "ap_fixed<16,6>", "ap_fixed<16,6>", 7);
    for (Layer& l : g.layers)
        if (l.kind == LayerKind::Dense) l.precision["accum"] = autoAccumulator(l, g.find(l.input())->type("result"));
    Emulator emu(g);
    const FixedType& inT = g.input().type("result");
    std::vector<int64_t> x(2000 * 16);
    std::mt19937_64 rng(3);
    // Extreme inputs: only the range's ends, the worst case for the bound.
    for (auto& v : x) v = (rng() & 1) ? int64_t(inT.maxRaw()) : int64_t(inT.minRaw());
    std::vector<int64_t> y(2000 * 5);
    std::vector<LayerStats> stats;
    emu.runFixedRaw(x.data(), 2000, y.data(), &stats);
    for (const auto& s : stats) EXPECT_EQ(s.accumOverflows, 0u) << s.layer;
    checkAgainstReference(g, 1000, 17);
}

TEST(Emulator, FloatModeIsPlainDoubleArithmetic) {
    Graph g = mlp("ap_fixed<16,6>", "ap_fixed<16,6>", "ap_fixed<16,6>", "ap_fixed<16,6>", 8, ActKind::ReLU, true);
    Emulator emu(g);
    std::vector<double> x(16, 0.25), y(5);
    emu.runFloat(x.data(), 1, y.data());
    const Layer& d1 = *g.find("fc1");
    const Layer& d2 = *g.find("fc2");
    std::vector<double> h(24), z(5);
    for (int j = 0; j < 24; ++j) {
        double s = d1.param("bias")[size_t(j)];
        for (int i = 0; i < 16; ++i) s += 0.25 * d1.param("weight")[size_t(i) * 24 + j];
        h[size_t(j)] = std::max(s, 0.0);
    }
    double m = -1e300, sum = 0;
    for (int j = 0; j < 5; ++j) {
        double s = d2.param("bias")[size_t(j)];
        for (int i = 0; i < 24; ++i) s += h[size_t(i)] * d2.param("weight")[size_t(i) * 5 + j];
        z[size_t(j)] = s;
        m = std::max(m, s);
    }
    for (double v : z) sum += std::exp(v - m);
    for (int j = 0; j < 5; ++j) EXPECT_NEAR(y[size_t(j)], std::exp(z[size_t(j)] - m) / sum, 1e-12);
}

TEST(Emulator, OverflowStatisticsCountSaturation) {
    Graph g = mlp("ap_fixed<16,6>", "ap_fixed<16,6>", "ap_fixed<16,6>", "ap_fixed<6,2,AP_TRN,AP_SAT>", 9,
                  ActKind::ReLU, false);
    Emulator emu(g);
    std::vector<double> x(100 * 16, 40.0), y(100 * 5);
    std::vector<int64_t> raw(100 * 5);
    std::vector<LayerStats> stats;
    emu.runFixed(x.data(), 100, raw.data(), y.data(), &stats);
    EXPECT_EQ(stats[0].resultOverflows, 100u * 16);  // 40 does not fit the ap_fixed<16,6> input
    uint64_t later = 0;
    for (size_t k = 1; k < stats.size(); ++k) later += stats[k].resultOverflows;
    EXPECT_GT(later, 0u);  // and ap_fixed<6,2> results saturate
    for (double v : y) EXPECT_LE(v, T("ap_fixed<6,2>").maxValue());
}

TEST(Emulator, FloatInputsCastExactlyLikeFixedType) {
    // runFixed casts doubles to the Input type on a vectorised path when it can; it must
    // agree with FixedType::castDouble for ordinary, rounding-edge, huge and NaN inputs.
    for (const char* in : {"ap_fixed<16,6>", "ap_fixed<8,3,AP_RND,AP_SAT>", "ap_fixed<12,4,AP_RND_CONV,AP_SAT_SYM>",
                           "ap_ufixed<10,4,AP_RND_ZERO,AP_WRAP>"}) {
        SCOPED_TRACE(in);
        Graph g = mlp(in, "ap_fixed<10,3>", "ap_fixed<24,10>", "ap_fixed<16,6>", 10, ActKind::ReLU, false);
        Emulator emu(g);
        const FixedType inT = T(in);
        std::mt19937_64 rng(21);
        std::normal_distribution<double> nd(0, 8);
        const size_t rows = 700;
        for (bool wild : {false, true}) {
            std::vector<double> x(rows * 16);
            for (size_t i = 0; i < x.size(); ++i) {
                x[i] = nd(rng);
                if (i % 7 == 0) x[i] = std::ldexp(std::round(x[i] * 64) + 0.5, -inT.frac() - 6);  // half-LSB ties
            }
            if (wild) {
                x[5] = 1e300;
                x[6] = -1e300;
                x[7] = std::nan("");
                x[8] = 3.0e9;
            }
            std::vector<int64_t> viaFloat(rows * 5), viaRaw(rows * 5), raw(x.size());
            emu.runFixed(x.data(), rows, viaFloat.data(), nullptr);
            for (size_t i = 0; i < x.size(); ++i) raw[i] = int64_t(inT.castDouble(x[i]));
            emu.runFixedRaw(raw.data(), rows, viaRaw.data());
            EXPECT_EQ(viaFloat, viaRaw);
        }
    }
}

TEST(Emulator, DefaultSoftmaxTablesKeepTheArgmax) {
    // Tachyon's default tables at 16 bits must keep the float argmax on >= 99.9% of rows.
    // Logits of a 5-class tagger, spread like trained ones; a row only "fails" when the
    // fixed-point softmax picks another class than the float softmax of the same logits.
    for (const char* res : {"ap_fixed<16,6>", "ap_fixed<16,6,AP_RND,AP_SAT>", "ap_fixed<16,8>"}) {
        SCOPED_TRACE(res);
        Graph g;
        g.name = "softmax_only";
        g.layers.push_back(input(5, T(res)));
        Layer s;
        s.name = "softmax";
        s.kind = LayerKind::Softmax;
        s.inputs = {"in"};
        s.shape = {5};
        s.precision["result"] = T(res);
        s.precision["exp_table"] = defaultSoftmaxTableType(T(res));
        s.precision["inv_table"] = defaultSoftmaxTableType(T(res));
        g.layers.push_back(s);
        Emulator emu(g);
        const size_t rows = 100000;
        std::mt19937_64 rng(7);
        std::normal_distribution<double> nd(0, 3);
        std::vector<double> x(rows * 5), yf(rows * 5), yq(rows * 5);
        for (double& v : x) v = nd(rng);
        std::vector<int64_t> raw(rows * 5);
        emu.runFloat(x.data(), rows, yf.data());
        emu.runFixed(x.data(), rows, raw.data(), yq.data());
        size_t agree = 0;
        for (size_t r = 0; r < rows; ++r) {
            auto am = [&](const std::vector<double>& v) {
                return std::max_element(v.begin() + long(r * 5), v.begin() + long(r * 5 + 5)) - (v.begin() + long(r * 5));
            };
            agree += am(yf) == am(yq);
        }
        EXPECT_GE(double(agree) / rows, 0.999) << agree << " of " << rows;
    }
}
