"""Tree ensembles as a layer of the one IR (issue #20): the library's trace, overflow
report, profile and auto-precision work on a tree model as on a network, and its HLS and
Verilog projects come from the network writers."""
import json
import os

import numpy as np
import pytest

import tachyon

BUILD = os.environ.get("TACHYON_BINARY_DIR", os.path.join(os.path.dirname(__file__), "..", "..", "build"))
FIXTURES = os.environ.get("TACHYON_FIXTURES", os.path.join(BUILD, "fixtures"))
TREE = os.path.join(FIXTURES, "xgb_multi.json")

pytestmark = pytest.mark.skipif(not os.path.exists(TREE), reason="scripts/make_tree_fixtures.py not run")


def rows(n=3000):
    return np.load(os.path.join(FIXTURES, "X_test.npy"))[:n]


def test_trace_gives_the_input_and_the_trees_scores():
    m = tachyon.load(TREE)
    x = rows(200)
    t = m.trace(x)
    assert list(t) == ["input", "trees"]
    assert np.array_equal(t["trees"], m.predict(x))
    ti = np.asarray(t["input"])
    assert ti.shape == x.shape and not np.array_equal(ti, x)   # quantised to InputPrecision
    assert np.array_equal(m.trace(x, float=True)["trees"], m.predict(x, float=True))


def test_overflow_report_counts_score_overflows():
    x = rows()
    wide = tachyon.load(TREE).overflow_report(x)
    assert wide["trees"]["result_overflows"] == 0
    narrow = tachyon.load(TREE, config={"ScorePrecision": "ap_fixed<6,1>"}).overflow_report(x)
    assert narrow["trees"]["result_overflows"] > 0
    assert narrow["trees"]["values"] == wide["trees"]["values"] == x.shape[0] * 5


def test_profile_shows_thresholds_and_scores():
    rep = tachyon.load(TREE).profile(rows())
    trees = [layer for layer in rep["layers"] if layer["name"] == "trees"][0]
    variables = {v["var"]: v for v in trees["vars"]}
    assert {"threshold", "result"} <= set(variables)
    assert variables["threshold"]["min"] < variables["threshold"]["max"]


def test_auto_precision_types_a_tree_model():
    m = tachyon.load(TREE)
    x = rows(2000)
    r = m.auto_precision(x, target_agreement=0.99, max_bits=18)
    assert r["met"], r["table"]
    assert "trees" in r["layers"] and "result" in r["layers"]["trees"]
    # The chosen configuration is this model's now, and it runs.
    y = m.predict(x, check_fidelity=False)
    agree = np.mean(np.argmax(y, 1) == np.argmax(m.predict(x, float=True), 1))
    assert agree >= 0.99


def test_tree_projects_come_from_the_network_writers(tmp_path):
    m = tachyon.load(TREE, config=dict(tachyon.load(TREE).config, Pipeline=2))
    m.write_hls(tmp_path / "hls")
    with open(tmp_path / "hls" / "tachyon_project.json") as f:
        assert json.load(f)["kind"] == "nn"
    assert "nnet::bdt" in (tmp_path / "hls" / "firmware" / "tachyon_bdt.cpp").read_text()
    assert m.csim(tmp_path / "hls")["mismatches"] == 0
    m.write_verilog(tmp_path / "v")
    with open(tmp_path / "v" / "tachyon_project.json") as f:
        assert json.load(f)["latency_cycles"] == 2   # the configuration's Pipeline
    assert m.rtlsim(tmp_path / "v")["mismatches"] == 0
