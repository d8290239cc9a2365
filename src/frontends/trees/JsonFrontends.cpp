// XGBoost JSON and tachyon-trees JSON readers.
#include "frontends/trees/Frontends.h"

#include "util/Error.h"
#include "util/Json.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <string>
#include <fstream>

namespace tachyon::trees {

using nlohmann::json;

namespace {

json loadJson(const std::string& path) {
    return util::readJsonFile(path);
}

const json& key(const json& obj, const char* name, const std::string& where) {
    if (!obj.is_object() || !obj.contains(name))
        throw Error(where + ": missing key '" + name + "'");
    return obj.at(name);
}

// XGBoost stores most scalar parameters as strings ("5E-1").
double number(const json& v, const std::string& where) {
    try {
        if (v.is_number()) return v.get<double>();
        if (v.is_string()) return std::stod(v.get<std::string>());
    } catch (const std::exception&) {
    }
    throw Error(where + ": expected a number, got " + v.dump());
}

// An integer in [lo, hi], given as a JSON number or a string ("16"). Checked before any
// conversion: casting 2^32+2 or 2.7 to int would wrap or truncate (and is undefined for
// values out of range), turning a corrupt index into a plausible one.
int integer(const json& v, const std::string& where, long long lo, long long hi) {
    const double d = number(v, where);
    if (!(d >= double(lo) && d <= double(hi)) || d != std::floor(d))
        throw Error(where + ": expected an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], got " +
                    v.dump());
    return int(d);
}

// Node indices, feature indices and class indices all fit in an int.
constexpr long long kMaxIndex = 0x7fffffff;

std::vector<double> doubles(const json& obj, const char* name, const std::string& where) {
    const json& a = key(obj, name, where);
    if (!a.is_array()) throw Error(where + ": '" + name + "' is not an array");
    std::vector<double> out;
    out.reserve(a.size());
    for (const json& v : a) {
        if (!v.is_number()) throw Error(where + ": '" + name + "' holds a non-number " + v.dump());
        out.push_back(v.get<double>());
    }
    return out;
}

// Integers in [lo, kMaxIndex] (-1 marks "no child").
std::vector<int> integers(const json& obj, const char* name, const std::string& where, long long lo) {
    const json& a = key(obj, name, where);
    if (!a.is_array()) throw Error(where + ": '" + name + "' is not an array");
    std::vector<int> out;
    out.reserve(a.size());
    for (const json& v : a) {
        if (!v.is_number()) throw Error(where + ": '" + name + "' holds a non-number " + v.dump());
        out.push_back(integer(v, where + ": '" + name + "'", lo, kMaxIndex));
    }
    return out;
}

// XGBoost's ProbToMargin for the objectives whose base_score lives in probability space
// (computed in float, as XGBoost does).
double baseMargin(const std::string& objective, double baseScore, const std::string& where) {
    float p = toFloat32(baseScore, where + ": base_score");
    if (objective == "binary:logistic" || objective == "reg:logistic") {
        if (!(p > 0.0f && p < 1.0f)) throw Error(where + ": base_score must be in (0, 1)");
        return double(-std::log(1.0f / p - 1.0f));
    }
    if (objective == "count:poisson" || objective == "reg:gamma" || objective == "reg:tweedie") {
        if (!(p > 0.0f)) throw Error(where + ": base_score must be positive");
        return double(std::log(p));
    }
    static const char* identity[] = {"binary:logitraw", "binary:hinge", "reg:squarederror",
                                     "reg:linear", "reg:pseudohubererror", "reg:absoluteerror",
                                     "reg:squaredlogerror", "multi:softprob", "multi:softmax",
                                     "rank:pairwise", "rank:ndcg", "rank:map"};
    for (const char* o : identity)
        if (objective == o) return double(p);
    throw Error(where + ": unsupported XGBoost objective '" + objective + "'");
}

// nlohmann type errors (a string where a number belongs, ...) become tachyon::Error.
template <typename F>
Ensemble guarded(const std::string& path, F&& read) {
    try {
        return read();
    } catch (const json::exception& e) {
        throw Error(path + ": unexpected JSON content (" + std::string(e.what()) + ")");
    }
}

Ensemble xgboostFromJson(const json& doc, const std::string& path) {
    const json& learner = key(doc, "learner", path);
    const json& params = key(learner, "learner_model_param", path + ": learner");
    const std::string objective =
        key(key(learner, "objective", path + ": learner"), "name", path + ": learner.objective")
            .get<std::string>();
    const json& booster = key(learner, "gradient_booster", path + ": learner");
    const std::string boosterName = key(booster, "name", path + ": gradient_booster").get<std::string>();
    if (boosterName != "gbtree")
        throw Error(path + ": gradient_booster '" + boosterName +
                    "' is not supported (only gbtree models)");
    const json& model = key(booster, "model", path + ": gradient_booster");

    Ensemble e;
    e.source = "xgboost (" + objective + ")";
    e.sourceFile = path;
    e.comparison = Comparison::Less;  // XGBoost: fvalue < split_condition goes left
    e.inputFloat32 = true;
    e.sumFloat32 = true;              // predictions are accumulated in float
    e.nFeatures = integer(key(params, "num_feature", path), path + ": num_feature", 0, kMaxIndex);
    const int numClass = integer(key(params, "num_class", path), path + ": num_class", 0, kMaxIndex);
    e.nClasses = numClass > 1 ? numClass : 1;
    if (params.contains("num_target") && number(params["num_target"], path + ": num_target") > 1)
        throw Error(path + ": multi-target models are not supported");
    const double base = baseMargin(
        objective, number(key(params, "base_score", path), path + ": base_score"), path);
    e.baseScore.assign(size_t(e.nClasses), double(toFloat32(base, path + ": base_score")));
    if (learner.contains("feature_names") && learner["feature_names"].is_array())
        for (const json& n : learner["feature_names"])
            if (n.is_string()) e.featureNames.push_back(n.get<std::string>());

    const json& trees = key(model, "trees", path + ": model");
    const std::vector<int> treeInfo = integers(model, "tree_info", path + ": model", 0);
    if (!trees.is_array() || trees.size() != treeInfo.size())
        throw Error(path + ": 'trees' and 'tree_info' differ in length");
    for (size_t ti = 0; ti < trees.size(); ++ti) {
        const std::string where = path + ": tree " + std::to_string(ti);
        const json& jt = trees[ti];
        const auto left = integers(jt, "left_children", where, -1);
        const auto right = integers(jt, "right_children", where, -1);
        const auto cond = doubles(jt, "split_conditions", where);
        const auto feat = integers(jt, "split_indices", where, 0);
        const size_t n = left.size();
        if (right.size() != n || cond.size() != n || feat.size() != n)
            throw Error(where + ": node arrays differ in length");
        if (jt.contains("split_type"))
            for (const json& s : jt["split_type"])
                if (!s.is_number() || s.get<double>() != 0)
                    throw Error(where + ": categorical splits are not supported");
        Tree t;
        t.classIndex = treeInfo[ti];
        t.nodes.resize(n);
        for (size_t i = 0; i < n; ++i) {
            Node& nd = t.nodes[i];
            if (left[i] < 0) {
                nd.value = double(toFloat32(cond[i], where + ": node " + std::to_string(i)));  // a leaf keeps its weight in split_conditions
            } else {
                nd.feature = feat[i];
                nd.threshold = double(toFloat32(cond[i], where + ": node " + std::to_string(i)));
                nd.left = left[i];
                nd.right = right[i];
            }
        }
        e.trees.push_back(std::move(t));
    }
    verify(e);
    return e;
}

Ensemble tachyonFromJson(const json& doc, const std::string& path) {
    if (!doc.is_object() || doc.value("format", std::string()) != "tachyon-trees")
        throw Error(path + ": not a tachyon-trees JSON file (missing \"format\": \"tachyon-trees\")");
    if (number(key(doc, "version", path), path + ": version") != 1)
        throw Error(path + ": unsupported tachyon-trees version " + doc["version"].dump());
    Ensemble e;
    e.sourceFile = path;
    e.source = doc.value("source", std::string("tachyon-trees"));
    e.nFeatures = integer(key(doc, "n_features", path), path + ": n_features", 0, kMaxIndex);
    e.nClasses = integer(key(doc, "n_classes", path), path + ": n_classes", 0, kMaxIndex);
    const std::string cmp = key(doc, "comparison", path).get<std::string>();
    if (cmp == "<") e.comparison = Comparison::Less;
    else if (cmp == "<=") e.comparison = Comparison::LessEqual;
    else throw Error(path + ": comparison must be \"<\" or \"<=\", got \"" + cmp + "\"");
    e.inputFloat32 = doc.value("input_float32", true);
    e.sumFloat32 = doc.value("sum_float32", false);
    e.baseScore = doubles(doc, "base_score", path);
    const json& trees = key(doc, "trees", path);
    if (!trees.is_array()) throw Error(path + ": 'trees' is not an array");
    for (size_t ti = 0; ti < trees.size(); ++ti) {
        const std::string where = path + ": tree " + std::to_string(ti);
        const json& jt = trees[ti];
        const auto feature = integers(jt, "feature", where, -kMaxIndex);
        const auto threshold = doubles(jt, "threshold", where);
        const auto left = integers(jt, "left", where, -kMaxIndex);
        const auto right = integers(jt, "right", where, -kMaxIndex);
        const auto value = doubles(jt, "value", where);
        const size_t n = left.size();
        if (feature.size() != n || threshold.size() != n || right.size() != n || value.size() != n)
            throw Error(where + ": node arrays differ in length");
        Tree t;
        t.classIndex = integer(key(jt, "class", where), where + ": class", 0, kMaxIndex);
        t.nodes.resize(n);
        for (size_t i = 0; i < n; ++i) {
            Node& nd = t.nodes[i];
            if (left[i] < 0) {
                nd.value = value[i];
            } else {
                nd.feature = feature[i];
                nd.threshold = threshold[i];
                nd.left = left[i];
                nd.right = right[i];
            }
        }
        e.trees.push_back(std::move(t));
    }
    verify(e);
    return e;
}

}  // namespace

Ensemble readXgboostJson(const std::string& path) {
    return guarded(path, [&] { return xgboostFromJson(loadJson(path), path); });
}

Ensemble readTachyonJson(const std::string& path) {
    return guarded(path, [&] { return tachyonFromJson(loadJson(path), path); });
}

}  // namespace tachyon::trees
