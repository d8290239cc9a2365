// Verilog for the layer families beyond the dense/CNN ones (issue 26, goal 5): recurrent
// layers unrolled in time, MatMul between activations and LayerNorm (attention), GarNet.
// Each test builds a small model, writes the Verilog project, simulates it with Verilator on
// random rows (a third uniform over the whole input range, a third at the extremes, so gates,
// states and accumulators saturate or wrap) and compares every output bit with the emulator.
// The models are small so that each Verilator build takes seconds.
#include "backends/ProjectFiles.h"
#include "backends/verilog/VerilogWriter.h"
#include "config/Config.h"
#include "emulator/Emulator.h"
#include "frontends/Frontend.h"
#include "frontends/GraphBuilder.h"
#include "passes/Pass.h"
#include "util/Error.h"

#include "fixture_dir.h"
#include "test_files.h"
#include "support/long_tests.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <map>
#include <random>
#include <sstream>

namespace fs = std::filesystem;
using namespace tachyon;

namespace {

std::vector<double> randomValues(std::mt19937_64& rng, size_t n, double sigma = 0.6) {
    std::normal_distribution<double> w(0.0, sigma);
    std::vector<double> v(n);
    for (double& x : v) x = w(rng);
    return v;
}

Layer& layerNamed(Graph& g, const std::string& name) {
    return *std::find_if(g.layers.begin(), g.layers.end(), [&](const Layer& l) { return l.name == name; });
}

// Overflows (result and accumulator casts that saturated or wrapped) of the layers of
// `kind` on the project's random test rows: proof that the rows reach the edges.
uint64_t overflowsOf(const Graph& g, LayerKind kind, size_t rows) {
    Emulator emu(g);
    const std::vector<int64_t> x = backend::randomModelInputRows(g, rows, verilog::VerilogOptions{}.seed);
    std::vector<int64_t> y(rows * size_t(g.outputSize()));
    std::vector<LayerStats> stats;
    emu.runFixedRaw(x.data(), rows, y.data(), &stats);
    uint64_t n = 0;
    for (const LayerStats& s : stats)
        if (g.at(s.layer).kind == kind) n += s.resultOverflows + s.accumOverflows;
    return n;
}

// Writes the project, runs rtlsim and expects every row to match; returns the estimate.
verilog::ResourceEstimate expectRtlBitExact(const Graph& g, const std::string& tag, size_t rows) {
    Emulator emu(g);
    verilog::VerilogOptions opt;
    opt.testRows = rows;
    const fs::path prj = freshTestDir("test_verilog_families", tag) / "prj";
    verilog::writeProject(g, emu, prj.string(), opt);
    std::ostringstream log;
    const verilog::RtlsimResult r = verilog::rtlsim(prj.string(), log);
    EXPECT_EQ(r.rows, rows) << log.str();
    EXPECT_EQ(r.mismatches, 0u) << log.str();
    const verilog::GeneratedRtl rtl = verilog::generateRtl(g, emu, opt);
    std::cout << "[ verilog ] " << tag << ": " << r.rows << " rows, " << r.mismatches << " mismatches; estimate "
              << rtl.estimate.luts << " LUT, " << rtl.estimate.ffs << " FF, " << rtl.latencyCycles << " cycles\n";
    return rtl.estimate;
}

RecurrentAttrs recurrent(RnnCell cell, int units, int nIn, int steps, bool sequences) {
    RecurrentAttrs a;
    a.cell = cell;
    a.units = units;
    a.nIn = nIn;
    a.steps = steps;
    a.returnSequences = sequences;
    return a;
}

std::string addRecurrent(GraphBuilder& b, std::mt19937_64& rng, const std::string& name, const std::string& in,
                         const RecurrentAttrs& a) {
    const size_t g = size_t(a.gates() * a.units);
    std::vector<double> w = randomValues(rng, size_t(a.nIn) * g), r = randomValues(rng, size_t(a.units) * g);
    w[1] = 0;   // a zero weight: left out of the shift-add graph
    return b.add(name, LayerKind::Recurrent, {in}, a,
                 {{"weight", w}, {"recurrent_weight", r}, {"bias", randomValues(rng, g)},
                  {"recurrent_bias", randomValues(rng, g)}});
}

// Every cell and option in one model (one Verilator build): an LSTM (tanh / sigmoid tables)
// over the sequence, a GRU with reset_after processing the sequence backwards and writing
// it in input order (softsign / hard_sigmoid), a GRU with reset_before (relu / sigmoid) and
// a SimpleRNN (tanh) returning its last state.
Graph recurrentStack() {
    std::mt19937_64 rng(2026);
    GraphBuilder b("rnn_stack", "rnn_stack (built by the test)");
    const int steps = 3;
    const std::string in = b.input("x", {steps, 2});
    const std::string lstm = addRecurrent(b, rng, "lstm", in, recurrent(RnnCell::LSTM, 3, 2, steps, true));
    RecurrentAttrs gru = recurrent(RnnCell::GRU, 3, 3, steps, true);
    gru.goBackwards = true;
    gru.outputInInputOrder = true;
    gru.activation = ActKind::Softsign;
    gru.recurrentActivation = ActKind::HardSigmoid;
    const std::string g1 = addRecurrent(b, rng, "gru_after", lstm, gru);
    RecurrentAttrs before = recurrent(RnnCell::GRU, 2, 3, steps, true);
    before.resetAfter = false;
    before.activation = ActKind::ReLU;
    const std::string g2 = addRecurrent(b, rng, "gru_before", g1, before);
    const std::string rnn = addRecurrent(b, rng, "rnn", g2, recurrent(RnnCell::SimpleRNN, 2, 2, steps, false));
    Graph g = b.finish(rnn);
    runPipeline(g, Config::parse("Model:\n  Precision: ap_fixed<10,4,AP_RND,AP_SAT>\n", "test-config"));
    const char* accum[] = {"ap_fixed<11,4,AP_RND,AP_SAT>", "ap_fixed<12,4,AP_TRN,AP_WRAP>",
                           "ap_fixed<11,4,AP_RND_CONV,AP_SAT>", "ap_fixed<10,3,AP_RND,AP_SAT_SYM>"};
    const char* state[] = {"ap_fixed<9,2,AP_RND,AP_SAT>", "ap_fixed<9,3,AP_RND_ZERO,AP_SAT>",
                           "ap_fixed<8,2,AP_TRN,AP_WRAP>", "ap_fixed<9,2,AP_RND,AP_SAT>"};
    int k = 0;
    for (const char* name : {"lstm", "gru_after", "gru_before", "rnn"}) {
        Layer& l = layerNamed(g, name);
        l.precision["accum"] = FixedType::parse(accum[k]);
        l.precision["state"] = FixedType::parse(state[k]);
        l.precision["result"] = FixedType::parse("ap_fixed<8,2,AP_RND,AP_SAT>");
        l.precision["weight"] = FixedType::parse("ap_fixed<7,2,AP_RND>");
        l.precision["recurrent_weight"] = FixedType::parse("ap_fixed<6,1,AP_RND,AP_SAT>");
        l.precision["table"] = FixedType::parse("ap_fixed<10,2,AP_RND,AP_SAT>");
        l.precision["param"] = FixedType::parse("ap_fixed<8,2,AP_RND,AP_SAT>");
        l.table.size = 128;   // small ROMs: a fast Verilator build
        ++k;
    }
    return g;
}

}  // namespace

TEST(VerilogSequenceLayers, RecurrentCellsUnrolledBitExact) {
    const Graph g = recurrentStack();
    EXPECT_GT(overflowsOf(g, LayerKind::Recurrent, 1000), 0u) << "the test rows should saturate or wrap a state";
    const verilog::ResourceEstimate e = expectRtlBitExact(g, "rnn_stack", 1000);
    EXPECT_GT(e.luts, 0);
}

// A PyTorch fixture through the ONNX importer (scripts/make_rnn_fixtures.py: nn.RNN with
// relu, the last state), 8-bit saturating types.
TEST(VerilogSequenceLayers, TorchRnnFixtureBitExact) {
    const std::string d = fixtureDirMadeBy("make_rnn_fixtures.py", "rnn_fixtures.stamp", "1");
    Graph g = loadModel(d + "/rnn_relu_last.onnx");
    runPipeline(g, Config::parse("Model:\n  Precision: ap_fixed<8,3,AP_RND,AP_SAT>\n", "test-config"));
    EXPECT_GT(overflowsOf(g, LayerKind::Recurrent, 1000), 0u) << "the test rows should saturate a state";
    expectRtlBitExact(g, "rnn_relu_last", 1000);
}

namespace {

std::string addLayerNorm(GraphBuilder& b, std::mt19937_64& rng, const std::string& name, const std::string& in,
                         int features, double epsilon) {
    LayerNormAttrs attrs;
    attrs.epsilon = epsilon;
    std::uniform_real_distribution<double> gamma(0.3, 1.7), beta(-0.8, 0.8);
    std::vector<double> g(static_cast<size_t>(features)), bb(static_cast<size_t>(features));
    for (double& v : g) v = gamma(rng);
    for (double& v : bb) v = beta(rng);
    return b.add(name, LayerKind::LayerNorm, {in}, attrs, {{"scale", g}, {"bias", bb}});
}

void setTypes(Graph& g, const std::string& layer, const std::map<std::string, std::string>& types, int tableSize = 0) {
    Layer& l = layerNamed(g, layer);
    for (const auto& [var, t] : types) l.precision[var] = FixedType::parse(t);
    if (tableSize) l.table.size = tableSize;
}

}  // namespace

// LayerNorm with the type sets of the emulator's own reference test (Attention.
// LayerNormFixedEqualsStepByStepReference), chained over [tokens, features]: a wide
// accumulator with a fine table, a rounding one with a coarse table, a tiny epsilon, a
// narrow wrapping accumulator (the variance may wrap to <= 0) with a 16-entry table.
TEST(VerilogSequenceLayers, LayerNormBitExact) {
    std::mt19937_64 rng(11);
    GraphBuilder b("layernorm_chain", "layernorm_chain (built by the test)");
    const std::string x = b.input("x", {2, 5});
    const std::string l1 = addLayerNorm(b, rng, "ln_wide", x, 5, 1e-5);
    const std::string l2 = addLayerNorm(b, rng, "ln_round", l1, 5, 1e-3);
    const std::string l3 = addLayerNorm(b, rng, "ln_tiny_eps", l2, 5, 1e-6);
    const std::string l4 = addLayerNorm(b, rng, "ln_wrap", l3, 5, 1e-3);
    Graph g = b.finish(l4);
    runPipeline(g, Config::parse("Model:\n  Precision: ap_fixed<12,4,AP_RND,AP_SAT>\n", "test-config"));
    const std::map<std::string, std::string> common = {{"scale", "ap_fixed<12,2>"}, {"bias", "ap_fixed<10,2,AP_RND>"}};
    auto with = [&](std::map<std::string, std::string> t) {
        t.insert(common.begin(), common.end());
        return t;
    };
    setTypes(g, "x", {{"result", "ap_fixed<12,4,AP_RND,AP_SAT>"}});
    setTypes(g, "ln_wide",
             with({{"accum", "ap_fixed<16,6>"}, {"table", "ap_ufixed<14,1,AP_RND,AP_SAT>"}, {"result", "ap_fixed<12,4>"}}), 256);
    setTypes(g, "ln_round",
             with({{"accum", "ap_fixed<20,8,AP_RND>"}, {"table", "ap_ufixed<12,1,AP_RND>"},
                   {"result", "ap_fixed<10,3,AP_RND,AP_SAT>"}}), 64);
    setTypes(g, "ln_tiny_eps",
             with({{"accum", "ap_fixed<22,6,AP_RND_CONV>"}, {"table", "ap_ufixed<16,1,AP_RND>"},
                   {"result", "ap_fixed<12,4,AP_RND,AP_SAT>"}}), 128);
    setTypes(g, "ln_wrap",
             with({{"accum", "ap_fixed<10,5,AP_TRN,AP_WRAP>"}, {"table", "ap_ufixed<8,1>"},
                   {"result", "ap_fixed<8,3,AP_TRN,AP_WRAP>"}}), 16);
    verify(g, true);
    EXPECT_GT(overflowsOf(g, LayerKind::LayerNorm, 1000), 0u) << "the test rows should saturate or wrap";
    expectRtlBitExact(g, "layernorm_chain", 1000);
}

// A tiny encoder block, the structure of the project's attention fixture
// (scripts/make_attention_fixtures.py, attn_encoder_block) at 3 tokens x 4 features:
// Q, K, V projections per token, Q.K^T (K transposed by a Transpose) and A.V (V read
// transposed: transposeB) as variable x variable products, a softmax per row, the output
// projection, the residual addition and a LayerNorm. One product saturates its
// accumulator, the other wraps.
TEST(VerilogSequenceLayers, AttentionBlockBitExact) {
    std::mt19937_64 rng(5);
    const int T = 3, F = 4, H = 2;
    GraphBuilder b("attention_block", "attention_block (built by the test)");
    const std::string x = b.input("x", {T, F});
    const std::string q = b.dense("q", x, H, randomValues(rng, F * H), randomValues(rng, H));
    const std::string k = b.dense("k", x, H, randomValues(rng, F * H), randomValues(rng, H));
    const std::string v = b.dense("v", x, H, randomValues(rng, F * H), randomValues(rng, H));
    const std::string kt = b.transpose("kt", k, {1, 0});
    const std::string vt = b.transpose("vt", v, {1, 0});
    const std::string qk = b.add("qk", LayerKind::MatMul, {q, kt}, MatMulAttrs{}, {});
    const std::string att = b.softmax("att", qk);
    MatMulAttrs transposed;
    transposed.transposeB = true;
    const std::string av = b.add("av", LayerKind::MatMul, {att, vt}, transposed, {});
    const std::string o = b.dense("o", av, F, randomValues(rng, H * F), randomValues(rng, F));
    const std::string res = b.add("res", LayerKind::Merge, {x, o}, MergeAttrs{MergeOp::Add});
    const std::string ln = addLayerNorm(b, rng, "ln", res, F, 1e-3);
    Graph g = b.finish(ln);
    runPipeline(g, Config::parse("Model:\n  Precision: ap_fixed<10,4,AP_RND,AP_SAT>\n", "test-config"));
    setTypes(g, "qk", {{"accum", "ap_fixed<10,4,AP_RND,AP_SAT>"}, {"result", "ap_fixed<9,4,AP_RND,AP_SAT>"}});
    setTypes(g, "av", {{"accum", "ap_fixed<9,3,AP_TRN,AP_WRAP>"}, {"result", "ap_fixed<10,4,AP_RND,AP_SAT>"}});
    setTypes(g, "ln", {{"accum", "ap_fixed<14,6,AP_RND>"}, {"table", "ap_ufixed<10,1,AP_RND>"}}, 32);
    layerNamed(g, "att").table.size = 64;   // small ROMs: a fast Verilator build
    layerNamed(g, "att").invTable.size = 64;
    verify(g, true);
    EXPECT_GT(overflowsOf(g, LayerKind::MatMul, 1000), 0u) << "the test rows should saturate or wrap a product";
    expectRtlBitExact(g, "attention_block", 1000);
}

// The exact GELU of PyTorch's encoder layers (x times a Phi table, as swish) after a
// projection per token: every table entry and the product's rounding and saturation.
TEST(VerilogSequenceLayers, GeluBitExact) {
    std::mt19937_64 rng(23);
    GraphBuilder b("gelu", "gelu (built by the test)");
    ActAttrs a;
    a.kind = ActKind::GELU;
    const std::string x = b.input("x", {2, 3});
    const std::string ff = b.dense("ff", x, 4, randomValues(rng, 12, 1.5), randomValues(rng, 4));
    Graph g = b.finish(b.activation("gelu", ff, a));
    runPipeline(g, Config::parse("Model:\n  Precision: ap_fixed<10,4,AP_RND,AP_SAT>\n", "test-config"));
    setTypes(g, "gelu", {{"result", "ap_fixed<8,3,AP_RND,AP_SAT>"}, {"table", "ap_ufixed<10,0,AP_RND,AP_SAT>"}}, 256);
    verify(g, true);
    expectRtlBitExact(g, "gelu", 1000);
}

namespace {

// Narrow intermediate types (a 128-entry edge table: a small ROM), saturating and wrapping.
const char* kGarNetConfig =
    "Model:\n  Precision: ap_fixed<10,4,AP_RND,AP_SAT>\nLayerName:\n  gar:\n    Precision:\n"
    "      distance: ap_fixed<7,3,AP_RND,AP_SAT>\n      edge_weight: ap_ufixed<7,0,AP_RND,AP_SAT>\n"
    "      edge_weight_aggr: ap_ufixed<9,4,AP_TRN,AP_SAT>\n      aggr: ap_fixed<12,5,AP_RND_CONV,AP_WRAP>\n"
    "      norm: ap_ufixed<8,1,AP_RND,AP_SAT>\n      result: ap_fixed<10,4,AP_TRN,AP_WRAP>\n";

Graph garnetFixture(const std::string& name) {
    const std::string d = fixtureDirMadeBy("make_garnet_fixtures.py", "garnet_fixtures.stamp", "4");
    Graph g = loadModel(d + "/" + name + ".json");
    runPipeline(g, Config::parse(kGarNetConfig, "test-config"));
    return g;
}

// The vertex counts of the project's test rows (the last value of each row): 0, 1, some and
// all vertices must each occur.
void expectEveryVertexCount(const Graph& g, int V) {
    const size_t rows = 1000, width = size_t(g.inputSize());
    const std::vector<int64_t> x = backend::randomModelInputRows(g, rows, verilog::VerilogOptions{}.seed);
    const FixedType countT = g.inputs().back()->type("result");
    size_t zero = 0, one = 0, some = 0, all = 0;
    for (size_t r = 0; r < rows; ++r) {
        const double n = std::ldexp(double(x[r * width + width - 1]), -countT.frac());
        zero += n < 1, one += n >= 1 && n < 2, some += n >= 2 && n < V, all += n >= V;
    }
    EXPECT_GT(zero, 0u);
    EXPECT_GT(one, 0u);
    EXPECT_GT(some, 0u);
    EXPECT_GT(all, 0u);
}

}  // namespace

// The project's GarNet fixtures (scripts/make_garnet_fixtures.py), narrow types: the
// per-vertex output with mean_by_nvert (1/n by a mux on the count) and the mean collapse.
// The two inputs (vertex features and count, of different types) share the input bus.
TEST(VerilogSequenceLayers, GarNetVerticesBitExact) {
    const Graph g = garnetFixture("garnet_vertices");
    expectEveryVertexCount(g, 8);
    EXPECT_GT(overflowsOf(g, LayerKind::GarNet, 1000), 0u) << "the test rows should saturate or wrap";
    expectRtlBitExact(g, "garnet_vertices", 1000);
}

TEST(VerilogSequenceLayers, GarNetMeanCollapseBitExact) {
    LONG_TEST_OR_SKIP();
    expectRtlBitExact(garnetFixture("garnet_mean"), "garnet_mean", 1000);
}

// hls4ml's mean_by_nvert (Compatibility: hls4ml) with an unsigned integer count type: no such
// type holds exactly [0, V] for V = 8 or 16, and hls4ml's arithmetic differs for counts above
// V (quotient 0), so the Verilog backend refuses it by name, per-vertex output and mean
// collapse alike (the emulator and the HLS backend compute it).
TEST(VerilogSequenceLayers, GarNetHls4mlMeanByNvertRefusedByName) {
    const std::string d = fixtureDirMadeBy("make_garnet_fixtures.py", "garnet_fixtures.stamp", "4");
    for (const auto& [name, countType] : std::vector<std::pair<std::string, std::string>>{
             {"garnet_vertices", "ap_uint<4>"}, {"garnet_mean_nvert", "ap_uint<5>"}}) {
        SCOPED_TRACE(name);
        Graph g = loadModel(d + "/" + name + ".json");
        std::string config = std::string("Compatibility: hls4ml\n") + kGarNetConfig;
        config += "  nvtx:\n    Precision:\n      result: " + countType + "\n";
        runPipeline(g, Config::parse(config, "test-config"));
        Emulator emu(g);
        try {
            verilog::generateRtl(g, emu, verilog::VerilogOptions{});
            ADD_FAILURE() << "expected the GarNet layer to be refused";
        } catch (const Error& e) {
            const std::string m = e.what();
            EXPECT_NE(m.find("gar"), std::string::npos) << m;
            EXPECT_NE(m.find("Compatibility: hls4ml"), std::string::npos) << m;
        }
    }
}

// Under Compatibility: hls4ml a count outside [0, V] (wrapped negative, or beyond V) follows
// hls4ml's C simulation, which only the emulator and HLS reproduce: the Verilog backend
// names the layer and the reason instead of building Tachyon's clamped count.
TEST(VerilogSequenceLayers, GarNetWithHls4mlCountArithmeticRefusedByName) {
    const std::string d = fixtureDirMadeBy("make_garnet_fixtures.py", "garnet_fixtures.stamp", "4");
    Graph g = loadModel(d + "/garnet_mean.json");
    runPipeline(g, Config::parse(std::string("Compatibility: hls4ml\n") + kGarNetConfig, "test-config"));
    Emulator emu(g);
    try {
        verilog::generateRtl(g, emu, verilog::VerilogOptions{});
        FAIL() << "expected the GarNet layer to be refused";
    } catch (const Error& e) {
        const std::string m = e.what();
        EXPECT_NE(m.find("gar"), std::string::npos) << m;
        EXPECT_NE(m.find("Compatibility: hls4ml"), std::string::npos) << m;
    }
}

// A GarNetStack of two sublayers built here (the second reads the first's per-vertex
// outputs in the result type), 3 vertices.
TEST(VerilogSequenceLayers, GarNetStackBitExact) {
    std::mt19937_64 rng(17);
    GraphBuilder b("garnet_stack", "garnet_stack (built by the test)");
    const int V = 3, F = 2;
    const std::string x = b.input("vertices", {V, F});
    const std::string n = b.input("nvtx", {1});
    GarNetAttrs a;
    a.nVertices = V;
    a.nInFeatures = F;
    a.nPropagate = {2, 2};
    a.nAggregators = {2, 2};
    a.nFilters = {3, 2};
    a.stack = true;
    std::map<std::string, std::vector<double>> params;
    int nIn = F;
    for (int k = 0; k < 2; ++k) {
        const std::string s = std::to_string(k);
        const size_t P = size_t(a.nPropagate[size_t(k)]), A = size_t(a.nAggregators[size_t(k)]),
                     O = size_t(a.nFilters[size_t(k)]);
        params["FLR" + s + "_kernel"] = randomValues(rng, size_t(nIn) * P);
        params["FLR" + s + "_bias"] = randomValues(rng, P);
        params["S" + s + "_kernel"] = randomValues(rng, size_t(nIn) * A);
        params["S" + s + "_bias"] = randomValues(rng, A);
        params["Fout" + s + "_kernel"] = randomValues(rng, A * P * O);
        params["Fout" + s + "_bias"] = randomValues(rng, O);
        nIn = int(O);
    }
    const std::string gar = b.add("gar", LayerKind::GarNet, {x, n}, a, params);
    Graph g = b.finish(gar);
    runPipeline(g, Config::parse(kGarNetConfig, "test-config"));
    setTypes(g, "nvtx", {{"result", "ap_uint<3>"}});
    verify(g, true);
    expectEveryVertexCount(g, V);
    expectRtlBitExact(g, "garnet_stack", 1000);
}
