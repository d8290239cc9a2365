"""`tachyon trigger scout --perf` end to end against a live server (docs/trigger.md,
"Scouting"): `tachyon serve` on free ports, `tachyon perf` measures it, and the scouting
simulation takes its compute time per batch from that measurement. Run by ctest (test
`serve`)."""
import json
import os
import subprocess

import pytest

from serve_helpers import CLI, ZOO, Server, add_model

pytestmark = pytest.mark.skipif(not os.path.isdir(ZOO), reason="shared model zoo ../shared/models absent")

K = os.path.join(ZOO, "keras")
DENSE = [(os.path.join(K, "KERAS_3layer.json"), "model.json"), (os.path.join(K, "KERAS_3layer_weights.h5"),
                                                                  "model_weights.h5")]


def run(*args, timeout=120):
    return subprocess.run([CLI, *map(str, args)], capture_output=True, text=True, timeout=timeout)


def test_scout_on_times_measured_from_a_live_server(tmp_path):
    repo = str(tmp_path / "repo")
    add_model(repo, "dense", DENSE, "max_batch_size: 64\n")
    server = Server(repo)
    try:
        perf_json = tmp_path / "perf.json"
        r = run("perf", "-m", "dense", "-u", server.grpc, "-i", "grpc", "-b", "1", "-b", "32", "-p", "0.3",
                "--json", perf_json)
        assert r.returncode == 0, r.stderr
    finally:
        server.stop()
    levels = json.loads(perf_json.read_text())["results"]
    measured = {lv["batch_size"]: lv["avg_us"] for lv in levels if lv["concurrency"] == 1}
    assert set(measured) == {1, 32} and all(lv["errors"] == 0 and lv["requests"] > 0 for lv in levels)

    # 50 kHz of single-object events, batches of 1 and 32: each batch's compute time is the
    # server's measured mean latency at that batch size, and a batch of 32 fills in 32 / 50 kHz.
    out = tmp_path / "scout"
    r = run("trigger", "scout", "--rate", "50kHz", "--batch", "1,32", "--perf", perf_json, "--workers", "4",
            "--duration", "100ms", "-o", out, "--no-plots")
    assert r.returncode == 0, r.stderr
    s = json.loads((out / "scout.json").read_text())
    assert s["compute"]["kind"] == "server"
    assert {int(b): t for b, t in s["compute"]["batch_seconds"].items()} == pytest.approx(
        {b: us * 1e-6 for b, us in measured.items()})
    by_batch = {x["batch"]: x for x in s["sweep"]}
    for b in (1, 32):
        assert by_batch[b]["compute_us"] == pytest.approx(measured[b], rel=1e-9)
    assert by_batch[32]["fill_us"] == pytest.approx(32 / 50e3 * 1e6, rel=0.05)
    # Latency = fill + queue + compute, so p50 is at least the compute time.
    for b in (1, 32):
        assert by_batch[b]["latency_p50_us"] >= measured[b] * 0.999

    # A perf file from a server that failed every request has no time to offer.
    bad = {"results": [{"batch_size": 8, "concurrency": 1, "avg_us": 0, "errors": 5}]}
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    r = run("trigger", "scout", "--rate", "50kHz", "--batch", "8", "--perf", tmp_path / "bad.json", "-o",
            tmp_path / "bad_out", "--no-plots")
    assert r.returncode == 1 and "no batch size with a measured time" in r.stderr
    assert not (tmp_path / "bad_out").exists()
