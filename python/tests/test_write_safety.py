"""Issue 27's data-loss reproducers through the Python API: write_hls / write_verilog keep
the CLI's output rules (src/util/AtomicOutput): never a foreign folder, the model's own
folder, `.`, `..`, `~` or a symlink to a user's folder; an earlier project only with
force=True; ProjectName never a path. Errors are TachyonError, never a raw RuntimeError."""
import os
import shutil

import pytest

import tachyon

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("TACHYON_BINARY_DIR", os.path.join(ROOT, "build"))
JET = os.path.join(BUILD, "cli_test", "jet_tagger.onnx")

pytestmark = pytest.mark.skipif(not os.path.exists(JET), reason="examples/make_jet_tagger.py build/cli_test not run")


@pytest.fixture
def model_dir(tmp_path):
    d = tmp_path / "models"
    d.mkdir()
    shutil.copy(JET, d / "m.onnx")
    return d


def user_folder(path):
    path.mkdir()
    (path / "thesis.tex").write_text("years of work")
    return path


def refused(write, directory, needle):
    with pytest.raises(tachyon.TachyonError, match=needle):
        write(directory)


@pytest.mark.parametrize("backend", ["write_hls", "write_verilog"])
def test_folders_that_are_not_tachyons_are_never_replaced(model_dir, tmp_path, monkeypatch, backend):
    m = tachyon.load(str(model_dir / "m.onnx"))
    write = getattr(m, backend)
    precious = user_folder(tmp_path / "precious")
    os.symlink(precious, tmp_path / "link")
    refused(write, precious, "Tachyon did not write")
    refused(lambda d: write(d, force=True), precious, "Tachyon did not write")
    refused(lambda d: write(d, force=True), tmp_path / "link", "Tachyon did not write")
    refused(lambda d: write(d, force=True), model_dir, "holds the model")
    monkeypatch.chdir(precious)
    refused(lambda d: write(d, force=True), ".", "current folder")
    refused(lambda d: write(d, force=True), "..", "current folder")
    refused(lambda d: write(d, force=True), "~", "only a shell expands")
    assert (precious / "thesis.tex").read_text() == "years of work"
    assert (model_dir / "m.onnx").exists()
    assert not (precious / "~").exists()


def test_an_earlier_project_is_replaced_only_with_force(model_dir, tmp_path):
    m = tachyon.load(str(model_dir / "m.onnx"))
    m.write_hls(tmp_path / "prj")
    (tmp_path / "prj" / "stale.txt").write_text("old")
    refused(m.write_verilog, tmp_path / "prj", "force")
    assert (tmp_path / "prj" / "stale.txt").exists()
    m.write_verilog(tmp_path / "prj", force=True)
    assert not (tmp_path / "prj" / "stale.txt").exists()
    assert '"verilog"' in (tmp_path / "prj" / "tachyon_project.json").read_text()
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".tmp-")]


def test_project_name_is_never_a_path(model_dir, tmp_path):
    cfg = tachyon.config_from_model(str(model_dir / "m.onnx"))
    cfg["ProjectName"] = "../../INJECTED"
    m = tachyon.load(str(model_dir / "m.onnx"), cfg)
    for write in (m.write_hls, m.write_verilog):
        refused(write, tmp_path / "evil", "ProjectName")
    assert not (tmp_path / "evil").exists()
    assert not [p for p in os.listdir(tmp_path.parent) if p.startswith("INJECTED")]
