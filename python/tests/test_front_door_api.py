"""Issue #27's last front-door items from Python: `tachyon convert` and `Model.write_hls` /
`write_verilog` are one code path (the same project, file for file), csim/rtlsim take the
user's rows (hls4ml's InputData), and errors raised in Python are capped at 2 KB like the
CLI's."""
import filecmp
import os
import subprocess

import numpy as np
import pytest

import tachyon

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("TACHYON_BINARY_DIR", os.path.join(ROOT, "build"))
CLI = os.environ.get("TACHYON_CLI", os.path.join(BUILD, "tachyon"))
JET = os.path.join(BUILD, "cli_test", "jet_tagger.onnx")
JET_X = os.path.join(BUILD, "cli_test", "jet_tagger_X.npy")
MAX_MESSAGE = 2048 + 64   # 2 KB of the message kept, plus the "[... N characters elided ...]" marker

need_jet = pytest.mark.skipif(not os.path.exists(JET), reason="examples/make_jet_tagger.py build/cli_test not run")


def files(folder):
    return sorted(os.path.relpath(os.path.join(d, f), folder) for d, _, fs in os.walk(folder) for f in fs)


def same_tree(a, b):
    assert files(a) == files(b)
    _, differ, errors = filecmp.cmpfiles(a, b, files(a), shallow=False)
    assert not differ and not errors, (differ, errors)


@need_jet
@pytest.mark.parametrize("backend", ["hls", "verilog"])
def test_convert_and_write_are_one_code_path(tmp_path, backend):
    cfg = tmp_path / "cfg.yml"
    cfg.write_text("Model:\n  Precision: ap_fixed<12,5>\n  ReuseFactor: 1\nProjectName: jets\n")
    r = subprocess.run([CLI, "convert", JET, "-c", str(cfg), "-b", backend, "-o", str(tmp_path / "cli")],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    m = tachyon.load(JET, config=str(cfg))
    getattr(m, "write_" + backend)(str(tmp_path / "py"))
    same_tree(tmp_path / "cli", tmp_path / "py")
    # Both refuse the same way: an earlier project needs --force / force=True.
    r = subprocess.run([CLI, "convert", JET, "-c", str(cfg), "-b", backend, "-o", str(tmp_path / "py")],
                       capture_output=True, text=True)
    assert r.returncode == 1 and "--force" in r.stderr
    with pytest.raises(tachyon.TachyonError, match="force"):
        getattr(m, "write_" + backend)(str(tmp_path / "cli"))


@need_jet
def test_csim_on_the_users_rows(tmp_path):
    x = np.load(JET_X)[:5] * 3
    m = tachyon.load(JET)
    m.write_hls(str(tmp_path / "prj"))
    assert tachyon.csim(str(tmp_path / "prj"), x) == {"rows": 5, "mismatches": 0}
    assert m.csim(str(tmp_path / "prj"), x.reshape(5, -1).astype(np.float32)) == {"rows": 5, "mismatches": 0}
    with pytest.raises(TypeError, match="dtype"):
        tachyon.csim(str(tmp_path / "prj"), np.array([["a"] * 16]))
    with pytest.raises(ValueError, match="rows"):
        tachyon.csim(str(tmp_path / "prj"), np.zeros((0, 16)))
    with pytest.raises(tachyon.TachyonError, match="columns"):
        tachyon.csim(str(tmp_path / "prj"), np.zeros((3, 5)))


def test_errors_raised_in_python_are_capped(tmp_path):
    # From the library: a 6 MB unterminated JSON string, quoted by the parser's message.
    big = tmp_path / "xgb.json"
    big.write_text('{"learner": "' + "x" * (6 << 20))
    with pytest.raises(tachyon.TachyonError) as e:
        tachyon.load(str(big))
    assert len(str(e.value)) <= MAX_MESSAGE and "elided" in str(e.value) and "xgb.json" in str(e.value)
    # From the Python layer itself: a torch export whose own error is 100 KB.
    torch = pytest.importorskip("torch")

    class Loud(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = torch.nn.Linear(4, 2)

        def forward(self, x):
            raise RuntimeError("y" * 100000)

    with pytest.raises(tachyon.TachyonError) as e:
        tachyon.load(Loud(), input_shape=(4,))
    assert len(str(e.value)) <= MAX_MESSAGE and "elided" in str(e.value) and "torch.onnx.export" in str(e.value)
