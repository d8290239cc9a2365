#!/usr/bin/python3
"""Keras 3 `.keras` archives of the project's Keras 2 fixtures (tests/test_keras3.cpp).

Keras 3 is not in Debian, so the archives are written here, in the layout read from Keras
3's own source (keras/src/saving/saving_lib.py, the layers' build() methods):
  config.json       the model serialised by serialize_keras_object: "module"/"class_name"/
                    "config"/"registered_name" per object, InputLayer "batch_shape",
                    inbound nodes as {"args": [keras tensors with "keras_history"], "kwargs"}
  metadata.json     keras_version, date_saved
  model.weights.h5  one group per layer addressed by its class name in snake case, numbered
                    when it repeats ("layers/dense", "layers/dense_1"), variables as datasets
                    vars/0, vars/1, ... in creation order (an RNN's under cell/vars)
Each archive holds the same weights as its Keras 2 source, so a test can ask for identical
outputs from both, and the Keras 2 fixtures' float references apply unchanged.

Usage: make_keras3_fixtures.py OUT   (reads OUT/*.json Keras fixtures, writes OUT/keras3/)
Sources: the Keras fixtures (keras_*.json) of make_fixtures.py, make_cnn_fixtures.py,
make_rnn_fixtures.py and make_attention_fixtures.py, make_quant_fixtures.py's QKeras CNN
(quant/qcnn), and the zoo's QKeras/binary/ternary/BatchNorm models when ../shared/models exists.
Also writes the archives the error tests need (bad_*.keras), among them the Keras
MultiHeadAttention fixture of make_attention_fixtures.py, whose sublayers' variables Tachyon
does not read from Keras 3 files.
"""
import io
import json
import os
import re
import sys
import zipfile

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import make_fixture_set  # noqa: E402  main()'s tmpdir/stamp/publish

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ZOO = os.path.join(ROOT, "..", "shared", "models")
STAMP = "keras3_fixtures.stamp"
VERSION = "2"

PROJECT_SOURCES = ["keras_dense", "keras_cnn", "keras_cnn1d", "keras_layernorm", "keras_lstm", "keras_gru",
                   "keras_simplernn", "quant/qcnn"]
ZOO_SOURCES = ["qkeras_3layer", "qkeras_mnist_dense", "KERAS_3layer_binary_smaller", "KERAS_3layer_ternary_small",
               "KERAS_3layer_batch_norm"]


def snake_case(name):
    """keras.src.utils.naming.to_snake_case."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def variable_order(cls, cfg):
    """Keras 2 short names of a layer's Keras 3 variables vars/0, vars/1, ... (creation
    order, trainable first), or None for a layer without variables."""
    bias = ["bias"] if cfg.get("use_bias", True) else []
    if cls in ("Dense", "QDense", "BinaryDense", "TernaryDense", "Conv1D", "Conv2D", "QConv1D", "QConv2D"):
        return ["kernel"] + bias
    if cls in ("DepthwiseConv1D", "DepthwiseConv2D", "QDepthwiseConv2D"):
        return ["depthwise_kernel"] + bias
    if cls in ("SeparableConv1D", "SeparableConv2D"):
        return ["depthwise_kernel", "pointwise_kernel"] + bias
    if cls in ("SimpleRNN", "LSTM", "GRU"):
        return ["kernel", "recurrent_kernel"] + bias
    if cls in ("BatchNormalization", "QBatchNormalization"):
        return ((["gamma"] if cfg.get("scale", True) else []) + (["beta"] if cfg.get("center", True) else []) +
                ["moving_mean", "moving_variance"])
    if cls == "LayerNormalization":
        return (["gamma"] if cfg.get("scale", True) else []) + (["beta"] if cfg.get("center", True) else [])
    return None


def keras2_weights(h5_path):
    """{layer: {short name: array}} from a Keras 2 weights file (save_weights layout)."""
    out = {}
    with h5py.File(h5_path, "r") as f:
        root = f["model_weights"] if "model_weights" in f else f
        for layer in root:
            g = root[layer]
            names = [n.decode() if isinstance(n, bytes) else n for n in g.attrs.get("weight_names", [])]
            out[layer] = {n.split("/")[-1].split(":")[0]: np.array(g[n]) for n in names}
    return out


def serialized(obj, module):
    """A nested Keras 2 {"class_name", "config"} object in Keras 3's serialisation."""
    if isinstance(obj, dict) and "class_name" in obj and "config" in obj:
        return {"module": module, "class_name": obj["class_name"], "config": obj["config"],
                "registered_name": module.split(".")[0] + ">" + obj["class_name"]}
    return obj


def keras_tensor(layer):
    return {"class_name": "__keras_tensor__", "config": {"dtype": "float32", "keras_history": [layer, 0, 0]}}


def convert_layer(layer, sequential):
    cls = layer["class_name"]
    cfg = dict(layer["config"])
    qkeras = cls.startswith("Q") or cls in ("BinaryDense", "TernaryDense")
    if cls == "InputLayer":
        if "batch_input_shape" in cfg:
            cfg["batch_shape"] = cfg.pop("batch_input_shape")
        cfg.update({"dtype": "float32", "sparse": False})
    else:
        cfg["dtype"] = {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"},
                        "registered_name": None}
        for k, v in list(cfg.items()):
            if k.endswith("_quantizer") or k == "activation":
                cfg[k] = serialized(v, "qkeras.quantizers")
    out = {"module": "qkeras" if qkeras else "keras.layers", "class_name": cls, "config": cfg,
           "registered_name": "qkeras>" + cls if qkeras else None, "name": cfg["name"]}
    if not sequential:
        # Keras 2: [[[name, node, tensor, kwargs], ...]]; Keras 3: {"args": [...], "kwargs": {...}}
        # with keras tensors for layer outputs (a merge's inputs as one list argument).
        def tensor_or_value(v):
            return keras_tensor(v[0]) if isinstance(v, list) and len(v) >= 3 and isinstance(v[0], str) else v
        nodes = []
        for node in layer.get("inbound_nodes", []):
            args = [keras_tensor(e[0]) for e in node]
            kwargs = {}
            for e in node:
                if len(e) > 3 and isinstance(e[3], dict):
                    kwargs.update({k: tensor_or_value(v) for k, v in e[3].items()})
            nodes.append({"args": args if len(args) == 1 else [args], "kwargs": kwargs})
        out["inbound_nodes"] = nodes
    return out


def write_keras3(path, arch, weights, compression=zipfile.ZIP_STORED, mutate=None):
    """arch: a Keras 2 model JSON (dict); weights: {layer: {short name: array}}.
    `mutate(config, h5file)` lets the error fixtures break one thing."""
    sequential = arch["class_name"] == "Sequential"
    c2 = arch["config"]
    layers2 = c2 if isinstance(c2, list) else c2["layers"]
    layers3 = [convert_layer(l, sequential) for l in layers2]
    if sequential:
        if layers2[0]["class_name"] != "InputLayer":
            first = layers2[0]["config"]
            layers3.insert(0, {"module": "keras.layers", "class_name": "InputLayer", "registered_name": None,
                               "config": {"batch_shape": first["batch_input_shape"], "dtype": "float32",
                                          "sparse": False, "name": "input_layer"}})
        config = {"module": "keras", "class_name": "Sequential", "registered_name": None,
                  "config": {"name": c2.get("name", "sequential") if isinstance(c2, dict) else "sequential",
                             "trainable": True, "layers": layers3}}
    else:
        config = {"module": "keras.src.models.functional", "class_name": "Functional", "registered_name": "Functional",
                  "config": {"name": c2.get("name", "functional"), "trainable": True, "layers": layers3,
                             "input_layers": c2["input_layers"], "output_layers": c2["output_layers"]}}
    buf = io.BytesIO()
    with h5py.File(buf, "w") as h:
        h.create_group("vars")   # the model's own (none)
        used = {}
        for l in layers2:
            cls, cfg = l["class_name"], l["config"]
            if sequential and cls == "InputLayer":
                continue   # Sequential.layers leaves it out
            name = snake_case(cls)
            if name in used:
                used[name] += 1
                name = "%s_%d" % (name, used[name])
            else:
                used[name] = 0
            g = h.create_group("layers/" + name)
            g.create_group("vars")
            order = variable_order(cls, cfg)
            if cls in ("Dropout",):   # Keras 3's Dropout owns a SeedGenerator with a state
                g.create_dataset("seed_generator/vars/0", data=np.array([1337, 0], dtype=np.uint32))
            if order is None:
                # A layer holding sublayers (MultiHeadAttention's _query_dense, ...): Keras 3
                # stores their variables in groups of their own; Tachyon must refuse it.
                for k, (short, v) in enumerate(sorted(weights.get(cfg["name"], {}).items())):
                    g.create_dataset("_sublayer_%d/vars/0" % k, data=v)
                continue
            have = weights.get(cfg["name"], {})
            vars_group = g.create_group("cell/vars") if cls in ("SimpleRNN", "LSTM", "GRU") else g["vars"]
            for i, short in enumerate(order):
                vars_group.create_dataset(str(i), data=have[short])
        if mutate:
            mutate(config, h)
    with zipfile.ZipFile(path, "w", compression) as z:
        z.writestr("metadata.json", json.dumps({"keras_version": "3.6.0", "date_saved": "2026-11-27@00:00:00"}))
        z.writestr("config.json", json.dumps(config))
        z.writestr("model.weights.h5", buf.getvalue())


def error_fixtures(out, arch, weights):
    """Archives that must be refused with a clear message (tests/test_keras3.cpp)."""
    def drop_bias(config, h):
        del h["layers/dense/vars/1"]
    write_keras3(os.path.join(out, "bad_missing_variable.keras"), arch, weights, mutate=drop_bias)

    def quantized(config, h):
        config["config"]["layers"][1]["config"]["dtype"] = {
            "module": "keras", "class_name": "QuantizedDTypePolicy",
            "config": {"name": "int8_from_float32", "source_name": "float32"}, "registered_name": None}
    write_keras3(os.path.join(out, "bad_int8.keras"), arch, weights, mutate=quantized)

    def lora(config, h):
        config["config"]["layers"][1]["config"]["lora_rank"] = 4
    write_keras3(os.path.join(out, "bad_lora.keras"), arch, weights, mutate=lora)

    with zipfile.ZipFile(os.path.join(out, "bad_no_config.keras"), "w") as z:
        z.writestr("metadata.json", "{}")
        z.writestr("model.weights.h5", b"")
    with zipfile.ZipFile(os.path.join(out, "bad_sharded.keras"), "w") as z:
        z.writestr("config.json", "{}")
        z.writestr("model.weights.json", "{}")
    with zipfile.ZipFile(os.path.join(out, "bad_config_json.keras"), "w") as z:
        z.writestr("config.json", "{ not json")
        z.writestr("model.weights.h5", b"")


def main():
    def build(tmpdir, outdir):
        out = os.path.join(tmpdir, "keras3")
        os.makedirs(out)
        sources = [(os.path.join(outdir, s + ".json"), os.path.join(outdir, s + "_weights.h5"), s.split("/")[-1])
                   for s in PROJECT_SOURCES]
        if os.path.exists(os.path.join(ZOO, "README.md")):
            sources += [(os.path.join(ZOO, "keras", s + ".json"), os.path.join(ZOO, "keras", s + "_weights.h5"), s)
                        for s in ZOO_SOURCES]
        for arch_path, weights_path, name in sources:
            if not os.path.exists(arch_path):
                # tests/test_keras3.cpp makes every source first; the fuzz seeds need only one.
                print("make_keras3_fixtures.py: skipping %s (not made yet)" % arch_path, file=sys.stderr)
                continue
            with open(arch_path) as f:
                arch = json.load(f)
            weights = keras2_weights(weights_path)
            # One archive deflated (Keras writes them stored) so the reader's decompression is exercised.
            compression = zipfile.ZIP_DEFLATED if name == "keras_cnn" else zipfile.ZIP_STORED
            write_keras3(os.path.join(out, name + ".keras"), arch, weights, compression)
            if name == "keras_dense":
                error_fixtures(out, arch, weights)
        # A layer whose Keras 3 variable layout Tachyon does not read (refused by name).
        mha = os.path.join(outdir, "keras_mha")
        if os.path.exists(mha + ".json"):
            with open(mha + ".json") as f:
                write_keras3(os.path.join(out, "bad_mha.keras"), json.load(f), keras2_weights(mha + "_weights.h5"))
    make_fixture_set(".keras3_fixtures_", STAMP, VERSION, build, torch_threads=False)


if __name__ == "__main__":
    main()
