// Conformance with the configurations hls4ml writes: the files in tests/data/hls4ml_configs
// (hls4ml's exact layout at model, type and name granularity) load unchanged, their
// settings reach the IR, and the model converts and runs. Also: `auto` types, softmax
// options, non-power-of-two tables, the bundled header's width limit, tree templates.
#include "support/cli.h"
#include "support/error_of.h"
#include "backends/hls/HeaderLimits.h"
#include "backends/hls/HlsWriter.h"
#include "config/Config.h"
#include "emulator/Emulator.h"
#include "emulator/Tables.h"
#include "frontends/Frontend.h"
#include "passes/Pass.h"
#include "test_trees_fixtures.h"
#include "util/Error.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

using namespace tachyon;
namespace fs = std::filesystem;

using test_support::CliResult;
using test_support::errorOf;
using test_support::runCli;

namespace {

std::string dataFile(const std::string& name) {
    return std::string(TACHYON_SOURCE_DIR) + "/tests/data/hls4ml_configs/" + name;
}

// input_1 (8) -> fc1 (Dense 6) -> bn1 -> relu1 -> fc2 (Dense 4) -> softmax: the layer
// names the fixture files use.
Graph testModel() {
    std::mt19937_64 rng(11);
    std::normal_distribution<double> nd(0, 0.6);
    Graph g;
    g.name = "hls4ml_conformance";
    auto add = [&](Layer l) { g.layers.push_back(std::move(l)); };
    Layer in;
    in.name = "input_1";
    in.kind = LayerKind::Input;
    in.shape = {8};
    add(in);
    auto dense = [&](const std::string& name, const std::string& input, int nIn, int nOut) {
        Layer d;
        d.name = name;
        d.kind = LayerKind::Dense;
        d.inputs = {input};
        d.attrs = DenseAttrs{nIn, nOut};
        d.shape = {nOut};
        for (int k = 0; k < nIn * nOut; ++k) d.param("weight").push_back(nd(rng));
        for (int k = 0; k < nOut; ++k) d.param("bias").push_back(nd(rng));
        return d;
    };
    add(dense("fc1", "input_1", 8, 6));
    Layer bn;
    bn.name = "bn1";
    bn.kind = LayerKind::BatchNorm;
    bn.inputs = {"fc1"};
    bn.shape = {6};
    for (int k = 0; k < 6; ++k) {
        bn.param("scale").push_back(1.0 + nd(rng));
        bn.param("shift").push_back(nd(rng));
    }
    add(bn);
    Layer relu;
    relu.name = "relu1";
    relu.kind = LayerKind::Activation;
    relu.attrs = ActAttrs{ActKind::ReLU};
    relu.inputs = {"bn1"};
    relu.shape = {6};
    add(relu);
    add(dense("fc2", "relu1", 6, 4));
    Layer sm;
    sm.name = "softmax";
    sm.kind = LayerKind::Softmax;
    sm.inputs = {"fc2"};
    sm.shape = {4};
    add(sm);
    return g;
}

Graph converted(const Config& cfg) {
    Graph g = testModel();
    runPipeline(g, cfg);
    return g;
}

// Runs rows through the fixed-point emulator: the configuration is usable end to end.
void runRows(const Graph& g) {
    Emulator e(g);
    std::vector<double> x(8 * 64), y(4 * 64);
    std::vector<int64_t> raw(4 * 64);
    std::mt19937_64 rng(3);
    std::normal_distribution<double> nd(0, 2);
    for (double& v : x) v = nd(rng);
    e.runFixed(x.data(), 64, raw.data(), y.data());
    // Tachyon's softmax sums to 1 closely; hls4ml's (Implementation set explicitly) indexes
    // its inverse table by the top 10 bits of the sum, so it can be off by up to a quarter.
    const bool hls4ml = g.output().softmax.implementation != SoftmaxImpl::Tachyon;
    for (int r = 0; r < 64; ++r) {
        double s = 0;
        for (int k = 0; k < 4; ++k) s += y[size_t(r) * 4 + k];
        EXPECT_NEAR(s, 1.0, hls4ml ? 0.3 : 0.1) << "softmax row " << r;
    }
}

bool hasWarning(const Config& c, const std::string& text) {
    for (const auto& w : c.warnings)
        if (w.find(text) != std::string::npos) return true;
    return false;
}

}  // namespace

TEST(Hls4mlConfigs, EveryGranularityLoadsUnchangedAndRuns) {
    for (const char* file : {"model_granularity.yml", "type_granularity.yml", "name_granularity.yml", "legacy.yml"}) {
        SCOPED_TRACE(file);
        Config c = Config::load(dataFile(file));
        Graph g = converted(c);
        runRows(g);
    }
}

TEST(Hls4mlConfigs, ProjectKeysAreRecordedOrWarnedAbout) {
    Config m = Config::load(dataFile("model_granularity.yml"));
    EXPECT_EQ(m.clockUncertainty, "12.5%");
    EXPECT_EQ(m.backend, "Vivado");
    EXPECT_EQ(m.part, "xcvu13p-flga2577-2-e");
    EXPECT_TRUE(hasWarning(m, "WriterConfig")) << "WriterConfig only matters to hls4ml's writer";
    EXPECT_TRUE(hasWarning(m, "Stamp"));
    Graph g = converted(m);
    EXPECT_EQ(m.target().clockUncertainty, "12.5%");
    EXPECT_EQ(g.recorded.at("BramFactor"), "1000000000");

    Config legacy = Config::load(dataFile("legacy.yml"));
    EXPECT_EQ(legacy.part, "xcku115-flvb2104-2-i");  // XilinxPart, the old name of Part
    EXPECT_EQ(legacy.clockUncertainty, "0.5");
    EXPECT_FALSE(hasWarning(legacy, "LayerType.GarNet")) << "GarNet is a layer type of the IR";
    EXPECT_EQ(legacy.byType.at("GarNet").reuseFactor, 16);
    Graph l = converted(legacy);
    EXPECT_EQ(l.find("fc1")->schedule.parallelizationFactor, 2);
    EXPECT_EQ(l.find("fc2")->schedule.strategy, Strategy::DistributedArithmetic);
    // hls4ml's Distributed_Arithmetic sums exactly: the accumulator is the exact one.
    const Layer& fc2 = *l.find("fc2");
    EXPECT_EQ(fc2.type("accum"), autoAccumulator(fc2, l.find(fc2.input())->type("result")));

    Config t = Config::load(dataFile("type_granularity.yml"));
    EXPECT_EQ(t.backend, "Vitis");
    EXPECT_EQ(t.clockUncertainty, "27%");
}

TEST(Hls4mlConfigs, SoftmaxSettingsAreStored) {
    Graph g = converted(Config::load(dataFile("name_granularity.yml")));
    const Layer& sm = *g.find("softmax");
    EXPECT_EQ(sm.softmax.implementation, SoftmaxImpl::Stable);
    EXPECT_FALSE(sm.softmax.skip);
    EXPECT_EQ(sm.type("inv_inp").str(), "ap_fixed<18,8,AP_RND,AP_SAT>");
    EXPECT_EQ(sm.type("accum").str(), "ap_fixed<18,8,AP_RND,AP_SAT>");
    EXPECT_EQ(sm.type("exp_table").str(), "ap_fixed<18,8,AP_RND,AP_SAT>");
    EXPECT_EQ(sm.table.size, 1024);

    // Stored and emulated (hls4ml's softmax_latency; tests/test_softmax.cpp checks the bits).
    Graph lat = converted(Config::load(dataFile("softmax_latency.yml")));
    const Layer& ls = *lat.find("softmax");
    EXPECT_EQ(ls.softmax.implementation, SoftmaxImpl::Latency);
    EXPECT_EQ(ls.type("inv_inp").str(), "ap_fixed<18,4,AP_RND,AP_SAT>");
    EXPECT_EQ(ls.type("accum").str(), "ap_fixed<20,10,AP_RND,AP_SAT>");
    EXPECT_EQ(ls.table.size, 512);
    EXPECT_EQ(errorOf([&] { Emulator e(lat); }), "");

    for (const char* impl : {"argmax", "legacy", "Latency"}) {
        Config c = Config::parse(std::string("LayerName:\n  softmax:\n    Implementation: ") + impl + "\n", "cfg.yml");
        Graph h = converted(c);
        EXPECT_NE(h.find("softmax")->softmax.implementation, SoftmaxImpl::Stable);
        EXPECT_EQ(errorOf([&] { Emulator e(h); }), "") << impl;
    }
    // Without an Implementation key: hls4ml's stable softmax in a file hls4ml wrote (its
    // default), Tachyon's own softmax otherwise or with `Compatibility: tachyon`.
    EXPECT_EQ(converted(Config::load(dataFile("model_granularity.yml"))).find("softmax")->softmax.implementation, SoftmaxImpl::Stable);
    EXPECT_EQ(converted(Config::parse("Model:\n  Precision: ap_fixed<16,6>\n", "cfg.yml")).find("softmax")->softmax.implementation, SoftmaxImpl::Tachyon);
    EXPECT_EQ(converted(Config::parse("Backend: Vivado\nCompatibility: tachyon\n", "cfg.yml"))
                  .find("softmax")->softmax.implementation, SoftmaxImpl::Tachyon);
    Graph skip = converted(Config::parse("LayerName:\n  softmax:\n    Skip: true\n", "cfg.yml"));
    EXPECT_TRUE(skip.find("softmax")->softmax.skip);
    EXPECT_NE(errorOf([&] { Emulator e(skip); }).find("Skip"), std::string::npos);

    // The old spelling: `Strategy: Stable` on a softmax selects the stable implementation.
    Config legacy = Config::load(dataFile("legacy.yml"));
    Graph l = converted(legacy);
    EXPECT_EQ(l.find("softmax")->softmax.implementation, SoftmaxImpl::Stable);
    EXPECT_EQ(l.find("softmax")->schedule.strategy, Strategy::Latency);
}

TEST(Hls4mlConfigs, AutoTypesFollowTachyonsRule) {
    // fc1's result is `auto`, so hls4ml (and Tachyon's default fold_batchnorm) folds bn1.
    EXPECT_EQ(converted(Config::load(dataFile("name_granularity.yml"))).find("bn1"), nullptr);
    // Kept (FoldBatchNorm: never) to check the BatchNorm's own `auto` types.
    Config keepBn = Config::load(dataFile("name_granularity.yml"));
    keepBn.model.recorded["FoldBatchNorm"] = "never";
    keepBn.compatibility = Compatibility::Tachyon;   // the file is hls4ml's: ask for Tachyon's rule
    keepBn.weightQuantization = "tachyon";
    Graph g = converted(keepBn);
    ASSERT_NE(g.find("bn1"), nullptr);
    const FixedType def = FixedType::parse("ap_fixed<16,6>");
    // Input: the default precision (nothing to infer from).
    EXPECT_EQ(g.find("input_1")->type("result"), def);
    // Weights/biases/scales/shifts: the default's LSB, just enough integer bits.
    const Layer& fc1 = *g.find("fc1");
    for (const char* var : {"weight", "bias"}) {
        const FixedType t = fc1.type(var);
        EXPECT_EQ(t.frac(), def.frac()) << var;
        const auto& vals = std::string(var) == "weight" ? fc1.param("weight") : fc1.param("bias");
        bool needsTop = false;
        for (double v : vals) {
            CastStatus st;
            t.castDouble(v, &st);
            EXPECT_FALSE(st.overflow) << var << " " << v;
            // One integer bit fewer would overflow for some value: the type is tight.
            FixedType smaller = FixedType::fixed(t.width - 1, t.integer - 1, true);
            CastStatus s2;
            smaller.castDouble(v, &s2);
            needsTop = needsTop || s2.overflow;
        }
        EXPECT_TRUE(needsTop) << var << " " << t.str();
    }
    // Dense result: the accumulator (exact), so there is no second rounding.
    EXPECT_EQ(fc1.type("result"), fc1.type("accum"));
    // BatchNorm: hls4ml's `bias` is Tachyon's `shift`; result is exact x*scale+shift.
    const Layer& bn = *g.find("bn1");
    EXPECT_EQ(bn.type("shift").frac(), def.frac());
    EXPECT_EQ(bn.type("result").frac(), fc1.type("result").frac() + bn.type("scale").frac());
    // ReLU: the input type. Softmax: the default precision.
    EXPECT_EQ(g.find("relu1")->type("result"), bn.type("result"));
    EXPECT_EQ(g.find("softmax")->type("result"), def);
    // Model.Precision.maximum caps every inferred type (hls4ml: width and integer bits).
    for (const Layer& l : g.layers)
        for (const auto& [var, t] : l.precision) {
            EXPECT_LE(t.width, 40) << l.name << " " << var;
        }
    Graph capped = converted(Config::parse(
        "Model:\n  Precision: {default: 'ap_fixed<16,6>', maximum: 'ap_fixed<12,4>'}\n"
        "LayerName:\n  fc1:\n    Precision: {accum: auto, result: auto}\n",
        "cfg.yml"));
    EXPECT_LE(capped.find("fc1")->type("result").width, 12);
    EXPECT_LE(capped.find("fc1")->type("result").integer, 4);
}

TEST(Hls4mlConfigs, BatchNormBiasNamesTheShift) {
    Graph g = converted(Config::parse(
        "LayerName:\n  bn1:\n    Precision:\n      scale: ap_fixed<12,4>\n      bias: ap_fixed<10,3>\n", "cfg.yml"));
    EXPECT_EQ(g.find("bn1")->type("scale").str(), "ap_fixed<12,4>");
    EXPECT_EQ(g.find("bn1")->type("shift").str(), "ap_fixed<10,3>");
    // A Model-level `bias` still types the Dense biases.
    Graph h = converted(Config::parse("Model:\n  Precision:\n    default: ap_fixed<16,6>\n    bias: ap_fixed<9,2>\n"
                                      "LayerName:\n  bn1:\n    Trace: true\n",
                                      "cfg.yml"));
    EXPECT_EQ(h.find("fc1")->type("bias").str(), "ap_fixed<9,2>");
    EXPECT_EQ(h.find("bn1")->type("shift").str(), "ap_fixed<9,2>");
    EXPECT_TRUE(h.find("bn1")->trace);
}

TEST(Hls4mlConfigs, NonPowerOfTwoTableSizeIsRoundedUp) {
    Graph g = converted(Config::load(dataFile("legacy.yml")));
    const Layer& sm = *g.find("softmax");
    EXPECT_EQ(sm.table.size, 1000);
    EXPECT_NO_THROW(verify(g, true));
    SoftmaxTables t = buildSoftmaxTables(sm, g.find("fc2")->type("result"), 4);
    EXPECT_EQ(t.exp.size, 1024);  // next power of two (the key is a 14-bit shifted index)
    runRows(g);
    // Any size of 2 or more is accepted; below 2 is an error naming the key.
    EXPECT_NO_THROW(Config::parse("LayerName:\n  softmax:\n    TableSize: 600\n", "cfg.yml"));
    EXPECT_NE(errorOf([] { Config::parse("LayerName:\n  softmax:\n    TableSize: 1\n", "cfg.yml"); })
                  .find("LayerName.softmax.TableSize"),
              std::string::npos);
}

TEST(Hls4mlConfigs, BadValuesStillNameTheKey) {
    auto expectError = [](const std::string& yaml, const std::string& key) {
        std::string err = errorOf([&] { Config::parse(yaml, "cfg.yml"); });
        EXPECT_NE(err.find("cfg.yml"), std::string::npos) << yaml;
        EXPECT_NE(err.find(key), std::string::npos) << err;
    };
    expectError("LayerName:\n  softmax:\n    Implementation: fast\n", "LayerName.softmax.Implementation");
    expectError("LayerName:\n  softmax:\n    Skip: maybe\n", "LayerName.softmax.Skip");
    expectError("ClockUncertainty: soon\n", "ClockUncertainty");
    expectError("Part: a\nXilinxPart: b\n", "XilinxPart");
    expectError("Backend: Verilator\n", "Backend");
    expectError("LayerType:\n  Conv9D:\n    ReuseFactor: 2\n", "LayerType.Conv9D");
    expectError("Model:\n  BramFactor: lots\n", "Model.BramFactor");
    expectError("Model:\n  Precision:\n    default: auto\n", "Model.Precision.default");
    expectError("LayerName:\n  fc1:\n    ParallelizationFactor: 0\n", "LayerName.fc1.ParallelizationFactor");
    // Warned about, not refused.
    Config c = Config::parse("Backend: Quartus\nHLSConfig:\n  SkipOptimizers: [fuse_batch_normalization]\n", "cfg.yml");
    EXPECT_TRUE(hasWarning(c, "Backend"));
    EXPECT_TRUE(hasWarning(c, "HLSConfig.SkipOptimizers"));
}

TEST(Hls4mlConfigs, ClockUncertaintyReachesTheBuildScript) {
    const Config cfg = Config::load(dataFile("model_granularity.yml"));
    Graph g = converted(cfg);
    Emulator e(g);
    const fs::path dir = fs::path(TACHYON_BINARY_DIR) / "hls4ml_config_prj";
    fs::remove_all(dir);
    hls::HlsOptions opt;
    opt.target = cfg.target();
    opt.testRows = 4;
    hls::writeProject(g, e, dir.string(), opt);
    std::ifstream in(dir / "build_prj.tcl");
    std::stringstream ss;
    ss << in.rdbuf();
    EXPECT_NE(ss.str().find("set_clock_uncertainty 12.5% default"), std::string::npos) << ss.str();
    fs::remove_all(dir);
}

TEST(HlsHeaderWidths, WideBatchNormIsRefusedAtConvertNamingLayerAndType) {
    const std::string wide = "Model:\n  Precision: ap_fixed<64,32>\nLayerName:\n  bn1:\n    Precision: ap_fixed<64,32>\n";
    Graph g = converted(Config::parse(wide, "cfg.yml"));
    std::string err = errorOf([&] { checkHeaderWidths(g); });
    EXPECT_NE(err.find("'bn1'"), std::string::npos) << err;
    EXPECT_NE(err.find("ap_fixed<64,32>"), std::string::npos) << err;
    EXPECT_NE(err.find("129-bit"), std::string::npos) << err;
    // writeProject refuses before writing anything.
    Emulator e(g);
    const fs::path dir = fs::path(TACHYON_BINARY_DIR) / "hls_wide_bn_prj";
    fs::remove_all(dir);
    EXPECT_THROW(hls::writeProject(g, e, dir.string(), hls::HlsOptions{}), Error);
    EXPECT_FALSE(fs::exists(dir / "build_prj.tcl"));
    // 32-bit types need at most 65 bits: accepted.
    Graph ok = converted(Config::parse("Model:\n  Precision: ap_fixed<32,16>\nLayerName:\n  bn1:\n    Trace: true\n", "cfg.yml"));
    EXPECT_NO_THROW(checkHeaderWidths(ok));
    // The UG1399 result types used for the check.
    const FixedType a = FixedType::parse("ap_fixed<64,32>");
    EXPECT_EQ(exactProductType(a, a).width, 128);
    EXPECT_EQ(exactSumType(exactProductType(a, a), a).width, 129);
    EXPECT_EQ(exactSumType(FixedType::parse("ap_ufixed<8,4>"), FixedType::parse("ap_fixed<8,4>")).integer, 6);
}

TEST(TreeConfigTemplate, RoundTripsThroughTheConfig) {
    const std::string dir = trees::testing::treeFixtures();
    if (dir.empty()) GTEST_SKIP() << "tree fixtures unavailable";
    // A tree file's template is its tree keys; read back by the normal Config, it gives the
    // layers the types a configuration without it gives them.
    const Graph raw = loadModel(dir + "/xgb_binary.json");
    ASSERT_TRUE(isTreeModel(raw));
    const std::string text = configTemplate(raw, Granularity::Name);
    EXPECT_NE(text.find("InputPrecision:"), std::string::npos) << text;
    Graph fromTemplate = raw, plain = raw;
    const Config c = Config::parse(text, "<template>");
    runPipeline(fromTemplate, c);
    runPipeline(plain, Config::parse("ProjectName: tachyon_bdt\n", "<plain>"));
    for (size_t i = 0; i < raw.layers.size(); ++i)
        EXPECT_EQ(fromTemplate.layers[i].precision, plain.layers[i].precision) << raw.layers[i].name;
    EXPECT_EQ(c.projectName, "tachyon_bdt");
    EXPECT_EQ(c.treePipeline, -1);
    EXPECT_EQ(c.lutMaxInputBits, 20);
    EXPECT_FALSE(isTreeModel(Graph{}));
}

TEST(TreeConfigTemplate, ConfigCommandWorksOnXgboostJson) {
    const std::string dir = trees::testing::treeFixtures();
    if (dir.empty()) GTEST_SKIP() << "tree fixtures unavailable";
    const CliResult r = runCli("config " + dir + "/xgb_binary.json");
    const std::string& out = r.output;
    EXPECT_EQ(r.status, 0) << out;
    EXPECT_NE(out.find("InputPrecision:"), std::string::npos) << out;
    EXPECT_NE(out.find("ScorePrecision:"), std::string::npos) << out;
    EXPECT_EQ(out.find("Keras"), std::string::npos) << out;
}
