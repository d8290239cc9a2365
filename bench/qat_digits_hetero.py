"""Heterogeneous (trainable per-weight) widths started from several bit widths, each beside
uniform QAT at that width with the same recipe (bench/qat_digits.py's MLP, data, training and
low-bit recipe), on the digits MLP. By hand:

    PYTHONPATH=build/python /usr/bin/python3 bench/qat_digits_hetero.py [--bits 3 4 5 6] [--beta 2e-6]

Prints one Markdown row per model: test accuracy of the firmware (bit-exact with PyTorch, as
qat_digits.py checks), EBOPs, Verilog adder bits and the `tachyon report --estimate`
LUTs/FFs/cycles. Seconds per model; no Yosys (qat_digits.py measures the 6-bit pair)."""
import argparse

import torch

import qat_digits as bench
from tachyon.qat import EbopsMeter


def trained(bits, beta, xtr, ytr, epochs):
    torch.manual_seed(0)
    model = bench.mlp(bits, trainable=beta > 0)
    lr = bench.low_bit_start(model, bits)
    meter = EbopsMeter(model)
    bench.train(model, xtr, ytr, epochs, beta=beta, meter=meter, lr=lr)
    model(torch.from_numpy(xtr).float())   # the EBOPs of the final weights
    return model, float(meter.ebops())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bits", type=int, nargs="*", default=[3, 4, 5, 6])
    ap.add_argument("--beta", type=float, default=2e-6)
    ap.add_argument("--epochs", type=int, default=20)
    args = ap.parse_args()
    xtr, xte, ytr, yte = bench.data()
    print("| start bits | widths | acc | EBOPs | adder bits | est. LUT / FF / cycles |")
    print("|---|---|---|---|---|---|")
    for bits in args.bits:
        for label, beta in [("uniform", 0.0), ("heterogeneous", args.beta)]:
            model, ebops = trained(bits, beta, xtr, ytr, args.epochs)
            p = bench.qat_point(model, f"mlp_{label}{bits}", xte, yte, False, False)
            print(f"| {bits} | {label} | {p['acc']:.3f} | {ebops:,.0f} | {p['adder_bits']:,} | {bench._est(p)} |",
                  flush=True)


if __name__ == "__main__":
    main()
