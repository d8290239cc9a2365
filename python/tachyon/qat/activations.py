"""Table activations with Tachyon's own tables (src/emulator/Tables.cpp, docs/semantics.md
"Tables"), so the trained forward is the firmware's lookup bit for bit:

    sigmoid / tanh : y = cast<output>(table[clamp((raw(x) >> shift) + offset, 0, size-1)])
    softmax        : m = max raw(x_i); e_i = exp_table[idx(m - raw(x_i))]; S = sum e_i;
                     y_i = cast<output>(e_i * inv_table[idx(S)])

Each table entry is the function at its bin's centre cast to the table type. The layer's
input goes through its `input` quantiser first (the table is built for that type). The
gradient is the exact function's (straight through the lookup).
"""
import math

import torch
from torch import nn

from .layers import _check_activation_quantizer
from .quantizers import FixedQuantizer, QuantizerError, fixed_cast

MAX_DEFAULT_LOG2_SIZE = 12


def _ceil_log2(v):
    return 0 if v <= 1.0 else int(math.ceil(math.log2(v) - 1e-12))


class LookupTable:
    """Tables.cpp's buildTable: a key covering 2^key_bits raw units, at most `requested`
    entries (0: the default), entry i = f(key at the bin centre), cast to `value_type`."""

    def __init__(self, value_q, key_bits, offset, requested, f):
        key_bits = max(key_bits, 1)
        log2_size = _ceil_log2(requested) if requested > 0 else min(key_bits, MAX_DEFAULT_LOG2_SIZE)
        log2_size = min(log2_size, key_bits)
        self.size = 1 << log2_size
        self.shift = key_bits - log2_size
        self.offset = offset >> self.shift
        half_bin = (math.ldexp(1.0, self.shift) - 1.0) / 2.0
        centres = [f(math.ldexp(float(i - self.offset), self.shift) + half_bin) for i in range(self.size)]
        self.values = fixed_cast(torch.tensor(centres, dtype=torch.float64), *value_q)[0]

    def lookup(self, key):
        """key: integer-valued float64 tensor."""
        idx = torch.floor(key / (1 << self.shift)) + self.offset
        idx = torch.clamp(idx, 0, self.size - 1).long()
        return self.values.to(key.device)[idx]


def _type_args(q):
    return (int(q.width().reshape(-1)[0]), int(q.integer.reshape(-1)[0]), q.signed, q.rounding, q.overflow)


def _fixed_only(q, what):
    q = _check_activation_quantizer(q, what)
    if not isinstance(q, FixedQuantizer):
        raise QuantizerError(f"{what}: a table activation needs a FixedQuantizer")
    return q


class _TableActivation(nn.Module):
    kind = None                          # Tachyon's activation name
    half_range = 8.0

    def __init__(self, input=None, output=None, table=None, table_size=0):
        super().__init__()
        self.input_quantizer = _fixed_only(input or FixedQuantizer(12, 4, rounding="RND", overflow="SAT"), "input")
        self.output_quantizer = _fixed_only(output or self.default_output(), "output")
        self.table_quantizer = _fixed_only(table or FixedQuantizer(18, 2, rounding="RND", overflow="SAT"), "table")
        self.table_size = int(table_size)
        self._table = None

    def table(self):
        """Tables.cpp's buildActivationTable for the input type."""
        if self._table is None:
            w, i, signed, _, _ = _type_args(self.input_quantizer)
            frac = w - i
            log2r = min(_ceil_log2(self.half_range), i - 1 if signed else i)
            key_bits = log2r + frac + 1
            offset = 1 << (max(key_bits, 1) - 1)
            lsb = math.ldexp(1.0, -frac)
            self._table = LookupTable(_type_args(self.table_quantizer), key_bits, offset, self.table_size,
                                      lambda key: self.function(key * lsb))
        return self._table

    def forward(self, x):
        xq = self.input_quantizer(x)
        w, i, *_ = _type_args(self.input_quantizer)
        raw = (xq.detach().double() * math.ldexp(1.0, w - i))
        y = self.output_quantizer(self.table().lookup(raw).to(x.dtype))
        exact = self.torch_function(xq)
        return y + (exact - exact.detach())      # + 0 exactly in the forward


class QSigmoid(_TableActivation):
    kind, half_range = "sigmoid", 8.0

    @staticmethod
    def default_output():
        return FixedQuantizer(10, 1, signed=False, rounding="RND", overflow="SAT")

    @staticmethod
    def function(v):
        return 1.0 / (1.0 + math.exp(-v))

    torch_function = staticmethod(torch.sigmoid)


class QTanh(_TableActivation):
    kind, half_range = "tanh", 4.0

    @staticmethod
    def default_output():
        return FixedQuantizer(10, 2, rounding="RND", overflow="SAT")

    function = staticmethod(math.tanh)
    torch_function = staticmethod(torch.tanh)


class QSoftmax(nn.Module):
    """Tachyon's softmax over the last axis of [N, C] (max subtracted, exact sum)."""

    def __init__(self, input=None, output=None, exp_table=None, inv_table=None):
        super().__init__()
        self.input_quantizer = _fixed_only(input or FixedQuantizer(12, 5, rounding="RND", overflow="SAT"), "input")
        self.output_quantizer = _fixed_only(output or FixedQuantizer(9, 1, signed=False, rounding="RND",
                                                                      overflow="SAT"), "output")
        f = max(int(self.output_quantizer.width() - self.output_quantizer.integer), 0)
        tf = min(max(f + 3, 4), 30)
        default = lambda: FixedQuantizer(tf + 1, 1, signed=False, rounding="RND", overflow="SAT")   # noqa: E731
        self.exp_quantizer = _fixed_only(exp_table or default(), "exp_table")
        self.inv_quantizer = _fixed_only(inv_table or default(), "inv_table")
        self._tables = {}

    def tables(self, n):
        """Tables.cpp's buildSoftmaxTables ('tachyon') for n inputs."""
        if n not in self._tables:
            w, i, *_ = _type_args(self.input_quantizer)
            in_frac, lsb = w - i, math.ldexp(1.0, -(w - i))
            rf = max(int(self.output_quantizer.width() - self.output_quantizer.integer), 0)
            ew, ei, *_ = _type_args(self.exp_quantizer)
            efrac = ew - ei
            rng = min(16.0, math.ldexp(1.0, _ceil_log2((efrac + 1) * math.log(2.0))))
            log2r = min(_ceil_log2(rng), i)
            exp_size = 1 << min(log2r + rf + 2, MAX_DEFAULT_LOG2_SIZE)
            exp_t = LookupTable(_type_args(self.exp_quantizer), log2r + in_frac, 0, exp_size,
                                lambda key: math.exp(-key * lsb))
            elsb = math.ldexp(1.0, -efrac)
            max_entry = max(float(exp_t.values.max()) / elsb, 1.0)
            c = max(1, _ceil_log2(n * max_entry * elsb))
            inv_size = 1 << min(c + rf + 2, MAX_DEFAULT_LOG2_SIZE)
            inv_t = LookupTable(_type_args(self.inv_quantizer), c + efrac, 0, inv_size,
                                lambda key: 1.0 / (key * elsb) if key * elsb > 0 else 1e300)
            self._tables[n] = (exp_t, inv_t, elsb)
        return self._tables[n]

    def forward(self, x):
        if x.dim() != 2:
            raise QuantizerError("QSoftmax takes [N, C] (softmax over the last axis)")
        xq = self.input_quantizer(x)
        w, i, *_ = _type_args(self.input_quantizer)
        raw = xq.detach().double() * math.ldexp(1.0, w - i)
        exp_t, inv_t, elsb = self.tables(x.shape[-1])
        d = raw.max(dim=-1, keepdim=True).values - raw
        e = exp_t.lookup(d)                                   # values
        s_raw = torch.round(e / elsb).sum(-1, keepdim=True)   # exact integer sum of raws
        r = inv_t.lookup(s_raw)
        y = self.output_quantizer((e * r).to(x.dtype))
        exact = torch.softmax(xq, -1)
        return y + (exact - exact.detach())
