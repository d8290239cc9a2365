"""Per-channel (and per-element) activation quantisers of tachyon.qat: exported as QONNX
Quant with a power-of-two scale tensor (and a bitwidth tensor when the widths differ), read
by Tachyon as a Quantize layer with one type per element. Run by ctest (`python_qat`):

    PYTHONPATH=build/python /usr/bin/python3 -m pytest python/tests/test_qat_per_channel.py
"""
import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper

import tachyon
from tachyon import _tachyon
from tachyon.qat import (ExportError, FixedQuantizer, QAct, QConv1d, QConv2d, QLinear, QReLU, QSigmoid,
                         QuantizerError, export)


def fq(bits, integer, signed=True, **kw):
    return FixedQuantizer(bits, integer, signed, rounding=kw.pop("rounding", "RND"),
                          overflow=kw.pop("overflow", "SAT"), **kw)


def t(values, shape):
    return torch.tensor(values, dtype=torch.float64).reshape(shape)


def dense_per_channel():
    """Per-channel output cast (widths and integer bits differ) and a per-channel ReLU."""
    return torch.nn.Sequential(
        QAct(fq(8, 3)),
        QLinear(8, 6, output=fq(t([4, 6, 8, 5, 10, 7], (6,)), t([2, 3, 1, 4, 2, 0], (6,)), overflow="WRAP")),
        QReLU(fq(t([3, 4, 5, 6, 7, 8], (6,)), t([1, 2, 2, 3, 1, 2], (6,)), signed=False)),
        QLinear(6, 3))


def conv2d_per_channel():
    """[N, C, H, W] with a type per channel (Tachyon stores it channels-last)."""
    return torch.nn.Sequential(
        QAct(fq(8, 3)), QConv2d(2, 4, 3, padding=1),
        QReLU(fq(t([3, 5, 7, 4], (4, 1, 1)), t([1, 2, 3, 2], (4, 1, 1)), signed=False, rounding="RND_CONV")),
        torch.nn.Flatten(), QLinear(4 * 5 * 5, 3))


def conv1d_per_element():
    """A type per element of [N, C, L] (one width for all: only a scale tensor)."""
    integer = torch.randint(0, 4, (3, 6)).double()
    return torch.nn.Sequential(
        QAct(fq(8, 3)), QConv1d(2, 3, 3, padding=1), QAct(fq(7, integer, rounding="TRN", overflow="SAT_SYM")),
        torch.nn.Flatten(), QLinear(18, 2))


def trainable_per_channel():
    """HGQ-style trainable activation widths, moved away from their start."""
    relu_q = FixedQuantizer(6, 2, signed=False, rounding="RND", overflow="SAT", trainable=True, shape=(5,),
                            min_bits=1)
    with torch.no_grad():
        relu_q.frac.copy_(torch.tensor([1.0, 6.0, 3.0, -1.0, 9.0]))
    return torch.nn.Sequential(QAct(fq(8, 3)), QLinear(8, 5), QReLU(relu_q), QLinear(5, 2))


@pytest.mark.parametrize("make, shape", [(dense_per_channel, (8,)), (conv2d_per_channel, (2, 5, 5)),
                                         (conv1d_per_element, (2, 6)), (trainable_per_channel, (8,))])
def test_per_channel_activation_quantisers_equal_pytorch_bit_for_bit(make, shape, tmp_path):
    torch.manual_seed(11)
    model = make()
    path = tmp_path / "pc.onnx"
    yml = export(model, torch.zeros(1, *shape), path)
    quants = [n for n in onnx.load(path).graph.node if n.op_type == "Quant"]
    scales = {i.name: numpy_helper.to_array(i) for i in onnx.load(path).graph.initializer}
    assert any(scales[n.input[1]].size > 1 for n in quants)      # really a per-channel Quant
    x = np.random.default_rng(2).normal(0, 2, (1000, *shape))
    got = tachyon.load(path, config=yml).predict(x)
    with torch.no_grad():
        want = model.double().eval()(torch.from_numpy(x)).numpy()
    assert int((got != want).sum()) == 0, f"max difference {np.abs(got - want).max()}"
    assert np.unique(want).size > 50


def test_a_per_channel_cast_is_each_channels_own_type(tmp_path):
    """The Quantize layer alone, against FixedType per channel."""
    q = fq(t([4, 6, 9], (3,)), t([1, 3, 2], (3,)), rounding="RND_INF", overflow="WRAP")
    model = torch.nn.Sequential(QAct(fq(12, 5)), QAct(q))
    export(model, torch.zeros(1, 3), tmp_path / "q.onnx")
    x = np.random.default_rng(3).normal(0, 4, (2000, 3))
    got = tachyon.load(tmp_path / "q.onnx", config=tmp_path / "q.yml").predict(x)
    xin = _tachyon.fixed_cast(x, "ap_fixed<12,5,AP_RND,AP_SAT>")
    for c, name in enumerate(["ap_fixed<4,1,AP_RND_INF,AP_WRAP>", "ap_fixed<6,3,AP_RND_INF,AP_WRAP>",
                              "ap_fixed<9,2,AP_RND_INF,AP_WRAP>"]):
        assert np.array_equal(got[:, c], _tachyon.fixed_cast(xin[:, c], name)), name


def test_per_channel_types_tachyon_cannot_read_are_refused(tmp_path):
    with pytest.raises(QuantizerError, match="one type for the tensor"):
        QSigmoid(input=fq(t([4, 6], (2,)), 2))
    with pytest.raises(QuantizerError, match="min_bits >= 1"):
        QAct(FixedQuantizer(6, 2, trainable=True, shape=(4,)))
    with pytest.raises(ExportError, match="input must go through one QAct"):
        export(torch.nn.Sequential(QAct(fq(t([4, 6], (2,)), 2)), QLinear(2, 1)), torch.zeros(1, 2),
               tmp_path / "u.onnx")

    def quant_model(scale, bitwidth, rounding, **overflow):
        consts = [numpy_helper.from_array(np.array(v, dtype=np.float64), n)
                  for n, v in (("s", scale), ("z", 0.0), ("b", bitwidth))]
        q = helper.make_node("Quant", ["x", "s", "z", "b"], ["y"], name="act_q", domain="qonnx.custom_op.general",
                             signed=1, narrow=0, rounding_mode=rounding, **overflow)
        g = helper.make_graph([q], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4])], initializer=consts)
        path = tmp_path / "q.onnx"
        onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13),
                                                      helper.make_opsetid("qonnx.custom_op.general", 1)]), path)
        return path

    with pytest.raises(tachyon.TachyonError, match="act_q.*does not broadcast"):
        tachyon.load(quant_model([0.25, 0.5, 0.125], 8.0, "AP_RND", overflow_mode="AP_SAT"))
    with pytest.raises(tachyon.TachyonError, match="act_q.*power-of-two"):
        tachyon.load(quant_model([0.25, 0.5, 0.3, 1.0], 8.0, "AP_RND", overflow_mode="AP_SAT"))
    with pytest.raises(tachyon.TachyonError, match="act_q.*bitwidth per channel needs an ap_fixed"):
        tachyon.load(quant_model(0.25, [8.0, 6.0, 4.0, 8.0], "ROUND"))
    ok = tachyon.load(quant_model([0.25, 0.5, 0.125, 1.0], [8.0, 6.0, 4.0, 3.0], "AP_RND", overflow_mode="AP_SAT"))
    assert ok.predict(np.full((1, 4), 1.3)).tolist() == [[1.25, 1.5, 0.875, 1.0]]


def test_per_channel_quantisers_stay_bit_exact_in_hls_csim(tmp_path):
    """HLS C simulation of the channels-last per-channel ReLU equals the emulator, hence
    PyTorch (Verilator's rtlsim agreed too, by hand: docs/qat.md)."""
    torch.manual_seed(11)
    export(conv2d_per_channel(), torch.zeros(1, 2, 5, 5), tmp_path / "pc.onnx")
    r = tachyon.load(tmp_path / "pc.onnx", config=tmp_path / "pc.yml").csim(tmp_path / "hls")
    assert r["rows"] > 0 and r["mismatches"] == 0
