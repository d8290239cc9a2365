"""tachyon.qat on real data: scikit-learn's 8x8 digits (Debian python3-sklearn). Run by hand:

    PYTHONPATH=build/python /usr/bin/python3 bench/qat_digits.py [--out DIR] [--epochs N] [--report BITS...]

Curves (test accuracy of the *firmware*, i.e. tachyon.load(...).predict on the exported or
configured model; every QAT point also checks that it equals PyTorch's float64 forward):
  - MLP 64-32-16-10 and CNN (conv 3x3 x8, pool, conv 3x3 x16, dense): accuracy vs bit width
    2..16 for QAT, for the float model quantised uniformly (ap_fixed<b, 4, RND, SAT>
    everywhere) and for `tachyon.auto_precision` with max_bits b (PTQ);
  - a pruning sweep (QAT 8 bits, polynomial-decay magnitude pruning to 0..90%);
  - a BNN (binary weights and activations);
  - heterogeneous (trainable per-weight fractional bits + EBOPs loss) vs uniform QAT.
Each point has the Verilog adder bits (instant); points listed in --report (bit widths,
'prune', 'bnn', 'hetero'; 'all' for every point) also get Yosys' LUTs/FFs/latency from
`tachyon report` (minutes each). Yosys runs after all the training, at nice 19, smallest
design first, one at a time (also across concurrent runs: a lock file); each result is
stored in DIR/qat_digits_yosys.json under a hash of the Verilog sources (a rerun, which
retrains deterministically, reuses it) and the table is rewritten after every point, so an
interrupted sweep keeps what it measured and a rerun resumes.
Writes DIR/qat_digits.json, DIR/qat_digits.md (the table) and PNG plots.
"""
import argparse
import fcntl
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn

import tachyon
from tachyon.qat import (BinaryQuantizer, EbopsMeter, FixedQuantizer, PolynomialDecay, Pruner, QAct, QBatchNorm,
                         QConv2d, QLinear, QReLU, export)

WORK = Path(tempfile.mkdtemp(prefix="qat_digits_"))


def data():
    d = load_digits()
    x = (d.data / 16.0).astype(np.float64)
    return train_test_split(x, d.target, test_size=0.3, random_state=0, stratify=d.target)


def fq(bits, integer, signed=True):
    return FixedQuantizer(bits, integer, signed, rounding="RND", overflow="SAT")


def ranges(bits):
    """Integer bits (weights, activations): narrower ranges at very low widths, so that a
    2-bit weight is {-1, -0.5, 0, 0.5} rather than {-2, -1, 0, 1}."""
    return (1, 2) if bits <= 4 else (2, 3)


def low_bit_start(model, bits):
    """The 2-3 bit recipe: PyTorch's default initialisation (|w| <~ 1/sqrt(fan_in)) puts
    nearly every weight below half the LSB of ap_fixed<b,1>, so every quantised weight is 0,
    no gradient reaches the inputs and the model stays at chance. Spread the weights over
    the grid (uniform in +-0.5) and train faster. Returns the learning rate."""
    return spread_start(model) if bits <= 3 else 3e-3


def spread_start(model):
    """Weights uniform in +-0.5, learning rate 1e-2 (returned): the low-bit recipe, which
    bench/qat_digits_hetero.py applies at every width (it is better there too)."""
    for m in model.modules():
        if isinstance(m, (QLinear, QConv2d)):
            nn.init.uniform_(m.weight, -0.5, 0.5)
    return 1e-2


def mlp(bits, trainable=False):
    wi, ai = ranges(bits)

    def w(shape):
        return FixedQuantizer(bits, wi, rounding="RND", overflow="SAT", trainable=trainable, shape=shape)
    return nn.Sequential(QAct(fq(max(bits, 2), 1, False)), QLinear(64, 32, weight=w((32, 64)), bias=fq(bits + 4, 4)),
                         QReLU(fq(bits, ai, False)), QLinear(32, 16, weight=w((16, 32)), bias=fq(bits + 4, 4)),
                         QReLU(fq(bits, ai, False)), QLinear(16, 10, weight=w((10, 16)), bias=fq(bits + 4, 4)))


class Cnn(nn.Module):
    def __init__(self, bits):
        super().__init__()
        wi, ai = ranges(bits)
        w = lambda: fq(bits, wi)   # noqa: E731
        self.q = QAct(fq(max(bits, 2), 1, False))
        self.c1 = QConv2d(1, 8, 3, padding=1, weight=w(), bias=fq(bits + 4, 4))
        self.r1 = QReLU(fq(bits, ai, False))
        self.pool = nn.MaxPool2d(2)
        self.c2 = QConv2d(8, 16, 3, weight=w(), bias=fq(bits + 4, 4))
        self.r2 = QReLU(fq(bits, ai, False))
        self.flat = nn.Flatten()
        self.fc = QLinear(16 * 2 * 2, 10, weight=w(), bias=fq(bits + 4, 4))

    def forward(self, x):
        return self.fc(self.flat(self.r2(self.c2(self.pool(self.r1(self.c1(self.q(x))))))))


def bnn():
    return nn.Sequential(QAct(fq(8, 1, False)), QLinear(64, 128, weight=BinaryQuantizer(), use_bias=False),
                         QBatchNorm(128), QAct(BinaryQuantizer()),
                         QLinear(128, 64, weight=BinaryQuantizer(), use_bias=False), QBatchNorm(64),
                         QAct(BinaryQuantizer()), QLinear(64, 10, weight=BinaryQuantizer(0.125)))


class FloatMlp(nn.Sequential):
    def __init__(self):
        super().__init__(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 16), nn.ReLU(), nn.Linear(16, 10))


class FloatCnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(8, 16, 3),
                                  nn.ReLU(), nn.Flatten(), nn.Linear(64, 10))

    def forward(self, x):
        return self.body(x)


def shaped(x, cnn):
    return x.reshape(-1, 1, 8, 8) if cnn else x


def train(model, xtr, ytr, epochs, cnn=False, pruner=None, beta=0.0, meter=None, lr=3e-3, seed=0, beta_ramp=0.0):
    """Adam, batches of 64, shuffled by `seed`. With a resource weight `beta`, the loss adds
    beta * EBOPs; `beta_ramp` > 0 raises beta linearly from 0 over that fraction of the steps
    (the widths shrink once the weights have found their values)."""
    torch.manual_seed(seed)
    x = torch.from_numpy(shaped(xtr, cnn)).float()
    y = torch.from_numpy(ytr).long()
    fracs = [p for n, p in model.named_parameters() if n.endswith("frac")]
    others = [p for n, p in model.named_parameters() if not n.endswith("frac")]
    groups = [{"params": others, "lr": lr}] + ([{"params": fracs, "lr": 0.05}] if fracs else [])
    opt = torch.optim.Adam(groups)
    model.train()
    steps, step = epochs * ((len(x) + 63) // 64), 0
    for _ in range(epochs):
        perm = torch.randperm(len(x))
        for k in range(0, len(x), 64):
            idx = perm[k:k + 64]
            loss = nn.functional.cross_entropy(model(x[idx]), y[idx])
            if beta:
                ramp = min(1.0, step / (beta_ramp * steps)) if beta_ramp > 0 else 1.0
                loss = loss + beta * ramp * meter.ebops()
            step += 1
            opt.zero_grad()
            loss.backward()
            opt.step()
            if pruner:
                pruner.step()
    return model.eval()


# Points whose Yosys figures were asked for: (point dict, Verilog project), measured at the end.
PENDING_REPORTS = []


def hardware(tm, tag, report, point):
    """Fills `point` with the adder bits and latency of the written Verilog project and the
    design's hash; queues the project for Yosys when `report`. Returns `point`."""
    d = WORK / tag
    shutil.rmtree(d, ignore_errors=True)
    tm.write_verilog(d)
    proj = json.loads((d / "tachyon_project.json").read_text())
    est = proj["estimate"]   # what `tachyon report --estimate` prints: the netlist's counts, no Yosys
    point.update(adder_bits=sum(a["cse_bits"] for a in proj["cmvm_adders"]), latency_cycles=proj["latency_cycles"],
                 est_luts=est["luts"], est_ffs=est["ffs"], design=design_hash(d))
    if report:
        PENDING_REPORTS.append((point, d))
    return point


def design_hash(project):
    """Identifies a design by its Verilog sources without comments (retraining reproduces them
    bit for bit; the header comment names the temporary ONNX file, which changes per run)."""
    h = hashlib.sha256()
    for f in sorted(project.rglob("*.v")):
        code = [line for line in f.read_text().splitlines() if not line.lstrip().startswith("//")]
        h.update(f.relative_to(project).as_posix().encode() + b"\0" + "\n".join(code).encode())
    return h.hexdigest()


def run_reports(cache_path, save):
    """Yosys on every queued project, one at a time, cached by design hash: first the uniform
    vs heterogeneous pair (the claim "fewer LUTs at the same accuracy" rests on it), then the
    rest smallest first."""
    lock_path = Path(tempfile.gettempdir()) / "qat_digits_yosys.lock"
    first = {"mlp_uniform", "mlp_hetero"}
    for point, project in sorted(PENDING_REPORTS, key=lambda pd: (pd[1].name not in first, pd[0]["est_luts"])):
        key = point["design"]
        # One Yosys at a time on the machine, even across concurrent runs of this script.
        with open(lock_path, "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            cache = json.loads(cache_path.read_text()) if cache_path.exists() else {}
            if key not in cache:
                t = time.time()
                try:
                    r = tachyon.report(project)
                except tachyon.TachyonError as e:   # keep measuring the others; the table shows '-'
                    print("yosys failed on", project.name, e, flush=True)
                    continue
                cache[key] = dict(luts=r["luts"], ffs=r["ffs"], latency_cycles=r["latency_cycles"],
                                  clock_ns=r["clock_ns"], yosys_s=round(time.time() - t, 1))
                write_whole(cache_path, json.dumps(cache, indent=1, sort_keys=True))
                print("yosys", project.name, cache[key], flush=True)
        save()


def merge_measured(results, cache_path):
    """Yosys figures of the cache for every point whose design was measured."""
    cache = json.loads(cache_path.read_text()) if cache_path.exists() else {}
    for p in all_points(results):
        if p and p.get("design") in cache:
            p.update({k: v for k, v in cache[p["design"]].items() if k != "yosys_s"})


def qat_point(model, tag, xte, yte, cnn, report):
    """Exports, loads in Tachyon, checks bit-exactness against PyTorch, measures."""
    model = model.double().eval()
    path = WORK / f"{tag}.onnx"
    yml = export(model, torch.zeros(1, *shaped(xte[:1], cnn).shape[1:], dtype=torch.float64), path)
    tm = tachyon.load(path, config=yml)
    xs = shaped(xte, cnn)
    got = tm.predict(xs)
    with torch.no_grad():
        want = model(torch.from_numpy(xs)).numpy()
    if not np.array_equal(got, want):
        sys.exit(f"{tag}: Tachyon differs from PyTorch on {int((got != want).sum())} outputs")
    return hardware(tm, tag, report, {"acc": float((got.argmax(1) == yte).mean())})


def ptq_points(fmodel, tag, xtr, xte, yte, bits, cnn, report):
    path = WORK / f"{tag}.onnx"
    xs = shaped(xte, cnn)
    torch.onnx.export(fmodel.float().eval(), torch.zeros(1, *xs.shape[1:]), str(path))
    out = {}
    uniform = {"Model": {"Precision": f"ap_fixed<{bits},4,AP_RND,AP_SAT>"}}
    tm = tachyon.load(path, config=uniform)
    out["uniform"] = hardware(tm, f"{tag}_u{bits}", report, {"acc": float((tm.predict(xs).argmax(1) == yte).mean())})
    try:
        ap = tachyon.auto_precision(path, shaped(xtr, cnn), max_bits=max(bits, 2))
    except tachyon.TachyonError as e:   # the ranges need more bits than b: no PTQ point
        out["auto"] = {"acc": None, "why": str(e)}
        return out
    tm = tachyon.load(path, config=ap["config"])
    out["auto"] = hardware(tm, f"{tag}_a{bits}", report, {"acc": float((tm.predict(xs).argmax(1) == yte).mean())})
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="docs/img")
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--bits", type=int, nargs="*", default=list(range(2, 17)))
    ap.add_argument("--report", nargs="*", default=[], help="bit widths (or 'all') that also get Yosys numbers")
    ap.add_argument("--skip-cnn", action="store_true")
    ap.add_argument("--table-only", metavar="JSON", help="only write the table and plots of an earlier run (with the "
                    "Yosys figures measured since)")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.table_only:
        results = json.loads(Path(args.table_only).read_text())
        merge_measured(results, out / "qat_digits_yosys.json")
        plot(results, out)
        (out / "qat_digits.md").write_text(table(results))
        return
    rep = lambda b: "all" in args.report or str(b) in args.report   # noqa: E731
    xtr, xte, ytr, yte = data()
    results = {"qat": {}, "ptq": {}, "pruning": {}, "bnn": None, "hetero": {}, "float": {}}
    t0 = time.time()
    for cnn in ([False] if args.skip_cnn else [False, True]):
        name = "cnn" if cnn else "mlp"
        torch.manual_seed(0)
        fmodel = train(FloatCnn() if cnn else FloatMlp(), xtr, ytr, args.epochs, cnn)
        with torch.no_grad():
            results["float"][name] = float((fmodel(torch.from_numpy(shaped(xte, cnn)).float()).argmax(1).numpy()
                                            == yte).mean())
        for b in args.bits:
            torch.manual_seed(0)
            m = Cnn(b) if cnn else mlp(b)
            m = train(m, xtr, ytr, args.epochs, cnn, lr=low_bit_start(m, b))
            results["qat"].setdefault(name, {})[b] = qat_point(m, f"{name}_qat{b}", xte, yte, cnn, rep(b))
            results["ptq"].setdefault(name, {})[b] = ptq_points(fmodel, f"{name}_float", xtr, xte, yte, b, cnn, rep(b))
            print(name, b, results["qat"][name][b]["acc"], results["ptq"][name][b], f"{time.time() - t0:.0f}s",
                  flush=True)
    for s in [0.0, 0.3, 0.5, 0.7, 0.8, 0.9]:
        torch.manual_seed(0)
        m = mlp(8)
        steps = args.epochs * ((len(xtr) + 63) // 64)
        pr = Pruner(m, PolynomialDecay(0.0, s, 0, max(steps // 2, 2), frequency=10)) if s else None
        train(m, xtr, ytr, args.epochs, pruner=pr)
        p = qat_point(m, f"mlp_prune{int(s * 100)}", xte, yte, False, "prune" in args.report or "all" in args.report)
        p["sparsity"] = pr.sparsity() if pr else 0.0
        results["pruning"][s] = p
        print("prune", s, p, flush=True)
    torch.manual_seed(0)
    results["bnn"] = qat_point(train(bnn(), xtr, ytr, args.epochs), "bnn", xte, yte, False,
                               "bnn" in args.report or "all" in args.report)
    print("bnn", results["bnn"], flush=True)
    for label, beta in [("uniform", 0.0), ("hetero", 2e-6)]:
        torch.manual_seed(0)
        m = mlp(6, trainable=beta > 0)
        meter = EbopsMeter(m)
        train(m, xtr, ytr, args.epochs, beta=beta, meter=meter)
        m(torch.from_numpy(xtr).float())
        p = qat_point(m, f"mlp_{label}", xte, yte, False, "hetero" in args.report or "all" in args.report)
        p["ebops"] = float(meter.ebops())
        results["hetero"][label] = p
        print(label, p, flush=True)
    save(results, out)
    if PENDING_REPORTS:
        os.nice(19 - os.nice(0))   # Yosys runs for hours on a shared machine: lowest priority
        run_reports(out / "qat_digits_yosys.json", lambda: save(results, out))
    print(f"done in {time.time() - t0:.0f} s; {out}/qat_digits.json and PNGs")


def save(results, out):
    """Writes the results, table and plots; each file replaced whole (a run may be stopped)."""
    merge_measured(results, out / "qat_digits_yosys.json")
    write_whole(out / "qat_digits.json", json.dumps(results, indent=1))
    plot(results, out)
    write_whole(out / "qat_digits.md", table(results))


def write_whole(path, text):
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _hw(p):
    """acc | adder bits | estimate LUT/FF/cycles | Yosys LUT/FF (or '-' while not measured)."""
    if p is None or p.get("acc") is None:
        return "n/a | | | "
    yosys = f"{p['luts']:,} / {p['ffs']:,}" if "luts" in p else "-"
    return f"{p['acc']:.3f} | {p['adder_bits']:,} | {_est(p)} | {yosys}"


def _est(p):
    return f"{p['est_luts']:,} / {p['est_ffs']:,} / {p['latency_cycles']}" if "est_luts" in p else "-"


def table(results):
    """Markdown: accuracy, Verilog adder bits, the `report --estimate` LUT/FF/cycles of every
    point, Yosys LUT/FF where measured, and the estimate-vs-Yosys agreement."""
    lines = []
    variant = " acc | adder bits | est. LUT / FF / cycles | Yosys LUT / FF |"
    for name, curves in results["qat"].items():
        lines += [f"**{name.upper()}** (float: {results['float'][name]:.3f})", "",
                  "| bits | QAT" + variant + " PTQ uniform" + variant + " PTQ auto" + variant, "|---" * 13 + "|"]
        for b in sorted(curves, key=int):
            ptq = results["ptq"][name][b]
            lines.append(f"| {b} | {_hw(curves[b])} | {_hw(ptq['uniform'])} | {_hw(ptq['auto'])} |")
        lines.append("")
    lines += ["**Pruning** (MLP, 8-bit QAT, polynomial decay)", "",
              "| target | sparsity | acc | adder bits | est. LUT / FF / cycles | Yosys LUT / FF |", "|---" * 6 + "|"]
    for s, p in sorted(results["pruning"].items(), key=lambda kv: float(kv[0])):
        lines.append(f"| {float(s):.1f} | {p['sparsity']:.3f} | {_hw(p)} |")
    b = results["bnn"]
    lines += ["", "**BNN and heterogeneous widths** (MLP)", "",
              "| model | acc | adder bits | est. LUT / FF / cycles | Yosys LUT / FF | EBOPs |", "|---" * 6 + "|",
              f"| BNN 64-128-64-10 | {_hw(b)} | |"]
    for label, p in results["hetero"].items():
        lines.append(f"| {label} 6-bit QAT | {_hw(p)} | {p['ebops']:,.0f} |")
    lines += ["", measured_summary(results), "", agreement_table(results)]
    return "\n".join(lines) + "\n"


def labelled_points(results):
    """(label, point) for every point of the sweep."""
    for name, curves in results["qat"].items():
        for b, p in curves.items():
            yield f"{name} QAT {b}", p
    for name, per_bits in results["ptq"].items():
        for b, both in per_bits.items():
            for kind, p in both.items():
                yield f"{name} PTQ {kind} {b}", p
    for s, p in results["pruning"].items():
        yield f"mlp prune {float(s):.1f}", p
    yield "BNN", results["bnn"]
    for label, p in results["hetero"].items():
        yield f"mlp {label} 6", p


def measured_designs(results):
    """(labels, point) per distinct design with both the estimate and Yosys figures (the
    uniform 6-bit QAT model of the heterogeneous comparison is the 6-bit QAT point)."""
    by_design = {}
    for label, p in labelled_points(results):
        if p and "luts" in p and "est_luts" in p:
            by_design.setdefault(p["design"], ([], p))[0].append(label)
    return [(" = ".join(labels), p) for labels, p in by_design.values()]


def all_points(results):
    for _, p in labelled_points(results):
        yield p


def pearson(a, b):
    return float(np.corrcoef(np.array(a, dtype=float), np.array(b, dtype=float))[0, 1])


def measured_summary(results):
    """How many points have Yosys figures, and how well the instant estimate predicts them:
    the correlation over every measured design with logic, and the estimate/Yosys ratios
    apart for the uniform-PTQ designs (narrow accumulators: serial saturating chains, see
    docs/qat.md) and the rest (exact accumulators: the shift-add adders)."""
    labelled = [(label, p) for label, p in labelled_points(results) if p and p.get("acc") is not None]
    estimated = [p for _, p in labelled if "est_luts" in p]
    measured = measured_designs(results)
    text = (f"Estimates (`tachyon report --estimate`) for {len(estimated)} of {len(labelled)} points; Yosys LUT/FF "
            f"measured for {len([1 for _, p in labelled if 'luts' in p])} ({len(measured)} distinct designs).")
    logic = [p for _, p in measured if p["luts"] > 0]
    if len(logic) >= 3:
        text += (f" Over the {len(logic)} measured designs with logic, Pearson r(estimated, Yosys) = "
                 f"{pearson([p['est_luts'] for p in logic], [p['luts'] for p in logic]):.3f} for LUTs and "
                 f"{pearson([p['est_ffs'] for p in logic], [p['ffs'] for p in logic]):.3f} for FFs.")
    for name, group in [("exact-accumulator designs (QAT, pruned, BNN, heterogeneous, PTQ auto)",
                         [p for label, p in measured if "PTQ uniform" not in label and p["luts"] > 0]),
                        ("uniform-PTQ designs (narrow accumulators)",
                         [p for label, p in measured if "PTQ uniform" in label and p["luts"] > 0])]:
        if group:
            lut = [p["est_luts"] / p["luts"] for p in group]
            ff = [p["est_ffs"] / p["ffs"] for p in group]
            text += (f" Estimate/Yosys on the {len(group)} {name}: LUTs {min(lut):.2f}-{max(lut):.2f}, "
                     f"FFs {min(ff):.2f}-{max(ff):.2f}")
            if len(group) >= 3:
                text += (f"; r = {pearson([p['est_luts'] for p in group], [p['luts'] for p in group]):.3f} (LUTs), "
                         f"{pearson([p['est_ffs'] for p in group], [p['ffs'] for p in group]):.3f} (FFs)")
            text += "."
    return text


def agreement_table(results):
    """The estimate beside Yosys on every measured point (latency: Yosys' report reads the
    same pipeline depth the writer recorded)."""
    rows = measured_designs(results)
    lines = ["**Estimate vs Yosys** (measured points)", "",
             "| point | adder bits | est. LUTs | Yosys LUTs | est./Yosys | est. FFs | Yosys FFs | est./Yosys | cycles |",
             "|---" * 9 + "|"]
    ratio = lambda a, b: f"{a / b:.2f}" if b else "-"   # noqa: E731
    for label, p in sorted(rows, key=lambda lp: lp[1]["luts"]):
        lines.append(f"| {label} | {p['adder_bits']:,} | {p['est_luts']:,} | {p['luts']:,} | "
                     f"{ratio(p['est_luts'], p['luts'])} | {p['est_ffs']:,} | {p['ffs']:,} | "
                     f"{ratio(p['est_ffs'], p['ffs'])} | {p['latency_cycles']} |")
    return "\n".join(lines)


def plot(results, out):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    for name, curves in results["qat"].items():
        bits = sorted(curves, key=int)
        xs = [int(b) for b in bits]
        fig, ax = plt.subplots(figsize=(6, 4))
        ax.plot(xs, [curves[b]["acc"] for b in bits], "o-", label="QAT (tachyon.qat)")
        ax.plot(xs, [results["ptq"][name][b]["uniform"]["acc"] for b in bits], "s--", label="PTQ uniform ap_fixed<b,4>")
        auto = [(int(b), results["ptq"][name][b]["auto"]["acc"]) for b in bits if results["ptq"][name][b]["auto"]["acc"]]
        ax.plot([b for b, _ in auto], [a for _, a in auto], "^:", label="PTQ auto_precision (max_bits b)")
        ax.axhline(results["float"][name], color="gray", lw=0.8, label="float")
        ax.set_xlabel("bit width b")
        ax.set_ylabel("test accuracy (Tachyon firmware)")
        ax.set_title(f"digits {name.upper()}: QAT vs PTQ")
        ax.legend()
        fig.tight_layout()
        fig.savefig(out / f"qat_digits_{name}_bits.png", dpi=110)
        plt.close(fig)
    pr = results["pruning"]
    s = sorted(pr, key=float)
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot([pr[k]["sparsity"] for k in s], [pr[k]["acc"] for k in s], "o-", label="accuracy")
    ax2 = ax.twinx()
    ax2.plot([pr[k]["sparsity"] for k in s], [pr[k]["adder_bits"] for k in s], "s--", color="C1", label="adder bits")
    ax.set_xlabel("sparsity")
    ax.set_ylabel("test accuracy")
    ax2.set_ylabel("Verilog adder bits")
    ax.set_title("digits MLP, 8-bit QAT + magnitude pruning")
    fig.tight_layout()
    fig.savefig(out / "qat_digits_pruning.png", dpi=110)
    plt.close(fig)
    plot_hardware(results, out, plt)


def plot_hardware(results, out, plt):
    """Accuracy against the estimated LUTs of every MLP point (what the sweep trades), and
    the estimate against Yosys on the measured points."""
    if not all("est_luts" in p for p in all_points(results) if p and p.get("acc") is not None):
        return   # results of a run before the estimate was recorded
    fig, ax = plt.subplots(figsize=(7, 4.5))
    curves = results["qat"]["mlp"]
    series = [("QAT", [curves[b] for b in sorted(curves, key=int)], "o-"),
              ("PTQ uniform", [results["ptq"]["mlp"][b]["uniform"] for b in sorted(curves, key=int)], "s--"),
              ("PTQ auto", [results["ptq"]["mlp"][b]["auto"] for b in sorted(curves, key=int)], "^:"),
              ("QAT 8 bits, pruned", [results["pruning"][k] for k in sorted(results["pruning"], key=float)], "d-."),
              ("BNN", [results["bnn"]], "*"), ("uniform 6-bit QAT", [results["hetero"]["uniform"]], "P"),
              ("heterogeneous", [results["hetero"]["hetero"]], "X")]
    for label, pts, style in series:
        pts = [p for p in pts if p.get("acc") is not None and p["est_luts"] > 0]
        ax.plot([p["est_luts"] for p in pts], [p["acc"] for p in pts], style, label=label, ms=8 if len(pts) == 1 else 5)
    ax.set_xscale("log")
    ax.set_xlabel("LUTs (tachyon report --estimate)")
    ax.set_ylabel("test accuracy (Tachyon firmware)")
    ax.set_title("digits MLP: accuracy vs estimated LUTs")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "qat_digits_mlp_luts.png", dpi=110)
    plt.close(fig)
    measured = [(label, p) for label, p in measured_designs(results) if p["luts"] > 0]
    if not measured:
        return
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2))
    for ax, est, real, what in [(axes[0], "est_luts", "luts", "LUTs"), (axes[1], "est_ffs", "ffs", "FFs")]:
        for uniform, style, name in [(True, "s", "PTQ uniform (narrow accumulators)"),
                                     (False, "o", "QAT, pruned, BNN, hetero, PTQ auto")]:
            pts = [p for label, p in measured if ("PTQ uniform" in label) == uniform]
            ax.plot([p[real] for p in pts], [p[est] for p in pts], style, label=name)
        top = max(max(p[real], p[est]) for _, p in measured)
        ax.plot([1, top], [1, top], color="gray", lw=0.8, label="estimate = Yosys")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(f"Yosys {what}")
        ax.set_ylabel(f"estimated {what}")
        ax.legend(fontsize=8)
    fig.suptitle("tachyon report --estimate vs Yosys (measured digits points)")
    fig.tight_layout()
    fig.savefig(out / "qat_digits_estimate_vs_yosys.png", dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
