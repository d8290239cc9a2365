"""tachyon.qat against Tachyon's C++ arithmetic. Run by ctest (test `python_qat`):

    PYTHONPATH=build/python /usr/bin/python3 -m pytest python/tests/test_qat.py

Quantisers are compared with FixedType's cast (the `_tachyon.fixed_cast` binding) on 10^6
random values per mode; layers are exported and loaded with `tachyon.load`, whose fixed-point
outputs must equal `model.double().eval()(x)` bit for bit.
"""
import numpy as np
import pytest
import torch

from tachyon import _tachyon
from tachyon.qat import (BinaryQuantizer, FixedQuantizer, PowerOfTwoQuantizer, QuantizerError, TernaryQuantizer,
                         fixed_cast)

ROUNDINGS = ["TRN", "TRN_ZERO", "RND", "RND_ZERO", "RND_INF", "RND_MIN_INF", "RND_CONV"]
OVERFLOWS = ["WRAP", "SAT", "SAT_ZERO", "SAT_SYM"]


def random_values(n, seed):
    """Values over many scales, a fifth of them exact ties at the LSBs the tests use."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 6, n) * rng.choice([1.0, 1e-2, 40.0], n)
    ties = n // 5
    x[:ties] = rng.integers(-4000, 4000, ties) / 32.0 + 1.0 / 64.0
    return x


def type_name(bits, integer, signed, rounding, overflow):
    return f"{'ap_fixed' if signed else 'ap_ufixed'}<{bits},{integer},AP_{rounding},AP_{overflow}>"


@pytest.mark.parametrize("rounding", ROUNDINGS)
@pytest.mark.parametrize("overflow", OVERFLOWS)
def test_fixed_cast_equals_cpp_fixed_type_on_a_million_values(rounding, overflow):
    x = random_values(1_000_000, seed=ROUNDINGS.index(rounding) * 10 + OVERFLOWS.index(overflow))
    xt = torch.from_numpy(x)
    # Four types per mode, a quarter of the values each: signed, unsigned, negative integer
    # bits (all fraction), integer bits above the width (LSB above 1).
    for k, (bits, integer, signed) in enumerate([(8, 3, True), (7, 2, False), (12, -2, True), (5, 9, True)]):
        part = slice(k * 250_000, (k + 1) * 250_000)
        ref = _tachyon.fixed_cast(x[part], type_name(bits, integer, signed, rounding, overflow))
        q = FixedQuantizer(bits, integer, signed, rounding, overflow)
        got = q(xt[part]).numpy()
        assert np.array_equal(got, ref), type_name(bits, integer, signed, rounding, overflow)
        assert not np.array_equal(got, x[part])   # the cast changed values: the test can fail


def test_ug1399_examples():
    def cast(v, bits, integer, signed, rounding, overflow):
        return float(fixed_cast(torch.tensor([v], dtype=torch.float64), bits, integer, signed, rounding, overflow)[0])

    assert cast(19.0, 4, 4, True, "RND", "SAT") == 7.0
    assert cast(-19.0, 4, 4, True, "RND", "SAT") == -8.0
    assert cast(-19.0, 4, 4, False, "RND", "SAT") == 0.0
    assert cast(-19.0, 4, 4, True, "RND", "SAT_SYM") == -7.0
    assert cast(19.0, 4, 4, True, "RND", "SAT_ZERO") == 0.0
    assert cast(31.0, 4, 4, True, "RND", "WRAP") == -1.0
    assert cast(7.75, 4, 4, True, "RND", "WRAP") == -8.0
    assert cast(-128.0, 8, 8, True, "TRN", "SAT_SYM") == -127.0
    for mode, pos, neg in [("RND", 1.5, -1.0), ("RND_ZERO", 1.0, -1.0), ("RND_MIN_INF", 1.0, -1.5),
                           ("RND_INF", 1.5, -1.5), ("RND_CONV", 1.0, -1.0), ("TRN", 1.0, -1.5),
                           ("TRN_ZERO", 1.0, -1.0)]:
        assert cast(1.25, 3, 2, True, mode, "SAT") == pos, mode
        assert cast(-1.25, 3, 2, True, mode, "SAT") == neg, mode


def test_per_channel_and_per_element_quantisers_equal_per_tensor_casts():
    rng = np.random.default_rng(3)
    x = torch.from_numpy(rng.normal(0, 3, (4, 5)))
    bits = torch.tensor([[3.0], [5.0], [8.0], [12.0]])               # per row (output channel)
    q = FixedQuantizer(bits, 2, rounding="RND_CONV", overflow="SAT")
    y = q(x).numpy()
    for r, b in enumerate([3, 5, 8, 12]):
        assert np.array_equal(y[r], _tachyon.fixed_cast(x[r].numpy(), type_name(b, 2, True, "RND_CONV", "SAT")))
    ints = torch.from_numpy(rng.integers(-1, 4, (4, 5)).astype(np.float64))
    qe = FixedQuantizer(torch.full((4, 5), 6.0), ints, overflow="SAT")   # per element
    ye = qe(x).numpy()
    for r in range(4):
        for c in range(5):
            t = type_name(6, int(ints[r, c]), True, "TRN", "SAT")
            assert ye[r, c] == _tachyon.fixed_cast(x[r, c:c + 1].numpy(), t)[0]


def test_ste_gradients_are_finite_and_clipped_where_saturating():
    x = torch.linspace(-10, 10, 401, dtype=torch.float64, requires_grad=True)
    FixedQuantizer(6, 3, overflow="SAT")(x).sum().backward()   # range [-4, 3.875], truncating
    g = x.grad
    assert torch.isfinite(g).all()
    inside = (x.detach() >= -4) & (x.detach() < 4)
    assert torch.equal(g, inside.double())
    x.grad = None
    FixedQuantizer(6, 3, overflow="WRAP")(x).sum().backward()
    assert torch.equal(x.grad, torch.ones_like(x))
    x.grad = None
    BinaryQuantizer()(x).sum().backward()                         # hard tanh
    assert torch.equal(x.grad, (x.detach().abs() <= 1).double())


def test_trainable_fraction_bits_get_a_gradient():
    q = FixedQuantizer(6, 2, rounding="RND", overflow="SAT", trainable=True, shape=(3, 1))
    x = torch.randn(3, 50, dtype=torch.float64)
    ((q(x) - x) ** 2).sum().backward()
    assert q.frac.grad.shape == (3, 1)
    assert torch.isfinite(q.frac.grad).all() and (q.frac.grad != 0).any()


def test_binary_ternary_and_power_of_two_values():
    x = torch.tensor([-2.0, -0.6, -0.5, -0.1, 0.0, 0.3, 0.5, 0.7, 3.0], dtype=torch.float64)
    assert BinaryQuantizer()(x).tolist() == [-1, -1, -1, -1, 1, 1, 1, 1, 1]
    assert BinaryQuantizer(0.5)(x).tolist() == [-0.5, -0.5, -0.5, -0.5, 0.5, 0.5, 0.5, 0.5, 0.5]
    assert TernaryQuantizer(0.5)(x).tolist() == [-1, -1, 0, 0, 0, 0, 0, 1, 1]
    p = PowerOfTwoQuantizer(-3, 1)(torch.tensor([0.01, 0.1, -0.3, 0.7, 0.74, 5.0], dtype=torch.float64))
    assert p.tolist() == [0.0, 0.125, -0.25, 0.5, 1.0, 2.0]   # rounded in the log domain


@pytest.mark.parametrize("make, reason", [
    (lambda: FixedQuantizer(0, 0), "at least 1"),
    (lambda: FixedQuantizer(60, 10), "float64"),
    (lambda: FixedQuantizer(8, 2, rounding="HALF_UP"), "rounding 'HALF_UP'"),
    (lambda: FixedQuantizer(8, 2, overflow="WRAP_SM"), "overflow 'WRAP_SM'"),
    (lambda: FixedQuantizer(8.5, 2), "integers"),
    (lambda: BinaryQuantizer(0.3), "power of two"),
])
def test_unrepresentable_quantisers_are_refused_at_construction(make, reason):
    with pytest.raises(QuantizerError, match=reason):
        make()
