"""ONNX ReduceSum / ReduceMean / ReduceMax over an inner axis and over the last one, and Pow,
read as Reduce and Pow layers (docs/semantics.md, "Reduce and Pow"): float mode equals torch,
the fixed-point HLS C simulation equals the emulator, and a reduction over two axes is
refused naming the node."""
import os
import subprocess

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("TACHYON_BINARY_DIR", os.path.join(ROOT, "build"))
CLI = os.environ.get("TACHYON_CLI", os.path.join(BUILD, "tachyon"))


def cli(*args):
    return subprocess.run([CLI, *map(str, args)], capture_output=True, text=True)


def test_reductions_over_any_axis_float_and_hls(tmp_path):
    torch = pytest.importorskip("torch")

    class Reductions(torch.nn.Module):
        def forward(self, x):
            v = x.view(-1, 3, 4)
            return torch.cat([v.sum(1), v.amax(-1), v.mean(1), (v ** 2).mean(-1)], -1)

    class TwoAxes(torch.nn.Module):
        def forward(self, x):
            return x.view(-1, 3, 4).sum((1, 2))

    m = Reductions().eval()
    torch.onnx.export(m, torch.zeros(1, 12), str(tmp_path / "r.onnx"), input_names=["x"])
    torch.onnx.export(TwoAxes().eval(), torch.zeros(1, 12), str(tmp_path / "two.onnx"), input_names=["x"])
    x = np.random.default_rng(3).normal(0, 1.5, (300, 12))
    np.save(tmp_path / "x.npy", x)
    with torch.no_grad():
        want = m.double()(torch.tensor(x)).numpy()

    r = cli("info", tmp_path / "r.onnx")
    assert r.returncode == 0, r.stderr
    for layer in ("Reduce sum axis=0", "Reduce max axis=1", "Reduce mean axis=0", "Reduce mean axis=1",
                  "Pow exponent=2"):
        assert layer in r.stdout, r.stdout
    out = tmp_path / "y.npy"
    r = cli("predict", tmp_path / "r.onnx", "-i", tmp_path / "x.npy", "-o", out, "--float", "--force")
    assert r.returncode == 0, r.stderr
    np.testing.assert_allclose(np.load(out).reshape(want.shape), want, rtol=1e-9, atol=1e-12)

    # Fixed point: narrow types (the 3-value mean uses the reciprocal type).
    (tmp_path / "c.yml").write_text("Model:\n  Precision: ap_fixed<10,4,AP_RND,AP_SAT>\n")
    r = cli("convert", tmp_path / "r.onnx", "-c", tmp_path / "c.yml", "-b", "hls", "-o", tmp_path / "hls")
    assert r.returncode == 0, r.stderr
    r = cli("csim", tmp_path / "hls")
    assert r.returncode == 0 and "0 mismatches" in r.stdout + r.stderr, r.stdout + r.stderr

    r = cli("info", tmp_path / "two.onnx")
    assert r.returncode == 1 and "(ReduceSum): only a reduction over one axis is supported" in r.stderr, r.stderr
