#!/usr/bin/python3
"""Build Tachyon's attention test fixtures.

Usage: /usr/bin/python3 scripts/make_attention_fixtures.py [OUTDIR]   (default: build/fixtures)

PyTorch single-head self-attention over 8 tokens x 16 features (Linear Q, K, V projections,
softmax(Q.K^T / sqrt(d)) . V, output Linear), exported to ONNX (opset 17, where nn.LayerNorm is one LayerNormalization node) with a batch of
one, with <name>.onnx, <name>_X.npy (1000 random N(0,1) rows, [tokens, features]
flattened) and <name>_Y.npy (torch's outputs in float64, flattened per row). The two
products between activations are ONNX MatMuls whose operands are both non-constant.
attn_encoder_block: that attention (16 -> 16) in a post-norm encoder block with
LayerNorm, residual additions and a ReLU FFN of 32.
keras_layernorm: a Keras 2 model (JSON + H5 written with h5py; Keras is not installed)
with two LayerNormalization layers, its reference computed in numpy.
keras_mha: a Keras 2 MultiHeadAttention (2 heads, key_dim 8, value_dim 6, output_shape 12)
as self-attention after a Dense, its reference computed in numpy from Keras' einsums.
attn_mha: nn.MultiheadAttention (16 features, 2 heads, batch_first) as self-attention, with its
parameters also as attn_mha_{in_proj,out_proj}_{weight,bias}.npy.
attn_encoder_post / attn_encoder_pre: nn.TransformerEncoderLayer (16 features, 2 heads, FFN
32, relu, batch_first) with norm_first False / True; attn_encoder_gelu: the pre-norm layer
with activation='gelu' (its export has an Erf node); attn_encoder_stack: nn.TransformerEncoder
of two such layers with 4 heads; attn_bare_erf.onnx: erf(x) * 2 (ONNX only).

Everything is deterministic (fixed seeds, single thread); rerunning rewrites the same files.
"""
import math
import os

import numpy as np
import torch
from make_fixtures import ROWS, export_onnx, make_fixture_set, save_xy, torch_fixture, write_keras_model
from torch import nn

STAMP = "attention_fixtures.stamp"
VERSION = "5"


class SingleHeadAttention(nn.Module):
    def __init__(self, tokens=8, features=16, head=8):
        super().__init__()
        self.shape = (tokens, features)
        self.q = nn.Linear(features, head)
        self.k = nn.Linear(features, head)
        self.v = nn.Linear(features, head)
        self.out = nn.Linear(head, features)
        self.scale = 1.0 / math.sqrt(head)

    def forward(self, x):
        q = self.q(x) * self.scale
        k = self.k(x)
        v = self.v(x)
        a = torch.softmax(q @ k.transpose(-1, -2), dim=-1)
        return self.out(a @ v)


class EncoderBlock(nn.Module):
    """Post-norm transformer encoder block with one head: LayerNorm(x + attention(x)),
    then LayerNorm(h + FFN(h)), FFN = Linear(16, 32), ReLU, Linear(32, 16)."""

    def __init__(self, tokens=8, features=16, ffn=32):
        super().__init__()
        self.shape = (tokens, features)
        self.attn = SingleHeadAttention(tokens, features, features)
        self.norm1 = nn.LayerNorm(features)
        self.ff1 = nn.Linear(features, ffn)
        self.ff2 = nn.Linear(ffn, features)
        self.norm2 = nn.LayerNorm(features, eps=1e-3)
        with torch.no_grad():   # not the trivial gamma = 1, beta = 0
            for norm in (self.norm1, self.norm2):
                norm.weight.uniform_(0.5, 1.5)
                norm.bias.uniform_(-0.5, 0.5)

    def forward(self, x):
        h = self.norm1(x + self.attn(x))
        return self.norm2(h + self.ff2(torch.relu(self.ff1(h))))


class MultiHeadSelfAttention(nn.Module):
    """nn.MultiheadAttention(16, 2 heads, batch_first) as self-attention: query = key = value."""

    def __init__(self, tokens=8, features=16, heads=2):
        super().__init__()
        self.shape = (tokens, features)
        self.attn = nn.MultiheadAttention(features, heads, batch_first=True)
        with torch.no_grad():   # PyTorch initialises the biases to 0
            self.attn.in_proj_bias.uniform_(-0.5, 0.5)
            self.attn.out_proj.bias.uniform_(-0.5, 0.5)

    def forward(self, x):
        return self.attn(x, x, x, need_weights=False)[0]


class TorchEncoderLayer(nn.Module):
    """nn.TransformerEncoderLayer(16, 2 heads, FFN 32, batch_first, no dropout), post-norm
    (norm_first False) or pre-norm (norm_first True)."""

    def __init__(self, tokens=8, features=16, heads=2, ffn=32, norm_first=False, activation="relu"):
        super().__init__()
        self.shape = (tokens, features)
        self.layer = nn.TransformerEncoderLayer(features, heads, ffn, dropout=0.0, activation=activation,
                                                batch_first=True, norm_first=norm_first)
        with torch.no_grad():   # not the trivial gamma = 1, beta = 0, zero projection biases
            for norm in (self.layer.norm1, self.layer.norm2):
                norm.weight.uniform_(0.5, 1.5)
                norm.bias.uniform_(-0.5, 0.5)
            self.layer.self_attn.in_proj_bias.uniform_(-0.5, 0.5)
            self.layer.self_attn.out_proj.bias.uniform_(-0.5, 0.5)

    def forward(self, x):
        return self.layer(x)


class TorchEncoderStack(nn.Module):
    """nn.TransformerEncoder of two pre-norm gelu layers with 4 heads (8 tokens x 16 features)."""

    def __init__(self, tokens=8, features=16, heads=4, ffn=32, layers=2):
        super().__init__()
        self.shape = (tokens, features)
        layer = nn.TransformerEncoderLayer(features, heads, ffn, dropout=0.0, activation="gelu", batch_first=True,
                                           norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers=layers, enable_nested_tensor=False)
        with torch.no_grad():
            for block in self.encoder.layers:
                for norm in (block.norm1, block.norm2):
                    norm.weight.uniform_(0.5, 1.5)
                    norm.bias.uniform_(-0.5, 0.5)
                block.self_attn.in_proj_bias.uniform_(-0.5, 0.5)

    def forward(self, x):
        return self.encoder(x)


class BareErf(nn.Module):
    def forward(self, x):
        return torch.erf(x) * 2.0


TORCH_MODELS = {"attn_single_head": SingleHeadAttention, "attn_encoder_block": EncoderBlock,
                "attn_mha": MultiHeadSelfAttention,
                "attn_encoder_post": lambda: TorchEncoderLayer(norm_first=False),
                "attn_encoder_pre": lambda: TorchEncoderLayer(norm_first=True),
                "attn_encoder_gelu": lambda: TorchEncoderLayer(norm_first=True, activation="gelu"),
                "attn_encoder_stack": TorchEncoderStack}


def make_torch_fixture(name, make, outdir, seed):
    model = torch_fixture(name, make, outdir, seed, opset=17)   # untrained
    if isinstance(model, MultiHeadSelfAttention):
        # The parameters as 2-D arrays, for the per-head fixed-point reference of the tests.
        a = model.attn
        for key, t in (("in_proj_weight", a.in_proj_weight), ("in_proj_bias", a.in_proj_bias),
                       ("out_proj_weight", a.out_proj.weight), ("out_proj_bias", a.out_proj.bias)):
            np.save(os.path.join(outdir, "%s_%s.npy" % (name, key)), t.detach().numpy().reshape(-1, t.shape[-1]))


def make_keras_layernorm_fixture(name, outdir, seed, tokens=8, features=16):
    """Keras 2 layout written with h5py: Dense(16) -> LayerNormalization (center, scale,
    epsilon 1e-3) -> Dense(8) -> LayerNormalization (no center, epsilon 1e-5), the
    reference computed here in numpy from Keras' definition (population variance)."""

    rng = np.random.default_rng(seed)
    spec = [("Dense", {"units": 16, "activation": "linear"}),
            ("LayerNormalization", {"axis": [-1], "epsilon": 1e-3, "center": True, "scale": True}),
            ("Dense", {"units": 8, "activation": "relu"}),
            ("LayerNormalization", {"axis": -1, "epsilon": 1e-5, "center": False, "scale": True})]
    layers = [{"class_name": "InputLayer", "name": "in", "inbound_nodes": [],
               "config": {"name": "in", "batch_input_shape": [None, tokens, features], "dtype": "float32"}}]
    weights = {}
    prev, width = "in", features
    for k, (cls, cfg) in enumerate(spec):
        lname = "%s_%d" % (cls.lower(), k)
        cfg = dict(cfg, name=lname)
        if cls == "Dense":
            n = cfg["units"]
            w = {"kernel:0": rng.standard_normal((width, n)) * 0.5, "bias:0": rng.standard_normal(n) * 0.3}
            width = n
        else:
            w = {"gamma:0": rng.uniform(0.5, 1.5, width)}
            if cfg["center"]:
                w["beta:0"] = rng.uniform(-0.5, 0.5, width)
        weights[lname] = {key: v.astype(np.float32) for key, v in w.items()}
        layers.append({"class_name": cls, "name": lname, "config": cfg, "inbound_nodes": [[[prev, 0, 0, {}]]]})
        prev = lname
    write_keras_model(outdir, name, layers, weights, ["in"], [prev])
    X = rng.standard_normal((ROWS, tokens * features))
    y = X.reshape(ROWS, tokens, features)
    for k, (cls, cfg) in enumerate(spec):
        w = {key: v.astype(np.float64) for key, v in weights["%s_%d" % (cls.lower(), k)].items()}
        if cls == "Dense":
            y = y @ w["kernel:0"] + w["bias:0"]
            if cfg["activation"] == "relu":
                y = np.maximum(y, 0)
        else:
            mean = y.mean(axis=-1, keepdims=True)
            var = ((y - mean) ** 2).mean(axis=-1, keepdims=True)
            y = (y - mean) / np.sqrt(var + cfg["epsilon"]) * w["gamma:0"] + w.get("beta:0", 0.0)
    save_xy(outdir, name, X, y.reshape(ROWS, -1))


def make_keras_mha_fixture(name, outdir, seed, tokens=8, features=16, heads=2, key_dim=8, value_dim=6, out=12):
    """Keras 2 layout written with h5py: Dense(16) -> MultiHeadAttention(num_heads 2, key_dim 8,
    value_dim 6, output_shape 12) called as self-attention (query = value = key), the
    reference an independent numpy evaluation of Keras' einsums (query scaled by
    1/sqrt(key_dim) after its bias, softmax over the key tokens)."""
    rng = np.random.default_rng(seed)
    mha_cfg = {"name": "mha", "trainable": True, "dtype": "float32", "num_heads": heads, "key_dim": key_dim,
               "value_dim": value_dim, "dropout": 0.1, "use_bias": True, "output_shape": out,
               "attention_axes": [1], "kernel_initializer": {"class_name": "GlorotUniform", "config": {"seed": None}},
               "bias_initializer": {"class_name": "Zeros", "config": {}}, "kernel_regularizer": None,
               "bias_regularizer": None, "activity_regularizer": None, "kernel_constraint": None,
               "bias_constraint": None}
    layers = [{"class_name": "InputLayer", "name": "in", "inbound_nodes": [],
               "config": {"name": "in", "batch_input_shape": [None, tokens, features], "dtype": "float32"}},
              {"class_name": "Dense", "name": "embed", "config": {"name": "embed", "units": features, "activation": "linear"},
               "inbound_nodes": [[["in", 0, 0, {}]]]},
              {"class_name": "MultiHeadAttention", "name": "mha", "config": mha_cfg,
               "inbound_nodes": [[["embed", 0, 0, {"value": ["embed", 0, 0]}]]]}]
    f = np.float32
    weights = {"embed": {"kernel:0": (rng.standard_normal((features, features)) * 0.4).astype(f),
                         "bias:0": (rng.standard_normal(features) * 0.2).astype(f)},
               "mha": {"query/kernel:0": (rng.standard_normal((features, heads, key_dim)) * 0.3).astype(f),
                       "query/bias:0": (rng.standard_normal((heads, key_dim)) * 0.2).astype(f),
                       "key/kernel:0": (rng.standard_normal((features, heads, key_dim)) * 0.3).astype(f),
                       "key/bias:0": (rng.standard_normal((heads, key_dim)) * 0.2).astype(f),
                       "value/kernel:0": (rng.standard_normal((features, heads, value_dim)) * 0.3).astype(f),
                       "value/bias:0": (rng.standard_normal((heads, value_dim)) * 0.2).astype(f),
                       "attention_output/kernel:0": (rng.standard_normal((heads, value_dim, out)) * 0.3).astype(f),
                       "attention_output/bias:0": (rng.standard_normal(out) * 0.2).astype(f)}}
    write_keras_model(outdir, name, layers, weights, ["in"], ["mha"])
    X = rng.standard_normal((ROWS, tokens * features))
    e = {k: v.astype(np.float64) for k, v in weights["embed"].items()}
    m = {k: v.astype(np.float64) for k, v in weights["mha"].items()}
    x = X.reshape(ROWS, tokens, features) @ e["kernel:0"] + e["bias:0"]
    q = np.einsum("abc,cde->abde", x, m["query/kernel:0"]) + m["query/bias:0"]
    k = np.einsum("abc,cde->abde", x, m["key/kernel:0"]) + m["key/bias:0"]
    v = np.einsum("abc,cde->abde", x, m["value/kernel:0"]) + m["value/bias:0"]
    q = q * (1.0 / math.sqrt(key_dim))
    scores = np.einsum("aecd,abcd->acbe", k, q)            # [batch, heads, query tokens, key tokens]
    scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
    probs = scores / scores.sum(axis=-1, keepdims=True)
    context = np.einsum("acbe,aecd->abcd", probs, v)       # [batch, tokens, heads, value_dim]
    y = np.einsum("abcd,cde->abe", context, m["attention_output/kernel:0"]) + m["attention_output/bias:0"]
    save_xy(outdir, name, X, y.reshape(ROWS, -1))


def main():
    def build(tmpdir, outdir):
        import warnings
        warnings.filterwarnings("ignore")
        for i, (name, make) in enumerate(TORCH_MODELS.items()):
            make_torch_fixture(name, make, tmpdir, seed=9400 + i)
        # An Erf that is not part of a GELU (refused by name).
        export_onnx(BareErf().eval(), os.path.join(tmpdir, "attn_bare_erf.onnx"), (8, 16), opset=17)
        make_keras_layernorm_fixture("keras_layernorm", tmpdir, seed=9500)
        make_keras_mha_fixture("keras_mha", tmpdir, seed=9501)
    make_fixture_set(".attention_fixtures_", STAMP, VERSION, build)


if __name__ == "__main__":
    main()
