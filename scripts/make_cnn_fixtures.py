#!/usr/bin/python3
"""Build Tachyon's convolutional test fixtures (IR v2: N-D tensors and branching graphs).

Usage: /usr/bin/python3 scripts/make_cnn_fixtures.py [OUTDIR]   (default: build/fixtures)

PyTorch models (trained for a moment on seeded synthetic data, exported to ONNX with
channels-first inputs), each written as
  <name>.onnx, <name>_X.npy (1000 random N(0,1) rows, the input flattened in ONNX's
  channels-first order), <name>_Y.npy (torch's float64 outputs for those rows)
  cnn_pool      Conv2d + ReLU + MaxPool + Conv2d + AvgPool + BatchNorm + Linear + Softmax
  cnn_residual  a residual block (Conv, Conv, Add) and global average pooling
  cnn_concat    two branches (1x1 and 3x3 convolutions) concatenated along channels
  unet_tiny     encoder, nearest upsampling decoder and a skip concatenation
  cnn1d         Conv1d with stride and dilation, a depthwise Conv1d, ELU, global max pooling
  cnn_affine    scalar and per-channel constant arithmetic (ONNX Mul/Add/Div/Sub)

A Keras-2-layout model written by hand with h5py, keras_cnn.json + keras_cnn_weights.h5,
exercising Keras' own conventions: channels-last, 'same' padding with stride 2 (the
asymmetric TensorFlow rule), DepthwiseConv2D, SeparableConv2D, ZeroPadding2D,
UpSampling2D, Concatenate, Add and GlobalAveragePooling2D. Its reference keras_cnn_Y.npy
is computed independently with torch.nn.functional on the same weights.

Everything is deterministic; rerunning rewrites the same files.
"""

import numpy as np
import torch
from make_fixtures import ROWS, make_fixture_set, save_xy, torch_fixture, train_briefly, write_keras_model
from torch import nn
import torch.nn.functional as F

STAMP = "cnn_fixtures.stamp"
VERSION = "3"


class CnnPool(nn.Module):
    shape = (1, 12, 12)

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 4, 3, padding=1)
        self.c2 = nn.Conv2d(4, 6, 3, stride=1)
        self.bn = nn.BatchNorm2d(6)
        self.fc = nn.Linear(6 * 2 * 2, 5)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.c1(x)), 2)
        x = F.avg_pool2d(F.relu(self.c2(x)), 2)
        x = self.bn(x)
        return F.softmax(self.fc(torch.flatten(x, 1)), dim=-1)


class CnnResidual(nn.Module):
    shape = (3, 8, 8)

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.a = nn.Conv2d(8, 8, 3, padding=1)
        self.b = nn.Conv2d(8, 8, 3, padding=1)
        self.fc = nn.Linear(8, 4)

    def forward(self, x):
        h = F.relu(self.stem(x))
        r = self.b(F.relu(self.a(h)))
        h = F.relu(h + r)
        return self.fc(F.adaptive_avg_pool2d(h, 1).flatten(1))


class CnnConcat(nn.Module):
    shape = (2, 10, 10)

    def __init__(self):
        super().__init__()
        self.p = nn.Conv2d(2, 3, 1)
        self.q = nn.Conv2d(2, 5, 3, padding=1, stride=2)
        self.fc = nn.Linear(8 * 5 * 5, 3)

    def forward(self, x):
        a = F.max_pool2d(self.p(x), 2)
        b = torch.tanh(self.q(x))
        return self.fc(torch.flatten(F.relu(torch.cat([a, b], dim=1)), 1))


class UnetTiny(nn.Module):
    shape = (1, 8, 8)

    def __init__(self):
        super().__init__()
        self.e1 = nn.Conv2d(1, 4, 3, padding=1)
        self.e2 = nn.Conv2d(4, 8, 3, padding=1)
        self.d1 = nn.Conv2d(12, 4, 3, padding=1)
        self.out = nn.Conv2d(4, 1, 1)

    def forward(self, x):
        s = F.relu(self.e1(x))
        h = F.relu(self.e2(F.max_pool2d(s, 2)))
        h = F.interpolate(h, scale_factor=2, mode="nearest")
        h = F.relu(self.d1(torch.cat([h, s], dim=1)))
        return torch.sigmoid(self.out(h)).flatten(1)


class Cnn1d(nn.Module):
    shape = (4, 20)

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv1d(4, 6, 3, stride=2, padding=2, dilation=2)
        self.dw = nn.Conv1d(6, 12, 3, padding=1, groups=6)
        self.fc = nn.Linear(12, 2)

    def forward(self, x):
        h = F.elu(self.c1(x))
        h = F.relu(self.dw(h))
        return self.fc(F.adaptive_max_pool1d(h, 1).flatten(1))


class CnnAffine(nn.Module):
    """Arithmetic with constants (scalar and per-channel), which ONNX writes as Mul/Add/
    Div/Sub nodes with an initializer operand."""
    shape = (2, 6, 6)

    def __init__(self):
        super().__init__()
        self.c = nn.Conv2d(2, 3, 3)
        self.fc = nn.Linear(48, 2)
        self.register_buffer("div", torch.tensor([2.0, 4.0, 8.0]).reshape(3, 1, 1))

    def forward(self, x):
        h = self.c(x * 0.5 + 1.0) / self.div - 0.25
        return self.fc(torch.flatten(F.relu(h), 1)) * 2.0


MODELS = {"cnn_pool": CnnPool, "cnn_residual": CnnResidual, "cnn_concat": CnnConcat,
          "unet_tiny": UnetTiny, "cnn1d": Cnn1d, "cnn_affine": CnnAffine}


def make_torch_fixture(name, cls, outdir, seed):
    torch_fixture(name, cls, outdir, seed, opset=13, dynamic_batch=True,
                  train=lambda model: train_briefly(model, seed, rows=512, steps=60))


def same_pad(size, k, s, d=1):
    """TensorFlow's 'same' padding: (before, after), the odd one at the end."""
    out = -(-size // s)
    total = max((out - 1) * s + (k - 1) * d + 1 - size, 0)
    return total // 2, total - total // 2


def make_keras_fixture(outdir, seed):

    rng = np.random.default_rng(seed)
    H, W, C = 9, 9, 2
    layers, weights = [], {}

    def add(cls, name, inbound, config, w=None):
        config = dict(config, name=name)
        layers.append({"class_name": cls, "name": name, "config": config,
                       "inbound_nodes": [[[i, 0, 0, {}] for i in inbound]] if inbound else []})
        if w:
            weights[name] = {k: v.astype(np.float32) for k, v in w.items()}

    def r(*shape, scale=0.4):
        return rng.standard_normal(shape) * scale

    add("InputLayer", "in", [], {"batch_input_shape": [None, H, W, C], "dtype": "float32"})
    add("Conv2D", "c1", ["in"], {"filters": 4, "kernel_size": [3, 3], "strides": [2, 2], "padding": "same",
                                 "activation": "relu", "use_bias": True, "data_format": "channels_last",
                                 "dilation_rate": [1, 1]}, {"kernel:0": r(3, 3, C, 4), "bias:0": r(4, scale=0.1)})
    add("DepthwiseConv2D", "dw", ["c1"], {"kernel_size": [3, 3], "strides": [1, 1], "padding": "same",
                                          "depth_multiplier": 2, "activation": "linear", "use_bias": True},
        {"depthwise_kernel:0": r(3, 3, 4, 2), "bias:0": r(8, scale=0.1)})
    add("SeparableConv2D", "sep", ["c1"], {"filters": 8, "kernel_size": [2, 2], "strides": [1, 1],
                                           "padding": "same", "depth_multiplier": 1, "activation": "tanh",
                                           "use_bias": True},
        {"depthwise_kernel:0": r(2, 2, 4, 1), "pointwise_kernel:0": r(1, 1, 4, 8), "bias:0": r(8, scale=0.1)})
    add("Add", "add", ["dw", "sep"], {})
    add("ZeroPadding2D", "pad", ["add"], {"padding": [[1, 0], [0, 1]]})
    add("MaxPooling2D", "pool", ["pad"], {"pool_size": [2, 2], "strides": [2, 2], "padding": "valid"})
    add("UpSampling2D", "up", ["pool"], {"size": [2, 2], "interpolation": "nearest"})
    add("ZeroPadding2D", "pad2", ["c1"], {"padding": [[0, 1], [1, 0]]})
    add("Conv2D", "c2", ["pad2"], {"filters": 3, "kernel_size": [1, 1], "strides": [1, 1], "padding": "valid",
                                 "activation": "sigmoid", "use_bias": False},
        {"kernel:0": r(1, 1, 4, 3)})
    add("Concatenate", "cat", ["up", "c2"], {"axis": -1})
    add("GlobalAveragePooling2D", "gap", ["cat"], {})
    add("Dense", "fc", ["gap"], {"units": 3, "activation": "softmax", "use_bias": True},
        {"kernel:0": r(11, 3), "bias:0": r(3, scale=0.1)})
    write_keras_model(outdir, "keras_cnn", layers, weights, ["in"], ["fc"])

    # Reference in float64 with torch.nn.functional (NCHW), independent of Tachyon.
    wd = {n: {k: torch.from_numpy(v.astype(np.float64)) for k, v in ws.items()} for n, ws in weights.items()}

    def conv(x, kernel, bias, stride, groups=1):
        # Keras kernel [kh, kw, in/groups, out] -> torch [out, in/groups, kh, kw]; 'same' padding.
        k = kernel.permute(3, 2, 0, 1)
        ph = same_pad(x.shape[2], k.shape[2], stride)
        pw = same_pad(x.shape[3], k.shape[3], stride)
        x = F.pad(x, (pw[0], pw[1], ph[0], ph[1]))
        return F.conv2d(x, k, bias, stride=stride, groups=groups)

    X = rng.standard_normal((ROWS, H * W * C))
    x = torch.from_numpy(X).reshape(ROWS, H, W, C).permute(0, 3, 1, 2)
    c1 = F.relu(conv(x, wd["c1"]["kernel:0"], wd["c1"]["bias:0"], 2))
    dk = wd["dw"]["depthwise_kernel:0"].reshape(3, 3, 1, 8)   # [kh, kw, 1, C*M], channel-major
    dw = conv(c1, dk, wd["dw"]["bias:0"], 1, groups=4)
    sd = conv(c1, wd["sep"]["depthwise_kernel:0"].reshape(2, 2, 1, 4), None, 1, groups=4)
    sep = torch.tanh(conv(sd, wd["sep"]["pointwise_kernel:0"], wd["sep"]["bias:0"], 1))
    h = F.pad(dw + sep, (0, 1, 1, 0))
    h = F.interpolate(F.max_pool2d(h, 2), scale_factor=2, mode="nearest")
    c2 = torch.sigmoid(conv(F.pad(c1, (1, 0, 0, 1)), wd["c2"]["kernel:0"], None, 1))
    h = torch.cat([h, c2], dim=1).mean(dim=(2, 3))
    Y = F.softmax(h @ wd["fc"]["kernel:0"] + wd["fc"]["bias:0"], dim=-1).numpy()
    save_xy(outdir, "keras_cnn", X, Y)


def make_keras_1d_fixture(outdir, seed):
    """keras_cnn1d: the 1-D layer family and the other merges and activations: Conv1D
    (causal, dilated), ZeroPadding1D, AveragePooling1D with 'same' padding (the average
    over the valid part), UpSampling1D, Subtract, Multiply, Average, Maximum, Minimum,
    Permute, selu/softplus/softsign/swish and GlobalMaxPooling1D."""

    rng = np.random.default_rng(seed)
    L, C = 12, 3
    layers, weights = [], {}

    def add(cls, name, inbound, config, w=None):
        layers.append({"class_name": cls, "name": name, "config": dict(config, name=name),
                       "inbound_nodes": [[[i, 0, 0, {}] for i in inbound]] if inbound else []})
        if w:
            weights[name] = {k: v.astype(np.float32) for k, v in w.items()}

    def r(*shape, scale=0.5):
        return rng.standard_normal(shape) * scale

    add("InputLayer", "in", [], {"batch_input_shape": [None, L, C]})
    add("Conv1D", "a", ["in"], {"filters": 4, "kernel_size": 3, "padding": "causal", "dilation_rate": 2,
                                "activation": "selu"}, {"kernel:0": r(3, C, 4), "bias:0": r(4, scale=0.1)})
    add("Conv1D", "b", ["in"], {"filters": 4, "kernel_size": [2], "strides": 1, "padding": "same",
                                "activation": "softplus"}, {"kernel:0": r(2, C, 4), "bias:0": r(4, scale=0.1)})
    add("Subtract", "sub", ["a", "b"], {})
    add("Multiply", "mul", ["a", "b"], {})
    add("Average", "avg", ["a", "b", "sub"], {})
    add("Maximum", "max", ["sub", "mul"], {})
    add("Minimum", "min", ["avg", "max"], {})
    add("Activation", "soft", ["min"], {"activation": "softsign"})
    add("ZeroPadding1D", "pad", ["soft"], {"padding": [2, 1]})
    add("AveragePooling1D", "pool", ["pad"], {"pool_size": 3, "strides": 2, "padding": "same"})
    add("UpSampling1D", "up", ["pool"], {"size": 3})
    add("Conv1D", "c", ["up"], {"filters": 5, "kernel_size": 3, "strides": 2, "padding": "valid",
                                "activation": "swish"}, {"kernel:0": r(3, 4, 5), "bias:0": r(5, scale=0.1)})
    add("Permute", "perm", ["c"], {"dims": [2, 1]})
    add("GlobalMaxPooling1D", "gmp", ["perm"], {})
    add("Dense", "out", ["gmp"], {"units": 2, "activation": "linear"}, {"kernel:0": r(11, 2), "bias:0": r(2)})
    write_keras_model(outdir, "keras_cnn1d", layers, weights, ["in"], ["out"])

    # Independent float64 reference (torch, channels-first).
    wd = {n: {k: torch.from_numpy(v.astype(np.float64)) for k, v in ws.items()} for n, ws in weights.items()}

    def conv(x, name, pad, stride=1, dilation=1):
        k = wd[name]["kernel:0"].permute(2, 1, 0)
        return F.conv1d(F.pad(x, pad), k, wd[name]["bias:0"], stride=stride, dilation=dilation)

    X = rng.standard_normal((ROWS, L * C))
    x = torch.from_numpy(X).reshape(ROWS, L, C).permute(0, 2, 1)
    a = F.selu(conv(x, "a", (4, 0), dilation=2))
    b = F.softplus(conv(x, "b", same_pad(L, 2, 1)))
    sub, mul = a - b, a * b
    avg = (a + b + sub) / 3
    h = torch.minimum(avg, torch.maximum(sub, mul))
    h = F.pad(F.softsign(h), (2, 1))
    n = h.shape[2]
    pb, pe = same_pad(n, 3, 2)
    # Keras 'same' average pooling divides by the window's part inside the input.
    ones = torch.ones(1, 1, n, dtype=torch.float64)
    h = F.avg_pool1d(F.pad(h, (pb, pe)), 3, 2) / F.avg_pool1d(F.pad(ones, (pb, pe)), 3, 2)
    h = h.repeat_interleave(3, dim=2)
    h = F.silu(conv(h, "c", (0, 0), stride=2))
    # Permute swaps (steps, channels): the max over the new first axis is over channels.
    h = h.amax(dim=1)
    Y = (h @ wd["out"]["kernel:0"] + wd["out"]["bias:0"]).numpy()
    save_xy(outdir, "keras_cnn1d", X, Y)


def main():
    def build(tmpdir, outdir):
        for i, (name, cls) in enumerate(MODELS.items()):
            make_torch_fixture(name, cls, tmpdir, seed=4321 + i)
        make_keras_fixture(tmpdir, seed=77)
        make_keras_1d_fixture(tmpdir, seed=78)
    make_fixture_set(".cnn_fixtures_", STAMP, VERSION, build)


if __name__ == "__main__":
    main()
