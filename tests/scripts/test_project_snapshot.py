"""scripts/project_snapshot.py: snapshots of converted projects and their comparison.

Runs the real `tachyon convert` (TACHYON_CLI) on one small fixture, so it takes a second."""
import json
import os
import pathlib
import shutil
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "project_snapshot.py"
CLI = os.environ.get("TACHYON_CLI", str(ROOT / "build" / "tachyon"))
FIXTURES = pathlib.Path(os.environ.get("TACHYON_FIXTURES", str(ROOT / "build" / "fixtures")))
MODEL = "dense_relu.onnx"


def run(*args):
    return subprocess.run(["/usr/bin/python3", str(SCRIPT), *map(str, args)], capture_output=True, text=True)


def snapshot(tmp, name, model_dir):
    out = tmp / name
    done = run(out, "--tachyon", CLI, "--fixtures", model_dir, "--models", tmp / "no_zoo")
    assert done.returncode == 0, done.stderr
    return out


@pytest.fixture
def models(tmp_path):
    if not (FIXTURES / MODEL).exists():
        pytest.skip("fixtures not made (ctest -R make_fixtures)")
    dirs = []
    for name in ("a_models", "elsewhere/b_models"):
        d = tmp_path / name
        d.mkdir(parents=True)
        shutil.copy(FIXTURES / MODEL, d / MODEL)
        dirs.append(d)
    return dirs


def test_snapshot_lists_every_backend_and_io_type(tmp_path, models):
    out = snapshot(tmp_path, "snap", models[0])
    manifest = json.loads((out / "manifest.json").read_text())
    for project in ("hls-io_parallel", "hls-io_stream", "verilog-io_parallel", "verilog-io_stream"):
        files = [k for k in manifest if k.startswith(f"fixtures/{MODEL}/{project}/")]
        assert f"fixtures/{MODEL}/{project}/tachyon_project.json" in files, project
    assert all(len(h) == 64 for h in manifest.values())


def test_same_model_in_two_folders_compares_identical(tmp_path, models):
    # tachyon_source.json records absolute paths; the snapshot must not depend on them.
    a = snapshot(tmp_path, "snap_a", models[0])
    b = snapshot(tmp_path, "snap_b", models[1])
    done = run("--compare", a, b)
    assert done.returncode == 0, done.stdout
    assert " 0 differ, 0 only in A, 0 only in B" in done.stdout


def test_compare_names_changed_missing_and_new_files(tmp_path, models):
    a = snapshot(tmp_path, "snap_a", models[0])
    b = tmp_path / "snap_b"
    b.mkdir()
    manifest = json.loads((a / "manifest.json").read_text())
    changed, removed = sorted(manifest)[:2]
    manifest[changed] = "0" * 64
    del manifest[removed]
    manifest["fixtures/new.onnx/hls-io_parallel/x.h"] = "1" * 64
    (b / "manifest.json").write_text(json.dumps(manifest))
    done = run("--compare", a, b)
    assert done.returncode == 1
    assert f"differs   {changed}" in done.stdout
    assert f"only in A {removed}" in done.stdout
    assert "only in B fixtures/new.onnx/hls-io_parallel/x.h" in done.stdout


def test_refuses_a_non_empty_output_folder(tmp_path, models):
    out = tmp_path / "full"
    out.mkdir()
    (out / "keep.txt").write_text("a user's file")
    done = run(out, "--tachyon", CLI, "--fixtures", models[0])
    assert done.returncode != 0 and "not empty" in done.stderr
    assert (out / "keep.txt").read_text() == "a user's file"
