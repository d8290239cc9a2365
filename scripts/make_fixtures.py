#!/usr/bin/python3
"""Build Tachyon's own neural-network test fixtures.

Usage: /usr/bin/python3 scripts/make_fixtures.py [OUTDIR]   (default: build/fixtures)

For each model it trains a small torch network for a moment on seeded synthetic data,
exports it to ONNX and writes, beside it (torch_fixture):
  <name>.onnx          the model (float32 weights)
  <name>_X.npy         1000 random N(0,1) input rows, float64
  <name>_Y.npy         torch's outputs for those rows, computed in float64 (the float32
                       weights widened exactly), the reference for Tachyon's float mode
  <name>_params/<key>.npy  every parameter as float64 (torch layout, state_dict names)
It also writes a Keras-2-layout model with h5py, both as keras_dense.json +
keras_dense_weights.h5 and as the single file keras_dense_full.h5, with its own _X/_Y
computed in numpy, so the Keras frontend has a fixture of known content.

Everything is deterministic (fixed seeds, single thread); rerunning rewrites the same files.

The other make_*_fixtures.py scripts import their shared parts from here: make_fixture_set
(main()'s temporary folder, stamp and publish), torch_fixture / train_briefly / save_xy
(PyTorch models to ONNX with reference rows) and write_keras_model (Keras 2 JSON + H5).
"""
import json
import os
import shutil
import sys
import tempfile

import numpy as np
import torch
from torch import nn

ROWS = 1000
# Tests regenerate the fixtures when the stamp is missing or holds another version:
# bump VERSION whenever the set or content of the fixtures changes.
STAMP = "nn_fixtures.stamp"
VERSION = "2"


class HardSigmoidAct(nn.Module):
    def forward(self, x):
        return nn.functional.hardsigmoid(x)


def dense_net(*layers):
    """nn.Sequential of Linear layers and activations, with the input shape the torch
    fixture helpers read (model.shape)."""
    model = nn.Sequential(*layers)
    model.shape = (layers[0].in_features,)
    return model


def dense_relu():
    return dense_net(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 16), nn.ReLU(),
                     nn.Linear(16, 5), nn.Softmax(dim=-1))


def dense_acts():
    return dense_net(nn.Linear(10, 16), nn.Sigmoid(), nn.Linear(16, 8), nn.Tanh(),
                     nn.Linear(8, 8), nn.LeakyReLU(0.1), nn.Linear(8, 3), HardSigmoidAct())


def dense_bn():
    return dense_net(nn.Linear(12, 24), nn.BatchNorm1d(24), nn.ReLU(),
                     nn.Linear(24, 16), nn.BatchNorm1d(16), nn.ReLU(),
                     nn.Linear(16, 4))


MODELS = {"dense_relu": dense_relu, "dense_acts": dense_acts, "dense_bn": dense_bn}


# ---- PyTorch fixtures (shared by the make_*_fixtures.py scripts) ----

def save_xy(outdir, name, X, Y):
    """<name>_X.npy and <name>_Y.npy: a fixture's input rows and reference outputs."""
    np.save(os.path.join(outdir, name + "_X.npy"), X)
    np.save(os.path.join(outdir, name + "_Y.npy"), Y)


def train_briefly(model, seed, rows, steps, lr=5e-3, batch=64, out_shape=None, teacher_scale=1 / 8):
    """A few Adam steps towards a random teacher, tanh(x . T) with T ~ N(0,1) * teacher_scale,
    on `rows` seeded N(0,1) inputs of model.shape: enough to move the weights (and BatchNorm
    running statistics) away from their initial values. The teacher's output shape is
    out_shape, or the model's, probed on one row."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(rows, *model.shape, generator=g)
    if out_shape is None:
        with torch.no_grad():
            out_shape = tuple(model(x[:1]).shape[1:])
    teacher = torch.randn(int(np.prod(model.shape)), int(np.prod(out_shape)), generator=g) * teacher_scale
    y = torch.tanh(x.flatten(1) @ teacher).reshape(-1, *out_shape)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    for _ in range(steps):
        idx = torch.randint(0, x.shape[0], (batch,), generator=g)
        opt.zero_grad()
        ((model(x[idx]) - y[idx]) ** 2).mean().backward()
        opt.step()
    model.eval()


def export_onnx(model, path, shape, opset, dynamic_batch=False):
    """torch.onnx.export with a batch of one (or a symbolic batch axis), input 'input',
    output 'output'."""
    extra = {"dynamic_axes": {"input": {0: "batch"}, "output": {0: "batch"}}} if dynamic_batch else {}
    torch.onnx.export(model, torch.zeros(1, *shape), path, input_names=["input"], output_names=["output"],
                      opset_version=opset, **extra)


def torch_fixture(name, make, outdir, seed, opset, dynamic_batch=False, train=None):
    """The model make() builds (torch seeded with `seed`; model.shape: one input row),
    trained by train(model) (or just put in eval mode), as <name>.onnx, with <name>_X.npy
    (ROWS N(0,1) rows, numpy seeded with `seed`, flattened) and <name>_Y.npy (torch's
    outputs in float64, the float32 weights widened exactly, flattened per row). Returns
    the model, now in float64."""
    torch.manual_seed(seed)
    model = make()
    if train is not None:
        train(model)
    else:
        model.eval()
    export_onnx(model, os.path.join(outdir, name + ".onnx"), model.shape, opset, dynamic_batch)
    X = np.random.default_rng(seed).standard_normal((ROWS, int(np.prod(model.shape))))
    model.double()
    with torch.no_grad():
        Y = model(torch.from_numpy(X).reshape(ROWS, *model.shape)).numpy().reshape(ROWS, -1)
    save_xy(outdir, name, X, Y)
    return model


def make_torch_fixture(name, build, outdir, seed):
    """torch_fixture, trained for a few hundred steps on a linear teacher, plus
    <name>_params/<key>.npy."""
    def train(model):
        n_out = [m for m in model if isinstance(m, nn.Linear)][-1].out_features
        train_briefly(model, seed, rows=2048, steps=200, lr=1e-2, batch=128, out_shape=(n_out,), teacher_scale=1.0)

    model = torch_fixture(name, build, outdir, seed, opset=13, dynamic_batch=True, train=train)
    pdir = os.path.join(outdir, name + "_params")
    os.makedirs(pdir, exist_ok=True)
    for key, value in model.state_dict().items():
        if value.dtype == torch.float64:
            np.save(os.path.join(pdir, key + ".npy"), value.numpy())


def make_keras_fixture(outdir, seed):
    """A Keras-2 functional model written by hand: the JSON architecture and the weights
    file layout that Keras' save_weights produces (<layer>/<layer>/kernel:0 plus the
    layer_names / weight_names attributes)."""
    import h5py

    rng = np.random.default_rng(seed)
    sizes = [8, 12, 6, 3]
    layers = [{"class_name": "InputLayer", "name": "input_1", "inbound_nodes": [],
               "config": {"batch_input_shape": [None, sizes[0]], "dtype": "float32",
                          "name": "input_1", "sparse": False}}]
    weights = {}
    prev = "input_1"
    acts = ["relu", "tanh", "softmax"]
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        name = "fc%d" % (i + 1)
        layers.append({"class_name": "Dense", "name": name,
                       "inbound_nodes": [[[prev, 0, 0, {}]]],
                       "config": {"name": name, "units": n_out, "activation": acts[i],
                                  "use_bias": True, "trainable": True}})
        weights[name] = {"kernel:0": rng.standard_normal((n_in, n_out)).astype(np.float32) * 0.5,
                         "bias:0": rng.standard_normal(n_out).astype(np.float32) * 0.1}
        prev = name
        if i == 0:
            layers.append({"class_name": "BatchNormalization", "name": "bn1",
                           "inbound_nodes": [[[prev, 0, 0, {}]]],
                           "config": {"name": "bn1", "axis": -1, "epsilon": 1e-3,
                                      "center": True, "scale": True}})
            weights["bn1"] = {
                "gamma:0": (1 + 0.2 * rng.standard_normal(n_out)).astype(np.float32),
                "beta:0": (0.1 * rng.standard_normal(n_out)).astype(np.float32),
                "moving_mean:0": (0.3 * rng.standard_normal(n_out)).astype(np.float32),
                "moving_variance:0": (0.5 + rng.random(n_out)).astype(np.float32)}
            prev = "bn1"
            layers.append({"class_name": "Dropout", "name": "dropout_1",
                           "inbound_nodes": [[[prev, 0, 0, {}]]],
                           "config": {"name": "dropout_1", "rate": 0.2}})
            prev = "dropout_1"
    arch = {"class_name": "Model", "keras_version": "2.1.6", "backend": "tensorflow",
            "config": {"name": "keras_dense", "layers": layers,
                       "input_layers": [["input_1", 0, 0]], "output_layers": [[prev, 0, 0]]}}
    json_path = os.path.join(outdir, "keras_dense.json")
    with open(json_path, "w") as f:
        json.dump(arch, f, indent=1)

    def write_weights(h):
        write_keras_weights(h, layers, weights)
        h.attrs["backend"] = b"tensorflow"
        h.attrs["keras_version"] = b"2.1.6"

    h5_path = os.path.join(outdir, "keras_dense_weights.h5")
    with h5py.File(h5_path, "w") as h:
        write_weights(h)
    # The single-file form of model.save(): architecture in `model_config`, weights
    # under `model_weights`.
    full_path = os.path.join(outdir, "keras_dense_full.h5")
    with h5py.File(full_path, "w") as h:
        h.attrs["model_config"] = json.dumps(arch)
        write_weights(h.create_group("model_weights"))

    # Reference outputs in float64 from the float32 weights.
    X = rng.standard_normal((ROWS, sizes[0]))
    h = X
    for i, name in enumerate(["fc1", "fc2", "fc3"]):
        w = weights[name]
        h = h @ w["kernel:0"].astype(np.float64) + w["bias:0"].astype(np.float64)
        if i == 0:  # fc1 (relu fused) -> bn1
            h = np.maximum(h, 0)
            b = {k: v.astype(np.float64) for k, v in weights["bn1"].items()}
            h = (h - b["moving_mean:0"]) / np.sqrt(b["moving_variance:0"] + 1e-3) * b["gamma:0"] + b["beta:0"]
        elif i == 1:
            h = np.tanh(h)
        else:
            e = np.exp(h - h.max(axis=1, keepdims=True))
            h = e / e.sum(axis=1, keepdims=True)
    save_xy(outdir, "keras_dense", X, h)
    return [json_path, h5_path, full_path]


def write_keras_weights(h, layers, weights):
    """Keras 2's weights layout in an open h5py group: `layer_names`, then one group per
    layer with `weight_names` and one dataset per weight ("<layer>/<weight>"). The other
    fixture scripts use this too."""
    names = [l["name"] for l in layers]
    h.attrs["layer_names"] = np.array([n.encode() for n in names])
    for n in names:
        g = h.create_group(n)
        ws = weights.get(n, {})
        g.attrs["weight_names"] = np.array([("%s/%s" % (n, w)).encode() for w in ws], dtype="S")
        for w, v in ws.items():
            g.create_dataset("%s/%s" % (n, w), data=v)


def write_keras_model(outdir, name, layers, weights, inputs, outputs, keras_version="2.4.0"):
    """A Keras 2 functional model as <name>.json + <name>_weights.h5 (hls4ml's pair).
    `inputs`/`outputs`: layer names; returns the two paths."""
    import h5py
    arch = {"class_name": "Model", "keras_version": keras_version, "backend": "tensorflow",
            "config": {"name": name, "layers": layers, "input_layers": [[n, 0, 0] for n in inputs],
                       "output_layers": [[n, 0, 0] for n in outputs]}}
    json_path = os.path.join(outdir, name + ".json")
    with open(json_path, "w") as f:
        json.dump(arch, f, indent=1)
    h5_path = os.path.join(outdir, name + "_weights.h5")
    with h5py.File(h5_path, "w") as h:
        write_keras_weights(h, layers, weights)
    return [json_path, h5_path]


def publish(tmpdir, outdir, stamp=STAMP):
    """Move every file from tmpdir into outdir with atomic renames, so tests running in
    parallel never see a half-written file; the stamp file (which tests check) goes last.
    The other fixture scripts use this too, with their own stamp."""
    files = []
    for root, _, names in os.walk(tmpdir):
        files += [os.path.relpath(os.path.join(root, n), tmpdir) for n in names]
    files.sort(key=lambda f: f == stamp)
    for rel in files:
        os.makedirs(os.path.dirname(os.path.join(outdir, rel)), exist_ok=True)
        os.replace(os.path.join(tmpdir, rel), os.path.join(outdir, rel))
    shutil.rmtree(tmpdir, ignore_errors=True)
    return [os.path.join(outdir, f) for f in files]


def make_fixture_set(prefix, stamp, version, build, torch_threads=True):
    """The fixture scripts' main(): OUT is argv[1] (default build/fixtures); `build(tmpdir,
    outdir)` writes into a private temporary folder inside OUT; then the stamp (holding
    `version`) is written and everything moves into OUT with publish (stamp last)."""
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join("build", "fixtures")
    os.makedirs(outdir, exist_ok=True)
    if torch_threads:
        torch.set_num_threads(1)
    tmpdir = tempfile.mkdtemp(prefix=prefix, dir=outdir)
    try:
        build(tmpdir, outdir)
        with open(os.path.join(tmpdir, stamp), "w") as f:
            f.write(version + "\n")
        for p in sorted(publish(tmpdir, outdir, stamp)):
            print("wrote", p)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)


def main():
    def build(tmpdir, outdir):
        for i, (name, make) in enumerate(MODELS.items()):
            make_torch_fixture(name, make, tmpdir, seed=1234 + i)
        make_keras_fixture(tmpdir, seed=99)
    make_fixture_set(".nn_fixtures_", STAMP, VERSION, build)


if __name__ == "__main__":
    main()
