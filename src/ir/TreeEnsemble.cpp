#include "ir/TreeEnsemble.h"

#include "util/Error.h"

#include <algorithm>
#include <cmath>
#include <sstream>

namespace tachyon::trees {

namespace {

// Per node, the number of splits on the longest path down to a leaf. Children come after
// their parent (verify() checks it), so one backward pass sees every child before its
// parent: no recursion, which a hostile 100,000-deep tree would turn into a stack overflow.
std::vector<int> heights(const Tree& t) {
    std::vector<int> h(t.nodes.size(), 0);
    for (size_t i = t.nodes.size(); i-- > 0;) {
        const Node& n = t.nodes[i];
        if (!n.isLeaf()) h[i] = 1 + std::max(h[size_t(n.left)], h[size_t(n.right)]);
    }
    return h;
}

// Nodes reachable from the root, walked with an explicit stack.
template <typename F>
void forEachReachable(const Tree& t, F&& visit) {
    std::vector<int> stack = {0};
    while (!stack.empty()) {
        const int i = stack.back();
        stack.pop_back();
        const Node& n = t.nodes[size_t(i)];
        visit(n);
        if (!n.isLeaf()) {
            stack.push_back(n.right);
            stack.push_back(n.left);
        }
    }
}

}  // namespace

int Tree::depth() const { return nodes.empty() ? 0 : heights(*this)[0]; }

int Tree::leaves() const {
    int count = 0;
    if (!nodes.empty()) forEachReachable(*this, [&](const Node& n) { count += n.isLeaf(); });
    return count;
}

int Ensemble::maxDepth() const {
    int d = 0;
    for (const Tree& t : trees) d = std::max(d, t.depth());
    return d;
}

std::vector<int> Ensemble::treesOfClass(int k) const {
    std::vector<int> out;
    for (size_t i = 0; i < trees.size(); ++i)
        if (trees[i].classIndex == k) out.push_back(int(i));
    return out;
}

void verify(const Ensemble& e) {
    const std::string where = e.sourceFile.empty() ? std::string("tree ensemble") : e.sourceFile;
    if (e.nFeatures <= 0) throw Error(where + ": the model has no input features");
    if (e.nClasses <= 0) throw Error(where + ": the model has no outputs");
    // Sizes that only a corrupt file declares; the emulator allocates per feature and class.
    if (e.nFeatures > kMaxFeatures)
        throw Error(where + ": " + std::to_string(e.nFeatures) + " input features exceed the supported maximum of " +
                    std::to_string(kMaxFeatures));
    if (e.nClasses > kMaxClasses)
        throw Error(where + ": " + std::to_string(e.nClasses) + " classes exceed the supported maximum of " +
                    std::to_string(kMaxClasses));
    if (int(e.baseScore.size()) != e.nClasses)
        throw Error(where + ": " + std::to_string(e.baseScore.size()) + " base scores for " +
                    std::to_string(e.nClasses) + " classes");
    if (e.trees.empty()) throw Error(where + ": the model has no trees");
    for (size_t ti = 0; ti < e.trees.size(); ++ti) {
        const Tree& t = e.trees[ti];
        const std::string tn = where + ": tree " + std::to_string(ti);
        if (t.classIndex < 0 || t.classIndex >= e.nClasses)
            throw Error(tn + ": class index " + std::to_string(t.classIndex) + " out of range");
        if (t.nodes.empty()) throw Error(tn + ": no nodes");
        const int n = int(t.nodes.size());
        std::vector<int> parent(size_t(n), -1);
        for (int i = 0; i < n; ++i) {
            const Node& nd = t.nodes[size_t(i)];
            const std::string nn = tn + " node " + std::to_string(i);
            if (nd.isLeaf()) {
                if (!std::isfinite(nd.value)) throw Error(nn + ": leaf value is not finite");
                continue;
            }
            // Children after their parent make every tree acyclic and depth() finite.
            if (nd.left <= i || nd.left >= n || nd.right <= i || nd.right >= n)
                throw Error(nn + ": child index out of range (left " + std::to_string(nd.left) +
                            ", right " + std::to_string(nd.right) + ")");
            if (nd.feature < 0 || nd.feature >= e.nFeatures)
                throw Error(nn + ": feature index " + std::to_string(nd.feature) +
                            " out of range (model has " + std::to_string(e.nFeatures) + ")");
            if (std::isnan(nd.threshold)) throw Error(nn + ": threshold is NaN");
            // One parent per node keeps it a tree: a node shared by many parents would
            // make walks of the "tree" exponential in its size.
            for (int child : {nd.left, nd.right})
                if (parent[size_t(child)] >= 0)
                    throw Error(nn + ": node " + std::to_string(child) + " is already a child of node " +
                                std::to_string(parent[size_t(child)]));
                else
                    parent[size_t(child)] = i;
        }
        const int depth = t.depth();
        if (depth > kMaxTreeDepth)
            throw Error(tn + ": depth " + std::to_string(depth) + " exceeds the supported maximum of " +
                        std::to_string(kMaxTreeDepth));
    }
}

std::string dump(const Ensemble& e) {
    std::ostringstream os;
    os << "Tree ensemble (" << e.source << ")";
    if (!e.sourceFile.empty()) os << " from " << e.sourceFile;
    os << "\n  features: " << e.nFeatures << "\n  classes: " << e.nClasses
       << "\n  trees: " << e.trees.size() << " (max depth " << e.maxDepth() << ")"
       << "\n  comparison: go left when x " << (e.comparison == Comparison::Less ? "<" : "<=")
       << " threshold\n  base score:";
    for (double b : e.baseScore) os << ' ' << b;
    size_t nodes = 0, leaves = 0;
    for (const Tree& t : e.trees) { nodes += t.nodes.size(); leaves += size_t(t.leaves()); }
    os << "\n  nodes: " << nodes << " (" << leaves << " leaves)\n";
    for (int k = 0; k < e.nClasses; ++k)
        os << "  class " << k << ": " << e.treesOfClass(k).size() << " trees\n";
    return os.str();
}

}  // namespace tachyon::trees
