// The tree-ensemble IR: what a trained boosted-decision-tree or random-forest model
// computes, independent of the library it came from.
//
// An ensemble has `nClasses` outputs. Output k is
//     baseScore[k] + sum of leaf(t, x) over the trees t with t.classIndex == k
// where leaf(t, x) walks tree t from its root: at a split node, go to `left` when
// `x[feature] OP threshold` holds (OP is the model-wide `comparison`), else to `right`.
// The frontends keep each library's own convention (XGBoost and TMVA: `<`,
// scikit-learn: `<=`) so that no threshold has to be nudged.
#pragma once

#include <string>
#include <vector>

namespace tachyon::trees {

enum class Comparison { Less, LessEqual };  // go left when x < t / x <= t

struct Node {
    int feature = -1;         // split feature; -1 for a leaf
    double threshold = 0.0;   // split threshold (exactly the library's stored value)
    int left = -1, right = -1;  // child node indices (always greater than this node's)
    double value = 0.0;       // leaf value (already scaled by learning rate / weights)
    bool isLeaf() const { return left < 0; }
};

// Deeper trees are refused by verify(): every tree walk is iterative, but the project
// writers nest one expression per level, and no trained model of interest comes close.
constexpr int kMaxTreeDepth = 512;
constexpr int kMaxFeatures = 1 << 20;
constexpr int kMaxClasses = 1 << 16;

struct Tree {
    int classIndex = 0;
    std::vector<Node> nodes;  // nodes[0] is the root
    int depth() const;        // number of splits on the longest root-to-leaf path
    int leaves() const;
};

struct Ensemble {
    std::string source;        // "xgboost", "sklearn.GradientBoostingClassifier", "tmva", ...
    std::string sourceFile;
    int nFeatures = 0;
    int nClasses = 1;
    Comparison comparison = Comparison::Less;
    std::vector<double> baseScore;   // per class, in margin (decision function) space
    std::vector<Tree> trees;
    std::vector<std::string> featureNames;  // optional

    // How the library itself computes, so float mode reproduces it exactly:
    bool inputFloat32 = true;  // features are rounded to float before comparing
    bool sumFloat32 = false;   // scores are accumulated in float (XGBoost), else double

    int maxDepth() const;
    std::vector<int> treesOfClass(int k) const;  // tree indices in model order
};

// Throws tachyon::Error naming the tree/node when the ensemble is inconsistent: indices
// out of range, a child before its parent or with two parents, a tree deeper than
// kMaxTreeDepth.
void verify(const Ensemble& e);
// Readable summary used by `tachyon info`.
std::string dump(const Ensemble& e);

}  // namespace tachyon::trees
