#!/usr/bin/env python3
"""Triton's C++ client library (what CMSSW's SONIC links), unmodified, against `tachyon serve` (opt-in).

    TRITON_CPP_CLIENT_DIR   the output of scripts/build_triton_cpp_client.sh (include/, lib/)

It compiles tests/serve/triton_cpp_client_check.cpp (SONIC's start-up and per-event calls,
written here) against that library, serves the jet tagger (KERAS_3layer, 16-64-32-32-5)
and a CNN (conv2d_small_keras, 8x8x1 -> 10) with dynamic batching, and runs the program
over gRPC and HTTP at the same time on both models; every output row must equal
`tachyon predict` bit for bit. Exit 0: all passed; 1: a check failed; 77: skipped (variable
not set, library or zoo absent), which ctest reports as skipped.
"""
import os
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serve_helpers import BUILD, ZOO, Server, add_model, predict  # noqa: E402

SKIP = 77
HERE = os.path.dirname(os.path.abspath(__file__))
MAX_BATCH = 32
ROWS = 100
MODELS = {
    "jet": ([(os.path.join(ZOO, "keras", "KERAS_3layer.json"), "model.json"),
             (os.path.join(ZOO, "keras", "KERAS_3layer_weights.h5"), "model_weights.h5")], "model.json", (16,)),
    "cnn": ([(os.path.join(ZOO, "onnx", "conv2d_small_keras.onnx"), "model.onnx")], "model.onnx", (8, 8, 1)),
}


def skip(why):
    print("SKIPPED: " + why)
    sys.exit(SKIP)


def compile_check(client_dir, exe):
    """The check program, linked against the built libgrpcclient/libhttpclient (rpath to them);
    kept in the build folder and recompiled only when the source or the library is newer."""
    lib = os.path.join(client_dir, "lib")
    source = os.path.join(HERE, "triton_cpp_client_check.cpp")
    inputs = [source, os.path.join(lib, "libgrpcclient.so"), os.path.join(lib, "libhttpclient.so")]
    if os.path.exists(exe) and os.path.getmtime(exe) > max(os.path.getmtime(f) for f in inputs):
        return
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "grpc++", "protobuf"], check=True,
                           capture_output=True, text=True).stdout.split()
    cmd = ["g++", "-std=c++17", "-O1", "-I" + os.path.join(client_dir, "include"),
           source, "-o", exe + ".tmp", "-L" + lib, "-Wl,-rpath," + lib,
           "-lgrpcclient", "-lhttpclient"] + flags + ["-pthread"]
    print(" ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)
    os.replace(exe + ".tmp", exe)


def main():
    client_dir = os.environ.get("TRITON_CPP_CLIENT_DIR")
    if not client_dir:
        skip("set TRITON_CPP_CLIENT_DIR to the output of scripts/build_triton_cpp_client.sh")
    for f in ("lib/libgrpcclient.so", "lib/libhttpclient.so", "include/grpc_client.h"):
        if not os.path.exists(os.path.join(client_dir, f)):
            skip("%s has no %s: run scripts/build_triton_cpp_client.sh first" % (client_dir, f))
    if not os.path.isdir(ZOO):
        skip("shared model zoo ../shared/models absent")
    sources = os.path.join(client_dir, "SOURCES")
    if os.path.exists(sources):
        print("Triton C++ client built from: " + open(sources).read().replace("\n", "; "))

    with tempfile.TemporaryDirectory() as work:
        exe = os.path.join(BUILD, "triton_cpp_client_check")
        compile_check(client_dir, exe)
        repo = os.path.join(work, "repo")
        rng = np.random.default_rng(22)
        data = {}
        for name, (files, model_file, shape) in MODELS.items():
            vdir = add_model(repo, name, files, "max_batch_size: %d\n"
                             "dynamic_batching { max_queue_delay_microseconds: 200 }\n"
                             "instance_group [{ count: 2 kind: KIND_CPU }]\n" % MAX_BATCH)
            x = rng.normal(size=(ROWS,) + shape).astype(np.float32)
            y = predict(os.path.join(vdir, model_file), x).astype(np.float32)
            xin, yref = os.path.join(work, name + "_x.f32"), os.path.join(work, name + "_y.f32")
            x.tofile(xin)
            y.tofile(yref)
            data[name] = (xin, yref)
        server = Server(repo)
        try:
            # Both protocols and both models at once: four clients whose requests the
            # batcher merges; each still gets exactly its own rows back.
            runs = []
            for name, (xin, yref) in data.items():
                for protocol, url in (("grpc", server.grpc), ("http", server.http.replace("http://", ""))):
                    runs.append(subprocess.Popen([exe, protocol, url, name, str(ROWS), xin, yref],
                                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
            failed = 0
            for run in runs:
                out, _ = run.communicate(timeout=120)
                print(out, end="")
                failed += run.returncode != 0
        finally:
            server.stop()
    print("%d of %d client runs failed" % (failed, len(runs)) if failed else "all %d client runs passed" % len(runs))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
