#!/usr/bin/python3
"""Runs hls4ml on a set of models and stores what its C simulation answers, as fixtures for
tests/test_hls4ml_recorded.cpp.

Usage: /usr/bin/python3 scripts/record_hls4ml_outputs.py HLS4ML_SOURCE [ZOO_DIR] [OUT_DIR]

HLS4ML_SOURCE: a git checkout of hls4ml (the stored fixtures come from commit ef92ebd).
ZOO_DIR: the model zoo, ../shared/models when omitted. OUT_DIR: where the cases go,
tests/data/hls4ml_recorded when omitted. Nothing is installed; the checkout is put on
sys.path. Per case the script lets hls4ml build a configuration from the model, convert the
Keras JSON + H5 pair (no TensorFlow involved), write its project and compile the C
simulation with g++, then feeds it fixed input rows. It keeps the configuration file the
project holds, the inputs (x.npy), the outputs (y.npy) and, for models ending in a softmax,
the values entering the softmax (logits.npy); case.txt says which model and layer. Two
cases use models made by this project's own scripts because the zoo lacks them: a
GarNetStack with quantize_transforms (make_garnet_fixtures.py) and a tanh network
(make_keras_fixture in make_fixtures.py). This file holds no hls4ml code.

hls4ml expects three things an installed package would have; the script fakes them in a
way that cannot change a simulated number:
- a dist-info folder, because the package looks up its optional extras when imported;
- the version module an installer would generate;
- a `quantizers` module: one of hls4ml's files imports it, but only layer kinds absent from
  these models call into it, and the fake raises, so such a case would fail loudly.
Keras itself is not needed: the architecture is passed as a plain dict, and an object
answering weight requests by reading the H5 file stands in for the Keras model.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import types

import h5py
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# name, model (keras/NAME: the zoo's; garnet/NAME: a fixture of scripts/make_garnet_fixtures.py;
# nn/NAME: the Keras fixture of scripts/make_fixtures.py),
# granularity, io_type, rows, inputs: 'normal' = N(0, 1), 'unit' = uniform [0, 1) (MNIST
# pixels), 'fixture' = the first rows of the fixture's own inputs (GarNet: vertex counts),
# 'vertices' = GarNet's two inputs: N(0, 1) vertex data and a count in [0, V]; 'counted' = the
# fixture's rows whose vertex count is not 0 (with mean_by_nvert hls4ml's C++ divides by the
# count, and its ap_types abort on a division by zero).
CASES = [
    ('KERAS_3layer_name', 'keras/KERAS_3layer', 'name', 'io_parallel', 500, 'normal'),
    ('KERAS_3layer_model', 'keras/KERAS_3layer', 'model', 'io_parallel', 500, 'normal'),
    ('KERAS_3layer_batch_norm_model', 'keras/KERAS_3layer_batch_norm', 'model', 'io_parallel', 500, 'normal'),
    ('KERAS_conv1d_small_model_parallel', 'keras/KERAS_conv1d_small', 'model', 'io_parallel', 300, 'normal'),
    ('KERAS_conv1d_small_name_stream', 'keras/KERAS_conv1d_small', 'name', 'io_stream', 300, 'normal'),
    ('KERAS_conv2d_model_type_parallel', 'keras/KERAS_conv2d_model', 'type', 'io_parallel', 300, 'normal'),
    ('KERAS_conv2d_model_model_stream', 'keras/KERAS_conv2d_model', 'model', 'io_stream', 300, 'normal'),
    ('jetTagger_Conv2D_model_parallel', 'keras/jetTagger_Conv2D_Small_NoBatchNorm', 'model', 'io_parallel', 100, 'normal'),
    ('jetTagger_Conv2D_model_stream', 'keras/jetTagger_Conv2D_Small_NoBatchNorm', 'model', 'io_stream', 100, 'normal'),
    ('KERAS_3layer_binary_smaller_name', 'keras/KERAS_3layer_binary_smaller', 'name', 'io_parallel', 500, 'normal'),
    ('KERAS_3layer_ternary_small_name', 'keras/KERAS_3layer_ternary_small', 'name', 'io_parallel', 500, 'normal'),
    ('garnet_stack_ternary_name', 'garnet/garnet_stack_ternary', 'name', 'io_parallel', 300, 'fixture'),
    ('KERAS_3layer_softmax_latency', 'keras/KERAS_3layer', 'model', 'io_parallel', 500, 'normal'),
    ('KERAS_3layer_softmax_legacy', 'keras/KERAS_3layer', 'model', 'io_parallel', 500, 'normal'),
    ('KERAS_3layer_softmax_argmax', 'keras/KERAS_3layer', 'model', 'io_parallel', 500, 'normal'),
    ('KERAS_1layer_name', 'keras/KERAS_1layer', 'name', 'io_parallel', 500, 'normal'),
    ('keras_dense_tanh_name', 'nn/keras_dense', 'name', 'io_parallel', 500, 'normal'),
    ('keras_dense_tanh_model_stream', 'nn/keras_dense', 'model', 'io_stream', 500, 'normal'),
    ('garnet_1layer_name', 'keras/garnet_1layer', 'name', 'io_parallel', 200, 'vertices'),
    ('garnet_vertices_nvert_name', 'garnet/garnet_vertices', 'name', 'io_parallel', 300, 'counted'),
    ('garnet_mean_nvert_name', 'garnet/garnet_mean_nvert', 'name', 'io_parallel', 300, 'counted'),
]

# Cases whose model ends in a GarNet without collapse ([V, filters] per row): hls4ml's C++
# writes the outputs of the vertices below the count only and leaves the others as the
# output buffer held them (in its compiled library: whatever an earlier row left there).
# Those values mean nothing; the recorder sets them to 0, as Keras and Tachyon write them.
PER_VERTEX_OUTPUT = {'garnet_vertices_nvert_name'}

# LayerName entries added to hls4ml's generated configuration before converting, as a user
# edits it (hls4ml's writer then writes them into hls4ml_config.yml with the rest).
LAYER_SETTINGS = {
    f'KERAS_3layer_softmax_{impl}': {'output_softmax_softmax': {'Implementation': impl}}
    for impl in ('latency', 'legacy', 'argmax')
}

# Recorded on demand only (RECORD_ONLY=name): hls4ml and Tachyon differ there (see
# KNOWN_DIFFERENCES); their numbers are kept out of the suite until Tachyon matches them.
# None at present: the two once listed here (hls4ml's sigmoid/tanh tables, GarNet's wrapped
# vertex count) are matched under Compatibility: hls4ml and recorded in CASES.
ON_DEMAND = []
KNOWN_DIFFERENCES = {}

# Zoo models hls4ml cannot convert here, and why (printed on every run).
NOT_RECORDABLE = {
    'qkeras_3layer, qkeras_mnist_dense': "hls4ml's QKeras handler (converters/keras/qkeras.py) builds "
    'the quantizers with qkeras.quantizers.get_quantizer, and QKeras needs TensorFlow, which '
    'Debian does not package',
}


def prepare_import(hls4ml_source, scratch):
    """Makes `import hls4ml` work from a source checkout (see the module docstring)."""
    dist = os.path.join(scratch, 'hls4ml-0.0.0.dist-info')
    os.makedirs(dist)
    with open(os.path.join(hls4ml_source, 'pyproject.toml')) as f:
        extras = [line.split('optional-dependencies.')[1].split('=')[0].strip()
                  for line in f if line.startswith('optional-dependencies.')]
    with open(os.path.join(dist, 'METADATA'), 'w') as f:
        f.write('Metadata-Version: 2.1\nName: hls4ml\nVersion: 0.0.0\n')
        for extra in extras:
            f.write(f'Requires-Dist: unavailable; extra == "{extra}"\n')
    sys.path[:0] = [hls4ml_source, scratch]

    version = types.ModuleType('hls4ml._version')
    version.version, version.version_tuple = '0.0.0+source', (0, 0, 0)
    sys.modules['hls4ml._version'] = version

    quantizers = types.ModuleType('quantizers')

    def unavailable(*args, **kwargs):
        raise RuntimeError('the quantizers package is not available; this model needs it')

    quantizers.get_fixed_quantizer_np = unavailable
    sys.modules['quantizers'] = quantizers


class StoredWeight:
    def __init__(self, name, data):
        self.name, self.data = name, data

    def numpy(self):
        return self.data


class StoredLayer:
    def __init__(self, name, weights):
        self.name, self.weights = name, weights

    def get_weights(self):
        return [w.data for w in self.weights]


class ArchitectureWithWeights(dict):
    """A Keras architecture (the JSON's dict) that answers hls4ml's `model.get_layer(name)`
    weight lookups from the H5 weights file, in the order Keras saved them."""

    def __init__(self, arch, h5_path):
        super().__init__(arch)
        self.h5_path = h5_path

    def get_layer(self, name):
        with h5py.File(self.h5_path, 'r') as f:
            root = f['model_weights'] if 'model_weights' in f else f
            group = root[name] if name in root else None
            names = [n.decode() if isinstance(n, bytes) else n for n in group.attrs.get('weight_names', [])] if group else []
            return StoredLayer(name, [StoredWeight(n, group[n][()]) for n in names])


def draw_inputs(graph, model, rows, kind, seed):
    """Flat input rows, every input of the model side by side (Tachyon's row layout)."""
    if kind in ('fixture', 'counted'):
        x = np.load(model + '_X.npy')
        return (x[x[:, -1] != 0] if kind == 'counted' else x)[:rows]
    rng = np.random.default_rng(seed)
    if kind == 'vertices':
        data, count = graph.get_input_variables()
        vertices = data.shape[0]
        x = rng.normal(0, 1, (rows, int(np.prod(data.shape)))).astype(np.float32)
        return np.concatenate([x, rng.integers(0, vertices + 1, (rows, 1))], axis=1).astype(np.float64)
    size = sum(int(np.prod(v.shape)) for v in graph.get_input_variables())
    x = rng.uniform(0, 1, (rows, size)) if kind == 'unit' else rng.normal(0, 1, (rows, size))
    return x.astype(np.float32).astype(np.float64)  # float32 values, so the fixture stores them exactly


def per_input(graph, x):
    """Flat rows split into hls4ml's one array per input (one array when there is one input)."""
    sizes = [int(np.prod(v.shape)) for v in graph.get_input_variables()]
    parts = np.split(x, np.cumsum(sizes)[:-1], axis=1)
    return parts[0] if len(parts) == 1 else [np.ascontiguousarray(p) for p in parts]


def trace_softmax_input(graph, x):
    """When the model ends in a softmax, hls4ml's own trace of the layer feeding it (the
    logits): a softmax whose table saturates can make every output row equal, and the
    logits still show whether the layers before it agree. Returns (layer name, values)."""
    layers = list(graph.get_layers())
    if layers[-1].class_name != 'Softmax':
        return None
    feeding = graph.graph[layers[-1].inputs[0]]
    feeding.set_attr('trace', True)
    _, traces = graph.trace(x)
    return feeding.name, np.asarray(traces[feeding.name])


def zero_unwritten_vertices(x, y, vertices):
    """y [rows, V * F] of a per-vertex GarNet output: 0 for the vertices at or past each
    row's count (x's last column, an integer in [0, V])."""
    y = y.reshape(len(y), vertices, -1).copy()
    for row, count in zip(y, x[:, -1].astype(int)):
        row[count:] = 0
    return y.reshape(len(y), -1)


def record(case, out_root):
    import hls4ml

    name, model, granularity, io_type, rows, kind = case
    # Relative paths (the work folder holds keras/, a link to the zoo's, and garnet/, the
    # fixtures), so the recorded hls4ml_config.yml names them, not this machine's folders.
    json_path, h5_path = model + '.json', model + '_weights.h5'
    with open(json_path) as f:
        arch = ArchitectureWithWeights(json.load(f), h5_path)

    hls_config = hls4ml.utils.config_from_keras_model(arch, granularity=granularity, backend='Vivado')
    for layer, settings in LAYER_SETTINGS.get(name, {}).items():
        hls_config.setdefault('LayerName', {}).setdefault(layer, {}).update(settings)
    config = hls4ml.utils.config.create_config(output_dir=name, backend='Vivado', io_type=io_type)
    config.update({'KerasJson': json_path, 'KerasH5': h5_path, 'HLSConfig': hls_config})
    graph = hls4ml.converters.keras_v2_to_hls(config)
    graph.compile()

    x = draw_inputs(graph, model, rows, kind, seed=sum(map(ord, name)))
    y = np.asarray(graph.predict(per_input(graph, x))).reshape(rows, -1)
    if name in PER_VERTEX_OUTPUT:
        y = zero_unwritten_vertices(x, y, graph.get_input_variables()[0].shape[0])

    out = os.path.join(out_root, name)
    os.makedirs(out, exist_ok=True)
    shutil.copy(os.path.join(name, 'hls4ml_config.yml'), os.path.join(out, 'hls4ml_config.yml'))
    np.save(os.path.join(out, 'x.npy'), x.astype(np.float64 if kind in ('fixture', 'counted') else np.float32))
    np.save(os.path.join(out, 'y.npy'), y.astype(np.float64))
    source, _, stem = model.partition('/')
    key = {'keras': 'model', 'garnet': 'garnet_fixture', 'nn': 'nn_fixture'}[source]
    lines = [f'{key}: {model if source == "keras" else stem}.json']
    logits = trace_softmax_input(graph, per_input(graph, x))
    if logits is not None:
        np.save(os.path.join(out, 'logits.npy'), logits[1].reshape(rows, -1).astype(np.float64))
        lines.append(f'logits: {logits[0]}')
    with open(os.path.join(out, 'case.txt'), 'w') as f:
        f.write('\n'.join(lines) + '\n')
    print(f'{name}: {rows} rows, {x.shape[1]} -> {y.shape[1]}, '
          f'{len(np.unique(y.round(12), axis=0))} distinct output rows')


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    source = os.path.abspath(sys.argv[1])
    zoo = os.path.abspath(sys.argv[2] if len(sys.argv) > 2 else os.path.join(ROOT, '..', 'shared', 'models'))
    out = os.path.abspath(sys.argv[3] if len(sys.argv) > 3 else os.path.join(ROOT, 'tests', 'data', 'hls4ml_recorded'))
    only = os.environ.get('RECORD_ONLY')
    with tempfile.TemporaryDirectory(prefix='hls4ml_record_') as work:
        prepare_import(source, os.path.join(work, 'shim'))
        os.symlink(os.path.join(zoo, 'keras'), os.path.join(work, 'keras'))
        subprocess.run([sys.executable, os.path.join(ROOT, 'scripts', 'make_garnet_fixtures.py'),
                        os.path.join(work, 'garnet')], check=True, stdout=subprocess.DEVNULL)
        sys.path.insert(0, os.path.join(ROOT, 'scripts'))
        from make_fixtures import make_keras_fixture   # the same seed as make_fixtures.py's main
        os.makedirs(os.path.join(work, 'nn'))
        make_keras_fixture(os.path.join(work, 'nn'), seed=99)
        os.chdir(work)
        failed = []
        for case in CASES + ON_DEMAND:
            if (only and case[0] not in only.split(',')) or (not only and case in ON_DEMAND):
                continue
            try:
                record(case, out)
            except Exception as e:  # one model's failure must not hide the others'
                failed.append(f'{case[0]}: {type(e).__name__}: {e}')
        for models, why in NOT_RECORDABLE.items():
            print(f'not recorded: {models}: {why}')
        for what, why in KNOWN_DIFFERENCES.items():
            print(f'known difference, its cases recorded on demand only: {what}: {why}')
        for line in failed:
            print('FAILED', line, file=sys.stderr)
        sys.exit(1 if failed else 0)


if __name__ == '__main__':
    main()
