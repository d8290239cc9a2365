"""Exact fixed-point types of tensors during export: a value set described by its range
[lo, hi] and LSB 2^-frac, and the smallest ap_fixed type that holds it exactly."""
import math
from dataclasses import dataclass

import numpy as np

from .quantizers import MAX_BITS


class ExportError(ValueError):
    """A model tachyon.qat.export cannot write bit-exactly; the message names the module."""


def exact_frac(values):
    """Smallest frac with every value * 2^frac an integer (values exact doubles)."""
    v = np.asarray(values, dtype=np.float64).ravel()
    v = v[v != 0]
    if v.size == 0:
        return 0
    for f in range(-60, 80):
        s = np.ldexp(v, f)
        if np.array_equal(s, np.floor(s)):
            return f
    raise ExportError("a value is not a fixed-point number of at most 80 fractional bits")


@dataclass(frozen=True)
class Span:
    lo: float
    hi: float
    frac: int

    @staticmethod
    def of_values(values):
        v = np.asarray(values, dtype=np.float64)
        return Span(float(v.min(initial=0.0)), float(v.max(initial=0.0)), exact_frac(v))

    @staticmethod
    def of_type(width, integer, signed):
        frac = width - integer
        if signed:
            return Span(-math.ldexp(1.0, integer - 1), math.ldexp(1.0, integer - 1) - math.ldexp(1.0, -frac), frac)
        return Span(0.0, math.ldexp(1.0, integer) - math.ldexp(1.0, -frac), frac)

    def union(self, other):
        return Span(min(self.lo, other.lo), max(self.hi, other.hi), max(self.frac, other.frac))

    def type_args(self):
        """(width, integer, signed) of the smallest type holding every value of the span."""
        signed = self.lo < 0
        rlo, rhi = math.ldexp(self.lo, self.frac), math.ldexp(self.hi, self.frac)
        width = 1
        if signed:
            while -(2 ** (width - 1)) > rlo or rhi > 2 ** (width - 1) - 1:
                width += 1
        else:
            while rhi > 2 ** width - 1:
                width += 1
        return width, width - self.frac, signed

    def type_name(self, where):
        width, integer, signed = self.type_args()
        if width > MAX_BITS:
            raise ExportError(f"{where}: the exact result needs {width} bits, more than float64's {MAX_BITS}, so "
                              "PyTorch could not compute it exactly; declare a narrower accum/output quantiser")
        return f"{'ap_fixed' if signed else 'ap_ufixed'}<{width},{integer}>"


def mac_span(x, weight, bias, where):
    """Exact accumulator span of sum_i x_i w_ij + b_j over every input the span x allows (per
    output j; weight [out, fan_in]), by interval arithmetic as Tachyon's `accum: auto`."""
    w = np.asarray(weight, dtype=np.float64).reshape(weight.shape[0], -1)
    lo_terms = np.minimum(np.minimum(w * x.lo, w * x.hi), 0.0)
    hi_terms = np.maximum(np.maximum(w * x.lo, w * x.hi), 0.0)
    b = np.zeros(w.shape[0]) if bias is None else np.asarray(bias, dtype=np.float64)
    lo = float((lo_terms.sum(1) + b).min())
    hi = float((hi_terms.sum(1) + b).max())
    frac = x.frac + exact_frac(w)
    if bias is not None:
        frac = max(frac, exact_frac(b))
    span = Span(min(lo, 0.0), max(hi, 0.0), frac)
    span.type_name(where)   # refuses sums wider than float64
    return span
