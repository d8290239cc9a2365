"""Quantisers with Tachyon's arithmetic (docs/semantics.md): the exact ap_fixed cast of
src/fixed/FixedType (quantisation mode, then overflow mode), and binary / ternary /
power-of-two quantisers, all with straight-through-estimator gradients.

Every quantiser is an nn.Module whose forward returns the quantised tensor. The forward
value is computed exactly (in float64 it is the cast Tachyon applies, bit for bit); only
the gradient is an estimate.
"""
import math

import torch
from torch import nn

ROUNDING_MODES = ("TRN", "TRN_ZERO", "RND", "RND_ZERO", "RND_INF", "RND_MIN_INF", "RND_CONV")
OVERFLOW_MODES = ("WRAP", "SAT", "SAT_ZERO", "SAT_SYM")
# Widths a float64 forward holds exactly (53-bit mantissa); Tachyon's types go to 64 bits, but
# a wider quantiser could not be trained bit-exactly in PyTorch.
MAX_BITS = 53


class QuantizerError(ValueError):
    """A quantiser configuration Tachyon cannot represent (raised at construction)."""


def _mode(name, allowed, what):
    if not isinstance(name, str):
        raise QuantizerError(f"{what} must be a string, one of {', '.join(allowed)}")
    m = name.upper()
    m = m[3:] if m.startswith("AP_") else m
    if m not in allowed:
        raise QuantizerError(f"{what} '{name}' is not one of {', '.join(allowed)}")
    return m


def _round_integer(v, rounding):
    """v (exact, in units of the target LSB) -> integer by the ap_fixed quantisation mode.
    Uses floor and the exact remainder v - floor(v), so no +0.5 is ever rounded by the float."""
    fl = torch.floor(v)
    d = v - fl                      # exact, in [0, 1)
    half = d == 0.5
    if rounding == "TRN":
        up = torch.zeros_like(d, dtype=torch.bool)
    elif rounding == "TRN_ZERO":
        up = (d > 0) & (v < 0)
    elif rounding == "RND":
        up = d >= 0.5
    elif rounding == "RND_MIN_INF":
        up = d > 0.5
    elif rounding == "RND_ZERO":       # ties towards zero
        up = (d > 0.5) | (half & (v < 0))
    elif rounding == "RND_INF":        # ties away from zero
        up = (d > 0.5) | (half & (v > 0))
    else:                              # RND_CONV: ties to even
        odd = torch.remainder(fl, 2) == 1
        up = (d > 0.5) | (half & odd)
    return fl + up.to(v.dtype)


def _overflow_integer(r, lo, hi, width, overflow, signed):
    """Integer r -> the type's raw range [lo, hi] by the ap_fixed overflow mode; also the
    mask of values the gradient passes (False where a saturating mode clipped)."""
    below, above = r < lo, r > hi
    inside = ~(below | above)
    if overflow == "WRAP":
        span = torch.pow(2.0, width).to(r.dtype)
        return r - span * torch.floor((r - lo) / span), torch.ones_like(inside)
    if overflow == "SAT":
        return torch.minimum(torch.maximum(r, lo), hi), inside
    if overflow == "SAT_ZERO":
        return torch.where(inside, r, torch.zeros_like(r)), inside
    # SAT_SYM: signed types never take their most negative value (-2^(W-1) -> -max)
    low = -hi if signed else lo
    return torch.minimum(torch.maximum(r, low), hi), inside


def fixed_cast(x, width, integer, signed=True, rounding="TRN", overflow="WRAP"):
    """The exact ap_fixed<width, integer> (ap_ufixed when not signed) cast of every value of
    x: Tachyon's FixedType::castDouble. width/integer may be tensors broadcasting against x
    (per channel, per element); an element of width <= 0 is 0. Returns (y, passes) where
    passes marks values that a saturating mode did not clip (the STE's gradient mask)."""
    rounding = _mode(rounding, ROUNDING_MODES, "rounding")
    overflow = _mode(overflow, OVERFLOW_MODES, "overflow")
    dt = x.dtype
    w = torch.as_tensor(width, dtype=dt, device=x.device)
    i = torch.as_tensor(integer, dtype=dt, device=x.device)
    f = w - i
    scale = torch.pow(torch.tensor(2.0, dtype=dt, device=x.device), f)   # exact powers of two
    r = _round_integer(x * scale, rounding)
    wm = torch.clamp(w, min=1)
    if signed:
        hi = torch.pow(2.0, wm - 1) - 1
        lo = -torch.pow(2.0, wm - 1)
    else:
        hi = torch.pow(2.0, wm) - 1
        lo = torch.zeros_like(wm)
    r, passes = _overflow_integer(r, lo, hi, wm, overflow, signed)
    y = r / scale
    zero_width = w <= 0
    if bool(zero_width.any()):
        y = torch.where(zero_width, torch.zeros_like(y), y)
        passes = passes & ~zero_width
    return y, passes


class _FixedSTE(torch.autograd.Function):
    """Forward: the exact cast. Backward: identity for x where the value was not clipped
    (straight-through estimator, clipped where saturating); for trainable fractional bits,
    d(q - x)/df = -ln2 (q - x) (the quantisation error scales as 2^-f), as HGQ does."""

    @staticmethod
    def forward(ctx, x, frac, width, integer, signed, rounding, overflow):
        y, passes = fixed_cast(x, width, integer, signed, rounding, overflow)
        ctx.save_for_backward(passes, y - x)
        ctx.frac_shape = None if frac is None else frac.shape
        return y

    @staticmethod
    def backward(ctx, gy):
        passes, err = ctx.saved_tensors
        gx = gy * passes.to(gy.dtype)
        gf = None
        if ctx.frac_shape is not None:
            g = gy * (-math.log(2.0)) * err
            gf = _sum_to_shape(g, ctx.frac_shape)
        return gx, gf, None, None, None, None, None


def _sum_to_shape(g, shape):
    """Sums a broadcast gradient back to a parameter's shape."""
    while g.dim() > len(shape):
        g = g.sum(0)
    for d, n in enumerate(shape):
        if n == 1 and g.shape[d] != 1:
            g = g.sum(d, keepdim=True)
    return g.reshape(shape)


def _int_tensor_or_int(v, what):
    if isinstance(v, bool):
        raise QuantizerError(f"{what} must be an integer, not a bool")
    if isinstance(v, int):
        return v
    t = torch.as_tensor(v, dtype=torch.float64)
    if not torch.equal(t, torch.round(t)):
        raise QuantizerError(f"{what} must hold integers")
    return t


class Quantizer(nn.Module):
    """Base class: a quantiser of a tensor. `fixed_type()` names the Tachyon type
    (per-tensor quantisers only); `is_tensorwise` says whether one type covers every value."""

    is_tensorwise = True

    def fixed_type(self):
        raise NotImplementedError


class FixedQuantizer(Quantizer):
    """ap_fixed<bits, integer> (ap_ufixed when not signed) with a Vitis quantisation mode
    (`rounding`: TRN, TRN_ZERO, RND, RND_ZERO, RND_INF, RND_MIN_INF, RND_CONV) and overflow
    mode (`overflow`: WRAP, SAT, SAT_ZERO, SAT_SYM), exactly as docs/semantics.md.

    bits / integer: ints (per tensor) or arrays broadcasting against the quantised tensor
    (per channel, e.g. shape (out, 1) for a QLinear weight; per element: the weight's shape).
    trainable=True makes the fractional bits a parameter (rounded to integers in the forward,
    gradient as HGQ): heterogeneous bit widths learned in training; `bits` then gives the
    initial width and the shape of `bits` (or `shape`) the granularity. Elements whose width
    falls to 0 or below are 0 (pruned); widths stay in [min_bits, max_bits] (max_bits is
    lowered to 32 when a layer takes the quantiser: its QONNX Quant holds at most 32 bits, so
    training cannot grow a width the export would refuse). Unsigned with SAT_SYM saturates as
    SAT (negative -> 0), as FixedType does.
    """

    def __init__(self, bits, integer, signed=True, rounding="TRN", overflow="WRAP", trainable=False,
                 shape=None, min_bits=0, max_bits=MAX_BITS):
        super().__init__()
        self.rounding = _mode(rounding, ROUNDING_MODES, "rounding")
        self.overflow = _mode(overflow, OVERFLOW_MODES, "overflow")
        self.signed = bool(signed)
        bits = _int_tensor_or_int(bits, "bits")
        integer = _int_tensor_or_int(integer, "integer")
        if shape is not None:
            bits = torch.full(tuple(shape), float(bits)) if isinstance(bits, int) else bits.expand(tuple(shape)).clone()
        low = min_bits if trainable else 1
        bmin = bits if isinstance(bits, int) else int(bits.min().item())
        bmax = bits if isinstance(bits, int) else int(bits.max().item())
        if bmin < low:
            raise QuantizerError(f"bits must be at least {low} (got {bmin})")
        if bmax > MAX_BITS:
            raise QuantizerError(f"{bmax} bits: a float64 forward holds at most {MAX_BITS}, so the trained model "
                                 "could not equal the firmware bit for bit")
        if trainable and not (min_bits <= bmin and bmax <= max_bits <= MAX_BITS):
            raise QuantizerError(f"trainable widths need min_bits <= bits <= max_bits <= {MAX_BITS} (got "
                                 f"{min_bits}, {bmin}..{bmax}, {max_bits})")
        self.trainable = bool(trainable)
        self.is_tensorwise = isinstance(bits, int) and isinstance(integer, int)
        self.register_buffer("integer", torch.as_tensor(integer, dtype=torch.float64))
        frac0 = torch.as_tensor(bits, dtype=torch.float64) - self.integer
        if self.trainable:
            self.frac = nn.Parameter(frac0.clone())
            self.min_bits, self.max_bits = int(min_bits), int(max_bits)
        else:
            self.register_buffer("frac", frac0)

    def width(self):
        """Integer widths (tensor), the trainable fractional bits rounded (at least min_bits)."""
        w = self.integer + torch.round(self.frac.detach())
        return torch.clamp(w, min=self.min_bits, max=self.max_bits) if self.trainable else w

    def forward(self, x):
        w = self.width()
        frac = self.frac if self.trainable else None
        return _FixedSTE.apply(x, frac, w.to(x.dtype), self.integer.to(x.dtype), self.signed, self.rounding,
                               self.overflow)

    def fixed_type(self):
        if not self.is_tensorwise and self.width().numel() != 1:
            raise QuantizerError("a per-channel/per-element quantiser has no single type")
        w, i = int(self.width().reshape(-1)[0]), int(self.integer.reshape(-1)[0])
        base = "ap_fixed" if self.signed else "ap_ufixed"
        return f"{base}<{w},{i},AP_{self.rounding},AP_{self.overflow}>"

    def extra_repr(self):
        try:
            return self.fixed_type()
        except QuantizerError:
            return f"per-channel/element, signed={self.signed}, {self.rounding}, {self.overflow}"


class _SignSTE(torch.autograd.Function):
    """sign with 0 -> +1 in the forward; hard-tanh gradient (1 where |x| <= 1)."""

    @staticmethod
    def forward(ctx, x, scale):
        ctx.save_for_backward(x)
        return torch.where(x >= 0, torch.ones_like(x), -torch.ones_like(x)) * scale

    @staticmethod
    def backward(ctx, gy):
        (x,) = ctx.saved_tensors
        return gy * (x.abs() <= 1).to(gy.dtype), None


class _TernarySTE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, threshold, scale):
        ctx.save_for_backward(x)
        y = torch.where(x > threshold, torch.ones_like(x), torch.zeros_like(x))
        y = torch.where(x < -threshold, -torch.ones_like(x), y)
        return y * scale

    @staticmethod
    def backward(ctx, gy):
        (x,) = ctx.saved_tensors
        return gy * (x.abs() <= 1).to(gy.dtype), None, None


def _power_of_two(v, what):
    m, _ = math.frexp(float(v))
    if not (v > 0 and m == 0.5):
        raise QuantizerError(f"{what} {v} is not a power of two: the firmware's values are fixed-point numbers")
    return float(v)


class BinaryQuantizer(Quantizer):
    """BinaryNet: +scale for x >= 0, -scale otherwise (QONNX BipolarQuant); gradient of
    hard tanh. scale must be a power of two."""

    def __init__(self, scale=1.0):
        super().__init__()
        self.scale = _power_of_two(scale, "scale")

    def forward(self, x):
        return _SignSTE.apply(x, self.scale)

    def extra_repr(self):
        return f"scale={self.scale}"


class TernaryQuantizer(Quantizer):
    """TernaryNet: +scale for x > threshold, -scale for x < -threshold, else 0; gradient of
    hard tanh. Weights only (export writes the values)."""

    def __init__(self, threshold=0.5, scale=1.0):
        super().__init__()
        if not threshold >= 0:
            raise QuantizerError("threshold must be >= 0")
        self.threshold = float(threshold)
        self.scale = _power_of_two(scale, "scale")

    def forward(self, x):
        return _TernarySTE.apply(x, self.threshold, self.scale)

    def extra_repr(self):
        return f"threshold={self.threshold}, scale={self.scale}"


class _Po2STE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, min_exp, max_exp):
        a = x.abs()
        e = torch.clamp(torch.round(torch.log2(torch.clamp(a, min=2.0 ** (min_exp - 2)))), min_exp, max_exp)
        y = torch.sign(x) * torch.pow(2.0, e).to(x.dtype)
        y = torch.where(a < 2.0 ** (min_exp - 1), torch.zeros_like(y), y)
        return y

    @staticmethod
    def backward(ctx, gy):
        return gy, None, None


class PowerOfTwoQuantizer(Quantizer):
    """sign(x) 2^clip(round(log2|x|), min_exp, max_exp), 0 below 2^(min_exp-1): each weight
    costs at most one shift in the shift-add firmware. Weights only."""

    def __init__(self, min_exp=-8, max_exp=0):
        super().__init__()
        if int(min_exp) != min_exp or int(max_exp) != max_exp or min_exp > max_exp:
            raise QuantizerError("min_exp <= max_exp must be integers")
        self.min_exp, self.max_exp = int(min_exp), int(max_exp)

    def forward(self, x):
        return _Po2STE.apply(x, self.min_exp, self.max_exp)

    def extra_repr(self):
        return f"2^[{self.min_exp}, {self.max_exp}]"
