"""export(model, example_input, path): the trained model as ONNX with QONNX Quant nodes
(explicit ap_fixed rounding and overflow modes) plus the Tachyon precision YAML beside it,
such that tachyon.load(path, config=yml).predict(x) == model.double().eval()(x) bit for bit.

The graph comes from torch.fx (module calls, +, torch.cat, flatten). Weights and biases are
written already quantised (float64 initializers) behind an identity Quant node, so Tachyon
marks them trained and gives the layer its exact accumulator; every activation quantiser is
a Quant (BipolarQuant for binary) on the computed tensor; the YAML pins the types Tachyon
would otherwise take from its defaults (input, residual sums, concatenations, BatchNorm,
declared accumulators). Anything else is refused, naming the module or function.
"""
import copy
import operator
import os
from pathlib import Path

import numpy as np
import torch
import torch.fx
from onnx import TensorProto, helper, numpy_helper
from torch import nn

from .fixed_types import ExportError, Span, exact_frac, mac_span
from .activations import QSigmoid, QSoftmax, QTanh
from .layers import QAct, QAdd, QBatchNorm, QConcat, QConv1d, QConv2d, QLinear, QReLU
from .quantizers import BinaryQuantizer, FixedQuantizer
from .recurrent import QGRU, QLSTM

QONNX_DOMAIN = "qonnx.custom_op.general"
_LEAVES = (QAct, QAdd, QBatchNorm, QConcat, QConv1d, QConv2d, QGRU, QLSTM, QLinear, QReLU, QSigmoid, QSoftmax,
           QTanh)


class _Tracer(torch.fx.Tracer):
    def is_leaf_module(self, m, qualname):
        return isinstance(m, _LEAVES) or super().is_leaf_module(m, qualname)


def _clean(name):
    """Module path -> layer name (Tachyon prefixes names that start with a digit)."""
    name = name.replace(".", "_")
    return "layer_" + name if name[:1].isdigit() else name


class _Writer:
    """Builds the ONNX graph and the YAML layer entries while walking the fx graph."""

    def __init__(self):
        self.nodes, self.inits, self.layers = [], [], {}
        self.span = {}     # ONNX tensor name -> Span of its values

    def const(self, name, values):
        self.inits.append(numpy_helper.from_array(np.asarray(values, dtype=np.float64), name))
        return name

    def int_const(self, name, values):
        self.inits.append(numpy_helper.from_array(np.asarray(values, dtype=np.int64), name))
        return name

    def quant_node(self, name, x, q, where):
        """Activation quantiser -> Quant/BipolarQuant on tensor x; returns the output name."""
        out = name
        if isinstance(q, BinaryQuantizer):
            self.nodes.append(helper.make_node("BipolarQuant", [x, self.const(name + "_scale", q.scale)], [out],
                                               name=name, domain=QONNX_DOMAIN))
            self.span[out] = Span(-q.scale, q.scale, exact_frac([q.scale]))
            return out
        if not isinstance(q, FixedQuantizer):
            raise ExportError(f"{where}: {type(q).__name__} cannot quantise an activation")
        width, integer = (t.detach().double().numpy() for t in torch.broadcast_tensors(q.width(), q.integer))
        if width.size == 1:
            width, integer = int(width.reshape(-1)[0]), int(integer.reshape(-1)[0])
            self._quant(name, x, out, 2.0 ** (integer - width), width, q.signed, q.rounding, q.overflow)
            self.span[out] = Span.of_type(width, integer, q.signed)
            return out
        # A type per channel/element: a scale tensor (and a bitwidth tensor when the widths
        # differ), shaped as the quantiser's arrays, which broadcast against the tensor.
        if width.min() < 1:
            raise ExportError(f"{where}: an activation channel has {int(width.min())} bits; a Quant element holds "
                              "at least 1")
        bits = width if np.unique(width).size > 1 else float(width.reshape(-1)[0])
        self._quant(name, x, out, np.ldexp(1.0, (integer - width).astype(int)), bits, q.signed, q.rounding,
                    q.overflow)
        span = None
        for wd, ig in zip(width.reshape(-1), integer.reshape(-1)):
            one = Span.of_type(int(wd), int(ig), q.signed)
            span = one if span is None else span.union(one)
        self.span[out] = span
        return out

    def _quant(self, name, x, out, scale, bits, signed, rounding, overflow):
        ins = [x, self.const(name + "_scale", scale), self.const(name + "_zeropt", 0.0),
               self.const(name + "_bitwidth", np.asarray(bits, dtype=np.float64))]
        self.nodes.append(helper.make_node("Quant", ins, [out], name=name, domain=QONNX_DOMAIN, signed=int(signed),
                                           narrow=0, rounding_mode="AP_" + rounding, overflow_mode="AP_" + overflow))

    def quantized_const(self, name, values, where):
        """Already-quantised constant behind an identity Quant (Tachyon: a trained type)."""
        v = np.asarray(values, dtype=np.float64)
        frac = exact_frac(v)
        raw = np.ldexp(v, frac)
        bits = 2
        while raw.min(initial=0) < -(2 ** (bits - 1)) or raw.max(initial=0) > 2 ** (bits - 1) - 1:
            bits += 1
        if bits > 32:
            raise ExportError(f"{where}: {name} needs {bits} bits; a Quant holds at most 32")
        self._quant(name + "_q", self.const(name, v), name + "_q", 2.0 ** -frac, bits, True, "RND_CONV", "SAT")
        return name + "_q"

    def node(self, op, ins, name, **attrs):
        self.nodes.append(helper.make_node(op, ins, [name], name=name, **attrs))
        return name

    def pin(self, layer, table_size=None, **types):
        entry = self.layers.setdefault(layer, {"Precision": {}})
        entry["Precision"].update(types)
        if table_size:
            entry["TableSize"] = table_size


def _np(t):
    return t.detach().double().cpu().numpy()


def _conv_attrs(m):
    pads = m.explicit_padding()
    return dict(kernel_shape=list(m.kernel_size), strides=list(m.stride), dilations=list(m.dilation),
                group=m.groups, pads=[p[0] for p in pads] + [p[1] for p in pads])


def _emit_mac(w, m, name, x, where):
    """QLinear / QConv1d / QConv2d."""
    wq = _np(m.quantized_weight())
    bq = None if m.bias is None else _np(m.quantized_bias())
    ins = [x, w.quantized_const(name + "_weight", wq, where)]
    if bq is not None:
        ins.append(w.quantized_const(name + "_bias", bq, where))
    if isinstance(m, QLinear):
        out = w.node("Gemm", ins, name, transB=1)
    else:
        out = w.node("Conv", ins, name, **_conv_attrs(m))
    if m.accum_quantizer is not None:
        t = m.accum_quantizer.fixed_type()
        w.pin(name, accum=t, result=t)
        aq = m.accum_quantizer
        w.span[out] = Span.of_type(int(aq.width()), int(aq.integer), aq.signed)
    else:
        w.span[out] = mac_span(w.span[x], wq, bq, where)
    if m.output_quantizer is not None:
        out = w.quant_node(name + "_out", out, m.output_quantizer, where)
    return out


def _emit_batchnorm(w, m, name, x, where):
    s, h = (_np(t) for t in m.folded())
    n = len(s)
    ins = [x, w.const(name + "_gamma", s), w.const(name + "_beta", h), w.const(name + "_mean", np.zeros(n)),
           w.const(name + "_var", np.ones(n))]
    out = w.node("BatchNormalization", ins, name, epsilon=0.0)
    xs = w.span[x]
    lo = np.minimum(s * xs.lo, s * xs.hi) + h
    hi = np.maximum(s * xs.lo, s * xs.hi) + h
    span = Span(min(float(lo.min()), 0.0), max(float(hi.max()), 0.0), max(xs.frac + exact_frac(s), exact_frac(h)))
    w.span[out] = span
    w.pin(name, scale=Span.of_values(s).type_name(where + " scale"), shift=Span.of_values(h).type_name(where + " shift"),
          result=span.type_name(where))
    if m.output_quantizer is not None:
        out = w.quant_node(name + "_out", out, m.output_quantizer, where)
    return out


def _emit_add(w, name, xs, where, quantizer=None):
    spans = [w.span[x] for x in xs]
    span = Span(sum(s.lo for s in spans), sum(s.hi for s in spans), max(s.frac for s in spans))
    out = w.node("Sum" if len(xs) > 2 else "Add", xs, name)
    w.span[out] = span
    w.pin(name, result=span.type_name(where))
    return out if quantizer is None else w.quant_node(name + "_out", out, quantizer, where)


def _emit_concat(w, name, xs, axis, where, quantizer=None):
    span = w.span[xs[0]]
    for x in xs[1:]:
        span = span.union(w.span[x])
    out = w.node("Concat", xs, name, axis=axis)
    w.span[out] = span
    w.pin(name, result=span.type_name(where))
    return out if quantizer is None else w.quant_node(name + "_out", out, quantizer, where)


def _emit_passthrough(w, op, name, x, where, **attrs):
    out = w.node(op, [x], name, **attrs)
    span = w.span[x]
    if op == "Relu":
        span = Span(0.0, max(span.hi, 0.0), span.frac)
    w.span[out] = span
    w.pin(name, result=span.type_name(where))
    return out


def _emit_recurrent(w, m, name, x, where):
    """QLSTM / QGRU -> ONNX LSTM / GRU (layout 1: batch first), its input cast first; the
    constants are the quantised values and the YAML pins exact types for them (so Tachyon's
    casts of them change nothing) and the declared accum, state and table types."""
    xq = w.quant_node(name + "_in", x, m.input_quantizer, where)
    W, R, b, rb = (_np(t) for t in m.quantized())
    H = m.hidden_size
    # ONNX gate order: LSTM i, o, f, c (ours i, f, g, o); GRU z, r, h (ours).
    order = [0, 3, 1, 2] if isinstance(m, QLSTM) else [0, 1, 2]

    def onnx_rows(a):                          # [in, G*H] -> [1, G*H, in] in ONNX gate order
        return np.concatenate([a[:, k * H:(k + 1) * H].T for k in order])[None]

    def onnx_bias(v):
        return np.concatenate([v[k * H:(k + 1) * H] for k in order])
    ins = [xq, w.const(name + "_W", onnx_rows(W)), w.const(name + "_R", onnx_rows(R)),
           w.const(name + "_B", np.concatenate([onnx_bias(b), onnx_bias(rb)])[None])]
    y = name + ("_Y" if m.return_sequences else "_Y_h")
    outs = [y] if m.return_sequences else [name + "_Y", y]    # the reader reads Y_h when Y is unused
    attrs = dict(hidden_size=H, layout=1)
    if isinstance(m, QGRU):
        attrs["linear_before_reset"] = 1
    w.nodes.append(helper.make_node(m.op, ins, outs, name=name, **attrs))
    S = m.state_quantizer
    w.pin(name, table_size=m.table_size, weight=Span.of_values(W).type_name(where + " weight"),
          recurrent_weight=Span.of_values(R).type_name(where + " recurrent_weight"),
          bias=Span.of_values(b).type_name(where + " bias"),
          recurrent_bias=Span.of_values(rb).type_name(where + " recurrent_bias"),
          accum=m.accum_quantizer.fixed_type(), state=S.fixed_type(), table=m.table_quantizer.fixed_type(),
          result=S.fixed_type())
    # Y [N, steps, 1, H] -> [N, steps, H]; Y_h [N, 1, H] -> [N, H].
    axis = w.int_const(name + "_axes", [2 if m.return_sequences else 1])
    out = w.node("Squeeze", [y, axis], name + "_squeeze")
    w.span[out] = Span.of_type(int(S.width()), int(S.integer), S.signed)
    return out


def _emit_module(w, m, name, args, where, kwargs):
    x = args[0] if args else None
    if isinstance(m, (QLinear, QConv1d, QConv2d)):
        return _emit_mac(w, m, name, x, where)
    if isinstance(m, (QLSTM, QGRU)):
        return _emit_recurrent(w, m, name, x, where)
    if isinstance(m, QAct):
        return w.quant_node(name, x, m.quantizer, where)
    if isinstance(m, QReLU):
        r = _emit_passthrough(w, "Relu", name + "_relu", x, where)
        return w.quant_node(name, r, m.quantizer, where)
    if isinstance(m, QBatchNorm):
        return _emit_batchnorm(w, m, name, x, where)
    if isinstance(m, QAdd):
        return _emit_add(w, name, list(args), where, m.output_quantizer)
    if isinstance(m, QConcat):
        return _emit_concat(w, name, list(args), m.dim, where, m.output_quantizer)
    if isinstance(m, (QSigmoid, QTanh)):
        xq = w.quant_node(name + "_in", x, m.input_quantizer, where)
        out = w.node("Sigmoid" if isinstance(m, QSigmoid) else "Tanh", [xq], name)
        w.pin(name, table_size=m.table_size, result=m.output_quantizer.fixed_type(),
              table=m.table_quantizer.fixed_type())
        oq = m.output_quantizer
        w.span[out] = Span.of_type(int(oq.width()), int(oq.integer), oq.signed)
        return out
    if isinstance(m, QSoftmax):
        xq = w.quant_node(name + "_in", x, m.input_quantizer, where)
        out = w.node("Softmax", [xq], name, axis=-1)
        w.pin(name, result=m.output_quantizer.fixed_type(), exp_table=m.exp_quantizer.fixed_type(),
              inv_table=m.inv_quantizer.fixed_type())
        oq = m.output_quantizer
        w.span[out] = Span.of_type(int(oq.width()), int(oq.integer), oq.signed)
        return out
    if isinstance(m, nn.ReLU):
        return _emit_passthrough(w, "Relu", name, x, where)
    if isinstance(m, (nn.Identity, nn.Dropout)):
        return x
    if isinstance(m, nn.Flatten):
        if m.start_dim != 1 or m.end_dim != -1:
            raise ExportError(f"{where}: Flatten(start_dim={m.start_dim}, end_dim={m.end_dim}); only start_dim=1")
        return _emit_passthrough(w, "Flatten", name, x, where, axis=1)
    if isinstance(m, (nn.MaxPool1d, nn.MaxPool2d)):
        k = m.kernel_size if isinstance(m.kernel_size, tuple) else (m.kernel_size,) * (1 + isinstance(m, nn.MaxPool2d))
        st = m.stride if isinstance(m.stride, tuple) else (m.stride,) * len(k)
        if m.padding not in (0, (0, 0)) or m.dilation not in (1, (1, 1)) or m.ceil_mode:
            raise ExportError(f"{where}: MaxPool with padding, dilation or ceil_mode is not exported")
        return _emit_passthrough(w, "MaxPool", name, x, where, kernel_shape=list(k), strides=list(st))
    raise ExportError(f"{where}: module type {type(m).__name__} is not supported by tachyon.qat.export "
                      f"(use QLinear, QConv1d/2d, QLSTM, QGRU, QAct, QReLU, QBatchNorm, QAdd, QConcat, nn.ReLU, "
                      f"nn.Flatten, nn.MaxPool1d/2d, nn.Identity, nn.Dropout)")


def _emit_function(w, fn, name, args, kwargs, where):
    if fn in (operator.add, torch.add) and len(args) == 2 and all(isinstance(a, str) for a in args) and not kwargs:
        return _emit_add(w, name, list(args), where)
    if fn in (torch.relu, torch.nn.functional.relu) and not kwargs.get("inplace", False):
        return _emit_passthrough(w, "Relu", name, args[0], where)
    if fn is torch.flatten and (args[1:] == (1,) or kwargs == {"start_dim": 1}):
        return _emit_passthrough(w, "Flatten", name, args[0], where, axis=1)
    if fn is torch.cat:
        xs = args[0]
        axis = args[1] if len(args) > 1 else kwargs.get("dim", 0)
        return _emit_concat(w, name, list(xs), axis, where)
    raise ExportError(f"{where}: function {getattr(fn, '__name__', fn)} is not supported by tachyon.qat.export")


def _yaml(config):
    lines = ["# tachyon.qat.export: the precision configuration of the trained model (docs/qat.md)",
             "Model:", "  Precision: ap_fixed<16,6>", "  FoldBatchNorm: never", "LayerName:"]
    for layer, entry in config.items():
        lines.append(f"  {layer}:")
        lines.append("    Precision:")
        for k, v in entry["Precision"].items():
            lines.append(f"      {k}: {v}")
        for k, v in entry.items():
            if k != "Precision":
                lines.append(f"    {k}: {v}")
    return "\n".join(lines) + "\n"


def export(model, example_input, path):
    """Writes `path` (ONNX with QONNX Quant nodes) and `path` with suffix .yml (the Tachyon
    precision configuration). Returns the YAML's path. Raises ExportError naming the module
    or function that cannot be written bit-exactly; nothing is written then."""
    path = Path(path)
    yml = path.with_suffix(".yml")
    # Everything below (folded BatchNorm, quantised weights) is computed from a float64 copy,
    # which is what model.double().eval() computes, whatever dtype the model trained in.
    model = copy.deepcopy(model).double().eval()
    example_input = example_input.double()
    try:
        graph = _Tracer().trace(model)
    except Exception as e:   # fx reports data-dependent control flow and the like
        raise ExportError(f"{type(model).__name__}: torch.fx cannot trace the model: {e}") from e
    modules = dict(model.named_modules())
    w = _Writer()
    names = {}          # fx node -> ONNX tensor name
    in_shape = list(example_input.shape[1:])
    output = None

    def arg(a):
        if isinstance(a, torch.fx.Node):
            return names[a]
        if isinstance(a, (list, tuple)):
            return type(a)(arg(b) for b in a)
        return a

    with torch.no_grad():
        users = None
        for n in graph.nodes:
            where = f"{type(model).__name__}: {n.target if n.op != 'call_function' else n.name}"
            if n.op == "placeholder":
                if users is not None:
                    raise ExportError(f"{where}: only single-input models are exported")
                users = list(n.users)
                first = modules.get(users[0].target) if len(users) == 1 and users[0].op == "call_module" else None
                if not (isinstance(first, QAct) and isinstance(first.quantizer, FixedQuantizer)
                        and first.quantizer.is_tensorwise):
                    raise ExportError(f"{type(model).__name__}: the input must go through one QAct(FixedQuantizer) "
                                      "with one type first: its type is the firmware's input type")
                names[n] = "input"
                w.span["input"] = Span.of_type(int(first.quantizer.width()), int(first.quantizer.integer),
                                               first.quantizer.signed)
                w.pin("input", result=first.quantizer.fixed_type())
            elif n.op == "call_module":
                m = modules[n.target]
                names[n] = _emit_module(w, m, _clean(n.target), arg(n.args), f"module '{n.target}'", n.kwargs)
            elif n.op == "call_function":
                names[n] = _emit_function(w, n.target, n.name, arg(n.args), arg(n.kwargs), where)
            elif n.op == "call_method":
                if n.target == "flatten" and tuple(n.args[1:]) == (1,):
                    names[n] = _emit_passthrough(w, "Flatten", n.name, arg(n.args[0]), where, axis=1)
                else:
                    raise ExportError(f"{where}: tensor method '{n.target}' is not supported by tachyon.qat.export")
            elif n.op == "output":
                output = arg(n.args[0])
                if not isinstance(output, str):
                    raise ExportError(f"{type(model).__name__}: only single-output models are exported")
            else:
                raise ExportError(f"{where}: fx node '{n.op}' is not supported")
        out_shape = list(model(example_input).shape[1:])

    inp = helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N"] + in_shape)
    outp = helper.make_tensor_value_info(output, TensorProto.FLOAT, ["N"] + out_shape)
    g = helper.make_graph(w.nodes, "tachyon_qat", [inp], [outp], initializer=w.inits)
    onnx_model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid(QONNX_DOMAIN, 1)],
                                   producer_name="tachyon.qat")
    for target, text in ((path, onnx_model.SerializeToString()), (yml, _yaml(w.layers).encode())):
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_bytes(text)
        os.replace(tmp, target)
    return yml
