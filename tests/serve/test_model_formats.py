"""Model files the other serve tests do not cover, each served from its own version folder and
answered bit-exact against `tachyon predict`: a full Keras model in one .h5 (architecture and
weights together: the zoo's HGQ jet classifier) and a TMVA BDT (.xml, the hand-specified
forest of scripts/make_tree_fixtures.py)."""
import importlib.util
import json
import os

import numpy as np
import pytest
import requests

from serve_helpers import ROOT, ZOO, Server, add_model, predict

H5_FULL = os.path.join(ZOO, "keras", "hgq_jet_classifier.h5")


def write_tmva(path):
    spec = importlib.util.spec_from_file_location("make_tree_fixtures",
                                                  os.path.join(ROOT, "scripts", "make_tree_fixtures.py"))
    fixtures = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fixtures)
    fixtures.write_tmva(path)


def infer_binary(server, model, x):
    md = requests.get(server.http + "/v2/models/" + model).json()
    name = md["inputs"][0]["name"]
    raw = x.astype(np.float32).tobytes()
    header = json.dumps({"inputs": [{"name": name, "shape": list(x.shape), "datatype": "FP32",
                                     "parameters": {"binary_data_size": len(raw)}}],
                         "parameters": {"binary_data_output": True}}).encode()
    r = requests.post(server.http + "/v2/models/%s/infer" % model, data=header + raw,
                      headers={"Inference-Header-Content-Length": str(len(header))})
    assert r.status_code == 200, r.text
    n = int(r.headers["Inference-Header-Content-Length"])
    out = json.loads(r.content[:n])["outputs"][0]
    return np.frombuffer(r.content[n:], dtype=np.float32).reshape(out["shape"])


@pytest.mark.skipif(not os.path.isfile(H5_FULL), reason="shared model zoo ../shared/models absent")
def test_full_h5_and_tmva_served_bit_exact(tmp_path):
    repo = str(tmp_path / "repo")
    h5dir = add_model(repo, "h5full", [(H5_FULL, "model.h5")], "max_batch_size: 32\n")
    tmvadir = add_model(repo, "tmva", [], "max_batch_size: 8\n")
    write_tmva(os.path.join(tmvadir, "model.xml"))
    os.remove(os.path.join(tmvadir, "tmva_X.npy"))   # the version folder holds only the model
    expected = np.load(os.path.join(tmvadir, "tmva_expected.npy"))
    os.remove(os.path.join(tmvadir, "tmva_expected.npy"))
    server = Server(repo)
    try:
        x = np.random.default_rng(5).normal(size=(9, 16)).astype(np.float32)
        np.testing.assert_array_equal(infer_binary(server, "h5full", x),
                                      predict(os.path.join(h5dir, "model.h5"), x).astype(np.float32))
        # Points on both sides of every cut of the hand-made forest.
        pts = np.array([[3.0, 0.0], [2.0, -2.0], [2.0, 0.0], [2.6, 1.0], [2.4, 0.6]], np.float32)
        got = infer_binary(server, "tmva", pts)
        np.testing.assert_array_equal(got, predict(os.path.join(tmvadir, "model.xml"), pts).astype(np.float32))
        assert got.ravel().tolist() == [0.75 - 0.375, -0.5 - 0.375, -0.25 - 0.375, 0.75 + 0.125, -0.25 + 0.125]
        assert expected.ndim == 2   # the script's own reference was written (its format is what we served)
    finally:
        server.stop()
