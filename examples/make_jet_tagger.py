#!/usr/bin/python3
"""Builds Tachyon's bundled example: a 16-64-32-32-5 jet-tagger-shaped MLP (ReLU, softmax),
trained for a few seconds with PyTorch on a synthetic 5-class problem and exported to ONNX.

Usage: /usr/bin/python3 examples/make_jet_tagger.py OUTDIR
Writes OUTDIR/jet_tagger.onnx, OUTDIR/jet_tagger_X.npy (1000 test rows) and
OUTDIR/jet_tagger_Y.npy (PyTorch's float64 outputs for them). Deterministic (fixed seeds).
"""
import os
import sys
from collections import OrderedDict

import numpy as np
import torch


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "build/example"
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    # Synthetic "jets": five Gaussian classes in 16 features.
    centres = rng.normal(0, 1.0, size=(5, 16))
    labels = rng.integers(0, 5, size=20000)
    x = centres[labels] + rng.normal(0, 2.0, size=(20000, 16))
    xt = torch.tensor(x, dtype=torch.float32)
    yt = torch.tensor(labels)
    model = torch.nn.Sequential(OrderedDict([
        ("fc1", torch.nn.Linear(16, 64)), ("relu1", torch.nn.ReLU()),
        ("fc2", torch.nn.Linear(64, 32)), ("relu2", torch.nn.ReLU()),
        ("fc3", torch.nn.Linear(32, 32)), ("relu3", torch.nn.ReLU()),
        ("output", torch.nn.Linear(32, 5)), ("softmax", torch.nn.Softmax(dim=1))]))
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    lossf = torch.nn.NLLLoss()
    for epoch in range(15):
        perm = torch.randperm(len(xt))
        for i in range(0, len(xt), 256):
            idx = perm[i:i + 256]
            opt.zero_grad()
            loss = lossf(torch.log(model(xt[idx]) + 1e-9), yt[idx])
            loss.backward()
            opt.step()
    model.eval()
    path = os.path.join(out, "jet_tagger.onnx")
    torch.onnx.export(model, xt[:1], path, input_names=["input"], output_names=["output"],
                      dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})
    xtest = rng.normal(0, 2.0, size=(1000, 16))
    xtest = centres[rng.integers(0, 5, size=1000)] + xtest
    with torch.no_grad():
        ytest = model.double()(torch.tensor(xtest, dtype=torch.float64)).numpy()
    np.save(os.path.join(out, "jet_tagger_X.npy"), xtest)
    np.save(os.path.join(out, "jet_tagger_Y.npy"), ytest)
    print(f"wrote {path} (16-64-32-32-5) and 1000 test rows")


if __name__ == "__main__":
    main()
