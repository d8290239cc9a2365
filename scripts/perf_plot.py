"""Throughput vs latency, one curve per batch size: the plot `tachyon perf --png` writes.

    /usr/bin/python3 scripts/perf_plot.py RESULTS.json OUT.png

RESULTS.json is `tachyon perf --json`'s document. Each point is one load level
(concurrency or request rate); x = p99 client latency, y = inferences per second.
"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main(src, out):
    with open(src) as f:
        doc = json.load(f)
    curves = {}
    for r in doc["results"]:
        curves.setdefault(r["batch_size"], []).append(r)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for batch, rows in sorted(curves.items()):
        ax.plot([r["p99_us"] for r in rows], [r["throughput_infer_per_sec"] for r in rows], "o-",
                label=f"batch {batch}")
        for r in rows:
            level = r["concurrency"] or int(r["request_rate"])
            ax.annotate(str(level), (r["p99_us"], r["throughput_infer_per_sec"]), fontsize=7,
                        textcoords="offset points", xytext=(3, 3))
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("p99 latency (us)")
    ax.set_ylabel("throughput (inferences/s)")
    ax.set_title(f"{doc['model']} over {doc['protocol']} (labels: concurrency or rate)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out, dpi=100)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
