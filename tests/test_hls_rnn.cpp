// Backends and the layers and graphs only the emulator ran so far (issue 14, part 1):
// - models with several inputs through the HLS backend (io_parallel: one array argument per
//   input, hls4ml-style), C simulation bit-exact to the emulator at 16/6 and at narrow,
//   different per-input types; io_stream refuses them by name;
// - the Verilog backend refuses several inputs, and recurrent layers, with a clear message;
// - the HLS backend refuses recurrent layers by name (no HLS recurrent kernel yet).
#include "backends/hls/HlsWriter.h"
#include "backends/verilog/VerilogWriter.h"
#include "config/Config.h"
#include "emulator/Emulator.h"
#include "frontends/Frontend.h"
#include "frontends/GraphBuilder.h"
#include "passes/Pass.h"
#include "util/Error.h"

#include "fixture_dir.h"

#include "test_files.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

namespace fs = std::filesystem;
using namespace tachyon;

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

std::string errorOf(const std::function<void()>& f) {
    try {
        f();
    } catch (const Error& e) {
        return e.what();
    }
    return "";
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
    const std::string e = errorOf([&] { hls::writeProject(g, emu, workDir("two_inputs_stream").string(), {}); });
    EXPECT_NE(e.find("2 inputs"), std::string::npos) << e;
    EXPECT_NE(e.find("io_stream"), std::string::npos) << e;
}

TEST(VerilogMessages, SeveralInputsRefused) {
    Graph g = twoInputModel("io_parallel", "Latency");
    Emulator emu(g);
    const std::string e = errorOf([&] { verilog::writeProject(g, emu, workDir("two_inputs_verilog").string(), {}); });
    EXPECT_NE(e.find("2 model inputs (in_a, in_b)"), std::string::npos) << e;
    EXPECT_NE(e.find("supports models with one input"), std::string::npos) << e;
}

TEST(VerilogMessages, RecurrentLayersAreNotVerilog) {
    Graph g = loadModel(rnnFixtureDir() + "/lstm_last.onnx");
    runPipeline(g, Config::defaults());
    std::string rec;
    for (const Layer& l : g.layers)
        if (l.kind == LayerKind::Recurrent) rec = l.name;
    ASSERT_FALSE(rec.empty());
    Emulator emu(g);
    const std::string e = errorOf([&] { verilog::writeProject(g, emu, workDir("lstm_verilog").string(), {}); });
    EXPECT_NE(e.find(rec + " ("), std::string::npos) << e;
    EXPECT_NE(e.find("not by the Verilog backend"), std::string::npos) << e;
}

TEST(HlsRnn, RecurrentLayersRefusedByName) {
    for (const char* name : {"lstm_last", "gru_seq", "rnn_seq"}) {
        SCOPED_TRACE(name);
        Graph g = loadModel(rnnFixtureDir() + "/" + name + ".onnx");
        runPipeline(g, Config::defaults());
        std::string rec;
        for (const Layer& l : g.layers)
            if (l.kind == LayerKind::Recurrent) rec = l.name;
        ASSERT_FALSE(rec.empty());
        Emulator emu(g);
        const std::string e = errorOf([&] { hls::writeProject(g, emu, workDir(std::string("hls_") + name).string(), {}); });
        EXPECT_NE(e.find(rec), std::string::npos) << e;
        EXPECT_NE(e.find("not supported by the HLS backend"), std::string::npos) << e;
    }
}

// The zoo's GarNet model (two inputs, a GarNet layer): the Verilog backend names what it refuses.
TEST(VerilogMessages, GarNetZooModelRefused) {
    const std::string json = TACHYON_SOURCE_DIR "/../shared/models/keras/garnet_1layer.json";
    if (!fs::exists(json)) GTEST_SKIP() << "zoo not present";
    Graph g = loadModel(json);
    runPipeline(g, Config::defaults());
    Emulator emu(g);
    const std::string v = errorOf([&] { verilog::writeProject(g, emu, workDir("garnet_verilog").string(), {}); });
    EXPECT_NE(v.find("2 model inputs"), std::string::npos) << v;
    EXPECT_NE(v.find("gar_1 ("), std::string::npos) << v;
    EXPECT_NE(v.find("not by the Verilog backend"), std::string::npos) << v;
    // The HLS backend writes it (tests/test_garnet.cpp runs its C simulation).
}
