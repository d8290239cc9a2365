#!/usr/bin/python3
"""Train the tree-ensemble test fixtures and write them with reference outputs.

Usage: /usr/bin/python3 scripts/make_tree_fixtures.py OUTDIR

Writes (all inputs are float64 .npy, references are the libraries' own outputs):
  X_test.npy                      10,000 x 16 evaluation rows
  xgb_binary.json / _ref.npy      XGBoost binary:logistic, 40 trees, depth 4, base_score 0.3
  xgb_multi.json / _ref.npy       XGBoost multi:softprob, 5 classes x 20 trees, depth 3
  skl_gb_binary.json / _ref.npy   sklearn GradientBoostingClassifier (decision_function)
  skl_gb_multi.json / _ref.npy    same, 5 classes
  skl_rf_binary.json / _ref.npy   sklearn RandomForestClassifier (predict_proba[:, 1])
  skl_rf_multi.json / _ref.npy    same, 5 classes (predict_proba)
  bench_60x3.json / _ref.npy      XGBoost binary, 60 trees, depth 3 (the README benchmark)
  xgb_small4.json, X_small4.npy   XGBoost, 4 features, for the lookup-table compiler
  tmva_known.xml, tmva_X.npy, tmva_expected.npy
                                  a hand-specified TMVA BDT and its hand-computed outputs
XGBoost references use output_margin=True (raw margin, base score included).
The sklearn models go through `export_sklearn`, the tachyon-trees JSON format
documented in docs/trees.md.
"""
import json
import os
import sys

import numpy as np

N_FEATURES = 16
N_TEST = 10000


def export_sklearn(model, path):
    """Write a fitted GradientBoostingClassifier / RandomForestClassifier as tachyon-trees JSON.

    Leaf values are stored already scaled (learning rate, or probability / n_trees), so that
    the model output is base_score[k] + sum of the leaves of the class-k trees, summed in
    double in tree order, exactly as sklearn's decision_function / predict_proba do.
    """
    from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier

    trees = []

    def tree_arrays(t, values, cls):
        return {
            "class": cls,
            "feature": [int(f) if l >= 0 else -1 for f, l in zip(t.feature, t.children_left)],
            "threshold": [float(v) if l >= 0 else 0.0 for v, l in zip(t.threshold, t.children_left)],
            "left": [int(v) for v in t.children_left],
            "right": [int(v) for v in t.children_right],
            "value": [float(v) for v in values],
        }

    if isinstance(model, GradientBoostingClassifier):
        n_classes = model.estimators_.shape[1]
        base = model._raw_predict_init(np.zeros((1, model.n_features_in_)))[0]
        lr = model.learning_rate
        for stage in model.estimators_:
            for k, est in enumerate(stage):
                t = est.tree_
                trees.append(tree_arrays(t, [lr * v for v in t.value[:, 0, 0]], k))
        source = "sklearn.GradientBoostingClassifier"
    elif isinstance(model, RandomForestClassifier):
        n_all = len(model.classes_)
        classes = [1] if n_all == 2 else list(range(n_all))
        n_classes = len(classes)
        base = np.zeros(n_classes)
        n_trees = len(model.estimators_)
        for est in model.estimators_:
            t = est.tree_
            counts = t.value[:, 0, :]
            norm = counts.sum(axis=1)
            norm[norm == 0] = 1.0
            proba = counts / norm[:, None]
            for k, c in enumerate(classes):
                trees.append(tree_arrays(t, proba[:, c] / n_trees, k))
        source = "sklearn.RandomForestClassifier"
    else:
        raise TypeError("unsupported model type %s" % type(model).__name__)

    doc = {
        "format": "tachyon-trees",
        "version": 1,
        "source": source,
        "n_features": int(model.n_features_in_),
        "n_classes": int(n_classes),
        "comparison": "<=",
        "input_float32": True,
        "sum_float32": False,
        "base_score": [float(b) for b in base],
        "trees": trees,
    }
    with open(path, "w") as f:
        json.dump(doc, f)


def write_tmva(path):
    """A hand-specified TMVA gradient-boosted BDT (2 trees, 2 variables).

    TMVA (ROOT 6) goes right when x >= Cut for cType="1" (left when x < Cut), and
    the other way round for cType="0". The response of a BoostType=Grad forest is the
    sum of the leaf `res` values (before TMVA's 2/(1+exp(-2F))-1 mapping).
    """
    xml = """<?xml version="1.0"?>
<MethodSetup Method="BDT::BDTG">
  <GeneralInfo>
    <Info name="TMVA Release" value="4.2.1 [262657]"/>
    <Info name="ROOT Release" value="6.24/06 [399366]"/>
  </GeneralInfo>
  <Options>
    <Option name="NTrees" modified="Yes">2</Option>
    <Option name="BoostType" modified="Yes">Grad</Option>
  </Options>
  <Variables NVar="2">
    <Variable VarIndex="0" Expression="pt" Label="pt" Title="pt" Unit="" Internal="pt" Type="F" Min="0" Max="10"/>
    <Variable VarIndex="1" Expression="eta" Label="eta" Title="eta" Unit="" Internal="eta" Type="F" Min="-3" Max="3"/>
  </Variables>
  <Spectators NSpec="0"/>
  <Classes NClass="2">
    <Class Name="Signal" Index="0"/>
    <Class Name="Background" Index="1"/>
  </Classes>
  <Transformations NTransformations="0"/>
  <MVAPdfs/>
  <Weights NTrees="2" AnalysisType="0">
    <BinaryTree type="DecisionTree" boostWeight="1.0000000000000000e+00" itree="0">
      <Node pos="s" depth="0" NCoef="0" IVar="0" Cut="2.5000000000000000e+00" cType="1" res="0.0" rms="0.0" purity="0.5" nType="0">
        <Node pos="l" depth="1" NCoef="0" IVar="1" Cut="-1.0000000000000000e+00" cType="1" res="0.0" rms="0.0" purity="0.5" nType="0">
          <Node pos="l" depth="2" NCoef="0" IVar="-1" Cut="0.0" cType="1" res="-5.0000000000000000e-01" rms="0.0" purity="0.1" nType="-1"/>
          <Node pos="r" depth="2" NCoef="0" IVar="-1" Cut="0.0" cType="1" res="-2.5000000000000000e-01" rms="0.0" purity="0.3" nType="-1"/>
        </Node>
        <Node pos="r" depth="1" NCoef="0" IVar="-1" Cut="0.0" cType="1" res="7.5000000000000000e-01" rms="0.0" purity="0.9" nType="1"/>
      </Node>
    </BinaryTree>
    <BinaryTree type="DecisionTree" boostWeight="1.0000000000000000e+00" itree="1">
      <Node pos="s" depth="0" NCoef="0" IVar="1" Cut="5.0000000000000000e-01" cType="0" res="0.0" rms="0.0" purity="0.5" nType="0">
        <Node pos="l" depth="1" NCoef="0" IVar="-1" Cut="0.0" cType="1" res="1.2500000000000000e-01" rms="0.0" purity="0.6" nType="1"/>
        <Node pos="r" depth="1" NCoef="0" IVar="-1" Cut="0.0" cType="1" res="-3.7500000000000000e-01" rms="0.0" purity="0.2" nType="-1"/>
      </Node>
    </BinaryTree>
  </Weights>
</MethodSetup>
"""
    with open(path, "w") as f:
        f.write(xml)
    # Rows chosen to sit on and around every cut (equality included).
    X = np.array([
        [1.0, -2.0], [1.0, -1.0], [1.0, 0.0], [2.5, -2.0], [3.0, 0.5],
        [3.0, 0.25], [2.499, 1.0], [0.0, 0.5], [5.0, -3.0], [2.5, 0.5],
    ])
    expected = []
    for pt, eta in X:
        # tree 0: cType=1 -> right when x >= cut
        if pt >= 2.5:
            t0 = 0.75
        else:
            t0 = -0.25 if eta >= -1.0 else -0.5
        # tree 1: cType=0 -> right when NOT (x >= cut), i.e. x < cut
        t1 = -0.375 if eta < 0.5 else 0.125
        expected.append([t0 + t1])
    np.save(os.path.join(os.path.dirname(path), "tmva_X.npy"), X)
    np.save(os.path.join(os.path.dirname(path), "tmva_expected.npy"), np.array(expected))


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make_tree_fixtures.py OUTDIR")
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    import xgboost as xgb
    from sklearn.datasets import make_classification
    from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier

    def data(n_classes, n_features=N_FEATURES, seed=1):
        X, y = make_classification(n_samples=4000 + N_TEST, n_features=n_features,
                                   n_informative=min(10, n_features), n_redundant=0,
                                   n_classes=n_classes, n_clusters_per_class=1,
                                   random_state=seed)
        return X[:4000], y[:4000], X[4000:]

    Xb, yb, Xt = data(2)
    Xm, ym, _ = data(5)
    np.save(os.path.join(out, "X_test.npy"), Xt)

    def save(name, ref):
        np.save(os.path.join(out, name + "_ref.npy"), np.asarray(ref, dtype=np.float64).reshape(len(ref), -1))

    def xgb_fit(name, X, y, params, rounds):
        booster = xgb.train(dict(params, tree_method="exact", nthread=1), xgb.DMatrix(X, label=y), rounds)
        booster.save_model(os.path.join(out, name + ".json"))
        save(name, booster.predict(xgb.DMatrix(Xt), output_margin=True))

    xgb_fit("xgb_binary", Xb, yb, {"objective": "binary:logistic", "max_depth": 4, "base_score": 0.3}, 40)
    xgb_fit("xgb_multi", Xm, ym, {"objective": "multi:softprob", "num_class": 5, "max_depth": 3}, 20)
    xgb_fit("bench_60x3", Xb, yb, {"objective": "binary:logistic", "max_depth": 3}, 60)

    gb = GradientBoostingClassifier(n_estimators=30, max_depth=3, random_state=0).fit(Xb, yb)
    export_sklearn(gb, os.path.join(out, "skl_gb_binary.json"))
    save("skl_gb_binary", gb.decision_function(Xt))
    gbm = GradientBoostingClassifier(n_estimators=12, max_depth=3, random_state=0).fit(Xm, ym)
    export_sklearn(gbm, os.path.join(out, "skl_gb_multi.json"))
    save("skl_gb_multi", gbm.decision_function(Xt))
    rf = RandomForestClassifier(n_estimators=20, max_depth=5, random_state=0).fit(Xb, yb)
    export_sklearn(rf, os.path.join(out, "skl_rf_binary.json"))
    save("skl_rf_binary", rf.predict_proba(Xt)[:, 1])
    rfm = RandomForestClassifier(n_estimators=10, max_depth=4, random_state=0).fit(Xm, ym)
    export_sklearn(rfm, os.path.join(out, "skl_rf_multi.json"))
    save("skl_rf_multi", rfm.predict_proba(Xt))

    # Small model for the lookup-table compiler: 4 features in [-2, 2).
    rng = np.random.default_rng(3)
    Xs = rng.uniform(-2, 2, size=(3000, 4))
    ys = ((Xs[:, 0] * Xs[:, 1] + Xs[:, 2] - 0.5 * Xs[:, 3]) > 0).astype(int)
    booster = xgb.train({"objective": "binary:logistic", "max_depth": 3, "tree_method": "exact",
                         "nthread": 1}, xgb.DMatrix(Xs, label=ys), 10)
    booster.save_model(os.path.join(out, "xgb_small4.json"))
    np.save(os.path.join(out, "X_small4.npy"), Xs[:500])

    write_tmva(os.path.join(out, "tmva_known.xml"))
    print("tree fixtures written to", out)


if __name__ == "__main__":
    main()
