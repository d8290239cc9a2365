// Backends and the layers and graphs only the emulator ran so far (issue 14, part 1):
// - models with several inputs through the HLS backend (io_parallel: one array argument per
//   input, hls4ml-style), C simulation bit-exact to the emulator at 16/6 and at narrow,
//   different per-input types; io_stream refuses them by name;
// - the Verilog backend takes several vector inputs (any types, in lanes of one bus), and
//   refuses other input sets with a clear message (its recurrent and GarNet layers:
//   test_verilog_families.cpp);
// - SimpleRNN / LSTM / GRU through the HLS backend (nnet_recurrent.h): C simulation bit-exact
//   to the emulator on every recurrent fixture (PyTorch ONNX and Keras) at ap_fixed<16,6> and
//   with narrow saturating/wrapping types and the Resource strategy, and on option sets the
//   fixtures do not reach; the latency estimate of the 20-step LSTM; io_stream refused by name.
#include "support/zoo.h"
#include "support/cli.h"
#include "backends/ProjectFiles.h"
#include "backends/hls/HlsWriter.h"
#include "backends/verilog/VerilogWriter.h"
#include "config/Config.h"
#include "emulator/Emulator.h"
#include "frontends/Frontend.h"
#include "frontends/GraphBuilder.h"
#include "passes/Pass.h"
#include "util/Error.h"

#include "fixture_dir.h"
#include "support/error_of.h"

#include "test_files.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

namespace fs = std::filesystem;
using namespace tachyon;
using test_support::errorOf;

using test_support::CliResult;
using test_support::runCli;

namespace {

fs::path workDir(const std::string& name) { return freshTestDir("test_hls_rnn", name); }

std::vector<double> randomValues(std::mt19937_64& rng, size_t n) {
    std::normal_distribution<double> w(0.0, 0.5);
    std::vector<double> v(n);
    for (double& x : v) x = w(rng);
    return v;
}

// Two inputs (5 and 3 values): a Dense per input, added, concatenated with the second
// input, a ReLU Dense on top. Both inputs are read by two layers.
Graph twoInputModel(const std::string& io, const std::string& strategy) {
    std::mt19937_64 rng(29);
    GraphBuilder b("two_inputs", "two_inputs (built by the test)");
    const std::string a = b.input("in_a", {5});
    const std::string c = b.input("in_b", {3});
    const std::string da = b.dense("dense_a", a, 4, randomValues(rng, 20), randomValues(rng, 4));
    const std::string dc = b.dense("dense_b", c, 4, randomValues(rng, 12), randomValues(rng, 4));
    const std::string sum = b.add("sum", LayerKind::Merge, {da, dc}, MergeAttrs{MergeOp::Add});
    const std::string cat = b.add("cat", LayerKind::Concatenate, {sum, c}, ConcatAttrs{0});
    const std::string hid = b.dense("hidden", cat, 6, randomValues(rng, 42), randomValues(rng, 6));
    const std::string act = b.activation("hidden_relu", hid, ActKind::ReLU);
    const std::string out = b.dense("out", act, 3, randomValues(rng, 18), randomValues(rng, 3));
    Graph g = b.finish(out);
    runPipeline(g, Config::parse("IOType: " + io + "\nModel:\n  Precision: ap_fixed<16,6>\n  ReuseFactor: 1\n  Strategy: " +
                                     strategy + "\n",
                                 "test-config"));
    return g;
}

// Narrow, saturating and wrapping types; the two inputs get different widths and signedness
// so a test bench that sliced the row with one type would fail.
void narrowTypes(Graph& g) {
    for (Layer& l : g.layers) {
        if (l.name == "in_a") l.precision["result"] = FixedType::parse("ap_fixed<8,3,AP_RND,AP_SAT>");
        else if (l.name == "in_b") l.precision["result"] = FixedType::parse("ap_ufixed<6,2>");
        else l.precision["result"] = FixedType::parse("ap_fixed<9,4,AP_RND,AP_SAT>");
        if (isMac(l)) {
            l.precision["accum"] = FixedType::parse("ap_fixed<12,5,AP_TRN,AP_WRAP>");
            l.precision["weight"] = FixedType::parse("ap_fixed<6,1,AP_RND,AP_SAT>");
            l.precision["bias"] = FixedType::parse("ap_fixed<6,1,AP_RND,AP_SAT>");
        }
    }
}

const std::string& rnnFixtureDir() {
    static const std::string dir = fixtureDirMadeBy("make_rnn_fixtures.py", "rnn_fixtures.stamp", "1");
    return dir;
}

}  // namespace

TEST(HlsMultiInput, TwoInputModelMatchesEmulator) {
    struct Cfg { const char* tag; const char* strategy; int rf; bool narrow; };
    const Cfg cfgs[] = {{"16_6_latency", "Latency", 1, false},
                        {"narrow_resource_rf3", "Resource", 3, true},
                        {"narrow_latency", "Latency", 1, true}};
    const fs::path dir = workDir("two_inputs");
    size_t compared = 0;
    for (const Cfg& c : cfgs) {
        SCOPED_TRACE(c.tag);
        Graph g = twoInputModel("io_parallel", c.strategy);
        for (Layer& l : g.layers)
            if (isMac(l)) l.schedule.reuseFactor = c.rf;
        if (c.narrow) narrowTypes(g);
        ASSERT_EQ(g.inputs().size(), 2u);
        Emulator emu(g);
        hls::HlsOptions opt;
        opt.testRows = 600;
        const fs::path prj = dir / c.tag;
        hls::writeProject(g, emu, prj.string(), opt);
        // One array argument per input, each with its own type and size.
        const std::string top = readFile(prj / "firmware" / (opt.projectName + ".h"));
        EXPECT_NE(top.find("const input_t in_a[N_INPUT_1], const input2_t in_b[N_INPUT_2], result_t"), std::string::npos)
            << top;
        EXPECT_NE(top.find("#define N_INPUT_2 3"), std::string::npos) << top;
        const std::string manifest = readFile(prj / "tachyon_project.json");
        EXPECT_NE(manifest.find("\"model_inputs\""), std::string::npos) << manifest;
        EXPECT_NE(manifest.find("\"name\": \"in_b\""), std::string::npos) << manifest;
        std::ostringstream log;
        const hls::CsimResult r = hls::csim(prj.string(), log);
        EXPECT_EQ(r.rows, opt.testRows) << log.str();
        EXPECT_EQ(r.mismatches, 0u) << log.str();
        compared += r.rows;
    }
    std::cout << "[ hls csim ] two-input model: 3 projects, " << compared << " rows compared\n";
}

TEST(HlsMultiInput, StreamRefusedByName) {
    Graph g = twoInputModel("io_stream", "Latency");
    Emulator emu(g);
    hls::HlsOptions opt;
    opt.target.io = IoType::Stream;
    const std::string e = errorOf([&] { hls::writeProject(g, emu, workDir("two_inputs_stream").string(), opt); });
    EXPECT_NE(e.find("2 inputs"), std::string::npos) << e;
    EXPECT_NE(e.find("io_stream"), std::string::npos) << e;
}

// Two vector inputs of one type share the Verilog input bus (their values side by side, as
// the model's input row): Verilator equals the emulator.
TEST(VerilogMultiInput, InputsOfOneTypeShareTheBus) {
    Graph g = twoInputModel("io_parallel", "Latency");
    ASSERT_EQ(g.inputs().size(), 2u);
    Emulator emu(g);
    verilog::VerilogOptions opt;
    opt.testRows = 500;
    const fs::path prj = workDir("two_inputs_verilog") / "prj";
    verilog::writeProject(g, emu, prj.string(), opt);
    std::ostringstream log;
    const verilog::RtlsimResult r = verilog::rtlsim(prj.string(), log);
    EXPECT_EQ(r.rows, opt.testRows) << log.str();
    EXPECT_EQ(r.mismatches, 0u) << log.str();
}

// Inputs of different types share the bus in lanes as wide as the widest type (each value
// in its lane's low bits): Verilator equals the emulator.
TEST(VerilogMultiInput, InputsOfDifferentTypesShareTheBusInLanes) {
    Graph g = twoInputModel("io_parallel", "Latency");
    narrowTypes(g);
    Emulator emu(g);
    verilog::VerilogOptions opt;
    opt.testRows = 500;
    const fs::path prj = workDir("two_types_verilog") / "prj";
    verilog::writeProject(g, emu, prj.string(), opt);
    std::ostringstream log;
    const verilog::RtlsimResult r = verilog::rtlsim(prj.string(), log);
    EXPECT_EQ(r.rows, opt.testRows) << log.str();
    EXPECT_EQ(r.mismatches, 0u) << log.str();
}

// A tensor input beside another input, read by a layer that would stream it: refused,
// naming the inputs and their types.
TEST(VerilogMessages, TensorInputBesideAnotherRefused) {
    std::mt19937_64 rng(3);
    GraphBuilder b("tensor_and_vector", "tensor_and_vector (built by the test)");
    const std::string a = b.input("in_a", {2, 3});
    const std::string c = b.input("in_b", {3});
    const std::string flat = b.reshape("flat", a, {6});
    const std::string cat = b.add("cat", LayerKind::Concatenate, {flat, c}, ConcatAttrs{0});
    Graph g = b.finish(b.dense("out", cat, 2, randomValues(rng, 18), randomValues(rng, 2)));
    runPipeline(g, Config::defaults());
    Emulator emu(g);
    const std::string e = errorOf([&] { verilog::writeProject(g, emu, workDir("tensor_input_verilog").string(), {}); });
    EXPECT_NE(e.find("2 model inputs (in_a ap_fixed<16,6>, in_b ap_fixed<16,6>)"), std::string::npos) << e;
    EXPECT_NE(e.find("only when all are vectors (or tensors read only by GarNet layers)"), std::string::npos) << e;
}

// ---- recurrent layers through the HLS backend -------------------------------------------

namespace {

const std::vector<std::string> kRnnFixtures = {"lstm_seq", "lstm_last", "lstm_hn",    "gru_last",   "gru_seq",
                                               "rnn_seq",  "rnn_relu_last", "keras_lstm", "keras_gru", "keras_simplernn"};

Graph rnnFixture(const std::string& name) {
    const std::string d = rnnFixtureDir() + "/" + name;
    return loadModel(fs::exists(d + ".onnx") ? d + ".onnx" : d + ".json");
}

// Writes the project, runs its C simulation on `rows` test rows (random, uniform over the
// input type and its extremes: they drive the gates into the tables' clamped ends and the
// state into saturation) and returns the rows compared; every one must match the emulator.
size_t csimRows(const Graph& g, const std::string& tag, size_t rows = 1000) {
    Emulator emu(g);
    hls::HlsOptions opt;
    opt.testRows = rows;
    const fs::path prj = workDir("rnn_" + tag);   // its own folder: the tests run in parallel
    hls::writeProject(g, emu, prj.string(), opt);
    std::ostringstream log;
    const hls::CsimResult r = hls::csim(prj.string(), log);
    EXPECT_EQ(r.rows, rows) << log.str();
    EXPECT_EQ(r.mismatches, 0u) << log.str();
    return r.rows;
}

// Result and state overflows of the recurrent layers on the project's test rows.
uint64_t recurrentOverflows(const Graph& g, size_t rows = 1000) {
    Emulator emu(g);
    const std::vector<int64_t> x = backend::randomModelInputRows(g, rows, hls::HlsOptions{}.seed);
    std::vector<int64_t> y(rows * size_t(g.outputSize()));
    std::vector<LayerStats> stats;
    emu.runFixedRaw(x.data(), rows, y.data(), &stats);
    uint64_t n = 0;
    for (const LayerStats& s : stats)
        if (g.at(s.layer).kind == LayerKind::Recurrent) n += s.resultOverflows + s.accumOverflows;
    return n;
}

// Narrow, saturating or wrapping types on every recurrent layer, a state type of its own.
void narrowRecurrentTypes(Graph& g) {
    for (Layer& l : g.layers) {
        if (l.kind != LayerKind::Recurrent) continue;
        l.precision["accum"] = FixedType::parse("ap_fixed<12,4,AP_RND,AP_SAT>");
        l.precision["state"] = FixedType::parse("ap_fixed<10,1,AP_RND_CONV,AP_SAT>");   // tanh near 1 saturates it
        l.precision["result"] = FixedType::parse("ap_fixed<9,3,AP_TRN,AP_WRAP>");
        l.precision["weight"] = FixedType::parse("ap_fixed<8,2,AP_RND>");
        l.precision["recurrent_weight"] = FixedType::parse("ap_fixed<7,1,AP_RND,AP_SAT>");
        l.precision["bias"] = FixedType::parse("ap_fixed<8,2>");
        l.precision["recurrent_bias"] = FixedType::parse("ap_fixed<6,1,AP_RND>");
    }
}

// One recurrent layer built here: the options the fixtures do not reach.
struct RecOption {
    const char* tag;
    RnnCell cell;
    ActKind act, ract;
    bool seq, back, inputOrder, resetAfter;
    const char *accum, *state, *table;
    const char* strategy;
    int rf;
};

Graph optionGraph(const RecOption& o) {
    std::mt19937_64 rng(77);
    GraphBuilder b("rec_option", "rec_option (built by the test)");
    const int steps = 6, nIn = 4, units = 5;
    const std::string in = b.input("x", {steps, nIn});
    RecurrentAttrs a;
    a.cell = o.cell;
    a.units = units;
    a.nIn = nIn;
    a.steps = steps;
    a.returnSequences = o.seq;
    a.goBackwards = o.back;
    a.outputInInputOrder = o.inputOrder;
    a.resetAfter = o.resetAfter;
    a.activation = o.act;
    a.recurrentActivation = o.ract;
    const size_t g = size_t(a.gates() * units);
    std::vector<double> w = randomValues(rng, size_t(nIn) * g), r = randomValues(rng, size_t(units) * g);
    w[3] = 0;   // zero weights are left out of the product tables
    r[1] = 0;
    const std::string rec = b.add("rec", LayerKind::Recurrent, {in}, a,
                                  {{"weight", w}, {"recurrent_weight", r}, {"bias", randomValues(rng, g)},
                                   {"recurrent_bias", randomValues(rng, g)}});
    Graph gr = b.finish(rec);
    runPipeline(gr, Config::parse("IOType: io_parallel\nModel:\n  Precision: ap_fixed<10,4,AP_RND,AP_SAT>\n  ReuseFactor: " +
                                      std::to_string(o.rf) + "\n  Strategy: " + o.strategy + "\n",
                                  "test-config"));
    Layer& l = *std::find_if(gr.layers.begin(), gr.layers.end(), [](const Layer& x) { return x.name == "rec"; });
    l.precision["accum"] = FixedType::parse(o.accum);
    l.precision["state"] = FixedType::parse(o.state);
    l.precision["table"] = FixedType::parse(o.table);
    l.precision["param"] = FixedType::parse("ap_fixed<10,2,AP_RND,AP_SAT>");
    return gr;
}

}  // namespace

// Every PyTorch (ONNX) and Keras fixture, the default ap_fixed<16,6>: csim == emulator.
TEST(HlsRnn, FixturesCsimBitExact) {
    size_t compared = 0;
    for (const std::string& name : kRnnFixtures) {
        SCOPED_TRACE(name);
        Graph g = rnnFixture(name);
        runPipeline(g, Config::defaults());
        compared += csimRows(g, name + "_16_6");
    }
    std::cout << "[ hls csim ] " << kRnnFixtures.size() << " recurrent fixtures at ap_fixed<16,6>, " << compared
              << " rows compared\n";
}

// The same fixtures with narrow types, a state type of its own and the Resource strategy
// (products folded over 3 cycles): the rows saturate the state and wrap the result.
TEST(HlsRnn, FixturesNarrowResourceCsimBitExact) {
    size_t compared = 0;
    for (const std::string& name : kRnnFixtures) {
        SCOPED_TRACE(name);
        Graph g = rnnFixture(name);
        runPipeline(g, Config::parse("IOType: io_parallel\nModel:\n  Precision: ap_fixed<10,4,AP_RND,AP_SAT>\n"
                                     "  ReuseFactor: 3\n  Strategy: Resource\n",
                                     "test-config"));
        narrowRecurrentTypes(g);
        EXPECT_GT(recurrentOverflows(g), 0u) << "the test rows should saturate the state";
        compared += csimRows(g, name + "_narrow");
    }
    std::cout << "[ hls csim ] " << kRnnFixtures.size() << " recurrent fixtures, narrow types, Resource RF 3: "
              << compared << " rows compared\n";
}

// Options the fixtures do not cover: every activation the emulator supports in a recurrent
// layer (softsign, softplus, linear, relu, hard_sigmoid as either function), ONNX's reverse
// output order, wrapping accumulators, a coarse table, zero weights.
TEST(HlsRnn, EveryOptionCsimBitExact) {
    const RecOption options[] = {
        {"lstm_softsign_hardsig_back_inorder", RnnCell::LSTM, ActKind::Softsign, ActKind::HardSigmoid, true, true, true,
         true, "ap_fixed<14,5,AP_RND,AP_SAT>", "ap_fixed<12,3,AP_RND,AP_SAT>", "ap_fixed<12,2,AP_RND,AP_SAT>", "Latency", 1},
        {"lstm_hardsig_act_wrap", RnnCell::LSTM, ActKind::HardSigmoid, ActKind::Sigmoid, false, false, false, true,
         "ap_fixed<11,4,AP_TRN,AP_WRAP>", "ap_fixed<9,3,AP_RND,AP_SAT>", "ap_fixed<8,1,AP_RND,AP_SAT>", "Resource", 2},
        {"gru_softplus_before_back", RnnCell::GRU, ActKind::Softplus, ActKind::Sigmoid, true, true, false, false,
         "ap_fixed<13,5,AP_RND,AP_SAT>", "ap_fixed<11,4,AP_RND_ZERO,AP_SAT>", "ap_fixed<14,4,AP_RND,AP_SAT>", "Latency", 1},
        {"gru_linear_hardsig_after_inorder", RnnCell::GRU, ActKind::Linear, ActKind::HardSigmoid, true, true, true, true,
         "ap_fixed<12,4,AP_TRN,AP_WRAP>", "ap_fixed<10,3,AP_RND,AP_WRAP>", "ap_fixed<10,2,AP_RND,AP_SAT>", "Resource", 4},
        {"gru_relu_tanh_before", RnnCell::GRU, ActKind::ReLU, ActKind::Tanh, false, false, false, false,
         "ap_fixed<16,6>", "ap_fixed<12,4,AP_RND,AP_SAT>", "ap_fixed<18,2,AP_RND,AP_SAT>", "Latency", 1},
        {"rnn_softsign_seq_back", RnnCell::SimpleRNN, ActKind::Softsign, ActKind::Sigmoid, true, true, false, true,
         "ap_fixed<12,4,AP_RND,AP_SAT>", "ap_fixed<8,2,AP_RND,AP_SAT>", "ap_fixed<10,2,AP_RND,AP_SAT>", "Latency", 1},
        {"rnn_linear_last", RnnCell::SimpleRNN, ActKind::Linear, ActKind::Sigmoid, false, false, false, true,
         "ap_fixed<10,5,AP_TRN,AP_WRAP>", "ap_fixed<9,4,AP_RND,AP_SAT>", "ap_fixed<10,2,AP_RND,AP_SAT>", "Resource", 3},
    };
    size_t compared = 0;
    for (const RecOption& o : options) {
        SCOPED_TRACE(o.tag);
        const Graph g = optionGraph(o);
        EXPECT_GT(recurrentOverflows(g), 0u) << "the test rows should saturate or wrap somewhere";
        compared += csimRows(g, o.tag);
    }
    std::cout << "[ hls csim ] " << std::size(options) << " recurrent option sets, " << compared << " rows compared\n";
}

// The 20-step, 16-unit LSTM on 6 features: the generated code and the latency estimate.
TEST(HlsRnn, LstmProjectAndLatencyEstimate) {
    Graph g = rnnFixture("lstm_last");
    runPipeline(g, Config::defaults());
    std::string rec;
    for (const Layer& l : g.layers)
        if (l.kind == LayerKind::Recurrent) rec = l.name;
    ASSERT_FALSE(rec.empty());
    Emulator emu(g);
    const fs::path prj = workDir("lstm_estimate");
    hls::HlsOptions opt;
    opt.testRows = 10;
    const hls::LatencyEstimate e = hls::writeProject(g, emu, prj.string(), opt);
    const std::string top = readFile(prj / "firmware" / (opt.projectName + ".cpp"));
    EXPECT_NE(top.find("nnet::lstm<"), std::string::npos) << top;
    // The time loop stays a loop: the top function is a DATAFLOW region, not one PIPELINE.
    EXPECT_NE(top.find("#pragma HLS DATAFLOW"), std::string::npos) << top;
    EXPECT_EQ(top.find("#pragma HLS PIPELINE"), std::string::npos) << top;
    // x * W: 6 products per output (1 multiply + 2 addition cycles); h * R: 16 (1 + 4);
    // then 5 gate stages (the table reads one cycle each): 20 x (5 + 5) + 1 cycles.
    const auto it = std::find_if(e.layers.begin(), e.layers.end(), [&](const auto& f) { return f.name == rec; });
    ASSERT_NE(it, e.layers.end());
    EXPECT_EQ(it->kind, "LSTM");
    EXPECT_EQ(it->latency, 20 * (5 + 5) + 1) << it->detail;
    EXPECT_EQ(it->ii, it->latency);
    EXPECT_GE(e.latency, it->latency);
    EXPECT_EQ(e.ii, it->ii);
    const std::string manifest = readFile(prj / "tachyon_project.json");
    EXPECT_NE(manifest.find("\"latency_estimate\""), std::string::npos) << manifest;
    EXPECT_NE(manifest.find("\"latency_cycles\": " + std::to_string(e.latency)), std::string::npos) << manifest;
    EXPECT_NE(e.text().find("not a Vitis report"), std::string::npos) << e.text();
    // Folding the products over 4 cycles lengthens every step; estimateLatency agrees
    // with what writeProject reports.
    for (Layer& l : g.layers) {
        l.schedule.strategy = Strategy::Resource;
        l.schedule.reuseFactor = 4;
    }
    Emulator folded(g);
    const hls::LatencyEstimate f = hls::estimateLatency(g, folded, Target{});
    const auto ft = std::find_if(f.layers.begin(), f.layers.end(), [&](const auto& x) { return x.name == rec; });
    ASSERT_NE(ft, f.layers.end());
    EXPECT_GT(ft->latency, it->latency) << ft->detail;
}

// The command line: per-layer recurrent types from the configuration reach the generated
// code, `convert -b hls` prints the latency estimate, and `csim` passes.
TEST(HlsRnn, CliConvertWithConfiguredTypes) {
    const fs::path d = workDir("cli_lstm");
    {
        std::ofstream(d / "cfg.yml") << "Model:\n  Precision: ap_fixed<16,6>\nLayerName:\n  rnn_LSTM:\n"
                                        "    TableSize: 512\n    Precision:\n      state: ap_fixed<12,3,AP_RND,AP_SAT>\n"
                                        "      recurrent_weight: ap_fixed<8,2,AP_RND>\n"
                                        "      table: ap_fixed<12,2,AP_RND,AP_SAT>\n";
    }
    const std::string prj = (d / "prj").string();
    const CliResult c = runCli("convert " + rnnFixtureDir() + "/lstm_last.onnx -c " + (d / "cfg.yml").string() + " -o " + prj +
                               " -b hls");
    ASSERT_EQ(c.status, 0) << c.output;
    EXPECT_NE(c.output.find("HLS latency estimate (analytic, not a Vitis report): 206 cycles"), std::string::npos) << c.output;
    EXPECT_NE(c.output.find("rnn_LSTM (LSTM): 201 cycles, II 201"), std::string::npos) << c.output;
    const std::string params = readFile(fs::path(prj) / "firmware" / "parameters.h");
    EXPECT_NE(params.find("typedef ap_fixed<12,3,AP_RND,AP_SAT> rnn_LSTM_state_t;"), std::string::npos) << params;
    EXPECT_NE(params.find("typedef ap_fixed<8,2,AP_RND> rnn_LSTM_h_weight_t;"), std::string::npos) << params;
    EXPECT_NE(params.find("typedef ap_fixed<12,2,AP_RND,AP_SAT> rnn_LSTM_act_table_t;"), std::string::npos) << params;
    EXPECT_NE(params.find("static const unsigned size = 512;"), std::string::npos) << params;
    const CliResult s = runCli("csim " + prj);
    EXPECT_EQ(s.status, 0) << s.output;
    EXPECT_NE(s.output.find("1000 rows"), std::string::npos) << s.output;
}

TEST(HlsRnn, StreamRefusedByName) {
    Graph g = rnnFixture("gru_seq");
    const Config cfg = Config::parse("IOType: io_stream\n", "test-config");
    runPipeline(g, cfg);
    std::string rec;
    for (const Layer& l : g.layers)
        if (l.kind == LayerKind::Recurrent) rec = l.name;
    Emulator emu(g);
    hls::HlsOptions opt;
    opt.target = cfg.target();
    const std::string e = errorOf([&] { hls::writeProject(g, emu, workDir("gru_stream").string(), opt); });
    EXPECT_NE(e.find("'" + rec + "' (GRU)"), std::string::npos) << e;
    EXPECT_NE(e.find("io_parallel only"), std::string::npos) << e;
}

// The zoo's GarNet model (two inputs, a GarNet layer over 128 vertices): the Verilog backend
// builds it (every vertex in parallel; its bit-exactness is tested on smaller GarNets in
// tests/test_verilog_families.cpp), the two inputs in lanes of the wider type.
TEST(VerilogMultiInput, GarNetZooModelGenerates) {
    const std::string json = test_support::zooFile("keras/garnet_1layer.json");
    if (!fs::exists(json)) GTEST_SKIP() << "zoo not present";
    Graph g = loadModel(json);
    runPipeline(g, Config::defaults());
    Emulator emu(g);
    const verilog::GeneratedRtl rtl = verilog::generateRtl(g, emu, {});
    EXPECT_NE(rtl.verilog.find("[" + std::to_string(g.inputSize() * 16 - 1) + ":0] in_data"), std::string::npos);
    EXPECT_GT(rtl.latencyCycles, 1);
    // The HLS backend writes it too (tests/test_garnet.cpp runs its C simulation).
}
