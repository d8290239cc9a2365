// Recurrent and graph layers: PyTorch LSTM/GRU/RNN (ONNX) and hand-built Keras 2 models
// (scripts/make_rnn_fixtures.py) compute in float mode what the framework computes; the
// zoo's GarNet model matches its reference outputs; in fixed point the recurrent kernel
// equals a step-by-step reference written here from docs/semantics.md with
// FixedType::castRaw for every cast, independently of the kernel's fast paths.
#include "support/zoo.h"
#include "config/Config.h"
#include "emulator/Emulator.h"
#include "emulator/Tables.h"
#include "frontends/Frontend.h"
#include "frontends/GraphBuilder.h"
#include "passes/Pass.h"
#include "util/Error.h"
#include "util/Npy.h"

#include "float_reference.h"

#include "fixture_dir.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <fstream>
#include <random>

using namespace tachyon;
namespace fs = std::filesystem;

namespace {

const std::string kShared = test_support::zooDir();

const std::string& fixtureDir() {
    static const std::string dir = fixtureDirMadeBy("make_rnn_fixtures.py", "rnn_fixtures.stamp", "1");
    return dir;
}

const std::vector<std::string> kTorch = {"lstm_seq", "lstm_last", "lstm_hn", "gru_last", "gru_seq", "rnn_seq", "rnn_relu_last"};
const std::vector<std::string> kKeras = {"keras_lstm", "keras_gru", "keras_simplernn"};

Graph loadFixture(const std::string& name) {
    const std::string d = fixtureDir() + "/";
    if (fs::exists(d + name + ".onnx")) return loadModel(d + name + ".onnx");
    return loadModel(d + name + ".json");
}

// ---- the step-by-step fixed-point reference (docs/semantics.md, "Recurrent layers") ----

using I = Int128;

struct RecRef {
    const Layer& l;
    FixedType inT, A, S, W, R, B, RB, res;
    RecurrentAttrs a;
    std::vector<I> w, rw, b, rb;
    mutable std::map<std::string, LookupTable> tables;   // by activation and key type

    RecRef(const Layer& layer, const FixedType& in) : l(layer), inT(in) {
        a = l.as<RecurrentAttrs>();
        A = l.type("accum");
        S = l.type("state");
        W = l.type("weight");
        R = l.type("recurrent_weight");
        B = l.type("bias");
        RB = l.type("recurrent_bias");
        res = l.type("result");
        for (double v : l.param("weight")) w.push_back(W.castDouble(v));
        for (double v : l.param("recurrent_weight")) rw.push_back(R.castDouble(v));
        for (double v : l.param("bias")) b.push_back(B.castDouble(v));
        for (double v : l.param("recurrent_bias")) rb.push_back(RB.castDouble(v));
    }

    // Dense semantics over columns [c0, c1) of a [n][G*units] matrix.
    std::vector<I> mac(const std::vector<I>& x, const FixedType& xT, const std::vector<I>& m, const FixedType& mT,
                       const std::vector<I>& bias, const FixedType& bT, int c0, int c1) const {
        const int cols = a.gates() * a.units;
        std::vector<I> acc;
        for (int j = c0; j < c1; ++j) {
            I s = A.castRaw(bias[size_t(j)], bT.frac());
            for (size_t i = 0; i < x.size(); ++i) {
                const I p = A.castRaw(x[i] * m[i * size_t(cols) + size_t(j)], xT.frac() + mT.frac());
                s = A.castRaw(s + p, A.frac());
            }
            acc.push_back(s);
        }
        return acc;
    }

    // act_A(key): cast<A>(f(key)); tables from Tables.h for the key's type.
    I act(ActKind k, I key, const FixedType& keyT) const {
        switch (k) {
        case ActKind::Linear: return A.castRaw(key, keyT.frac());
        case ActKind::ReLU: return A.castRaw(key < 0 ? I(0) : key, keyT.frac());
        case ActKind::HardSigmoid: {
            const FixedType& p = l.type("param");
            const I slope = p.castDouble(0.2), offset = p.castDouble(0.5);
            // slope * x + offset exactly, at frac pf + fk (fk >= 0 here), clipped to [0, 1].
            const int f = p.frac() + keyT.frac();
            I v = slope * key + offset * (I(1) << keyT.frac());
            v = std::max(I(0), std::min(v, I(1) << f));
            return A.castRaw(v, f);
        }
        default: {
            Layer t;
            t.name = l.name;
            t.kind = LayerKind::Activation;
            t.attrs = ActAttrs{k};
            t.precision["table"] = l.type("table");
            t.table = l.table;
            const std::string tk = toString(k) + keyT.str();
            if (!tables.count(tk)) tables[tk] = buildActivationTable(t, keyT);
            const LookupTable& tbl = tables.at(tk);
            const I e = tbl.values[size_t(tbl.index(int64_t(key)))];
            return A.castRaw(e, tbl.valueType.frac());
        }
        }
    }

    std::vector<I> run(const std::vector<I>& seq) const {
        const int n = a.units, T = a.steps, F = a.nIn;
        const int fa = A.frac(), fs = S.frac();
        std::vector<I> h(size_t(n), 0), c(size_t(n), 0), out(size_t(a.returnSequences ? T * n : n), 0);
        for (int k = 0; k < T; ++k) {
            const int t = a.goBackwards ? T - 1 - k : k;
            std::vector<I> x(seq.begin() + t * F, seq.begin() + (t + 1) * F);
            const int G = a.gates();
            const bool before = a.cell == RnnCell::GRU && !a.resetAfter;
            const auto ax = mac(x, inT, w, W, b, B, 0, G * n);
            const auto ah = mac(h, S, rw, R, rb, RB, 0, before ? 2 * n : G * n);
            auto pre = [&](int j) { return A.castRaw(ax[size_t(j)] + ah[size_t(j)], fa); };
            std::vector<I> hn(static_cast<size_t>(n));
            if (a.cell == RnnCell::SimpleRNN) {
                for (int j = 0; j < n; ++j) hn[size_t(j)] = S.castRaw(act(a.activation, pre(j), A), fa);
            } else if (a.cell == RnnCell::LSTM) {
                for (int j = 0; j < n; ++j) {
                    const I i = act(a.recurrentActivation, pre(j), A), f = act(a.recurrentActivation, pre(n + j), A);
                    const I g = act(a.activation, pre(2 * n + j), A), o = act(a.recurrentActivation, pre(3 * n + j), A);
                    // g*i + c*f exactly: bring both to frac 2fa + fs.
                    const I v = g * i * (I(1) << fs) + c[size_t(j)] * f * (I(1) << fa);
                    c[size_t(j)] = S.castRaw(v, 2 * fa + fs);
                    hn[size_t(j)] = S.castRaw(o * act(a.activation, c[size_t(j)], S), 2 * fa);
                }
            } else {
                std::vector<I> z(static_cast<size_t>(n)), r(static_cast<size_t>(n)), cand(static_cast<size_t>(n));
                for (int j = 0; j < n; ++j) {
                    z[size_t(j)] = act(a.recurrentActivation, pre(j), A);
                    r[size_t(j)] = act(a.recurrentActivation, pre(n + j), A);
                }
                if (a.resetAfter) {
                    for (int j = 0; j < n; ++j)
                        cand[size_t(j)] = A.castRaw(ax[size_t(2 * n + j)] + A.castRaw(r[size_t(j)] * ah[size_t(2 * n + j)], 2 * fa), fa);
                } else {
                    std::vector<I> rh(static_cast<size_t>(n));
                    for (int j = 0; j < n; ++j) rh[size_t(j)] = S.castRaw(r[size_t(j)] * h[size_t(j)], fa + fs);
                    const auto ahh = mac(rh, S, rw, R, rb, RB, 2 * n, 3 * n);
                    for (int j = 0; j < n; ++j) cand[size_t(j)] = A.castRaw(ax[size_t(2 * n + j)] + ahh[size_t(j)], fa);
                }
                for (int j = 0; j < n; ++j) {
                    const I hh = act(a.activation, cand[size_t(j)], A);
                    const I one = I(1) << fa;
                    const I v = hh * (one - z[size_t(j)]) * (I(1) << fs) + h[size_t(j)] * z[size_t(j)] * (I(1) << fa);
                    hn[size_t(j)] = S.castRaw(v, 2 * fa + fs);
                }
            }
            h = hn;
            if (a.returnSequences) {
                const int slot = a.goBackwards && a.outputInInputOrder ? t : k;
                for (int j = 0; j < n; ++j) out[size_t(slot * n + j)] = res.castRaw(h[size_t(j)], fs);
            }
        }
        if (!a.returnSequences)
            for (int j = 0; j < n; ++j) out[size_t(j)] = res.castRaw(h[size_t(j)], fs);
        return out;
    }
};

struct RecCase {
    RnnCell cell;
    ActKind act, ract;
    bool seq, back, inputOrder, resetAfter;
    const char *inT, *res, *accum, *state, *weight;
};

Graph recurrentGraph(const RecCase& c, std::mt19937& rng, int steps, int nIn, int units) {
    GraphBuilder b("rec", "test");
    const std::string in = b.input("x", {steps, nIn});
    RecurrentAttrs a;
    a.cell = c.cell;
    a.units = units;
    a.nIn = nIn;
    a.steps = steps;
    a.returnSequences = c.seq;
    a.goBackwards = c.back;
    a.outputInInputOrder = c.inputOrder;
    a.resetAfter = c.resetAfter;
    a.activation = c.act;
    a.recurrentActivation = c.ract;
    const size_t g = size_t(a.gates() * units);
    std::normal_distribution<double> nd(0.0, 0.6);
    auto vec = [&](size_t k) {
        std::vector<double> v(k);
        for (double& x : v) x = nd(rng);
        return v;
    };
    const std::string out = b.add("rec", LayerKind::Recurrent, {in}, a,
                                  {{"weight", vec(size_t(nIn) * g)}, {"recurrent_weight", vec(size_t(units) * g)},
                                   {"bias", vec(g)}, {"recurrent_bias", vec(g)}});
    Graph gr = b.finish(out);
    gr.layers[0].precision["result"] = FixedType::parse(c.inT);
    Layer& l = gr.layers[1];
    l.precision["result"] = FixedType::parse(c.res);
    l.precision["accum"] = FixedType::parse(c.accum);
    l.precision["state"] = FixedType::parse(c.state);
    l.precision["weight"] = l.precision["recurrent_weight"] = FixedType::parse(c.weight);
    l.precision["bias"] = l.precision["recurrent_bias"] = FixedType::parse(c.weight);
    l.precision["table"] = FixedType::parse("ap_fixed<18,2,AP_RND,AP_SAT>");
    l.precision["param"] = FixedType::parse("ap_fixed<18,2,AP_RND,AP_SAT>");
    return gr;
}

}  // namespace

TEST(Rnn, TorchFixturesMatchPyTorchInFloat) {
    for (const auto& name : kTorch) {
        SCOPED_TRACE(name);
        const std::string d = fixtureDir() + "/" + name;
        expectFloatMatchesReference(loadFixture(name), d + "_X.npy", d + "_Y.npy", 1e-5, 1e-7);
    }
}

TEST(Rnn, KerasFixturesMatchNumpyInFloat) {
    for (const auto& name : kKeras) {
        SCOPED_TRACE(name);
        const std::string d = fixtureDir() + "/" + name;
        expectFloatMatchesReference(loadFixture(name), d + "_X.npy", d + "_Y.npy", 1e-5, 1e-7);
    }
}

TEST(Rnn, ImportedAttributes) {
    const Graph g = loadFixture("lstm_last");
    const Layer* rec = nullptr;
    for (const Layer& l : g.layers)
        if (l.kind == LayerKind::Recurrent) rec = &l;
    ASSERT_NE(rec, nullptr);
    const auto& a = rec->as<RecurrentAttrs>();
    EXPECT_EQ(a.cell, RnnCell::LSTM);
    EXPECT_EQ(a.steps, 20);
    EXPECT_EQ(a.units, 16);
    EXPECT_FALSE(a.returnSequences);   // y[:, -1] folded into the layer
    EXPECT_EQ(hlsClassName(*rec), "LSTM");
    const Graph k = loadFixture("keras_gru");
    EXPECT_TRUE(k.at("gru_0").as<RecurrentAttrs>().resetAfter);
    EXPECT_FALSE(k.at("gru_1").as<RecurrentAttrs>().resetAfter);
    EXPECT_TRUE(k.at("gru_1").as<RecurrentAttrs>().goBackwards);
}

TEST(Rnn, FixedPointEqualsStepByStepReference) {
    std::mt19937 rng(2024);
    const std::vector<RecCase> cases = {
        {RnnCell::LSTM, ActKind::Tanh, ActKind::Sigmoid, false, false, false, true, "ap_fixed<16,6>", "ap_fixed<16,6>",
         "ap_fixed<16,6>", "ap_fixed<16,6>", "ap_fixed<16,6>"},
        {RnnCell::LSTM, ActKind::Tanh, ActKind::HardSigmoid, true, true, false, true, "ap_fixed<8,3,AP_RND,AP_SAT>",
         "ap_fixed<10,3,AP_RND,AP_SAT>", "ap_fixed<14,5,AP_RND,AP_SAT>", "ap_fixed<12,4,AP_RND_CONV,AP_SAT>",
         "ap_fixed<8,2,AP_RND>"},
        {RnnCell::GRU, ActKind::Tanh, ActKind::Sigmoid, true, false, false, true, "ap_fixed<16,6>", "ap_fixed<16,6>",
         "ap_fixed<16,6>", "ap_fixed<16,6>", "ap_fixed<16,6>"},
        {RnnCell::GRU, ActKind::ReLU, ActKind::Sigmoid, true, true, true, false, "ap_fixed<10,4,AP_TRN,AP_WRAP>",
         "ap_fixed<9,3,AP_RND,AP_SAT>", "ap_fixed<12,4,AP_TRN,AP_WRAP>", "ap_fixed<12,3,AP_RND,AP_SAT>",
         "ap_fixed<7,2,AP_RND_ZERO>"},
        {RnnCell::GRU, ActKind::Tanh, ActKind::HardSigmoid, false, true, false, false, "ap_fixed<16,6>",
         "ap_fixed<16,6>", "ap_fixed<24,8>", "ap_fixed<16,5>", "ap_fixed<12,3>"},
        {RnnCell::SimpleRNN, ActKind::Tanh, ActKind::Sigmoid, true, false, false, true, "ap_fixed<12,4>",
         "ap_fixed<12,4>", "ap_fixed<8,3,AP_TRN,AP_WRAP>", "ap_fixed<12,4>", "ap_fixed<8,3>"},
        {RnnCell::SimpleRNN, ActKind::ReLU, ActKind::Sigmoid, false, true, false, true, "ap_fixed<12,4>",
         "ap_fixed<10,5,AP_RND,AP_SAT>", "ap_fixed<20,8>", "ap_fixed<14,6,AP_RND,AP_SAT>", "ap_fixed<8,3>"},
    };
    for (size_t ci = 0; ci < cases.size(); ++ci) {
        SCOPED_TRACE("case " + std::to_string(ci));
        const int steps = 5, nIn = 3, units = 4;
        Graph g = recurrentGraph(cases[ci], rng, steps, nIn, units);
        Emulator emu(g);
        const size_t rows = 300;
        std::normal_distribution<double> nd(0.0, 1.5);
        std::vector<double> x(rows * size_t(steps * nIn));
        for (double& v : x) v = nd(rng);
        std::vector<int64_t> got(rows * size_t(g.outputSize()));
        emu.runFixed(x.data(), rows, got.data(), nullptr);
        RecRef ref(g.layers[1], g.layers[0].type("result"));
        size_t bad = 0;
        for (size_t r = 0; r < rows; ++r) {
            std::vector<I> seq;
            for (int i = 0; i < steps * nIn; ++i) seq.push_back(g.layers[0].type("result").castDouble(x[r * size_t(steps * nIn) + size_t(i)]));
            const auto want = ref.run(seq);
            for (size_t j = 0; j < want.size(); ++j) bad += int64_t(want[j]) != got[r * want.size() + j];
        }
        EXPECT_EQ(bad, 0u);
    }
}

TEST(Rnn, FixturesRunInFixedPoint) {
    // The default configuration, end to end: close to float, and every step's overflow counted.
    for (const auto& name : {"lstm_last", "gru_last", "keras_lstm"}) {
        SCOPED_TRACE(name);
        const std::string d = fixtureDir() + "/" + name;
        EXPECT_LT(fixedPointError(loadFixture(name), Config::defaults(), d + "_X.npy", d + "_Y.npy").worst, 0.1);
    }
}

TEST(Rnn, GarNetZooModelMatchesReference) {
    const std::string json = kShared + "/keras/garnet_1layer.json";
    if (!fs::exists(json)) GTEST_SKIP() << "zoo not present";
    Graph g = loadModel(json);
    ASSERT_EQ(g.inputs().size(), 2u);
    EXPECT_EQ(g.inputSize(), 128 * 4 + 1);
    runPipeline(g, Config::defaults());
    Emulator emu(g);
    std::ifstream fx(kShared + "/data/garnet_1layer_input.dat"), fy(kShared + "/data/garnet_1layer_output.dat");
    std::vector<double> x, y;
    for (double v; fx >> v;) x.push_back(v);
    for (double v; fy >> v;) y.push_back(v);
    const size_t rows = y.size();
    ASSERT_EQ(x.size(), rows * 513);
    std::vector<double> out(rows);
    emu.runFloat(x.data(), rows, out.data());
    double worst = 0;
    for (size_t r = 0; r < rows; ++r) worst = std::max(worst, std::abs(out[r] - y[r]));
    EXPECT_LT(worst, 1e-5);   // the reference file holds 6 decimals
    // Fixed point: tests/test_garnet.cpp.
}

TEST(Rnn, UnsupportedRecurrentOptionsAreRefused) {
    // A Keras LSTM with return_state names the layer.
    const std::string d = fixtureDir();
    std::ifstream f(d + "/keras_lstm.json");
    std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    const std::string key = "\"go_backwards\": true";
    const auto pos = text.find(key);
    ASSERT_NE(pos, std::string::npos);
    text.replace(pos, key.size(), key + ", \"return_state\": true");
    const std::string path = d + "/keras_lstm_bad.json";
    std::ofstream(path) << text;
    fs::copy_file(d + "/keras_lstm_weights.h5", d + "/keras_lstm_bad_weights.h5", fs::copy_options::overwrite_existing);
    try {
        loadModel(path);
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("lstm_0"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("return_state"), std::string::npos) << e.what();
    }
}
