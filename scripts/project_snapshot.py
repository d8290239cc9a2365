#!/usr/bin/python3
"""Snapshot of every project `tachyon convert` writes for the project's models.

    scripts/project_snapshot.py OUTDIR [--tachyon BIN] [--fixtures DIR] [--models DIR] [--jobs N]
    scripts/project_snapshot.py --compare A B

The first form converts each model it finds (the project's own test fixtures, made by the
scripts/make_*_fixtures.py scripts into build/fixtures, and the zoo models in
../shared/models, when present) with the HLS and the Verilog backend, each in io_parallel and
io_stream, into OUTDIR/projects/, and writes OUTDIR/manifest.json: the sha256 of every
generated file. A conversion Tachyon refuses is recorded too, as the sha256 of its error
message, so a refusal that changes wording or turns into a project shows up as well.

The second form compares two snapshots and lists the files that differ or exist in only one;
it exits with status 1 when there is any difference. A refactoring that should not change
what Tachyon writes is proven by a snapshot before, one after, and an empty comparison
(docs/ir.md, "Proving a refactoring byte-identical").

Paths of the model files are written relative to the models' folder (the conversion runs
there), so snapshots taken from two checkouts compare equal when their output is.
"""
import argparse
import concurrent.futures
import hashlib
import json
import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
BACKENDS = ("hls", "verilog")
IO_TYPES = ("io_parallel", "io_stream")
MODEL_SUFFIXES = (".onnx", ".json", ".keras", ".xml", ".h5")
# Files beside a model that are its data, not a model: weights, references, refused inputs.
NOT_MODELS = ("_weights.h5", "_refused", "bad_", "_bad")


def is_model(path):
    name = path.name
    if not name.endswith(MODEL_SUFFIXES):
        return False
    return not any(marker in name for marker in NOT_MODELS)


def find_models(roots):
    """(label, folder, file name) of each model under the given (label, folder) roots."""
    models = []
    for label, folder in roots:
        folder = pathlib.Path(folder)
        if not folder.is_dir():
            print(f"project_snapshot: skipping {folder} (absent)", file=sys.stderr)
            continue
        for path in sorted(folder.rglob("*")):
            if path.is_file() and is_model(path):
                rel = path.relative_to(folder)
                models.append((label + "/" + rel.as_posix(), path.parent, path.name))
    return models


def sha256_bytes(data):
    return hashlib.sha256(data).hexdigest()


def sha256_normalised(path, local_paths):
    """sha256 of a file with this run's own paths (config, project, model folder) replaced by
    placeholders: tachyon_source.json records them, and they differ between checkouts."""
    data = path.read_bytes()
    for local, placeholder in local_paths:
        data = data.replace(local.encode(), placeholder)
    return sha256_bytes(data)


def convert(tachyon, model, backend, io_type, project):
    """Runs one conversion; returns {relative file: sha256} of what it wrote, or of its refusal."""
    label, folder, name = model
    project.parent.mkdir(parents=True, exist_ok=True)
    config = project.parent / (project.name + ".yml")
    config.write_text(f"IOType: {io_type}\n")
    cmd = [tachyon, "convert", name, "-c", str(config), "-o", str(project), "--backend", backend]
    done = subprocess.run(cmd, cwd=folder, capture_output=True, timeout=600)
    key = f"{label}/{backend}-{io_type}"
    local_paths = [(str(config), b"CONFIG"), (str(project), b"PROJECT"), (str(folder), b"MODELDIR")]
    if done.returncode != 0:
        message = done.stderr
        for local, placeholder in local_paths:
            message = message.replace(local.encode(), placeholder)
        return {key + "/!refused": sha256_bytes(message)}
    files = {}
    for path in sorted(project.rglob("*")):
        if path.is_file():
            files[key + "/" + path.relative_to(project).as_posix()] = sha256_normalised(path, local_paths)
    return files


def snapshot(args):
    out = pathlib.Path(args.outdir).resolve()
    if out.exists() and any(out.iterdir()):
        sys.exit(f"project_snapshot: {out} exists and is not empty")
    tachyon = str(pathlib.Path(args.tachyon).resolve())
    if not os.access(tachyon, os.X_OK):
        sys.exit(f"project_snapshot: {tachyon}: not an executable (build the tachyon target)")
    models = find_models([("fixtures", args.fixtures), ("zoo", args.models)])
    if not models:
        sys.exit("project_snapshot: no models found (make the fixtures: ctest -R make_fixtures)")
    jobs = [(m, b, io) for m in models for b in BACKENDS for io in IO_TYPES]
    manifest = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = [pool.submit(convert, tachyon, m, b, io, out / "projects" / m[0] / f"{b}-{io}")
                   for m, b, io in jobs]
        for f in futures:
            manifest.update(f.result())
    manifest = dict(sorted(manifest.items()))
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    refused = sum(1 for k in manifest if k.endswith("/!refused"))
    print(f"project_snapshot: {len(models)} models, {len(jobs)} conversions ({refused} refused), "
          f"{len(manifest) - refused} files -> {out / 'manifest.json'}")


def load_manifest(folder):
    path = pathlib.Path(folder) / "manifest.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as e:
        sys.exit(f"project_snapshot: {path}: {e}")


def compare(a, b):
    ma, mb = load_manifest(a), load_manifest(b)
    differ = sorted(k for k in ma.keys() & mb.keys() if ma[k] != mb[k])
    only_a = sorted(ma.keys() - mb.keys())
    only_b = sorted(mb.keys() - ma.keys())
    for k in differ:
        print("differs  ", k)
    for k in only_a:
        print("only in A", k)
    for k in only_b:
        print("only in B", k)
    same = len(ma.keys() & mb.keys()) - len(differ)
    print(f"project_snapshot: {same} identical, {len(differ)} differ, {len(only_a)} only in A, "
          f"{len(only_b)} only in B")
    return 1 if differ or only_a or only_b else 0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("outdir", nargs="?", help="empty or new folder for the snapshot")
    p.add_argument("--compare", nargs=2, metavar=("A", "B"), help="compare two snapshot folders")
    p.add_argument("--tachyon", default=str(ROOT / "build" / "tachyon"), help="the tachyon binary")
    p.add_argument("--fixtures", default=str(ROOT / "build" / "fixtures"), help="the test fixtures folder")
    p.add_argument("--models", default=str(ROOT.parent / "shared" / "models"), help="the zoo models folder")
    p.add_argument("--jobs", type=int, default=2, help="conversions run at once")
    args = p.parse_args()
    if args.compare:
        sys.exit(compare(*args.compare))
    if not args.outdir:
        p.error("give OUTDIR or --compare A B")
    snapshot(args)


if __name__ == "__main__":
    main()
