#!/usr/bin/env bash
# The main job on the bundled example: set up and build, train/export the example
# jet tagger (16-64-32-32-5, PyTorch -> ONNX), then convert, emulate and report.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/build.sh
T=build/tachyon
EX=build/example
[ -f $EX/jet_tagger.onnx ] || /usr/bin/python3 examples/make_jet_tagger.py $EX
echo "== model"
$T info $EX/jet_tagger.onnx -c examples/jet_tagger.yml
echo "== float and bit-exact emulation of 1000 rows"
$T predict $EX/jet_tagger.onnx -c examples/jet_tagger.yml -i $EX/jet_tagger_X.npy -o $EX/y_float.npy --float --force
$T predict $EX/jet_tagger.onnx -c examples/jet_tagger.yml -i $EX/jet_tagger_X.npy -o $EX/y_fixed.npy --force
/usr/bin/python3 - <<PY
import numpy as np
t = np.load("$EX/jet_tagger_Y.npy"); f = np.load("$EX/y_float.npy"); q = np.load("$EX/y_fixed.npy")
print(f"float vs PyTorch: max |diff| = {abs(f - t).max():.2e}")
print(f"fixed vs float: argmax agreement {100 * (q.argmax(1) == f.argmax(1)).mean():.1f}%, max |diff| = {abs(q - f).max():.4f}")
PY
echo "== HLS project and C simulation"
$T convert $EX/jet_tagger.onnx -c examples/jet_tagger.yml -o $EX/hls_prj --force
$T csim $EX/hls_prj
echo "== Verilog project, RTL simulation and synthesis"
$T convert $EX/jet_tagger.onnx -c examples/jet_tagger.yml --backend verilog -o $EX/verilog_prj --force
$T rtlsim $EX/verilog_prj
$T report $EX/verilog_prj
