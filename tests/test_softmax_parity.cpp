// hls4ml parity beyond the softmax kernels (issue 9): fold_batchnorm follows hls4ml's rule
// by default (FoldBatchNorm: auto | always | never), the saturate/wrap summary does not
// count ReLU's zeroing of negatives, and the jet tagger's argmax agreement with float for
// hls4ml's softmax settings against Tachyon's default (figures in docs/semantics.md).
#include "support/zoo.h"
#include "config/Config.h"
#include "emulator/Emulator.h"
#include "frontends/Frontend.h"
#include "passes/Pass.h"
#include "util/Error.h"
#include "util/Npy.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <random>

using namespace tachyon;
namespace fs = std::filesystem;

namespace {

const std::string kModels = test_support::zooDir();

Layer inputLayer(int n) {
    Layer in;
    in.name = "in";
    in.kind = LayerKind::Input;
    in.shape = {n};
    return in;
}

Layer denseLayer(const std::string& name, const std::string& input, int nIn, int nOut, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> nd(0, 0.7);
    Layer d;
    d.name = name;
    d.kind = LayerKind::Dense;
    d.inputs = {input};
    d.attrs = DenseAttrs{nIn, nOut};
    d.shape = {nOut};
    for (int k = 0; k < nIn * nOut; ++k) d.param("weight").push_back(nd(rng));
    for (int k = 0; k < nOut; ++k) d.param("bias").push_back(nd(rng));
    return d;
}

// in (8) -> fc1 (Dense 6) -> bn1 -> out (Dense 3)
Graph denseBn(double scaleSpread, double shiftSpread) {
    Graph g;
    g.name = "dense_bn";
    g.layers.push_back(inputLayer(8));
    g.layers.push_back(denseLayer("fc1", "in", 8, 6, 3));
    Layer bn;
    bn.name = "bn1";
    bn.kind = LayerKind::BatchNorm;
    bn.inputs = {"fc1"};
    bn.shape = {6};
    std::mt19937_64 rng(5);
    std::normal_distribution<double> nd(0, 1);
    for (int k = 0; k < 6; ++k) {
        bn.param("scale").push_back(1.0 + scaleSpread * nd(rng));
        bn.param("shift").push_back(shiftSpread * nd(rng));
    }
    g.layers.push_back(bn);
    g.layers.push_back(denseLayer("out", "bn1", 6, 3, 9));
    return g;
}

Graph converted(Graph g, const std::string& yaml) {
    runPipeline(g, Config::parse(yaml, "<test config>"));
    return g;
}

bool hasLayer(const Graph& g, const std::string& name) { return g.find(name) != nullptr; }

std::vector<int64_t> runRaw(const Graph& g, const std::vector<double>& x, size_t rows) {
    Emulator e(g);
    std::vector<int64_t> raw(rows * size_t(e.outputSize()));
    e.runFixed(x.data(), rows, raw.data(), nullptr);
    return raw;
}

}  // namespace

TEST(FoldBatchNorm, FollowsHls4mlsRuleByDefault) {
    // Fixed Dense result type: hls4ml keeps the BatchNorm (its numbers differ when folded).
    Graph kept = converted(denseBn(0.3, 0.5), "Model:\n  Precision: ap_fixed<16,6>\n");
    EXPECT_TRUE(hasLayer(kept, "bn1"));
    // The Dense result is `auto` (hls4ml: unspecified): hls4ml folds, and so does Tachyon,
    // even with a LayerName entry for the BatchNorm (as hls4ml's name granularity writes).
    Graph folded = converted(denseBn(0.3, 0.5), "Model:\n  Precision: ap_fixed<16,6>\nLayerName:\n  fc1:\n"
                                                "    Precision:\n      result: auto\n  bn1:\n    Precision:\n"
                                                "      scale: ap_fixed<16,6>\n");
    EXPECT_FALSE(hasLayer(folded, "bn1"));
    EXPECT_EQ(folded.recorded.at("FoldedBatchNorm"), "bn1");
    EXPECT_EQ(folded.find("out")->inputs, std::vector<std::string>{"fc1"});
    // Tachyon's accurate fold on request, at any level; never keeps even an `auto` one.
    EXPECT_FALSE(hasLayer(converted(denseBn(0.3, 0.5), "Model:\n  FoldBatchNorm: always\n"), "bn1"));
    EXPECT_FALSE(hasLayer(converted(denseBn(0.3, 0.5), "LayerName:\n  bn1:\n    FoldBatchNorm: always\n"), "bn1"));
    EXPECT_FALSE(hasLayer(converted(denseBn(0.3, 0.5), "LayerType:\n  BatchNormalization:\n    FoldBatchNorm: Always\n"),
                          "bn1"));
    EXPECT_TRUE(hasLayer(converted(denseBn(0.3, 0.5), "Model:\n  FoldBatchNorm: never\nLayerName:\n  fc1:\n"
                                                      "    Precision:\n      result: auto\n"),
                         "bn1"));
    EXPECT_THROW(Config::parse("Model:\n  FoldBatchNorm: sometimes\n", "cfg.yml"), Error);
}

TEST(FoldBatchNorm, DefaultFoldsOnlyWhereTheNumbersAreUnchanged) {
    const size_t rows = 2000;
    std::mt19937_64 rng(1);
    std::normal_distribution<double> nd(0, 2);
    std::vector<double> x(rows * 8);
    for (double& v : x) v = nd(rng);
    // An identity BatchNorm with the Dense's result type folds (exactly: same outputs).
    Graph id = converted(denseBn(0.0, 0.0), "Model:\n  Precision: ap_fixed<16,6>\n");
    EXPECT_FALSE(hasLayer(id, "bn1"));
    Graph idKept = converted(denseBn(0.0, 0.0), "Model:\n  Precision: ap_fixed<16,6>\n  FoldBatchNorm: never\n");
    EXPECT_TRUE(hasLayer(idKept, "bn1"));
    EXPECT_EQ(runRaw(id, x, rows), runRaw(idKept, x, rows));
    // A real BatchNorm: the default keeps hls4ml's numbers (the same as never folding);
    // the accurate fold changes them.
    const auto def = runRaw(converted(denseBn(0.3, 0.5), "Model:\n  Precision: ap_fixed<16,6>\n"), x, rows);
    const auto never = runRaw(converted(denseBn(0.3, 0.5), "Model:\n  Precision: ap_fixed<16,6>\n  FoldBatchNorm: never\n"),
                              x, rows);
    const auto always = runRaw(
        converted(denseBn(0.3, 0.5), "Model:\n  Precision: ap_fixed<16,6>\n  FoldBatchNorm: always\n"), x, rows);
    EXPECT_EQ(def, never);
    EXPECT_NE(def, always);
}

TEST(FoldBatchNorm, JetTaggerWithBatchNormKeepsItsBatchNormsAtFixedTypes) {
    const std::string json = kModels + "/keras/KERAS_3layer_batch_norm.json";
    if (!fs::exists(json)) GTEST_SKIP() << "model zoo not available";
    Graph g = loadModel(json);
    size_t bns = 0;
    for (const Layer& l : g.layers) bns += l.kind == LayerKind::BatchNorm;
    ASSERT_GT(bns, 0u);
    Graph def = g;
    runPipeline(def, Config::parse("Model:\n  Precision: ap_fixed<16,6>\n", "<test config>"));
    size_t kept = 0;
    for (const Layer& l : def.layers) kept += l.kind == LayerKind::BatchNorm;
    EXPECT_EQ(kept, bns) << "hls4ml folds no BatchNorm when the Dense result types are fixed";
    Graph acc = g;
    runPipeline(acc, Config::parse("Model:\n  Precision: ap_fixed<16,6>\n  FoldBatchNorm: always\n", "<test config>"));
    size_t left = 0;
    for (const Layer& l : acc.layers) left += l.kind == LayerKind::BatchNorm;
    EXPECT_LT(left, bns);
}

// Point 6 of issue 9: ReLU's zeroing of negatives is not an overflow.
TEST(OverflowSummary, ReluZeroingIsNotCountedAsOverflow) {
    const size_t rows = 4000;
    std::mt19937_64 rng(2);
    std::normal_distribution<double> nd(0, 3);
    std::vector<double> x(rows * 8);
    for (double& v : x) v = nd(rng);
    auto stats = [&](const Graph& g) {
        Emulator e(g);
        std::vector<int64_t> raw(rows * size_t(e.outputSize()));
        std::vector<double> y(raw.size());
        std::vector<LayerStats> st;
        e.runFixed(x.data(), rows, raw.data(), y.data(), &st);
        return std::make_pair(st, y);
    };
    auto find = [](const std::vector<LayerStats>& st, const std::string& name) {
        for (const LayerStats& s : st)
            if (s.layer == name) return s;
        ADD_FAILURE() << "no stats for " << name;
        return LayerStats{};
    };
    for (const char* resT : {"ap_ufixed<16,6>", "ap_ufixed<16,6,AP_RND,AP_SAT>", "ap_ufixed<10,2,AP_TRN,AP_SAT>"}) {
        SCOPED_TRACE(resT);
        // A separate ReLU layer: cast<result>(max(x, 0)).
        Graph g;
        g.name = "relu";
        g.layers.push_back(inputLayer(8));
        g.layers.push_back(denseLayer("fc1", "in", 8, 8, 4));
        Layer r;
        r.name = "relu1";
        r.kind = LayerKind::Activation;
        r.attrs = ActAttrs{ActKind::ReLU};
        r.inputs = {"fc1"};
        r.shape = {8};
        g.layers.push_back(r);
        Graph sep = converted(g, std::string("Model:\n  Precision: ap_fixed<16,6>\nLayerName:\n  relu1:\n    Precision:\n"
                                             "      result: ") + resT + "\n");
        ASSERT_TRUE(hasLayer(sep, "relu1"));
        auto [st, y] = stats(sep);
        const LayerStats relu = find(st, "relu1");
        // Only positive values beyond the unsigned type's range overflow; negatives never do.
        const FixedType t = FixedType::parse(resT);
        std::vector<double> pre(rows * 8);
        {
            Graph fcOnly = sep;
            fcOnly.layers.pop_back();
            Emulator e(fcOnly);
            std::vector<int64_t> raw(pre.size());
            e.runFixed(x.data(), rows, raw.data(), pre.data());
        }
        uint64_t above = 0;
        for (double v : pre) {
            CastStatus cs;
            if (v > 0) t.castDouble(v, &cs);
            above += cs.overflow;
        }
        EXPECT_EQ(relu.resultOverflows, above);
        for (size_t k = 0; k < y.size(); ++k) {
            if (pre[k] <= 0) {
                EXPECT_EQ(y[k], 0.0) << "negative input " << pre[k] << " must give 0";
            }
        }
        // Fused into the Dense layer (same result type): negatives that saturate to 0 are not
        // counted; with wrapping they wrap (the Dense's own cast) and are real overflows.
        Graph fused = converted(g, std::string("Model:\n  Precision: ap_fixed<16,6>\nLayerName:\n  fc1:\n    Precision:\n"
                                               "      result: ") + resT + "\n  relu1:\n    Precision:\n      result: " + resT +
                                       "\n");
        ASSERT_FALSE(hasLayer(fused, "relu1"));
        auto [fst, fy] = stats(fused);
        if (t.overflow == Overflow::SAT) {
            EXPECT_EQ(find(fst, "fc1").resultOverflows, above);
            EXPECT_EQ(fy, y);
        } else {
            EXPECT_GE(find(fst, "fc1").resultOverflows, above);
        }
    }
}

// Argmax agreement with float on the jet tagger: Tachyon's default softmax against hls4ml's
// implementations at hls4ml's settings. Prints the figures quoted in docs/semantics.md.
TEST(SoftmaxZoo, JetTaggerArgmaxAgreement) {
    const std::string json = kModels + "/keras/KERAS_3layer.json";
    const std::string xFile = kModels + "/reference/keras_KERAS_3layer_X.npy";
    if (!fs::exists(json) || !fs::exists(xFile)) GTEST_SKIP() << "model zoo not available";
    size_t refRows = 0, cols = 0;
    std::vector<double> refX = readNpy(xFile, refRows, cols);
    // More rows of the same distribution (N(0,1) features) for a finer figure.
    const size_t synthRows = 200000;
    std::vector<double> synthX(synthRows * cols);
    std::mt19937_64 rng(2024);
    std::normal_distribution<double> nd(0, 1);
    for (double& v : synthX) v = nd(rng);
    const std::string model = "Model:\n  Precision: ap_fixed<16,6>\n";
    const std::string nameTypes = "    Precision:\n      accum: fixed<18,8,RND,SAT>\n      exp_table: fixed<18,8,RND,SAT>\n"
                                  "      inv_inp: fixed<18,8,RND,SAT>\n      inv_table: fixed<18,8,RND,SAT>\n"
                                  "    TableSize: 1024\n";
    struct Setting {
        const char* name;
        std::string yaml;
        double atLeast;       // agreement with float, on the synthetic rows
        double keepAtLeast;   // agreement with the fixed-point logits (the softmax's own share)
    };
    const std::vector<Setting> settings = {
        {"tachyon (default)", model, 0.98, 0.999},
        {"stable, model granularity", model + "LayerType:\n  Softmax:\n    Implementation: stable\n", 0.0, 0.0},
        {"stable, name-granularity types", model + "LayerType:\n  Softmax:\n    Implementation: stable\n" + nameTypes, 0.0, 0.0},
        {"latency, name-granularity types", model + "LayerType:\n  Softmax:\n    Implementation: latency\n" + nameTypes, 0.0, 0.0},
        {"legacy", model + "LayerType:\n  Softmax:\n    Implementation: legacy\n", 0.0, 0.0},
        {"argmax", model + "LayerType:\n  Softmax:\n    Implementation: argmax\n", 0.0, 1.0},
    };
    Graph base = loadModel(json);
    auto agreement = [&](const Emulator& e, const std::vector<double>& x, size_t rows) {
        const int n = e.outputSize();
        std::vector<double> yf(rows * size_t(n)), yq(rows * size_t(n));
        std::vector<int64_t> raw(rows * size_t(n));
        e.runFloat(x.data(), rows, yf.data());
        e.runFixed(x.data(), rows, raw.data(), yq.data());
        // The softmax's own share: its fixed-point input (the logits) against its output.
        const std::vector<std::vector<double>> trace = e.traceFixed(x.data(), rows);
        const std::vector<double>& logits = trace[trace.size() - 2];
        size_t agree = 0, keep = 0;
        for (size_t r = 0; r < rows; ++r) {
            const double* f = yf.data() + r * size_t(n);
            const double* q = yq.data() + r * size_t(n);
            const double* z = logits.data() + r * size_t(n);
            const auto aq = std::max_element(q, q + n) - q;
            agree += (std::max_element(f, f + n) - f) == aq;
            keep += (std::max_element(z, z + n) - z) == aq;
        }
        return std::make_pair(double(agree) / double(rows), double(keep) / double(rows));
    };
    std::printf("jet tagger (KERAS_3layer, ap_fixed<16,6>): argmax agreement of the fixed-point output with\n"
                "the float model (and with the fixed-point logits the softmax reads)\n");
    std::printf("  %-32s %22s %26s\n", "softmax", "1000 reference rows", "200000 N(0,1) rows");
    for (const Setting& s : settings) {
        Graph g = base;
        runPipeline(g, Config::parse(s.yaml, "<test config>"));
        Emulator e(g);
        const auto a = agreement(e, refX, refRows), b = agreement(e, synthX, synthRows);
        std::printf("  %-32s %9.2f%% (%7.2f%%) %11.3f%% (%8.3f%%)\n", s.name, 100 * a.first, 100 * a.second,
                    100 * b.first, 100 * b.second);
        EXPECT_GE(b.first, s.atLeast) << s.name;
        EXPECT_GE(b.second, s.keepAtLeast) << s.name;
    }
}
