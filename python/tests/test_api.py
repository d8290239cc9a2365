"""The Python API against the CLI (one code path: both call src/api) and against the
training framework. Run by ctest (test `python_api`):

    PYTHONPATH=build/python /usr/bin/python3 -m pytest python/tests

Fixtures: build/cli_test (examples/make_jet_tagger.py) and build/fixtures
(scripts/make_tree_fixtures.py), made by ctest's make_fixtures; tests skip without them.
"""
import json
import os
import subprocess
import threading

import numpy as np
import pytest

import tachyon

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("TACHYON_BINARY_DIR", os.path.join(ROOT, "build"))
CLI = os.environ.get("TACHYON_CLI", os.path.join(BUILD, "tachyon"))
FIXTURES = os.environ.get("TACHYON_FIXTURES", os.path.join(BUILD, "fixtures"))
JET = os.path.join(BUILD, "cli_test", "jet_tagger.onnx")
JET_X = os.path.join(BUILD, "cli_test", "jet_tagger_X.npy")
JET_Y = os.path.join(BUILD, "cli_test", "jet_tagger_Y.npy")

need_jet = pytest.mark.skipif(not os.path.exists(JET), reason="examples/make_jet_tagger.py build/cli_test not run")
need_trees = pytest.mark.skipif(not os.path.exists(os.path.join(FIXTURES, "xgb_multi.json")),
                                reason="scripts/make_tree_fixtures.py not run")


def cli(*args, check=True):
    r = subprocess.run([CLI, *map(str, args)], capture_output=True, text=True)
    if check and r.returncode != 0:
        raise AssertionError(r.stderr)
    return r


@pytest.fixture(scope="module")
def jet():
    return tachyon.load(JET)


@pytest.fixture(scope="module")
def x():
    return np.load(JET_X)


@need_jet
def test_predict_equals_cli_bit_for_bit(jet, x, tmp_path):
    y = jet.predict(x)
    cli("predict", JET, "-i", JET_X, "-o", tmp_path / "y.npy")
    assert np.array_equal(y, np.load(tmp_path / "y.npy"))
    yf = jet.predict(x, float=True)
    cli("predict", JET, "-i", JET_X, "-o", tmp_path / "yf.npy", "--float")
    assert np.array_equal(yf, np.load(tmp_path / "yf.npy"))


@need_jet
def test_float_mode_equals_pytorch(jet, x):
    assert np.allclose(jet.predict(x, float=True), np.load(JET_Y), rtol=1e-6, atol=1e-6)


@need_jet
def test_input_dtypes_layouts_and_shapes(jet, x):
    y = jet.predict(x)
    assert y.shape == (len(x), 5) and y.dtype == np.float64
    assert np.array_equal(jet.predict(x.astype(np.float32)), jet.predict(x.astype(np.float32).astype(np.float64)))
    assert np.array_equal(jet.predict(np.asfortranarray(x)), y)
    assert np.array_equal(jet.predict(x[3]), y[3:4])          # one sample
    assert np.array_equal(jet.predict(x[::2]), y[::2])        # strided view
    assert jet.input_shape == (16,) and jet.output_shape == (5,)


@need_jet
def test_threads_and_gil_release(jet, x):
    big = np.tile(x, (20, 1))
    ref = jet.predict(big, threads=1)
    assert np.array_equal(jet.predict(big, threads=2), ref)
    out = [None] * 4

    def work(k):
        out[k] = jet.predict(big, threads=1)

    ts = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert all(np.array_equal(o, ref) for o in out)


@need_jet
def test_errors_are_exceptions_with_the_cli_message(tmp_path, x):
    bad = tmp_path / "bad.yml"
    bad.write_text("Model:\n  Precision: ap_fixed<16,6>\n  Bogus: 3\n")
    with pytest.raises(tachyon.TachyonError) as e:
        tachyon.load(JET, config=str(bad))
    r = cli("predict", JET, "-c", bad, "-i", JET_X, "-o", tmp_path / "y.npy", check=False)
    assert r.returncode == 1
    assert r.stderr.strip() == "tachyon: error: " + str(e.value)
    assert "Bogus" in str(e.value)
    with pytest.raises(tachyon.TachyonError, match="no such file"):
        tachyon.load(tmp_path / "missing.onnx")
    m = tachyon.load(JET)
    with pytest.raises(ValueError, match=r"shape \(3, 7\).*expected \(N, 16\)"):
        m.predict(np.zeros((3, 7)))
    with pytest.raises(tachyon.TachyonError, match="Precision"):
        m.config = {"Model": {"Precision": "ap_fixed<16,6,NOPE>"}}
    assert np.array_equal(m.predict(x[:10]), tachyon.load(JET).predict(x[:10]))  # unchanged after the error


@need_jet
def test_config_dict_edits_rerun_the_passes(x, tmp_path):
    m = tachyon.load(JET)
    assert m.config["Model"]["Precision"] == "ap_fixed<16,6>"
    y16 = m.predict(x)
    m.config["Model"]["Precision"] = "ap_fixed<8,3>"          # in place: applied on the next call
    y8 = m.predict(x)
    assert not np.array_equal(y8, y16)
    (tmp_path / "c8.yml").write_text(tachyon._tachyon.config_to_yaml(m.config))
    cli("predict", JET, "-c", tmp_path / "c8.yml", "-i", JET_X, "-o", tmp_path / "y8.npy")
    assert np.array_equal(y8, np.load(tmp_path / "y8.npy"))
    assert np.array_equal(tachyon.load(JET, config=m.config).predict(x), y8)
    assert np.array_equal(tachyon.load(JET, config=str(tmp_path / "c8.yml")).predict(x), y8)


@need_jet
def test_config_from_model_granularities():
    c = tachyon.config_from_model(JET, granularity="name", default_precision="ap_fixed<12,4>")
    names = set(c["LayerName"])
    m = tachyon.load(JET, config=c)
    assert set(m.layers) <= names
    assert all(v["Precision"]["result"] == "ap_fixed<12,4>" for v in c["LayerName"].values())
    t = tachyon.config_from_onnx_model(JET, granularity="type")
    assert "Dense" in t["LayerType"]
    # Templates keep ap_fixed<16,6> and choose exact accumulators, which cannot wrap.
    assert tachyon.config_from_model(JET)["Model"]["Precision"] == {"default": "ap_fixed<16,6>", "accum": "auto"}
    with pytest.raises(tachyon.TachyonError, match="granularity"):
        tachyon.config_from_model(JET, granularity="layer")


@need_jet
def test_trace_and_overflow_report(jet, x, tmp_path):
    tr = jet.trace(x[:100])
    assert list(tr) == jet.layers
    assert np.array_equal(tr[jet.layers[-1]], jet.predict(x[:100]))
    cli("predict", JET, "-i", JET_X, "-o", tmp_path / "y.npy", "--trace", tmp_path / "tr")
    for name, a in tr.items():
        assert np.array_equal(a, np.load(tmp_path / "tr" / (name + ".npy"))[:100])
    small = tachyon.load(JET, config={"Model": {"Precision": "ap_fixed<6,2>"}})
    rep = small.overflow_report(x)
    assert sum(v["result_overflows"] for v in rep.values()) > 0
    assert all(v["values"] > 0 for v in rep.values())


@need_jet
def test_profile_report_plots_and_cli(jet, x, tmp_path):
    rep = jet.profile(x, plot_dir=tmp_path / "p")
    names = [l["name"] for l in rep["layers"]]
    assert names == jet.layers
    dense = [l for l in rep["layers"] if l["kind"] == "Dense"][0]
    vars_ = {v["var"]: v for v in dense["vars"]}
    assert {"weight", "bias", "accum", "result"} <= set(vars_)
    assert vars_["accum"]["type"] == "ap_fixed<16,6>"
    for f in ("weights.png", "activations.png", "profile.json", "profile.txt"):
        assert (tmp_path / "p" / f).stat().st_size > 0
    assert (tmp_path / "p" / "weights.png").read_bytes()[:4] == b"\x89PNG"
    r = cli("profile", JET, "-i", JET_X, "-o", tmp_path / "q")
    assert r.stdout == rep["table"]
    assert json.loads((tmp_path / "q" / "profile.json").read_text()) == \
        json.loads((tmp_path / "p" / "profile.json").read_text())


@need_jet
def test_auto_precision_meets_target_and_equals_cli(x, tmp_path):
    r = tachyon.auto_precision(JET, x, target_agreement=0.99, max_bits=16)
    assert r["met"] and r["classifier"] and r["metric"] >= 0.99
    m = tachyon.load(JET, config=r["config"])
    agree = (m.predict(x).argmax(1) == m.predict(x, float=True).argmax(1)).mean()
    assert agree == pytest.approx(r["metric"])
    for types in r["layers"].values():
        for var, t in types.items():
            # Exact accumulators (the default) are as wide as the products need, which
            # --max-bits does not bound (docs/python.md).
            if t != "auto" and var != "accum":
                assert int(t.split("<")[1].split(",")[0]) <= 16
    cli("config", JET, "--auto-precision", JET_X, "--target-agreement", "0.99", "--max-bits", "16",
        "-o", tmp_path / "auto.yml")
    assert tachyon._tachyon.yaml_to_config((tmp_path / "auto.yml").read_text()) == r["config"]
    # Regression mode on the same model: a relative error bound instead.
    g = tachyon.auto_precision(JET, x[:300], max_error=0.05)
    assert not g["classifier"] and g["met"] and g["metric"] <= 0.05


@need_jet
def test_model_auto_precision_applies_config(x):
    m = tachyon.load(JET)
    r = m.auto_precision(x, target_agreement=0.99)
    assert m.config == r["config"]
    assert (m.predict(x).argmax(1) == m.predict(x, float=True).argmax(1)).mean() >= 0.99


@need_jet
def test_write_hls_csim_and_verilog(jet, tmp_path):
    jet.write_hls(tmp_path / "hls")
    assert (tmp_path / "hls" / "build_prj.tcl").exists()
    r = jet.csim(tmp_path / "hls")
    assert r["rows"] > 0 and r["mismatches"] == 0
    jet.write_verilog(tmp_path / "v")
    assert any(p.suffix == ".v" for p in (tmp_path / "v" / "rtl").iterdir())
    with pytest.raises(tachyon.TachyonError, match="parent directory"):
        jet.write_hls(tmp_path / "no" / "such" / "dir")
    # The ROM backend takes any model, but the jet tagger's inputs are far too many bits.
    with pytest.raises(tachyon.TachyonError, match="LutMaxInputBits"):
        jet.write_lut(tmp_path / "lut")
    assert not (tmp_path / "lut").exists()


@need_trees
def test_trees_predict_and_projects(tmp_path):
    path = os.path.join(FIXTURES, "xgb_multi.json")
    xt = np.load(os.path.join(FIXTURES, "X_test.npy"))[:2000]
    m = tachyon.load(path)
    assert m.is_tree and m.config["InputPrecision"]
    assert np.allclose(m.predict(xt, float=True), np.load(os.path.join(FIXTURES, "xgb_multi_ref.npy"))[:2000],
                       rtol=1e-5, atol=1e-5)
    np.save(tmp_path / "x.npy", xt)
    cli("predict", path, "-i", tmp_path / "x.npy", "-o", tmp_path / "y.npy")
    assert np.array_equal(m.predict(xt), np.load(tmp_path / "y.npy"))
    m.config["ScorePrecision"] = "ap_fixed<12,4>"
    assert not np.array_equal(m.predict(xt), np.load(tmp_path / "y.npy"))
    m.write_hls(tmp_path / "hls")
    assert m.csim(tmp_path / "hls")["mismatches"] == 0
    m.write_verilog(tmp_path / "v")
    assert (tmp_path / "v").is_dir()
    m.config["Bogus"] = 1
    with pytest.raises(tachyon.TachyonError, match="Bogus"):
        m.predict(xt)


@pytest.mark.skipif(not os.path.exists(os.path.join(FIXTURES, "keras_dense.json")),
                    reason="scripts/make_fixtures.py not run")
def test_load_keras_json_with_separately_named_weights(tmp_path):
    """load(json, weights=...) reads that file: a pruned copy under an unrelated name gives the
    same numbers as the same file in the <stem>_weights.h5 layout, and differs from the original."""
    import shutil
    import h5py
    shutil.copy(os.path.join(FIXTURES, "keras_dense.json"), tmp_path / "arch.json")
    pruned = tmp_path / "pruned_70.h5"
    shutil.copy(os.path.join(FIXTURES, "keras_dense_weights.h5"), pruned)
    with h5py.File(pruned, "r+") as f:
        def prune(name, obj):
            if isinstance(obj, h5py.Dataset) and obj.size > 1:
                w = obj[()]
                w[np.abs(w) < np.median(np.abs(w))] = 0
                obj[...] = w
        f.visititems(prune)
    (tmp_path / "conv").mkdir()
    shutil.copy(tmp_path / "arch.json", tmp_path / "conv" / "arch.json")
    shutil.copy(pruned, tmp_path / "conv" / "arch_weights.h5")
    x = np.load(os.path.join(FIXTURES, "keras_dense_X.npy"))[:50]

    named = tachyon.load(str(tmp_path / "arch.json"), weights=str(pruned)).predict(x, float=True)
    conventional = tachyon.load(str(tmp_path / "conv" / "arch.json")).predict(x, float=True)
    original = tachyon.load(os.path.join(FIXTURES, "keras_dense.json")).predict(x, float=True)
    assert np.array_equal(named, conventional)
    assert not np.array_equal(named, original)
    with pytest.raises(Exception, match="nope.h5"):
        tachyon.load(str(tmp_path / "arch.json"), weights=str(tmp_path / "nope.h5"))
    # auto_precision reloads the model: from the same weights (no arch_weights.h5 exists here).
    m = tachyon.load(str(tmp_path / "arch.json"), weights=str(pruned))
    r = m.auto_precision(np.load(os.path.join(FIXTURES, "keras_dense_X.npy"))[:200], max_error=0.05)
    assert r["met"] and m.config == r["config"]
