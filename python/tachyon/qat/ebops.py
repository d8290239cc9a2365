"""A differentiable resource surrogate: effective bit operations (EBOPs, after HGQ).

For a Dense/Conv layer, each non-zero quantised weight w costs about (bits of the input) x
(bits of w) adder bits in Tachyon's shift-add firmware (a weight's CSD digits span its
bits; each digit is one adder operand as wide as the input). So

    EBOPs = sum over layers, weights w != 0, uses u:  b_in * b_w,
    b_w = max(0, msb(|w|) + 1 + f_w)   (f_w: the weight's fractional bits, continuous when
                                        trainable, so the gradient reaches them)
    b_in = the layer input's width (sign, integer and fraction bits actually used),

with u the number of output positions that reuse the weight (1 for Dense, for a Conv the
output positions — the Verilog backend builds a conv's adder graph once per position when
not streamed). `ebops_loss(model)` after a forward is the term a training loss adds, times
a weight beta, to trade accuracy for LUTs. Calibrated against Tachyon's Verilog adder bits
(`cmvm_adders` of tachyon_project.json) in test_qat.py and against Yosys LUTs in
bench/qat_digits.py (docs/qat.md).
"""
import math

import torch

from .layers import QConv1d, QConv2d, QLinear
from .quantizers import FixedQuantizer


def _value_bits(x):
    """Width (sign + integer + fraction) that the values of x actually use (no gradient)."""
    with torch.no_grad():
        x = x.detach().double()
        a = x.abs()
        m = float(a.max()) if a.numel() else 0.0
        if m == 0:
            return 0.0
        nz = a[a > 0]
        frac = 0
        while frac < 60 and not torch.equal(torch.ldexp(nz, torch.tensor(frac)).floor(),
                                             torch.ldexp(nz, torch.tensor(frac))):
            frac += 1
        integer = math.floor(math.log2(m)) + 1
        return float(integer + frac + (1 if bool((x < 0).any()) else 0))


def _weight_bits(m):
    """Per-weight differentiable width b_w (0 for zero weights)."""
    w = m.quantized_weight()
    q = m.weight_quantizer
    a = w.detach().abs()
    msb = torch.where(a > 0, torch.floor(torch.log2(torch.where(a > 0, a, torch.ones_like(a)))) + 1,
                      torch.zeros_like(a))
    if isinstance(q, FixedQuantizer):
        frac = q.frac if q.trainable else (q.width() - q.integer)
        frac = frac.to(w.dtype).expand_as(w)
        # bits from the MSB down to the LSB; a sign bit when the weight is negative
        bits = torch.clamp(msb + frac, min=0) + (w.detach() < 0).to(w.dtype)
    else:   # binary / ternary / power of two: one digit per weight
        bits = torch.ones_like(w)
    return torch.where(a > 0, bits, torch.zeros_like(bits))


class EbopsMeter:
    """Records each QLinear/QConv input on the forward; ebops() is then differentiable in the
    trainable fractional bits."""

    def __init__(self, model):
        self.layers = [m for m in model.modules() if isinstance(m, (QLinear, QConv1d, QConv2d))]
        self.inputs, self.outputs = {}, {}
        self.handles = [m.register_forward_hook(self._hook) for m in self.layers]

    def _hook(self, module, args, out):
        self.inputs[module] = _value_bits(args[0])
        self.outputs[module] = out.shape[2:].numel() if out.dim() > 2 else 1

    def ebops(self):
        total = 0.0
        for m in self.layers:
            if m not in self.inputs:
                continue
            total = total + self.inputs[m] * self.outputs[m] * _weight_bits(m).sum()
        return total

    def remove(self):
        for h in self.handles:
            h.remove()
