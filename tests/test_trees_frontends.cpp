// Frontends and float mode: outputs equal the libraries' own decision functions.
#include "test_trees_fixtures.h"

#include "frontends/trees/Frontends.h"
#include "emulator/TreeEmulator.h"
#include "util/Error.h"

#include <cmath>
#include <fstream>

using namespace tachyon;
using namespace tachyon::trees;
using namespace tachyon::trees::testing;

namespace {

void expectFloatMatches(const std::string& dir, const std::string& model, int classes) {
    Ensemble e = readTreeModel(dir + "/" + model + ".json");
    EXPECT_EQ(e.nFeatures, 16);
    ASSERT_EQ(e.nClasses, classes);
    Matrix x = loadNpy(dir + "/X_test.npy");
    Matrix ref = loadNpy(dir + "/" + model + "_ref.npy");
    ASSERT_EQ(x.rows, 10000u);
    ASSERT_EQ(ref.rows, x.rows);
    ASSERT_EQ(ref.cols, size_t(classes));
    TreeEmulator emu(e, TreeConfig{});
    std::vector<double> out(x.rows * size_t(classes));
    emu.runFloat(x.data.data(), x.rows, out.data());
    double worst = 0;
    for (size_t i = 0; i < out.size(); ++i) worst = std::max(worst, std::fabs(out[i] - ref.data[i]));
    EXPECT_LE(worst, 1e-6) << model;
    // The outputs must actually vary (a constant model would pass trivially).
    double lo = *std::min_element(out.begin(), out.end()), hi = *std::max_element(out.begin(), out.end());
    EXPECT_GT(hi - lo, 0.1) << model;
}

void writeFile(const std::string& path, const std::string& text) {
    std::ofstream(path) << text;
}

}  // namespace

TEST(TreesFrontends, XgboostBinaryFloatEqualsLibrary) {
    TREE_FIXTURES_OR_SKIP(dir);
    expectFloatMatches(dir, "xgb_binary", 1);
}
TEST(TreesFrontends, XgboostMulticlassFloatEqualsLibrary) {
    TREE_FIXTURES_OR_SKIP(dir);
    expectFloatMatches(dir, "xgb_multi", 5);
}
TEST(TreesFrontends, SklearnGradientBoostingFloatEqualsLibrary) {
    TREE_FIXTURES_OR_SKIP(dir);
    expectFloatMatches(dir, "skl_gb_binary", 1);
    expectFloatMatches(dir, "skl_gb_multi", 5);
}
TEST(TreesFrontends, SklearnRandomForestFloatEqualsLibrary) {
    TREE_FIXTURES_OR_SKIP(dir);
    expectFloatMatches(dir, "skl_rf_binary", 1);
    expectFloatMatches(dir, "skl_rf_multi", 5);
}

TEST(TreesFrontends, XgboostBaseScoreIsLogitOfProbability) {
    TREE_FIXTURES_OR_SKIP(dir);
    Ensemble e = readXgboostJson(dir + "/xgb_binary.json");  // trained with base_score 0.3
    EXPECT_NEAR(e.baseScore[0], std::log(0.3 / 0.7), 1e-6);
    EXPECT_EQ(e.comparison, Comparison::Less);
    Ensemble m = readXgboostJson(dir + "/xgb_multi.json");
    EXPECT_EQ(m.baseScore.size(), 5u);
    EXPECT_EQ(m.baseScore[3], 0.5);
}

TEST(TreesFrontends, TmvaKnownTreeMatchesHandComputedOutput) {
    TREE_FIXTURES_OR_SKIP(dir);
    Ensemble e = readTreeModel(dir + "/tmva_known.xml");
    EXPECT_EQ(e.nFeatures, 2);
    EXPECT_EQ(e.trees.size(), 2u);
    Matrix x = loadNpy(dir + "/tmva_X.npy");
    Matrix expect = loadNpy(dir + "/tmva_expected.npy");
    TreeEmulator emu(e, TreeConfig{});
    std::vector<double> out(x.rows);
    emu.runFloat(x.data.data(), x.rows, out.data());
    for (size_t r = 0; r < x.rows; ++r) EXPECT_EQ(out[r], expect.data[r]) << "row " << r;
    // The leaves and cuts are exact in ap_fixed<18,8>, so fixed point agrees too.
    std::vector<int64_t> raw(x.rows);
    std::vector<double> fixedOut(x.rows);
    emu.runFixed(x.data.data(), x.rows, raw.data(), fixedOut.data());
    for (size_t r = 0; r < x.rows; ++r) EXPECT_EQ(fixedOut[r], expect.data[r]) << "row " << r;
}

TEST(TreesFrontends, DetectsFormats) {
    TREE_FIXTURES_OR_SKIP(dir);
    EXPECT_EQ(detectTreeFormat(dir + "/xgb_binary.json"), TreeFormat::Xgboost);
    EXPECT_EQ(detectTreeFormat(dir + "/skl_rf_multi.json"), TreeFormat::TachyonJson);
    EXPECT_EQ(detectTreeFormat(dir + "/tmva_known.xml"), TreeFormat::Tmva);
    EXPECT_EQ(detectTreeFormat(dir + "/X_test.npy"), TreeFormat::None);
    EXPECT_EQ(detectTreeFormat(dir + "/does_not_exist.json"), TreeFormat::None);
}

TEST(TreesFrontends, MalformedFilesGiveClearErrors) {
    const std::string d = scratchDir("malformed");
    auto expectError = [&](const std::string& name, const std::string& text, const std::string& needle) {
        writeFile(d + "/" + name, text);
        try {
            readTreeModel(d + "/" + name);
            ADD_FAILURE() << name << ": no error";
        } catch (const Error& e) {
            EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
        }
    };
    const std::string xgbHead =
        R"({"learner":{"learner_model_param":{"base_score":"5E-1","num_class":"0","num_feature":"2"},)"
        R"("objective":{"name":"binary:logistic"},"gradient_booster":{"name":"gbtree","model":{)";
    expectError("no_trees.json", xgbHead + R"("tree_info":[]}}}})", "missing key 'trees'");
    expectError("bad_feature.json", xgbHead +
        R"("tree_info":[0],"trees":[{"left_children":[1,-1,-1],"right_children":[2,-1,-1],)"
        R"("split_conditions":[0.5,1,2],"split_indices":[7,0,0]}]}}}})", "feature index 7");
    expectError("cycle.json", xgbHead +
        R"("tree_info":[0],"trees":[{"left_children":[0,-1,-1],"right_children":[2,-1,-1],)"
        R"("split_conditions":[0.5,1,2],"split_indices":[0,0,0]}]}}}})", "child index");
    expectError("string_num.json", xgbHead +
        R"("tree_info":[0],"trees":[{"left_children":"x","right_children":[2,-1,-1],)"
        R"("split_conditions":[0.5,1,2],"split_indices":[0,0,0]}]}}}})", "left_children");
    expectError("truncated.json", xgbHead, "not valid JSON");
    expectError("other.json", R"({"hello": 1})", "not a tree model");
    expectError("bad_tachyon.json",
        R"({"format":"tachyon-trees","version":1,"n_features":2,"n_classes":1,"comparison":"<>",)"
        R"("base_score":[0],"trees":[]})", "comparison");
    expectError("bad.xml", R"(<MethodSetup Method="BDT::BDT"><Variables NVar="2"></MethodSetup>)",
                "closes <Variables>");
    expectError("nocut.xml",
        R"(<MethodSetup Method="BDT::BDT"><Variables NVar="1"/><Weights NTrees="1" AnalysisType="0">)"
        R"(<BinaryTree boostWeight="1"><Node pos="s" IVar="0" cType="1"><Node pos="l" nType="1"/>)"
        R"(<Node pos="r" nType="-1"/></Node></BinaryTree></Weights></MethodSetup>)", "no attribute 'Cut'");
}
