// Issue 27's last front-door items: `tachyon csim|rtlsim PRJ -i X.npy` compare an existing
// project on the user's rows; `convert` is the API's Model::write (the path Python's
// write_hls takes), not a write path of the CLI's own; `config -g` templates choose
// accumulators that cannot wrap.
#include "support/zoo.h"
#include "support/cli.h"
#include "config/Config.h"
#include "emulator/Emulator.h"
#include "frontends/Frontend.h"
#include "passes/Pass.h"
#include "util/Npy.h"
#include "util/Process.h"

#include "test_files.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

namespace fs = std::filesystem;
using namespace tachyon;

using test_support::CliResult;
using test_support::runCliArgs;

namespace {

const std::string kShared = test_support::zooDir();

bool contains(const std::string& s, const std::string& needle) { return s.find(needle) != std::string::npos; }

// A folder with the example model (m.onnx), its rows (x.npy) and 7 of them (x7.npy).
class FrontDoor : public ::testing::Test {
protected:
    fs::path dir;
    size_t cols = 0;
    std::vector<double> x7;
    void SetUp() override {
        const fs::path example = fs::path(TACHYON_BINARY_DIR) / "cli_test";
        ASSERT_TRUE(fs::exists(example / "jet_tagger.onnx")) << "run the make_fixtures test first";
        dir = freshTestDir("front_door_test", ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::copy_file(example / "jet_tagger.onnx", dir / "m.onnx");
        size_t rows = 0;
        const std::vector<double> x = readNpy((example / "jet_tagger_X.npy").string(), rows, cols);
        // Rows far from the random test vectors': the first 7, scaled so that layers saturate.
        x7.assign(x.begin(), x.begin() + long(7 * cols));
        for (size_t k = 0; k < x7.size(); ++k) x7[k] *= k % 3 == 0 ? 40.0 : 1.0;
        writeRows("x7.npy", x7, cols);
    }
    void writeRows(const std::string& name, const std::vector<double>& x, size_t columns) const {
        NpyWriter w((dir / name).string(), x.size() / columns, columns);
        w.write(x.data(), x.size() / columns);
        w.close();
    }
    void expectRefused(const std::vector<std::string>& args, const std::string& needle) const {
        const CliResult r = runCliArgs(dir, args);
        EXPECT_EQ(r.status, 1) << r.output;
        EXPECT_TRUE(contains(r.output, needle)) << "wanted: " << needle << "\n" << r.output;
    }
};

}  // namespace

TEST_F(FrontDoor, CsimOfAnExistingProjectOnTheUsersRows) {
    CliResult r = runCliArgs(dir, {"convert", "m.onnx", "-o", "prj"});   // 1,000 random test rows
    ASSERT_EQ(r.status, 0) << r.output;
    ASSERT_TRUE(fs::exists(dir / "prj" / "tachyon_source.json"));
    const std::string ownVectors = readFile(dir / "prj" / "tb_data" / "input_raw.dat");

    r = runCliArgs(dir, {"csim", "prj", "-i", "x7.npy"});
    EXPECT_EQ(r.status, 0) << r.output;
    EXPECT_TRUE(contains(r.output, ": 7 rows, 0 mismatches")) << r.output;
    EXPECT_TRUE(contains(r.output, "x7.npy")) << r.output;
    // The project itself is left as it was: its own vectors still serve a plain csim.
    EXPECT_EQ(readFile(dir / "prj" / "tb_data" / "input_raw.dat"), ownVectors);
    r = runCliArgs(dir, {"csim", "prj"});
    EXPECT_TRUE(contains(r.output, ": 1000 rows, 0 mismatches")) << r.output;
    // The rows the user gave, not the project's: the same rows through convert --tb-input
    // give the same expected outputs as csim -i compared against.
    r = runCliArgs(dir, {"convert", "m.onnx", "--tb-input", "x7.npy", "-o", "prj7"});
    ASSERT_EQ(r.status, 0) << r.output;
    r = runCliArgs(dir, {"csim", "prj7"});
    EXPECT_TRUE(contains(r.output, ": 7 rows, 0 mismatches")) << r.output;
}

TEST_F(FrontDoor, CsimOnRowsRefusesWhatItCannotCompare) {
    ASSERT_EQ(runCliArgs(dir, {"convert", "m.onnx", "-o", "prj"}).status, 0);
    // Wrong width, no rows, NaN: errors naming the file.
    writeRows("x3.npy", std::vector<double>(3 * 3, 0.5), 3);
    expectRefused({"csim", "prj", "-i", "x3.npy"}, "x3.npy: -i: has 3 columns but the model takes");
    std::vector<double> nan = x7;
    nan[5] = std::nan("");
    writeRows("nan.npy", nan, cols);
    expectRefused({"csim", "prj", "-i", "nan.npy"}, "nan.npy: -i:");
    expectRefused({"csim", "prj", "-i", "missing.npy"}, "missing.npy: -i: file not found");
    // A design that is no longer what the model generates (edited, or the model changed):
    // its outputs would be compared with another design's numbers, so it is refused.
    fs::path weights;
    for (const auto& e : fs::directory_iterator(dir / "prj" / "firmware" / "weights")) weights = e.path();
    ASSERT_FALSE(weights.empty());
    std::ofstream(weights, std::ios::app) << "\n// edited\n";
    expectRefused({"csim", "prj", "-i", "x7.npy"}, "is not what");
    // A project that does not record its model (an older tachyon wrote it).
    ASSERT_EQ(runCliArgs(dir, {"convert", "m.onnx", "-o", "old"}).status, 0);
    fs::remove(dir / "old" / "tachyon_source.json");
    expectRefused({"csim", "old", "-i", "x7.npy"}, "does not say which model");
    // The other simulator's project.
    expectRefused({"rtlsim", "old", "-i", "x7.npy"}, "a Verilog project needs it");
}

TEST_F(FrontDoor, RtlsimOfAnExistingProjectOnTheUsersRows) {
    // Narrow types keep the design (and Verilator's build) small; the configuration is a
    // file, which the project records and csim/rtlsim -i read again.
    std::ofstream(dir / "narrow.yml") << "Model:\n  Precision: ap_fixed<6,3>\n  ReuseFactor: 1\n";
    CliResult r = runCliArgs(dir, {"convert", "m.onnx", "-c", "narrow.yml", "-b", "verilog", "-o", "v"});
    ASSERT_EQ(r.status, 0) << r.output;
    r = runCliArgs(dir, {"rtlsim", "v", "-i", "x7.npy"});
    EXPECT_EQ(r.status, 0) << r.output;
    EXPECT_TRUE(contains(r.output, "rtlsim: 7 rows, 0 mismatches")) << r.output;
}

TEST(FrontDoorSource, ConvertWritesOnlyThroughTheApi) {
    // tools/main.cpp parses, calls src/api and prints: no backend writer, tree converter or
    // project output of its own (Model::write owns those, for the CLI and Python alike).
    const std::string main = readFile(fs::path(TACHYON_SOURCE_DIR) / "tools" / "main.cpp");
    ASSERT_FALSE(main.empty());
    for (const char* own : {"writeProject(", "trees::convert(", "OutputKind::Project", "checkProjectName("})
        EXPECT_FALSE(contains(main, own)) << "tools/main.cpp has its own `" << own << "`";
    EXPECT_TRUE(contains(main, "->write(o.out, opt"));
}

TEST(FrontDoorTemplates, ConfigTemplatesChooseAccumulatorsThatCannotWrap) {
    ZOO_OR_SKIP();
    std::vector<std::string> models;
    for (const char* sub : {"keras", "onnx"})
        for (const auto& e : fs::directory_iterator(kShared + "/" + sub)) {
            const std::string f = e.path().filename().string();
            if (f.size() > 11 && f.substr(f.size() - 11) == "_weights.h5") continue;
            models.push_back(e.path().string());
        }
    std::sort(models.begin(), models.end());
    const int rows = 64;
    uint64_t valuesSeen = 0;
    for (const std::string& m : models) {
        SCOPED_TRACE(m);
        const Graph raw = loadModel(m);
        bool garnet = false;
        for (const Layer& l : raw.layers) garnet = garnet || l.kind == LayerKind::GarNet;
        // Inputs near the edges of ap_fixed<16,6> (|x| < 32), where 16-bit sums wrap; GarNet's
        // second input is a vertex count, kept small and valid.
        std::mt19937_64 rng(7);
        std::uniform_real_distribution<double> ud(garnet ? 0.0 : -31.0, garnet ? 3.0 : 31.0);
        std::vector<double> x(size_t(raw.inputSize()) * rows);
        for (double& v : x) v = garnet ? std::floor(ud(rng)) : ud(rng);
        for (Granularity gr : {Granularity::Model, Granularity::Type, Granularity::Name}) {
            Graph g = raw;
            runPipeline(g, Config::parse(configTemplate(raw, gr), "template.yml"));
            Emulator e(g);
            std::vector<double> y(size_t(g.outputSize()) * rows);
            std::vector<int64_t> rawOut(y.size());
            std::vector<LayerStats> stats;
            e.runFixed(x.data(), rows, rawOut.data(), y.data(), &stats);
            for (const LayerStats& s : stats) {
                valuesSeen += s.values;
                // GarNet counts casts into its own intermediate types (hls4ml's aggregator and
                // constant types, docs/semantics.md), which no `accum` key configures.
                if (g.find(s.layer) && g.find(s.layer)->kind == LayerKind::GarNet) continue;
                EXPECT_EQ(s.accumOverflows, 0u) << "granularity " << int(gr) << ", layer " << s.layer;
            }
        }
    }
    EXPECT_GE(models.size(), 21u);
    EXPECT_GT(valuesSeen, 0u);
    // Tachyon's defaults (no configuration) keep ap_fixed<16,6>: the same inputs wrap there,
    // which is what the templates avoid.
    Graph g = loadModel(kShared + "/keras/KERAS_3layer.json");
    runPipeline(g, Config::defaults());
    Emulator e(g);
    std::vector<double> x(size_t(g.inputSize()) * rows, 31.0), y(size_t(g.outputSize()) * rows);
    std::vector<int64_t> rawOut(y.size());
    std::vector<LayerStats> stats;
    e.runFixed(x.data(), rows, rawOut.data(), y.data(), &stats);
    uint64_t wrapped = 0;
    for (const LayerStats& s : stats) wrapped += s.accumOverflows;
    EXPECT_GT(wrapped, 0u);
}

TEST(FrontDoorTemplates, ConfigCommandWritesExactAccumulators) {
    const fs::path example = fs::path(TACHYON_BINARY_DIR) / "cli_test" / "jet_tagger.onnx";
    ASSERT_TRUE(fs::exists(example)) << "run the make_fixtures test first";
    for (const char* gr : {"model", "type", "name"}) {
        const CliResult r = runCliArgs(fs::path(TACHYON_BINARY_DIR), {"config", example.string(), "-g", gr});
        ASSERT_EQ(r.status, 0) << r.output;
        EXPECT_TRUE(contains(r.output, "accum: auto")) << gr << "\n" << r.output;
        EXPECT_FALSE(contains(r.output, "accum: ap_fixed<16,6>")) << gr << "\n" << r.output;
    }
}
