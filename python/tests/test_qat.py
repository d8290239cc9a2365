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


# ---------------------------------------------------------------- layers, export, tachyon.load
import tachyon  # noqa: E402
from tachyon.qat import (ExportError, PolynomialDecay, Pruner, QAct, QAdd, QBatchNorm, QConcat, QConv1d,  # noqa: E402
                         QConv2d, QLinear, QReLU, QSigmoid, QSoftmax, QTanh, export)


def act8():
    return FixedQuantizer(8, 3, rounding="RND", overflow="SAT")


class ResidualCnn(torch.nn.Module):
    """Conv2D same -> ReLU -> depthwise Conv2D -> BatchNorm, added back to the ReLU output
    (wrapping sum), ReLU, max pool, Flatten, Dense."""

    def __init__(self):
        super().__init__()
        self.q = QAct(act8())
        self.c1 = QConv2d(2, 4, 3, padding=1)
        self.r1 = QReLU()
        self.dw = QConv2d(4, 4, 3, padding=1, groups=4)
        self.bn = QBatchNorm(4, output=FixedQuantizer(10, 4, rounding="RND_CONV", overflow="SAT"))
        self.add = QAdd(output=FixedQuantizer(9, 4, rounding="RND_INF", overflow="WRAP"))
        self.r2 = QReLU()
        self.pool = torch.nn.MaxPool2d(2)
        self.flat = torch.nn.Flatten()
        self.fc = QLinear(4 * 3 * 3, 5)

    def forward(self, x):
        h = self.r1(self.c1(self.q(x)))
        return self.fc(self.flat(self.pool(self.r2(self.add(h, self.bn(self.dw(h)))))))


class ConcatCnn(torch.nn.Module):
    """Two Conv1D branches (one with a narrow saturating accumulator) concatenated, then a
    Dense with a narrow wrapping accumulator."""

    def __init__(self):
        super().__init__()
        self.q = QAct(act8())
        self.a = QConv1d(3, 4, 3, padding="same")
        self.b = QConv1d(3, 2, 5, padding=2, accum=FixedQuantizer(9, 3, rounding="RND", overflow="SAT"))
        self.cat = QConcat(1)
        self.r = QReLU(FixedQuantizer(6, 2, signed=False, rounding="RND_ZERO", overflow="SAT_SYM"))
        self.fc = QLinear(6 * 7, 3, accum=FixedQuantizer(8, 1, rounding="RND", overflow="WRAP"))

    def forward(self, x):
        h = self.q(x)
        return self.fc(torch.flatten(self.r(self.cat(self.a(h), self.b(h))), 1))


def dense_model():
    return torch.nn.Sequential(QAct(act8()), QLinear(16, 12), QReLU(), QLinear(12, 8, output=act8()),
                               QReLU(FixedQuantizer(5, 1, False, "TRN", "SAT")), QLinear(8, 4))


def binary_model():
    return torch.nn.Sequential(QAct(act8()), QLinear(10, 16, weight=BinaryQuantizer(), use_bias=False),
                               QBatchNorm(16), QAct(BinaryQuantizer()), QLinear(16, 8, weight=BinaryQuantizer()),
                               QAct(BinaryQuantizer()), QLinear(8, 3, weight=BinaryQuantizer(0.5)))


def ternary_model():
    return torch.nn.Sequential(QAct(act8()), QLinear(10, 12, weight=TernaryQuantizer(0.2)), QReLU(),
                               QLinear(12, 3, weight=TernaryQuantizer(0.1, 0.25)))


def pruned_model(structured):
    m = torch.nn.Sequential(QAct(act8()), QConv1d(2, 6, 3), QReLU(), torch.nn.Flatten(), QLinear(6 * 6, 4))
    Pruner(m, PolynomialDecay(0.0, 0.6, 0, 10, frequency=1), structured=structured).update_masks(0.6)
    return m


def table_model():
    """Sigmoid, tanh and softmax with default and with odd types (a wrapping input, a
    64-entry table, a 16-bit softmax result)."""
    return torch.nn.Sequential(
        QAct(act8()), QLinear(6, 8), QSigmoid(), QLinear(8, 8),
        QSigmoid(input=FixedQuantizer(10, 5, rounding="TRN", overflow="WRAP"),
                 output=FixedQuantizer(7, 0, signed=False, rounding="RND_CONV", overflow="SAT"), table_size=64),
        QLinear(8, 5), QTanh(), QLinear(5, 5), QTanh(input=FixedQuantizer(6, 2)), QLinear(5, 4), QSoftmax(),
        QLinear(4, 4), QSoftmax(input=FixedQuantizer(10, 4, rounding="RND", overflow="SAT"),
                                output=FixedQuantizer(16, 1, signed=False, rounding="RND", overflow="SAT")))


def heterogeneous_model():
    """Per-channel and per-element (trainable) weight widths, some elements at 0 bits."""
    torch.manual_seed(3)
    m = torch.nn.Sequential(
        QAct(act8()), QLinear(8, 6, weight=FixedQuantizer(torch.tensor([[2.0], [3.0], [4.0], [6.0], [8.0], [12.0]]), 1,
                                                          rounding="RND_CONV", overflow="SAT")),
        QReLU(), QLinear(6, 4, weight=FixedQuantizer(6, 2, rounding="RND", overflow="SAT", trainable=True, shape=(4, 6))))
    with torch.no_grad():
        m[3].weight_quantizer.frac.copy_(torch.randint(-3, 9, (4, 6)).double())
    assert (m[3].weight_quantizer.width() == 0).any()
    return m


def settle_batchnorm(model, shape):
    """A few training batches so the BatchNorm statistics are not the identity."""
    model.train()
    with torch.no_grad():
        for _ in range(3):
            model(torch.randn(32, *shape) * 2 + 0.5)
    return model


def assert_bit_exact(model, shape, tmp_path, rows=2000, scale=2.0):
    path = tmp_path / "m.onnx"
    yml = export(model, torch.zeros(1, *shape), path)    # as trained: float32, maybe in training mode
    model = model.double().eval()
    assert yml == tmp_path / "m.yml" and yml.exists()
    x = np.random.default_rng(1).normal(0, scale, (rows, *shape))
    tm = tachyon.load(path, config=yml)
    got = tm.predict(x)
    with torch.no_grad():
        want = model(torch.from_numpy(x)).numpy()
    assert got.shape == want.shape
    mismatches = int((got != want).sum())
    assert mismatches == 0, f"{mismatches} of {want.size} outputs differ, max {np.abs(got - want).max()}"
    assert np.unique(want).size > 3       # the outputs vary: the comparison means something
    return tm, x


@pytest.mark.parametrize("name, make, shape", [
    ("dense", dense_model, (16,)),
    ("residual_cnn_depthwise_bn", lambda: settle_batchnorm(ResidualCnn(), (2, 6, 6)), (2, 6, 6)),
    ("concat_conv1d_narrow_accum", ConcatCnn, (3, 7)),
    ("binary", lambda: settle_batchnorm(binary_model(), (10,)), (10,)),
    ("ternary", ternary_model, (10,)),
    ("sigmoid_tanh_softmax_tables", table_model, (6,)),
    ("heterogeneous_weight_widths", heterogeneous_model, (8,)),
    ("pruned_magnitude", lambda: pruned_model(False), (2, 8)),
    ("pruned_structured", lambda: pruned_model(True), (2, 8)),
])
def test_exported_model_equals_pytorch_float64_bit_for_bit(name, make, shape, tmp_path):
    torch.manual_seed(7)
    assert_bit_exact(make(), shape, tmp_path)


def test_declared_accumulators_overflow_and_still_match(tmp_path):
    torch.manual_seed(7)
    tm, x = assert_bit_exact(ConcatCnn(), (3, 7), tmp_path, scale=4.0)
    report = tm.overflow_report(x)
    assert report["b"]["accum_overflows"] > 0      # the saturating accumulator did saturate
    assert report["fc"]["accum_overflows"] > 0     # and the wrapping one wrapped


def test_pruned_weights_are_exact_zeros_in_the_export(tmp_path):
    torch.manual_seed(7)
    m = pruned_model(False).double()
    w = m[1].quantized_weight()
    assert float((w == 0).double().mean()) == pytest.approx(0.6, abs=0.03)
    export(m, torch.zeros(1, 2, 8, dtype=torch.float64), tmp_path / "p.onnx")
    import onnx
    from onnx import numpy_helper
    inits = {t.name: numpy_helper.to_array(t) for t in onnx.load(str(tmp_path / "p.onnx")).graph.initializer}
    assert np.array_equal(inits["layer_1_weight"] == 0, (w == 0).numpy())
    s = pruned_model(True)[1].quantized_weight()
    dead = (s.reshape(6, -1) == 0).all(1)
    assert int(dead.sum()) == 4                     # round(0.6 * 6) whole filters


def test_polynomial_decay_schedule_is_tfmots():
    s = PolynomialDecay(0.1, 0.9, begin_step=100, end_step=1100, power=3, frequency=50)
    assert s.sparsity(0) == pytest.approx(0.1) and s.sparsity(1100) == pytest.approx(0.9)
    assert s.sparsity(600) == pytest.approx(0.9 + (0.1 - 0.9) * 0.5 ** 3)
    assert [s.should_update(k) for k in (99, 100, 120, 150, 1100, 1150)] == [False, True, False, True, True, False]


def test_unsupported_modules_and_functions_are_named(tmp_path):
    m = torch.nn.Sequential(QAct(act8()), torch.nn.Linear(4, 2))
    with pytest.raises(ExportError, match="module '1': module type Linear"):
        export(m, torch.zeros(1, 4), tmp_path / "u.onnx")
    with pytest.raises(ExportError, match="input must go through one QAct"):
        export(torch.nn.Sequential(QLinear(4, 2)), torch.zeros(1, 4), tmp_path / "u.onnx")

    class Tanh(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.q = QAct(act8())

        def forward(self, x):
            return torch.tanh(self.q(x))

    with pytest.raises(ExportError, match="function tanh"):
        export(Tanh(), torch.zeros(1, 4), tmp_path / "u.onnx")
    assert not (tmp_path / "u.onnx").exists() and not (tmp_path / "u.yml").exists()


def test_activation_quantisers_tachyon_cannot_read_are_refused_at_construction():
    with pytest.raises(QuantizerError, match="one type for the tensor"):
        QTanh(input=FixedQuantizer(torch.tensor([4.0, 6.0]), 2))
    with pytest.raises(QuantizerError, match="weights only"):
        QAct(TernaryQuantizer())
    with pytest.raises(QuantizerError, match="at most 32"):
        QReLU(FixedQuantizer(40, 8, signed=False))
    with pytest.raises(QuantizerError, match="accumulator"):
        QLinear(4, 2, accum=BinaryQuantizer())
    with pytest.raises(QuantizerError, match="weight: 40 bits.*at most 32"):
        QLinear(4, 2, weight=FixedQuantizer(40, 4))
    # a trainable per-tensor activation width could fall to 0 bits in training: refused now
    with pytest.raises(QuantizerError, match="min_bits >= 1"):
        QReLU(FixedQuantizer(4, 1, signed=False, trainable=True))
    with pytest.raises(QuantizerError, match="min_bits <= bits <= max_bits"):
        FixedQuantizer(8, 2, trainable=True, max_bits=6)


def test_trainable_widths_cannot_grow_beyond_what_a_layer_exports():
    w = FixedQuantizer(8, 2, trainable=True, shape=(2, 4))
    layer = QLinear(4, 2, weight=w)
    assert w.max_bits == 32
    with torch.no_grad():
        w.frac.fill_(45.0)          # as if training had pushed every width up
    assert int(w.width().max()) == 32
    relu = QReLU(FixedQuantizer(6, 2, signed=False, trainable=True, min_bits=1))
    with torch.no_grad():
        relu.quantizer.frac.fill_(40.0)
    assert int(relu.quantizer.width().max()) == 32
    assert layer(torch.ones(1, 4)).shape == (1, 2)


def test_layer_gradients_are_finite_and_training_reduces_the_loss():
    torch.manual_seed(0)
    x = torch.randn(256, 16)
    y = (x[:, :4].sum(1) > 0).long() + (x[:, 4:8].sum(1) > 0).long()
    m = dense_model()
    opt = torch.optim.Adam(m.parameters(), lr=0.01)
    losses = []
    for _ in range(60):
        loss = torch.nn.functional.cross_entropy(m(x)[:, :3], y)
        opt.zero_grad()
        loss.backward()
        for p in m.parameters():
            assert p.grad is not None and torch.isfinite(p.grad).all()
        opt.step()
        losses.append(float(loss))
    assert losses[-1] < 0.8 * losses[0]


# ---------------------------------------------------------------- resource surrogate
import json  # noqa: E402

from tachyon.qat import ConstantSparsity, EbopsMeter  # noqa: E402


def test_ebops_tracks_the_verilog_adder_bits(tmp_path):
    """The surrogate against Tachyon's own shift-add cost (adder bits of every CMVM in the
    written Verilog project) over MLPs of 3..10-bit weights, pruned or not, 4..10-bit inputs."""
    points = []
    for k, (wb, sparsity, ab) in enumerate([(3, 0, 8), (4, 0.3, 8), (5, 0, 6), (6, 0.5, 8), (8, 0, 8),
                                            (8, 0.7, 10), (10, 0.2, 8), (4, 0, 10), (6, 0, 4)]):
        torch.manual_seed(k)
        wq = lambda: FixedQuantizer(wb, 1, rounding="RND", overflow="SAT")   # noqa: E731
        m = torch.nn.Sequential(QAct(FixedQuantizer(ab, 3, rounding="RND", overflow="SAT")), QLinear(16, 16, weight=wq()),
                                QReLU(FixedQuantizer(ab, 3, False, "RND", "SAT")), QLinear(16, 8, weight=wq()))
        if sparsity:
            Pruner(m, ConstantSparsity(sparsity)).update_masks(sparsity)
        meter = EbopsMeter(m)
        m(torch.randn(512, 16) * 3)
        ebops = float(meter.ebops())
        export(m, torch.zeros(1, 16), tmp_path / f"c{k}.onnx")
        tachyon.load(tmp_path / f"c{k}.onnx", config=tmp_path / f"c{k}.yml").write_verilog(tmp_path / f"v{k}")
        project = json.loads((tmp_path / f"v{k}" / "tachyon_project.json").read_text())
        points.append((ebops, sum(a["cse_bits"] for a in project["cmvm_adders"])))
    e, bits = np.array(points).T
    assert np.corrcoef(e, bits)[0, 1] > 0.95
    assert bits.max() > 3 * bits.min()      # the models differ in cost


def test_trainable_bit_widths_trade_ebops_for_loss():
    torch.manual_seed(0)
    x = torch.randn(256, 16)
    y = (x[:, :4].sum(1) > 0).long()

    def model():
        torch.manual_seed(1)
        return torch.nn.Sequential(
            QAct(act8()), QLinear(16, 16, weight=FixedQuantizer(8, 2, rounding="RND", overflow="SAT", trainable=True,
                                                                shape=(16, 16))),
            QReLU(), QLinear(16, 2, weight=FixedQuantizer(8, 2, rounding="RND", overflow="SAT", trainable=True,
                                                          shape=(2, 16))))

    def train(beta):
        m = model()
        meter = EbopsMeter(m)
        fracs = [p for n, p in m.named_parameters() if n.endswith("frac")]
        others = [p for n, p in m.named_parameters() if not n.endswith("frac")]
        opt = torch.optim.Adam([{"params": others, "lr": 0.02}, {"params": fracs, "lr": 0.1}])
        for _ in range(60):
            loss = torch.nn.functional.cross_entropy(m(x), y) + beta * meter.ebops()
            opt.zero_grad()
            loss.backward()
            for p in m.parameters():
                assert torch.isfinite(p.grad).all()
            opt.step()
        m(x)
        return float(meter.ebops()), float((m(x).argmax(1) == y).double().mean())

    e0, acc0 = train(0.0)
    e1, acc1 = train(1e-3)
    assert e1 < 0.5 * e0           # the resource term shrank the bit widths
    assert acc0 > 0.9 and acc1 > 0.85   # and the model still learns the task


def test_explicit_quant_modes_tachyon_cannot_read_are_refused_by_node(tmp_path):
    """The ONNX reader's explicit Quant form needs power-of-two scales and known modes."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    def model(scale, rounding, overflow):
        consts = [numpy_helper.from_array(np.array(v, dtype=np.float64), n)
                  for n, v in (("s", scale), ("z", 0.0), ("b", 8.0))]
        q = helper.make_node("Quant", ["x", "s", "z", "b"], ["y"], name="act_q", domain="qonnx.custom_op.general",
                             signed=1, narrow=0, rounding_mode=rounding, overflow_mode=overflow)
        g = helper.make_graph([q], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4])], initializer=consts)
        path = tmp_path / "q.onnx"
        onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13),
                                                      helper.make_opsetid("qonnx.custom_op.general", 1)]), path)
        return path

    with pytest.raises(tachyon.TachyonError, match="act_q.*power-of-two"):
        tachyon.load(model(0.3, "AP_RND", "AP_WRAP"))
    with pytest.raises(tachyon.TachyonError, match="act_q.*rounding"):
        tachyon.load(model(0.25, "AP_HALF", "AP_SAT"))
    with pytest.raises(tachyon.TachyonError, match="act_q.*overflow"):
        tachyon.load(model(0.25, "AP_RND", "WRAP_SM"))
    x = (np.arange(-240, 240) / 16.0).reshape(-1, 4)   # exact in the default input type; ties; wraps
    got = tachyon.load(model(0.125, "AP_RND_INF", "AP_WRAP")).predict(x)
    want = _tachyon.fixed_cast(x, "ap_fixed<8,5,AP_RND_INF,AP_WRAP>")
    assert np.array_equal(got, want) and not np.array_equal(want, np.clip(x, -16, 16))


def test_exported_model_stays_bit_exact_in_hls_csim(tmp_path):
    """The HLS C simulation of an exported model (explicit modes, declared accumulators)
    equals the emulator, hence PyTorch (the Verilog rtlsim is checked in docs/qat.md)."""
    torch.manual_seed(7)
    tm, _ = assert_bit_exact(ConcatCnn(), (3, 7), tmp_path, rows=200)
    r = tm.csim(tmp_path / "hls")
    assert r["rows"] > 0 and r["mismatches"] == 0


@pytest.mark.parametrize("name, make, shape", [("concat_conv1d_narrow_accum", ConcatCnn, (3, 7)),
                                               ("heterogeneous_weight_widths", heterogeneous_model, (8,))])
def test_exported_model_stays_bit_exact_in_verilog_rtlsim(name, make, shape, tmp_path):
    """Verilator's simulation of the shift-add Verilog of an exported model (declared
    saturating/wrapping accumulators; learned per-weight widths, some weights at 0 bits)
    equals the emulator on the rows that PyTorch's float64 forward matched bit for bit."""
    torch.manual_seed(7)
    tm, x = assert_bit_exact(make(), shape, tmp_path, rows=200)
    r = tm.rtlsim(tmp_path / "v", x)
    assert r["rows"] == 200 and r["mismatches"] == 0
