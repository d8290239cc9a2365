"""Profile plots in hls4ml's style: per layer, a box plot of log2|value| observed on the
calibration data, drawn over a grey band that spans the configured type (from its LSB to
its largest value). `tachyon profile -o DIR` runs this file as a script on DIR/profile.json;
`Model.profile(x, plot_dir=...)` does the same through the library, and
`tachyon.profile_figures(report)` returns the matplotlib Figures in-process (no pyplot: the
caller's backend is left alone).

Usage: /usr/bin/python3 plotting.py PROFILE_JSON OUTDIR   -> OUTDIR/weights.png, activations.png
"""
import json
import math
import sys


def _boxes(report, wanted):
    rows = []
    for layer in report["layers"]:
        for v in layer["vars"]:
            if v["var"] in wanted and v["count"] > v["zeros"]:
                rows.append((f'{layer["name"]} {v["var"]}', v))
    return rows


def _figure(rows, title):
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    n = max(len(rows), 1)
    fig = Figure(figsize=(7.5, 0.9 + 0.32 * n), dpi=80)
    ax = fig.subplots()
    stats = []
    for i, (label, v) in enumerate(rows):
        q = v["log2_abs"]
        stats.append({"label": label, "whislo": q[0], "q1": q[1], "med": q[2], "q3": q[3], "whishi": q[4],
                      "fliers": []})
        if v["type"]:
            lo = math.log2(v["lsb"])
            hi = math.log2(max(abs(v["type_min"]), abs(v["type_max"]), v["lsb"]))
            ax.add_patch(Rectangle((lo, i + 1 - 0.4), hi - lo, 0.8, color="0.85", zorder=0))
            bad = v["overflow"] > 0
            if bad:
                ax.plot([q[4]], [i + 1], marker=">", color="red", zorder=3)
    if stats:
        bp = ax.bxp(stats, vert=False, showfliers=False, patch_artist=True, widths=0.55)
        for b in bp["boxes"]:
            b.set(facecolor="#4C72B0", alpha=0.8)
        for med in bp["medians"]:
            med.set(color="white")
    if stats:   # tiny values (softmax tails) would squash the plot: cut 12 octaves below the finest LSB
        lsbs = [math.log2(v["lsb"]) for _, v in rows if v["type"]]
        lo = min(s["whislo"] for s in stats)
        floor = (min(lsbs) if lsbs else min(s["q1"] for s in stats)) - 12
        ax.set_xlim(left=max(lo, floor) - 1)
    ax.set_yticks(range(1, n + 1))
    ax.set_yticklabels([r[0] for r in rows] or [""], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("log2 |value|   (grey: range of the type, LSB to maximum; red >: overflow)")
    ax.set_title(title, fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


def profile_figures(report):
    """The two plots of a profile report as matplotlib Figures: {'weights', 'activations'}."""
    name = report.get("model", "")
    return {
        "weights": _figure(_boxes(report, ("weight", "bias", "scale", "shift")), f"{name}: parameters"),
        "activations": _figure(_boxes(report, ("accum", "result")),
                               f'{name}: accumulators and outputs on {report.get("rows", 0)} calibration rows'),
    }


def plot_profile(report, outdir):
    """Writes outdir/weights.png and outdir/activations.png; returns their paths."""
    import os
    os.makedirs(outdir, exist_ok=True)
    paths = []
    for key, fig in profile_figures(report).items():
        paths.append(os.path.join(outdir, key + ".png"))
        fig.savefig(paths[-1])
    return paths


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    with open(sys.argv[1]) as f:
        plot_profile(json.load(f), sys.argv[2])
