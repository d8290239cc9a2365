#!/usr/bin/python3
"""Build Tachyon's GarNet test fixtures.

Usage: /usr/bin/python3 scripts/make_garnet_fixtures.py [OUTDIR]   (default: build/fixtures)

Keras-2-layout models with hls4ml's GarNet / GarNetStack custom layers (contrib/garnet.py:
simplified, input_format "xn", the zoo's config keys and weight names), written with
make_fixtures.write_keras_model, each with
  <name>.json + <name>_weights.h5,
  <name>_X.npy: 1000 rows of V*F vertex features (N(0,1)) followed by the vertex count;
                the counts cycle through 0, 1, V and then random values in [0, V],
  <name>_Y.npy: the model's outputs in float64, computed here in numpy from the Keras
                layer's equations, independently of Tachyon.

Everything is deterministic (fixed seeds); rerunning rewrites the same files.
"""

import numpy as np
from make_fixtures import ROWS, make_fixture_set, save_xy, write_keras_model

STAMP = "garnet_fixtures.stamp"
VERSION = "4"


def garnet_numpy(cfg, sublayers, data, nvtx):
    """The Keras layer (contrib/garnet.py, simplified) on data [B, V, F] and counts [B]:
    edge weights exp(-d^2) masked to the first n vertices, the mean over vertices (/V, or
    /n with mean_by_nvert), the output transform masked again, then the collapse."""
    B, V, _ = data.shape
    n = np.clip(np.trunc(nvtx), 0, V).astype(np.int64)
    mask = (np.arange(V)[None, :] < n[:, None]).astype(np.float64)[..., None]   # [B, V, 1]
    x = data
    for w in sublayers:
        feat = x @ w["FLR_kernel"] + w["FLR_bias"]                  # [B, V, P]
        dist = x @ w["S_kernel"] + w["S_bias"]                      # [B, V, A]
        edge = mask * np.exp(-dist ** 2)                            # [B, V, A]
        agg = np.einsum("bva,bvp->bap", edge, feat)                 # [B, A, P]
        if cfg["mean_by_nvert"]:
            agg = agg / np.maximum(n, 1)[:, None, None] * (n > 0)[:, None, None]
        else:
            agg = agg / V
        upd = np.einsum("bva,bap->bvap", edge, agg).reshape(B, V, -1)
        x = mask * (upd @ w["Fout_kernel"] + w["Fout_bias"])
    if cfg["collapse"] == "mean":
        return x.sum(axis=1) / (1.0 if cfg["mean_by_nvert"] else V)
    if cfg["collapse"] == "sum":
        return x.sum(axis=1)
    if cfg["collapse"] == "max":
        return x.max(axis=1)
    return x.reshape(B, -1)


def make_fixture(name, cls, V, F, cfg, head, outdir, seed):
    """cls: GarNet or GarNetStack; cfg: the layer's Keras config (sizes: ints for GarNet,
    lists for GarNetStack); head: units of a Dense(sigmoid) after it, or 0."""
    rng = np.random.default_rng(seed)
    stack = cls == "GarNetStack"
    P = cfg["n_propagate"] if stack else [cfg["n_propagate"]]
    A = cfg["n_aggregators"] if stack else [cfg["n_aggregators"]]
    Fo = cfg["n_filters"] if stack else [cfg["n_filters"]]
    sublayers, weights, n_in = [], {}, F
    for k in range(len(Fo)):
        w = {"FLR_kernel": rng.standard_normal((n_in, P[k])) * 0.6,
             "FLR_bias": rng.standard_normal(P[k]) * 0.2,
             "S_kernel": rng.standard_normal((n_in, A[k])) * 0.5,
             "S_bias": rng.standard_normal(A[k]) * 0.3,
             "Fout_kernel": rng.standard_normal((A[k] * P[k], Fo[k])) * 0.6,
             "Fout_bias": rng.standard_normal(Fo[k]) * 0.2}
        w = {key: v.astype(np.float32) for key, v in w.items()}
        used = {key: v.astype(np.float64) for key, v in w.items()}
        if cfg.get("quantize_transforms"):
            # What hls4ml converts (model/layers.py, GarNet._make_input_transform_weights):
            # FLR kernel, FLR bias and Fout kernel ternary, 1 above 0.5, -1 at or below -0.5.
            for key in ("FLR_kernel", "FLR_bias", "Fout_kernel"):
                used[key] = np.where(used[key] > 0.5, 1.0, np.where(used[key] <= -0.5, -1.0, 0.0))
        sublayers.append(used)
        suffix = str(k) if stack else ""
        for key, v in w.items():
            part, kind = key.split("_")
            weights.setdefault("gar", {})["%s%s_%s:0" % (part, suffix, kind)] = v
        n_in = Fo[k]
    full_cfg = dict({"name": "gar", "trainable": True, "dtype": "float32", "simplified": True,
                     "input_format": "xn", "output_activation": None, "quantize_transforms": False}, **cfg)
    if stack:
        full_cfg["n_sublayers"] = len(Fo)   # the Keras layer's own key; hls4ml's converter reads it
    layers = [
        {"class_name": "InputLayer", "name": "vertices", "inbound_nodes": [],
         "config": {"name": "vertices", "batch_input_shape": [None, V, F], "dtype": "float32"}},
        {"class_name": "InputLayer", "name": "nvtx", "inbound_nodes": [],
         "config": {"name": "nvtx", "batch_input_shape": [None, 1], "dtype": "int32"}},
        {"class_name": cls, "name": "gar", "config": full_cfg,
         "inbound_nodes": [[["vertices", 0, 0, {}], ["nvtx", 0, 0, {}]]]},
    ]
    out = "gar"
    if head:
        width = Fo[-1] if cfg["collapse"] else V * Fo[-1]
        wd = {"kernel:0": (rng.standard_normal((width, head)) * 0.5).astype(np.float32),
              "bias:0": (rng.standard_normal(head) * 0.1).astype(np.float32)}
        weights["dense"] = wd
        layers.append({"class_name": "Dense", "name": "dense",
                       "config": {"name": "dense", "units": head, "activation": "sigmoid", "use_bias": True},
                       "inbound_nodes": [[["gar", 0, 0, {}]]]})
        out = "dense"
    write_keras_model(outdir, name, layers, weights, ["vertices", "nvtx"], [out])

    data = rng.standard_normal((ROWS, V, F))
    nvtx = rng.integers(0, V + 1, ROWS).astype(np.float64)
    nvtx[:3] = [0, 1, V]
    y = garnet_numpy(cfg, sublayers, data, nvtx)
    if head:
        d = {key: v.astype(np.float64) for key, v in weights["dense"].items()}
        y = 1.0 / (1.0 + np.exp(-(y @ d["kernel:0"] + d["bias:0"])))
    X = np.concatenate([data.reshape(ROWS, -1), nvtx[:, None]], axis=1)
    save_xy(outdir, name, X, y.reshape(ROWS, -1))


MODELS = {
    # The zoo's garnet_1layer shape, smaller: GarNet, mean collapse, a Dense(sigmoid) head.
    "garnet_mean": ("GarNet", 16, 3, {"n_propagate": 4, "n_aggregators": 3, "n_filters": 5,
                                      "collapse": "mean", "mean_by_nvert": False}, 2),
    # Per-vertex output (no collapse), mean over the valid vertices.
    "garnet_vertices": ("GarNet", 8, 4, {"n_propagate": 3, "n_aggregators": 2, "n_filters": 3,
                                         "collapse": None, "mean_by_nvert": True}, 0),
    # A three-sublayer GarNetStack (the shape of hls4ml's garnet_3layer test), mean collapse.
    "garnet_stack3": ("GarNetStack", 32, 4, {"n_propagate": [4, 4, 4], "n_aggregators": [3, 3, 3],
                                              "n_filters": [6, 6, 4], "collapse": "mean",
                                              "mean_by_nvert": False}, 1),
    # GarNetStack with quantize_transforms (ternary input transform and output kernel, as
    # hls4ml converts it), two sublayers, mean collapse.
    "garnet_stack_ternary": ("GarNetStack", 16, 3, {"n_propagate": [4, 3], "n_aggregators": [2, 3],
                                                     "n_filters": [5, 4], "collapse": "mean",
                                                     "mean_by_nvert": False, "quantize_transforms": True}, 0),
    # Mean collapse with mean_by_nvert: Keras divides the vertex sum by the flag (1), hls4ml's
    # C++ by the count (its fixed point runs under Compatibility: hls4ml only).
    "garnet_mean_nvert": ("GarNet", 16, 3, {"n_propagate": 3, "n_aggregators": 2, "n_filters": 4,
                                            "collapse": "mean", "mean_by_nvert": True}, 0),
}


def main():
    def build(tmpdir, outdir):
        for i, (name, (cls, V, F, cfg, head)) in enumerate(MODELS.items()):
            make_fixture(name, cls, V, F, cfg, head, tmpdir, seed=9400 + i)
    make_fixture_set(".garnet_fixtures_", STAMP, VERSION, build, torch_threads=False)


if __name__ == "__main__":
    main()
