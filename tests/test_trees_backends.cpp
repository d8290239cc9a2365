// Fixed-point emulation against an independent reference, and tree models' HLS (compiled
// with g++), Verilog (Verilator) and lookup-table projects, written by the one pipeline
// (tree file -> Input -> TreeEnsemble graph -> network writers), bit for bit.
#include "support/lut_checks.h"
#include "test_trees_fixtures.h"

#include "api/Api.h"
#include "backends/hls/HlsWriter.h"
#include "backends/verilog/VerilogWriter.h"
#include "config/Config.h"
#include "emulator/Emulator.h"
#include "emulator/TreeEmulator.h"
#include "frontends/Frontend.h"
#include "frontends/trees/Frontends.h"
#include "passes/Pass.h"
#include "util/Error.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

using namespace tachyon;
using namespace tachyon::trees;
using namespace tachyon::trees::testing;

using test_support::expectLutRtlsimReadsEveryWord;
using test_support::forEachRomWord;
using test_support::romAddressInputs;

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

// Raw input rows: library rows cast to the input type, and rows on and around the
// model's split boundaries (where a comparison flips).
std::vector<int64_t> libraryRows(const TreeEmulator& emu, const Matrix& x, size_t rows) {
    std::vector<int64_t> raw(rows * size_t(emu.nFeatures()));
    for (size_t i = 0; i < raw.size(); ++i) raw[i] = emu.quantizeInput(x.data[i]);
    return raw;
}

std::vector<int64_t> boundaryRows(const TreeEmulator& emu, size_t rows, uint64_t seed) {
    const Ensemble& e = emu.ensemble();
    const FixedType& in = emu.config().input;
    const int64_t lo = int64_t(in.minRaw()), hi = int64_t(in.maxRaw());
    std::vector<std::vector<int64_t>> bounds(size_t(e.nFeatures));
    for (size_t t = 0; t < e.trees.size(); ++t)
        for (size_t n = 0; n < e.trees[t].nodes.size(); ++n)
            if (!e.trees[t].nodes[n].isLeaf())
                bounds[size_t(e.trees[t].nodes[n].feature)].push_back(emu.leftIfAtMost(int(t), int(n)));
    std::mt19937_64 rng(seed);
    std::vector<int64_t> raw(rows * size_t(e.nFeatures));
    for (size_t i = 0; i < raw.size(); ++i) {
        const auto& b = bounds[i % size_t(e.nFeatures)];
        const int64_t v = b.empty() ? lo + int64_t(rng() % uint64_t(hi - lo + 1))
                                    : b[rng() % b.size()] + int64_t(rng() % 3) - 1;   // on, below, above
        raw[i] = std::clamp(v, lo, hi);
    }
    return raw;
}

// A tree file through the one pipeline: read, configured by the normal Config.
Graph configured(const std::string& model, const std::string& yaml) {
    Graph g = loadModel(model);
    runPipeline(g, Config::parse(yaml, "<test>"));
    return g;
}

std::vector<double> valuesOf(const std::vector<double>& x, size_t rows, size_t cols) {
    return std::vector<double>(x.begin(), x.begin() + std::ptrdiff_t(rows * cols));
}

size_t csimMismatches(const Graph& g, const std::string& prj, const std::vector<double>& rows, size_t nRandom = 1000) {
    const Emulator emu(g);
    hls::HlsOptions opt;
    opt.testInputs = rows;
    opt.testRows = nRandom;
    hls::writeProject(g, emu, prj, opt);
    std::ostringstream log;
    const hls::CsimResult r = hls::csim(prj, log);
    EXPECT_GT(r.rows, 0u);
    if (r.mismatches) ADD_FAILURE() << log.str();
    return r.mismatches;
}

// Returns the project's latency in cycles.
int expectRtlsimBitExact(const Graph& g, const std::string& prj, const std::vector<double>& rows, int stages) {
    const Emulator emu(g);
    verilog::VerilogOptions opt;
    opt.testInputs = rows;
    opt.stages = stages;
    verilog::writeProject(g, emu, prj, opt);
    std::ostringstream log;
    const verilog::RtlsimResult r = verilog::rtlsim(prj, log);
    EXPECT_GT(r.rows, 0u);
    EXPECT_EQ(r.mismatches, 0u) << log.str();
    return nlohmann::json::parse(readFile(prj + "/tachyon_project.json")).value("latency_cycles", -1);
}

std::string treeYaml(const std::string& in, const std::string& score, const std::string& thr = "") {
    return "InputPrecision: '" + in + "'\nScorePrecision: '" + score + "'\n" +
           (thr.empty() ? "" : "ThresholdPrecision: '" + thr + "'\n");
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
        std::vector<int64_t> a = libraryRows(emu, x, 1000);
        const std::vector<int64_t> b = boundaryRows(emu, 1000, 7);
        a.insert(a.end(), b.begin(), b.end());
        const size_t rows = a.size() / size_t(e.nFeatures);
        std::vector<int64_t> got(rows * size_t(e.nClasses));
        emu.runFixedRaw(a.data(), rows, got.data(), 2);
        EXPECT_EQ(got, referenceFixed(e, c, a, rows)) << cs.model;
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
        const Graph g = configured(dir + "/" + model + ".json", "");   // the tree default ap_fixed<18,8>
        EXPECT_EQ(csimMismatches(g, scratchDir("hls_" + model) + "/prj", x.data), 0u) << model;
    }
}

TEST(TreesBackends, HlsCsimBitExactWithSaturatingScores) {
    TREE_FIXTURES_OR_SKIP(dir);
    const Graph g = configured(dir + "/skl_gb_multi.json",
                               treeYaml("ap_fixed<12,4,AP_RND,AP_SAT>", "ap_fixed<9,2,AP_TRN,AP_SAT_SYM>", "ap_fixed<16,4>"));
    // Random rows, saturating ones included (the writer's own test rows).
    const std::string prj = scratchDir("hls_sat") + "/prj";
    EXPECT_EQ(csimMismatches(g, prj, {}, 3000), 0u);
    // The build script runs every Vitis step, switchable like any network project's.
    const std::string tcl = readFile(prj + "/build_prj.tcl");
    for (const char* line : {"csim_design", "csynth_design", "cosim_design", "export_design"})
        EXPECT_NE(tcl.find(line), std::string::npos) << line << "\n" << tcl;
}

TEST(TreesBackends, VerilatorBitExactOnLibraryRows) {
    TREE_FIXTURES_OR_SKIP(dir);
    Matrix x = loadNpy(dir + "/X_test.npy");
    for (std::string model : {"xgb_binary", "xgb_multi"}) {
        const Graph g = configured(dir + "/" + model + ".json", "");
        const int latency = expectRtlsimBitExact(g, scratchDir("v_" + model) + "/prj", valuesOf(x.data, 2000, x.cols), -1);
        EXPECT_GE(latency, 1) << model;   // placed from the clock period
        EXPECT_LE(latency, 8) << model;
    }
}

TEST(TreesBackends, VerilatorBitExactForEveryPipelineDepthAndOverflowMode) {
    TREE_FIXTURES_OR_SKIP(dir);
    Matrix x = loadNpy(dir + "/X_test.npy");
    const TreeEmulator ref(readTreeModel(dir + "/skl_gb_multi.json"), config("ap_fixed<12,4>", "ap_fixed<12,4>"));
    // Rows on the split boundaries, as values of the input type.
    std::vector<double> rows;
    for (int64_t raw : boundaryRows(ref, 1000, 3)) rows.push_back(ref.config().input.toDouble(raw));
    rows.insert(rows.end(), x.data.begin(), x.data.begin() + std::ptrdiff_t(1000 * x.cols));
    struct Case { int pipeline; std::string score; };
    // WRAP (the default) is covered by the library-row test above. The network writer
    // places 0 (as -1) from the clock period and gives a one-stage request 2 cycles.
    for (const Case& cs : {Case{3, "ap_fixed<9,2,AP_TRN,AP_SAT>"}, Case{2, "ap_fixed<9,2,AP_RND,AP_SAT_SYM>"},
                           Case{5, "ap_ufixed<9,2,AP_TRN,AP_SAT_ZERO>"}}) {
        const Graph g = configured(dir + "/skl_gb_multi.json", treeYaml("ap_fixed<12,4>", cs.score));
        const int latency =
            expectRtlsimBitExact(g, scratchDir("v_pipe" + std::to_string(cs.pipeline)) + "/prj", rows, cs.pipeline);
        EXPECT_EQ(latency, cs.pipeline) << cs.score;
    }
}

TEST(TreesBackends, LookupTableEqualsEmulatorOnEveryAddress) {
    TREE_FIXTURES_OR_SKIP(dir);
    const std::string yaml = treeYaml("ap_fixed<4,2,AP_RND,AP_SAT>", "ap_fixed<12,4>", "ap_fixed<10,3>") +
                             "ProjectName: small_lut\n";
    const auto m = api::Model::load(dir + "/xgb_small4.json", api::yamlToJson(yaml + "LutMaxInputBits: 16\n", "<test>"));
    const std::string prj = scratchDir("lut") + "/prj";
    m->write(prj, "lut");
    // The ROM holds the emulator's output for every address...
    int64_t out = 0;
    const size_t words = forEachRomWord(prj + "/rtl/small_lut_rom.mem", [&](uint64_t a, uint64_t w) {
        m->emulator().runFixedRaw(romAddressInputs(a, 4, 4).data(), 1, &out);
        ASSERT_EQ(int64_t(w), out & 0xfff) << "address " << a;
    });
    EXPECT_EQ(words, 65536u);
    // ...and the Verilog wrapper reads it back on every address.
    const nlohmann::json j = nlohmann::json::parse(readFile(prj + "/tachyon_project.json"));
    EXPECT_EQ(j["latency_cycles"], 1);
    expectLutRtlsimReadsEveryWord(prj, words);
    // Too many input bits is a clear error naming the limit, and writes nothing.
    const auto narrow = m->withConfig(api::yamlToJson(yaml + "LutMaxInputBits: 12\n", "<test>"));
    try {
        narrow->write(scratchDir("lut_wide") + "/prj", "lut");
        ADD_FAILURE() << "16 input bits accepted under LutMaxInputBits 12";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("LutMaxInputBits = 12"), std::string::npos) << e.what();
    }
    EXPECT_FALSE(std::filesystem::exists(scratchDir("lut_wide") + "/prj"));
}

TEST(TreesCommands, PredictWriteAndConfigErrors) {
    TREE_FIXTURES_OR_SKIP(dir);
    const std::string d = scratchDir("commands");
    Matrix x = loadNpy(dir + "/X_test.npy"), ref = loadNpy(dir + "/xgb_multi_ref.npy");
    const auto plain = api::Model::load(dir + "/xgb_multi.json");
    EXPECT_TRUE(plain->isTree());
    std::vector<double> got(x.rows * 5);
    plain->predict(x.data.data(), x.rows, got.data(), /*floatMode=*/true);
    ASSERT_EQ(got.size(), ref.data.size());
    for (size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(got[i], ref.data[i], 1e-6);

    std::ofstream(d + "/cfg.yml") << "InputPrecision: ap_fixed<16,6>\nScorePrecision: ap_fixed<16,6,AP_RND,AP_SAT>\n"
                                     "Pipeline: 3\nProjectName: my_bdt\n";
    const auto fixed = api::Model::load(dir + "/xgb_multi.json", api::Json(d + "/cfg.yml"));
    fixed->predict(x.data.data(), x.rows, got.data(), false);
    for (double v : got) ASSERT_EQ(v, std::ldexp(std::round(std::ldexp(v, 10)), -10));  // on the 2^-10 grid

    const auto bench = api::Model::load(dir + "/bench_60x3.json", api::Json(d + "/cfg.yml"));
    bench->write(d + "/prj", "verilog");
    const nlohmann::json j = nlohmann::json::parse(readFile(d + "/prj/tachyon_project.json"));
    EXPECT_EQ(j["top"], "my_bdt");
    EXPECT_EQ(j["latency_cycles"], 3);   // Pipeline: 3 register stages
    EXPECT_TRUE(std::filesystem::exists(d + "/prj/" + j["rtl_files"][0].get<std::string>()));
    EXPECT_THROW(bench->write(d + "/prj2", "vhdl"), Error);

    std::ofstream(d + "/bad.yml") << "InputPrecision: ap_fixed<16,6>\nReuseFactor: [4]\n";
    try {
        (void)api::Model::load(dir + "/xgb_multi.json", api::Json(d + "/bad.yml"));
        ADD_FAILURE() << "a list as ReuseFactor accepted";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("ReuseFactor"), std::string::npos) << e.what();
    }
    std::ofstream(d + "/bad2.yml") << "ScorePrecision: ap_fixed<40,6>\n";
    EXPECT_THROW((void)api::Model::load(dir + "/xgb_multi.json", api::Json(d + "/bad2.yml")), Error);
    // The wrong number of features is the caller's to check (inputSize), as for any model.
    EXPECT_EQ(plain->inputSize(), readTreeModel(dir + "/xgb_multi.json").nFeatures);
}
