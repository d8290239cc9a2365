#!/usr/bin/python3
"""Reference outputs for quantisation-aware models (tests/test_quant.cpp).

Independent numpy re-implementations of the frameworks' inference, written from their
sources (QKeras qkeras/quantizers.py, HGQ src/HGQ/proxy/fixed_point_quantizer.py,
BinaryNet/TernaryNet binary_tanh/ternary_tanh), evaluated in float64 on the trained
weights read with h5py. Writes into OUT/quant/:
  <model>_X.npy, <model>_Y.npy     inputs and reference outputs
Models: the zoo's qkeras_3layer, hgq_jet_classifier, KERAS_3layer_binary_smaller,
KERAS_3layer_ternary_small (when ../shared/models exists), and an own QKeras CNN fixture
(QConv2D + QDepthwiseConv2D + QAveragePooling2D + QDense, written as Keras JSON + H5);
QONNX (qonnx custom_op/general quant.py, bipolar_quant.py): the zoo's bnn_model_fc_1layer
and own qonnx_mlp / qonnx_threshold (MultiThreshold) / qonnx_conv (channels-first Conv1D) /
qonnx_trunc (Trunc versions 1 and 2) .onnx models written with onnx.helper.
"""
import json
import os
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import write_keras_weights  # noqa: E402  Keras 2 weights layout

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ZOO = os.path.join(ROOT, "..", "shared", "models")


def round_half_even(x):
    return np.round(x)  # numpy rounds half to even, as tf.round


def qbits(x, bits, integer, symmetric=0, keep_negative=1):
    """QKeras quantized_bits with alpha 1: m_i * clip(round(x*m/m_i), kn*(-m+sym), m-1) / m."""
    m = 2.0 ** (bits - keep_negative)
    mi = 2.0 ** integer
    return mi * np.clip(round_half_even(x * m / mi), keep_negative * (-m + symmetric), m - 1) / m


def qrelu(x, bits, integer):
    m = 2.0 ** bits
    mi = 2.0 ** integer
    return mi * np.clip(round_half_even(x * m / mi) / m, 0.0, 1.0 - 1.0 / m)


def weights(f, layer):
    g = f["model_weights"] if "model_weights" in f else f
    g = g[layer]
    out = {}

    def visit(name, obj):
        if isinstance(obj, h5py.Dataset):
            out[name.split("/")[-1].split(":")[0]] = obj[()].astype(np.float64)

    g.visititems(visit)
    return out


def to_grid(x, frac, integer):
    """Inputs on the ap_fixed<16,6> grid (what the Input layer holds), inside its range."""
    x = np.floor(x * 2.0 ** frac) / 2.0 ** frac
    return np.clip(x, -(2.0 ** (integer - 1)), 2.0 ** (integer - 1) - 2.0 ** -frac)


def qkeras_3layer(out):
    f = h5py.File(os.path.join(ZOO, "keras", "qkeras_3layer_weights.h5"), "r")
    rng = np.random.RandomState(1)
    x = to_grid(rng.randn(1000, 16) * 2, 10, 6)
    h = x
    for name in ["fc1", "fc2", "fc3"]:
        w = weights(f, name)
        h = qrelu(h @ qbits(w["kernel"], 6, 0) + qbits(w["bias"], 6, 0), 6, 0)
    w = weights(f, "output")
    logits = h @ qbits(w["kernel"], 6, 0) + qbits(w["bias"], 6, 0)
    np.save(os.path.join(out, "qkeras_3layer_X.npy"), x)
    np.save(os.path.join(out, "qkeras_3layer_logits.npy"), logits)
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    np.save(os.path.join(out, "qkeras_3layer_Y.npy"), e / e.sum(axis=1, keepdims=True))


def gfixed(x, k, b, i, rnd="TRN", sat="WRAP"):
    """HGQ gfixed_quantizer (TRN/WRAP and RND/SAT forms)."""
    f = b - i
    s = 2.0 ** f
    v = x * s
    v = np.floor(v) if rnd == "TRN" else np.floor(v + 0.5)
    high = 2.0 ** (b - k) - 1
    low = -(high + 1) * k
    if sat == "WRAP":
        v = np.mod(v - low, high - low + 1) + low
    else:
        v = np.clip(v, low, high)
    return np.where(b != 0, v / s, 0.0)


def hgq(out):
    f = h5py.File(os.path.join(ZOO, "keras", "hgq_jet_classifier.h5"), "r")
    cfg = json.loads(f.attrs["model_config"])
    rng = np.random.RandomState(2)
    x = rng.randn(1000, 16) * 3
    h = x
    for layer in cfg["config"]["layers"][1:]:
        cls, name = layer["class_name"], layer["config"]["name"]
        if cls == "FixedPointQuantizer":
            w = weights(f, name)
            k, b, i = (w["keep_negative"][0], w["bits"][0], w["integers"][0])
            h = gfixed(h, k, b, i, layer["config"]["RND"], layer["config"]["SAT"])
        elif cls == "Dense":
            w = weights(f, name)
            h = h @ w["kernel"] + w["bias"]
        elif cls == "Activation":
            assert layer["config"]["activation"] == "relu"
            h = np.maximum(h, 0)
    np.save(os.path.join(out, "hgq_jet_classifier_X.npy"), x)
    np.save(os.path.join(out, "hgq_jet_classifier_Y.npy"), h)


def binary_ternary(out, model, ternary):
    f = h5py.File(os.path.join(ZOO, "keras", model + "_weights.h5"), "r")
    rng = np.random.RandomState(3)
    x = rng.randn(1000, 16)
    h = x
    for fc, bn in [("fc1", "bn1"), ("fc2", "bn2"), ("fc3", "bn3"), ("output", "bn")]:
        w = weights(f, fc)["kernel"]
        if ternary:
            w = np.where(w > 0.5, 1.0, np.where(w <= -0.5, -1.0, 0.0))
        else:
            w = np.where(w > 0, 1.0, -1.0)
        h = h @ w
        p = weights(f, bn)
        h = (h - p["moving_mean"]) / np.sqrt(p["moving_variance"] + 1e-6) * p["gamma"] + p["beta"]
        if fc != "output":
            if ternary:
                c = np.clip(h, -1, 1)
                h = np.where(c > 0.5, 1.0, np.where(c <= -0.5, -1.0, 0.0))
            else:
                h = 2 * round_half_even(np.clip((h + 1) / 2, 0, 1)) - 1
    np.save(os.path.join(out, model + "_X.npy"), x)
    np.save(os.path.join(out, model + "_Y.npy"), h)


def bnn_reference(f, layers, x):
    """BinaryNet/TernaryNet inference (as in binary_ternary above) for a Sequential list of
    (dense, batchnorm, activation) names; `f` the weights file; H from the layer configs."""
    h = x
    for dense, bn, act, cls, H in layers:
        w = weights(f, dense)["kernel"].astype(np.float64) / H
        if cls == "TernaryDense":
            w = np.where(w > 0.5, 1.0, np.where(w <= -0.5, -1.0, 0.0))
        else:
            w = np.where(w > 0, 1.0, -1.0)
        h = h @ (w * H)
        p = {k: v.astype(np.float64) for k, v in weights(f, bn).items()}
        h = (h - p["moving_mean"]) / np.sqrt(p["moving_variance"] + 1e-6) * p["gamma"] + p["beta"]
        if act == "ternary_tanh":
            c = np.clip(h, -1, 1)
            h = np.where(c > 0.5, 1.0, np.where(c <= -0.5, -1.0, 0.0))
        elif act == "binary_tanh":
            h = 2 * round_half_even(np.clip((h + 1) / 2, 0, 1)) - 1
    return h


def own_bnn(out, name, cls, act, seed):
    """An own BinaryNet/TernaryNet MLP in the zoo's Keras layout (Sequential JSON + weights
    H5): 16 -> cls(12, H=1) -> BN -> act -> cls(8, H=0.5) -> BN -> act -> cls(3, H=1) -> BN."""
    rng = np.random.RandomState(seed)
    sizes, hs = [16, 12, 8, 3], [1.0, 0.5, 1.0]
    layers, names, w = [], [], {}
    for k in range(3):
        d, b, a = "fc%d" % (k + 1), "bn%d" % (k + 1), "act%d" % (k + 1)
        cfg = {"name": d, "units": sizes[k + 1], "H": hs[k], "use_bias": False, "activation": "linear"}
        if k == 0:
            cfg["batch_input_shape"] = [None, sizes[0]]
        layers.append({"class_name": cls, "config": cfg})
        layers.append({"class_name": "BatchNormalization", "config": {"name": b, "axis": -1, "epsilon": 1e-6,
                                                                      "center": True, "scale": True}})
        w[d] = {"kernel:0": (rng.uniform(-1, 1, (sizes[k], sizes[k + 1])) * hs[k]).astype(np.float32)}
        w[b] = {"gamma:0": rng.uniform(0.5, 1.5, sizes[k + 1]).astype(np.float32),
                "beta:0": (rng.randn(sizes[k + 1]) * 0.3).astype(np.float32),
                "moving_mean:0": (rng.randn(sizes[k + 1]) * 2).astype(np.float32),
                "moving_variance:0": rng.uniform(2, 9, sizes[k + 1]).astype(np.float32)}
        if k < 2:
            layers.append({"class_name": "Activation", "config": {"name": a, "activation": act}})
        names.append((d, b, act if k < 2 else None, cls, hs[k]))
    with open(os.path.join(out, name + ".json"), "w") as fh:
        json.dump({"class_name": "Sequential", "config": {"name": name, "layers": layers}, "keras_version": "2.2.4"}, fh)
    with h5py.File(os.path.join(out, name + "_weights.h5"), "w") as f:
        write_keras_weights(f, [l["config"] for l in layers], w)
    x = to_grid(rng.randn(1000, 16) * 2, 10, 6)
    with h5py.File(os.path.join(out, name + "_weights.h5"), "r") as f:
        y = bnn_reference(f, names, x)
    np.save(os.path.join(out, name + "_X.npy"), x)
    np.save(os.path.join(out, name + "_Y.npy"), y)


def qcnn(out):
    """An own QKeras CNN: QConv2D(4, 3x3, quantized_bits(5,1)) + quantized_relu(4,2),
    QDepthwiseConv2D(3x3, quantized_bits(4,0,1)), QActivation(quantized_tanh(4)),
    QAveragePooling2D(2x2, average_quantizer quantized_bits(8,0)), Flatten,
    QDense(3, quantized_po2(4,1)), bias quantized_bits(8,3)."""
    rng = np.random.RandomState(4)
    H = W = 8
    k1 = rng.randn(3, 3, 2, 4) * 0.7
    b1 = rng.randn(4) * 0.3
    k2 = rng.randn(3, 3, 4, 1) * 0.6
    b2 = rng.randn(4) * 0.2
    k3 = rng.randn(2 * 2 * 4, 3) * 0.5
    b3 = rng.randn(3) * 0.5
    q = lambda c, cfg: {"class_name": c, "config": cfg}
    qb = lambda bits, integer, sym=0: q("quantized_bits", {"bits": bits, "integer": integer, "symmetric": sym,
                                                          "alpha": 1, "keep_negative": True})
    layers = [
        {"class_name": "InputLayer", "config": {"name": "in", "batch_input_shape": [None, H, W, 2]}},
        {"class_name": "QConv2D", "config": {"name": "conv", "filters": 4, "kernel_size": [3, 3], "strides": [1, 1],
                                             "padding": "valid", "activation": "quantized_relu(4,2)",
                                             "use_bias": True, "kernel_quantizer": qb(5, 1),
                                             "bias_quantizer": qb(5, 1)}},
        {"class_name": "QDepthwiseConv2D", "config": {"name": "dw", "kernel_size": [3, 3], "strides": [1, 1],
                                                      "padding": "valid", "depth_multiplier": 1, "use_bias": True,
                                                      "activation": "linear", "depthwise_quantizer": qb(4, 0, 1),
                                                      "bias_quantizer": qb(6, 2)}},
        {"class_name": "QActivation", "config": {"name": "tanh", "activation": "quantized_tanh(4)"}},
        {"class_name": "QAveragePooling2D", "config": {"name": "pool", "pool_size": [2, 2], "padding": "valid",
                                                       "average_quantizer": qb(8, 0), "activation": None}},
        {"class_name": "Flatten", "config": {"name": "flat"}},
        {"class_name": "QDense", "config": {"name": "fc", "units": 3, "activation": "linear", "use_bias": True,
                                            "kernel_quantizer": q("quantized_po2", {"bits": 4, "max_value": 1}),
                                            "bias_quantizer": qb(8, 3)}},
    ]
    arch = {"class_name": "Sequential", "config": {"name": "qcnn", "layers": layers}, "keras_version": "2.9.0"}
    with open(os.path.join(out, "qcnn.json"), "w") as fh:
        json.dump(arch, fh)
    with h5py.File(os.path.join(out, "qcnn_weights.h5"), "w") as f:
        def put(layer, names, arrays):
            g = f.create_group(layer)
            g.attrs["weight_names"] = np.array([(layer + "/" + n + ":0").encode() for n in names])
            for n, a in zip(names, arrays):
                g.create_dataset(layer + "/" + n + ":0", data=a.astype(np.float32))
        put("conv", ["kernel", "bias"], [k1, b1])
        put("dw", ["depthwise_kernel", "bias"], [k2, b2])
        put("fc", ["kernel", "bias"], [k3, b3])
    # float32 weights, as the file holds them
    k1, b1, k2, b2, k3, b3 = (a.astype(np.float32).astype(np.float64) for a in (k1, b1, k2, b2, k3, b3))
    x = to_grid(rng.randn(200, H, W, 2), 10, 6)

    def conv(x, k, b, depthwise=False):
        n, h, w, c = x.shape
        kh, kw = k.shape[:2]
        oh, ow = h - kh + 1, w - kw + 1
        if depthwise:
            y = np.zeros((n, oh, ow, c))
            for i in range(kh):
                for j in range(kw):
                    y += x[:, i:i + oh, j:j + ow, :] * k[i, j, :, 0]
        else:
            y = np.zeros((n, oh, ow, k.shape[3]))
            for i in range(kh):
                for j in range(kw):
                    y += x[:, i:i + oh, j:j + ow, :] @ k[i, j]
        return y + b

    h = qrelu(conv(x, qbits(k1, 5, 1), qbits(b1, 5, 1)), 4, 2)
    h = conv(h, qbits(k2, 4, 0, 1), qbits(b2, 6, 2), depthwise=True)
    m = 2.0 ** 3   # quantized_tanh(4): clip(round(clip(x,-1,1)*m)/m, -1, 1-1/m)
    h = np.clip(round_half_even(np.clip(h, -1, 1) * m) / m, -1.0, 1.0 - 1.0 / m)
    n = h.shape[0]
    s = h.reshape(n, 2, 2, 2, 2, 4).sum(axis=(2, 4))   # 4x4 -> 2x2 windows
    h = s * qbits(np.float32(0.25), 8, 0)
    h = h.reshape(n, -1)
    # quantized_po2(4, max_value=1): exponents in [-8, 7], |x| clipped to 1, 0 -> +2^-8
    a = np.abs(k3)
    e = np.where(a < 1e-7, -8, np.clip(round_half_even(np.log2(np.minimum(a, 1.0))), -8, 7))
    w = np.where(k3 >= 0, 1.0, -1.0) * 2.0 ** e
    y = h @ w + qbits(b3, 8, 3)
    np.save(os.path.join(out, "qcnn_X.npy"), x.reshape(len(x), -1))
    np.save(os.path.join(out, "qcnn_Y.npy"), y)


def qonnx_quant(x, scale, zero_point, bits, signed, narrow, rounding):
    """QONNX Quant (qonnx custom_op/general/quant.py): clamp(x/s + z) to the integer range of
    (bits, signed, narrow), round (ROUND = numpy half to even), subtract z, times s. A 1-bit
    signed Quant is bipolar (+-1)."""
    y = x / scale + zero_point
    if bits == 1 and signed:
        y = np.where(y >= 0, 1.0, -1.0)
    else:
        lo = -(2.0 ** (bits - 1)) + narrow if signed else 0.0
        hi = 2.0 ** (bits - 1) - 1 if signed else 2.0 ** bits - 1 - narrow
        y = {"ROUND": np.round, "FLOOR": np.floor, "ROUND_TO_ZERO": np.fix}[rounding](np.clip(y, lo, hi))
    return (y - zero_point) * scale


def bipolar_quant(x, scale):
    return np.where(x >= 0, 1.0, -1.0) * scale


def bnn_fc_1layer(out):
    """The zoo's Brevitas-exported QONNX binary layer: BipolarQuant(input), BipolarQuant
    weights, a 4-bit Quant bias, Gemm, BipolarQuant output; evaluated from the ONNX file."""
    import onnx
    from onnx import numpy_helper
    m = onnx.load(os.path.join(ZOO, "onnx", "bnn_model_fc_1layer.onnx"))
    c = {t.name: numpy_helper.to_array(t).astype(np.float64) for t in m.graph.initializer}
    vals = {}
    rng = np.random.RandomState(5)
    x = to_grid(rng.randn(1000, 3), 10, 6)
    vals[m.graph.input[0].name] = x
    for n in m.graph.node:
        a = {at.name: onnx.helper.get_attribute_value(at) for at in n.attribute}
        i = [vals[t] if t in vals else c[t] for t in n.input]
        if n.op_type == "BipolarQuant":
            y = bipolar_quant(i[0], i[1])
        elif n.op_type == "Quant":
            mode = a.get("rounding_mode", b"ROUND")
            y = qonnx_quant(i[0], i[1], i[2], int(i[3]), a.get("signed", 1), a.get("narrow", 0),
                            mode.decode() if isinstance(mode, bytes) else mode)
        elif n.op_type == "Gemm":
            y = i[0] @ (i[1].T if a.get("transB", 0) else i[1]) + i[2]
        else:
            raise SystemExit("make_quant_fixtures: no reference for " + n.op_type)
        vals[n.output[0]] = y
    np.save(os.path.join(out, "bnn_model_fc_1layer_X.npy"), x)
    np.save(os.path.join(out, "bnn_model_fc_1layer_Y.npy"), vals[m.graph.output[0].name])


QONNX_DOMAIN = "qonnx.custom_op.general"


class QonnxGraph:
    """Nodes and float32 initializers of a QONNX model being written with onnx.helper."""

    def __init__(self):
        self.inits, self.nodes = [], []

    def const(self, name, v):
        from onnx import numpy_helper
        self.inits.append(numpy_helper.from_array(np.asarray(v, dtype=np.float32), name))
        return name

    def node(self, op, inputs, output, **attrs):
        from onnx import helper
        self.nodes.append(helper.make_node(op, inputs, [output], **attrs))
        return output

    def quant(self, name, x, scale, bits, signed, narrow=0, rounding="ROUND"):
        ins = [x, self.const(name + "_s", scale), self.const(name + "_z", 0.0), self.const(name + "_b", float(bits))]
        return self.node("Quant", ins, name, domain=QONNX_DOMAIN, signed=signed, narrow=narrow, rounding_mode=rounding)

    def save(self, path, name, n_in, output, n_out, domain_version=1):
        """Input "x" [1, n_in], `output` [1, n_out]; ONNX opset 13 and the QONNX domain."""
        import onnx
        from onnx import TensorProto, helper
        graph = helper.make_graph(self.nodes, name, [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, n_in])],
                                  [helper.make_tensor_value_info(output, TensorProto.FLOAT, [1, n_out])],
                                  initializer=self.inits)
        onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13),
                                                          helper.make_opsetid(QONNX_DOMAIN, domain_version)]), path)


def qonnx_mlp(out):
    """An own QONNX model (onnx.helper): Quant on the input, on weights (per-tensor and
    per-channel power-of-two scales, narrow range, BipolarQuant) and on activations
    (signed/unsigned, narrow, ROUND/FLOOR/ROUND_TO_ZERO, 3 to 8 bits)."""
    from onnx import helper
    rng = np.random.RandomState(11)
    dom = QONNX_DOMAIN
    q = QonnxGraph()
    nodes, const, quant = q.nodes, q.const, q.quant

    w1 = rng.randn(12, 8).astype(np.float32)      # Gemm transB: [out, in]
    b1 = (rng.randn(12) * 0.5).astype(np.float32)
    w2 = rng.randn(12, 8).astype(np.float32) * 0.7   # [in, out]: Gemm with transB=0
    b2 = (rng.randn(8) * 0.5).astype(np.float32)
    w3 = rng.randn(4, 8).astype(np.float32)
    s2 = (2.0 ** -rng.randint(1, 4, size=(1, 8))).astype(np.float32)   # per output channel

    a0 = quant("q_in", "x", 2.0 ** -4, 8, 1, 0, "ROUND")
    wq1 = quant("q_w1", const("w1", w1), 2.0 ** -2, 4, 1, 1, "ROUND")
    bq1 = quant("q_b1", const("b1", b1), 2.0 ** -5, 8, 1, 0, "ROUND")
    nodes.append(helper.make_node("Gemm", [a0, wq1, bq1], ["g1"], transB=1))
    nodes.append(helper.make_node("Relu", ["g1"], ["r1"]))
    a1 = quant("q_a1", "r1", 2.0 ** -3, 6, 0, 0, "FLOOR")
    wq2 = quant("q_w2", const("w2", w2), s2, 3, 1, 0, "ROUND_TO_ZERO")
    bq2 = quant("q_b2", const("b2", b2), 2.0 ** -3, 6, 1, 0, "ROUND")
    nodes.append(helper.make_node("Gemm", [a1, wq2, bq2], ["g2"]))
    a2 = quant("q_a2", "g2", 2.0 ** -2, 5, 1, 1, "ROUND_TO_ZERO")
    nodes.append(helper.make_node("BipolarQuant", [const("w3", w3), const("s3", 0.5)], ["wq3"], domain=dom))
    nodes.append(helper.make_node("Gemm", [a2, "wq3"], ["g3"], transB=1))
    y = quant("y", "g3", 2.0 ** -1, 7, 1, 0, "ROUND")
    q.save(os.path.join(out, "qonnx_mlp.onnx"), "qonnx_mlp", 8, y, 4, domain_version=1)

    f = lambda a: a.astype(np.float64)
    x = to_grid(rng.randn(1000, 8) * 2, 10, 6)
    h = qonnx_quant(x, 2.0 ** -4, 0, 8, 1, 0, "ROUND")
    h = h @ qonnx_quant(f(w1), 2.0 ** -2, 0, 4, 1, 1, "ROUND").T + qonnx_quant(f(b1), 2.0 ** -5, 0, 8, 1, 0, "ROUND")
    h = qonnx_quant(np.maximum(h, 0), 2.0 ** -3, 0, 6, 0, 0, "FLOOR")
    h = h @ qonnx_quant(f(w2), f(s2), 0, 3, 1, 0, "ROUND_TO_ZERO") + qonnx_quant(f(b2), 2.0 ** -3, 0, 6, 1, 0, "ROUND")
    h = qonnx_quant(h, 2.0 ** -2, 0, 5, 1, 1, "ROUND_TO_ZERO")
    h = h @ bipolar_quant(f(w3), 0.5).T
    np.save(os.path.join(out, "qonnx_mlp_X.npy"), x)
    np.save(os.path.join(out, "qonnx_mlp_Y.npy"), qonnx_quant(h, 2.0 ** -1, 0, 7, 1, 0, "ROUND"))


def qonnx_refused(out):
    """One-node QONNX models Tachyon must refuse by name: CEIL rounding, a scale that is not a
    power of two on an activation, a non-zero zero point, narrow unsigned."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    dom = "qonnx.custom_op.general"
    for name, scale, zp, signed, narrow, rounding in (("ceil", 0.25, 0.0, 1, 0, "CEIL"), ("scale3", 3.0, 0.0, 1, 0, "ROUND"),
                                                       ("zeropoint", 0.25, 1.0, 1, 0, "ROUND"),
                                                       ("narrow_unsigned", 0.25, 0.0, 0, 1, "ROUND")):
        inits = [numpy_helper.from_array(np.float32(v), n) for n, v in (("s", scale), ("z", zp), ("b", 4.0))]
        node = helper.make_node("Quant", ["x", "s", "z", "b"], ["y"], name="q_" + name, domain=dom, signed=signed,
                                narrow=narrow, rounding_mode=rounding)
        graph = helper.make_graph([node], name, [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
                                  [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])], initializer=inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid(dom, 1)])
        onnx.save(model, os.path.join(out, "qonnx_refused_%s.onnx" % name))


def qonnx_trunc_ref(x, scale, zeropt, in_bits, out_bits, rounding, out_scale=None, signed=1, narrow=0):
    """QONNX Trunc (qonnx custom_op/general/trunc.py): version 1 when out_scale is None (k =
    in_bits - out_bits, no clamp), else version 2 (k = round(log2(out_scale/scale)), clamp to
    the out_bits integer range of signed/narrow)."""
    r = {"ROUND": np.round, "FLOOR": np.floor, "CEIL": np.ceil}[rounding]
    y = np.round(x / scale + zeropt)
    if out_scale is None:
        y = r(y / 2.0 ** (in_bits - out_bits))
        return (y - zeropt) * scale
    t = 2.0 ** np.round(np.log2(out_scale / scale))
    y = y / t
    lo = -(2.0 ** (out_bits - 1)) + narrow if signed else 0.0
    hi = 2.0 ** (out_bits - 1) - 1 if signed else 2.0 ** out_bits - 1 - narrow
    y = r(np.clip(y, lo, hi))
    return (y - zeropt / t) * out_scale


def qonnx_trunc(out):
    """An own QONNX model with Trunc (Brevitas' TruncIntQuant, e.g. after an accumulator):
    version 2 FLOOR (12 -> 6 bits, signed), version 1 ROUND (10 -> 6 bits) and version 2
    narrow ROUND on an input wider than its declared in_bitwidth; and one-node models Tachyon must refuse
    (CEIL, a non-power-of-two out_scale/scale, a zero point)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    rng = np.random.RandomState(23)
    dom = QONNX_DOMAIN
    q = QonnxGraph()
    inits, nodes, const, quant = q.inits, q.nodes, q.const, q.quant

    def trunc(name, x, scale, in_bits, out_bits, rounding, out_scale=None, signed=1, narrow=0):
        ins = [x, const(name + "_s", scale), const(name + "_z", 0.0), const(name + "_ib", float(in_bits))]
        attrs = {"rounding_mode": rounding}
        if out_scale is not None:
            ins.append(const(name + "_os", out_scale))
            attrs.update(signed=signed, narrow=narrow)
        ins.append(const(name + "_ob", float(out_bits)))
        nodes.append(helper.make_node("Trunc", ins, [name], domain=dom, **attrs))
        return name

    w1 = rng.randn(8, 10).astype(np.float32)
    w2 = rng.randn(10, 4).astype(np.float32)
    a0 = quant("q_in", "x", 2.0 ** -4, 8, 1)
    nodes.append(helper.make_node("MatMul", [a0, quant("q_w1", const("w1", w1), 2.0 ** -2, 4, 1)], ["m1"]))
    acc1 = quant("q_acc1", "m1", 2.0 ** -6, 12, 1)
    t1 = trunc("t1", acc1, 2.0 ** -6, 12, 6, "FLOOR", out_scale=2.0 ** -3)
    nodes.append(helper.make_node("MatMul", [t1, quant("q_w2", const("w2", w2), 2.0 ** -2, 4, 1)], ["m2"]))
    acc2 = quant("q_acc2", "m2", 2.0 ** -5, 10, 1)
    t2 = trunc("t2", acc2, 2.0 ** -5, 10, 6, "ROUND")
    y = trunc("y", t2, 2.0 ** -5, 10, 5, "ROUND", out_scale=2.0 ** -3, narrow=1)
    q.save(os.path.join(out, "qonnx_trunc.onnx"), "qonnx_trunc", 8, y, 4, domain_version=2)

    f = lambda a: a.astype(np.float64)
    x = to_grid(rng.randn(2000, 8) * 3, 10, 6)
    h = qonnx_quant(x, 2.0 ** -4, 0, 8, 1, 0, "ROUND") @ qonnx_quant(f(w1), 2.0 ** -2, 0, 4, 1, 0, "ROUND")
    h = qonnx_trunc_ref(qonnx_quant(h, 2.0 ** -6, 0, 12, 1, 0, "ROUND"), 2.0 ** -6, 0, 12, 6, "FLOOR", 2.0 ** -3)
    h = h @ qonnx_quant(f(w2), 2.0 ** -2, 0, 4, 1, 0, "ROUND")
    h = qonnx_trunc_ref(qonnx_quant(h, 2.0 ** -5, 0, 10, 1, 0, "ROUND"), 2.0 ** -5, 0, 10, 6, "ROUND")
    h = qonnx_trunc_ref(h, 2.0 ** -5, 0, 10, 5, "ROUND", 2.0 ** -3, 1, 1)
    np.save(os.path.join(out, "qonnx_trunc_X.npy"), x)
    np.save(os.path.join(out, "qonnx_trunc_Y.npy"), h)

    for name, rounding, out_scale, zp in (("ceil", "CEIL", 0.25, 0.0), ("scale3", "FLOOR", 0.1875, 0.0),
                                          ("zeropoint", "FLOOR", 0.25, 1.0)):
        inits = [numpy_helper.from_array(np.float32(v), n)
                 for n, v in (("s", 0.0625), ("z", zp), ("ib", 8.0), ("os", out_scale), ("ob", 4.0))]
        node = helper.make_node("Trunc", ["x", "s", "z", "ib", "os", "ob"], ["y"], name="t_" + name, domain=dom,
                                rounding_mode=rounding)
        graph = helper.make_graph([node], name, [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
                                  [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])], initializer=inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid(dom, 2)])
        onnx.save(model, os.path.join(out, "qonnx_trunc_refused_%s.onnx" % name))


def multithreshold(x, thresholds, out_scale=1.0, out_bias=0.0, channel_axis=1):
    """FINN/QONNX MultiThreshold: out_scale * #{t in thresholds[c] : x >= t} + out_bias."""
    xs = np.moveaxis(x, channel_axis, -1)
    t = np.broadcast_to(thresholds, (xs.shape[-1], thresholds.shape[1]))
    n = (xs[..., None] >= t).sum(axis=-1)
    return np.moveaxis(out_scale * n + out_bias, -1, channel_axis)


def qonnx_threshold(out):
    """An own model with FINN MultiThreshold activations: Gemm (Quant weights) -> Reshape to
    channels-first [3, 4] -> MultiThreshold (NCW, per-channel unsorted rows, out_scale,
    out_bias) -> Flatten -> Gemm -> MultiThreshold (NC, one shared row)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    rng = np.random.RandomState(13)
    dom = "qonnx.custom_op.general"
    f32 = lambda v: np.asarray(v, dtype=np.float32)
    w1 = f32(rng.randn(6, 12))
    w2 = f32(rng.randn(12, 5))
    t1 = f32(np.round(rng.randn(3, 4) * 8) / 4)       # unsorted rows, quarter steps
    t2 = f32(np.sort(np.round(rng.randn(1, 6) * 8) / 2, axis=1))
    inits = [numpy_helper.from_array(v, k) for k, v in (("w1", w1), ("w2", w2), ("t1", t1), ("t2", t2),
             ("s", f32(0.25)), ("z", f32(0.0)), ("b", f32(5.0)), ("shape1", np.array([1, 3, 4], np.int64)))]
    nodes = [
        helper.make_node("Quant", ["w1", "s", "z", "b"], ["w1q"], domain=dom, signed=1, narrow=0, rounding_mode="ROUND"),
        helper.make_node("Quant", ["w2", "s", "z", "b"], ["w2q"], domain=dom, signed=1, narrow=0, rounding_mode="ROUND"),
        helper.make_node("Gemm", ["x", "w1q"], ["g1"]),
        helper.make_node("Reshape", ["g1", "shape1"], ["r1"]),
        helper.make_node("MultiThreshold", ["r1", "t1"], ["m1"], domain=dom, data_layout="NCW", out_scale=0.5,
                         out_bias=-1.0),
        helper.make_node("Flatten", ["m1"], ["f1"]),
        helper.make_node("Gemm", ["f1", "w2q"], ["g2"]),
        helper.make_node("MultiThreshold", ["g2", "t2"], ["y"], domain=dom, data_layout="NC"),
    ]
    graph = helper.make_graph(nodes, "qonnx_threshold", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 6])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 5])], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid(dom, 1)])
    onnx.save(model, os.path.join(out, "qonnx_threshold.onnx"))

    x = to_grid(rng.randn(1000, 6) * 2, 10, 6)
    wq = lambda w: qonnx_quant(w.astype(np.float64), 0.25, 0, 5, 1, 0, "ROUND")
    h = (x @ wq(w1)).reshape(-1, 3, 4)
    h = multithreshold(h, t1.astype(np.float64), 0.5, -1.0, channel_axis=1).reshape(len(x), -1)
    y = multithreshold(h @ wq(w2), t2.astype(np.float64), channel_axis=1)
    np.save(os.path.join(out, "qonnx_threshold_X.npy"), x)
    np.save(os.path.join(out, "qonnx_threshold_Y.npy"), y)


def qonnx_conv(out):
    """An own channels-first QONNX CNN: Quant input -> Conv1D (NCW, Quant weights and bias,
    pads 1) -> MultiThreshold (NCW) -> Flatten -> MatMul (Quant weights) -> Quant."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    rng = np.random.RandomState(17)
    dom = "qonnx.custom_op.general"
    f32 = lambda v: np.asarray(v, dtype=np.float32)
    wc, bc, wm = f32(rng.randn(3, 2, 3)), f32(rng.randn(3)), f32(rng.randn(18, 4))
    tc = f32(np.round(rng.randn(3, 3) * 4) / 4)
    inits = [numpy_helper.from_array(v, k) for k, v in (("wc", wc), ("bc", bc), ("wm", wm), ("tc", tc),
             ("s4", f32(2.0 ** -4)), ("s3", f32(2.0 ** -3)), ("s1", f32(0.5)), ("z", f32(0.0)),
             ("b8", f32(8.0)), ("b4", f32(4.0)), ("b6", f32(6.0)))]
    q = lambda x, s, b, y, signed=1: helper.make_node("Quant", [x, s, "z", b], [y], domain=dom, signed=signed, narrow=0,
                                                       rounding_mode="ROUND")
    nodes = [q("x", "s4", "b8", "xq"), q("wc", "s3", "b4", "wcq"), q("bc", "s3", "b6", "bcq"), q("wm", "s3", "b4", "wmq"),
             helper.make_node("Conv", ["xq", "wcq", "bcq"], ["c1"], kernel_shape=[3], pads=[1, 1]),
             helper.make_node("MultiThreshold", ["c1", "tc"], ["m1"], domain=dom, data_layout="NCW"),
             helper.make_node("Flatten", ["m1"], ["f1"]),
             helper.make_node("MatMul", ["f1", "wmq"], ["g"]),
             q("g", "s1", "b8", "y")]
    graph = helper.make_graph(nodes, "qonnx_conv", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 6])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid(dom, 1)])
    onnx.save(model, os.path.join(out, "qonnx_conv.onnx"))

    d = lambda v: v.astype(np.float64)
    x = to_grid(rng.randn(1000, 12) * 2, 10, 6)
    h = qonnx_quant(x, 2.0 ** -4, 0, 8, 1, 0, "ROUND").reshape(-1, 2, 6)
    w = qonnx_quant(d(wc), 2.0 ** -3, 0, 4, 1, 0, "ROUND")
    hp = np.pad(h, ((0, 0), (0, 0), (1, 1)))
    c = np.stack([sum(hp[:, :, k:k + 6] * w[o, :, k][None, :, None] for k in range(3)).sum(axis=1) for o in range(3)], axis=1)
    c = c + qonnx_quant(d(bc), 2.0 ** -3, 0, 6, 1, 0, "ROUND")[None, :, None]
    m = multithreshold(c, d(tc), channel_axis=1).reshape(len(x), -1)
    y = qonnx_quant(m @ qonnx_quant(d(wm), 2.0 ** -3, 0, 4, 1, 0, "ROUND"), 0.5, 0, 8, 1, 0, "ROUND")
    np.save(os.path.join(out, "qonnx_conv_X.npy"), x)
    np.save(os.path.join(out, "qonnx_conv_Y.npy"), y)


def qonnx_bnn_conv(out):
    """An own channels-first binary QONNX CNN (FINN/Brevitas style): BipolarQuant input ->
    Conv2D 3x3 pads 1 (BipolarQuant weights x 0.5, 4-bit Quant bias) -> BipolarQuant ->
    Conv2D 2x2 stride 2 valid (BipolarQuant weights) -> BipolarQuant -> Flatten -> MatMul
    (BipolarQuant weights x 0.5). Every MAC is binary x binary (XNOR-popcount)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    rng = np.random.RandomState(23)
    dom = "qonnx.custom_op.general"
    f32 = lambda v: np.asarray(v, dtype=np.float32)
    w1, b1, w2, wm = f32(rng.randn(4, 2, 3, 3)), f32(rng.randn(4)), f32(rng.randn(3, 4, 2, 2)), f32(rng.randn(18, 4))
    inits = [numpy_helper.from_array(v, k) for k, v in (("w1", w1), ("b1", b1), ("w2", w2), ("wm", wm),
             ("one", f32(1.0)), ("half", f32(0.5)), ("quarter", f32(0.25)), ("z", f32(0.0)), ("b4", f32(4.0)))]
    bq = lambda x, s, y: helper.make_node("BipolarQuant", [x, s], [y], domain=dom)
    nodes = [bq("x", "one", "xq"), bq("w1", "half", "w1q"), bq("w2", "one", "w2q"), bq("wm", "half", "wmq"),
             helper.make_node("Quant", ["b1", "quarter", "z", "b4"], ["b1q"], domain=dom, signed=1, narrow=0,
                              rounding_mode="ROUND"),
             helper.make_node("Conv", ["xq", "w1q", "b1q"], ["c1"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
             bq("c1", "one", "a1"),
             helper.make_node("Conv", ["a1", "w2q"], ["c2"], kernel_shape=[2, 2], strides=[2, 2]),
             bq("c2", "one", "a2"),
             helper.make_node("Flatten", ["a2"], ["f"]),
             helper.make_node("MatMul", ["f", "wmq"], ["y"])]
    graph = helper.make_graph(nodes, "qonnx_bnn_conv", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 6, 5])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid(dom, 1)])
    onnx.save(model, os.path.join(out, "qonnx_bnn_conv.onnx"))

    d = lambda v: v.astype(np.float64)

    def conv(h, w, b, pad, stride):   # NCHW, cross-correlation as ONNX Conv
        hp = np.pad(h, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
        kh, kw = w.shape[2], w.shape[3]
        oh = (hp.shape[2] - kh) // stride + 1
        ow = (hp.shape[3] - kw) // stride + 1
        y = np.zeros((len(h), w.shape[0], oh, ow))
        for i in range(kh):
            for j in range(kw):
                patch = hp[:, :, i:i + stride * (oh - 1) + 1:stride, j:j + stride * (ow - 1) + 1:stride]
                y += np.einsum("nchw,oc->nohw", patch, w[:, :, i, j])
        return y + b[None, :, None, None]

    x = to_grid(rng.randn(1000, 60), 10, 6)
    h = bipolar_quant(x, 1.0).reshape(-1, 2, 6, 5)
    a1 = bipolar_quant(conv(h, bipolar_quant(d(w1), 0.5), qonnx_quant(d(b1), 0.25, 0, 4, 1, 0, "ROUND"), 1, 1), 1.0)
    a2 = bipolar_quant(conv(a1, bipolar_quant(d(w2), 1.0), np.zeros(3), 0, 2), 1.0)
    y = a2.reshape(len(x), -1) @ bipolar_quant(d(wm), 0.5)
    np.save(os.path.join(out, "qonnx_bnn_conv_X.npy"), x)
    np.save(os.path.join(out, "qonnx_bnn_conv_Y.npy"), y)


def main():
    out = os.path.join(sys.argv[1] if len(sys.argv) > 1 else "build/fixtures", "quant")
    os.makedirs(out, exist_ok=True)
    qcnn(out)
    own_bnn(out, "binary_mlp", "BinaryDense", "binary_tanh", 31)
    own_bnn(out, "ternary_mlp", "TernaryDense", "ternary_tanh", 32)
    qonnx_mlp(out)
    qonnx_refused(out)
    qonnx_trunc(out)
    qonnx_threshold(out)
    qonnx_conv(out)
    qonnx_bnn_conv(out)
    if os.path.exists(os.path.join(ZOO, "README.md")):
        qkeras_3layer(out)
        hgq(out)
        binary_ternary(out, "KERAS_3layer_binary_smaller", False)
        binary_ternary(out, "KERAS_3layer_ternary_small", True)
        bnn_fc_1layer(out)


if __name__ == "__main__":
    main()
