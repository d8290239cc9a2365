"""Fuzz-style test of the Python API (issue #27): random argument types, shapes, dtypes and
configuration mutations. Every call either works or raises TachyonError, TypeError or
ValueError; never another exception (a raw RuntimeError included) and never a crash
(pytest's faulthandler prints the call on a segfault). Seeded; stops after a time budget."""
import copy
import os
import random
import time
import warnings

import numpy as np
import pytest

import tachyon

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("TACHYON_BINARY_DIR", os.path.join(ROOT, "build"))
JET = os.path.join(BUILD, "cli_test", "jet_tagger.onnx")
FIXTURES = os.environ.get("TACHYON_FIXTURES", os.path.join(BUILD, "fixtures"))
TREE = os.path.join(FIXTURES, "xgb_multi.json")

ALLOWED = (tachyon.TachyonError, TypeError, ValueError)
# Longer hunts by hand: TACHYON_FUZZ_SEED=5 TACHYON_FUZZ_SECONDS=300 TACHYON_FUZZ_CALLS=100000
SEED = int(os.environ.get("TACHYON_FUZZ_SEED", "27"))
BUDGET_S = float(os.environ.get("TACHYON_FUZZ_SECONDS", "15"))
CALLS = int(os.environ.get("TACHYON_FUZZ_CALLS", "3000"))

DTYPES = [np.float64, np.float32, np.float16, np.int8, np.int64, np.uint64, np.bool_, np.complex64, object, "U3",
          "datetime64[s]"]
TYPES = ["ap_fixed<16,6>", "ap_fixed<8,3>", "ap_fixed<1,1>", "ap_fixed<0,0>", "ap_fixed<64,32>", "ap_fixed<65,3>",
         "ap_fixed<100000,5>", "ap_fixed<16,-40>", "ap_ufixed<8,0,AP_RND,AP_SAT>", "ap_int<8>", "auto", "fixed<4,2>",
         "ap_fixed<16,6,NOPE>", "", "ap_fixed<", "ap_fixed<16,6>>", "float", "ap_fixed<2147483647,1>"]


def random_scalar(rng):
    return rng.choice([None, 0, -1, 1, 7, 2**40, -(2**63), 1.5, float("nan"), float("inf"), True, "", "x",
                       b"", b"\x00abc", [], [1, 2], {}, (), object(), len, np.int32(3), np.float64(2.5)])


def random_array(rng, n_inputs):
    ndim = rng.choice([0, 1, 2, 2, 2, 3])
    shape = tuple(rng.choice([0, 1, 2, 4, n_inputs, n_inputs, 17]) for _ in range(ndim))
    if ndim == 2 and rng.random() < 0.5:
        shape = (rng.choice([0, 1, 5, 40]), n_inputs)
    dtype = rng.choice(DTYPES)
    size = int(np.prod(shape)) if shape else 1
    values = np.array([rng.choice([0.0, 1.0, -3.5, 1e300, -1e300, np.nan, np.inf, rng.gauss(0, 4)])
                       for _ in range(size)])
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            a = values.astype(dtype).reshape(shape)
    except (TypeError, ValueError):
        a = np.zeros(shape, dtype=dtype)
    if rng.random() < 0.2 and a.ndim >= 2:
        a = np.asfortranarray(a)
    if rng.random() < 0.1 and a.ndim >= 1 and a.shape[0] > 1:
        a = a[::2]
    return a


def random_x(rng, n_inputs):
    r = rng.random()
    if r < 0.7:
        return random_array(rng, n_inputs)
    if r < 0.8:
        return random_array(rng, n_inputs).tolist()
    return random_scalar(rng)


def mutated_config(rng, base):
    """The model's configuration with one entry replaced (or a random value altogether)."""
    if rng.random() < 0.15:
        return random_scalar(rng)
    cfg = copy.deepcopy(base)
    node = cfg
    while isinstance(node, dict) and node and rng.random() < 0.75:
        key = rng.choice(sorted(node))
        if not isinstance(node[key], dict) or rng.random() < 0.3:
            node[key] = rng.choice([rng.choice(TYPES), random_scalar(rng), {"Bogus": 1}, {"Precision": rng.choice(TYPES)}])
            return cfg
        node = node[key]
    if isinstance(node, dict):
        node[rng.choice(["Precision", "ReuseFactor", "Strategy", "Bogus", "LayerName", "fc1"])] = \
            rng.choice([rng.choice(TYPES), random_scalar(rng), {"result": rng.choice(TYPES)}])
    return cfg


def random_path(rng, tmp):
    """Output folders: inside the test's temporary folder, or not a path at all (never ".",
    "..", or a name relative to where the tests run: the library may be asked to replace it)."""
    scalar = random_scalar(rng)
    not_a_path = scalar if not isinstance(scalar, (str, bytes, os.PathLike)) else None
    return rng.choice([not_a_path, str(tmp / f"out{rng.randrange(1000)}"), tmp / "missing" / "deep" / "x",
                       str(tmp / "a_file")])


def one_call(rng, m, base, tmp):
    """A random API call with random arguments; returns a description for the failure message."""
    n = m.input_shape[0] if m.input_shape else 16
    pick = rng.randrange(11)
    if pick == 0:
        args = (random_x(rng, n),)
        kw = {k: random_scalar(rng) if rng.random() < 0.3 else v for k, v in
              {"float": rng.random() < 0.5, "threads": rng.choice([0, 1, 2]), "return_warnings": rng.random() < 0.5,
               "check_fidelity": rng.random() < 0.5}.items()}
        return f"predict{args!r:.200} {kw}", lambda: m.predict(*args, **kw)
    if pick == 1:
        x = random_x(rng, n)
        return f"trace({x!r:.200})", lambda: m.trace(x, float=rng.random() < 0.5)
    if pick == 2:
        x = random_x(rng, n)
        th = rng.choice([0, 1, -3, 10**6, random_scalar(rng)])
        return f"overflow_report({x!r:.200}, {th!r})", lambda: m.overflow_report(x, threads=th)
    if pick == 3:
        x = random_x(rng, n)
        return f"profile({x!r:.200})", lambda: m.profile(x)
    if pick in (4, 5):
        cfg = mutated_config(rng, base)

        def assign():
            m.config = cfg
        return f"config = {cfg!r:.300}", assign
    if pick == 6:
        cfg = mutated_config(rng, base)

        def edit_in_place():
            if isinstance(cfg, dict):
                m.config.clear()
                m.config.update(cfg)
            m.summary()
        return f"config edited to {cfg!r:.300}", edit_in_place
    if pick == 7:
        p = random_path(rng, tmp)
        backend = rng.choice([m.write_hls, m.write_verilog])
        return f"{backend.__name__}({p!r})", lambda: backend(p)
    if pick == 8:
        args = (rng.choice([JET, random_scalar(rng), str(tmp / "a_file")]), rng.choice(["model", "type", "name", "x", 3]),
                rng.choice(TYPES + [None]), rng.choice([1, 0, -5, 2.5, "1"]))
        return f"config_from_model{args!r}", lambda: tachyon.config_from_model(*args)
    if pick == 9:
        model = rng.choice([JET, random_scalar(rng), b"\x08\x01garbage", str(tmp / "a_file"), tmp])
        cfg = rng.choice([None, mutated_config(rng, base), str(tmp / "a_file"), random_scalar(rng)])
        kw = {"input_shape": rng.choice([(16,), None, "x"])} if rng.random() < 0.2 else {}
        return f"load({model!r}, {cfg!r:.300}, {kw})", lambda: tachyon.load(model, cfg, **kw)
    args = (random_x(rng, n), rng.choice([0.99, 2.0, -1, "x"]), rng.choice([None, 0.1, -1.0]),
            rng.choice([4, 18, 0, 100, -2]))

    def auto():
        xa = args[0]
        if isinstance(xa, np.ndarray) and xa.ndim == 2 and xa.shape[0] > 40:
            xa = xa[:40]
        return tachyon.auto_precision(JET, xa, target_agreement=args[1], max_error=args[2], max_bits=args[3])
    return f"auto_precision{args!r:.300}", auto


@pytest.mark.skipif(not os.path.exists(JET), reason="examples/make_jet_tagger.py build/cli_test not run")
@pytest.mark.parametrize("model_path", [JET, TREE], ids=["network", "trees"])
def test_random_calls_raise_only_documented_errors(model_path, tmp_path, monkeypatch):
    if not os.path.exists(model_path):
        pytest.skip("fixture missing")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a_file").write_text("not a model, not a folder\n")
    rng = random.Random(SEED)
    m = tachyon.load(model_path)
    base = copy.deepcopy(m.config)
    start, calls, outcomes = time.monotonic(), 0, {"ok": 0, "refused": 0}
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        while calls < CALLS and time.monotonic() - start < BUDGET_S / 2:
            what, call = one_call(rng, m, base, tmp_path)
            calls += 1
            try:
                call()
                outcomes["ok"] += 1
            except ALLOWED as e:
                assert type(e) is not RuntimeError, what
                outcomes["refused"] += 1
            except Exception as e:  # noqa: B902 - anything else is the bug this test looks for
                pytest.fail(f"seed {SEED}, call {calls}: {what} raised {type(e).__name__}: {e}")
    # Both outcomes occur, and the model still answers after all of it.
    assert outcomes["ok"] > 20 and outcomes["refused"] > 20, outcomes
    assert m.predict(np.zeros((2,) + m.input_shape), check_fidelity=False).shape == (2,) + m.output_shape
