// Tree readers on hostile input: deep trees do not overflow the stack, corrupt indices
// and numbers are refused (never wrapped, truncated or converted with undefined
// behaviour), and every failure is a tachyon::Error naming the file and the key.
#include "test_trees_fixtures.h"

#include "frontends/trees/Frontends.h"
#include "util/Error.h"

#include <chrono>
#include <fstream>
#include <sstream>

using namespace tachyon;
using namespace tachyon::trees;
using namespace tachyon::trees::testing;

namespace {

const std::string kXgbHead =
    R"({"learner":{"learner_model_param":{"base_score":"5E-1","num_class":"0","num_feature":"2"},)"
    R"("objective":{"name":"binary:logistic"},"gradient_booster":{"name":"gbtree","model":{)";

// One XGBoost tree from its node arrays (JSON text).
std::string xgbTree(const std::string& left, const std::string& right, const std::string& cond,
                    const std::string& feat) {
    return kXgbHead + R"("tree_info":[0],"trees":[{"left_children":)" + left + R"(,"right_children":)" + right +
           R"(,"split_conditions":)" + cond + R"(,"split_indices":)" + feat + "}]}}}}";
}

// Reading `text` as a tree model fails with an Error that mentions `needle`.
void expectRefused(const std::string& name, const std::string& text, const std::string& needle) {
    const std::string path = scratchDir("hardening") + "/" + name;
    std::ofstream(path) << text;
    try {
        readTreeModel(path);
        ADD_FAILURE() << name << ": no error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
    }
}

// A chain of `depth` splits: node 2i splits, its left child 2i+1 is a leaf, its right
// child 2i+2 the next split.
std::string deepXgbTree(int depth) {
    std::ostringstream l, r, c, f;
    const int n = 2 * depth + 1;
    for (int i = 0; i < n; ++i) {
        const bool split = i % 2 == 0 && i + 2 < n;
        const char* sep = i ? "," : "";
        l << sep << (split ? i + 1 : -1);
        r << sep << (split ? i + 2 : -1);
        c << sep << "0.5";
        f << sep << 0;
    }
    return xgbTree("[" + l.str() + "]", "[" + r.str() + "]", "[" + c.str() + "]", "[" + f.str() + "]");
}

}  // namespace

TEST(TreesHardening, DepthAndLeavesOfAMillionDeepTreeNeedNoRecursion) {
    Tree t;
    const int depth = 1'000'000;
    t.nodes.resize(size_t(2 * depth + 1));
    for (int i = 0; i + 2 < int(t.nodes.size()); i += 2) {
        t.nodes[size_t(i)].feature = 0;
        t.nodes[size_t(i)].left = i + 1;
        t.nodes[size_t(i)].right = i + 2;
    }
    EXPECT_EQ(t.depth(), depth);
    EXPECT_EQ(t.leaves(), depth + 1);
}

TEST(TreesHardening, DeepXgboostTreeIsRefusedWithAClearError) {
    // 200,000 levels: the recursive walk this replaces died of a stack overflow here.
    expectRefused("deep.json", deepXgbTree(200'000), "exceeds the supported maximum of 512");
    // At the limit it is accepted.
    const std::string path = scratchDir("hardening") + "/deep_ok.json";
    std::ofstream(path) << deepXgbTree(kMaxTreeDepth);
    EXPECT_EQ(readTreeModel(path).maxDepth(), kMaxTreeDepth);
}

TEST(TreesHardening, NodeWithTwoParentsIsRefused) {
    // Node 3 shared by nodes 1 and 2: a DAG, whose walks grow exponentially.
    expectRefused("dag.json", xgbTree("[1,3,3,-1]", "[2,3,3,-1]", "[0,0,0,1]", "[0,0,0,0]"),
                  "is already a child of node");
}

TEST(TreesHardening, XgboostIndicesMustBeIntegersInRange) {
    expectRefused("feat_2_32.json", xgbTree("[1,-1,-1]", "[2,-1,-1]", "[0.5,1,2]", "[4294967298,0,0]"),
                  "split_indices");
    expectRefused("feat_frac.json", xgbTree("[1,-1,-1]", "[2,-1,-1]", "[0.5,1,2]", "[2.7,0,0]"), "2.7");
    expectRefused("feat_neg.json", xgbTree("[1,-1,-1]", "[2,-1,-1]", "[0.5,1,2]", "[-1,0,0]"), "split_indices");
    expectRefused("child_huge.json", xgbTree("[1e300,-1,-1]", "[2,-1,-1]", "[0.5,1,2]", "[0,0,0]"),
                  "left_children");
    std::string head = kXgbHead;
    head.replace(head.find(R"("num_feature":"2")"), 17, R"("num_feature":"1E30")");
    expectRefused("nfeat_huge.json",
                  head + R"("tree_info":[0],"trees":[{"left_children":[-1],"right_children":[-1],)"
                         R"("split_conditions":[1],"split_indices":[0]}]}}}})",
                  "num_feature");
    expectRefused("tree_info.json",
                  kXgbHead + R"("tree_info":[1.5],"trees":[{"left_children":[-1],"right_children":[-1],)"
                             R"("split_conditions":[1],"split_indices":[0]}]}}}})",
                  "tree_info");
    // A threshold beyond float's range (XGBoost stores floats).
    expectRefused("cond_huge.json", xgbTree("[1,-1,-1]", "[2,-1,-1]", "[1e300,1,2]", "[0,0,0]"), "float range");
}

TEST(TreesHardening, TachyonJsonIndicesMustBeIntegersInRange) {
    expectRefused("tj.json",
                  R"({"format":"tachyon-trees","version":1,"n_features":2,"n_classes":1e40,"comparison":"<",)"
                  R"("base_score":[0],"trees":[]})",
                  "n_classes");
}

TEST(TreesHardening, TmvaIntegersMustBeIntegersInRange) {
    auto tmva = [](const std::string& nvar, const std::string& ivar) {
        return R"(<MethodSetup Method="BDT::BDT"><Variables NVar=")" + nvar +
               R"("/><Weights NTrees="1" AnalysisType="0"><BinaryTree boostWeight="1">)"
               R"(<Node pos="s" IVar=")" + ivar + R"(" Cut="0.5" cType="1"><Node pos="l" nType="1"/>)"
               R"(<Node pos="r" nType="-1"/></Node></BinaryTree></Weights></MethodSetup>)";
    };
    expectRefused("ivar_frac.xml", tmva("2", "1.7"), "IVar");
    expectRefused("ivar_huge.xml", tmva("2", "1e20"), "IVar");
    expectRefused("nvar_huge.xml", tmva("1e20", "0"), "NVar");
    std::string cut = tmva("2", "0");
    cut.replace(cut.find("0.5"), 3, "1e300");
    expectRefused("cut_huge.xml", cut, "float range");
}

TEST(TreesHardening, TruncatedTmvaHeaderIsNoCrash) {
    // Found by fuzz_tmva: a file ending right after `Method=` threw std::out_of_range
    // from the format detection.
    expectRefused("cut_short.xml", "<MethodSetup Method=", "not a tree model");
}
