"""tachyon.qat's QLSTM / QGRU against Tachyon's recurrent kernel. Run by ctest (`python_qat`):

    PYTHONPATH=build/python /usr/bin/python3 -m pytest python/tests/test_qat_recurrent.py

Each model is exported and loaded with `tachyon.load`; the emulator's fixed-point outputs
must equal `model.double().eval()(x)` bit for bit.
"""
import warnings

import numpy as np
import pytest
import torch

import tachyon
from tachyon.qat import FixedQuantizer, QAct, QGRU, QLinear, QLSTM, QuantizerError, TernaryQuantizer, export


def fq(bits, integer, rounding="RND", overflow="SAT"):
    return FixedQuantizer(bits, integer, rounding=rounding, overflow=overflow)


def per_channel_weight(gates, units):
    """A different width per gate row (3..8 bits)."""
    return FixedQuantizer(torch.randint(3, 9, (gates * units, 1)).double(), 1, rounding="RND", overflow="SAT")


# Types exercising each path of the kernel: the default per-product casts (products finer
# than A), an accumulator holding every product (the exact-sum path), saturating and
# wrapping narrow types that overflow, per-channel weights and a small table.
VARIANTS = {
    "default": lambda g: {},
    "wide_accum_exact_sum": lambda g: dict(accum=fq(26, 6)),
    "narrow_saturating": lambda g: dict(accum=fq(10, 2), state=fq(8, 2)),
    "narrow_wrapping_trn": lambda g: dict(accum=fq(10, 2, "TRN", "WRAP"), state=fq(9, 2, "RND_CONV", "WRAP")),
    "per_channel_weights_small_table": lambda g: dict(weight=per_channel_weight(g, 5), table=fq(10, 2),
                                                      table_size=64),
}


def recurrent_model(cls, variant, sequences=False):
    layer = cls(3, 5, return_sequences=sequences, **VARIANTS[variant](cls.gates))
    body = [layer, QLSTM(5, 4, accum=fq(16, 5))] if sequences else [layer]
    return torch.nn.Sequential(QAct(fq(10, 3)), *body, QLinear(4 if sequences else 5, 2))


def exported_outputs(model, tmp_path, rows=300, steps=6):
    path = tmp_path / "rnn.onnx"
    yml = export(model, torch.zeros(1, steps, 3), path)
    x = np.random.default_rng(1).normal(0, 2, (rows, steps, 3))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got = tachyon.load(path, config=yml).predict(x)
    with torch.no_grad():
        want = model.double().eval()(torch.from_numpy(x)).numpy()
    return got, want, [str(w.message) for w in caught]


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("cls", [QLSTM, QGRU])
def test_recurrent_layers_equal_the_emulator_bit_for_bit(cls, variant, tmp_path):
    torch.manual_seed(5)
    got, want, warned = exported_outputs(recurrent_model(cls, variant), tmp_path)
    assert got.shape == want.shape == (300, 2)
    mismatches = int((got != want).sum())
    assert mismatches == 0, f"{mismatches} of {want.size} differ, max {np.abs(got - want).max()}"
    assert np.unique(want).size > 100               # the outputs vary: the comparison means something
    if variant.startswith("narrow"):                # the narrow types did overflow, and still match
        assert any("'layer_1'" in w and "saturated or wrapped" in w for w in warned), warned


@pytest.mark.parametrize("cls", [QLSTM, QGRU])
def test_returned_sequences_feed_a_second_recurrent_layer(cls, tmp_path):
    torch.manual_seed(6)
    got, want, _ = exported_outputs(recurrent_model(cls, "default", sequences=True), tmp_path)
    assert np.array_equal(got, want) and np.unique(want).size > 100


def test_recurrent_training_reduces_the_loss_with_finite_gradients():
    """Which half of a sequence has the larger sum: an LSTM learns it."""
    torch.manual_seed(0)
    x = torch.randn(256, 8, 2)
    y = (x[:, :4].sum((1, 2)) > x[:, 4:].sum((1, 2))).long()
    model = torch.nn.Sequential(QAct(fq(10, 3)), QLSTM(2, 8), QLinear(8, 2))
    opt = torch.optim.Adam(model.parameters(), lr=0.02)
    losses = []
    for _ in range(40):
        loss = torch.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        grads = [p.grad for p in model.parameters() if p.grad is not None]
        assert grads and all(torch.isfinite(g).all() for g in grads)
        assert any(g.abs().sum() > 0 for g in grads[:4])    # the recurrent weights learn
        opt.step()
        losses.append(float(loss))
    assert losses[-1] < 0.8 * losses[0], losses


def test_recurrent_types_float64_cannot_hold_are_refused_at_construction():
    with pytest.raises(QuantizerError, match="more than float64's 53"):
        QLSTM(2, 3, accum=fq(30, 6))
    with pytest.raises(QuantizerError, match="more than float64's 53"):
        QGRU(2, 3, input=fq(30, 4), weight=fq(30, 2))
    with pytest.raises(QuantizerError, match="FixedQuantizer weights"):
        QLSTM(2, 3, weight=TernaryQuantizer())
    with pytest.raises(QuantizerError, match=r"takes \[N, steps, 2\]"):
        QGRU(2, 3)(torch.zeros(4, 2))


def test_exported_recurrent_model_stays_bit_exact_in_hls_csim(tmp_path):
    """HLS C simulation of the exported LSTM (narrow, saturating types) equals the emulator,
    hence PyTorch."""
    torch.manual_seed(5)
    model = recurrent_model(QLSTM, "narrow_saturating")
    export(model, torch.zeros(1, 6, 3), tmp_path / "rnn.onnx")
    r = tachyon.load(tmp_path / "rnn.onnx", config=tmp_path / "rnn.yml").csim(tmp_path / "hls")
    assert r["rows"] > 0 and r["mismatches"] == 0
