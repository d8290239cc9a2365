// Tree ensembles as a layer of the one IR (issue #20): a tree file loads as
// Input -> TreeEnsemble, the normal Config types it (tree keys as aliases), the emulator's
// TreeEnsemble kernel computes what the tree evaluator computes, and a TreeEnsemble may
// follow or precede other layers. Each composed graph is checked against its parts run
// one after the other, so the test fails when the layer's arithmetic or the types at the
// joints differ.
#include "support/tree_graphs.h"
#include "test_trees_fixtures.h"

#include "config/Config.h"
#include "emulator/Emulator.h"
#include "emulator/TreeEmulator.h"
#include "frontends/Frontend.h"
#include "frontends/trees/Frontends.h"
#include "passes/Pass.h"
#include "util/Error.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <random>

using namespace tachyon;
using namespace tachyon::trees::testing;
using namespace test_support;   // the graph builders

namespace {

Graph configured(Graph g, const std::string& yaml) {
    runPipeline(g, Config::parse(yaml, "<test>"));
    return g;
}

trees::TreeConfig treeTypes(const std::string& in, const std::string& thr, const std::string& score) {
    trees::TreeConfig c;
    c.input = FixedType::parse(in);
    c.threshold = FixedType::parse(thr);
    c.score = FixedType::parse(score);
    return c;
}

std::vector<double> firstRows(const Matrix& m, size_t rows) {
    return std::vector<double>(m.data.begin(), m.data.begin() + long(rows * m.cols));
}

// A configuration typing the named layers (x: the Input, d and e: Dense, bdt: the trees);
// x's type may be given.
std::string types(const std::vector<std::string>& layers, const std::string& inputType = "ap_fixed<14,4>") {
    const std::map<std::string, std::string> entries = {
        {"x", "{Precision: '" + inputType + "'}"},
        {"d", "{Precision: {weight: 'ap_fixed<10,2>', bias: 'ap_fixed<10,2>', accum: 'ap_fixed<24,8>', "
              "result: 'ap_fixed<14,5>'}}"},
        {"bdt", "{Precision: {threshold: 'ap_fixed<16,5>', result: 'ap_fixed<12,3,AP_RND,AP_SAT>'}}"},
        {"e", "{Precision: {weight: 'ap_fixed<10,2>', bias: 'ap_fixed<10,2>', accum: 'ap_fixed<24,8>', "
              "result: 'ap_fixed<16,6>'}}"},
    };
    std::string y = "Model: {Precision: 'ap_fixed<16,6>'}\nLayerName:\n";
    for (const std::string& l : layers) y += "  " + l + ": " + entries.at(l) + "\n";
    return y;
}

}  // namespace

TEST(TreeLayer, TreeFileLoadsAsInputAndTreeEnsemble) {
    TREE_FIXTURES_OR_SKIP(dir);
    const Graph g = loadModel(dir + "/xgb_multi.json");
    ASSERT_EQ(g.layers.size(), 2u);
    EXPECT_EQ(g.layers[0].kind, LayerKind::Input);
    EXPECT_EQ(g.layers[1].kind, LayerKind::TreeEnsemble);
    const trees::Ensemble e = trees::readTreeModel(dir + "/xgb_multi.json");
    EXPECT_EQ(g.input().shape, Shape{e.nFeatures});
    EXPECT_EQ(g.output().shape, Shape{e.nClasses});
    EXPECT_NE(dump(g).find("TreeEnsemble xgboost (multi:softprob) 100 trees, max depth 3, 16 features -> 5 class scores"), std::string::npos) << dump(g);
    EXPECT_THROW(loadModel(dir + "/xgb_multi.json", dir + "/w.h5"), Error);
}

TEST(TreeLayer, TreeKeysAreAliasesWithTheTreeDefaults) {
    TREE_FIXTURES_OR_SKIP(dir);
    const Graph raw = loadModel(dir + "/xgb_multi.json");
    // No Model Precision: the tree default ap_fixed<18,8>, thresholds of the input type.
    Graph g = configured(raw, "ScorePrecision: ap_fixed<16,6,AP_RND,AP_SAT>\nPipeline: 3\nLutMaxInputBits: 12\n");
    EXPECT_EQ(g.layers[0].type("result").str(), "ap_fixed<18,8>");
    EXPECT_EQ(g.layers[1].type("threshold").str(), "ap_fixed<18,8>");
    EXPECT_EQ(g.layers[1].type("result").str(), "ap_fixed<16,6,AP_RND,AP_SAT>");
    g = configured(raw, "InputPrecision: ap_fixed<12,4>\nThresholdPrecision: ap_fixed<20,6>\n");
    EXPECT_EQ(g.layers[0].type("result").str(), "ap_fixed<12,4>");
    EXPECT_EQ(g.layers[1].type("threshold").str(), "ap_fixed<20,6>");
    EXPECT_EQ(g.layers[1].type("result").str(), "ap_fixed<18,8>");
    // conifer's one Precision for all three; the specific keys win whatever their order.
    g = configured(raw, "ScorePrecision: ap_fixed<14,5>\nPrecision: ap_fixed<10,3>\n");
    EXPECT_EQ(g.layers[0].type("result").str(), "ap_fixed<10,3>");
    EXPECT_EQ(g.layers[1].type("threshold").str(), "ap_fixed<10,3>");
    EXPECT_EQ(g.layers[1].type("result").str(), "ap_fixed<14,5>");
    // The normal sections work as for any layer, and a Model Precision replaces the tree default.
    g = configured(raw, "Model: {Precision: 'ap_fixed<12,5>'}\nLayerType: {TreeEnsemble: {Precision: {threshold: 'ap_fixed<9,5>'}}}\n");
    EXPECT_EQ(g.layers[0].type("result").str(), "ap_fixed<12,5>");
    EXPECT_EQ(g.layers[1].type("threshold").str(), "ap_fixed<9,5>");
    EXPECT_EQ(g.layers[1].type("result").str(), "ap_fixed<12,5>");
    EXPECT_THROW(Config::parse("Pipeline: 99\n", "<t>"), Error);
    EXPECT_THROW(Config::parse("ScorePrecision: nope\n", "<t>"), Error);
    try {
        Config::parse("? [1, 2]\n: 3\n", "odd.yml");
        ADD_FAILURE() << "a list as a key was accepted";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("odd.yml: top level: configuration keys must be names"), std::string::npos)
            << e.what();
    }
}

TEST(TreeLayer, KernelMatchesTheTreeEvaluator) {
    TREE_FIXTURES_OR_SKIP(dir);
    const Matrix xm = loadNpy(dir + "/X_test.npy");
    for (const std::string name : {"xgb_multi", "xgb_binary"}) {
        const trees::Ensemble e = trees::readTreeModel(dir + "/" + name + ".json");
        ASSERT_EQ(xm.cols, size_t(e.nFeatures));
        const size_t rows = std::min<size_t>(xm.rows, 3000);
        const std::vector<double> x = firstRows(xm, rows);
        // Narrow enough that inputs saturate and the adder tree overflows.
        const Graph g = configured(loadModel(dir + "/" + name + ".json"),
                                   "InputPrecision: ap_fixed<10,3>\nThresholdPrecision: ap_fixed<12,3>\n"
                                   "ScorePrecision: ap_fixed<8,2>\n");
        const Emulator emu(g);
        const trees::TreeEmulator ref(e, treeTypes("ap_fixed<10,3>", "ap_fixed<12,3>", "ap_fixed<8,2>"));
        std::vector<int64_t> got(rows * size_t(e.nClasses)), want(got.size());
        std::vector<LayerStats> stats;
        emu.runFixed(x.data(), rows, got.data(), nullptr, &stats);
        ref.runFixed(x.data(), rows, want.data());
        EXPECT_EQ(got, want) << name;
        EXPECT_GT(stats[1].resultOverflows, 0u) << name << ": a 6-bit score sum must overflow somewhere";
        std::vector<double> gotF(got.size()), wantF(got.size());
        emu.runFloat(x.data(), rows, gotF.data());
        ref.runFloat(x.data(), rows, wantF.data());
        EXPECT_EQ(gotF, wantF) << name;
        // Wide enough for no overflow: none counted.
        const Emulator wide(configured(loadModel(dir + "/" + name + ".json"), "ScorePrecision: ap_fixed<24,10>\n"));
        wide.runFixed(x.data(), rows, got.data(), nullptr, &stats);
        EXPECT_EQ(stats[1].resultOverflows, 0u) << name;
    }
}

// Dense -> TreeEnsemble: the trees read the Dense layer's result raws.
TEST(TreeLayer, DenseFeedingTreesIsBitExact) {
    TREE_FIXTURES_OR_SKIP(dir);
    const trees::Ensemble e = trees::readTreeModel(dir + "/xgb_binary.json");
    const Matrix xm = loadNpy(dir + "/X_test.npy");
    const size_t rows = std::min<size_t>(xm.rows, 2000);
    const int nIn = 6;
    std::vector<double> x(rows * nIn);
    for (size_t r = 0; r < rows; ++r)
        for (int i = 0; i < nIn; ++i) x[r * nIn + size_t(i)] = xm.data[r * xm.cols + size_t(i % int(xm.cols))];

    Graph mixed;
    mixed.name = "dense_bdt";
    mixed.layers = {inputLayer(nIn), randomDenseLayer("d", "x", nIn, e.nFeatures, 7), treeEnsembleLayer(e, "d")};
    mixed = configured(mixed, types({"x", "d", "bdt"}));
    Graph front;
    front.name = "dense";
    front.layers = {inputLayer(nIn), randomDenseLayer("d", "x", nIn, e.nFeatures, 7)};
    front = configured(front, types({"x", "d"}));

    std::vector<int64_t> got(rows * size_t(e.nClasses)), mid(rows * size_t(e.nFeatures)), want(got.size());
    Emulator(mixed).runFixed(x.data(), rows, got.data(), nullptr);
    Emulator(front).runFixed(x.data(), rows, mid.data(), nullptr);
    const trees::TreeEmulator bdt(e, treeTypes("ap_fixed<14,5>", "ap_fixed<16,5>", "ap_fixed<12,3,AP_RND,AP_SAT>"));
    bdt.runFixedRaw(mid.data(), rows, want.data());
    EXPECT_EQ(got, want);
    // Not a constant: the trees see different rows.
    EXPECT_NE(*std::min_element(got.begin(), got.end()), *std::max_element(got.begin(), got.end()));

    // Float mode composes the same way.
    std::vector<double> gotF(got.size()), midF(mid.size()), wantF(got.size());
    Emulator(mixed).runFloat(x.data(), rows, gotF.data());
    Emulator(front).runFloat(x.data(), rows, midF.data());
    bdt.runFloat(midF.data(), rows, wantF.data());
    EXPECT_EQ(gotF, wantF);

    // trace gives every layer's output, the trees' included.
    const auto trace = Emulator(mixed).traceFixed(x.data(), 10);
    ASSERT_EQ(trace.size(), 3u);
    const FixedType score = FixedType::parse("ap_fixed<12,3,AP_RND,AP_SAT>");
    for (size_t i = 0; i < 10 * size_t(e.nClasses); ++i) EXPECT_EQ(trace[2][i], score.toDouble(got[i]));
}

// TreeEnsemble -> Dense: the Dense layer reads the trees' score raws.
TEST(TreeLayer, TreesFeedingDenseIsBitExact) {
    TREE_FIXTURES_OR_SKIP(dir);
    const trees::Ensemble e = trees::readTreeModel(dir + "/xgb_multi.json");
    const Matrix xm = loadNpy(dir + "/X_test.npy");
    const size_t rows = std::min<size_t>(xm.rows, 2000);
    const std::vector<double> x = firstRows(xm, rows);

    Graph mixed;
    mixed.name = "bdt_dense";
    Layer in = inputLayer(e.nFeatures);
    mixed.layers = {in, treeEnsembleLayer(e, "x"), randomDenseLayer("e", "bdt", e.nClasses, 3, 11)};
    mixed = configured(mixed, types({"x", "bdt", "e"}));
    Graph back;   // the Dense layer alone, its input of the trees' score type
    back.name = "dense";
    back.layers = {inputLayer(e.nClasses), randomDenseLayer("e", "x", e.nClasses, 3, 11)};
    back = configured(back, types({"x", "e"}, "ap_fixed<12,3,AP_RND,AP_SAT>"));
    ASSERT_EQ(back.layers[0].type("result").str(), "ap_fixed<12,3,AP_RND,AP_SAT>");

    std::vector<int64_t> got(rows * 3), scores(rows * size_t(e.nClasses)), want(got.size());
    Emulator(mixed).runFixed(x.data(), rows, got.data(), nullptr);
    const trees::TreeEmulator bdt(e, treeTypes("ap_fixed<14,4>", "ap_fixed<16,5>", "ap_fixed<12,3,AP_RND,AP_SAT>"));
    bdt.runFixed(x.data(), rows, scores.data());
    Emulator(back).runFixedRaw(scores.data(), rows, want.data());
    EXPECT_EQ(got, want);
    EXPECT_NE(*std::min_element(got.begin(), got.end()), *std::max_element(got.begin(), got.end()));
}

TEST(TreeLayer, BadTreeInputsAreRefusedByName) {
    TREE_FIXTURES_OR_SKIP(dir);
    const trees::Ensemble e = trees::readTreeModel(dir + "/xgb_multi.json");
    Graph g;
    g.name = "bad";
    g.layers = {inputLayer(e.nFeatures + 1), treeEnsembleLayer(e, "x")};
    try {
        verify(g);
        ADD_FAILURE() << "a TreeEnsemble over the wrong number of features was accepted";
    } catch (const Error& err) {
        EXPECT_NE(std::string(err.what()).find("'bdt' (TreeEnsemble)"), std::string::npos) << err.what();
    }
    // Scores wider than the evaluator supports: refused when the emulator is built.
    Graph ok = loadModel(dir + "/xgb_multi.json");
    ok = configured(ok, "ScorePrecision: ap_fixed<40,10>\n");
    EXPECT_THROW(Emulator{ok}, Error);
}
