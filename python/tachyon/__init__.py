"""Tachyon from Python: the same library as the `tachyon` command line (src/api).

    PYTHONPATH=build/python /usr/bin/python3 -c "import tachyon"

    m = tachyon.load("model.onnx", config=None)      # or a dict in hls4ml's layout, or a YAML path
    y = m.predict(x)                                  # bit-exact fixed point; float=True: float reference
    m.config["Model"]["Precision"] = "ap_fixed<12,4>" # edits apply on the next call (passes re-run)
    m.write_hls("prj"); m.csim("prj")

See docs/python.md.
"""
import copy as _copy
import os as _os
import warnings as _warnings

from . import _tachyon
from ._tachyon import TachyonError
from ._inputs import checked_path as _path
from ._inputs import model_file as _model_file

__all__ = ["load", "Model", "TachyonError", "TachyonWarning", "OverflowWarning", "NonFiniteWarning",
           "FidelityWarning", "config_from_model", "config_from_keras_model", "config_from_onnx_model",
           "auto_precision", "csim", "rtlsim", "report", "write_profile", "plot_profile", "profile_figures"]


class TachyonWarning(UserWarning):
    """A warning about a prediction. `layer`: the layer concerned ('' for the inputs or the
    whole model); `count`: how many values (overflow, non-finite) or rows (fidelity)."""

    def __init__(self, message, layer="", count=0):
        super().__init__(message)
        self.message = message
        self.layer = layer
        self.count = count


class OverflowWarning(TachyonWarning):
    """Fixed-point results or accumulators of a layer saturated or wrapped."""


class NonFiniteWarning(TachyonWarning):
    """The inputs held NaN or infinite values (fixed point has none)."""


class FidelityWarning(TachyonWarning):
    """Fixed point disagrees with float beyond the threshold on the first rows (argmax
    agreement below 99% for classifiers, relative error above 5% otherwise)."""


_WARNING_KINDS = {"overflow": OverflowWarning, "nonfinite": NonFiniteWarning, "fidelity": FidelityWarning}


def config_from_model(path, granularity="model", default_precision="ap_fixed<16,6>", default_reuse_factor=1):
    """hls4ml's config_from_keras_model / config_from_onnx_model for any model Tachyon reads:
    a configuration dict at `granularity` 'model', 'type' or 'name' (tree ensembles: their keys)."""
    return _tachyon.config_from_model(_path(path, "model"), granularity, default_precision, default_reuse_factor)


def config_from_keras_model(model, granularity="model", default_precision="ap_fixed<16,6>",
                            default_reuse_factor=1, **_ignored):
    """hls4ml's name; `model` is the path of a Keras .json/.h5 file."""
    return config_from_model(model, granularity, default_precision, default_reuse_factor)


def config_from_onnx_model(model, granularity="model", default_precision="ap_fixed<16,6>",
                           default_reuse_factor=1, **_ignored):
    """hls4ml's name; `model` is the path of an .onnx file."""
    return config_from_model(model, granularity, default_precision, default_reuse_factor)


def csim(project_dir, x=None):
    """Compiles and runs an HLS project's testbench (g++) against the emulator; {'rows', 'mismatches'}.
    With x (rows of the model's inputs, hls4ml's InputData) on those rows instead of the
    project's own test vectors (`tachyon csim PRJ -i X.npy`)."""
    if x is None:
        return _tachyon.csim(_path(project_dir, "project_dir"))
    return _tachyon.simulate_rows(_path(project_dir, "project_dir"), "csim", x)


def rtlsim(project_dir, x=None):
    """Verilator simulation of a Verilog project against the emulator; {'rows', 'mismatches'}.
    With x on those rows instead of the project's own test vectors."""
    if x is None:
        return _tachyon.rtlsim(_path(project_dir, "project_dir"))
    return _tachyon.simulate_rows(_path(project_dir, "project_dir"), "rtlsim", x)


def report(project_dir):
    """Yosys synthesis of a Verilog project: {'luts', 'ffs', 'carry', 'dsps', 'brams',
    'srls', 'logic_levels', 'worst_path_ns', 'latency_cycles', 'clock_ns', 'text'}. Takes minutes on large models."""
    return _tachyon.report(_path(project_dir, "project_dir"))


def write_profile(report, directory):
    """Writes profile.json, profile.txt, weights.png and activations.png (as `tachyon profile -o`)."""
    return _tachyon.write_profile(report, _path(directory, "directory"))


def profile_figures(report):
    """The plots of a profile report (m.profile(x)) as matplotlib Figures, drawn in this
    process: {'weights': Figure, 'activations': Figure}."""
    from .plotting import profile_figures as _figures
    if not isinstance(report, dict) or not isinstance(report.get("layers"), list):
        raise TypeError("report: expected the dict m.profile(x) returns")
    try:
        return _figures(report)
    except (KeyError, IndexError, TypeError) as e:
        raise ValueError(f"report: not a profile report ({type(e).__name__}: {e})") from None


def plot_profile(report, directory):
    """Only the PNG plots of a profile report."""
    from .plotting import plot_profile as _plot
    return _plot(report, _path(directory, "directory"))


def _config_arg(config):
    """`config` as the library takes it: None, a dict, or a YAML path as a str."""
    if config is None or isinstance(config, dict):
        return config
    if isinstance(config, (str, _os.PathLike)):
        return _path(config, "config")
    raise TypeError("config must be a dict, a path or None, not " + type(config).__name__)


def auto_precision(path, x, config=None, target_agreement=0.999, max_error=None, max_bits=18, margin=1,
                   exact_accum=True, threads=0, weights=None, score_bits=8):
    """Post-training quantisation (as `tachyon config MODEL --auto-precision`): integer bits per
    layer from the ranges on calibration rows `x` (plus `margin`), fractional bits per layer by
    search against the float model. Returns a dict: 'config' (hls4ml layout), 'layers'
    (layer -> var -> type), 'metric', 'met', 'classifier', 'evaluations', 'table'. `weights`: a
    Keras .json's weights file (as in load); `score_bits`: fraction bits an output softmax/sigmoid
    keeps at least. Trained types (QKeras, HGQ, QONNX, binary) are kept as they are."""
    return _tachyon.auto_precision(_path(path, "model"), _config_arg(config), x, target_agreement,
                                   -1.0 if max_error is None else float(max_error), max_bits, margin,
                                   exact_accum, threads, "" if weights is None else _path(weights, "weights"),
                                   score_bits)


def load(model, config=None, input_shape=None, weights=None):
    """Loads a network or a tree ensemble and configures it.

    `model`: a path (.onnx, Keras .json/.h5/.keras, XGBoost JSON, scikit-learn export, TMVA
    XML), an `onnx.ModelProto`, the bytes of any of these files, or a `torch.nn.Module` with
    `input_shape` (one sample's shape, exported to ONNX internally). `config`: None
    (Tachyon's defaults, ap_fixed<16,6>), a dict in hls4ml's layout, or the path of a YAML file.
    `weights`: for a Keras .json path, its weights .h5 when that is not `<stem>_weights.h5` beside it
    (e.g. one of several pruned weight sets sharing one architecture)."""
    path, keep = _model_file(model, input_shape)
    weights = None if weights is None else _path(weights, "weights")
    m = Model(_tachyon.load(path, _config_arg(config), weights or ""), keep)
    m._weights = weights     # auto_precision reloads the model from its files
    return m


class Model:
    """A loaded and configured model. Every method runs Tachyon's library; edits to
    `config` (a dict in hls4ml's layout) take effect on the next call. Safe to use from
    several threads: a new configuration never disturbs a prediction already running."""

    def __init__(self, core, keep=None):
        self._core = core
        self._keep = keep            # the temporary model file of an in-memory model
        self._config = core.config()
        self._applied = _copy.deepcopy(self._config)
        self.last_warnings = []      # the warnings of the latest predict
        self._weights = None         # a Keras .json's separately named weights file

    # ---- configuration
    @property
    def config(self):
        """The configuration, a dict in hls4ml's layout; edit it in place or assign a new one.
        An edit that fails raises TachyonError and is undone: the previous configuration stays."""
        return self._config

    @config.setter
    def config(self, value):
        if not isinstance(value, dict):
            raise TypeError("config must be a dict in hls4ml's layout, not " + type(value).__name__)
        self._core.set_config(value)
        self._config = value
        self._applied = _copy.deepcopy(value)

    def _sync(self):
        if self._config != self._applied:
            try:
                self._core.set_config(self._config)
            except Exception:
                # Undo the edit in place (the caller may hold the dict): the model keeps
                # working with the configuration it had.
                self._config.clear()
                self._config.update(_copy.deepcopy(self._applied))
                raise
            self._applied = _copy.deepcopy(self._config)
    # ---- facts
    @property
    def path(self):
        return self._core.path

    @property
    def is_tree(self):
        return self._core.is_tree

    @property
    def input_shape(self):
        return tuple(self._core.input_shape)

    @property
    def output_shape(self):
        return tuple(self._core.output_shape)

    @property
    def layers(self):
        """Layer names after the passes (fused activations are gone)."""
        self._sync()
        return list(self._core.layers)

    def summary(self):
        """The text of `tachyon info -c ...`: layers, shapes, types."""
        self._sync()
        return self._core.summary()

    def __repr__(self):
        kind = "tree ensemble" if self.is_tree else "network"
        return f"<tachyon.Model {kind} {self.path!r} in={self.input_shape} out={self.output_shape}>"

    # ---- running
    def predict(self, x, float=False, threads=0, return_warnings=False, check_fidelity=True):
        """Runs the model on a batch: x of shape (N, *input_shape) or (N, prod(input_shape)), or
        one sample of input_shape; any real dtype (float64 C-contiguous arrays are read without a
        copy). Bit-exact fixed point, or the double-precision reference with float=True.
        threads=0: every core. The GIL is released while it runs, and Ctrl-C stops it between
        blocks of rows. Returns float64 (N, *output_shape).

        Warnings (also in m.last_warnings; with return_warnings=True returned as (y, warnings)):
        OverflowWarning per layer whose values saturated or wrapped, NonFiniteWarning for
        NaN/Inf inputs, FidelityWarning when fixed point strays from float on the first 1,000
        rows (check_fidelity=False skips that shadow run)."""
        self._sync()
        y, found, _ = self._core.predict(x, float, threads, check_fidelity)
        issued = [_WARNING_KINDS[w["kind"]](w["message"], w["layer"], w["count"]) for w in found]
        self.last_warnings = issued
        for w in issued:
            _warnings.warn(w, stacklevel=2)
        return (y, issued) if return_warnings else y

    def trace(self, x, float=False):
        """Every layer's output: dict layer name -> array (N, *layer shape)."""
        self._sync()
        return self._core.trace(x, float)

    def overflow_report(self, x, threads=0):
        """Per layer, how many result and accumulator casts saturated or wrapped on x:
        dict layer -> {'result_overflows', 'accum_overflows', 'values'}."""
        self._sync()
        _, _, stats = self._core.predict(x, False, threads, False, True)
        return {s["layer"]: {k: s[k] for k in ("result_overflows", "accum_overflows", "values")} for s in stats}

    # ---- post-training quantisation
    def profile(self, x, plot_dir=None, threads=0):
        """Float ranges of weights, biases, accumulators and outputs on calibration rows x
        against the configured types (as `tachyon profile`). Returns the report dict (with
        'table', the terminal text); with plot_dir, also writes the JSON, text and PNG plots there."""
        self._sync()
        rep, table = self._core.profile(x, threads)
        if plot_dir is not None:
            rep["files"] = _tachyon.write_profile(rep, _path(plot_dir, "plot_dir"))
        rep["table"] = table
        return rep

    def auto_precision(self, x, target_agreement=0.999, max_error=None, max_bits=18, margin=1, exact_accum=True,
                       apply=True, threads=0, score_bits=8):
        """Chooses every layer's types from calibration rows x (see tachyon.auto_precision),
        starting from this model's configuration; apply=True makes the result this model's config."""
        self._sync()
        r = auto_precision(self.path, x, self._config, target_agreement, max_error, max_bits, margin, exact_accum,
                           threads, self._weights, score_bits)
        if apply:
            self.config = r["config"]
        return r

    # ---- projects
    def write_hls(self, directory, force=False):
        """Writes the Vitis HLS project (written whole or not at all). An earlier Tachyon
        project in `directory` is replaced only with force=True; any other folder never."""
        self._sync()
        self._core.write(_path(directory, "directory"), "hls", force=bool(force))

    def write_verilog(self, directory, cmvm="da", stages=-1, force=False):
        """Writes the Verilog project (networks: shift-add adder graphs; cmvm='naive' for
        multipliers; stages=-1 places pipeline registers from the clock period). An earlier
        Tachyon project is replaced only with force=True."""
        self._sync()
        self._core.write(_path(directory, "directory"), "verilog", cmvm, stages, bool(force))

    def write_lut(self, directory, force=False):
        """The whole model as a ROM, for models whose inputs together are at most LutMaxInputBits
        (20) bits wide, e.g. small tree ensembles (force=True replaces an earlier project)."""
        self._sync()
        self._core.write(_path(directory, "directory"), "lut", force=bool(force))

    def csim(self, directory, x=None):
        """C simulation of the HLS project in `directory` (written first if absent); with x on
        those rows (hls4ml's InputData) instead of the project's own."""
        if not _os.path.exists(_os.path.join(_path(directory, "directory"), "build_prj.tcl")) and \
                not _os.path.isdir(_path(directory, "directory")):
            self.write_hls(directory)
        return csim(directory, x)

    def rtlsim(self, directory, x=None):
        """Verilator simulation of the Verilog project in `directory` (written first if absent);
        with x on those rows instead of the project's own."""
        if not _os.path.isdir(_path(directory, "directory")):
            self.write_verilog(directory)
        return rtlsim(directory, x)

    def report(self, directory):
        """Yosys resources of the Verilog project in `directory` (written first if absent)."""
        if not _os.path.isdir(_path(directory, "directory")):
            self.write_verilog(directory)
        return report(directory)
