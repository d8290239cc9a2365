#!/usr/bin/python3
"""QONNX channels-last fixtures: ONNX models whose Conv, MaxPool, AveragePool and
BatchNormalization nodes are in QONNX's `qonnx.custom_op.channels_last` domain, built by
hand with the onnx package, with reference outputs from numpy.

Usage: /usr/bin/python3 scripts/make_channels_last_fixtures.py [OUTDIR]   (default: build/fixtures)

Writes <name>.onnx, <name>_X.npy (input rows, flattened in the model input's ONNX order)
and <name>_Y.npy (float64 outputs, flattened in the output's ONNX order) for:
  cl_conv2d      NHWC input -> Conv (weight through a QONNX Quant, bias) -> Relu ->
                 BatchNormalization -> MaxPool -> Flatten -> Gemm
  cl_conv1d      NWC input -> dilated, padded Conv -> Relu -> AveragePool
  cl_depthwise   NCHW input -> Transpose -> depthwise strided Conv with asymmetric
                 padding -> Transpose back (QONNX's form when the input stays channels-first)
  cl_separable   the structure of hls4ml's separable_conv_model_ch_last test model (QONNX,
                 example-models): activation Quants around depthwise 3x3 + pointwise 1x1
                 channels-last Convs with Quant weights and biases, LeakyRelu
  cl_branched    the structure of branched_model_ch_last: separable blocks, a channels-last
                 MaxPool, a standard Resize (scales [1, 2, 2, 1]) and a Concat on the last
                 axis joining a skip branch, all on channels-last tensors
  cl_tiny_unet   the structure of tiny_unet_ch_last: the same blocks in a two-level U-Net
                 (two MaxPools down, two Resize + Concat skips up)
(small sizes: 8x8 inputs, up to 24 channels; the zoo's originals are 256x256 and 512x512),
and two models Tachyon must refuse with a clear error: cl_refused_resize (a channels-last
Resize) and cl_refused_weight (a Conv weight computed by a Mul node).
A channels-last node works on [N, spatial..., C] tensors and a channels-last Conv weight
is [O, k..., C/group] (QONNX transposes the weight with the data; hls4ml reads it so). The
numpy reference computes directly in that layout (loops over output positions and kernel
taps), not through ONNX or a transpose to channels-first, so it checks the layout
handling independently.
"""
import os

import numpy as np
from onnx import TensorProto, helper, numpy_helper

from make_fixtures import make_fixture_set

STAMP = "channels_last_fixtures.stamp"
VERSION = "2"
DOMAIN = "qonnx.custom_op.channels_last"
ROWS = 200


def init(name, array):
    return numpy_helper.from_array(np.asarray(array, dtype=np.float32), name)


def save(outdir, name, nodes, inits, in_shape, out_shape, x, y):
    graph = helper.make_graph(
        nodes, name, [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1] + list(in_shape))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1] + list(out_shape))], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid(DOMAIN, 1),
                                                    helper.make_opsetid("qonnx.custom_op.general", 1)])
    with open(os.path.join(outdir, name + ".onnx"), "wb") as f:
        f.write(model.SerializeToString())
    np.save(os.path.join(outdir, name + "_X.npy"), x.reshape(len(x), -1).astype(np.float64))
    np.save(os.path.join(outdir, name + "_Y.npy"), y.reshape(len(y), -1).astype(np.float64))


def conv_nhwc(x, w, b, strides, pads, dilations, group):
    """x [N, s..., C], w [O, k..., C/group] (channels-last), pads [begin..., end...]."""
    nd = x.ndim - 2
    begin, end = pads[:nd], pads[nd:]
    xp = np.pad(x, [(0, 0)] + [(begin[i], end[i]) for i in range(nd)] + [(0, 0)])
    k = w.shape[1:1 + nd]
    out_sp = [(xp.shape[1 + i] - dilations[i] * (k[i] - 1) - 1) // strides[i] + 1 for i in range(nd)]
    o, cg = w.shape[0], w.shape[-1]
    og = o // group
    y = np.zeros([x.shape[0]] + out_sp + [o])
    for pos in np.ndindex(*out_sp):
        for tap in np.ndindex(*k):
            idx = tuple(pos[i] * strides[i] + tap[i] * dilations[i] for i in range(nd))
            patch = xp[(slice(None),) + idx]                       # [N, C]
            for g in range(group):
                wt = w[(slice(g * og, (g + 1) * og),) + tap]       # [og, cg]
                y[(slice(None),) + pos + (slice(g * og, (g + 1) * og),)] += patch[:, g * cg:(g + 1) * cg] @ wt.T
    return y + b


def pool_nhwc(x, k, s, op):
    nd = x.ndim - 2
    out_sp = [(x.shape[1 + i] - k[i]) // s[i] + 1 for i in range(nd)]
    y = np.zeros([x.shape[0]] + out_sp + [x.shape[-1]])
    for pos in np.ndindex(*out_sp):
        window = x[(slice(None),) + tuple(slice(pos[i] * s[i], pos[i] * s[i] + k[i]) for i in range(nd))]
        axes = tuple(range(1, 1 + nd))
        y[(slice(None),) + pos] = window.max(axis=axes) if op == "max" else window.mean(axis=axes)
    return y


def qonnx_quant(x, scale, zero_point, bits, signed=True, narrow=False):
    """QONNX Quant with rounding_mode ROUND (half to even)."""
    lo = (-(2 ** (bits - 1)) + int(narrow)) if signed else 0
    hi = (2 ** (bits - 1) - 1) if signed else 2 ** bits - 1 - int(narrow)
    return (np.clip(np.round(x / scale + zero_point), lo, hi) - zero_point) * scale


def cl_conv2d(outdir, rng):
    w = rng.normal(0, 0.4, (4, 3, 3, 3)).astype(np.float32)     # [O, kH, kW, C]
    b = rng.normal(0, 0.1, 4).astype(np.float32)
    gamma, beta = (1 + 0.2 * rng.normal(size=4)).astype(np.float32), (0.1 * rng.normal(size=4)).astype(np.float32)
    mean, var = (0.3 * rng.normal(size=4)).astype(np.float32), (0.5 + rng.random(4)).astype(np.float32)
    wd = rng.normal(0, 0.3, (64, 5)).astype(np.float32)
    bd = rng.normal(0, 0.1, 5).astype(np.float32)
    nodes = [
        helper.make_node("Quant", ["w", "w_scale", "zero", "w_bits"], ["wq"], domain="qonnx.custom_op.general",
                         signed=1, narrow=0, rounding_mode="ROUND"),
        helper.make_node("Conv", ["x", "wq", "b"], ["c"], domain=DOMAIN, kernel_shape=[3, 3], strides=[1, 1],
                         dilations=[1, 1], pads=[1, 1, 1, 1], group=1, name="conv"),
        helper.make_node("Relu", ["c"], ["r"]),
        helper.make_node("BatchNormalization", ["r", "gamma", "beta", "mean", "var"], ["bn"], domain=DOMAIN,
                         epsilon=1e-3, name="bn"),
        helper.make_node("MaxPool", ["bn"], ["p"], domain=DOMAIN, kernel_shape=[2, 2], strides=[2, 2], name="pool"),
        helper.make_node("Flatten", ["p"], ["f"], axis=1),
        helper.make_node("Gemm", ["f", "wd", "bd"], ["y"], name="dense"),
    ]
    inits = [init("w", w), init("w_scale", 0.0625), init("zero", 0.0), init("w_bits", 6.0), init("b", b),
             init("gamma", gamma), init("beta", beta), init("mean", mean), init("var", var), init("wd", wd),
             init("bd", bd)]
    x = rng.normal(0, 1, (ROWS, 8, 8, 3)).astype(np.float32).astype(np.float64)
    wq = qonnx_quant(w.astype(np.float64), 0.0625, 0.0, 6)
    h = np.maximum(conv_nhwc(x, wq, b, [1, 1], [1, 1, 1, 1], [1, 1], 1), 0)
    h = (h - mean) / np.sqrt(var.astype(np.float64) + 1e-3) * gamma + beta
    h = pool_nhwc(h, [2, 2], [2, 2], "max")
    y = h.reshape(ROWS, -1) @ wd + bd
    save(outdir, "cl_conv2d", nodes, inits, [8, 8, 3], [5], x, y)


def cl_conv1d(outdir, rng):
    w = rng.normal(0, 0.5, (3, 3, 2)).astype(np.float32)        # [O, k, C]
    b = rng.normal(0, 0.1, 3).astype(np.float32)
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["c"], domain=DOMAIN, kernel_shape=[3], strides=[1], dilations=[2],
                         pads=[2, 2], group=1, name="conv1d"),
        helper.make_node("Relu", ["c"], ["r"]),
        helper.make_node("AveragePool", ["r"], ["y"], domain=DOMAIN, kernel_shape=[2], strides=[2], name="avg"),
    ]
    x = rng.normal(0, 1, (ROWS, 16, 2)).astype(np.float32).astype(np.float64)
    h = np.maximum(conv_nhwc(x, w.astype(np.float64), b, [1], [2, 2], [2], 1), 0)
    y = pool_nhwc(h, [2], [2], "avg")
    save(outdir, "cl_conv1d", nodes, [init("w", w), init("b", b)], [16, 2], list(y.shape[1:]), x, y)


def cl_depthwise(outdir, rng):
    w = rng.normal(0, 0.5, (4, 3, 3, 1)).astype(np.float32)     # [O, kH, kW, C/group]
    b = rng.normal(0, 0.1, 4).astype(np.float32)
    nodes = [
        helper.make_node("Transpose", ["x"], ["xt"], perm=[0, 2, 3, 1]),
        helper.make_node("Conv", ["xt", "w", "b"], ["c"], domain=DOMAIN, kernel_shape=[3, 3], strides=[2, 2],
                         dilations=[1, 1], pads=[0, 0, 1, 1], group=4, name="depthwise"),
        helper.make_node("Transpose", ["c"], ["y"], perm=[0, 3, 1, 2]),
    ]
    x = rng.normal(0, 1, (ROWS, 4, 7, 7)).astype(np.float32).astype(np.float64)   # NCHW
    h = conv_nhwc(x.transpose(0, 2, 3, 1), w.astype(np.float64), b, [2, 2], [0, 0, 1, 1], [1, 1], 4)
    y = h.transpose(0, 3, 1, 2)
    save(outdir, "cl_depthwise", nodes, [init("w", w), init("b", b)], [4, 7, 7], list(y.shape[1:]), x, y)


class Net:
    """Builds a QONNX channels-last graph and, alongside, its numpy evaluation on x: every
    helper appends the nodes and initializers and returns (tensor name, numpy value)."""

    def __init__(self, rng):
        self.rng, self.nodes, self.inits, self.count = rng, [], [], 0

    def fresh(self, stem):
        self.count += 1
        return "%s_%d" % (stem, self.count)

    def quant(self, t, v, scale=2.0 ** -4, bits=8, narrow=0):
        """An activation Quant (signed, ROUND) with scalar scale, zero point 0, bit width."""
        name = self.fresh("quant")
        self.inits += [init(name + "_scale", scale), init(name + "_zero", 0.0), init(name + "_bits", float(bits))]
        self.nodes.append(helper.make_node("Quant", [t, name + "_scale", name + "_zero", name + "_bits"], [name],
                                           domain="qonnx.custom_op.general", signed=1, narrow=narrow,
                                           rounding_mode="ROUND", name=name))
        return name, qonnx_quant(v, scale, 0.0, bits, narrow=bool(narrow))

    def quant_const(self, array, scale, bits, narrow):
        """A weight or bias initializer through a Quant node (as Brevitas exports them)."""
        name = self.fresh("w")
        self.inits.append(init(name, array))
        qname = self.fresh("quant")
        self.inits += [init(qname + "_scale", np.full(1 if array.ndim == 1 else (), scale)),
                       init(qname + "_zero", 0.0), init(qname + "_bits", float(bits))]
        self.nodes.append(helper.make_node("Quant", [name, qname + "_scale", qname + "_zero", qname + "_bits"], [qname],
                                           domain="qonnx.custom_op.general", signed=1, narrow=narrow,
                                           rounding_mode="ROUND", name=qname))
        return qname, qonnx_quant(array.astype(np.float64), scale, 0.0, bits, narrow=narrow)

    def conv(self, t, v, cout, k, group, bias):
        """A channels-last Conv, 'same' padding, weight [O, k, k, C/group] 4-bit narrow."""
        cin = v.shape[-1]
        w = self.rng.normal(0, 0.5, (cout, k, k, cin // group)).astype(np.float32)
        wname, wq = self.quant_const(w, 2.0 ** -3, 4, 1)
        ins, b = [t, wname], np.zeros(cout)
        if bias:
            bname, b = self.quant_const(self.rng.normal(0, 0.2, cout).astype(np.float32), 2.0 ** -6, 8, 0)
            ins.append(bname)
        p = (k - 1) // 2
        name = self.fresh("conv")
        self.nodes.append(helper.make_node("Conv", ins, [name], domain=DOMAIN, kernel_shape=[k, k], strides=[1, 1],
                                           dilations=[1, 1], pads=[p, p, p, p], group=group, name=name))
        return name, conv_nhwc(v, wq, b, [1, 1], [p, p, p, p], [1, 1], group)

    def separable(self, t, v, cout, leaky=True):
        """Depthwise 3x3 (no bias) -> Quant -> pointwise 1x1 with bias [-> LeakyRelu] -> Quant."""
        t, v = self.conv(t, v, v.shape[-1], 3, v.shape[-1], False)
        t, v = self.quant(t, v)
        t, v = self.conv(t, v, cout, 1, 1, True)
        if not leaky:
            return t, v
        name = self.fresh("leaky")
        self.nodes.append(helper.make_node("LeakyRelu", [t], [name], alpha=0.1015625, name=name))
        return self.quant(name, np.where(v >= 0, v, 0.1015625 * v))

    def maxpool(self, t, v):
        name = self.fresh("pool")
        self.nodes.append(helper.make_node("MaxPool", [t], [name], domain=DOMAIN, kernel_shape=[2, 2], strides=[2, 2],
                                           pads=[0, 0, 0, 0], ceil_mode=0, name=name))
        return self.quant(name, pool_nhwc(v, [2, 2], [2, 2], "max"))

    def upsample(self, t, v):
        """A standard-domain Resize on the channels-last tensor: scales [1, 2, 2, 1]."""
        name = self.fresh("resize")
        self.inits.append(init(name + "_scales", [1.0, 2.0, 2.0, 1.0]))
        self.nodes.append(helper.make_node("Resize", [t, "", name + "_scales"], [name], mode="nearest",
                                           coordinate_transformation_mode="asymmetric", nearest_mode="floor",
                                           name=name))
        return self.quant(name, v.repeat(2, axis=1).repeat(2, axis=2))

    def concat(self, a, b):
        """A Concat on the last (channel) axis of channels-last tensors."""
        name = self.fresh("concat")
        self.nodes.append(helper.make_node("Concat", [a[0], b[0]], [name], axis=-1, name=name))
        return self.quant(name, np.concatenate([a[1], b[1]], axis=-1))


def qonnx_fixture(outdir, name, rng, body):
    x = rng.normal(0, 1, (ROWS, 8, 8, 3)).astype(np.float32).astype(np.float64)
    net = Net(rng)
    t, v = net.quant("x", x)
    t, v = body(net, (t, v))
    net.nodes[-1].output[0] = "y"                      # the last node writes the graph output
    save(outdir, name, net.nodes, net.inits, [8, 8, 3], list(v.shape[1:]), x, v)


def cl_separable(outdir, rng):
    def body(net, h):
        h = net.separable(*h, 8)
        return net.separable(*h, 4, leaky=False)
    qonnx_fixture(outdir, "cl_separable", rng, body)


def cl_branched(outdir, rng):
    def body(net, h):
        skip = net.separable(*net.separable(*h, 8), 8)
        h = net.separable(*net.maxpool(*skip), 16)
        h = net.concat(net.upsample(*h), skip)
        return net.separable(*net.separable(*h, 8), 2, leaky=False)
    qonnx_fixture(outdir, "cl_branched", rng, body)


def cl_tiny_unet(outdir, rng):
    def body(net, h):
        skip1 = net.separable(*h, 8)
        skip2 = net.separable(*net.maxpool(*skip1), 16)
        h = net.separable(*net.maxpool(*skip2), 16)
        h = net.separable(*net.concat(net.upsample(*h), skip2), 16)
        h = net.separable(*net.concat(net.upsample(*h), skip1), 8)
        return net.separable(*h, 2, leaky=False)
    qonnx_fixture(outdir, "cl_tiny_unet", rng, body)


def refused(outdir):
    resize = [helper.make_node("Resize", ["x", "", "scales"], ["y"], domain=DOMAIN, mode="nearest", name="up")]
    save(outdir, "cl_refused_resize", resize, [init("scales", [1, 2, 2, 1])], [4, 4, 2], [8, 8, 2],
         np.zeros((1, 4, 4, 2)), np.zeros((1, 8, 8, 2)))
    weight = [helper.make_node("Mul", ["w", "two"], ["w2"]),
              helper.make_node("Conv", ["x", "w2"], ["y"], domain=DOMAIN, kernel_shape=[1, 1], strides=[1, 1],
                               dilations=[1, 1], pads=[0, 0, 0, 0], group=1, name="conv")]
    save(outdir, "cl_refused_weight", weight, [init("w", np.ones((2, 1, 1, 2))), init("two", 2.0)], [4, 4, 2],
         [4, 4, 2], np.zeros((1, 4, 4, 2)), np.zeros((1, 4, 4, 2)))


def main():
    def build(tmpdir, outdir):
        rng = np.random.default_rng(2512)
        cl_conv2d(tmpdir, rng)
        cl_conv1d(tmpdir, rng)
        cl_depthwise(tmpdir, rng)
        refused(tmpdir)
        cl_separable(tmpdir, rng)
        cl_branched(tmpdir, rng)
        cl_tiny_unet(tmpdir, rng)
    make_fixture_set(".channels_last_fixtures_", STAMP, VERSION, build, torch_threads=False)


if __name__ == "__main__":
    main()
