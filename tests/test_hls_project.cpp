#include <algorithm>
// Generated HLS projects must compute exactly what the emulator computes: each test writes
// projects, compiles their C simulation with g++ against the bundled ap_fixed headers and
// requires zero mismatches on 10,000 random rows (a third of them spanning the whole input
// range, so inner layers saturate or wrap).
#include "support/io_target.h"
#include "support/zoo.h"
#include "backends/hls/HlsWriter.h"
#include "config/Config.h"
#include "emulator/Emulator.h"
#include "frontends/Frontend.h"
#include "passes/Pass.h"
#include "util/Error.h"

#include "csim_cases.h"
#include "test_files.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <random>
#include <sstream>

namespace fs = std::filesystem;
using namespace tachyon;

namespace {

constexpr size_t kRows = 10000;

fs::path workDir(const std::string& name) { return freshTestDir("test_hls", name); }

FixedType T(const std::string& s) { return FixedType::parse(s); }

Layer inputLayer(int n, const FixedType& t) {
    Layer l;
    l.name = "input_1";
    l.kind = LayerKind::Input;
    l.shape = {n};
    l.precision["result"] = t;
    return l;
}

// Random weights ~ N(0, 1/sqrt(nIn)) scaled up so that 16/6 and 8/3 types saturate sometimes;
// `pruned` of them set to zero.
Layer dense(const std::string& name, const std::string& input, int nIn, int nOut, std::mt19937_64& rng,
            ActKind act = ActKind::Linear, double pruned = 0.0) {
    Layer l;
    l.name = name;
    l.kind = LayerKind::Dense;
    if (!input.empty()) l.inputs = {input};
    l.attrs = DenseAttrs{nIn, nOut, act};
    l.shape = {nOut};
    std::normal_distribution<double> w(0.0, 1.5 / std::sqrt(double(nIn)));
    std::uniform_real_distribution<double> u(0.0, 1.0);
    for (int k = 0; k < nIn * nOut; ++k) l.param("weight").push_back(u(rng) < pruned ? 0.0 : w(rng));
    for (int k = 0; k < nOut; ++k) l.param("bias").push_back(w(rng));
    return l;
}

Layer activation(const std::string& name, const std::string& input, int n, ActKind a) {
    Layer l;
    l.name = name;
    l.kind = LayerKind::Activation;
    if (!input.empty()) l.inputs = {input};
    l.shape = {n};
    l.attrs = ActAttrs{a};
    l.as<ActAttrs>().alpha = 0.3;
    return l;
}

Layer softmax(const std::string& name, const std::string& input, int n) {
    Layer l = activation(name, input, n, ActKind::Linear);
    l.kind = LayerKind::Softmax;
    return l;
}

// A jet-tagger-shaped MLP: 16-64-32-32-5, ReLU, softmax.
Graph jetTagger(uint64_t seed, double pruned = 0.0) {
    std::mt19937_64 rng(seed);
    Graph g;
    g.name = "jet_mlp";
    g.layers.push_back(inputLayer(16, T("ap_fixed<16,6>")));
    g.layers.push_back(dense("fc1", "input_1", 16, 64, rng, ActKind::ReLU, pruned));
    g.layers.push_back(dense("fc2", "fc1", 64, 32, rng, ActKind::ReLU, pruned));
    g.layers.push_back(dense("fc3", "fc2", 32, 32, rng, ActKind::ReLU, pruned));
    g.layers.push_back(dense("output", "fc3", 32, 5, rng));
    g.layers.push_back(softmax("softmax", "output", 5));
    return g;
}

// Every layer kind and activation: Dense, BatchNorm, sigmoid, tanh, leaky_relu,
// hard_sigmoid, relu6, a Reshape and softmax.
Graph activationZoo(uint64_t seed) {
    std::mt19937_64 rng(seed);
    Graph g;
    g.name = "zoo";
    g.layers.push_back(inputLayer(12, T("ap_fixed<16,6>")));
    g.layers.push_back(dense("d1", "input_1", 12, 16, rng));
    Layer bn;
    bn.name = "bn";
    bn.kind = LayerKind::BatchNorm;
    bn.inputs = {"d1"};
    bn.shape = {16};
    std::normal_distribution<double> s(1.0, 0.5);
    for (int i = 0; i < 16; ++i) {
        bn.param("scale").push_back(s(rng));
        bn.param("shift").push_back(s(rng) - 1.0);
    }
    g.layers.push_back(bn);
    g.layers.push_back(activation("sig", "bn", 16, ActKind::Sigmoid));
    g.layers.push_back(dense("d2", "sig", 16, 16, rng));
    g.layers.push_back(activation("th", "d2", 16, ActKind::Tanh));
    g.layers.push_back(dense("d3", "th", 16, 12, rng));
    g.layers.push_back(activation("leaky", "d3", 12, ActKind::LeakyReLU));
    g.layers.push_back(activation("hsig", "leaky", 12, ActKind::HardSigmoid));
    g.layers.push_back(dense("d4", "hsig", 12, 8, rng));
    g.layers.push_back(activation("r6", "d4", 8, ActKind::ReLU6));
    Layer flat = activation("flatten", "r6", 8, ActKind::Linear);
    flat.kind = LayerKind::Reshape;
    g.layers.push_back(flat);
    g.layers.push_back(dense("d5", "flatten", 8, 4, rng));
    g.layers.push_back(softmax("softmax", "d5", 4));
    return g;
}

// The types every layer kind needs, all from `t`; helper tables at their usual defaults.
void uniformTypes(Graph& g, const FixedType& t) {
    for (Layer& l : g.layers) {
        l.precision.clear();
        l.precision["result"] = t;
        if (l.kind == LayerKind::Dense)
            for (auto v : {"weight", "bias", "accum"}) l.precision[v] = t;
        if (l.kind == LayerKind::BatchNorm) l.precision["scale"] = l.precision["shift"] = t;
        if (l.activation() == ActKind::Sigmoid || l.activation() == ActKind::Tanh)
            l.precision["table"] = T("ap_fixed<18,2,AP_RND,AP_SAT>");
        if (l.activation() == ActKind::LeakyReLU || l.activation() == ActKind::HardSigmoid)
            l.precision["param"] = T("ap_fixed<16,2,AP_RND,AP_SAT>");
        if (l.kind == LayerKind::Softmax)
            l.precision["exp_table"] = l.precision["inv_table"] = T("ap_ufixed<18,1,AP_RND,AP_SAT>");
    }
}

// Per-layer mixed precision: every layer gets its own widths and modes, including unsigned
// results after ReLU, accumulators with saturation bits and symmetric saturation.
void mixedTypes(Graph& g) {
    uniformTypes(g, T("ap_fixed<16,6>"));
    static const char* results[] = {"ap_fixed<12,4,AP_RND_CONV,AP_SAT>", "ap_ufixed<10,4,AP_RND,AP_SAT>",
                                    "ap_fixed<14,5,AP_TRN_ZERO,AP_SAT_SYM>", "ap_fixed<9,3,AP_RND_ZERO,AP_WRAP>",
                                    "ap_fixed<11,6,AP_RND_INF,AP_SAT_ZERO>", "ap_fixed<13,4,AP_RND_MIN_INF,AP_SAT>"};
    static const char* accums[] = {"ap_fixed<20,8,AP_RND,AP_SAT>", "ap_fixed<18,6,AP_TRN,AP_WRAP,2>",
                                   "ap_fixed<24,10>", "ap_fixed<14,5,AP_RND_CONV,AP_SAT_SYM>"};
    static const char* weights[] = {"ap_fixed<8,2,AP_RND,AP_SAT>", "ap_fixed<6,1,AP_RND_CONV,AP_SAT>",
                                    "ap_fixed<10,3>"};
    size_t k = 0;
    for (Layer& l : g.layers) {
        l.precision["result"] = T(results[k % 6]);
        if (l.kind == LayerKind::Dense) {
            l.precision["accum"] = T(accums[k % 4]);
            l.precision["weight"] = T(weights[k % 3]);
            l.precision["bias"] = T(weights[(k + 1) % 3]);
        }
        if (l.kind == LayerKind::Softmax) l.precision["result"] = T("ap_ufixed<8,0,AP_RND,AP_SAT>");
        ++k;
    }
    g.layers.front().precision["result"] = T("ap_fixed<10,5,AP_RND,AP_SAT>");
}

// Sets every layer's schedule; returns the target of the io type ("io_parallel", "io_stream").
Target schedule(Graph& g, const std::string& strategy, int rf, const std::string& io) {
    for (Layer& l : g.layers) {
        l.schedule.strategy = strategyNamed(strategy);
        l.schedule.reuseFactor = l.kind == LayerKind::Dense ? std::min(rf, macDims(l).nIn * macDims(l).nOut) : 1;
    }
    return test_support::ioTarget(io);
}

struct Case {
    std::string name;
    Graph g;
    size_t rows = kRows;
    Target target = {};
};

// Writes and simulates every case under the suite's folder. Returns one log per failing case.
std::vector<std::string> writeAndSimulate(const std::string& suite, std::vector<Case>& cases) {
    const fs::path dir = workDir(suite);
    return simulateCsimCases<Case>(cases, [&](const Case& c) { return dir / c.name; }, 1);
}

void expectAllMatch(const std::string& suite, std::vector<Case> cases) {
    for (const std::string& log : writeAndSimulate(suite, cases)) EXPECT_TRUE(log.empty()) << log;
}

}  // namespace

TEST(HlsProject, JetTaggerConfigurationsMatchEmulatorBitForBit) {
    std::vector<Case> cases;
    auto add = [&](const std::string& name, std::function<void(Graph&)> types, const std::string& strategy, int rf,
                   const std::string& io) {
        Graph g = jetTagger(11);
        types(g);
        const Target t = schedule(g, strategy, rf, io);
        cases.push_back({name, g, kRows, t});
    };
    auto t16 = [](Graph& g) { uniformTypes(g, T("ap_fixed<16,6>")); };
    auto t8 = [](Graph& g) { uniformTypes(g, T("ap_fixed<8,3,AP_RND,AP_SAT>")); };
    add("trn_wrap_latency_rf1_parallel", t16, "Latency", 1, "io_parallel");
    add("rnd_sat_resource_rf4_stream", t8, "Resource", 4, "io_stream");
    add("mixed_resource_rf16_parallel", mixedTypes, "Resource", 16, "io_parallel");
    add("mixed_latency_rf1_stream", mixedTypes, "Latency", 1, "io_stream");
    add("rnd_sat_resource_rf16_parallel", t8, "Resource", 16, "io_parallel");
    add("trn_wrap_latency_rf4_stream", t16, "Latency", 4, "io_stream");
    expectAllMatch("jet", cases);
}

TEST(HlsProject, EveryLayerKindMatchesEmulatorBitForBit) {
    std::vector<Case> cases;
    Graph a = activationZoo(5);
    uniformTypes(a, T("ap_fixed<16,6>"));
    const Target ta = schedule(a, "Latency", 1, "io_parallel");
    cases.push_back({"zoo_16_6_parallel", a, kRows, ta});
    Graph b = activationZoo(6);
    mixedTypes(b);
    const Target tb = schedule(b, "Resource", 4, "io_stream");
    cases.push_back({"zoo_mixed_stream", b, kRows, tb});
    expectAllMatch("zoo", cases);
}

TEST(HlsProject, PrunedWeightsAreLeftOutOfTheGeneratedCode) {
    Graph g = jetTagger(3, 0.7);
    uniformTypes(g, T("ap_fixed<8,3,AP_RND,AP_SAT>"));
    schedule(g, "Resource", 16, "io_parallel");
    Emulator emu(g);
    size_t nonzero = 0;
    for (int64_t w : emu.weightRaw("fc2")) nonzero += w != 0;
    ASSERT_LT(nonzero, 64u * 32u / 2);
    const fs::path prj = workDir("pruned") / "prj";
    hls::HlsOptions opt;
    opt.testRows = kRows;
    hls::writeProject(g, emu, prj.string(), opt);
    const std::string params = readFile(prj / "firmware/parameters.h");
    EXPECT_NE(params.find("static const unsigned n_nonzero = " + std::to_string(nonzero) + ";"), std::string::npos);
    std::ostringstream log;
    hls::CsimResult r = hls::csim(prj.string(), log);
    EXPECT_EQ(r.rows, kRows);
    EXPECT_EQ(r.mismatches, 0u) << log.str();
}

TEST(HlsProject, ProjectReadsLikeFirmware) {
    Graph g = jetTagger(4);
    uniformTypes(g, T("ap_fixed<16,6>"));
    schedule(g, "Latency", 1, "io_parallel");
    Emulator emu(g);
    const fs::path prj = workDir("layout") / "prj";
    hls::HlsOptions opt;
    opt.target.part = "xcku115-flvb2104-2-i";
    opt.target.clockPeriodNs = 3.125;
    opt.projectName = "jet_tagger";
    opt.testRows = 10;
    hls::writeProject(g, emu, prj.string(), opt);
    for (const char* f : {"firmware/jet_tagger.cpp", "firmware/jet_tagger.h", "firmware/parameters.h",
                          "firmware/weights/fc1_w.h", "firmware/weights/fc1_b.h", "firmware/weights/softmax_table.h",
                          "firmware/nnet_utils/nnet_dense.h", "include/ap_fixed.h", "include/hls_stream.h",
                          "jet_tagger_test.cpp", "build_prj.tcl", "tachyon_project.json", "tb_data/input_raw.dat",
                          "tb_data/expected_raw.dat", "tb_data/tb_input_features.dat"})
        EXPECT_TRUE(fs::exists(prj / f)) << f;
    const std::string top = readFile(prj / "firmware/jet_tagger.cpp");
    // One kernel call per layer, named after the layer; no numbers inside the logic code.
    EXPECT_NE(top.find("nnet::dense<input_t, fc1_result_t, fc1_config>(input_1, fc1_out, fc1_w"), std::string::npos)
        << top;
    EXPECT_NE(top.find("nnet::softmax<output_result_t, softmax_result_t, softmax_config>"), std::string::npos) << top;
    EXPECT_EQ(top.find("0."), std::string::npos) << "weights must not be inlined into the logic code";
    EXPECT_NE(top.find("#pragma HLS PIPELINE"), std::string::npos);
    const std::string tcl = readFile(prj / "build_prj.tcl");
    EXPECT_NE(tcl.find("xcku115-flvb2104-2-i"), std::string::npos);
    EXPECT_NE(tcl.find("set clock_period 3.125"), std::string::npos);
    EXPECT_NE(tcl.find("set_clock_uncertainty 27% default"), std::string::npos) << "Vitis's default, stated";
    for (const char* step : {"csim_design", "csynth_design", "cosim_design", "export_design"})
        EXPECT_NE(tcl.find(step), std::string::npos) << step;
    // The firmware uses only the standard API: no Tachyon names.
    for (const auto& e : fs::recursive_directory_iterator(prj / "firmware"))
        if (e.is_regular_file()) {
            EXPECT_EQ(readFile(e.path()).find("tachyon::"), std::string::npos) << e.path();
        }
    const std::string meta = readFile(prj / "tachyon_project.json");
    EXPECT_NE(meta.find("\"top\": \"jet_tagger\""), std::string::npos) << meta;
}

// The structure each strategy and IO type must have in the generated C++ (issue 12):
// DATAFLOW vs PIPELINE on the top function, partitioned arrays, II values, accumulator
// writes at compile-time indices, one whole sample per io_stream beat; and the projects
// still match the emulator bit for bit (pruned weights, so outputs get padded tables).
namespace {

// The text between `from` and the next line that starts a top-level item ("template", "}").
std::string functionText(const std::string& code, const std::string& from) {
    const size_t b = code.find(from);
    if (b == std::string::npos) return "";
    const size_t e = code.find("\n}\n", b);
    return code.substr(b, e == std::string::npos ? std::string::npos : e - b);
}

// `static const unsigned name = value;` inside struct `config` of parameters.h.
long long configValue(const std::string& params, const std::string& config, const std::string& name) {
    const size_t b = params.find("struct " + config + " ");
    if (b == std::string::npos) return -1;
    const size_t e = params.find("\n};", b);
    const std::string key = " " + name + " = ";
    const size_t k = params.find(key, b);
    if (k == std::string::npos || k > e) return -1;
    return std::atoll(params.c_str() + k + key.size());
}

}  // namespace

TEST(HlsProject, FirmwareStructureFollowsStrategyAndIoType) {
    struct Variant { std::string name, strategy, io; int rf; };
    const std::vector<Variant> variants = {{"latency_parallel", "Latency", "io_parallel", 1},
                                           {"latency_rf2_stream", "Latency", "io_stream", 2},
                                           {"resource_rf4_parallel", "Resource", "io_parallel", 4},
                                           {"resource_rf32_stream", "Resource", "io_stream", 32}};
    std::vector<Case> cases;
    for (const Variant& v : variants) {
        Graph g = jetTagger(21, 0.4);
        uniformTypes(g, T("ap_fixed<12,5,AP_RND,AP_SAT>"));
        const Target t = schedule(g, v.strategy, v.rf, v.io);
        cases.push_back({v.name, g, kRows, t});
    }
    for (const std::string& log : writeAndSimulate("structure", cases)) EXPECT_TRUE(log.empty()) << log;

    const fs::path dir = fs::path(TACHYON_BINARY_DIR) / "test_hls" / "structure";
    // The kernels (the same file in every project).
    const std::string dense = readFile(dir / variants[0].name / "firmware/nnet_utils/nnet_dense.h");
    const std::string latency = functionText(dense, "void dense_latency(");
    const std::string resource = functionText(dense, "void dense_resource(");
    const std::string cycle = functionText(dense, "void dense_cycle(");
    ASSERT_FALSE(latency.empty() || resource.empty() || cycle.empty()) << dense;
    EXPECT_NE(latency.find("#pragma HLS PIPELINE II=CONFIG_T::reuse_factor"), std::string::npos) << latency;
    for (const char* a : {"x", "w", "b", "acc", "xt"})
        EXPECT_NE(latency.find("#pragma HLS ARRAY_PARTITION variable=" + std::string(a) + " complete"), std::string::npos)
            << a;
    // Latency reads its inputs through the config's compile-time wiring, not the index table.
    EXPECT_EQ(latency.find("w_in[t]"), std::string::npos) << latency;
    EXPECT_NE(latency.find("CONFIG_T::template gather<data_T>(x, xt)"), std::string::npos) << latency;
    EXPECT_NE(resource.find("#pragma HLS PIPELINE II=1 rewind"), std::string::npos) << resource;
    for (const char* a : {"w", "w_in"})
        EXPECT_NE(resource.find("#pragma HLS ARRAY_PARTITION variable=" + std::string(a) +
                                " cyclic factor=CONFIG_T::block_factor"),
                  std::string::npos)
            << a;
    EXPECT_NE(resource.find("#pragma HLS ARRAY_PARTITION variable=acc complete"), std::string::npos);
    // Every accumulator update in the kernels indexes by j, the variable of an unrolled loop.
    size_t updates = 0;
    for (size_t k = dense.find("acc["); k != std::string::npos; k = dense.find("acc[", k + 1)) {
        const size_t close = dense.find(']', k);
        const std::string index = dense.substr(k + 4, close - k - 4);
        if (dense.compare(close, 4, "] +=") != 0) continue;
        ++updates;
        EXPECT_EQ(index, "j") << "accumulator written at a run-time index: acc[" << index << "]";
    }
    EXPECT_EQ(updates, 2u) << "one accumulator update per strategy (dense_latency, dense_cycle)";
    EXPECT_NE(cycle.find("for (unsigned j = 0; j < CONFIG_T::n_out; j++) {\n        #pragma HLS UNROLL"),
              std::string::npos)
        << cycle;
    const std::string streamDense = functionText(dense, "void dense(hls::stream<data_T>& in");
    EXPECT_NE(streamDense.find("#pragma HLS PIPELINE II=CONFIG_T::reuse_factor\n"), std::string::npos)
        << streamDense;

    for (const Variant& v : variants) {
        SCOPED_TRACE(v.name);
        const fs::path prj = dir / v.name;
        const std::string top = functionText(readFile(prj / "firmware/myproject.cpp"), "void myproject(");
        const std::string params = readFile(prj / "firmware/parameters.h");
        const bool stream = v.io == "io_stream";
        const bool folds = v.strategy == "Resource" && v.rf > 1;
        EXPECT_EQ(top.find("#pragma HLS DATAFLOW") != std::string::npos, stream || folds) << top;
        EXPECT_EQ(top.find("#pragma HLS PIPELINE") != std::string::npos, !stream && !folds) << top;
        if (!stream) {
            // Every intermediate array in registers (ARRAY_PARTITION complete).
            for (const char* a : {"fc1_out", "fc2_out", "fc3_out", "output_out"})
                EXPECT_NE(top.find("#pragma HLS ARRAY_PARTITION variable=" + std::string(a) + " complete dim=0"),
                          std::string::npos)
                    << a;
        } else {
            // One whole sample per beat on the flat Dense chain, not one scalar.
            EXPECT_NE(params.find("typedef nnet::array<input_t, 16> input_beat_t;"), std::string::npos) << params;
            EXPECT_NE(params.find("typedef nnet::array<fc1_result_t, 64> fc1_beat_t;"), std::string::npos);
        }
        // fc2: 64 -> 32. Latency: one cycle, every product of an output in parallel. Resource:
        // ceil(longest output / RF) products per output per cycle, at most RF cycles.
        EXPECT_EQ(configValue(params, "fc2_config", "reuse_factor"), v.rf);
        const long long perOutput = configValue(params, "fc2_config", "per_output");
        const long long cycles = configValue(params, "fc2_config", "n_cycles");
        EXPECT_EQ(configValue(params, "fc2_config", "block_factor"), 32 * perOutput);
        EXPECT_EQ(configValue(params, "fc2_config", "n_table"), cycles * 32 * perOutput);
        if (v.strategy == "Latency") {
            EXPECT_EQ(cycles, 1);
        } else {
            EXPECT_LE(cycles, v.rf);
            EXPECT_GE(cycles * perOutput, 1);
            EXPECT_LT((cycles - 1) * perOutput, 64);
            EXPECT_LE(perOutput, (64 + v.rf - 1) / v.rf);
        }
        if (v.rf == 32) {
            // fc1 has 16 inputs: an output needs at most 16 cycles of one product each.
            EXPECT_EQ(configValue(params, "fc1_config", "per_output"), 1);
            EXPECT_LE(configValue(params, "fc1_config", "n_cycles"), 16);
        }
    }
}

TEST(HlsProject, BadSchedulesAreRejectedNamingTheLayer) {
    Graph g = jetTagger(5);
    uniformTypes(g, T("ap_fixed<16,6>"));
    Emulator emu(g);
    const fs::path prj = workDir("bad") / "prj";
    auto expectError = [&](const Graph& bad, const std::string& layer, const std::string& what) {
        try {
            hls::writeProject(bad, emu, prj.string(), {});
            ADD_FAILURE() << "expected an error about " << what;
        } catch (const Error& e) {
            const std::string msg = e.what();
            EXPECT_NE(msg.find("'" + layer + "'"), std::string::npos) << msg;
            EXPECT_NE(msg.find(what), std::string::npos) << msg;
        }
    };
    Graph tooMuchReuse = g;
    tooMuchReuse.find("output")->schedule.reuseFactor = 161;  // 32 x 5 = 160 multiplications
    expectError(tooMuchReuse, "output", "ReuseFactor 161");
    Graph noReuse = g;
    noReuse.find("fc2")->schedule.reuseFactor = 0;
    expectError(noReuse, "fc2", "ReuseFactor 0");
    Graph strategy = g;
    strategy.find("fc3")->schedule.strategy = Strategy::DistributedArithmetic;
    expectError(strategy, "fc3", "Strategy 'Distributed_Arithmetic'");
}

// The dense-family models of the shared model zoo, through the real frontends and the
// configuration pipeline, at two configurations each.
TEST(HlsProject, SharedModelsMatchEmulatorBitForBit) {
    ZOO_OR_SKIP();
    const fs::path shared = test_support::zooDir();
    // Models whose layers the frontends do not read (QKeras, custom binary layers) are the
    // frontends' business: they are reported and skipped here.
    const char* models[] = {"keras/KERAS_1layer.json", "keras/KERAS_3layer.json",
                            "keras/KERAS_3layer_batch_norm.json", "keras/KERAS_dense_16x100x100x100x100x100x5.json",
                            "keras/qkeras_3layer.json", "keras/qkeras_mnist_dense.json",
                            "keras/KERAS_3layer_binary_smaller.json", "keras/KERAS_3layer_ternary_small.json",
                            "keras/hgq_jet_classifier.h5", "onnx/bnn_model_fc_1layer.onnx", "onnx/three_layer_keras.onnx", "onnx/three_layer_pytorch.onnx", "onnx/two_layer_keras.onnx",
                            "onnx/two_layer_pytorch.onnx", "onnx/three_layer_bn_pytorch.onnx"};
    const char* configs[] = {
        "IOType: io_parallel\nModel:\n  Precision: ap_fixed<16,6>\n  ReuseFactor: 1\n  Strategy: Latency\n",
        "IOType: io_stream\nModel:\n  Precision: ap_fixed<8,3,AP_RND,AP_SAT>\n  ReuseFactor: 4\n  Strategy: Resource\n"};
    std::vector<Case> cases;
    for (const char* m : models) {
        const fs::path path = shared / m;
        if (!fs::exists(path)) continue;
        for (int c = 0; c < 2; ++c) {
            Graph g;
            const Config cfg = Config::parse(configs[c], "test-config");
            try {
                g = loadModel(path.string());
                runPipeline(g, cfg);
            } catch (const Error& e) {
                if (std::string(e.what()).find("unsupported") == std::string::npos) ADD_FAILURE() << m << ": " << e.what();
                else if (c == 0) std::cout << "[ skipped  ] " << m << ": " << e.what() << "\n";
                continue;
            }
            std::string name = fs::path(m).stem().string() + (c ? "_8_3_stream" : "_16_6_parallel");
            cases.push_back({name, g, kRows, cfg.target()});
        }
    }
    expectAllMatch("shared", cases);
}

// Quantisation-aware fixtures (scripts/make_quant_fixtures.py): QKeras convolutions and the
// QONNX models (Quant on weights and activations, MultiThreshold channels-first and last).
TEST(HlsProject, QuantizedFixturesMatchEmulatorBitForBit) {
    const char* env = std::getenv("TACHYON_FIXTURES");   // filled by ctest's make_fixtures step
    const fs::path dir = fs::path(env && *env ? env : TACHYON_BINARY_DIR "/fixtures") / "quant";
    const char* models[] = {"qcnn.json", "qonnx_mlp.onnx", "qonnx_threshold.onnx", "qonnx_conv.onnx", "qonnx_trunc.onnx",
                            "binary_mlp.json", "ternary_mlp.json"};
    const char* configs[] = {"IOType: io_parallel\nModel:\n  ReuseFactor: 1\n  Strategy: Latency\n",
                             "IOType: io_stream\nModel:\n  ReuseFactor: 1\n  Strategy: Latency\n"};
    std::vector<Case> cases;
    for (const char* m : models) {
        const fs::path path = dir / m;
        if (!fs::exists(path)) {
            ADD_FAILURE() << path << " is missing (scripts/make_quant_fixtures.py)";
            continue;
        }
        for (int c = 0; c < 2; ++c) {
            Graph g = loadModel(path.string());
            const Config cfg = Config::parse(configs[c], "test-config");
            runPipeline(g, cfg);
            ASSERT_TRUE(std::any_of(g.layers.begin(), g.layers.end(), [](const Layer& l) { return l.kind == LayerKind::Quantize; }))
                << m;
            cases.push_back({fs::path(m).stem().string() + (c ? "_stream" : "_parallel"), g, kRows, cfg.target()});
        }
    }
    expectAllMatch("quant", cases);
}
