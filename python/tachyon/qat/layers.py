"""Quantised layers whose float64 eval forward is Tachyon's arithmetic (docs/semantics.md).

Dense/Conv: weights and biases go through their quantisers; the accumulation is exact
(Tachyon's `accum: auto`, which a float64 forward reproduces while the sum fits 53 bits)
unless the layer declares `accum`, a narrower FixedQuantizer: then the forward applies
Tachyon's per-product rule `acc = cast(acc + cast(x_i w_ij))`, bias first, inputs in
Tachyon's order. `output` casts the result (None: the exact accumulator is the result, the
next quantiser rounds). A pruning mask (tachyon.qat.pruning) multiplies the quantised
weights, so pruned weights are exact zeros.
"""
import torch
import torch.nn.functional as F
from torch import nn

from .quantizers import FixedQuantizer, Quantizer, QuantizerError, BinaryQuantizer

# Sensible defaults: 8-bit weights in [-2, 2), 12-bit biases in [-8, 8), rounded, saturating.
def default_weight_quantizer():
    return FixedQuantizer(8, 2, rounding="RND", overflow="SAT")


def default_bias_quantizer():
    return FixedQuantizer(12, 4, rounding="RND", overflow="SAT")


def default_relu_quantizer():
    return FixedQuantizer(8, 3, signed=False, rounding="RND", overflow="SAT")


def _check_quantizer(q, what, allow_none=True):
    if q is None and allow_none:
        return None
    if not isinstance(q, Quantizer):
        raise QuantizerError(f"{what} must be a tachyon.qat quantiser, not {type(q).__name__}")
    return q


def _check_activation_quantizer(q, what, per_channel=False):
    """An activation quantiser becomes a QONNX Quant (Fixed) or BipolarQuant on a computed
    tensor, at most 32 bits (Tachyon's Quant reader). `per_channel`: a FixedQuantizer may
    hold a type per channel or element (a Quant with a scale/bitwidth tensor; at least 1 bit
    each); otherwise (tables, recurrent state) one type for the tensor."""
    _check_quantizer(q, what, allow_none=False)
    if isinstance(q, FixedQuantizer):
        if not q.is_tensorwise and not per_channel:
            raise QuantizerError(f"{what}: needs one type for the tensor (a table or recurrent layer is built "
                                 "for one type)")
        if q.trainable and q.min_bits < 1:
            raise QuantizerError(f"{what}: a trainable activation quantiser needs min_bits >= 1 (a Quant "
                                 "element holds at least 1 bit)")
        _cap_trainable_width(q)
        if int(q.width().max()) > 32:
            raise QuantizerError(f"{what}: {int(q.width().max())} bits; an activation Quant holds at most 32")
    elif not isinstance(q, BinaryQuantizer):
        raise QuantizerError(f"{what}: {type(q).__name__} is for weights only; activations take a "
                             "FixedQuantizer or BinaryQuantizer")
    return q


def _cap_trainable_width(q):
    """Trainable widths may grow in training; a layer's Quant holds at most 32 bits, so the
    quantiser never trains beyond that (the forward applies the cap, as the export)."""
    if isinstance(q, FixedQuantizer) and q.trainable:
        q.max_bits = min(q.max_bits, 32)


def _check_constant_quantizer(q, what):
    """Dense/Conv weights and biases are exported behind an identity QONNX Quant, which
    Tachyon reads up to 32 bits."""
    _check_quantizer(q, what)
    _cap_trainable_width(q)
    if isinstance(q, FixedQuantizer) and int(q.width().max()) > 32:
        raise QuantizerError(f"{what}: {int(q.width().max())} bits; a weight/bias Quant holds at most 32")
    return q


def _check_accum(q, what):
    if q is None:
        return None
    if not isinstance(q, FixedQuantizer) or not q.is_tensorwise:
        raise QuantizerError(f"{what}: an accumulator is one FixedQuantizer type")
    return q


class _QuantizedParams:
    """Weight/bias quantisation and the pruning mask shared by QLinear and QConv."""

    def _init_quantizers(self, weight, bias, accum, output):
        self.weight_quantizer = _check_constant_quantizer(weight, "weight") or default_weight_quantizer()
        self.bias_quantizer = (_check_constant_quantizer(bias, "bias") or default_bias_quantizer()) \
            if self.bias is not None else None
        self.accum_quantizer = _check_accum(accum, "accum")
        self.output_quantizer = None if output is None else _check_activation_quantizer(output, "output", True)
        self.register_buffer("prune_mask", None)

    def quantized_weight(self):
        w = self.weight_quantizer(self.weight)
        if self.prune_mask is not None:
            w = w * self.prune_mask.to(w.dtype)
        return w

    def quantized_bias(self):
        return None if self.bias is None else self.bias_quantizer(self.bias)

    def _finish(self, y):
        return y if self.output_quantizer is None else self.output_quantizer(y)


def _accumulate(products, bias, accum):
    """Tachyon's accumulation with a declared accumulator: acc = cast(b), then for each
    product (last axis, in order) acc = cast(acc + cast(p))."""
    acc = accum(bias.expand(products.shape[:-1]).clone()) if bias is not None else \
        torch.zeros(products.shape[:-1], dtype=products.dtype, device=products.device)
    for i in range(products.shape[-1]):
        acc = accum(acc + accum(products[..., i]))
    return acc


class QLinear(nn.Linear, _QuantizedParams):
    """Dense layer: y = output(sum_i x_i q_w(w_ij) + q_b(b_j)), exact unless `accum` is given."""

    def __init__(self, in_features, out_features, weight=None, bias=None, accum=None, output=None, use_bias=True):
        nn.Linear.__init__(self, in_features, out_features, bias=use_bias)
        self._init_quantizers(weight, bias, accum, output)

    def forward(self, x):
        w, b = self.quantized_weight(), self.quantized_bias()
        if self.accum_quantizer is None:
            return self._finish(F.linear(x, w, b))
        products = x.unsqueeze(-2) * w            # [..., out, in], i ascending
        return self._finish(_accumulate(products, b, self.accum_quantizer))


def _same_padding(kernel, dilation):
    """PyTorch's padding='same' (stride 1): total d(k-1), the extra one at the end."""
    total = dilation * (kernel - 1)
    return total // 2, total - total // 2


class _QConvMixin(_QuantizedParams):
    def explicit_padding(self):
        """(begin, end) per spatial axis."""
        if isinstance(self.padding, str):
            if self.padding == "valid":
                return [(0, 0)] * len(self.kernel_size)
            return [_same_padding(k, d) for k, d in zip(self.kernel_size, self.dilation)]
        return [(p, p) for p in self.padding]

    def _check_conv(self):
        if self.padding_mode != "zeros":
            raise QuantizerError(f"padding_mode '{self.padding_mode}': Tachyon pads with zeros")
        if self.groups not in (1, self.in_channels):
            raise QuantizerError("groups must be 1 or in_channels (depthwise)")

    def _conv_forward_q(self, x):
        w, b = self.quantized_weight(), self.quantized_bias()
        pads = self.explicit_padding()
        flat = []
        for (lo, hi) in reversed(pads):
            flat += [lo, hi]
        xp = F.pad(x, flat)
        conv = F.conv1d if len(self.kernel_size) == 1 else F.conv2d
        if self.accum_quantizer is None:
            return self._finish(conv(xp, w, b, self.stride, 0, self.dilation, self.groups))
        return self._finish(self._narrow_accum(xp, w, b))

    def _narrow_accum(self, xp, w, b):
        """Per-product casts in Tachyon's im2col order: kernel positions row-major, then
        input channels (depthwise: kernel positions)."""
        two_d = len(self.kernel_size) == 2
        x4 = xp if two_d else xp.unsqueeze(2)
        w4 = w if two_d else w.unsqueeze(2)
        k = tuple(w4.shape[2:])
        stride = tuple(self.stride) if two_d else (1, self.stride[0])
        dil = tuple(self.dilation) if two_d else (1, self.dilation[0])
        patches = F.unfold(x4, k, dilation=dil, stride=stride)          # [B, C*kh*kw, L]
        B, L = patches.shape[0], patches.shape[-1]
        C, O, K = x4.shape[1], w4.shape[0], k[0] * k[1]
        patches = patches.reshape(B, C, K, L)
        if self.groups == 1:
            prod = patches.unsqueeze(1) * w4.reshape(O, C, K).unsqueeze(0).unsqueeze(-1)   # [B, O, C, K, L]
            prod = prod.permute(0, 1, 4, 3, 2).reshape(B, O, L, K * C)                     # k outer, c inner
        else:
            m = O // C
            xs = patches.repeat_interleave(m, dim=1)                                        # [B, O, K, L]
            prod = (xs * w4.reshape(O, K).unsqueeze(0).unsqueeze(-1)).permute(0, 1, 3, 2)  # [B, O, L, K]
        bias = None if b is None else b.reshape(1, O, 1)
        acc = _accumulate(prod, bias, self.accum_quantizer)                                 # [B, O, L]
        out_sp = [(x4.shape[2 + a] - dil[a] * (k[a] - 1) - 1) // stride[a] + 1 for a in range(2)]
        y = acc.reshape(B, O, *out_sp)
        return y if two_d else y.squeeze(2)


class QConv1d(nn.Conv1d, _QConvMixin):
    """Conv1D (groups = in_channels: depthwise) with quantised weights; as QLinear."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 weight=None, bias=None, accum=None, output=None, use_bias=True, padding_mode="zeros"):
        nn.Conv1d.__init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation, groups,
                           use_bias, padding_mode)
        self._check_conv()
        self._init_quantizers(weight, bias, accum, output)

    def forward(self, x):
        return self._conv_forward_q(x)


class QConv2d(nn.Conv2d, _QConvMixin):
    """Conv2D (groups = in_channels: depthwise) with quantised weights; as QLinear."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 weight=None, bias=None, accum=None, output=None, use_bias=True, padding_mode="zeros"):
        nn.Conv2d.__init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation, groups,
                           use_bias, padding_mode)
        self._check_conv()
        self._init_quantizers(weight, bias, accum, output)

    def forward(self, x):
        return self._conv_forward_q(x)


class QAct(nn.Module):
    """An activation quantiser: y = quantizer(x) (a QONNX Quant / BipolarQuant in export)."""

    def __init__(self, quantizer):
        super().__init__()
        self.quantizer = _check_activation_quantizer(quantizer, "QAct quantizer", True)

    def forward(self, x):
        return self.quantizer(x)


class QReLU(nn.Module):
    """y = quantizer(max(x, 0)); quantizer None: ap_ufixed<8,3,AP_RND,AP_SAT>."""

    def __init__(self, quantizer=None):
        super().__init__()
        self.quantizer = _check_activation_quantizer(quantizer or default_relu_quantizer(), "QReLU quantizer", True)

    def forward(self, x):
        return self.quantizer(torch.relu(x))


class QBatchNorm(nn.Module):
    """Batch normalisation over axis 1 (any rank), trained folded into a per-channel scale and
    shift: scale = gamma / sqrt(var + eps), shift = beta - mean * scale, each quantised
    (`scale`, `shift` quantisers), y = output(x * q(scale) + q(shift)). Training uses the
    batch statistics (and updates running ones as nn.BatchNorm), eval the running ones; the
    exported layer is Tachyon's BatchNormalization with exactly these q(scale), q(shift)
    (docs/qat.md, "BatchNorm")."""

    def __init__(self, num_features, scale=None, shift=None, output=None, eps=1e-5, momentum=0.1):
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.weight = nn.Parameter(torch.ones(num_features))
        self.bias = nn.Parameter(torch.zeros(num_features))
        self.register_buffer("running_mean", torch.zeros(num_features))
        self.register_buffer("running_var", torch.ones(num_features))
        self.scale_quantizer = _check_quantizer(scale, "scale") or FixedQuantizer(12, 4, rounding="RND", overflow="SAT")
        self.shift_quantizer = _check_quantizer(shift, "shift") or FixedQuantizer(12, 4, rounding="RND", overflow="SAT")
        self.output_quantizer = None if output is None else _check_activation_quantizer(output, "output", True)

    def folded(self, mean=None, var=None):
        mean = self.running_mean if mean is None else mean
        var = self.running_var if var is None else var
        scale = self.weight / torch.sqrt(var + self.eps)
        shift = self.bias - mean * scale
        return self.scale_quantizer(scale), self.shift_quantizer(shift)

    def forward(self, x):
        axes = [0] + list(range(2, x.dim()))
        if self.training:
            mean = x.mean(axes)
            var = x.var(axes, unbiased=False)
            with torch.no_grad():
                n = x.numel() / x.shape[1]
                self.running_mean.mul_(1 - self.momentum).add_(self.momentum * mean.detach().to(self.running_mean))
                self.running_var.mul_(1 - self.momentum).add_(
                    self.momentum * var.detach().to(self.running_var) * n / max(n - 1, 1))
            s, h = self.folded(mean, var)
        else:
            s, h = self.folded()
        shape = [1, -1] + [1] * (x.dim() - 2)
        y = x * s.to(x.dtype).reshape(shape) + h.to(x.dtype).reshape(shape)
        return y if self.output_quantizer is None else self.output_quantizer(y)


class QAdd(nn.Module):
    """Residual sum y = output(a + b + ...), exact before the optional cast."""

    def __init__(self, output=None):
        super().__init__()
        self.output_quantizer = None if output is None else _check_activation_quantizer(output, "output", True)

    def forward(self, *xs):
        y = xs[0]
        for x in xs[1:]:
            y = y + x
        return y if self.output_quantizer is None else self.output_quantizer(y)


class QConcat(nn.Module):
    """Concatenation along `dim` (PyTorch's axis, 1 = channels), then the optional cast."""

    def __init__(self, dim=1, output=None):
        super().__init__()
        self.dim = dim
        self.output_quantizer = None if output is None else _check_activation_quantizer(output, "output", True)

    def forward(self, *xs):
        y = torch.cat(xs, self.dim)
        return y if self.output_quantizer is None else self.output_quantizer(y)
