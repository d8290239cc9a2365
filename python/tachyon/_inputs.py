"""What `tachyon.load` and the other calls accept besides paths: in-memory models (an
onnx.ModelProto, the bytes of a model file, a torch.nn.Module), written to a temporary file
that lives as long as the Model (the library reads models from files)."""
import os
import sys
import tempfile

from ._tachyon import TachyonError, cap_message


def checked_path(value, what):
    """A str or os.PathLike as a str; anything else is a TypeError (a number or None is never
    silently turned into a file name)."""
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, str):
        raise TypeError(f"{what}: expected a path (str or os.PathLike), got {type(value).__name__}")
    if not value or "\0" in value:
        raise ValueError(f"{what}: {value!r} is not a usable path")
    return value


# The first bytes of the formats that are not ONNX (which has no fixed signature).
_SIGNATURES = ((b"\x89HDF\r\n\x1a\n", ".h5"), (b"PK\x03\x04", ".keras"), (b"{", ".json"), (b"<", ".xml"))


def _suffix_of(data):
    head = bytes(data[:64]).lstrip()
    for magic, suffix in _SIGNATURES:
        if head.startswith(magic):
            return suffix
    return ".onnx"


def _is_torch_module(obj):
    torch = sys.modules.get("torch")   # never import torch for a user who does not use it
    return torch is not None and isinstance(obj, torch.nn.Module)


def _is_onnx_model(obj):
    onnx = sys.modules.get("onnx")
    return onnx is not None and isinstance(obj, onnx.ModelProto)


def _export_torch(module, input_shape, path):
    if input_shape is None:
        raise TypeError("load(torch.nn.Module): input_shape= (one sample's shape, e.g. (16,)) is needed "
                        "to export it to ONNX")
    try:
        shape = tuple(int(d) for d in input_shape)
    except (TypeError, ValueError):
        raise TypeError(f"input_shape: expected a tuple of integers, got {input_shape!r}") from None
    if not shape or any(d <= 0 for d in shape):
        raise ValueError(f"input_shape: {shape} must be one or more positive sizes")
    import torch
    # The example input has the parameters' dtype (a module made .double() takes doubles).
    dtype = next(iter(module.parameters()), torch.zeros(())).dtype
    try:
        torch.onnx.export(module, torch.zeros((1,) + shape, dtype=dtype), path, input_names=["input"], output_names=["output"],
                          dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
                          training=torch.onnx.TrainingMode.EVAL)
    except Exception as e:   # torch raises many kinds; the user needs to know it was the export
        raise TachyonError(cap_message(f"torch.onnx.export of {type(module).__name__} with input_shape {shape} "
                                       f"failed: {e}")) from e


def model_file(model, input_shape=None):
    """(path, keep): the file to load and the object that keeps a temporary one alive."""
    if isinstance(model, (str, os.PathLike)):
        if input_shape is not None:
            raise TypeError("input_shape is only for torch.nn.Module models")
        return checked_path(model, "model"), None
    if _is_torch_module(model):
        keep = tempfile.TemporaryDirectory(prefix="tachyon-model-")
        path = os.path.join(keep.name, type(model).__name__ + ".onnx")
        _export_torch(model, input_shape, path)
        return path, keep
    if input_shape is not None:
        raise TypeError("input_shape is only for torch.nn.Module models")
    if _is_onnx_model(model):
        data, suffix = model.SerializeToString(), ".onnx"
    elif isinstance(model, (bytes, bytearray, memoryview)):
        data = bytes(model)
        if not data:
            raise ValueError("model: the bytes are empty")
        suffix = _suffix_of(data)
    else:
        raise TypeError("model: expected a path, an onnx.ModelProto, bytes or a torch.nn.Module (with "
                        f"input_shape), got {type(model).__name__}")
    keep = tempfile.TemporaryDirectory(prefix="tachyon-model-")
    path = os.path.join(keep.name, "model" + suffix)
    with open(path, "wb") as f:
        f.write(data)
    return path, keep
