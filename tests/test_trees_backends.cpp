// Fixed-point emulation against an independent reference, and the generated HLS
// (compiled with g++), Verilog (Verilator) and lookup-table projects bit for bit.
#include "test_trees_fixtures.h"

#include "frontends/trees/Frontends.h"
#include "trees/TreeBackends.h"
#include "trees/TreeCommands.h"
#include "emulator/TreeEmulator.h"
#include "util/Error.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

using namespace tachyon;
using namespace tachyon::trees;
using namespace tachyon::trees::testing;

namespace {

TreeConfig config(const std::string& in, const std::string& score, const std::string& thr = "") {
    TreeConfig c;
    c.input = FixedType::parse(in);
    c.threshold = thr.empty() ? c.input : FixedType::parse(thr);
    c.score = FixedType::parse(score);
    return c;
}

// The documented semantics written as plainly as possible (FixedType casts, an exact
// comparison of aligned raws, the adder tree by its definition).
std::vector<int64_t> referenceFixed(const Ensemble& e, const TreeConfig& c, const std::vector<int64_t>& xRaw, size_t rows) {
    std::vector<int64_t> out;
    const int F = std::max(c.input.frac(), c.threshold.frac());
    for (size_t r = 0; r < rows; ++r)
        for (int k = 0; k < e.nClasses; ++k) {
            std::vector<Int128> terms = {c.score.castDouble(e.baseScore[size_t(k)])};
            for (int t : e.treesOfClass(k)) {
                const auto& nodes = e.trees[size_t(t)].nodes;
                int i = 0;
                while (!nodes[size_t(i)].isLeaf()) {
                    const Node& n = nodes[size_t(i)];
                    const Int128 x = Int128(xRaw[r * size_t(e.nFeatures) + size_t(n.feature)]) << (F - c.input.frac());
                    const Int128 th = c.threshold.castDouble(n.threshold) << (F - c.threshold.frac());
                    const bool left = e.comparison == Comparison::Less ? x < th : x <= th;
                    i = left ? n.left : n.right;
                }
                terms.push_back(c.score.castDouble(nodes[size_t(i)].value));
            }
            while (terms.size() > 1) {
                std::vector<Int128> next;
                for (size_t i = 0; i + 1 < terms.size(); i += 2)
                    next.push_back(c.score.castRaw(terms[i] + terms[i + 1], c.score.frac()));
                if (terms.size() % 2) next.push_back(terms.back());
                terms = next;
            }
            out.push_back(int64_t(terms[0]));
        }
    return out;
}

std::string run(const std::string& cmd) {
    std::string out;
    FILE* p = popen((cmd + " 2>&1").c_str(), "r");
    if (!p) return "popen failed";
    char buf[4096];
    while (size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
    const int rc = pclose(p);
    return (rc == 0 ? "" : "FAILED(" + std::to_string(rc) + ") ") + out;
}

std::string readFile(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// Compiles and runs the HLS testbench; its output file must equal the expected one.
void expectCsimBitExact(const std::string& dir) {
    nlohmann::json j = nlohmann::json::parse(readFile(dir + "/tachyon_project.json"));
    const std::string out = run("cd '" + dir + "' && " + j["csim_command"].get<std::string>());
    EXPECT_NE(out.find("mismatches 0"), std::string::npos) << out.substr(0, 3000);
    EXPECT_EQ(readFile(dir + "/tb_data/csim_raw.dat"), readFile(dir + "/tb_data/expected_raw.dat"));
}

void expectVerilatorBitExact(const std::string& dir) {
    nlohmann::json j = nlohmann::json::parse(readFile(dir + "/tachyon_project.json"));
    const std::string out = run("cd '" + dir + "' && " + j["rtlsim_command"].get<std::string>());
    EXPECT_NE(out.find("mismatches 0"), std::string::npos) << out.substr(0, 3000);
    EXPECT_EQ(readFile(dir + "/sim/rtl_output_raw.dat"), readFile(dir + "/sim/expected_raw.dat"));
}

}  // namespace

TEST(TreesFixed, EmulatorEqualsPlainReference) {
    TREE_FIXTURES_OR_SKIP(dir);
    struct Case { std::string model, in, score, thr; };
    const std::vector<Case> cases = {
        {"xgb_binary", "ap_fixed<18,8>", "ap_fixed<18,8>", ""},
        {"xgb_multi", "ap_fixed<12,4,AP_RND,AP_SAT>", "ap_fixed<10,3,AP_TRN,AP_SAT>", "ap_fixed<16,4>"},
        {"skl_gb_binary", "ap_fixed<14,6>", "ap_fixed<8,2,AP_RND,AP_SAT_SYM>", "ap_fixed<10,4>"},
        {"skl_rf_multi", "ap_ufixed<9,3,AP_TRN,AP_SAT>", "ap_fixed<8,1,AP_RND,AP_WRAP>", ""},
        {"skl_gb_multi", "ap_fixed<16,6>", "ap_fixed<9,2,AP_TRN,AP_SAT_ZERO>", ""},
    };
    Matrix x = loadNpy(dir + "/X_test.npy");
    for (const Case& cs : cases) {
        Ensemble e = readTreeModel(dir + "/" + cs.model + ".json");
        TreeConfig c = config(cs.in, cs.score, cs.thr);
        TreeEmulator emu(e, c);
        // Half library rows, half rows on and around the thresholds (boundary cases).
        TestVectors a = testVectorsFrom(emu, x.data.data(), 1000);
        TestVectors b = thresholdTestVectors(emu, 1000, 7);
        a.inputRaw.insert(a.inputRaw.end(), b.inputRaw.begin(), b.inputRaw.end());
        a.rows += b.rows;
        std::vector<int64_t> got(a.rows * size_t(e.nClasses));
        emu.runFixedRaw(a.inputRaw.data(), a.rows, got.data(), 2);
        EXPECT_EQ(got, referenceFixed(e, c, a.inputRaw, a.rows)) << cs.model;
    }
}

TEST(TreesFixed, FixedPointTracksFloat) {
    TREE_FIXTURES_OR_SKIP(dir);
    Ensemble e = readTreeModel(dir + "/xgb_multi.json");
    TreeEmulator emu(e, TreeConfig{});
    Matrix x = loadNpy(dir + "/X_test.npy");
    std::vector<double> f(x.rows * 5), v(x.rows * 5);
    std::vector<int64_t> raw(x.rows * 5);
    emu.runFloat(x.data.data(), x.rows, f.data());
    emu.runFixed(x.data.data(), x.rows, raw.data(), v.data());
    double sum = 0;
    for (size_t i = 0; i < f.size(); ++i) sum += std::fabs(f[i] - v[i]);
    EXPECT_LT(sum / double(f.size()), 0.02);  // 10 fractional bits: small, not zero
    EXPECT_GT(sum, 0.0);
}

TEST(TreesBackends, HlsCsimBitExactOnLibraryRows) {
    TREE_FIXTURES_OR_SKIP(dir);
    Matrix x = loadNpy(dir + "/X_test.npy");
    for (std::string model : {"xgb_binary", "xgb_multi", "skl_rf_multi"}) {
        TreeEmulator emu(readTreeModel(dir + "/" + model + ".json"), TreeConfig{});
        const std::string prj = scratchDir("hls_" + model);
        writeHlsProject(emu, prj, testVectorsFrom(emu, x.data.data(), x.rows));
        expectCsimBitExact(prj);
    }
}

TEST(TreesBackends, HlsCsimBitExactWithSaturatingScores) {
    TREE_FIXTURES_OR_SKIP(dir);
    TreeConfig c = config("ap_fixed<12,4,AP_RND,AP_SAT>", "ap_fixed<9,2,AP_TRN,AP_SAT_SYM>", "ap_fixed<16,4>");
    TreeEmulator emu(readTreeModel(dir + "/skl_gb_multi.json"), c);
    const std::string prj = scratchDir("hls_sat");
    writeHlsProject(emu, prj, thresholdTestVectors(emu, 3000));
    expectCsimBitExact(prj);
    // The build script runs every Vitis step, switchable like a network project's.
    std::ifstream tclFile(prj + "/build_prj.tcl");
    std::stringstream tcl;
    tcl << tclFile.rdbuf();
    for (const char* line : {"if {$opt(csim)} { csim_design }", "if {$opt(synth)} { csynth_design }",
                             "if {$opt(cosim)} { cosim_design }", "if {$opt(export)} { export_design -format ip_catalog }",
                             "-cflags \"-std=c++14\"", "set_clock_uncertainty 27% default"})
        EXPECT_NE(tcl.str().find(line), std::string::npos) << line << "\n" << tcl.str();
}

TEST(TreesBackends, VerilatorBitExactOnLibraryRows) {
    TREE_FIXTURES_OR_SKIP(dir);
    Matrix x = loadNpy(dir + "/X_test.npy");
    for (std::string model : {"xgb_binary", "xgb_multi"}) {
        TreeEmulator emu(readTreeModel(dir + "/" + model + ".json"), TreeConfig{});
        const std::string prj = scratchDir("v_" + model);
        const int latency = writeVerilogProject(emu, prj, testVectorsFrom(emu, x.data.data(), x.rows));
        EXPECT_GE(latency, 2);
        EXPECT_LE(latency, 8);
        expectVerilatorBitExact(prj);
    }
}

TEST(TreesBackends, VerilatorBitExactForEveryPipelineDepthAndOverflowMode) {
    TREE_FIXTURES_OR_SKIP(dir);
    const Ensemble e = readTreeModel(dir + "/skl_gb_multi.json");
    struct Case { int pipeline; std::string score; };
    // WRAP (the default) is covered by the library-row test above.
    for (const Case& cs : {Case{0, "ap_fixed<9,2,AP_TRN,AP_SAT>"}, Case{2, "ap_fixed<9,2,AP_RND,AP_SAT_SYM>"},
                           Case{9, "ap_ufixed<9,2,AP_TRN,AP_SAT_ZERO>"}}) {
        TreeConfig c = config("ap_fixed<12,4>", cs.score);
        c.pipeline = cs.pipeline;
        TreeEmulator emu(e, c);
        const std::string prj = scratchDir("v_pipe" + std::to_string(cs.pipeline));
        const int latency = writeVerilogProject(emu, prj, thresholdTestVectors(emu, 2000));
        EXPECT_EQ(latency, cs.pipeline);
        expectVerilatorBitExact(prj);
    }
}

TEST(TreesBackends, LookupTableEqualsEmulatorOnEveryAddress) {
    TREE_FIXTURES_OR_SKIP(dir);
    const Ensemble e = readTreeModel(dir + "/xgb_small4.json");
    TreeConfig c = config("ap_fixed<4,2,AP_RND,AP_SAT>", "ap_fixed<12,4>", "ap_fixed<10,3>");
    c.lutMaxInputBits = 16;
    TreeEmulator emu(e, c);
    const std::string prj = scratchDir("lut");
    writeLutProject(emu, prj);
    // The ROM holds the emulator's output for every address...
    std::ifstream mem(prj + "/rtl/" + c.projectName + "_rom.mem");
    std::vector<int64_t> x(4);
    int64_t out = 0;
    std::string word;
    size_t words = 0;
    for (uint64_t a = 0; std::getline(mem, word); ++a, ++words) {
        for (int f = 0; f < 4; ++f) x[size_t(f)] = int64_t((a >> (4 * f)) & 15) - (((a >> (4 * f)) & 8) ? 16 : 0);
        emu.runFixedRaw(x.data(), 1, &out);
        ASSERT_EQ(int64_t(std::stoull(word, nullptr, 16)), out & 0xfff) << "address " << a;
    }
    EXPECT_EQ(words, 65536u);
    // ...and the Verilog wrapper reads it back on every address.
    expectVerilatorBitExact(prj);
    // Too many input bits is a clear error.
    c.lutMaxInputBits = 12;
    TreeEmulator narrow(e, c);
    EXPECT_THROW(writeLutProject(narrow, scratchDir("lut_wide")), Error);
}

TEST(TreesCommands, PredictConvertAndConfigErrors) {
    TREE_FIXTURES_OR_SKIP(dir);
    const std::string d = scratchDir("commands");
    EXPECT_TRUE(isTreeModel(dir + "/tmva_known.xml"));
    EXPECT_FALSE(isTreeModel(dir + "/X_test.npy"));
    std::ostringstream log;
    predict(dir + "/xgb_multi.json", "", dir + "/X_test.npy", d + "/float.npy", true, log);
    Matrix got = loadNpy(d + "/float.npy"), ref = loadNpy(dir + "/xgb_multi_ref.npy");
    ASSERT_EQ(got.data.size(), ref.data.size());
    for (size_t i = 0; i < got.data.size(); ++i) ASSERT_NEAR(got.data[i], ref.data[i], 1e-6);

    std::ofstream(d + "/cfg.yml") << "InputPrecision: ap_fixed<16,6>\nScorePrecision: ap_fixed<16,6,AP_RND,AP_SAT>\n"
                                     "Pipeline: 3\nProjectName: my_bdt\n";
    predict(dir + "/xgb_multi.json", d + "/cfg.yml", dir + "/X_test.npy", d + "/fixed.npy", false, log);
    Matrix fx = loadNpy(d + "/fixed.npy");
    for (double v : fx.data) ASSERT_EQ(v, std::ldexp(std::round(std::ldexp(v, 10)), -10));  // on the 2^-10 grid

    std::filesystem::create_directories(d + "/prj");
    convert(dir + "/bench_60x3.json", d + "/cfg.yml", d + "/prj", "verilog", log);
    nlohmann::json j = nlohmann::json::parse(readFile(d + "/prj/tachyon_project.json"));
    EXPECT_EQ(j["kind"], "trees");
    EXPECT_EQ(j["top"], "my_bdt");
    EXPECT_EQ(j["latency_cycles"], 3);
    EXPECT_TRUE(std::filesystem::exists(d + "/prj/" + j["rtl_files"][0].get<std::string>()));
    EXPECT_THROW(convert(dir + "/bench_60x3.json", "", d + "/prj", "vhdl", log), Error);

    std::ofstream(d + "/bad.yml") << "InputPrecision: ap_fixed<16,6>\nReuseFactor: 4\n";
    try {
        predict(dir + "/xgb_multi.json", d + "/bad.yml", dir + "/X_test.npy", d + "/x.npy", false, log);
        ADD_FAILURE() << "unknown key accepted";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("ReuseFactor"), std::string::npos) << e.what();
    }
    std::ofstream(d + "/bad2.yml") << "ScorePrecision: ap_fixed<40,6>\n";
    EXPECT_THROW(readTreeConfig(d + "/bad2.yml"), Error);
    EXPECT_THROW(predict(dir + "/xgb_multi.json", "", dir + "/tmva_X.npy", d + "/x.npy", true, log), Error);
}
