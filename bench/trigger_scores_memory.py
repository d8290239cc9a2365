"""Benchmark (not a test) of `tachyon trigger`'s memory with many events (docs/trigger.md,
"Memory"): the same study with the score columns in memory and moved to temporary files
(TACHYON_SCORES_IN_MEMORY), reporting the wall time, the peak anonymous memory (RssAnon:
what must fit in RAM; the mapped score files are file cache the kernel may write back) and
the peak resident set, sampled every 20 ms from /proc.

    cmake --build build --target tachyon
    /usr/bin/python3 bench/trigger_scores_memory.py [BUILD_DIR] [EVENTS]     # default 10^7
"""
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np


def status_kb(pid, key):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except FileNotFoundError:
        pass
    return 0


def run(cmd, env):
    t0 = time.time()
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    anon = rss = 0
    while p.poll() is None:
        anon = max(anon, status_kb(p.pid, "RssAnon"))
        rss = max(rss, status_kb(p.pid, "VmRSS"))
        time.sleep(0.02)
    err = p.stderr.read()
    if p.returncode != 0:
        sys.exit("failed: " + err)
    return time.time() - t0, anon / 1024, rss / 1024


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else "build"
    events = int(float(sys.argv[2])) if len(sys.argv) > 2 else 10_000_000
    cli = os.path.join(build, "tachyon")
    with tempfile.TemporaryDirectory() as d:
        import torch
        torch.manual_seed(0)
        torch.onnx.export(torch.nn.Linear(2, 1).eval(), torch.zeros(1, 2), os.path.join(d, "lin.onnx"),
                          input_names=["x"])
        rng = np.random.default_rng(1)
        np.save(os.path.join(d, "bg.npy"), rng.normal(0, 1, (events, 2)))
        np.save(os.path.join(d, "sig.npy"), rng.normal(1, 1, (events // 10, 2)))
        with open(os.path.join(d, "menu.yml"), "w") as f:
            f.write("algorithms:\n  - {name: lin, model: lin.onnx}\n")
        print(f"{events:,} background + {events // 10:,} signal events, one algorithm (fixed and float scores)")
        print(f"{'scores':<28}{'wall s':>8}{'peak RssAnon MB':>18}{'peak RSS MB':>14}")
        summaries = []
        for label, limit in (("all in memory", str(10**12)), ("default (8M per column)", None),
                             ("on disk beyond 65,536", "65536")):
            env = dict(os.environ)
            env.pop("TACHYON_SCORES_IN_MEMORY", None)
            if limit:
                env["TACHYON_SCORES_IN_MEMORY"] = limit
            out = os.path.join(d, "out_" + (limit or "default"))
            wall, anon, rss = run([cli, "trigger", os.path.join(d, "menu.yml"), "--background",
                                   os.path.join(d, "bg.npy"), "--signal", "s=" + os.path.join(d, "sig.npy"),
                                   "--target-rate", "1kHz", "-o", out, "-q", "--no-plots"], env)
            print(f"{label:<28}{wall:>8.1f}{anon:>18.0f}{rss:>14.0f}")
            summaries.append(json.load(open(os.path.join(out, "summary.json"))))
        print("identical summary.json:", all(s == summaries[0] for s in summaries))


if __name__ == "__main__":
    main()
