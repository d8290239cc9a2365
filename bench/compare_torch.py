#!/usr/bin/python3
"""Rows per CPU-second, one core: Tachyon's bit-exact fixed-point emulator and its float
mode against PyTorch fp32 (eager and TorchScript) and NumPy fp32 on the same architectures.

Not a test: the numbers depend on the machine. Run from the source tree after a build:

    PYTHONPATH=build/python /usr/bin/python3 bench/compare_torch.py [--seconds 1] [--only NAME]

The torch and numpy twins are built from each model's Keras JSON with random weights of
the same shapes (only the arithmetic's cost matters here, not its values). Every engine runs
single-threaded (torch.set_num_threads(1), Tachyon threads=1); time is CPU time of this
process, so other processes' turns on a shared machine do not count. Also prints Tachyon's
batch-1 latency with its default threads (0 = all cores) and with threads=1.
"""
import argparse
import json
import os
import sys
import time
import warnings

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(HERE)
ZOO = os.path.join(SOURCE, "..", "shared", "models", "keras")


def fixtures_dir():
    return os.environ.get("TACHYON_FIXTURES", os.path.join(SOURCE, "build", "fixtures"))


# name -> (Keras JSON path, note). The LSTM is the project's own fixture (scripts/make_rnn_fixtures.py).
def model_list():
    return [
        ("jet tagger 16-64-32-32-5", os.path.join(ZOO, "KERAS_3layer.json")),
        ("conv1d_small", os.path.join(ZOO, "KERAS_conv1d_small.json")),
        ("KERAS_conv2d_model", os.path.join(ZOO, "KERAS_conv2d_model.json")),
        ("jetTagger_Conv2D_Small_NoBatchNorm", os.path.join(ZOO, "jetTagger_Conv2D_Small_NoBatchNorm.json")),
        ("LSTM 7x5 -> 6 -> 4 (keras_lstm fixture)", os.path.join(fixtures_dir(), "keras_lstm.json")),
        ("binary jet tagger", os.path.join(ZOO, "KERAS_3layer_binary_smaller.json")),
        ("dense 16x100x5 (5 hidden)", os.path.join(ZOO, "KERAS_dense_16x100x100x100x100x100x5.json")),
    ]


# ---- one architecture description from the Keras JSON: a list of (kind, attributes)

def keras_layers(path):
    with open(path) as f:
        cfg = json.load(f)["config"]
    layers = cfg["layers"] if isinstance(cfg, dict) else cfg
    shape, ops = None, []
    for l in layers:
        c, kind = l["config"], l["class_name"]
        if shape is None and c.get("batch_input_shape"):
            shape = tuple(c["batch_input_shape"][1:])
        if kind in ("InputLayer", "Dropout"):
            continue
        if kind in ("Dense", "BinaryDense", "QDense"):
            ops.append(("dense", {"units": c["units"], "binary": kind == "BinaryDense"}))
        elif kind in ("Conv1D", "Conv2D"):
            ops.append(("conv", {"filters": c["filters"], "kernel": tuple(c["kernel_size"]),
                                 "strides": tuple(c["strides"]), "same": c["padding"] == "same"}))
        elif kind == "Flatten":
            ops.append(("flatten", {}))
        elif kind == "BatchNormalization":
            ops.append(("batchnorm", {}))
        elif kind == "LSTM":
            ops.append(("lstm", {"units": c["units"], "sequences": c.get("return_sequences", False)}))
        elif kind == "Activation":
            pass
        else:
            raise SystemExit(f"{path}: layer {kind} has no twin in this benchmark")
        act = c.get("activation", "linear")
        if kind != "LSTM" and act not in (None, "linear"):
            ops.append(("act", {"fn": act}))
    return shape, ops


def same_padding(size, k, s):
    out = -(-size // s)
    total = max((out - 1) * s + k - size, 0)
    return total // 2, total - total // 2, out


# ---- torch twin (channels-first inside; Flatten reorders to Keras' channels-last order)

def torch_twin(shape, ops):
    import torch
    import torch.nn.functional as F
    rng = torch.Generator().manual_seed(0)

    class Twin(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.steps = []
            mods = torch.nn.ModuleList()
            cur = list(shape)   # channels-last per-sample shape
            for kind, a in ops:
                if kind == "dense":
                    m = torch.nn.Linear(cur[-1], a["units"])
                    if a["binary"]:
                        with torch.no_grad():
                            m.weight.copy_(torch.sign(torch.randn(m.weight.shape, generator=rng)))
                    mods.append(m)
                    self.steps.append(("dense", len(mods) - 1, len(cur)))
                    cur[-1] = a["units"]
                elif kind == "conv":
                    spatial = cur[:-1]
                    conv = (torch.nn.Conv1d if len(spatial) == 1 else torch.nn.Conv2d)(
                        cur[-1], a["filters"], a["kernel"], a["strides"])
                    mods.append(conv)
                    pads, outs = [], []
                    for n, k, s in zip(spatial, a["kernel"], a["strides"]):
                        lo, hi, o = same_padding(n, k, s) if a["same"] else (0, 0, (n - k) // s + 1)
                        pads.append((lo, hi))
                        outs.append(o)
                    flat = [p for lohi in reversed(pads) for p in lohi]   # F.pad: last dim first
                    self.steps.append(("conv", len(mods) - 1, flat))
                    cur = outs + [a["filters"]]
                elif kind == "flatten":
                    self.steps.append(("flatten", len(cur), None))
                    cur = [int(np.prod(cur))]
                elif kind == "batchnorm":
                    bn = torch.nn.BatchNorm1d(cur[-1]).eval()
                    mods.append(bn)
                    self.steps.append(("batchnorm", len(mods) - 1, None))
                elif kind == "act":
                    self.steps.append(("act", a["fn"], None))
                elif kind == "lstm":
                    mods.append(torch.nn.LSTM(cur[-1], a["units"], batch_first=True))
                    self.steps.append(("lstm", len(mods) - 1, a["sequences"]))
                    cur = [cur[0], a["units"]] if a["sequences"] else [a["units"]]
            self.mods = mods
            self.image = len(shape) > 1 and ops[0][0] == "conv"

        def forward(self, x):
            chfirst = False
            for kind, a, b in self.steps:
                if kind == "conv":
                    if not chfirst:
                        x = x.movedim(-1, 1)
                        chfirst = True
                    x = self.mods[a](F.pad(x, b))
                elif kind == "flatten":
                    if chfirst:
                        x = x.movedim(1, -1)
                        chfirst = False
                    x = x.reshape(x.shape[0], -1)
                elif kind == "dense":
                    x = self.mods[a](x)
                elif kind == "batchnorm":
                    x = self.mods[a](x)
                elif kind == "lstm":
                    y, _ = self.mods[a](x)
                    x = y if b else y[:, -1]
                elif kind == "act":
                    if a == "relu":
                        x = torch.relu(x)
                    elif a == "softmax":
                        x = torch.softmax(x, -1)
                    elif a in ("binary_tanh", "sign"):
                        x = torch.sign(x)
                    elif a == "tanh":
                        x = torch.tanh(x)
                    elif a == "sigmoid":
                        x = torch.sigmoid(x)
                    else:
                        raise SystemExit(f"activation {a} has no torch twin")
            return x

    return Twin().eval()


# ---- numpy twin

def numpy_twin(shape, ops):
    rng = np.random.default_rng(0)
    steps, cur = [], list(shape)

    def weights(*s):
        return rng.standard_normal(s).astype(np.float32) * 0.3

    for kind, a in ops:
        if kind == "dense":
            w = weights(cur[-1], a["units"])
            steps.append(("dense", np.sign(w) if a["binary"] else w, weights(a["units"])))
            cur[-1] = a["units"]
        elif kind == "conv":
            spatial, cin = cur[:-1], cur[-1]
            geo = [same_padding(n, k, s) if a["same"] else (0, 0, (n - k) // s + 1)
                   for n, k, s in zip(spatial, a["kernel"], a["strides"])]
            w = weights(int(np.prod(a["kernel"])) * cin, a["filters"])
            steps.append(("conv", (geo, a["kernel"], a["strides"], w), weights(a["filters"])))
            cur = [g[2] for g in geo] + [a["filters"]]
        elif kind == "flatten":
            steps.append(("flatten", None, None))
            cur = [int(np.prod(cur))]
        elif kind == "batchnorm":
            steps.append(("affine", weights(cur[-1]), weights(cur[-1])))
        elif kind == "act":
            steps.append(("act", a["fn"], None))
        elif kind == "lstm":
            u = a["units"]
            steps.append(("lstm", (weights(cur[-1], 4 * u), weights(u, 4 * u), weights(4 * u), a["sequences"]), None))
            cur = [cur[0], u] if a["sequences"] else [u]

    def sigmoid(v):
        return 1.0 / (1.0 + np.exp(-v))

    def run(x):
        for kind, p, q in steps:
            if kind == "dense":
                x = x @ p + q
            elif kind == "affine":
                x = x * p + q
            elif kind == "conv":
                geo, k, s, w = p
                pad = [(0, 0)] + [(g[0], g[1]) for g in geo] + [(0, 0)]
                xp = np.pad(x, pad)
                win = np.lib.stride_tricks.sliding_window_view(xp, k, axis=tuple(range(1, 1 + len(k))))
                win = win[(slice(None),) + tuple(slice(None, None, st) for st in s)]
                # win: (N, *out, C, *k) -> patches (N, *out, *k, C) in Keras' kernel order
                order = (0,) + tuple(range(1, 1 + len(k))) + tuple(range(2 + len(k), 2 + 2 * len(k))) + (1 + len(k),)
                patches = np.ascontiguousarray(win.transpose(order)).reshape(x.shape[0], *[g[2] for g in geo], -1)
                x = patches @ w + q
            elif kind == "flatten":
                x = x.reshape(x.shape[0], -1)
            elif kind == "lstm":
                wx, wh, b, seq = p
                u = wh.shape[0]
                h = np.zeros((x.shape[0], u), np.float32)
                c = np.zeros_like(h)
                xs = x @ wx + b
                outs = []
                for t in range(x.shape[1]):
                    g = xs[:, t] + h @ wh
                    i, f, cc, o = sigmoid(g[:, :u]), sigmoid(g[:, u:2 * u]), np.tanh(g[:, 2 * u:3 * u]), sigmoid(g[:, 3 * u:])
                    c = f * c + i * cc
                    h = o * np.tanh(c)
                    outs.append(h)
                x = np.stack(outs, 1) if seq else h
            elif kind == "act":
                if p == "relu":
                    x = np.maximum(x, 0)
                elif p == "softmax":
                    e = np.exp(x - x.max(-1, keepdims=True))
                    x = e / e.sum(-1, keepdims=True)
                elif p in ("binary_tanh", "sign"):
                    x = np.sign(x)
                elif p == "tanh":
                    x = np.tanh(x)
                elif p == "sigmoid":
                    x = sigmoid(x)
        return x

    return run


def blas_name():
    """The BLAS numpy (and Debian's torch) link: the reference netlib one is much slower than
    OpenBLAS, the issue's yardstick, so the numbers must say which one ran."""
    try:
        with open("/proc/self/maps") as f:
            libs = {line.split()[-1] for line in f if "blas" in line.lower()}
        return ", ".join(sorted(os.path.realpath(p) for p in libs)) or "unknown"
    except OSError:
        return "unknown"


# ---- timing

def rows_per_cpu_second(fn, x, seconds):
    """Calls fn(x) until `seconds` of this process's CPU time have passed (after one warm-up
    call); returns rows per CPU-second."""
    fn(x)
    t0, calls = time.process_time(), 0
    while True:
        fn(x)
        calls += 1
        dt = time.process_time() - t0
        if dt >= seconds:
            return calls * x.shape[0] / dt


def batch1_latency_us(fn, x1, calls=2000):
    fn(x1)
    best = []
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(calls // 5):
            fn(x1)
        best.append((time.perf_counter() - t0) / (calls // 5))
    return min(best) * 1e6


def xgboost_row(tachyon, args):
    """A 100-tree depth-4 XGBoost model (trained here on random data, 16 features) against
    xgboost's own predict on one thread (Debian's python3-xgboost)."""
    import tempfile
    try:
        import xgboost
    except ImportError:
        print(f"{'xgboost 100x4':42s} skipped: python3-xgboost is not installed")
        return
    rng = np.random.default_rng(3)
    xt = rng.standard_normal((5000, 16)).astype(np.float32)
    yt = (xt[:, 0] + xt[:, 1] * xt[:, 2] + 0.3 * rng.standard_normal(5000) > 0).astype(np.int32)
    booster = xgboost.train({"max_depth": 4, "eta": 0.1, "objective": "binary:logistic", "nthread": 1},
                            xgboost.DMatrix(xt, label=yt), num_boost_round=100)
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "xgb_100x4.json")
        booster.save_model(path)
        m = tachyon.load(path)
    x = rng.standard_normal((args.rows, 16))
    fixed = rows_per_cpu_second(lambda v: m.predict(v, threads=1, check_fidelity=False), x, args.seconds)
    flt = rows_per_cpu_second(lambda v: m.predict(v, float=True, threads=1, check_fidelity=False), x, args.seconds)
    x32 = x.astype(np.float32)
    lib = rows_per_cpu_second(lambda v: booster.inplace_predict(v, predict_type="margin"), x32, args.seconds)
    nan = float("nan")
    print(f"{'xgboost 100x4 (vs xgboost predict)':42s} {fixed:14,.0f} {flt:14,.0f} {nan:12,.0f} {nan:12,.0f} "
          f"{lib:12,.0f} {fixed / lib:15.2f}x   (numpy column: xgboost inplace_predict, 1 thread)", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=1.0, help="CPU seconds per measurement (default 1)")
    ap.add_argument("--rows", type=int, default=20000, help="rows per call (default 20000)")
    ap.add_argument("--only", default="", help="only models whose name contains this")
    ap.add_argument("--no-torch", action="store_true", help="skip the torch columns")
    args = ap.parse_args()

    import tachyon
    # Random inputs overflow narrow accumulators: expected here, and the warnings are not timed.
    warnings.simplefilter("ignore", tachyon.TachyonWarning)
    print("numpy BLAS:", blas_name())
    torch = None
    if not args.no_torch:
        import torch
        torch.set_num_threads(1)
        torch.set_grad_enabled(False)

    print(f"{'model':42s} {'tachyon fixed':>14s} {'tachyon float':>14s} {'torch eager':>12s} "
          f"{'torch jit':>12s} {'numpy fp32':>12s} {'fixed/best fp32':>16s}")
    print("(rows per CPU-second, one core)")
    for name, path in model_list():
        if args.only and args.only not in name:
            continue
        if not os.path.exists(path):
            print(f"{name:42s} missing {path} (build the fixtures first: ctest -R make_fixtures)")
            continue
        shape, ops = keras_layers(path)
        m = tachyon.load(path)
        rng = np.random.default_rng(1)
        x = rng.standard_normal((args.rows,) + tuple(m.input_shape))
        fixed = rows_per_cpu_second(lambda v: m.predict(v, threads=1, check_fidelity=False), x, args.seconds)
        flt = rows_per_cpu_second(lambda v: m.predict(v, float=True, threads=1, check_fidelity=False), x, args.seconds)
        x32 = x.astype(np.float32)
        npy = rows_per_cpu_second(numpy_twin(shape, ops), x32, args.seconds)
        eager = jit = float("nan")
        if torch is not None:
            net = torch_twin(shape, ops)
            xt = torch.from_numpy(x32)
            eager = rows_per_cpu_second(net, xt, args.seconds)
            traced = torch.jit.freeze(torch.jit.trace(net, xt[:64]))
            jit = rows_per_cpu_second(traced, xt, args.seconds)
        best = np.nanmax([eager, jit, npy])
        print(f"{name:42s} {fixed:14,.0f} {flt:14,.0f} {eager:12,.0f} {jit:12,.0f} {npy:12,.0f} {fixed / best:15.2f}x",
              flush=True)

    if not args.only or args.only in "xgboost 100x4":
        xgboost_row(tachyon, args)

    # Batch-1 latency on the jet tagger: default threads (0 = every core) and one thread.
    m = tachyon.load(os.path.join(ZOO, "KERAS_3layer.json"))
    x1 = np.random.default_rng(2).standard_normal((1, 16))
    for threads in (0, 1):
        us = batch1_latency_us(lambda v: m.predict(v, threads=threads, check_fidelity=False), x1)
        print(f"jet tagger batch-1 latency, tachyon fixed, threads={threads}: {us:.2f} us")
    if torch is not None:
        net = torch_twin(*keras_layers(os.path.join(ZOO, "KERAS_3layer.json")))
        xt1 = torch.from_numpy(x1.astype(np.float32))
        traced = torch.jit.freeze(torch.jit.trace(net, xt1))
        print(f"jet tagger batch-1 latency, torch jit: {batch1_latency_us(traced, xt1):.2f} us")


if __name__ == "__main__":
    sys.exit(main())
