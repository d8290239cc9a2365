"""`tachyon trigger` against independent numpy computations (docs/trigger.md).

The models' outputs come from `tachyon predict` (fixed point) and `tachyon predict --float`,
run separately; rates, thresholds, efficiencies, AUCs, flips, pure rates and overlaps are
then recomputed here in numpy and compared with summary.json. Small torch models are made
once per module (a few seconds). Run by ctest (test `python_api`).
"""
import json
import os
import re
import shutil
import subprocess

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("TACHYON_BINARY_DIR", os.path.join(ROOT, "build"))
CLI = os.environ.get("TACHYON_CLI", os.path.join(BUILD, "tachyon"))
LHC_HZ = 11245.6


def cli(*args):
    return subprocess.run([CLI, *map(str, args)], capture_output=True, text=True)


def predict(model, x_path, tmp, floating, cfg=None, trace=None):
    out = os.path.join(tmp, f"pred_{os.path.basename(model)}_{os.path.basename(x_path)}_{floating}.npy")
    args = ["predict", model, "-i", x_path, "-o", out, "--force"]
    if cfg:
        args += ["-c", cfg]
    if floating:
        args.append("--float")
    if trace:
        args += ["--trace", trace]
    r = cli(*args)
    assert r.returncode == 0, r.stderr
    return np.load(out)


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    import torch
    torch.manual_seed(3)
    d = tmp_path_factory.mktemp("trigger_models")
    clf = torch.nn.Sequential(torch.nn.Linear(6, 12), torch.nn.ReLU(), torch.nn.Linear(12, 4))
    ae = torch.nn.Sequential(torch.nn.Linear(6, 3), torch.nn.ReLU(), torch.nn.Linear(3, 6))
    for name, m in (("clf", clf), ("ae", ae)):
        torch.onnx.export(m.eval(), torch.zeros(1, 6), str(d / f"{name}.onnx"), input_names=["input"])
    # A narrow type, so that fixed point and float disagree on some decisions.
    (d / "narrow.yml").write_text("Model:\n  Precision: ap_fixed<10,4>\n")
    rng = np.random.default_rng(7)
    bg = rng.normal(0, 1, (6000, 7))
    bg[:, 6] = rng.integers(0, 10, 6000)   # a discrete column: plateaus and ties
    sig = rng.normal(0.6, 1.2, (2500, 7))
    sig[:, 6] = rng.integers(3, 10, 2500)
    np.save(d / "bg.npy", bg)
    np.save(d / "sig.npy", sig)
    # The model inputs alone, for `tachyon predict`.
    np.save(d / "bg_in.npy", bg[:, :6])
    np.save(d / "sig_in.npy", sig[:, :6])
    return d


def write_menu(d, text, name="menu.yml"):
    p = d / name
    p.write_text(text)
    return p


MENU = """bunches: 2000
columns: [a, b, c, d, e, f, n]
algorithms:
  - name: cls
    model: clf.onnx
    config: narrow.yml
    score: "1 - out[3]"
    inputs: "0:6"
  - name: top
    model: clf.onnx
    score: "max(out[0:3])"
    inputs: "0:6"
    cuts: ["n >= 2"]
  - name: ad
    model: ae.onnx
    score: "mse(input, output)"
    inputs: "0:6"
"""


def run_study(d, menu, out, *extra):
    plots = "--plots" in extra
    extra = [e for e in extra if e != "--plots"]
    return cli("trigger", menu, "--background", d / "bg.npy", "--signal", f"sig={d / 'sig.npy'}", "-o", out,
               "-q", *([] if plots else ["--no-plots"]), *extra)


def ref_threshold(scores, scale, target):
    """The lowest threshold with rate <= target, by brute force over every candidate."""
    n = len(scores)
    cands = np.unique(scores)
    ok = [t for t in cands if np.sum(scores > t) * scale / n <= target]
    # Events failing the cuts score -inf; JSON has no -inf: the lowest double stands for it.
    return max(min(ok), np.finfo(np.float64).min)


def reference_scores(d, tmp):
    """Per algorithm (fixed, float) scores of bg and sig, from separate predict runs."""
    bg, sig = np.load(d / "bg.npy"), np.load(d / "sig.npy")
    out = {}
    for sample, rows, x in (("bg", bg, d / "bg_in.npy"), ("sig", sig, d / "sig_in.npy")):
        yq = predict(d / "clf.onnx", x, tmp, False, d / "narrow.yml")
        yf = predict(d / "clf.onnx", x, tmp, True, d / "narrow.yml")
        out[("cls", sample)] = (1 - yq[:, 3], 1 - yf[:, 3])
        zq = predict(d / "clf.onnx", x, tmp, False)
        zf = predict(d / "clf.onnx", x, tmp, True)
        keep = rows[:, 6] >= 2
        out[("top", sample)] = (np.where(keep, zq[:, :3].max(1), -np.inf), np.where(keep, zf[:, :3].max(1), -np.inf))
        trace = os.path.join(tmp, f"trace_{sample}")
        aq = predict(d / "ae.onnx", x, tmp, False, trace=trace)
        af = predict(d / "ae.onnx", x, tmp, True)
        qin = np.load(os.path.join(trace, "input.npy"))   # the input as the firmware sees it
        out[("ad", sample)] = (((qin - aq) ** 2).mean(1), ((rows[:, :6] - af) ** 2).mean(1))
    return out


def test_study_matches_numpy(models, tmp_path):
    d = models
    menu = write_menu(d, MENU)
    target = 20e6   # Hz: a few percent of 2000 x 11245.6 Hz
    r = run_study(d, menu, tmp_path / "out", "--target-rate", "20MHz", "--plots")
    assert r.returncode == 0, r.stderr
    s = json.loads((tmp_path / "out" / "summary.json").read_text())
    ref = reference_scores(d, str(tmp_path))
    scale = 2000 * LHC_HZ
    n = 6000
    fired = {}
    for algo in s["algorithms"]:
        name = algo["name"]
        bq, bf = ref[(name, "bg")]
        sq, sf = ref[(name, "sig")]
        t = ref_threshold(bq, scale, target)
        assert algo["threshold"] == pytest.approx(t, abs=0, rel=0), name
        k = int(np.sum(bq > t))
        assert algo["passed"] == k
        assert algo["rate_hz"] == pytest.approx(k / n * scale, rel=1e-12)
        assert algo["rate_err_hz"] == pytest.approx(np.sqrt(k * (1 - k / n)) / n * scale, rel=1e-12)
        assert algo["rate_hz"] <= target
        assert algo["rate_float_hz"] == pytest.approx(np.sum(bf > t) / n * scale, rel=1e-12)
        assert algo["efficiency"]["sig"] == pytest.approx(np.mean(sq > t), rel=1e-12)
        assert algo["efficiency_float"]["sig"] == pytest.approx(np.mean(sf > t), rel=1e-12)
        # AUC by its definition: P(sig > bg) + P(sig == bg) / 2.
        gt = (sq[:, None] > bq[None, :]).mean()
        eq = (sq[:, None] == bq[None, :]).mean()
        assert algo["auc"]["sig"] == pytest.approx(gt + eq / 2, rel=1e-9)
        flips = np.flatnonzero((bq > t) != (bf > t))
        assert algo["flips"]["count"] == len(flips)
        assert algo["flips"]["per_sample"]["sig"] == int(np.sum((sq > t) != (sf > t)))
        lines = (tmp_path / "out" / algo["flips"]["file"]).read_text().splitlines()[1:]
        listed = [int(l.split(",")[1]) for l in lines if l.startswith("background,")]
        assert listed == flips.tolist()
        fired[name] = bq > t
    assert s["algorithms"][0]["flips"]["count"] > 0, "the narrow type should flip some decisions"
    names = [a["name"] for a in s["algorithms"]]
    f = np.array([fired[x] for x in names])
    assert s["menu"]["rate_hz"] == pytest.approx(f.any(0).mean() * scale, rel=1e-12)
    for i, x in enumerate(names):
        pure = f[i] & ~np.delete(f, i, axis=0).any(0)
        assert s["menu"]["pure_rates_hz"][x] == pytest.approx(pure.mean() * scale, rel=1e-12, abs=1e-9)
        for j in range(len(names)):
            assert s["menu"]["overlap"][i][j] == pytest.approx((f[i] & f[j]).mean() * scale, rel=1e-12, abs=1e-9)
    for png in ("rate_cls.png", "roc_ad.png", "scores_top.png", "flips.png"):
        assert (tmp_path / "out" / png).stat().st_size > 1000


PLATEAU_MENU = """bunches: 1
algorithms:
  - name: n
    model: clf.onnx
    score: "in[6]"
    inputs: "0:6"
"""


@pytest.mark.parametrize("target_events", [0, 1, 599.5, 600, 3000, 5999, 6000, 1e9])
def test_target_rate_on_plateaus(models, tmp_path, target_events):
    """Scores 0..9 (each about 600 events): the threshold jumps between plateaus."""
    d = models
    menu = write_menu(d, PLATEAU_MENU, "plateau.yml")
    scale = LHC_HZ
    n = 6000
    target = target_events * scale / n
    r = run_study(d, menu, tmp_path / "o", "--target-rate", f"{target!r}Hz")
    scores = np.load(d / "bg.npy")[:, 6]
    if 0 < target < scale / n:
        assert r.returncode == 1
        assert "unreachable" in r.stderr and "'n'" in r.stderr
        assert not (tmp_path / "o").exists()
        return
    assert r.returncode == 0, r.stderr
    a = json.loads((tmp_path / "o" / "summary.json").read_text())["algorithms"][0]
    if target >= scale:   # every event may pass
        assert a["passed"] == n and a["threshold"] < scores.min()
    else:
        assert a["threshold"] == ref_threshold(scores, scale, target)
        assert a["passed"] == np.sum(scores > a["threshold"])
    assert a["rate_hz"] <= target * (1 + 1e-12)


def test_event_formats_agree(models, tmp_path):
    """The same events as .npy, .npz, HDF5 and CSV give the same summary."""
    import h5py
    d = models
    bg = np.load(d / "bg.npy")
    np.savez(tmp_path / "bg.npz", other=np.zeros(3), events=bg)
    with h5py.File(tmp_path / "bg.h5", "w") as f:
        f.create_dataset("jets/features", data=bg.reshape(-1, 7, 1).astype(np.float64), chunks=(500, 7, 1))
        f.create_dataset("labels", data=np.zeros(len(bg)))
    np.savetxt(tmp_path / "bg.csv", bg, delimiter=",", header="a,b,c,d,e,f,n", comments="", fmt="%.17g")
    menu = write_menu(d, MENU.replace("columns: [a, b, c, d, e, f, n]\n", ""), "nocols.yml")
    menu.write_text(menu.read_text().replace('"n >= 2"', '"in[6] >= 2"'))
    results = []
    for spec in (d / "bg.npy", f"{tmp_path / 'bg.npz'}:events", f"{tmp_path / 'bg.h5'}:jets/features",
                 tmp_path / "bg.csv"):
        out = tmp_path / f"o{len(results)}"
        r = cli("trigger", menu, "--background", spec, "-o", out, "-q", "--no-plots", "--target-rate", "20MHz")
        assert r.returncode == 0, (spec, r.stderr)
        results.append(json.loads((out / "summary.json").read_text()))
    for other in results[1:]:
        assert other["algorithms"] == results[0]["algorithms"]
        assert other["menu"] == results[0]["menu"]


@pytest.mark.parametrize("case,expect", [
    ("score_output", "out[7] does not exist: the model has 4 outputs"),
    ("column", "unknown name 'pt'"),
    ("dataset", "dataset 'nope' does not exist"),
    ("array", "array 'nope' does not exist"),
    ("no_threshold", "no threshold in the menu and no --target-rate"),
    ("model", "no such file"),
])
def test_bad_input_is_named_and_leaves_nothing(models, tmp_path, case, expect):
    import h5py
    d = models
    menu_text = PLATEAU_MENU
    bg = str(d / "bg.npy")
    extra = ["--target-rate", "1MHz"]
    if case == "score_output":
        menu_text = menu_text.replace('"in[6]"', '"1 - out[7]"')
    elif case == "column":
        menu_text = menu_text.replace('inputs: "0:6"', 'inputs: "0:6"\n    cuts: ["pt > 20"]')
    elif case == "dataset":
        with h5py.File(tmp_path / "bg.h5", "w") as f:
            f.create_dataset("X", data=np.load(d / "bg.npy"))
        bg = f"{tmp_path / 'bg.h5'}:nope"
    elif case == "array":
        np.savez(tmp_path / "bg.npz", X=np.load(d / "bg.npy"))
        bg = f"{tmp_path / 'bg.npz'}:nope"
    elif case == "no_threshold":
        extra = []
    elif case == "model":
        menu_text = menu_text.replace("clf.onnx", "missing.onnx")
    menu = write_menu(d, menu_text, f"bad_{case}.yml")
    r = cli("trigger", menu, "--background", bg, "-o", tmp_path / "out", "-q", "--no-plots", *extra)
    assert r.returncode == 1
    assert expect in r.stderr, r.stderr
    assert r.stderr.startswith("tachyon: error: ")
    assert not (tmp_path / "out").exists()
    assert not any(p.name.startswith(".") or "tmp" in p.name for p in tmp_path.iterdir()), list(tmp_path.iterdir())


def test_python_study_local_and_dask_agree(models, tmp_path, monkeypatch):
    """tachyon.trigger.study over two background files: locally, on a Dask LocalCluster,
    and through the CLI on the concatenated file, the summaries are identical; so are they
    when the scores beyond a small memory limit are held memory-mapped from disk."""
    pytest.importorskip("distributed")
    from distributed import Client, LocalCluster
    import tachyon.trigger as tt
    d = models
    bg = np.load(d / "bg.npy")
    np.save(tmp_path / "bg_a.npy", bg[:2500])
    np.save(tmp_path / "bg_b.npy", bg[2500:])
    menu = write_menu(d, MENU)
    args = dict(signals={"sig": str(d / "sig.npy")}, target_rate="20MHz", latency_budget="1us")
    local = tt.study(menu, [tmp_path / "bg_a.npy", tmp_path / "bg_b.npy"], **args)
    # With a memory limit of 20,000 values (the first file's 2,500 events x 2 algorithms x
    # fixed and float), the second file's scores are held as memory-mapped .npy files in
    # TMPDIR, removed at the end.
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        distributed = tt.study(menu, [tmp_path / "bg_a.npy", tmp_path / "bg_b.npy"], dask=client,
                               out=tmp_path / "dask_out", plots=False, **args)
        with monkeypatch.context() as env:
            env.setenv("TACHYON_SCORES_IN_MEMORY", "20000")
            env.setenv("TMPDIR", str(scratch))
            spilled = tt.study(menu, [tmp_path / "bg_a.npy", tmp_path / "bg_b.npy"], dask=client, **args)
    assert distributed == local and spilled == local
    assert list(scratch.iterdir()) == []
    assert json.loads((tmp_path / "dask_out" / "summary.json").read_text()) == local
    r = run_study(d, menu, tmp_path / "cli", "--target-rate", "20MHz", "--latency-budget", "1us")
    assert r.returncode == 0, r.stderr
    assert json.loads((tmp_path / "cli" / "summary.json").read_text()) == local
    # The module's command line (python3 -m tachyon.trigger study), files in order.
    import sys
    r = subprocess.run([sys.executable, "-m", "tachyon.trigger", "study", str(menu), "--background",
                        str(tmp_path / "bg_a.npy"), str(tmp_path / "bg_b.npy"), "--signal", f"sig={d / 'sig.npy'}",
                        "--target-rate", "20MHz", "--latency-budget", "1us", "-o", str(tmp_path / "mod"), "--no-plots"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert json.loads((tmp_path / "mod" / "summary.json").read_text()) == local
    # The same locally, and the spill itself: the second file comes back memory-mapped.
    monkeypatch.setenv("TACHYON_SCORES_IN_MEMORY", "20000")
    monkeypatch.setenv("TMPDIR", str(scratch))
    spill = tt._ScoreSpill()
    first = spill.keep(tt._score_file(menu, tmp_path / "bg_a.npy", "background"))
    second = spill.keep(tt._score_file(menu, tmp_path / "bg_b.npy", "background"))
    assert not isinstance(first["fixed"][0], np.memmap) and isinstance(second["fixed"][0], np.memmap)
    np.testing.assert_array_equal(second["float"][1], tt._score_file(menu, tmp_path / "bg_b.npy", "background")["float"][1])
    spill.close()
    assert list(scratch.iterdir()) == []
    assert tt.study(menu, [tmp_path / "bg_a.npy", tmp_path / "bg_b.npy"], **args) == local
    assert list(scratch.iterdir()) == []


def test_scout_cli(tmp_path):
    """`tachyon trigger scout`: a sweep written as scout.json (fill time B / rate), times from
    `tachyon perf --json`, and a rate the bunch pattern cannot carry refused with no output."""
    r = cli("trigger", "scout", "--rate", "1MHz", "--batch", "50,200", "--service", "20us", "--duration", "50ms",
            "-o", tmp_path / "s", "--no-plots")
    assert r.returncode == 0, r.stderr
    s = json.loads((tmp_path / "s" / "scout.json").read_text())
    assert [x["batch"] for x in s["sweep"]] == [50, 200]
    for x in s["sweep"]:
        assert x["fill_us"] == pytest.approx(x["batch"], rel=0.03)   # B / 1 MHz in us
        assert x["compute_us"] == pytest.approx(20.0)
        assert x["dropped"] == 0
    perf = {"results": [{"batch_size": 1, "concurrency": 1, "avg_us": 10.0},
                        {"batch_size": 100, "concurrency": 1, "avg_us": 109.0}]}
    (tmp_path / "perf.json").write_text(json.dumps(perf))
    r = cli("trigger", "scout", "--rate", "100kHz", "--batch", "100", "--perf", tmp_path / "perf.json",
            "--duration", "20ms", "-o", tmp_path / "p", "--no-plots")
    assert r.returncode == 0, r.stderr
    p = json.loads((tmp_path / "p" / "scout.json").read_text())
    assert p["compute"]["kind"] == "server"
    assert p["sweep"][0]["compute_us"] == pytest.approx(109.0)
    r = cli("trigger", "scout", "--arrivals", "lhc", "--rate", "50MHz", "--service", "1us", "-o", tmp_path / "bad")
    assert r.returncode == 1
    assert "exceeds the 2544 filled bunches" in r.stderr
    assert not (tmp_path / "bad").exists() and r.stdout == ""


@pytest.mark.parametrize("backend", ["hls", "verilog"])
def test_firmware_view_equals_convert(models, tmp_path, backend):
    """Latency and II in summary.json equal what `tachyon convert -b BACKEND` writes into
    tachyon_project.json; the budget verdict follows them."""
    d = models
    menu = write_menu(d, PLATEAU_MENU.replace("model: clf.onnx", "model: clf.onnx\n    config: narrow.yml"), "fw.yml")
    r = cli("convert", d / "clf.onnx", "-c", d / "narrow.yml", "-b", backend, "-o", tmp_path / "prj")
    assert r.returncode == 0, r.stderr
    prj = json.loads((tmp_path / "prj" / "tachyon_project.json").read_text())
    cycles, ii = ((prj["latency_estimate"]["latency_cycles"], prj["latency_estimate"]["ii_cycles"]) if backend == "hls"
                  else (prj["latency_cycles"], prj["interval_cycles"]))
    clock = 5.0   # the default ClockPeriod
    for budget, fits in ((cycles * clock, True), (cycles * clock - 1, False)):
        out = tmp_path / f"o{budget}"
        r = cli("trigger", menu, "--background", d / "bg.npy", "--target-rate", "1MHz", "--backend", backend,
                "--latency-budget", f"{budget}ns", "-o", out, "-q", "--no-plots")
        assert r.returncode == 0, r.stderr
        a = json.loads((out / "summary.json").read_text())["algorithms"][0]
        assert (a["latency_cycles"], a["ii_cycles"], a["latency_ns"]) == (cycles, ii, cycles * clock)
        assert a["fits_budget"] is fits
        assert a["resources"]["backend"] == backend
        if backend == "verilog":
            assert a["resources"]["dsp_estimate"] == 0 and a["resources"]["lut_estimate"] > 0



@pytest.fixture(scope="module")
def mse_models(tmp_path_factory):
    """Autoencoders whose graph computes their own reconstruction error (Sub, Pow, ReduceMean),
    with torch's float64 outputs; and the variants that must be refused."""
    import torch
    torch.manual_seed(5)
    d = tmp_path_factory.mktemp("mse_models")

    class Mse(torch.nn.Module):
        def __init__(self, power=2, batch_sum=False):
            super().__init__()
            self.ae = torch.nn.Sequential(torch.nn.Linear(8, 3), torch.nn.ReLU(), torch.nn.Linear(3, 8))
            self.power, self.batch_sum = power, batch_sum

        def forward(self, x):
            err = (x - self.ae(x)) ** self.power
            return err.sum(0, keepdim=True) if self.batch_sum else err.mean(-1, keepdim=True)

    x = np.random.default_rng(2).normal(0, 1, (400, 8))
    np.save(d / "x.npy", x)
    for name, m in (("mse", Mse()), ("cube", Mse(power=3)), ("root", Mse(power=2.5)),
                    ("batchsum", Mse(batch_sum=True))):
        torch.onnx.export(m.eval(), torch.zeros(2, 8), str(d / f"{name}.onnx"), input_names=["x"])
        if name in ("mse", "cube"):
            with torch.no_grad():
                np.save(d / f"y_{name}.npy", m.double()(torch.tensor(x)).numpy())
    return d


def test_in_graph_mse_float_hls_and_verilog(mse_models, tmp_path):
    """Pow(x, 2) and ReduceMean import as Pow and Reduce layers: float equals torch; the HLS C
    simulation equals the bit-exact emulator; the Verilog project is written; other exponents
    and the batch axis are refused by node."""
    d = mse_models
    for name in ("mse", "cube"):
        y = predict(d / f"{name}.onnx", d / "x.npy", str(tmp_path), True)
        np.testing.assert_allclose(y.reshape(-1), np.load(d / f"y_{name}.npy").reshape(-1), rtol=1e-9, atol=1e-12)
    r = cli("convert", d / "mse.onnx", "-b", "hls", "-o", tmp_path / "hls")
    assert r.returncode == 0, r.stderr
    r = cli("csim", tmp_path / "hls")
    assert r.returncode == 0 and "0 mismatches" in r.stdout + r.stderr, r.stdout + r.stderr
    # The Verilog writer takes the same Pow and Reduce layers (their rtlsim against the
    # emulator: tests/test_reduce_pow.cpp).
    r = cli("convert", d / "mse.onnx", "-b", "verilog", "-o", tmp_path / "v")
    assert r.returncode == 0, r.stderr
    for name, why in (("root", "only an integer exponent 1..8 is supported"),
                      ("batchsum", "node '/ReduceSum' (ReduceSum): axis 0 is the batch axis")):
        r = cli("info", d / f"{name}.onnx")
        assert r.returncode == 1 and why in r.stderr, r.stderr


def test_collision_rate_modes(models, tmp_path):
    """A menu threshold, with the menu's bunches, --bunches, and --flat40: the rate is the
    passing fraction times n_bunches x 11,245.6 Hz, or times 40 MHz."""
    d = models
    menu = write_menu(d, PLATEAU_MENU.replace('score: "in[6]"', 'score: "in[6]"\n    threshold: 6.5'), "fixed.yml")
    frac = np.mean(np.load(d / "bg.npy")[:, 6] > 6.5)
    for extra, hz in (([], 1 * LHC_HZ), (["--bunches", "2544"], 2544 * LHC_HZ), (["--flat40"], 40e6)):
        out = tmp_path / f"o{len(extra)}{hz:.0f}"
        r = cli("trigger", menu, "--background", d / "bg.npy", "-o", out, "-q", "--no-plots", *extra)
        assert r.returncode == 0, r.stderr
        s = json.loads((out / "summary.json").read_text())
        assert s["algorithms"][0]["threshold"] == 6.5
        assert s["algorithms"][0]["rate_hz"] == pytest.approx(frac * hz, rel=1e-12)
        assert s["collision_rate_hz"] == pytest.approx(hz, rel=1e-12)


def yosys_counts(stat_text):
    """LUTs (logic, INV = LUT1, and shift registers) and flip-flops of the last `stat` listing."""
    listing = stat_text[stat_text.rfind("Number of cells:"):]
    luts = ffs = 0
    for line in listing.splitlines()[1:]:
        parts = line.split()
        if len(parts) != 2 or not parts[1].isdigit():
            continue
        cell, n = parts[0], int(parts[1])
        if cell.startswith(("LUT", "SRL")) or cell == "INV":
            luts += n
        elif cell.startswith("FD"):
            ffs += n
    return luts, ffs


@pytest.mark.skipif(not shutil.which("yosys"), reason="yosys not installed")
def test_measured_resources_from_report(models, tmp_path):
    """`report:` in the menu (or --report NAME=PRJ): the resources are those Yosys counted in
    the project `tachyon report` synthesised, labelled measured, with the project's latency;
    a project not yet synthesised, or made from another configuration, is refused by name."""
    import torch
    d = models
    torch.manual_seed(1)
    torch.onnx.export(torch.nn.Linear(6, 1).eval(), torch.zeros(1, 6), str(tmp_path / "lin.onnx"), input_names=["x"])
    (tmp_path / "tiny.yml").write_text("Model:\n  Precision: ap_fixed<6,3>\n")
    prj = tmp_path / "prj"
    r = cli("convert", tmp_path / "lin.onnx", "-c", tmp_path / "tiny.yml", "-b", "verilog", "-o", prj)
    assert r.returncode == 0, r.stderr
    menu_text = f"""algorithms:
  - name: lin
    model: {tmp_path / 'lin.onnx'}
    config: {tmp_path / 'tiny.yml'}
    inputs: "0:6"
    report: prj
"""
    menu = write_menu(tmp_path, menu_text)
    # Not synthesised yet: an error naming the algorithm and what to run, and no output.
    r = cli("trigger", menu, "--background", d / "bg.npy", "--target-rate", "1MHz", "-o", tmp_path / "early", "-q")
    assert r.returncode == 1 and "algorithm 'lin'" in r.stderr and "run `tachyon report" in r.stderr, r.stderr
    assert not (tmp_path / "early").exists()

    rep = cli("report", prj)
    assert rep.returncode == 0, rep.stderr
    luts, ffs = yosys_counts((prj / "synth" / "stat.txt").read_text())
    assert luts > 0 and ffs > 0
    latency = json.loads((prj / "tachyon_project.json").read_text())["latency_cycles"]
    for args, out in (([], "menu_key"), (["--report", f"lin={prj}"], "flag")):
        r = cli("trigger", menu, "--background", d / "bg.npy", "--target-rate", "1MHz", "--latency-budget", "1us",
                "--device", "KU15P", "-o", tmp_path / out, "-q", "--no-plots", *args)
        assert r.returncode == 0, r.stderr
        a = json.loads((tmp_path / out / "summary.json").read_text())["algorithms"][0]
        res = a["resources"]
        assert res["measured"] is True and "measured" in res["source"] and "measured" in a["verdict"]
        assert (res["luts"], res["ffs"], res["dsps"]) == (luts, ffs, 0)
        assert res["lut_share"] == pytest.approx(luts / 522720) and res["ff_share"] == pytest.approx(ffs / 1045440)
        assert (a["latency_cycles"], a["latency_ns"]) == (latency, latency * 5.0)
        assert a["fits_budget"] is True
    # The Python API reads the menu's report too (when summarising; workers only score).
    import tachyon.trigger as tt
    res_py = tt.study(menu, str(d / "bg.npy"), target_rate="1MHz", device="KU15P")["algorithms"][0]["resources"]
    assert res_py["measured"] is True and (res_py["luts"], res_py["ffs"]) == (luts, ffs)
    # `tachyon report` printed the same logic LUTs (shift registers listed apart).
    printed = int(re.search(r"LUTs\s+(\d+)", rep.stdout).group(1))
    assert printed == res["luts_logic"] and printed + res["srls"] == luts
    # Without a report the resources are an estimate, and say so.
    estimated = write_menu(tmp_path, menu_text.replace("    report: prj\n", ""), "estimate.yml")
    r = cli("trigger", estimated, "--background", d / "bg.npy", "--target-rate", "1MHz", "--backend", "verilog",
            "-o", tmp_path / "est", "-q", "--no-plots")
    assert r.returncode == 0, r.stderr
    res = json.loads((tmp_path / "est" / "summary.json").read_text())["algorithms"][0]["resources"]
    assert res["measured"] is False and "estimate" in res["source"] and "luts" not in res
    # A project made with another precision is refused.
    other = tmp_path / "other"
    assert cli("convert", tmp_path / "lin.onnx", "-b", "verilog", "-o", other).returncode == 0
    r = cli("trigger", menu, "--background", d / "bg.npy", "--target-rate", "1MHz", "--report", f"lin={other}",
            "-o", tmp_path / "foreign", "-q")
    assert r.returncode == 1 and "made from another model or configuration" in r.stderr, r.stderr
    assert not (tmp_path / "foreign").exists()
    # So is one of the same interface and types but other weights (its RTL differs).
    torch.manual_seed(2)
    torch.onnx.export(torch.nn.Linear(6, 1).eval(), torch.zeros(1, 6), str(tmp_path / "lin2.onnx"), input_names=["x"])
    assert cli("convert", tmp_path / "lin2.onnx", "-c", tmp_path / "tiny.yml", "-b", "verilog", "-o", other,
               "--force").returncode == 0
    r = cli("trigger", menu, "--background", d / "bg.npy", "--target-rate", "1MHz", "--report", f"lin={other}",
            "-o", tmp_path / "foreign", "-q")
    assert r.returncode == 1 and "is not the RTL the menu's model generates" in r.stderr, r.stderr
    assert not (tmp_path / "foreign").exists()


def test_scores_on_disk_equal_in_memory(models, tmp_path):
    """With TACHYON_SCORES_IN_MEMORY forced tiny, every score column (and the sorted copies
    behind thresholds, ROC and rate curves) lives in a temporary file: the study is identical,
    and no score file is left behind."""
    d = models
    menu = write_menu(d, MENU, "disk.yml")
    outs = {}
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    for limit in (None, "100"):
        env = dict(os.environ, TMPDIR=str(scratch))
        if limit:
            env["TACHYON_SCORES_IN_MEMORY"] = limit
        out = tmp_path / f"o{limit}"
        r = subprocess.run([CLI, "trigger", str(menu), "--background", str(d / "bg.npy"), "--signal",
                            f"sig={d / 'sig.npy'}", "--target-rate", "20MHz", "-o", str(out), "-q", "--no-plots"],
                           capture_output=True, text=True, env=env)
        assert r.returncode == 0, r.stderr
        outs[limit] = {p.name: p.read_text() for p in out.iterdir()}
    assert outs[None] == outs["100"]
    assert list(scratch.iterdir()) == []
    r = subprocess.run([CLI, "trigger", str(menu), "--background", str(d / "bg.npy"), "--target-rate", "20MHz", "-o",
                        str(tmp_path / "bad"), "-q"], capture_output=True, text=True,
                       env=dict(os.environ, TACHYON_SCORES_IN_MEMORY="lots"))
    assert r.returncode == 1 and "TACHYON_SCORES_IN_MEMORY" in r.stderr and not (tmp_path / "bad").exists()
    r = subprocess.run([CLI, "trigger", str(menu), "--background", str(d / "bg.npy"), "--target-rate", "20MHz", "-o",
                        str(tmp_path / "bad"), "-q"], capture_output=True, text=True,
                       env=dict(os.environ, TACHYON_SCORES_IN_MEMORY="10", TMPDIR=str(tmp_path / "missing")))
    assert r.returncode == 1 and "cannot create a temporary score file in " + str(tmp_path / "missing") in r.stderr
    assert not (tmp_path / "bad").exists()


def test_integer_power_bit_exact_in_every_backend(tmp_path):
    """Pow(x, 3) (a Pow layer) and Pow(x, 1) (nothing): the emulator's
    float mode equals torch, and in fixed point the HLS C simulation and the Verilog RTL
    simulation both equal the emulator on every test row."""
    import torch
    torch.manual_seed(8)

    class Cube(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = torch.nn.Linear(4, 3)

        def forward(self, x):
            return (self.fc(x) ** 3) ** 1

    m = Cube().eval()
    torch.onnx.export(m, torch.zeros(1, 4), str(tmp_path / "cube.onnx"), input_names=["x"])
    x = np.random.default_rng(4).uniform(-1.5, 1.5, (200, 4))
    np.save(tmp_path / "x.npy", x)
    with torch.no_grad():
        want = m.double()(torch.tensor(x)).numpy()
    np.testing.assert_allclose(predict(tmp_path / "cube.onnx", tmp_path / "x.npy", str(tmp_path), True), want,
                               rtol=1e-9, atol=1e-12)
    (tmp_path / "c.yml").write_text("Model:\n  Precision: ap_fixed<8,3>\n")
    r = cli("info", tmp_path / "cube.onnx", "-c", tmp_path / "c.yml")
    # x ** 3: one Pow layer of exponent 3 on the Linear layer's output; ** 1 adds nothing.
    assert r.returncode == 0 and r.stdout.count("Pow exponent=3") == 1, r.stdout + r.stderr
    assert "Pow exponent=1" not in r.stdout and "Merge" not in r.stdout
    r = cli("convert", tmp_path / "cube.onnx", "-c", tmp_path / "c.yml", "-b", "hls", "-o", tmp_path / "hls")
    assert r.returncode == 0, r.stderr
    r = cli("csim", tmp_path / "hls")
    assert r.returncode == 0 and "0 mismatches" in r.stdout + r.stderr, r.stdout + r.stderr
    if not shutil.which("verilator"):
        pytest.skip("verilator not installed")
    r = cli("convert", tmp_path / "cube.onnx", "-c", tmp_path / "c.yml", "-b", "verilog", "-o", tmp_path / "v")
    assert r.returncode == 0, r.stderr
    r = cli("rtlsim", tmp_path / "v")
    assert r.returncode == 0 and "0 mismatches" in r.stdout + r.stderr, r.stdout + r.stderr
