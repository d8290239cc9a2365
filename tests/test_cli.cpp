// The tachyon command line: the main jobs work end to end, and bad input gives a clear
// error, exit status 1 and no output file.
#include "support/onnx_mlp.h"
#include "support/cli.h"
#include "util/Npy.h"
#include "support/long_tests.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>

namespace fs = std::filesystem;

using test_support::CliResult;
using test_support::runCli;

using test_support::writeRandomMlpOnnx;

namespace {

class Cli : public ::testing::Test {
protected:
    static fs::path dir;
    static void SetUpTestSuite() {
        dir = fs::path(TACHYON_BINARY_DIR) / "cli_test";
        fs::create_directories(dir);
        if (!fs::exists(dir / "jet_tagger.onnx")) {
            std::string cmd = "/usr/bin/python3 " TACHYON_SOURCE_DIR "/examples/make_jet_tagger.py " + dir.string() +
                              " > /dev/null";
            ASSERT_EQ(std::system(cmd.c_str()), 0) << "could not build the example model";
        }
    }
    std::string model() const { return (dir / "jet_tagger.onnx").string(); }
    std::string cfg() const { return TACHYON_SOURCE_DIR "/examples/jet_tagger.yml"; }
    void expectFailure(const std::string& args, const std::string& mention, const fs::path& notCreated) {
        fs::remove_all(notCreated);
        CliResult r = runCli(args);
        EXPECT_EQ(r.status, 1) << r.output;
        EXPECT_NE(r.output.find("error"), std::string::npos) << r.output;
        EXPECT_NE(r.output.find(mention), std::string::npos) << r.output;
        EXPECT_FALSE(fs::exists(notCreated)) << notCreated;
        for (auto& e : fs::directory_iterator(notCreated.parent_path()))
            EXPECT_EQ(e.path().filename().string().rfind(".tmp-", 0), std::string::npos) << "left " << e.path();
    }
};
fs::path Cli::dir;

}  // namespace

TEST_F(Cli, InfoConfigPredict) {
    // Tachyon refuses to overwrite files without --force: start from an empty folder.
    const fs::path out = dir / "info_config_predict";
    fs::remove_all(out);
    fs::create_directories(out);
    CliResult info = runCli("info " + model() + " -c " + cfg());
    ASSERT_EQ(info.status, 0) << info.output;
    EXPECT_NE(info.output.find("Dense 16->64"), std::string::npos) << info.output;
    EXPECT_NE(info.output.find("accum: ap_fixed<"), std::string::npos);
    // Which defaults are in force (docs/config.md, "Compatibility").
    EXPECT_NE(info.output.find("defaults: Tachyon defaults"), std::string::npos) << info.output;

    CliResult tpl = runCli("config " + model() + " -g name -o " + (out / "tpl.yml").string());
    ASSERT_EQ(tpl.status, 0) << tpl.output;
    CliResult again = runCli("info " + model() + " -c " + (out / "tpl.yml").string());
    EXPECT_EQ(again.status, 0) << again.output;

    const std::string x = (dir / "jet_tagger_X.npy").string();
    CliResult pf = runCli("predict " + model() + " -c " + cfg() + " -i " + x + " -o " + (out / "yf.npy").string() + " --float");
    ASSERT_EQ(pf.status, 0) << pf.output;
    CliResult pq = runCli("predict " + model() + " -c " + cfg() + " -i " + x + " -o " + (out / "yq.npy").string() +
                    " --trace " + (out / "trace").string() + " -j 2");
    ASSERT_EQ(pq.status, 0) << pq.output;
    EXPECT_NE(pq.output.find("overflow summary"), std::string::npos);
    size_t r1, c1, r2, c2, r3, c3;
    auto yf = tachyon::readNpy((out / "yf.npy").string(), r1, c1);
    auto yq = tachyon::readNpy((out / "yq.npy").string(), r2, c2);
    auto yt = tachyon::readNpy((dir / "jet_tagger_Y.npy").string(), r3, c3);
    ASSERT_EQ(r1, 1000u);
    ASSERT_EQ(c1, 5u);
    for (size_t k = 0; k < yf.size(); ++k) EXPECT_NEAR(yf[k], yt[k], 1e-9);  // float mode = PyTorch
    size_t agree = 0;
    for (size_t r = 0; r < r1; ++r) {
        auto a = std::max_element(yf.begin() + long(r * 5), yf.begin() + long(r * 5 + 5)) - yf.begin();
        auto b = std::max_element(yq.begin() + long(r * 5), yq.begin() + long(r * 5 + 5)) - yq.begin();
        agree += a == b;
    }
    EXPECT_GT(agree, 950u);
    // The trace has every layer, and its last layer is the output.
    size_t files = 0, matches = 0;
    EXPECT_TRUE(fs::exists(out / "trace" / "tachyon_trace.json"));
    for (auto& e : fs::directory_iterator(out / "trace")) {
        if (e.path().extension() != ".npy") continue;
        size_t tr, tc;
        auto t = tachyon::readNpy(e.path().string(), tr, tc);
        EXPECT_EQ(tr, 1000u);
        ++files;
        matches += t == yq;
    }
    EXPECT_GE(files, 5u);
    EXPECT_EQ(matches, 1u);
    // CSV in and out.
    {
        std::ofstream csv(out / "x.csv");
        for (int r = 0; r < 3; ++r)
            for (int c = 0; c < 16; ++c) csv << 0.1 * (r + c) << (c == 15 ? "\n" : ",");
    }
    CliResult pc = runCli("predict " + model() + " -i " + (out / "x.csv").string() + " -o " + (out / "y.csv").string());
    ASSERT_EQ(pc.status, 0) << pc.output;
    size_t cr, cc;
    tachyon::readCsv((out / "y.csv").string(), cr, cc);
    EXPECT_EQ(cr, 3u);
    EXPECT_EQ(cc, 5u);
}

TEST_F(Cli, BadInputsFailCleanly) {
    // Outputs go to a folder of this test's own, so that ctest running the other CLI
    // tests at the same time cannot leave temporary files where this one looks.
    const fs::path bad = dir / "bad_inputs";
    fs::remove_all(bad);
    fs::create_directories(bad);
    const fs::path out = bad / "out.npy";
    const std::string x = (dir / "jet_tagger_X.npy").string();
    expectFailure("predict /nonexistent/model.onnx -i " + x + " -o " + out.string(), "/nonexistent/model.onnx", out);
    // Truncated and garbage model files.
    {
        std::ifstream in(model(), std::ios::binary);
        std::string bytes((std::istreambuf_iterator<char>(in)), {});
        std::ofstream(dir / "truncated.onnx", std::ios::binary) << bytes.substr(0, bytes.size() / 2);
        std::mt19937_64 rng(1);
        std::string junk(5000, '\0');
        for (char& c : junk) c = char(rng());
        std::ofstream(dir / "garbage.onnx", std::ios::binary) << junk;
    }
    expectFailure("predict " + (dir / "truncated.onnx").string() + " -i " + x + " -o " + out.string(), "truncated.onnx", out);
    expectFailure("predict " + (dir / "garbage.onnx").string() + " -i " + x + " -o " + out.string(), "garbage.onnx", out);
    // A config with a misspelt key names the key.
    std::ofstream(dir / "bad.yml") << "Model:\n  Precision: ap_fixed<16,6>\n  ReuseFactr: 2\n";
    expectFailure("predict " + model() + " -c " + (dir / "bad.yml").string() + " -i " + x + " -o " + out.string(),
                  "Model.ReuseFactr", out);
    std::ofstream(dir / "badtype.yml") << "LayerName:\n  fc9:\n    Precision: ap_fixed<16,6>\n";
    expectFailure("predict " + model() + " -c " + (dir / "badtype.yml").string() + " -i " + x + " -o " + out.string(),
                  "fc9", out);
    // Wrong number of input columns.
    {
        std::vector<double> wrong(10 * 7, 0.5);
        tachyon::writeNpy((dir / "wrong.npy").string(), wrong.data(), 10, 7);
    }
    expectFailure("predict " + model() + " -i " + (dir / "wrong.npy").string() + " -o " + out.string(), "7 columns", out);
    // Truncated input data.
    {
        std::ifstream in(x, std::ios::binary);
        std::string bytes((std::istreambuf_iterator<char>(in)), {});
        std::ofstream(dir / "short.npy", std::ios::binary) << bytes.substr(0, bytes.size() - 100);
    }
    expectFailure("predict " + model() + " -i " + (dir / "short.npy").string() + " -o " + out.string(), "short.npy", out);
    // A convert that fails leaves no project directory.
    const fs::path prj = bad / "prj_fail";
    expectFailure("convert " + (dir / "garbage.onnx").string() + " -o " + prj.string(), "garbage.onnx", prj);
}

// `report` on a small design: Yosys runs, and the timing is cut at the registers, one
// worst path per pipeline stage (the last one ends at the output port).
TEST_F(Cli, ReportGivesRegisterToRegisterTimingPerStage) {
    if (std::system("command -v yosys > /dev/null 2>&1") != 0) GTEST_SKIP() << "yosys not installed";
    const fs::path d = dir / "report_timing";
    fs::remove_all(d);
    fs::create_directories(d);
    writeRandomMlpOnnx(d / "small.onnx", 6, 8, 3, 3, 1.0);
    if (HasFatalFailure()) return;
    { std::ofstream(d / "c.yml") << "RegisterInputs: true\nModel:\n  Precision: ap_fixed<8,3>\n  ReuseFactor: 1\n"; }
    CliResult c = runCli("convert " + (d / "small.onnx").string() + " -c " + (d / "c.yml").string() + " -o " + (d / "prj").string() +
                   " --backend verilog --stages 3");
    ASSERT_EQ(c.status, 0) << c.output;
    CliResult r = runCli("report " + (d / "prj").string());
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_NE(r.output.find("timing (estimate, no placement"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("SRLs"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("CARRY4"), std::string::npos) << r.output;
    // One line per stage, numbered from 1 without gaps, each with its cell counts.
    int stages = 0;
    std::istringstream is(r.output);
    for (std::string line; std::getline(is, line);) {
        int s = 0, cells = 0, luts = 0, carries = 0, muxes = 0;
        double ns = 0;
        if (std::sscanf(line.c_str(), "  stage %d %d cells (%d LUT, %d carry, %d MUXF) ~%lf ns", &s, &cells, &luts, &carries,
                        &muxes, &ns) == 6) {
            EXPECT_EQ(s, stages + 1) << line;
            EXPECT_EQ(cells, luts + carries + muxes) << line;
            EXPECT_GT(ns, 0.0) << line;
            // The input bus is registered before any logic (RegisterInputs); every stage
            // shows the scheduler's estimate next to the measured path.
            if (s == 1) EXPECT_EQ(cells, 0) << line;
            EXPECT_NE(line.find("(scheduler ~"), std::string::npos) << line;
            ++stages;
        }
    }
    EXPECT_GE(stages, 3) << r.output;  // 3 register stages, then the output port
    EXPECT_NE(r.output.find("worst: "), std::string::npos) << r.output;
    // Shift-add adders per layer, with CSE and CSD-only.
    EXPECT_NE(r.output.find("shift-add adders per layer"), std::string::npos) << r.output;
    for (const char* layer : {"fc1", "fc2"}) {
        const size_t at = r.output.find(std::string("  ") + layer + " ");
        ASSERT_NE(at, std::string::npos) << r.output;
        const std::string line = r.output.substr(at, r.output.find('\n', at) - at);
        EXPECT_NE(line.find(" CSE ("), std::string::npos) << line;
        EXPECT_NE(line.find(" CSD-only ("), std::string::npos) << line;
    }
    EXPECT_FALSE(fs::exists(d / "prj" / "synth" / "netlist.json"));
}

// The pipeliner places its registers from a delay model calibrated against the paths
// `report` measures on Yosys' netlist (docs/verilog.md, "Calibration"): with the clock as
// the only target, every stage of a shift-add design it placed must meet that clock by
// the same measure. The design has what made the uncalibrated model miss: 16-bit inputs
// that fan out to a whole layer, deep adder trees from 6-bit weights, a ReLU cast.
TEST_F(Cli, PipelinedStagesMeetTheClockBySynthesisEstimate) {
    LONG_TEST_OR_SKIP();
    if (std::system("command -v yosys > /dev/null 2>&1") != 0) GTEST_SKIP() << "yosys not installed";
    const fs::path d = dir / "report_meets_clock";
    fs::remove_all(d);
    fs::create_directories(d);
    writeRandomMlpOnnx(d / "mlp.onnx", 16, 24, 5);
    if (HasFatalFailure()) return;
    {
        std::ofstream(d / "c.yml") << "ClockPeriod: 5\nModel:\n  Precision: ap_fixed<16,6,AP_RND,AP_SAT>\n  ReuseFactor: 1\n"
                                      "LayerType:\n  Dense:\n    Precision:\n      weight: ap_fixed<6,1>\n"
                                      "      bias: ap_fixed<6,1>\n      accum: auto\n      result: ap_fixed<10,4,AP_RND,AP_SAT>\n";
    }
    CliResult c = runCli("convert " + (d / "mlp.onnx").string() + " -c " + (d / "c.yml").string() + " -o " + (d / "prj").string() +
                   " --backend verilog");
    ASSERT_EQ(c.status, 0) << c.output;
    CliResult r = runCli("report " + (d / "prj").string());
    ASSERT_EQ(r.status, 0) << r.output;
    int stages = 0, logicStages = 0, emptyStages = 0;
    std::istringstream is(r.output);
    for (std::string line; std::getline(is, line);) {
        int s = 0, cells = 0, luts = 0, carries = 0, muxes = 0;
        double ns = 0;
        if (std::sscanf(line.c_str(), "  stage %d %d cells (%d LUT, %d carry, %d MUXF) ~%lf ns", &s, &cells, &luts, &carries,
                        &muxes, &ns) != 6)
            continue;
        ++stages;
        if (luts >= 4) ++logicStages;
        if (cells == 0) ++emptyStages;
        EXPECT_LE(ns, 5.0) << line;
    }
    EXPECT_GE(logicStages, 2) << r.output;   // the adder trees were cut, not fitted into one stage
    // No register stage without logic (no RegisterInputs): only the output registers'
    // paths to the output port are empty.
    EXPECT_EQ(emptyStages, 1) << r.output;
    EXPECT_GE(stages, 4) << r.output;
    EXPECT_NE(r.output.find("against a 5 ns clock\n"), std::string::npos) << r.output;
    EXPECT_EQ(r.output.find("MAY NOT MEET TIMING"), std::string::npos) << r.output;
}
