"""Trigger studies from Python (docs/trigger.md), and the plots of `tachyon trigger`.

    import tachyon.trigger as tt
    summary = tt.study("menu.yml", background=["zb_0.h5:X", "zb_1.h5:X"],
                       signals={"hh": "hh.h5:X"}, target_rate="1kHz", out="study")
    summary = tt.study(..., dask="tcp://scheduler:8786")   # or a distributed.Client

Files are scored independently (on Dask workers when `dask` is given) and the scores are
summarised in this process, in file order: the Dask path gives exactly the local result.

From a shell, the same with Dask (every file one task):
    python3 -m tachyon.trigger study menu.yml --background zb_0.h5:X zb_1.h5:X \
        --signal hh=hh.h5:X --target-rate 1kHz --dask tcp://scheduler:8786 -o study

As a script (what `tachyon trigger -o DIR` runs):
    /usr/bin/python3 trigger.py plot DIR/plot_data.json DIR
        -> rate_<algo>.png, roc_<algo>.png, scores_<algo>.png, flips.png
"""
import json
import os
import sys
import tempfile


# ---- studies ----

def _score_file(menu, spec, sample, threads=1):
    """One file's fixed and float scores per algorithm (runs on a Dask worker or here)."""
    from . import _tachyon
    return _tachyon.trigger_score(str(menu), str(spec), sample, threads)


class _ScoreSpill:
    """Holds the per-file scores until they are summarised: beyond TACHYON_SCORES_IN_MEMORY
    values (default 8M, as the C++ score columns) each further file's arrays go to .npy files
    in a temporary folder and come back memory-mapped, so the calling process does not hold
    10^8 events' scores in RAM (docs/trigger.md, "Memory")."""

    def __init__(self):
        limit = os.environ.get("TACHYON_SCORES_IN_MEMORY", "")
        self.limit = int(limit) if limit.strip() else 8 << 20
        self.held = 0
        self.folder = None

    def keep(self, scores):
        self.held += scores["events"] * len(scores["fixed"]) * 2
        if self.held <= self.limit:
            return scores
        import numpy as np
        if self.folder is None:
            self.folder = tempfile.TemporaryDirectory(prefix="tachyon_scores_")
        for key in ("fixed", "float"):
            mapped = []
            for array in scores[key]:
                path = os.path.join(self.folder.name, "%d.npy" % len(os.listdir(self.folder.name)))
                np.save(path, np.ascontiguousarray(array, dtype=np.float64))
                mapped.append(np.load(path, mmap_mode="r"))
            scores[key] = mapped
        return scores

    def close(self):
        if self.folder is not None:
            self.folder.cleanup()


def _as_list(files):
    return [files] if isinstance(files, (str, os.PathLike)) else list(files)


def study(menu, background, signals=None, target_rate=None, bunches=None, flat40=False, latency_budget=None,
          device="VU9P", out=None, plots=True, force=False, dask=None, threads=1, backend="hls"):
    """The `tachyon trigger` study; returns summary.json's content as a dict.

    background: FILE[:DATASET] or a list of them (one sample, in file order);
    signals: {name: FILE[:DATASET] or a list}; target_rate: "1kHz" or Hz; latency_budget:
    "50ns"; out: a folder for summary.json, plot data, flips and PNGs (None: nothing written).
    dask: None (score here), a scheduler address, or a distributed.Client: every file is
    scored as one task, and the result equals the local one exactly.
    """
    signals = signals or {}
    jobs = [(spec, "background") for spec in _as_list(background)]
    for name, files in signals.items():
        jobs += [(spec, name) for spec in _as_list(files)]
    spill = _ScoreSpill()
    try:
        if dask is None:
            scored = [spill.keep(_score_file(menu, spec, sample, threads)) for spec, sample in jobs]
        else:
            scored = _score_on_dask(dask, menu, jobs, threads, spill)
        bg = [s for s, (_, sample) in zip(scored, jobs) if sample == "background"]
        sig = [(name, [s for s, (_, sample) in zip(scored, jobs) if sample == name]) for name in signals]
        from . import _tachyon
        return _tachyon.trigger_summarise(str(menu), bg, sig, None if target_rate is None else str(target_rate),
                                          bunches, flat40, None if latency_budget is None else str(latency_budget),
                                          device, None if out is None else str(out), plots, force, backend)
    finally:
        spill.close()   # the mapped files are unlinked; Linux keeps open mappings valid


def _score_on_dask(dask, menu, jobs, threads, spill):
    from distributed import Client
    client = dask if isinstance(dask, Client) else Client(dask)
    try:
        futures = [client.submit(_score_file, str(menu), str(spec), sample, threads, pure=False)
                   for spec, sample in jobs]
        # One result at a time, in submission order (file order is event order), each into
        # the spill before the next arrives.
        return [spill.keep(f.result()) for f in futures]
    finally:
        if client is not dask:
            client.close()


# ---- plots ----

def _pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _save(plt, fig, path):
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _rate_plot(plt, algo, target, path):
    fig, ax = plt.subplots(figsize=(6, 4), dpi=80)
    for key, label, style in (("rate_fixed", "fixed point", "-"), ("rate_float", "float", "--")):
        pts = [p for p in algo[key] if p[1] > 0]
        if pts:
            ax.errorbar([p[0] for p in pts], [p[1] for p in pts], yerr=[p[2] for p in pts], fmt=style,
                        label=label, capsize=0, elinewidth=0.6)
    if target:
        ax.axhline(target, color="r", lw=0.8, label=f"target {target:g} Hz")
    ax.axvline(algo["threshold"], color="k", lw=0.8, ls=":", label=f"threshold {algo['threshold']:.4g}")
    ax.set_yscale("log")
    ax.set_xlabel("threshold")
    ax.set_ylabel("rate [Hz]")
    ax.set_title(f"{algo['name']}: rate vs threshold")
    ax.legend(fontsize=8)
    _save(plt, fig, path)


def _roc_plot(plt, algo, path):
    fig, ax = plt.subplots(figsize=(5, 4), dpi=80)
    for name, pts in algo.get("roc", {}).items():
        ax.plot([p[1] for p in pts], [p[2] for p in pts], label=name)
    ax.set_xscale("log")
    ax.set_xlabel("background efficiency")
    ax.set_ylabel("signal efficiency")
    ax.set_title(f"{algo['name']}: ROC (fixed point)")
    if algo.get("roc"):
        ax.legend(fontsize=8)
    _save(plt, fig, path)


def _score_plot(plt, algo, path):
    h = algo.get("histogram") or {}
    fig, ax = plt.subplots(figsize=(6, 4), dpi=80)
    if h:
        edges = h["edges"]
        for name, counts in h["counts"].items():
            ax.stairs(counts, edges, label=name)
    ax.axvline(algo["threshold"], color="k", lw=0.8, ls=":", label="threshold")
    ax.set_yscale("log")
    ax.set_xlabel("score (fixed point)")
    ax.set_ylabel("fraction of events")
    ax.set_title(f"{algo['name']}: score distributions")
    ax.legend(fontsize=8)
    _save(plt, fig, path)


def _flips_plot(plt, algos, path):
    fig, ax = plt.subplots(figsize=(6, 4), dpi=80)
    samples = sorted({s for a in algos for s in a["flips"]})
    width = 0.8 / max(len(samples), 1)
    for k, s in enumerate(samples):
        ax.bar([i + k * width for i in range(len(algos))], [a["flips"].get(s, 0) for a in algos], width, label=s)
    ax.set_xticks([i + 0.4 - width / 2 for i in range(len(algos))], [a["name"] for a in algos])
    ax.set_ylabel("events: fixed-point decision != float decision")
    ax.set_title("decision flips at the chosen thresholds")
    ax.legend(fontsize=8)
    _save(plt, fig, path)


def plot(data, outdir):
    """Writes the PNGs of a study from its plot_data (dict); returns their paths."""
    plt = _pyplot()
    files = []
    for algo in data["algorithms"]:
        for kind, fn in (("rate", lambda p: _rate_plot(plt, algo, data.get("target_rate_hz"), p)),
                         ("roc", lambda p: _roc_plot(plt, algo, p)),
                         ("scores", lambda p: _score_plot(plt, algo, p))):
            path = os.path.join(outdir, f"{kind}_{algo['name']}.png")
            fn(path)
            files.append(path)
    path = os.path.join(outdir, "flips.png")
    _flips_plot(plt, data["algorithms"], path)
    files.append(path)
    return files


def plot_scout(data, outdir):
    """scout.png: sustained rate and p99 latency vs batch size (from scout.json)."""
    plt = _pyplot()
    sweep = data["sweep"]
    b = [r["batch"] for r in sweep]
    fig, ax = plt.subplots(figsize=(6, 4), dpi=80)
    ax.plot(b, [r["sustained_hz"] for r in sweep], "o-", label="sustained rate")
    ax.plot(b, [r["offered_hz"] for r in sweep], ":", color="0.5", label="offered rate")
    ax.set_xscale("log")
    ax.set_ylim(0, 1.15 * max(max(r["offered_hz"], r["sustained_hz"]) for r in sweep))
    ax.set_xlabel("batch size (objects)")
    ax.set_ylabel("objects / s")
    ax2 = ax.twinx()
    ax2.plot(b, [r["latency_p99_us"] for r in sweep], "s--", color="C3", label="p99 latency")
    ax2.set_yscale("log")
    ax2.set_ylabel("p99 latency [us]")
    lines = ax.get_legend_handles_labels()
    more = ax2.get_legend_handles_labels()
    ax.legend(lines[0] + more[0], lines[1] + more[1], fontsize=8, loc="lower right")
    ax.set_title(f"scouting: {data['compute']['kind']} compute, {data['workers']} worker(s)")
    fig.tight_layout()
    path = os.path.join(outdir, "scout.png")
    fig.savefig(path)
    plt.close(fig)
    return [path]


def _study_main(argv):
    """python3 -m tachyon.trigger study MENU --background F [F ...] [--signal NAME=F ...]
    [--target-rate 1kHz] [--latency-budget 50ns] [--dask SCHEDULER] -o DIR"""
    import argparse
    ap = argparse.ArgumentParser(prog="python3 -m tachyon.trigger study")
    ap.add_argument("menu")
    ap.add_argument("--background", nargs="+", required=True, help="FILE[:DATASET] ... (one sample, in order)")
    ap.add_argument("--signal", action="append", default=[], help="NAME=FILE[:DATASET] (repeatable; a name may repeat)")
    ap.add_argument("--target-rate")
    ap.add_argument("--bunches", type=int)
    ap.add_argument("--flat40", action="store_true")
    ap.add_argument("--latency-budget")
    ap.add_argument("--device", default="VU9P")
    ap.add_argument("--backend", default="hls", choices=["hls", "verilog"])
    ap.add_argument("--dask", help="Dask scheduler address (tcp://host:8786)")
    ap.add_argument("--no-plots", action="store_true")
    ap.add_argument("--force", action="store_true")
    ap.add_argument("-o", "--output", required=True)
    a = ap.parse_args(argv)
    signals = {}
    for s in a.signal:
        name, sep, spec = s.partition("=")
        if not sep or not name or not spec:
            ap.error(f"--signal: '{s}': expected NAME=FILE[:DATASET]")
        signals.setdefault(name, []).append(spec)
    from . import TachyonError
    try:
        summary = study(a.menu, a.background, signals, a.target_rate, a.bunches, a.flat40, a.latency_budget,
                        a.device, a.output, not a.no_plots, a.force, a.dask, backend=a.backend)
    except TachyonError as e:
        sys.exit(f"tachyon: error: {e}")
    for algo in summary["algorithms"]:
        print(f"{algo['name']}: threshold {algo['threshold']:.6g}, rate {algo['rate_hz']:.6g} +- "
              f"{algo['rate_err_hz']:.6g} Hz, flips {algo['flips']['count']}")
    print(f"menu: {summary['menu']['rate_hz']:.6g} Hz\nwrote {a.output}/summary.json")


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "study":
        _study_main(sys.argv[2:])
        sys.exit(0)
    if len(sys.argv) != 4 or sys.argv[1] not in ("plot", "scout"):
        sys.exit("usage: trigger.py plot|scout DATA_JSON OUTDIR, or python3 -m tachyon.trigger study ...")
    with open(sys.argv[2]) as f:
        data = json.load(f)
    (plot if sys.argv[1] == "plot" else plot_scout)(data, sys.argv[3])
