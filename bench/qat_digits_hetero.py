"""Heterogeneous (trainable per-weight) widths against uniform QAT on the digits MLP, over
several training seeds (bench/qat_digits.py's MLP and data). By hand, not in ctest:

    PYTHONPATH=build/python /usr/bin/python3 bench/qat_digits_hetero.py --seeds 10 \\
        [--uniform 2 3 4 5 6 8] [--hetero 3:2e-6 4:4e-6 6:4e-6] [--beta-ramp 0.5] [--json out.json]

Every model uses the spread recipe at every width (weights uniform in +-0.5, Adam at 1e-2;
qat_digits.py applies it at 2-3 bits only): over 10 seeds it is more accurate than Adam at
3e-3 at every width tried. `--hetero B:BETA` starts every weight at B bits (activations stay
at B bits), makes the fractional bits trainable and adds BETA * EBOPs to the loss, BETA
rising linearly over the first `--beta-ramp` of the steps. Seeds vary the initial weights
and the batch order; the 70/30 split stays qat_digits.py's.

Each model is exported, loaded in Tachyon and checked bit for bit against PyTorch's float64
forward (qat_digits.qat_point); its accuracy is the firmware's on the 540 test rows. Prints
one Markdown row per configuration: mean +- standard deviation over the seeds of accuracy,
EBOPs, Verilog adder bits and `tachyon report --estimate` LUTs/FFs (seconds per model; no
Yosys), then the surrogate's calibration: Pearson r of EBOPs against adder bits and
estimated LUTs over every model trained. `--yosys` also runs `tachyon report` (Yosys) on the
seed-0 model of each configuration, one at a time at nice 19, cached by design hash in
docs/img/qat_digits_yosys.json like qat_digits.py (minutes per design).
"""
import argparse
import json
import os
from pathlib import Path

import numpy as np
import torch

import qat_digits as bench
from tachyon.qat import EbopsMeter


def trained(bits, beta, seed, xtr, ytr, epochs, beta_ramp):
    torch.manual_seed(seed)
    model = bench.mlp(bits, trainable=beta > 0)
    lr = bench.spread_start(model)
    meter = EbopsMeter(model)
    bench.train(model, xtr, ytr, epochs, beta=beta, meter=meter, lr=lr, seed=seed, beta_ramp=beta_ramp)
    with torch.no_grad():
        model(torch.from_numpy(xtr).float())   # the EBOPs of the final weights
    return model, float(meter.ebops())


def mean_std(points, key, fmt):
    v = np.array([p[key] for p in points], dtype=float)
    return f"{v.mean():{fmt}} +- {v.std():{fmt}}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--uniform", type=int, nargs="*", default=[2, 3, 4, 5, 6, 8])
    ap.add_argument("--hetero", nargs="*", default=["3:2e-6", "4:4e-6", "6:4e-6"], help="START_BITS:BETA")
    ap.add_argument("--beta-ramp", type=float, default=0.5)
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--json", help="also write every model's figures here")
    ap.add_argument("--yosys", action="store_true", help="Yosys on each configuration's seed-0 model")
    args = ap.parse_args()
    xtr, xte, ytr, yte = bench.data()
    configs = [(f"uniform {b}", b, 0.0) for b in args.uniform]
    for spec in args.hetero:
        b, beta = spec.split(":")
        configs.append((f"hetero from {b}, beta {beta}", int(b), float(beta)))
    print(f"| model ({args.seeds} seeds) | acc | EBOPs | adder bits | est. LUTs | est. FFs |")
    print("|---|---|---|---|---|---|")
    results = {}
    for label, bits, beta in configs:
        points = []
        for seed in range(args.seeds):
            model, ebops = trained(bits, beta, seed, xtr, ytr, args.epochs, args.beta_ramp)
            tag = f"mlp_{'h' if beta else 'u'}{bits}_{beta:g}_s{seed}"
            p = bench.qat_point(model, tag, xte, yte, False, args.yosys and seed == 0)
            p.update(ebops=ebops, seed=seed)
            points.append(p)
        results[label] = points
        print(f"| {label} | {mean_std(points, 'acc', '.4f')} | {mean_std(points, 'ebops', ',.0f')} | "
              f"{mean_std(points, 'adder_bits', ',.0f')} | {mean_std(points, 'est_luts', ',.0f')} | "
              f"{mean_std(points, 'est_ffs', ',.0f')} |", flush=True)
    every = [p for points in results.values() for p in points]
    print(f"\nEBOPs calibration over {len(every)} models: Pearson r = "
          f"{bench.pearson([p['ebops'] for p in every], [p['adder_bits'] for p in every]):.3f} (adder bits), "
          f"{bench.pearson([p['ebops'] for p in every], [p['est_luts'] for p in every]):.3f} (estimated LUTs)")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    if args.yosys:
        os.nice(19 - os.nice(0))
        cache = Path("docs/img/qat_digits_yosys.json")
        bench.run_reports(cache, lambda: None)
        measured = json.loads(cache.read_text())
        for label, points in results.items():
            y = measured.get(points[0]["design"])
            if y:
                print(f"| {label}, seed 0 | {points[0]['acc']:.3f} | {points[0]['est_luts']:,} | {y['luts']:,} / "
                      f"{y['ffs']:,} |")


if __name__ == "__main__":
    main()
