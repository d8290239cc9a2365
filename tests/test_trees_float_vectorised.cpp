// Trees' float mode runs on the vectorised mux trees (each value ranked among its feature's
// thresholds): it must give exactly the doubles of walking each tree with the library's
// comparison and summing in model order (the definition in ir/TreeEnsemble.h), on random
// ensembles covering both comparisons, float32 or double inputs and sums, values exactly
// at thresholds, NaN, unbalanced trees deeper than the mux limit, several classes, and any
// thread count.
#include "emulator/TreeEmulator.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

using namespace tachyon::trees;

namespace {

// A random tree: a split on a random feature with a threshold from a small grid (so values
// land exactly on them) until `depth`, leaves earlier at random.
void grow(Tree& t, int node, int depth, int nFeatures, std::mt19937_64& rng) {
    std::uniform_int_distribution<int> feature(0, nFeatures - 1), grid(-8, 8), coin(0, 3);
    if (depth == 0 || (node > 0 && coin(rng) == 0)) {
        t.nodes[size_t(node)].value = std::normal_distribution<double>(0.0, 1.0)(rng);
        return;
    }
    const int left = int(t.nodes.size()), right = left + 1;
    t.nodes.resize(t.nodes.size() + 2);
    Node& n = t.nodes[size_t(node)];
    n.feature = feature(rng);
    n.threshold = grid(rng) * 0.25 + (coin(rng) == 0 ? 0.1 : 0.0);
    n.left = left;
    n.right = right;
    grow(t, left, depth - 1, nFeatures, rng);
    grow(t, right, depth - 1, nFeatures, rng);
}

Ensemble randomEnsemble(std::mt19937_64& rng, int trees, int maxDepth) {
    Ensemble e;
    e.source = "test";
    e.nFeatures = 1 + int(rng() % 7);
    e.nClasses = 1 + int(rng() % 3);
    e.comparison = rng() % 2 ? Comparison::Less : Comparison::LessEqual;
    e.inputFloat32 = rng() % 2;
    e.sumFloat32 = rng() % 2;
    for (int k = 0; k < e.nClasses; ++k) e.baseScore.push_back(0.1 * double(k) - 0.05);
    for (int i = 0; i < trees; ++i) {
        Tree t;
        t.classIndex = i % e.nClasses;
        t.nodes.resize(1);
        grow(t, 0, 1 + int(rng() % unsigned(maxDepth)), e.nFeatures, rng);
        e.trees.push_back(std::move(t));
    }
    return e;
}

// The definition, row by row.
std::vector<double> walkEveryTree(const Ensemble& e, const std::vector<double>& x, size_t rows) {
    std::vector<double> out;
    for (size_t r = 0; r < rows; ++r)
        for (int k = 0; k < e.nClasses; ++k) {
            double sumD = e.baseScore[size_t(k)];
            float sumF = float(sumD);
            for (const Tree& t : e.trees) {
                if (t.classIndex != k) continue;
                int i = 0;
                while (!t.nodes[size_t(i)].isLeaf()) {
                    const Node& n = t.nodes[size_t(i)];
                    double v = x[r * size_t(e.nFeatures) + size_t(n.feature)];
                    if (e.inputFloat32) v = double(float(v));
                    const bool left = e.comparison == Comparison::Less ? v < n.threshold : v <= n.threshold;
                    i = left ? n.left : n.right;
                }
                if (e.sumFloat32) sumF += float(t.nodes[size_t(i)].value);
                else sumD += t.nodes[size_t(i)].value;
            }
            out.push_back(e.sumFloat32 ? double(sumF) : sumD);
        }
    return out;
}

}  // namespace

TEST(TreesFloatVectorised, EqualsTheTreeWalkBitForBit) {
    std::mt19937_64 rng(42);
    size_t deepTrees = 0;
    for (int m = 0; m < 60; ++m) {
        const Ensemble e = randomEnsemble(rng, 1 + int(rng() % 40), m % 4 == 0 ? 12 : 6);
        for (const Tree& t : e.trees) deepTrees += t.depth() > 8;
        TreeEmulator emu(e, TreeConfig{});
        const size_t rows = 1 + rng() % 70;
        std::vector<double> x(rows * size_t(e.nFeatures));
        std::uniform_int_distribution<int> grid(-9, 9), kind(0, 9);
        for (double& v : x) {
            const int k = kind(rng);
            v = k == 0 ? std::nan("") : k < 5 ? grid(rng) * 0.25 : std::normal_distribution<double>(0.0, 1.5)(rng);
            if (k == 9) v = std::nextafter(0.1, 1.0);   // rounds to the 0.1 thresholds in float32
        }
        const std::vector<double> want = walkEveryTree(e, x, rows);
        for (int threads : {1, 3}) {
            std::vector<double> got(want.size());
            emu.runFloat(x.data(), rows, got.data(), threads);
            for (size_t i = 0; i < want.size(); ++i)
                ASSERT_EQ(std::memcmp(&want[i], &got[i], sizeof(double)), 0)
                    << "model " << m << " value " << i << ": " << want[i] << " vs " << got[i] << ", threads " << threads;
        }
    }
    EXPECT_GT(deepTrees, 5u);   // the lane-by-lane walk of trees beyond the mux depth ran too
}
