"""Issue #27 from Python: errors are TachyonError / TypeError / ValueError, inputs are checked
strictly, warnings are issued (and returned), the model survives a configuration swap in
another thread, Ctrl-C stops a prediction, and in-memory models load (onnx.ModelProto, bytes,
torch.nn.Module with hls4ml's PyTorch layer names)."""
import os
import signal
import subprocess
import threading
import time
import warnings

import numpy as np
import pytest

import tachyon

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("TACHYON_BINARY_DIR", os.path.join(ROOT, "build"))
CLI = os.environ.get("TACHYON_CLI", os.path.join(BUILD, "tachyon"))
JET = os.path.join(BUILD, "cli_test", "jet_tagger.onnx")
JET_X = os.path.join(BUILD, "cli_test", "jet_tagger_X.npy")
ZOO = os.path.join(os.path.dirname(ROOT), "shared", "models", "keras")
CONV1D = os.path.join(ZOO, "KERAS_conv1d_small.json")
DENSE100 = os.path.join(ZOO, "KERAS_dense_16x100x100x100x100x100x5.json")
FIXTURES = os.environ.get("TACHYON_FIXTURES", os.path.join(BUILD, "fixtures"))
TREE = os.path.join(FIXTURES, "xgb_multi.json")

need_jet = pytest.mark.skipif(not os.path.exists(JET), reason="examples/make_jet_tagger.py build/cli_test not run")
need_zoo = pytest.mark.skipif(not os.path.exists(CONV1D), reason="the shared model zoo is not at ../shared/models")


def quiet(fn, *args, **kwargs):
    """Calls fn with the warnings it issues recorded, not shown: (result, warnings)."""
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        r = fn(*args, **kwargs)
    return r, seen


@pytest.fixture(scope="module")
def x():
    return np.load(JET_X)


# ---------------------------------------------------------------- errors and inputs

@need_jet
def test_wrong_types_and_values_are_type_and_value_errors(x, tmp_path):
    m = tachyon.load(JET)
    with pytest.raises(TypeError, match="path"):
        tachyon.load(123)
    with pytest.raises(TypeError, match="config"):
        tachyon.load(JET, config=5)
    with pytest.raises(TypeError, match="input_shape"):
        tachyon.load(JET, input_shape=(16,))
    with pytest.raises(TypeError, match="dtype complex128"):
        m.predict(x.astype(np.complex128))
    with pytest.raises(TypeError, match="dtype"):
        m.predict(np.array([["a"] * 16]))
    with pytest.raises(TypeError):
        m.predict(x, float="yes")
    with pytest.raises(ValueError, match="threads"):
        m.predict(x, threads=-1)
    with pytest.raises(ValueError, match="threads"):
        m.predict(x, threads=100000)
    with pytest.raises(TypeError, match="config"):
        m.config = ["Model"]
    with pytest.raises(TypeError, match="directory"):
        m.write_hls(None)
    with pytest.raises(ValueError, match="path"):
        m.write_hls("")
    assert not any(tmp_path.iterdir())


@need_jet
def test_input_shape_is_checked_strictly(x):
    m = tachyon.load(JET)
    # The reproducer: 2 x 4 x 4 = 32 values, 16 per row if read flat, used to return (2, 5).
    with pytest.raises(ValueError) as e:
        m.predict(np.zeros((2, 4, 4)))
    assert "(2, 4, 4)" in str(e.value) and "(N, 16)" in str(e.value)
    for bad in (np.zeros(()), np.zeros((15,)), np.zeros((3, 17)), np.zeros((3, 16, 1)), np.zeros((0,))):
        with pytest.raises(ValueError):
            m.predict(bad)
    with pytest.raises(ValueError):
        m.trace(np.zeros((2, 4, 4)))
    y = m.predict(x[:20])
    assert np.array_equal(m.predict(x[:20].tolist()), y)               # lists are arrays
    assert np.array_equal(m.predict(x[5]), y[5:6])                     # one sample of input_shape
    assert m.predict(np.zeros((0, 16))).shape == (0, 5)
    xi = np.round(x[:20] * 4).astype(np.int16)
    assert np.array_equal(m.predict(xi), m.predict(xi.astype(np.float64)))
    assert np.array_equal(m.predict(xi > 0), m.predict((xi > 0).astype(np.float64)))


@need_zoo
def test_multidimensional_input_takes_both_layouts():
    m = tachyon.load(CONV1D)
    assert m.input_shape == (10, 4)
    x = np.random.default_rng(1).normal(size=(7, 10, 4))
    y = m.predict(x, check_fidelity=False)
    assert np.array_equal(m.predict(x.reshape(7, 40), check_fidelity=False), y)
    with pytest.raises(ValueError, match=r"expected \(N, 10, 4\) or \(N, 40\)"):
        m.predict(x.reshape(7, 4, 10))


@need_jet
def test_library_errors_are_tachyon_errors(tmp_path, monkeypatch):
    onnx = pytest.importorskip("onnx")
    with pytest.raises(tachyon.TachyonError):
        tachyon.load(onnx.ModelProto())
    with pytest.raises(tachyon.TachyonError):
        tachyon.load(b"this is not a model")
    with pytest.raises(ValueError, match="empty"):
        tachyon.load(b"")
    # write_hls(".") raised a raw RuntimeError (filesystem error); whatever the library
    # decides about ".", the failure is a TachyonError. Run it in an empty folder.
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    m = tachyon.load(JET)
    try:
        m.write_hls(".")
    except Exception as e:
        assert isinstance(e, tachyon.TachyonError), repr(e)
    (tmp_path / "a_file").write_text("not a folder")
    with pytest.raises(tachyon.TachyonError):
        m.profile(np.zeros((3, 16)), plot_dir=tmp_path / "a_file" / "p")
    with pytest.raises(tachyon.TachyonError):
        tachyon.write_profile({"layers": [{"name": 1}]}, tmp_path / "w")


# ---------------------------------------------------------------- warnings

@need_jet
def test_overflow_and_nonfinite_warnings(x):
    narrow = tachyon.load(JET, config={"Model": {"Precision": "ap_fixed<8,3>"}})
    with pytest.warns(tachyon.OverflowWarning) as rec:
        y, found = narrow.predict(x, return_warnings=True)
    over = [w for w in found if isinstance(w, tachyon.OverflowWarning)]
    assert over and all(w.layer in narrow.layers and w.count > 0 for w in over)
    report = narrow.overflow_report(x)
    for w in over:   # the counts are the overflow report's
        assert w.count == report[w.layer]["result_overflows"] + report[w.layer]["accum_overflows"]
    assert {str(w.message) for w in rec if w.category is tachyon.OverflowWarning} == {w.message for w in over}
    assert narrow.last_warnings == found
    assert issubclass(tachyon.OverflowWarning, UserWarning)

    m = tachyon.load(JET)
    bad = x[:50].copy()
    bad[3, 2] = np.nan
    bad[7, 0] = np.inf
    with pytest.warns(tachyon.NonFiniteWarning, match="1 NaN and 1 infinite values"):
        m.predict(bad)
    nf = [w for w in m.last_warnings if isinstance(w, tachyon.NonFiniteWarning)]
    assert len(nf) == 1 and nf[0].count == 2 and "row 3, column 2" in nf[0].message
    with pytest.warns(tachyon.NonFiniteWarning):
        m.predict(bad, float=True)


@need_jet
def test_no_warning_when_fixed_point_is_faithful(x):
    m = tachyon.load(JET, config={"Model": {"Precision": "ap_fixed<24,10>"}})
    y, seen = quiet(m.predict, x)
    assert not [w for w in seen if issubclass(w.category, tachyon.TachyonWarning)]
    assert m.last_warnings == []


@need_jet
def test_fidelity_warning_names_the_worst_layer(x):
    # Too few fractional bits in the first layer only: no overflow anywhere, yet the
    # classifier's argmax drifts from float.
    cfg = {"Model": {"Precision": "ap_fixed<24,10>"},
           "LayerName": {"fc1_Gemm": {"Precision": {"weight": "ap_fixed<4,2>", "result": "ap_fixed<24,10>"}}}}
    m = tachyon.load(JET, config=cfg)
    with pytest.warns(tachyon.FidelityWarning, match="auto-precision") as rec:
        m.predict(x)
    fid = [w.message for w in rec if w.category is tachyon.FidelityWarning][0]   # the warning itself
    assert fid.layer == "fc1_Gemm" and fid.count == 1000
    agree = (m.predict(x[:1000], check_fidelity=False).argmax(1) == m.predict(x[:1000], float=True).argmax(1)).mean()
    assert agree < 0.99 and f"{100 * agree:.1f}%" in fid.message
    assert not [w for w in m.last_warnings if isinstance(w, tachyon.OverflowWarning)]
    _, seen = quiet(m.predict, x, check_fidelity=False)
    assert not [w for w in seen if w.category is tachyon.FidelityWarning]
    _, seen = quiet(m.predict, x, float=True)
    assert not [w for w in seen if w.category is tachyon.FidelityWarning]


@need_jet
def test_cli_predict_prints_the_same_fidelity_warning(x, tmp_path):
    cfg = {"Model": {"Precision": "ap_fixed<24,10>"},
           "LayerName": {"fc1_Gemm": {"Precision": {"weight": "ap_fixed<4,2>", "result": "ap_fixed<24,10>"}}}}
    (tmp_path / "c.yml").write_text(tachyon._tachyon.config_to_yaml(cfg))
    _, found = quiet(tachyon.load(JET, config=cfg).predict, x, return_warnings=True)[0]
    fid = [w for w in found if isinstance(w, tachyon.FidelityWarning)]
    runs = {}
    for name, extra in (("narrow", ["-c", tmp_path / "c.yml"]), ("default", []), ("float", ["-c", tmp_path / "c.yml",
                                                                                         "--float"])):
        r = subprocess.run([CLI, "predict", JET, *extra, "-i", JET_X, "-o", tmp_path / (name + ".npy")],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        runs[name] = r.stderr
    assert len(fid) == 1 and "warning: " + fid[0].message in runs["narrow"].splitlines()
    assert "overflow summary" in runs["narrow"]          # the CLI's summary stays
    assert "agrees with float" not in runs["default"] and "agrees with float" not in runs["float"]


@need_zoo
def test_fidelity_warning_without_overflow_on_a_conv_model():
    # The KERAS_conv1d case: ap_fixed<16,6> agrees poorly with float while no value
    # overflows (product truncation adds up); before, nothing told the user.
    m = tachyon.load(CONV1D)
    x = np.random.default_rng(0).normal(size=(3000, 10, 4))
    (_, found), seen = quiet(m.predict, x, return_warnings=True)
    assert [type(w) for w in found] == [tachyon.FidelityWarning]
    assert [w.category for w in seen] == [tachyon.FidelityWarning]
    assert found[0].layer in m.layers


# ---------------------------------------------------------------- configuration and threads

@need_jet
def test_failed_config_edit_keeps_the_previous_config(x):
    m = tachyon.load(JET)
    y16 = m.predict(x, check_fidelity=False)
    cfg = m.config
    cfg["Model"]["Precision"] = "ap_fixed<16,6,NOPE>"
    with pytest.raises(tachyon.TachyonError, match="NOPE"):
        m.predict(x)
    assert m.config["Model"]["Precision"] == "ap_fixed<16,6>" and cfg is m.config   # undone in place
    assert np.array_equal(m.predict(x, check_fidelity=False), y16)
    with pytest.raises(tachyon.TachyonError):
        m.config = {"Model": {"Precision": "bogus"}}
    assert np.array_equal(m.predict(x, check_fidelity=False), y16)


def _swap_case(kind):
    """(model path, inputs, default config, another valid config, an invalid one)."""
    if kind == "network":
        return JET, np.tile(np.load(JET_X), (30, 1)), {"Model": {"Precision": "ap_fixed<16,6>"}}, \
            {"Model": {"Precision": "ap_fixed<10,4>"}}, {"Model": {"Precision": "nope"}}
    base = tachyon.load(TREE).config
    return TREE, np.load(os.path.join(FIXTURES, "X_test.npy"))[:20000], base, \
        dict(base, ScorePrecision="ap_fixed<10,3>"), dict(base, ScorePrecision="nope")


@pytest.mark.parametrize("kind", ["network", "trees"])
def test_config_swap_while_predicting_in_another_thread(kind):
    # Segfaulted 3/3 before (nets and trees): the passes rebuilt the emulator under a running
    # prediction.
    if not os.path.exists(JET if kind == "network" else TREE):
        pytest.skip("fixture missing")
    path, big, default, other, invalid = _swap_case(kind)
    m = tachyon.load(path, config=default)
    y_default = m.predict(big, check_fidelity=False)
    y_other = tachyon.load(path, config=other).predict(big, check_fidelity=False)
    assert not np.array_equal(y_default, y_other)
    results, errors, stop = [], [], threading.Event()

    def predict_loop():
        try:
            while not stop.is_set():
                results.append(m.predict(big, threads=1, check_fidelity=False))
        except BaseException as e:   # noqa: B902 - any failure is the test's
            errors.append(e)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = threading.Thread(target=predict_loop)
        t.start()
        bad = 0
        for k in range(60):
            try:
                m.config = [other, default, invalid][k % 3]
            except tachyon.TachyonError:
                bad += 1
        time.sleep(0.05)
        stop.set()
        t.join()
    assert not errors and bad == 20 and len(results) >= 1
    assert all(np.array_equal(r, y_default) or np.array_equal(r, y_other) for r in results)
    assert np.array_equal(m.predict(big, check_fidelity=False), y_default)   # the last valid config stays


@need_zoo
def test_ctrl_c_stops_a_long_prediction():
    m = tachyon.load(DENSE100)
    probe = np.random.default_rng(0).normal(size=(20000, 16))
    t0 = time.perf_counter()
    m.predict(probe, threads=1, check_fidelity=False)
    rate = len(probe) / (time.perf_counter() - t0)
    rows = int(min(max(4.0 * rate, 100000), 800000))   # about 4 s uninterrupted
    x = np.resize(probe, (rows, 16))
    full = rows / rate

    class Stop(Exception):
        pass

    def on_sigint(signum, frame):
        raise Stop()   # what Python's own handler does with KeyboardInterrupt, kept inside this test

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        timer = threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGINT))
        t0 = time.perf_counter()
        timer.start()
        with pytest.raises(Stop):
            m.predict(x, threads=1, check_fidelity=False)
        elapsed = time.perf_counter() - t0
        timer.join()
    finally:
        signal.signal(signal.SIGINT, previous)
    assert elapsed < 0.2 + full / 2, (elapsed, full)
    assert m.predict(probe[:10], check_fidelity=False).shape == (10, 5)   # still usable


# ---------------------------------------------------------------- in-memory models

@need_jet
def test_load_onnx_modelproto_and_bytes(x):
    onnx = pytest.importorskip("onnx")
    ref = tachyon.load(JET).predict(x, check_fidelity=False)
    proto = tachyon.load(onnx.load(JET))
    assert np.array_equal(proto.predict(x, check_fidelity=False), ref)
    with open(JET, "rb") as f:
        data = f.read()
    for blob in (data, bytearray(data), memoryview(data)):
        assert np.array_equal(tachyon.load(blob).predict(x, check_fidelity=False), ref)
    kept = proto.path
    assert os.path.exists(kept)
    del proto
    assert not os.path.exists(kept)   # the temporary file goes with the model


def _small_mlp(torch, scale):
    class MLP(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = torch.nn.Linear(16, 32)
            self.relu1 = torch.nn.ReLU()
            self.fc2 = torch.nn.Linear(32, 5)

        def forward(self, v):
            return self.fc2(self.relu1(self.fc1(v)))

    torch.manual_seed(0)
    net = MLP()
    with torch.no_grad():
        for p in net.parameters():
            p.mul_(scale)
    return net.eval()


def test_load_torch_module_with_hls4ml_layer_names(tmp_path):
    torch = pytest.importorskip("torch")
    net = _small_mlp(torch, 3.0)
    m = tachyon.load(net, input_shape=(16,))
    x = np.random.default_rng(2).normal(size=(500, 16))
    with torch.no_grad():
        ref = net.double()(torch.tensor(x)).numpy()
    assert np.allclose(m.predict(x, float=True), ref, rtol=1e-6, atol=1e-6)
    assert "fc1_Gemm" in m.layers
    with pytest.raises(TypeError, match="input_shape"):
        tachyon.load(net)
    # hls4ml's PyTorch converter calls the layer `fc1`: both spellings configure it.
    narrow = {"Precision": {"result": "ap_fixed<8,4>"}}
    by_module = tachyon.load(net, input_shape=(16,), config={"Model": {"Precision": "ap_fixed<16,6>"},
                                                             "LayerName": {"fc1": narrow}})
    by_node = tachyon.load(net, input_shape=(16,), config={"Model": {"Precision": "ap_fixed<16,6>"},
                                                           "LayerName": {"fc1_Gemm": narrow}})
    y_module = by_module.predict(x, check_fidelity=False)
    assert np.array_equal(y_module, by_node.predict(x, check_fidelity=False))
    assert not np.array_equal(y_module, m.predict(x, check_fidelity=False))
    with pytest.raises(tachyon.TachyonError, match="fc9"):
        tachyon.load(net, input_shape=(16,), config={"LayerName": {"fc9": narrow}})
    # The CLI reads the same names.
    cfg = tmp_path / "c.yml"
    cfg.write_text("Model:\n  Precision: ap_fixed<16,6>\nLayerName:\n  fc1:\n    Precision:\n      result: ap_fixed<8,4>\n")
    np.save(tmp_path / "x.npy", x)
    r = subprocess.run([CLI, "predict", by_module.path, "-c", cfg, "-i", tmp_path / "x.npy", "-o", tmp_path / "y.npy"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert np.array_equal(np.load(tmp_path / "y.npy"), y_module)


def test_overflowing_torch_mlp_warns():
    # The 16-32-5 MLP at the default types: accumulators wrap, Python said nothing.
    torch = pytest.importorskip("torch")
    m = tachyon.load(_small_mlp(torch, 4.0), input_shape=(16,))
    x = np.random.default_rng(3).normal(size=(5000, 16)) * 2
    with pytest.warns(tachyon.OverflowWarning):
        m.predict(x)
    assert {w.layer for w in m.last_warnings if isinstance(w, tachyon.OverflowWarning)} <= set(m.layers)


@need_jet
def test_profile_figures_in_process(x, tmp_path):
    matplotlib = pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure
    backend = matplotlib.get_backend()
    rep = tachyon.load(JET).profile(x)
    figs = tachyon.profile_figures(rep)
    assert set(figs) == {"weights", "activations"} and all(isinstance(f, Figure) for f in figs.values())
    labels = [t.get_text() for t in figs["activations"].axes[0].get_yticklabels()]
    assert labels == [f'{l["name"]} {v["var"]}' for l in rep["layers"] for v in l["vars"]
                      if v["var"] in ("accum", "result") and v["count"] > v["zeros"]]
    figs["weights"].savefig(tmp_path / "w.png")
    assert (tmp_path / "w.png").read_bytes()[:4] == b"\x89PNG"
    assert matplotlib.get_backend() == backend   # the caller's backend is left alone
    with pytest.raises(TypeError):
        tachyon.profile_figures("not a report")
    with pytest.raises(ValueError):
        tachyon.profile_figures({"layers": [{"vars": [{"var": "result"}]}]})
