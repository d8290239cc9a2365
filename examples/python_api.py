#!/usr/bin/python3
"""Tachyon from Python, end to end, notebook style: load the jet tagger, choose its
fixed-point types from calibration data (post-training quantisation), plot the profile,
predict, write the HLS and Verilog projects, simulate them, and (with --yosys) synthesise.

    cmake --build build                      # builds build/python/tachyon
    PYTHONPATH=build/python /usr/bin/python3 examples/python_api.py [--yosys] [--rtlsim]

Model: the hls4ml zoo's jet tagger (../shared/models/keras/KERAS_3layer.json) when present,
else the bundled example (examples/make_jet_tagger.py, made on the fly). Output: build/python_example/.
"""
import argparse
import os
import subprocess
import sys
import time

import numpy as np

import tachyon

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("--model", help="model file (default: the zoo jet tagger, else the bundled example)")
ap.add_argument("--out", default=os.path.join(ROOT, "build", "python_example"))
ap.add_argument("--target-agreement", type=float, default=0.999)
ap.add_argument("--rtlsim", action="store_true", help="also run the Verilator simulation (about a minute)")
ap.add_argument("--yosys", action="store_true", help="also synthesise both Verilog projects with Yosys (minutes)")
args = ap.parse_args()
os.makedirs(args.out, exist_ok=True)
out = lambda *p: os.path.join(args.out, *p)  # noqa: E731

# %% 1. The model and the data ---------------------------------------------------------------
zoo = os.path.join(ROOT, "..", "shared", "models", "keras", "KERAS_3layer.json")
model = args.model or (zoo if os.path.exists(zoo) else None)
rng = np.random.default_rng(7)
if model is None:   # the bundled example: its own test rows are the calibration data
    subprocess.run([sys.executable, os.path.join(ROOT, "examples", "make_jet_tagger.py"), out("model")], check=True)
    model = out("model", "jet_tagger.onnx")
    calib = np.load(out("model", "jet_tagger_X.npy"))
    valid = calib + rng.normal(0, 0.1, size=calib.shape)
else:               # the zoo's reference inputs are N(0, 1) rows: calibrate and validate on such rows
    calib = rng.normal(size=(10000, 16))
    valid = rng.normal(size=(50000, 16))

m = tachyon.load(model)   # Tachyon's defaults: ap_fixed<16,6> everywhere, as hls4ml
print(m)
print(m.summary())


def agreement(model_, x):
    return float((model_.predict(x).argmax(1) == model_.predict(x, float=True).argmax(1)).mean())


baseline_agreement = agreement(m, valid)
print(f"ap_fixed<16,6> everywhere: argmax agreement with float {baseline_agreement:.5f} on {len(valid)} rows")

# %% 2. Profile at the default types: where do values overflow or lose precision? --------------
rep = m.profile(calib, plot_dir=out("profile_default"))
print(rep["table"])

# %% 3. Post-training quantisation: types per layer from the calibration data ------------------
t0 = time.time()
r = m.auto_precision(calib, target_agreement=args.target_agreement)   # apply=True: m.config is now r["config"]
print(r["table"])
print(f"search: {time.time() - t0:.1f} s")
auto_agreement = agreement(m, valid)
print(f"auto-precision: argmax agreement with float {auto_agreement:.5f} on {len(valid)} held-out rows")
with open(out("auto_precision.yml"), "w") as f:
    f.write(tachyon._tachyon.config_to_yaml(m.config))   # the same file `tachyon config --auto-precision` writes

rep = m.profile(calib, plot_dir=out("profile_auto"))
print("profile plots:", ", ".join(p for p in rep["files"] if p.endswith(".png")))
print("overflows on held-out rows:",
      {k: v["result_overflows"] for k, v in m.overflow_report(valid).items() if v["result_overflows"]} or "none")

# %% 4. Predict: bit-exact fixed point, many rows, every core -----------------------------------
big = np.tile(valid, (20, 1))
t0 = time.time()
y = m.predict(big, threads=0)
print(f"predict: {len(big)} rows in {time.time() - t0:.2f} s ({len(big) / (time.time() - t0):,.0f} rows/s)")

# %% 5. Projects: HLS (C simulation) and Verilog ----------------------------------------------
m.write_hls(out("hls"))
print("csim:", m.csim(out("hls")))
m.write_verilog(out("verilog_auto"))
if args.rtlsim:
    print("rtlsim:", m.rtlsim(out("verilog_auto")))
base = tachyon.load(model)
base.write_verilog(out("verilog_16_6"))

# %% 6. Synthesis (Yosys, minutes): auto-precision against ap_fixed<16,6> everywhere -----------
if args.yosys:
    a = tachyon.report(out("verilog_auto"))
    b = tachyon.report(out("verilog_16_6"))
    print(f"LUTs: auto-precision {a['luts']:,}  vs  ap_fixed<16,6> {b['luts']:,}  "
          f"({100.0 * (1 - a['luts'] / b['luts']):.0f}% fewer); FFs {a['ffs']:,} vs {b['ffs']:,}; "
          f"latency {a['latency_cycles']} vs {b['latency_cycles']} cycles")
else:
    print("(synthesis skipped: --yosys runs Yosys on both Verilog projects)")
print("done:", args.out)
