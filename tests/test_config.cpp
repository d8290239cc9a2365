// Configuration parsing (hls4ml keys, errors that name the key) and the passes.
#include "config/Config.h"
#include "emulator/Emulator.h"
#include "passes/Pass.h"
#include "util/Error.h"

#include <gtest/gtest.h>

#include <random>

using namespace tachyon;

namespace {

Graph chain(bool withBn, ActKind act = ActKind::ReLU) {
    std::mt19937_64 rng(5);
    std::normal_distribution<double> nd(0, 0.5);
    Graph g;
    g.name = "chain";
    Layer in;
    in.name = "input_1";
    in.kind = LayerKind::Input;
    in.shape = {8};
    g.layers.push_back(in);
    Layer d;
    d.name = "fc1";
    d.kind = LayerKind::Dense;
    d.inputs = {"input_1"};
    d.attrs = DenseAttrs{8, 6};
    d.shape = {6};
    for (int k = 0; k < 48; ++k) d.param("weight").push_back(nd(rng));
    for (int k = 0; k < 6; ++k) d.param("bias").push_back(nd(rng));
    g.layers.push_back(d);
    std::string prev = "fc1";
    if (withBn) {
        Layer bn;
        bn.name = "bn1";
        bn.kind = LayerKind::BatchNorm;
        bn.inputs = {"fc1"};
        bn.shape = {6};
        for (int k = 0; k < 6; ++k) {
            bn.param("scale").push_back(1.0 + nd(rng));
            bn.param("shift").push_back(nd(rng));
        }
        g.layers.push_back(bn);
        prev = "bn1";
    }
    Layer a;
    a.name = "fc1_relu";
    a.kind = LayerKind::Activation;
    a.attrs = ActAttrs{act};
    a.inputs = {prev};
    a.shape = {6};
    g.layers.push_back(a);
    return g;
}

void expectError(const std::string& yaml, const std::string& mustContain) {
    try {
        Config::parse(yaml, "cfg.yml");
        ADD_FAILURE() << "accepted:\n" << yaml;
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find(mustContain), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("cfg.yml"), std::string::npos) << e.what();
    }
}

}  // namespace

TEST(Config, Hls4mlFileLayoutAndPrecedence) {
    Config c = Config::parse(R"(
KerasJson: model.json
Backend: Vivado
Part: xcvu9p-flga2577-2-e
ClockPeriod: 3.125
IOType: io_stream
HLSConfig:
  Model:
    Precision: ap_fixed<16,6>
    ReuseFactor: 2
    Strategy: Resource
  LayerType:
    Dense:
      Precision:
        weight: ap_fixed<8,2>
  LayerName:
    fc1:
      Precision:
        result: ap_fixed<12,4,AP_RND,AP_SAT>
        accum: auto
      ReuseFactor: 4
    softmax:
      exp_table_t: ap_fixed<18,8>
      table_size: 1024
)",
                             "cfg.yml");
    EXPECT_EQ(c.part, "xcvu9p-flga2577-2-e");
    EXPECT_DOUBLE_EQ(c.clockPeriodNs, 3.125);
    EXPECT_EQ(c.ioType, "io_stream");
    Layer fc1;
    fc1.name = "fc1";
    fc1.kind = LayerKind::Dense;
    LayerConfig r = c.resolve(fc1);
    EXPECT_EQ(r.precision.at("weight"), "ap_fixed<8,2>");
    EXPECT_EQ(r.precision.at("result"), "ap_fixed<12,4,AP_RND,AP_SAT>");
    // A file with hls4ml's project keys gets hls4ml's defaults: its `auto` is hls4ml's rule.
    EXPECT_EQ(c.compatibility, Compatibility::Hls4ml);
    EXPECT_EQ(r.precision.at("accum"), "auto_hls4ml");
    EXPECT_EQ(*r.reuseFactor, 4);
    EXPECT_EQ(*r.strategy, Strategy::Resource);
    Layer sm;
    sm.name = "softmax";
    sm.kind = LayerKind::Softmax;
    LayerConfig s = c.resolve(sm);
    EXPECT_EQ(s.precision.at("exp_table"), "ap_fixed<18,8>");
    EXPECT_EQ(*s.tableSize, 1024);
    EXPECT_EQ(*s.reuseFactor, 2);
}

// hls4ml's spellings of Strategy and softmax Implementation map to the IR's enums in config/
// only; every enum value round-trips through its name, and unknown names are refused.
TEST(Config, StrategyAndSoftmaxNamesMapToEnums) {
    for (Strategy s : {Strategy::Latency, Strategy::Resource, Strategy::DistributedArithmetic})
        EXPECT_EQ(strategyNamed(toString(s)), s);
    EXPECT_EQ(strategyNamed("resource"), Strategy::Resource);
    EXPECT_EQ(strategyNamed("DistributedArithmetic"), Strategy::DistributedArithmetic);
    EXPECT_THROW(strategyNamed("Stable"), Error);   // a softmax choice, handled by the parser
    for (SoftmaxImpl i : {SoftmaxImpl::Tachyon, SoftmaxImpl::Latency, SoftmaxImpl::Stable, SoftmaxImpl::Argmax,
                          SoftmaxImpl::Legacy})
        EXPECT_EQ(softmaxImplNamed(toString(i)), i);
    EXPECT_THROW(softmaxImplNamed("fast"), Error);
    const Config c = Config::parse("Model:\n  Precision: ap_fixed<16,6>\n  Strategy: Stable\n", "cfg.yml");
    ASSERT_TRUE(c.model.strategy && c.model.softmaxImplementation);
    EXPECT_EQ(*c.model.strategy, Strategy::Latency);
    EXPECT_EQ(*c.model.softmaxImplementation, SoftmaxImpl::Stable);
}

TEST(Config, ErrorsNameTheKey) {
    expectError("Model:\n  Precison: ap_fixed<16,6>\n", "Model.Precison");
    expectError("Model:\n  Precision: ap_fixd<16,6>\n", "Model.Precision");
    expectError("LayerName:\n  fc1:\n    Precision:\n      wieght: ap_fixed<8,2>\n", "LayerName.fc1.Precision.wieght");
    expectError("LayerName:\n  fc1:\n    ReuseFactor: 0\n", "LayerName.fc1.ReuseFactor");
    expectError("LayerName:\n  fc1:\n    ReuseFactor: four\n", "LayerName.fc1.ReuseFactor");
    expectError("LayerType:\n  Conv9D:\n    ReuseFactor: 2\n", "LayerType.Conv9D");
    expectError("IOType: io_serial\n", "IOType");
    expectError("Model:\n  Strategy: Fast\n", "Model.Strategy");
    expectError("Modle:\n  Precision: ap_fixed<16,6>\n", "Modle");
    expectError("LayerName:\n  sm:\n    table_size: 1\n", "LayerName.sm.table_size");
    expectError("Model: [1, 2\n", "invalid YAML");
}

TEST(Config, UnknownLayerNameIsAnError) {
    Graph g = chain(false);
    Config c = Config::parse("LayerName:\n  fc9:\n    ReuseFactor: 2\n", "cfg.yml");
    try {
        runPipeline(g, c);
        ADD_FAILURE() << "accepted a config naming a missing layer";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("fc9"), std::string::npos);
    }
}

TEST(Config, UnknownLayerNameIsWarnedAboutInHls4mlMode) {
    // hls4ml ignores a LayerName entry that names no layer (its own templates name layers
    // such as `fc1_linear` that its optimizers remove): in hls4ml mode Tachyon warns.
    Graph g = chain(false);
    Config c = Config::parse("Compatibility: hls4ml\nLayerName:\n  fc9:\n    ReuseFactor: 2\n", "cfg.yml");
    std::vector<std::string> warnings;   // returned as data: the CLI prints them, Python warns
    EXPECT_NO_THROW(warnings = runPipeline(g, c));
    ASSERT_EQ(warnings.size(), 1u);
    EXPECT_NE(warnings[0].find("cfg.yml: LayerName.fc9: no layer of that name"), std::string::npos) << warnings[0];
    EXPECT_EQ(g.find("fc1")->schedule.reuseFactor, 1);
}

TEST(Config, TemplateRoundTrips) {
    Graph g = chain(false);
    for (Granularity gr : {Granularity::Model, Granularity::Type, Granularity::Name}) {
        std::string text = configTemplate(g, gr);
        Config c = Config::parse(text, "template.yml");
        Graph h = chain(false);
        EXPECT_NO_THROW(runPipeline(h, c));
        EXPECT_EQ(h.find("fc1")->type("weight").str(), "ap_fixed<16,6>");
    }
    EXPECT_NE(configTemplate(g, Granularity::Name).find("fc1_relu:"), std::string::npos);
}

TEST(Passes, BatchNormFoldingKeepsTheFloatFunction) {
    Graph a = chain(true), b = chain(true);
    // Tachyon's accurate fold (by default it only folds where hls4ml does: test_softmax_parity.cpp).
    Config cfg = Config::parse("Model:\n  FoldBatchNorm: always\n", "cfg.yml");
    assignPrecision(a, cfg);  // unfolded, typed
    runPipeline(b, cfg);      // folded
    EXPECT_EQ(a.layers.size(), 4u);
    EXPECT_EQ(b.find("bn1"), nullptr);
    Emulator ea(a), eb(b);
    std::vector<double> x(8 * 50), ya(6 * 50), yb(6 * 50);
    std::mt19937_64 rng(1);
    std::normal_distribution<double> nd(0, 1);
    for (double& v : x) v = nd(rng);
    ea.runFloat(x.data(), 50, ya.data());
    eb.runFloat(x.data(), 50, yb.data());
    for (size_t k = 0; k < ya.size(); ++k) EXPECT_NEAR(ya[k], yb[k], 1e-12);
}

TEST(Passes, BatchNormNamedInTheConfigIsKept) {
    Graph g = chain(true);
    runPipeline(g, Config::parse("LayerName:\n  bn1:\n    Precision:\n      scale: ap_fixed<12,4>\n", "cfg.yml"));
    ASSERT_NE(g.find("bn1"), nullptr);
    EXPECT_EQ(g.find("bn1")->type("scale").str(), "ap_fixed<12,4>");
}

TEST(Passes, ReluFusesOnlyWhenExact) {
    Graph g = chain(false);
    runPipeline(g, Config::defaults());
    EXPECT_EQ(g.layers.size(), 2u);
    EXPECT_EQ(g.find("fc1")->activation(), ActKind::ReLU);
    // A different ReLU result type keeps the layer: fusing would skip its cast.
    Graph h = chain(false);
    runPipeline(h, Config::parse("LayerName:\n  fc1_relu:\n    Precision:\n      result: ap_ufixed<8,3>\n", "cfg.yml"));
    EXPECT_EQ(h.layers.size(), 3u);
    // The fused and unfused graphs compute the same bits.
    Graph unfused = chain(false);
    assignPrecision(unfused, Config::defaults());
    Emulator e1(g), e2(unfused);
    std::vector<int64_t> x(8 * 300), y1(6 * 300), y2(6 * 300);
    std::mt19937_64 rng(2);
    for (auto& v : x) v = int64_t(rng() % 65536) - 32768;
    e1.runFixedRaw(x.data(), 300, y1.data());
    e2.runFixedRaw(x.data(), 300, y2.data());
    EXPECT_EQ(y1, y2);
}

TEST(Passes, AutoAccumulatorIsTightAndSafe) {
    Graph g = chain(false);
    runPipeline(g, Config::parse("Model:\n  Precision:\n    default: ap_fixed<16,6>\n    accum: auto\n", "cfg.yml"));
    const Layer& d = *g.find("fc1");
    const FixedType acc = d.type("accum");
    EXPECT_EQ(acc.frac(), 20);  // input frac 10 + weight frac 10: products exact
    // Removing one bit would allow an overflow for some input (the bound is reached
    // within a factor of two by the worst-case input).
    double worst = 0;
    for (int j = 0; j < 6; ++j) {
        double s = std::fabs(d.type("bias").quantize(d.param("bias")[size_t(j)]));
        for (int i = 0; i < 8; ++i) s += 32.0 * std::fabs(d.type("weight").quantize(d.param("weight")[size_t(i) * 6 + j]));
        worst = std::max(worst, s);
    }
    EXPECT_GE(acc.maxValue(), worst);
    EXPECT_LT(acc.maxValue() / 2, worst * 1.01);
}

TEST(Passes, VerifierNamesTheLayer) {
    Graph g = chain(false);
    g.layers[1].param("weight").pop_back();
    try {
        verify(g);
        ADD_FAILURE();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("fc1"), std::string::npos);
        EXPECT_NE(std::string(e.what()).find("weight"), std::string::npos);
    }
}
