"""Helpers for the `tachyon serve` tests: a model repository built from the shared zoo and
small models trained here, a server process on free loopback ports, gRPC stubs generated
from the project's proto/ at test time, and `tachyon predict` as the reference."""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("TACHYON_BINARY_DIR", os.path.join(ROOT, "build"))
CLI = os.environ.get("TACHYON_CLI", os.path.join(BUILD, "tachyon"))
ZOO = os.path.join(os.path.dirname(ROOT), "shared", "models")


def generate_stubs(out_dir):
    """Python modules for proto/*.proto: grpc_tools if present, else protoc + grpc_python_plugin."""
    proto = os.path.join(ROOT, "proto")
    files = [os.path.join(proto, f) for f in ("model_config.proto", "grpc_service.proto")]
    try:
        import grpc_tools.protoc  # noqa: F401
        cmd = [sys.executable, "-m", "grpc_tools.protoc"]
        plugin = []
    except ImportError:
        cmd = ["protoc"]
        plugin = ["--plugin=protoc-gen-grpc_python=" + shutil.which("grpc_python_plugin")]
    subprocess.run(cmd + plugin + ["-I" + proto, "--python_out=" + out_dir, "--grpc_python_out=" + out_dir] + files,
                   check=True)
    sys.path.insert(0, out_dir)
    import grpc_service_pb2
    import grpc_service_pb2_grpc
    return grpc_service_pb2, grpc_service_pb2_grpc


def predict(model, x, config=None, float_mode=False):
    """`tachyon predict` on rows x: the reference every served answer must equal."""
    with tempfile.TemporaryDirectory() as d:
        xin, yout = os.path.join(d, "x.npy"), os.path.join(d, "y.npy")
        np.save(xin, x)
        cmd = [CLI, "predict", model, "-i", xin, "-o", yout]
        if config:
            cmd += ["-c", config]
        if float_mode:
            cmd.append("--float")
        subprocess.run(cmd, check=True, capture_output=True)
        return np.load(yout)


def add_model(repo, name, files, config_text, version=1, precision=None):
    vdir = os.path.join(repo, name, str(version))
    os.makedirs(vdir, exist_ok=True)
    for src, dst in files:
        shutil.copy(src, os.path.join(vdir, dst))
    if precision:
        shutil.copy(precision, os.path.join(vdir, "tachyon.yml"))
    if config_text is not None:
        with open(os.path.join(repo, name, "config.pbtxt"), "w") as f:
            f.write(config_text)
    return vdir


class Server:
    """`tachyon serve` on ports the kernel picks (port 0), read back from its log."""

    def __init__(self, repo, *extra):
        self.log_path = os.path.join(repo, "..", os.path.basename(repo) + "_server.log")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen([CLI, "serve", "--model-repository", repo, "--http-port", "0", "--grpc-port",
                                      "0", "--metrics-port", "0", *extra], stdout=self.log, stderr=subprocess.STDOUT)
        self.ports = {}
        deadline = time.time() + 60
        while time.time() < deadline:
            text = open(self.log_path).read()
            for what, port in re.findall(r"tachyon serve: (HTTP|gRPC|metrics) on [^:]+:(\d+)", text):
                self.ports[what] = int(port)
            if "tachyon serve: ready" in text:
                break
            if self.proc.poll() is not None:
                raise AssertionError("tachyon serve exited:\n" + text)
            time.sleep(0.05)
        else:
            self.stop()
            raise AssertionError("tachyon serve did not become ready:\n" + open(self.log_path).read())
        self.http = "http://127.0.0.1:%d" % self.ports["HTTP"]
        self.grpc = "127.0.0.1:%d" % self.ports["gRPC"]
        self.metrics = "http://127.0.0.1:%d/metrics" % self.ports["metrics"]

    def text(self):
        return open(self.log_path).read()

    def terminate(self, timeout=30):
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=timeout)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
