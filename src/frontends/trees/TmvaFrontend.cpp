// TMVA BDT weight-file reader.
//
// TMVA (ROOT 6) sends an event right at a node when `x >= Cut` if cType="1", and when
// `!(x >= Cut)` if cType="0" (DecisionTreeNode::GoesRight). Both become the IR's `<`
// convention: cType="1" keeps the children, cType="0" swaps them. Cuts are held as
// Float_t by TMVA, so they are rounded to float here too.
//
// Response (before TMVA's own output mapping):
//   BoostType=Grad      : sum of leaf `res` over the trees (per class for multiclass,
//                         tree i belongs to class i % NClass), i.e. the value F that TMVA
//                         maps to 2/(1+exp(-2F))-1.
//   AdaBoost & others   : sum_i boostWeight_i * r_i / sum_i boostWeight_i with r = nType
//                         (+1/-1) when UseYesNoLeaf is true (default), else purity.
#include "frontends/trees/Frontends.h"

#include "frontends/trees/MiniXml.h"
#include "util/Error.h"

#include <cmath>
#include <fstream>
#include <sstream>

namespace tachyon::trees {

namespace {

// A number given as an attribute; the whole text must be the number.
double toNumber(const std::string& v, const std::string& where) {
    try {
        size_t used = 0;
        double d = std::stod(v, &used);
        if (used == v.size()) return d;
    } catch (const std::exception&) {
    }
    throw Error(where + ": '" + v + "' is not a number");
}

// An integer attribute in [lo, hi], checked before the conversion (a float-to-int cast of
// an out-of-range value is undefined, and 2.7 must not silently become 2).
int toInt(const std::string& v, const std::string& where, int lo, int hi) {
    const double d = toNumber(v, where);
    if (!(d >= lo && d <= hi) || d != std::floor(d))
        throw Error(where + ": expected an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], got '" +
                    v + "'");
    return int(d);
}

constexpr int kMaxCount = 0x7fffffff;

std::string option(const xml::Element& root, const std::string& name, const std::string& dflt) {
    if (const xml::Element* opts = root.child("Options"))
        for (const xml::Element* o : opts->childrenNamed("Option")) {
            auto it = o->attributes.find("name");
            if (it != o->attributes.end() && it->second == name) {
                std::string t = o->text;
                t.erase(0, t.find_first_not_of(" \t\r\n"));
                t.erase(t.find_last_not_of(" \t\r\n") + 1);
                return t;
            }
        }
    return dflt;
}

struct LeafRule {
    bool grad = false;
    bool yesNoLeaf = true;
};

// Appends the subtree rooted at `el` to `tree` (pre-order, so children follow parents).
int addNode(const xml::Element& el, Tree& tree, const LeafRule& rule, double leafScale,
            const std::string& where) {
    const std::string here = where + ": line " + std::to_string(el.line);
    const int index = int(tree.nodes.size());
    tree.nodes.emplace_back();
    auto kids = el.childrenNamed("Node");
    if (kids.empty()) {
        double r;
        if (rule.grad) r = toNumber(el.attr("res", where), here + ": res");
        else if (rule.yesNoLeaf) r = toNumber(el.attr("nType", where), here + ": nType");
        else r = toNumber(el.attr("purity", where), here + ": purity");
        tree.nodes[size_t(index)].value = r * leafScale;
        return index;
    }
    if (kids.size() != 2) throw Error(here + ": a split node needs exactly two <Node> children");
    const xml::Element* l = nullptr;
    const xml::Element* r = nullptr;
    for (const xml::Element* k : kids) {
        const std::string& pos = k->attr("pos", where);
        if (pos == "l") l = k;
        else if (pos == "r") r = k;
    }
    if (!l || !r) throw Error(here + ": children must have pos=\"l\" and pos=\"r\"");
    auto nc = el.attributes.find("NCoef");
    if (nc != el.attributes.end() && toNumber(nc->second, here + ": NCoef") != 0)
        throw Error(here + ": Fisher-discriminant cuts (NCoef > 0) are not supported");
    const int feature = toInt(el.attr("IVar", where), here + ": IVar", 0, kMaxCount);
    const double cut = double(toFloat32(toNumber(el.attr("Cut", where), here + ": Cut"), here + ": Cut"));
    const bool cType = toNumber(el.attr("cType", where), here + ": cType") != 0;
    // cType=1: right when x >= cut, so left when x < cut. cType=0: the opposite.
    const int leftIdx = addNode(cType ? *l : *r, tree, rule, leafScale, where);
    const int rightIdx = addNode(cType ? *r : *l, tree, rule, leafScale, where);
    Node& n = tree.nodes[size_t(index)];
    n.feature = feature;
    n.threshold = cut;
    n.left = leftIdx;
    n.right = rightIdx;
    return index;
}

}  // namespace

Ensemble readTmvaXml(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw Error(path + ": cannot open file");
    std::stringstream ss;
    ss << in.rdbuf();
    const auto root = xml::parse(ss.str(), path);
    if (root->name != "MethodSetup") throw Error(path + ": root element is <" + root->name + ">, expected <MethodSetup>");
    const std::string method = root->attr("Method", path);
    if (method.rfind("BDT", 0) != 0) throw Error(path + ": method '" + method + "' is not a BDT");

    Ensemble e;
    e.source = "tmva (" + method + ")";
    e.sourceFile = path;
    e.comparison = Comparison::Less;
    e.inputFloat32 = true;   // TMVA events hold Float_t values
    e.sumFloat32 = false;

    const xml::Element* vars = root->child("Variables");
    if (!vars) throw Error(path + ": missing <Variables>");
    e.nFeatures = toInt(vars->attr("NVar", path), path + ": NVar", 0, kMaxCount);
    for (const xml::Element* v : vars->childrenNamed("Variable")) {
        auto it = v->attributes.find("Expression");
        e.featureNames.push_back(it != v->attributes.end() ? it->second : "");
    }
    if (const xml::Element* tr = root->child("Transformations")) {
        auto it = tr->attributes.find("NTransformations");
        if (it != tr->attributes.end() && toNumber(it->second, path + ": NTransformations") != 0)
            throw Error(path + ": input variable transformations are not supported");
    }

    const xml::Element* weights = root->child("Weights");
    if (!weights) throw Error(path + ": missing <Weights>");
    const int analysis = weights->attributes.count("AnalysisType")
                             ? toInt(weights->attributes.at("AnalysisType"), path + ": AnalysisType", 0, 100)
                             : 0;
    if (analysis != 0 && analysis != 2)
        throw Error(path + ": AnalysisType " + std::to_string(analysis) +
                    " is not supported (classification 0 or multiclass 2)");
    if (analysis == 2) {
        const xml::Element* classes = root->child("Classes");
        if (!classes) throw Error(path + ": multiclass file without <Classes>");
        e.nClasses = toInt(classes->attr("NClass", path), path + ": NClass", 0, kMaxCount);
    }

    LeafRule rule;
    const std::string boost = option(*root, "BoostType", "AdaBoost");
    rule.grad = boost == "Grad";
    const std::string yesNo = option(*root, "UseYesNoLeaf", "True");
    rule.yesNoLeaf = !(yesNo == "False" || yesNo == "false" || yesNo == "0");
    if (analysis == 2 && !rule.grad) throw Error(path + ": multiclass BDTs must use BoostType=Grad");

    const auto trees = weights->childrenNamed("BinaryTree");
    double weightSum = 0.0;
    for (const xml::Element* t : trees)
        weightSum += toNumber(t->attr("boostWeight", path), path + ": boostWeight");
    if (!rule.grad && !(weightSum > 0.0)) throw Error(path + ": boost weights do not sum to a positive value");

    for (size_t i = 0; i < trees.size(); ++i) {
        const std::string where = path + ": tree " + std::to_string(i);
        const auto roots = trees[i]->childrenNamed("Node");
        if (roots.size() != 1) throw Error(where + ": expected one root <Node>");
        Tree t;
        t.classIndex = e.nClasses > 1 ? int(i) % e.nClasses : 0;
        const double scale = rule.grad ? 1.0 : toNumber(trees[i]->attr("boostWeight", path), where) / weightSum;
        addNode(*roots[0], t, rule, scale, path);
        e.trees.push_back(std::move(t));
    }
    e.baseScore.assign(size_t(e.nClasses), 0.0);
    verify(e);
    return e;
}

}  // namespace tachyon::trees
