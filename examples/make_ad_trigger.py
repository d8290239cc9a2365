#!/usr/bin/python3
"""The anomaly-detection trigger example of docs/trigger.md (an autoencoder in the style of
the CMS L1 AD triggers): a small dense autoencoder trained with PyTorch on a synthetic
"zero-bias" background, exported to ONNX, with a menu whose score is the reconstruction
MSE computed on the bit-exact fixed-point outputs.

Usage: /usr/bin/python3 examples/make_ad_trigger.py OUTDIR
Writes OUTDIR/ad.onnx, ad.yml (precision, 200 MHz), ad_mse.onnx + ad_mse.yml (the same
autoencoder with its MSE inside the graph), menu.yml (both), and the samples
background.h5:events (1,000,000 events x 16 features) and signal_{shift,wide,spike}.h5:events
(20,000 each). Deterministic (fixed seeds). Then:
    tachyon trigger OUTDIR/menu.yml --background OUTDIR/background.h5:events \\
        --signal shift=OUTDIR/signal_shift.h5:events --signal wide=OUTDIR/signal_wide.h5:events \\
        --signal spike=OUTDIR/signal_spike.h5:events --target-rate 1kHz --latency-budget 48ns -o OUTDIR/study
"""
import os
import sys

import h5py
import numpy as np
import torch

FEATURES = 16


def background(rng, n, mix):
    """Correlated Gaussian features: 4 latent factors mixed into 16 observables, plus noise."""
    z = rng.normal(0, 1, (n, 4))
    return z @ mix + 0.3 * rng.normal(0, 1, (n, FEATURES))


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "build/ad_trigger"
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(11)
    torch.manual_seed(11)
    mix = rng.normal(0, 0.6, (4, FEATURES))
    bg = background(rng, 1_000_000, mix)
    # Signals: a shifted mean, a broader spread, and a few features far out ("spike").
    shift = background(rng, 20_000, mix) + 0.4
    wide = background(rng, 20_000, mix) * 1.4
    spike = background(rng, 20_000, mix)
    spike[np.arange(20_000), rng.integers(0, FEATURES, 20_000)] += 2.5

    # Shallow, so that it fits a 48 ns budget at 200 MHz: 16 -> 6 -> 16.
    model = torch.nn.Sequential(torch.nn.Linear(FEATURES, 6), torch.nn.ReLU(), torch.nn.Linear(6, FEATURES))
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    x = torch.tensor(bg[:200_000], dtype=torch.float32)
    for epoch in range(8):
        for i in torch.randperm(len(x)).split(512):
            opt.zero_grad()
            loss = ((model(x[i]) - x[i]) ** 2).mean()
            loss.backward()
            opt.step()
    print(f"training MSE {loss.item():.4f}")
    torch.onnx.export(model.eval(), torch.zeros(1, FEATURES), os.path.join(out, "ad.onnx"), input_names=["x"])
    # The same autoencoder with its reconstruction MSE inside the graph (Sub, Pow, ReduceMean):
    # the whole trigger score in the firmware.
    class WithMse(torch.nn.Module):
        def __init__(self, ae):
            super().__init__()
            self.ae = ae

        def forward(self, x):
            return ((x - self.ae(x)) ** 2).mean(-1, keepdim=True)

    torch.onnx.export(WithMse(model).eval(), torch.zeros(1, FEATURES), os.path.join(out, "ad_mse.onnx"),
                      input_names=["x"])

    for name, data in (("background", bg), ("signal_shift", shift), ("signal_wide", wide), ("signal_spike", spike)):
        with h5py.File(os.path.join(out, f"{name}.h5"), "w") as f:
            f.create_dataset("events", data=data.astype(np.float32), chunks=(65536 if len(data) > 65536 else len(data),
                                                                             FEATURES))
    with open(os.path.join(out, "ad.yml"), "w") as f:
        f.write("IOType: io_parallel\nClockPeriod: 5\nModel:\n  Precision:\n    default: ap_fixed<12,5,AP_RND,AP_SAT>\n"
                "    weight: ap_fixed<8,3,AP_RND,AP_SAT>\n    bias: ap_fixed<8,3,AP_RND,AP_SAT>\n    accum: auto\n"
                "  ReuseFactor: 1\n  Strategy: Latency\n")
    # The squares and their mean need more bits than the activations.
    with open(os.path.join(out, "ad_mse.yml"), "w") as f:
        f.write(open(os.path.join(out, "ad.yml")).read() + "LayerName:\n"
                "  Pow:\n    Precision:\n      result: ap_fixed<18,7,AP_RND,AP_SAT>\n"
                "  ReduceMean:\n    Precision:\n      result: ap_fixed<18,5,AP_RND,AP_SAT>\n")
    with open(os.path.join(out, "menu.yml"), "w") as f:
        f.write("bunches: 2544\nalgorithms:\n  - name: ad\n    model: ad.onnx\n    config: ad.yml\n"
                "    score: \"mse(input, output)\"\n"
                "  - name: ad_fw\n    model: ad_mse.onnx\n    config: ad_mse.yml\n    score: \"out[0]\"\n")


if __name__ == "__main__":
    main()
