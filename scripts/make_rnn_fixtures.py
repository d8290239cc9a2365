#!/usr/bin/python3
"""Build Tachyon's recurrent-network test fixtures.

Usage: /usr/bin/python3 scripts/make_rnn_fixtures.py [OUTDIR]   (default: build/fixtures)

PyTorch models (nn.LSTM / nn.GRU / nn.RNN, batch_first, briefly trained on seeded
synthetic data), exported to ONNX with a batch of one (the shape arithmetic PyTorch writes
for the zero initial state then folds to constants), each with
  <name>.onnx, <name>_X.npy (1000 random N(0,1) rows, the [steps, features] sequence
  flattened), <name>_Y.npy (torch's outputs in float64, flattened per row).
Keras-2-layout models written by hand with h5py (<name>.json + <name>_weights.h5), with
_X/_Y computed here in numpy from Keras' equations (go_backwards, reset_after=False,
hard_sigmoid included), independently of Tachyon.

Everything is deterministic (fixed seeds, single thread); rerunning rewrites the same files.
"""

import numpy as np
from make_fixtures import ROWS, make_fixture_set, save_xy, torch_fixture, train_briefly, write_keras_model
from torch import nn

STAMP = "rnn_fixtures.stamp"
VERSION = "1"


class Seq(nn.Module):
    """A recurrent layer (+ optional head); `take`: 'seq' (every step), 'last' (y[:, -1]),
    'hn' (the final hidden state h_n)."""

    def __init__(self, cell, n_in, hidden, steps, take, head=0, **kw):
        super().__init__()
        self.shape = (steps, n_in)
        self.take = take
        self.rnn = getattr(nn, cell)(n_in, hidden, batch_first=True, **kw)
        self.head = nn.Linear(hidden, head) if head else None

    def forward(self, x):
        y, state = self.rnn(x)
        if self.take == "last":
            y = y[:, -1, :]
        elif self.take == "hn":
            h = state[0] if isinstance(state, tuple) else state
            y = h.squeeze(0)
        if self.head is not None:
            y = self.head(y)
        return y


TORCH_MODELS = {
    "lstm_seq": lambda: Seq("LSTM", 6, 8, 10, "seq"),
    "lstm_last": lambda: Seq("LSTM", 6, 16, 20, "last", head=3),
    "lstm_hn": lambda: Seq("LSTM", 4, 6, 7, "hn"),
    "gru_last": lambda: Seq("GRU", 6, 8, 10, "last", head=2),
    "gru_seq": lambda: Seq("GRU", 5, 6, 8, "seq"),
    "rnn_seq": lambda: Seq("RNN", 5, 6, 8, "seq"),
    "rnn_relu_last": lambda: Seq("RNN", 4, 5, 6, "last", nonlinearity="relu"),
}


def make_torch_fixture(name, make, outdir, seed):
    torch_fixture(name, make, outdir, seed, opset=13, train=lambda model: train_briefly(model, seed, rows=256, steps=30))


# ---- Keras 2 layout, reference in numpy ----

def act(name):
    return {"tanh": np.tanh, "sigmoid": lambda x: 1 / (1 + np.exp(-x)), "relu": lambda x: np.maximum(x, 0),
            "linear": lambda x: x, "hard_sigmoid": lambda x: np.clip(0.2 * x + 0.5, 0, 1)}[name]


def keras_rnn(cls, cfg, w, x):
    """Keras 2's SimpleRNN/LSTM/GRU on x [rows, T, F] -> [rows, (T,) units]."""
    n = cfg["units"]
    a = act(cfg.get("activation", "tanh"))
    ra = act(cfg.get("recurrent_activation", "sigmoid"))
    W, U, b = w["kernel:0"], w["recurrent_kernel:0"], w["bias:0"]
    rows, T, _ = x.shape
    h = np.zeros((rows, n))
    c = np.zeros((rows, n))
    outs = []
    steps = range(T - 1, -1, -1) if cfg.get("go_backwards") else range(T)
    for t in steps:
        xt = x[:, t, :]
        if cls == "SimpleRNN":
            h = a(xt @ W + h @ U + b)
        elif cls == "LSTM":
            z = xt @ W + h @ U + b
            i, f, g, o = ra(z[:, :n]), ra(z[:, n:2 * n]), a(z[:, 2 * n:3 * n]), ra(z[:, 3 * n:])
            c = f * c + i * g
            h = o * a(c)
        else:
            if cfg.get("reset_after"):
                xz = xt @ W + b[0]
                hz = h @ U + b[1]
                zg = ra(xz[:, :n] + hz[:, :n])
                r = ra(xz[:, n:2 * n] + hz[:, n:2 * n])
                hh = a(xz[:, 2 * n:] + r * hz[:, 2 * n:])
            else:
                xz = xt @ W + b
                zg = ra(xz[:, :n] + h @ U[:, :n])
                r = ra(xz[:, n:2 * n] + h @ U[:, n:2 * n])
                hh = a(xz[:, 2 * n:] + (r * h) @ U[:, 2 * n:])
            h = zg * h + (1 - zg) * hh
        outs.append(h)
    return np.stack(outs, axis=1) if cfg.get("return_sequences") else h


def make_keras_fixture(name, steps, n_in, spec, outdir, seed):
    """spec: list of (class, config); a Dense head when class is 'Dense'."""

    rng = np.random.default_rng(seed)
    layers = [{"class_name": "InputLayer", "name": "in", "inbound_nodes": [],
               "config": {"name": "in", "batch_input_shape": [None, steps, n_in], "dtype": "float32"}}]
    weights = {}
    prev, width = "in", n_in
    for k, (cls, cfg) in enumerate(spec):
        lname = "%s_%d" % (cls.lower(), k)
        cfg = dict(cfg, name=lname)
        n = cfg["units"]
        if cls == "Dense":
            w = {"kernel:0": rng.standard_normal((width, n)) * 0.5, "bias:0": rng.standard_normal(n) * 0.1}
        else:
            g = {"SimpleRNN": 1, "LSTM": 4, "GRU": 3}[cls]
            cell = {"SimpleRNN": "simple_rnn_cell", "LSTM": "lstm_cell", "GRU": "gru_cell"}[cls]
            w = {"kernel:0": rng.standard_normal((width, g * n)) * 0.5,
                 "recurrent_kernel:0": rng.standard_normal((n, g * n)) * 0.4,
                 "bias:0": rng.standard_normal((2, g * n) if cls == "GRU" and cfg.get("reset_after") else g * n) * 0.2}
            w = {cell + "/" + key: v for key, v in w.items()}
        weights[lname] = {key: v.astype(np.float32) for key, v in w.items()}
        layers.append({"class_name": cls, "name": lname, "config": cfg, "inbound_nodes": [[[prev, 0, 0, {}]]]})
        prev, width = lname, n
    write_keras_model(outdir, name, layers, weights, ["in"], [prev])
    X = rng.standard_normal((ROWS, steps * n_in))
    y = X.reshape(ROWS, steps, n_in)
    for k, (cls, cfg) in enumerate(spec):
        lname = "%s_%d" % (cls.lower(), k)
        w = {key.split("/")[-1]: v.astype(np.float64) for key, v in weights[lname].items()}
        if cls == "Dense":
            y = act(cfg.get("activation", "linear"))(y @ w["kernel:0"] + w["bias:0"])
        else:
            y = keras_rnn(cls, cfg, w, y)
    save_xy(outdir, name, X, y.reshape(ROWS, -1))


KERAS_MODELS = {
    "keras_lstm": (7, 5, [("LSTM", {"units": 6, "return_sequences": True, "go_backwards": True}),
                          ("LSTM", {"units": 4, "recurrent_activation": "hard_sigmoid"}),
                          ("Dense", {"units": 2, "activation": "linear"})]),
    "keras_gru": (7, 5, [("GRU", {"units": 6, "return_sequences": True, "reset_after": True}),
                         ("GRU", {"units": 5, "reset_after": False, "go_backwards": True}),
                         ("Dense", {"units": 2, "activation": "sigmoid"})]),
    "keras_simplernn": (6, 4, [("SimpleRNN", {"units": 5, "return_sequences": True, "activation": "relu"}),
                               ("SimpleRNN", {"units": 3})]),
}


def main():
    def build(tmpdir, outdir):
        import warnings
        warnings.filterwarnings("ignore")
        for i, (name, make) in enumerate(TORCH_MODELS.items()):
            make_torch_fixture(name, make, tmpdir, seed=9100 + i)
        for i, (name, (steps, n_in, spec)) in enumerate(KERAS_MODELS.items()):
            make_keras_fixture(name, steps, n_in, spec, tmpdir, seed=9200 + i)
    make_fixture_set(".rnn_fixtures_", STAMP, VERSION, build)


if __name__ == "__main__":
    main()
