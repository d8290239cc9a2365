#!/usr/bin/python3
"""Float references for the convolutional models of the example-model zoo (../shared/models).

Usage: /usr/bin/python3 scripts/make_zoo_references.py [OUTDIR]   (default: build/fixtures)

The zoo ships reference outputs for its dense models only. For the CNNs this computes them
here, independently of Tachyon: Keras models from their JSON and H5 weights with
torch.nn.functional (TensorFlow's 'same' padding rule written out), ONNX models with a
small evaluator of the few operators they use. Writes OUTDIR/zoo/<frontend>_<model>_X.npy
(1000 random N(0,1) rows) and _Y.npy. Does nothing (exit 0) when the zoo is absent.
"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

from make_cnn_fixtures import same_pad   # TensorFlow's 'same' padding rule

ZOO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "models")
ROWS = 1000
KERAS = ["KERAS_conv1d_small", "KERAS_conv2d_model", "jetTagger_Conv2D_Small_NoBatchNorm"]
ONNX = ["conv1d_small_keras", "conv2d_small_keras"]


def keras_weights(path):
    import h5py
    out = {}
    with h5py.File(path, "r") as h:
        root = h["model_weights"] if "model_weights" in h else h

        def visit(name, obj):
            if isinstance(obj, h5py.Dataset):
                layer = name.split("/")[0]
                key = name.split("/")[-1].split(":")[0]
                out.setdefault(layer, {})[key] = torch.from_numpy(np.array(obj, dtype=np.float64))
        root.visititems(visit)
    return out


def activation(x, name):
    return {"linear": lambda v: v, "relu": F.relu, "softmax": lambda v: F.softmax(v, dim=-1),
            "sigmoid": torch.sigmoid, "tanh": torch.tanh}[name](x)


def run_keras(name):
    arch = json.load(open(os.path.join(ZOO, "keras", name + ".json")))
    w = keras_weights(os.path.join(ZOO, "keras", name + "_weights.h5"))
    layers = arch["config"]["layers"] if isinstance(arch["config"], dict) else arch["config"]
    shape = None
    for l in layers:
        if "batch_input_shape" in l["config"]:
            shape = l["config"]["batch_input_shape"][1:]
            break
    rng = np.random.default_rng(7)
    X = rng.standard_normal((ROWS, int(np.prod(shape))))
    x = torch.from_numpy(X).reshape(ROWS, *shape)   # channels-last, as Keras
    for l in layers:
        cls, c = l["class_name"], l["config"]
        if cls in ("InputLayer", "Dropout"):
            continue
        if cls in ("Conv1D", "Conv2D"):
            k = w[c["name"]]["kernel"]
            rank = k.dim() - 2
            xc = x.permute(0, rank + 1, *range(1, rank + 1))        # to channels-first
            kt = k.permute(rank + 1, rank, *range(rank))              # [out, in, k...]
            strides = c["strides"]
            pads = []
            for a in reversed(range(rank)):
                pads += list(same_pad(xc.shape[2 + a], kt.shape[2 + a], strides[a])) if c["padding"] == "same" else [0, 0]
            xc = F.pad(xc, pads)
            conv = F.conv1d if rank == 1 else F.conv2d
            y = conv(xc, kt, w[c["name"]].get("bias"), stride=strides)
            x = activation(y.permute(0, *range(2, rank + 2), 1), c["activation"])
        elif cls == "Flatten":
            x = x.reshape(ROWS, -1)
        elif cls == "Dense":
            x = activation(x @ w[c["name"]]["kernel"] + w[c["name"]]["bias"], c["activation"])
        else:
            raise SystemExit("make_zoo_references: no reference for layer class " + cls)
    return X, x.numpy()


def run_onnx(name):
    import onnx
    from onnx import numpy_helper
    m = onnx.load(os.path.join(ZOO, "onnx", name + ".onnx"))
    g = m.graph
    vals = {t.name: torch.from_numpy(numpy_helper.to_array(t).astype(np.float64)) for t in g.initializer}
    inp = [i for i in g.input if i.name not in vals][0]
    shape = [d.dim_value for d in inp.type.tensor_type.shape.dim][1:]
    rng = np.random.default_rng(7)
    X = rng.standard_normal((ROWS, int(np.prod(shape))))
    vals[inp.name] = torch.from_numpy(X).reshape(ROWS, *shape)
    for n in g.node:
        a = {at.name: onnx.helper.get_attribute_value(at) for at in n.attribute}
        i = [vals[t] for t in n.input if t]
        if n.op_type == "Transpose":
            y = i[0].permute(*a["perm"])
        elif n.op_type == "Conv":
            rank = i[1].dim() - 2
            pads = a.get("pads", [0] * 2 * rank)
            p = []
            for d in reversed(range(rank)):
                p += [pads[d], pads[d + rank]]
            conv = F.conv1d if rank == 1 else F.conv2d
            y = conv(F.pad(i[0], p), i[1], i[2] if len(i) > 2 else None, stride=a.get("strides", 1),
                     dilation=a.get("dilations", 1), groups=a.get("group", 1))
        elif n.op_type == "Relu":
            y = F.relu(i[0])
        elif n.op_type in ("Identity", "Dropout"):
            y = i[0]
        elif n.op_type == "Flatten":
            y = i[0].reshape(ROWS, -1)
        elif n.op_type == "Gemm":
            b = i[1].T if a.get("transB", 0) else i[1]
            y = a.get("alpha", 1.0) * (i[0] @ b) + a.get("beta", 1.0) * i[2]
        elif n.op_type == "Softmax":
            y = F.softmax(i[0], dim=-1)
        else:
            raise SystemExit("make_zoo_references: no reference for operator " + n.op_type)
        vals[n.output[0]] = y
    return X, vals[g.output[0].name].numpy()


def main():
    outdir = os.path.join(sys.argv[1] if len(sys.argv) > 1 else os.path.join("build", "fixtures"), "zoo")
    if not os.path.exists(os.path.join(ZOO, "README.md")):
        print("make_zoo_references: no zoo at", ZOO, "- nothing to do")
        return
    os.makedirs(outdir, exist_ok=True)
    for kind, names, run in (("keras", KERAS, run_keras), ("onnx", ONNX, run_onnx)):
        for name in names:
            X, Y = run(name)
            for suffix, arr in (("_X", X), ("_Y", Y)):
                tmp = os.path.join(outdir, ".tmp_%s_%s%s.npy" % (kind, name, suffix))
                np.save(tmp, arr)
                os.replace(tmp, os.path.join(outdir, "%s_%s%s.npy" % (kind, name, suffix)))
            print("wrote", os.path.join(outdir, "%s_%s_{X,Y}.npy" % (kind, name)))


if __name__ == "__main__":
    main()
