"""QLSTM and QGRU: recurrent layers whose float64 eval forward is Tachyon's recurrent kernel
(src/ops/recurrent/Kernel.cpp; docs/semantics.md, "Recurrent layers") bit for bit.

Input [N, steps, features] (batch first), zero initial state. Types: `input` (the layer
casts its input first), `weight`/`recurrent_weight`/`bias`/`recurrent_bias` (any
FixedQuantizer, per tensor, channel or element: the exported constants are the quantised
values), `accum` A, `state` S (h, and LSTM's c; also the layer's output type) and `table`
(the sigmoid/tanh tables). Per step, with h = h(t-1):

    ax = MAC_A(x_t; W, b), ah = MAC_A(h; R, rb)    (acc = A(b); acc = A(acc + A(x_i w_ij)), i ascending)
    pre = A(ax + ah); sig_A / tanh_A = A(table lookup keyed on A)
    LSTM (gates i, f, g, o):  c = S(g i + c f);  h = S(o * A(tanh table keyed on S)(c))
    GRU (gates z, r, n; PyTorch's reset_after form, ONNX linear_before_reset=1):
        hh = tanh_A(A(ax_n + A(r * ah_n)));  h = S(hh (1 - z) + h z)

Every product and two-term sum above is exact in float64; the constructor refuses types for
which it would not be (QuantizerError). The parameters are kept in that gate order
(LSTM i, f, g, o as nn.LSTM; GRU z, r, n, which is ONNX's and Keras', not nn.GRU's r, z, n):
weight_ih [gates*H, F], weight_hh [gates*H, H], bias_ih, bias_hh [gates*H]. Gradients are
straight through the casts, and the exact sigmoid/tanh's through the tables.
"""
import math

import torch
from torch import nn

from .activations import QSigmoid, QTanh
from .layers import _check_activation_quantizer, _check_quantizer
from .quantizers import MAX_BITS, FixedQuantizer, QuantizerError


def _fixed(bits, integer):
    return FixedQuantizer(bits, integer, rounding="RND", overflow="SAT")


def _weight_quantizer(q, what, default):
    q = _check_quantizer(q, what) or default
    if not isinstance(q, FixedQuantizer):
        raise QuantizerError(f"{what}: a recurrent layer takes FixedQuantizer weights and biases")
    return q


def _max_frac(q):
    return int((q.width() - q.integer).max())


def _max_width(q):
    return int(q.width().max())


def _max_abs(q):
    """Largest |value| of the quantiser's type(s)."""
    w, i = q.width().max(), q.integer.max()
    return math.ldexp(1.0, int(i) - (1 if q.signed else 0)) if w > 0 else 0.0


class _QRecurrent(nn.Module):
    gates = 0
    op = ""

    def __init__(self, input_size, hidden_size, input=None, weight=None, recurrent_weight=None, bias=None,
                 recurrent_bias=None, accum=None, state=None, table=None, table_size=0, return_sequences=False):
        super().__init__()
        if int(input_size) < 1 or int(hidden_size) < 1:
            raise QuantizerError("input_size and hidden_size must be positive")
        self.input_size, self.hidden_size = int(input_size), int(hidden_size)
        self.return_sequences = bool(return_sequences)
        G, H = self.gates, self.hidden_size
        self.weight_ih = nn.Parameter(torch.empty(G * H, self.input_size))
        self.weight_hh = nn.Parameter(torch.empty(G * H, H))
        self.bias_ih = nn.Parameter(torch.empty(G * H))
        self.bias_hh = nn.Parameter(torch.empty(G * H))
        bound = 1.0 / math.sqrt(H)                        # nn.LSTM / nn.GRU's initialisation
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)
        self.input_quantizer = _check_activation_quantizer(input or _fixed(10, 3), "input")
        if not isinstance(self.input_quantizer, FixedQuantizer):
            raise QuantizerError("input: a recurrent layer's input type is a FixedQuantizer")
        self.weight_quantizer = _weight_quantizer(weight, "weight", _fixed(8, 2))
        self.recurrent_weight_quantizer = _weight_quantizer(recurrent_weight, "recurrent_weight", _fixed(8, 2))
        self.bias_quantizer = _weight_quantizer(bias, "bias", _fixed(12, 4))
        self.recurrent_bias_quantizer = _weight_quantizer(recurrent_bias, "recurrent_bias", _fixed(12, 4))
        self.accum_quantizer = _check_activation_quantizer(accum or _fixed(18, 6), "accum")
        self.state_quantizer = _check_activation_quantizer(state or _fixed(16, 5), "state")
        self.table_quantizer = _check_activation_quantizer(table or _fixed(18, 2), "table")
        for q, what in ((self.accum_quantizer, "accum"), (self.state_quantizer, "state"),
                        (self.table_quantizer, "table")):
            if not isinstance(q, FixedQuantizer):
                raise QuantizerError(f"{what}: a recurrent layer's {what} type is a FixedQuantizer")
        self.table_size = int(table_size)
        # The gate activations: Tachyon's tables keyed on A, cast to A (act_A).
        A, T = self.accum_quantizer, self.table_quantizer
        self.sigmoid = QSigmoid(input=A, output=A, table=T, table_size=self.table_size)
        self.tanh = QTanh(input=A, output=A, table=T, table_size=self.table_size)
        self._check_exact()

    def _check_exact(self):
        """Every product and sum of the step must be exact in float64 (53 significant bits).
        A product is exact when its factors' widths add up to at most 53; the gates are
        table values cast to A, so |gate| <= 1 (and |1 - z| <= 2), which bounds the sums."""
        A, S = self.accum_quantizer, self.state_quantizer
        fa, fs, i_s = _max_frac(A), _max_frac(S), int(S.integer)
        wa, ws = _max_width(A), _max_width(S)
        needs = {
            "input x weight product": _max_width(self.input_quantizer) + _max_width(self.weight_quantizer),
            "state x recurrent_weight product": ws + _max_width(self.recurrent_weight_quantizer),
            "gate x accumulator product": 2 * wa + 1,
            "gate x state product": ws + wa + 1,
            "cell/state update sum": max(i_s, 1) + 2 + max(2 * fa, fs + fa),
        }
        for what, bits in needs.items():
            if bits > MAX_BITS:
                raise QuantizerError(f"{type(self).__name__}: the {what} needs {bits} bits, more than float64's "
                                     f"{MAX_BITS}; narrow the accum/state/weight types")

    def quantized(self):
        """(W [F, G*H], R [H, G*H], b, rb), quantised, in the gate order above."""
        return (self.weight_quantizer(self.weight_ih).t(), self.recurrent_weight_quantizer(self.weight_hh).t(),
                self.bias_quantizer(self.bias_ih), self.recurrent_bias_quantizer(self.bias_hh))

    def _mac(self, x, w, b, x_quantizer, w_quantizer):
        """MAC_A(x; w, b): Tachyon's per-product accumulation. When A holds every product
        exactly and no partial sum can leave A's range (as the emulator's fast path decides),
        it equals the exact sum, which one matmul computes."""
        A = self.accum_quantizer
        acc = A(b).expand(x.shape[0], -1)
        with torch.no_grad():
            products_exact = _max_frac(x_quantizer) + _max_frac(w_quantizer) <= _max_frac(A)
            worst = (A(b).abs() + _max_abs(x_quantizer) * w.abs().sum(0)).max()
            in_range = A.signed and float(worst) < _max_abs(A) - math.ldexp(1.0, -_max_frac(A))
        if products_exact and in_range:
            return acc + x @ w
        for i in range(x.shape[1]):
            acc = A(acc + A(x[:, i:i + 1] * w[i]))
        return acc

    def forward(self, x):
        if x.dim() != 3 or x.shape[2] != self.input_size:
            raise QuantizerError(f"{type(self).__name__} takes [N, steps, {self.input_size}]; got {list(x.shape)}")
        x = self.input_quantizer(x)
        W, R, b, rb = self.quantized()
        h = x.new_zeros(x.shape[0], self.hidden_size)
        c = x.new_zeros(x.shape[0], self.hidden_size)
        outputs = []
        for t in range(x.shape[1]):
            ax = self._mac(x[:, t], W, b, self.input_quantizer, self.weight_quantizer)
            ah = self._mac(h, R, rb, self.state_quantizer, self.recurrent_weight_quantizer)
            h, c = self.cell(ax, ah, h, c)
            outputs.append(h)
        return torch.stack(outputs, 1) if self.return_sequences else h

    def extra_repr(self):
        return (f"{self.input_size}, {self.hidden_size}, accum={self.accum_quantizer.fixed_type()}, "
                f"state={self.state_quantizer.fixed_type()}, return_sequences={self.return_sequences}")


class QLSTM(_QRecurrent):
    """LSTM (gates i, f, g, o) on Tachyon's arithmetic; see the module docstring."""
    gates, op = 4, "LSTM"

    def __init__(self, input_size, hidden_size, **kwargs):
        super().__init__(input_size, hidden_size, **kwargs)
        # tanh(c): the table keyed on the state type S, cast to A.
        self.state_tanh = QTanh(input=self.state_quantizer, output=self.accum_quantizer, table=self.table_quantizer,
                                table_size=self.table_size)

    def cell(self, ax, ah, h, c):
        A, S, H = self.accum_quantizer, self.state_quantizer, self.hidden_size
        pre = A(ax + ah)
        i, f, o = (self.sigmoid(pre[:, k * H:(k + 1) * H]) for k in (0, 1, 3))
        g = self.tanh(pre[:, 2 * H:3 * H])
        c = S(g * i + c * f)
        h = S(o * self.state_tanh(c))
        return h, c


class QGRU(_QRecurrent):
    """GRU (gates z, r, n; reset after the recurrent product, as nn.GRU) on Tachyon's
    arithmetic; see the module docstring."""
    gates, op = 3, "GRU"

    def cell(self, ax, ah, h, c):
        A, S, H = self.accum_quantizer, self.state_quantizer, self.hidden_size
        z = self.sigmoid(A(ax[:, :H] + ah[:, :H]))
        r = self.sigmoid(A(ax[:, H:2 * H] + ah[:, H:2 * H]))
        hh = self.tanh(A(ax[:, 2 * H:] + A(r * ah[:, 2 * H:])))
        h = S(hh * (1 - z) + h * z)
        return h, c
