#!/usr/bin/env bash
# Installs every Debian package Tachyon needs to build, test and benchmark.
# Safe to run again; skips apt when everything is already present.
set -euo pipefail
PKGS=(cmake g++ make pkg-config
  libprotobuf-dev protobuf-compiler libonnx-dev libhdf5-dev nlohmann-json3-dev
  libyaml-cpp-dev libcli11-dev libzip-dev libgtest-dev libbenchmark-dev
  libopenblas0-pthread  # the optimised BLAS numpy/torch use in bench/ comparisons (never the reference BLAS)
  python3 python3-numpy python3-torch python3-onnx python3-xgboost python3-sklearn python3-h5py
  pybind11-dev python3-dev python3-pytest python3-matplotlib
  python3-dask python3-distributed  # tachyon.trigger.study(..., dask=...)
  verilator iverilog yosys
  nextpnr-ice40  # scripts/pnr_ice40.py: a routed timing check on a real FPGA family
  clang libclang-rt-14-dev libfuzzer-14-dev  # fuzz harnesses and the ASan+UBSan build
  libgrpc++-dev protobuf-compiler-grpc libcpp-httplib-dev python3-grpcio python3-requests  # tachyon serve/perf
  python3-geventhttpclient python3-gevent python3-rapidjson  # tests/serve/tritonclient_check.py (opt-in)
  libcurl4-openssl-dev zlib1g-dev rapidjson-dev)  # scripts/build_triton_cpp_client.sh (opt-in)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
