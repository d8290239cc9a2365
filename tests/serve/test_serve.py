"""`tachyon serve` driven by real clients: python3-requests over HTTP/REST (JSON and the
binary-tensor extension) and python3-grpcio with stubs generated from proto/ at test time.
Every answer is compared bit for bit with `tachyon predict` on the same rows. Run by ctest
(test `serve`); models come from the shared zoo (../shared/models, skipped when absent) and
from a small XGBoost model trained here."""
import concurrent.futures as cf
import json
import os
import socket
import struct
import threading
import time

import grpc
import numpy as np
import pytest
import requests

from serve_helpers import CLI, ZOO, Server, add_model, generate_stubs, predict

pytestmark = pytest.mark.skipif(not os.path.isdir(ZOO), reason="shared model zoo ../shared/models absent")

K = os.path.join(ZOO, "keras")
DENSE = [(os.path.join(K, "KERAS_3layer.json"), "model.json"), (os.path.join(K, "KERAS_3layer_weights.h5"),
                                                                  "model_weights.h5")]
BATCHED = "max_batch_size: 64\n"


def config(*lines):
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    base = tmp_path_factory.mktemp("serve")
    repo = str(base / "repo")
    os.makedirs(repo)
    dense_dir = add_model(repo, "dense", DENSE, config(
        BATCHED, "dynamic_batching { max_queue_delay_microseconds: 20000 }",
        "instance_group [{ count: 2, kind: KIND_CPU }]"))
    add_model(repo, "dense64", DENSE, config(
        BATCHED, 'input [{ name: "x", data_type: TYPE_FP64, dims: [16] }]',
        'output [{ name: "y", data_type: TYPE_FP64, dims: [5] }]'))
    add_model(repo, "float", DENSE, config(BATCHED, 'parameters { key: "mode" value { string_value: "float" } }'))
    add_model(repo, "warn", DENSE, config(
        BATCHED, "optimization { execution_accelerators { gpu_execution_accelerator: [ { name: \"tensorrt\" } ] } }",
        'model_warmup [ { name: "w" batch_size: 1 } ]', "future_triton_field: 3"))
    add_model(repo, "preferred", DENSE, config(
        BATCHED, "dynamic_batching { preferred_batch_size: [4] max_queue_delay_microseconds: 2000000 }"))
    add_model(repo, "small_queue", DENSE, config(
        BATCHED, "dynamic_batching { max_queue_delay_microseconds: 3000000 "
                 "default_queue_policy { max_queue_size: 2 } }"))
    add_model(repo, "timeout", DENSE, config(
        BATCHED, "dynamic_batching { max_queue_delay_microseconds: 2000000 "
                 "default_queue_policy { default_timeout_microseconds: 100000 } }"))
    add_model(repo, "ragged", DENSE, config(
        BATCHED, 'input [{ name: "muons", data_type: TYPE_FP32, dims: [16], allow_ragged_batch: true }]',
        "dynamic_batching { max_queue_delay_microseconds: 20000 }"))
    add_model(repo, "cnn", [(os.path.join(ZOO, "onnx", "conv2d_small_keras.onnx"), "model.onnx")],
              config('platform: "onnxruntime_onnx"', "max_batch_size: 8"))
    qk = add_model(repo, "qkeras", [(os.path.join(K, "qkeras_3layer.json"), "model.json"),
                                    (os.path.join(K, "qkeras_3layer_weights.h5"), "model_weights.h5")],
                   config(BATCHED), precision=os.path.join(ZOO, "config-files", "qkeras_3layer_config.yml"))
    add_model(repo, "noconfig", [(os.path.join(K, "KERAS_1layer.json"), "m.json"),
                                 (os.path.join(K, "KERAS_1layer_weights.h5"), "m_weights.h5")], None)
    add_model(repo, "versions", DENSE, config(BATCHED, "version_policy { all {} }"), version=1)
    add_model(repo, "versions", DENSE, None, version=3)
    add_model(repo, "bad", DENSE, config("max_batch_size: \"lots\""))
    add_model(repo, "bad_mode", DENSE, config(BATCHED, 'parameters { key: "mode" value { string_value: "fast" } }'))
    # A boosted-tree model, trained here (a few hundred rows, seconds).
    import xgboost as xgb
    rng = np.random.default_rng(3)
    xt = rng.normal(size=(300, 6)).astype(np.float32)
    yt = (xt[:, 0] + xt[:, 1] * xt[:, 2] > 0).astype(int) + (xt[:, 3] > 1)
    booster = xgb.train({"objective": "multi:softprob", "num_class": 3, "max_depth": 3}, xgb.DMatrix(xt, label=yt), 8)
    tree_dir = add_model(repo, "tree", [], config("max_batch_size: 32"))
    booster.save_model(os.path.join(tree_dir, "model.json"))

    server = Server(repo)
    pb2, pb2_grpc = generate_stubs(str(base))
    channel = grpc.insecure_channel(server.grpc)
    stub = pb2_grpc.GRPCInferenceServiceStub(channel)
    yield dict(server=server, repo=repo, pb2=pb2, stub=stub, dense=os.path.join(dense_dir, "model.json"),
               qkeras=os.path.join(qk, "model.json"), tree=os.path.join(tree_dir, "model.json"),
               cnn=os.path.join(repo, "cnn", "1", "model.onnx"), base=str(base))
    channel.close()
    server.stop()


def rows(n, features, seed=0):
    shape = (n, features) if isinstance(features, int) else (n, *features)
    return np.random.default_rng(seed).normal(size=shape).astype(np.float32)


def http_infer(server, model, x, name, binary=False, datatype="FP32", version=None, binary_out=False):
    url = server.http + "/v2/models/" + model + ("/versions/" + version if version else "") + "/infer"
    tensor = {"name": name, "shape": list(x.shape), "datatype": datatype}
    if binary:
        raw = x.tobytes()
        tensor["parameters"] = {"binary_data_size": len(raw)}
        header = json.dumps({"inputs": [tensor], "parameters": {"binary_data_output": binary_out}}).encode()
        r = requests.post(url, data=header + raw, headers={"Inference-Header-Content-Length": str(len(header))})
    else:
        tensor["data"] = x.tolist()
        r = requests.post(url, json={"inputs": [tensor], "id": "q1"})
    if r.status_code != 200:
        return r.status_code, r.json()["error"]
    if "Inference-Header-Content-Length" in r.headers:
        n = int(r.headers["Inference-Header-Content-Length"])
        head = json.loads(r.content[:n])
        out = head["outputs"][0]
        dtype = np.float64 if out["datatype"] == "FP64" else np.float32
        return 200, np.frombuffer(r.content[n:], dtype=dtype).reshape(out["shape"])
    out = r.json()["outputs"][0]
    dtype = np.float64 if out["datatype"] == "FP64" else np.float32
    return 200, np.array(out["data"], dtype=dtype).reshape(out["shape"])


def grpc_infer(env, model, x, name, datatype="FP32", version="", timeout=None):
    pb2 = env["pb2"]
    q = pb2.ModelInferRequest(model_name=model, model_version=version)
    q.inputs.add(name=name, datatype=datatype, shape=list(x.shape))
    q.raw_input_contents.append(x.tobytes())
    r = env["stub"].ModelInfer(q, timeout=timeout)
    out = r.outputs[0]
    dtype = np.float64 if out.datatype == "FP64" else np.float32
    return np.frombuffer(r.raw_output_contents[0], dtype=dtype).reshape(list(out.shape))


def wait_pending(server, model, n, limit=10.0):
    """Until `n` requests of `model` wait in its queue (the server's own gauge)."""
    line = 'nv_inference_pending_request_count{model="%s",version="1"} %d' % (model, n)
    deadline = time.time() + limit
    while line not in requests.get(server.metrics).text:
        assert time.time() < deadline, "requests did not reach the queue"
        time.sleep(0.01)


def input_name(env, model):
    return env["stub"].ModelMetadata(env["pb2"].ModelMetadataRequest(name=model)).inputs[0].name


def stats(env, model):
    s = env["stub"].ModelStatistics(env["pb2"].ModelStatisticsRequest(name=model)).model_stats[0]
    return s


# ---- bit-exact answers, every protocol --------------------------------------------------


@pytest.mark.parametrize("model,key,features,precision", [
    ("dense", "dense", 16, None), ("cnn", "cnn", (8, 8, 1), None), ("qkeras", "qkeras", 16, "qkeras"),
    ("tree", "tree", 6, None)])
def test_bit_exact_every_protocol(env, model, key, features, precision):
    x = rows(7, features, seed=11)
    cfg = os.path.join(os.path.dirname(env[key]), "tachyon.yml") if precision else None
    want = predict(env[key], x.reshape(7, -1), config=cfg).astype(np.float32)
    name = input_name(env, model)
    server = env["server"]
    for got in (http_infer(server, model, x, name)[1], http_infer(server, model, x, name, binary=True)[1],
                http_infer(server, model, x, name, binary=True, binary_out=True)[1], grpc_infer(env, model, x, name)):
        assert got.shape[0] == 7
        np.testing.assert_array_equal(got.reshape(7, -1), want)
    # A fixed-point answer is not the float one (the comparison above can fail).
    if model == "dense":
        assert not np.array_equal(predict(env[key], x, float_mode=True).astype(np.float32), want)


def test_fp64_and_float_mode(env):
    x = rows(5, 16, seed=2).astype(np.float64)
    got = grpc_infer(env, "dense64", x, "x", datatype="FP64")
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, predict(env["dense"], x))
    x32 = x.astype(np.float32)
    np.testing.assert_array_equal(http_infer(env["server"], "float", x32, input_name(env, "float"))[1],
                                  predict(env["dense"], x32, float_mode=True).astype(np.float32))


def test_unbatched_model_without_config(env):
    pb2 = env["pb2"]
    md = env["stub"].ModelMetadata(pb2.ModelMetadataRequest(name="noconfig"))
    assert list(md.inputs[0].shape) == [10]   # max_batch_size 0: no batch dimension
    x = rows(1, 10, seed=5)
    got = grpc_infer(env, "noconfig", x[0], md.inputs[0].name)
    np.testing.assert_array_equal(got.reshape(1, -1),
                                  predict(os.path.join(env["repo"], "noconfig", "1", "m.json"), x).astype(np.float32))


# ---- the gRPC calls a Triton client (SONIC) makes ----------------------------------------


def test_grpc_service_calls(env):
    pb2, stub = env["pb2"], env["stub"]
    assert stub.ServerLive(pb2.ServerLiveRequest()).live
    assert not stub.ServerReady(pb2.ServerReadyRequest()).ready   # two models failed to load
    assert stub.ModelReady(pb2.ModelReadyRequest(name="dense")).ready
    assert not stub.ModelReady(pb2.ModelReadyRequest(name="bad")).ready
    assert not stub.ModelReady(pb2.ModelReadyRequest(name="nope")).ready
    md = stub.ServerMetadata(pb2.ServerMetadataRequest())
    assert md.name == "tachyon" and "model_repository" in md.extensions
    mm = stub.ModelMetadata(pb2.ModelMetadataRequest(name="dense"))
    assert list(mm.inputs[0].shape) == [-1, 16] and list(mm.outputs[0].shape) == [-1, 5]
    assert mm.inputs[0].datatype == "FP32"
    cfg = stub.ModelConfig(pb2.ModelConfigRequest(name="dense")).config
    assert cfg.max_batch_size == 64 and cfg.instance_group[0].count == 2
    assert cfg.dynamic_batching.max_queue_delay_microseconds == 20000
    cnn = stub.ModelConfig(pb2.ModelConfigRequest(name="cnn")).config
    assert cnn.platform == "onnxruntime_onnx"
    # Completed from the model, as Triton's auto-complete does.
    assert list(cnn.input[0].dims) == [8, 8, 1] and list(cnn.output[0].dims) == [10]
    ragged = stub.ModelConfig(pb2.ModelConfigRequest(name="ragged")).config
    assert ragged.input[0].allow_ragged_batch and list(ragged.output[0].dims) == [5]
    versions = stub.ModelMetadata(pb2.ModelMetadataRequest(name="versions")).versions
    assert list(versions) == ["1", "3"]
    idx = {(m.name, m.version): m for m in stub.RepositoryIndex(pb2.RepositoryIndexRequest()).models}
    assert idx[("dense", "1")].state == "READY"
    assert idx[("bad", "")].state == "UNAVAILABLE" and "config.pbtxt:1" in idx[("bad", "")].reason
    assert "mode: 'fast'" in idx[("bad_mode", "")].reason
    assert all(m.state == "READY" for m in stub.RepositoryIndex(pb2.RepositoryIndexRequest(ready=True)).models)
    # Unknown fields are warnings; the model serves.
    assert idx[("warn", "1")].state == "READY"
    log = env["server"].text()
    assert 'no field named "future_triton_field"' in log and "optimization: not used" in log
    # Unload, then load again.
    stub.RepositoryModelUnload(pb2.RepositoryModelUnloadRequest(model_name="versions"))
    assert not stub.ModelReady(pb2.ModelReadyRequest(name="versions")).ready
    with pytest.raises(grpc.RpcError) as e:
        grpc_infer(env, "versions", rows(1, 16), "input_1")
    assert e.value.code() == grpc.StatusCode.UNAVAILABLE
    stub.RepositoryModelLoad(pb2.RepositoryModelLoadRequest(model_name="versions"))
    assert stub.ModelReady(pb2.ModelReadyRequest(name="versions", version="1")).ready
    with pytest.raises(grpc.RpcError) as e:
        stub.RepositoryModelLoad(pb2.RepositoryModelLoadRequest(model_name="bad"))
    assert e.value.code() == grpc.StatusCode.UNAVAILABLE and "lots" in e.value.details()
    x = rows(2, 16)
    np.testing.assert_array_equal(grpc_infer(env, "versions", x, "input_1", version="1"),
                                  grpc_infer(env, "versions", x, "input_1", version="3"))


def test_statistics_and_metrics(env):
    server = env["server"]
    before = stats(env, "qkeras")
    for i in range(3):
        grpc_infer(env, "qkeras", rows(2, 16, seed=i), input_name(env, "qkeras"))
    after = stats(env, "qkeras")
    assert after.inference_stats.success.count == before.inference_stats.success.count + 3
    assert after.inference_count == before.inference_count + 6
    assert after.inference_stats.compute_infer.ns > before.inference_stats.compute_infer.ns
    st = requests.get(server.http + "/v2/models/qkeras/stats").json()["model_stats"][0]
    assert st["inference_count"] == after.inference_count   # numbers, as Triton writes them
    text = requests.get(server.metrics).text
    for name in ("nv_inference_request_success", "nv_inference_request_failure", "nv_inference_count",
                 "nv_inference_exec_count", "nv_inference_request_duration_us", "nv_inference_queue_duration_us",
                 "nv_inference_compute_infer_duration_us"):
        assert "# TYPE " + name in text
    assert 'nv_inference_count{model="qkeras",version="1"} %d' % after.inference_count in text


# ---- the dynamic batcher ----------------------------------------------------------------


def test_concurrent_clients_merge_and_stay_exact(env):
    """8 clients, requests of 1..6 rows: each answer equals predict on its own rows, and the
    batcher ran fewer batches than it got requests."""
    x = rows(200, 16, seed=9)
    want = predict(env["dense"], x).astype(np.float32)
    before = stats(env, "dense")
    jobs = [(i * 6, 1 + i % 6) for i in range(32)]

    def one(job):
        start, n = job
        sl = x[start:start + n]
        if job[0] % 2:
            return job, grpc_infer(env, "dense", sl, "input_1")
        return job, http_infer(env["server"], "dense", sl, "input_1", binary=True)[1]

    with cf.ThreadPoolExecutor(8) as pool:
        for (start, n), got in pool.map(one, jobs):
            np.testing.assert_array_equal(got, want[start:start + n])
    after = stats(env, "dense")
    requests_made = after.inference_stats.success.count - before.inference_stats.success.count
    executions = after.execution_count - before.execution_count
    assert requests_made == len(jobs)
    assert executions < requests_made


def test_preferred_batch_size_and_queue_delay(env):
    before = {b.batch_size: b.compute_infer.count for b in stats(env, "preferred").batch_stats}
    t0 = time.time()
    with cf.ThreadPoolExecutor(4) as pool:
        outs = list(pool.map(lambda i: grpc_infer(env, "preferred", rows(1, 16, seed=i), "input_1"), range(4)))
    fast = time.time() - t0
    after = {b.batch_size: b.compute_infer.count for b in stats(env, "preferred").batch_stats}
    assert after.get(4, 0) == before.get(4, 0) + 1   # one batch of the preferred size
    assert fast < 1.5                                # sent at once, not after the 2 s delay
    for i, o in enumerate(outs):
        np.testing.assert_array_equal(o, predict(env["dense"], rows(1, 16, seed=i)).astype(np.float32))
    t0 = time.time()
    grpc_infer(env, "preferred", rows(1, 16), "input_1")
    assert time.time() - t0 >= 1.9                   # alone: waited for the queue delay


def test_queue_full_and_timeout(env):
    server = env["server"]
    with cf.ThreadPoolExecutor(2) as pool:
        waiting = [pool.submit(http_infer, server, "small_queue", rows(1, 16, seed=i), "input_1") for i in range(2)]
        wait_pending(server, "small_queue", 2)   # both queued, waiting for the 3 s delay
        code, msg = http_infer(server, "small_queue", rows(1, 16), "input_1")
        assert code == 503 and "queue is full" in msg
        with pytest.raises(grpc.RpcError) as e:
            grpc_infer(env, "small_queue", rows(1, 16), "input_1")
        assert e.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert all(w.result()[0] == 200 for w in waiting)
    t0 = time.time()
    with pytest.raises(grpc.RpcError) as e:
        grpc_infer(env, "timeout", rows(1, 16), "input_1")
    assert e.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert time.time() - t0 < 1.0   # the 100 ms timeout, not the 2 s delay
    code, msg = http_infer(server, "timeout", rows(1, 16), "input_1")
    assert code == 504 and "timed out" in msg


def test_ragged_batching(env):
    """Events with 1..5 muons of 16 features each, sent at once: merged, each answered with
    one row per muon, equal to predict on that event's rows."""
    events = [rows(n, 16, seed=n) for n in (3, 1, 5, 2, 4)]
    before = stats(env, "ragged")
    with cf.ThreadPoolExecutor(5) as pool:
        outs = list(pool.map(lambda ev: grpc_infer(env, "ragged", ev.reshape(1, -1), "muons"), events))
    for ev, out in zip(events, outs):
        assert out.shape == (len(ev), 5)
        np.testing.assert_array_equal(out, predict(env["dense"], ev).astype(np.float32))
    after = stats(env, "ragged")
    assert after.execution_count - before.execution_count < len(events)


# ---- bad input: a clear error, and the server keeps serving -----------------------------


def test_bad_requests(env):
    server = env["server"]
    url = server.http + "/v2/models/dense/infer"
    good = {"inputs": [{"name": "input_1", "shape": [1, 16], "datatype": "FP32", "data": [0.5] * 16}]}

    def post(body, **kw):
        r = requests.post(url, data=body if isinstance(body, (bytes, str)) else json.dumps(body), **kw)
        return r.status_code, r.json().get("error", "")

    assert post("{not json")[0] == 400
    assert "not valid JSON" in post("{not json")[1]
    bad_dtype = json.loads(json.dumps(good))
    bad_dtype["inputs"][0]["datatype"] = "INT32"
    assert "datatype INT32" in post(bad_dtype)[1]
    bad_shape = json.loads(json.dumps(good))
    bad_shape["inputs"][0]["shape"] = [1, 15]
    assert "more values than its shape" in post(bad_shape)[1]
    bad_shape["inputs"][0]["data"] = [0.5] * 15
    assert "shape [1,15] does not match the model's [-1,16]" in post(bad_shape)[1]
    bad_name = json.loads(json.dumps(good))
    bad_name["inputs"][0]["name"] = "x"
    assert "unknown input 'x'" in post(bad_name)[1]
    nan = json.loads(json.dumps(good))
    nan["inputs"][0]["data"][3] = float("nan")   # Python writes NaN, which JSON does not have
    assert post(json.dumps(nan))[0] == 400
    x = rows(1, 16)
    x[0, 3], x[0, 7] = np.nan, np.inf
    code, msg = http_infer(server, "dense", x, "input_1", binary=True)
    assert code == 400 and "value 3 is NaN" in msg
    x[0, 3] = 0
    with pytest.raises(grpc.RpcError) as e:
        grpc_infer(env, "dense", x, "input_1")
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "value 7 is infinite" in e.value.details()
    short = json.loads(json.dumps(good))
    short["inputs"][0]["data"] = [1.0] * 5
    assert "5 values for a shape of 16" in post(short)[1]
    assert post({"inputs": "x"})[0] == 400
    assert requests.post(server.http + "/v2/models/nope/infer", json=good).status_code == 404
    assert requests.post(server.http + "/v2/models/dense/versions/9/infer", json=good).status_code == 404
    assert "not ready" in requests.post(server.http + "/v2/models/bad/infer", json=good).json()["error"]
    header = json.dumps({"inputs": [{"name": "input_1", "shape": [1, 16], "datatype": "FP32",
                                     "parameters": {"binary_data_size": 64}}]}).encode()
    code, msg = post(header + b"\0" * 10, headers={"Inference-Header-Content-Length": str(len(header))})
    assert code == 400 and "runs past the end" in msg
    code, msg = post(header + b"\0" * 64, headers={"Inference-Header-Content-Length": "999999"})
    assert code == 400 and "exceeds the body" in msg
    # gRPC: wrong shape, missing raw contents, garbage bytes instead of a ModelInferRequest.
    with pytest.raises(grpc.RpcError) as e:
        grpc_infer(env, "dense", rows(2, 15), "input_1")
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "shape [2,15]" in e.value.details()
    garbage = grpc.insecure_channel(server.grpc).unary_unary(
        "/inference.GRPCInferenceService/ModelInfer", request_serializer=lambda b: b,
        response_deserializer=lambda b: b)
    with pytest.raises(grpc.RpcError):
        garbage(b"\xff\xff\xff\xff garbage")
    # A client that hangs up half-way through its body.
    s = socket.create_connection(("127.0.0.1", server.ports["HTTP"]))
    s.sendall(b"POST /v2/models/dense/infer HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n{\"inputs\":")
    s.close()
    # Failures are counted; the server still answers correctly.
    assert stats(env, "dense").inference_stats.fail.count >= 6
    x = rows(1, 16, seed=4)
    np.testing.assert_array_equal(http_infer(server, "dense", x, "input_1")[1],
                                  predict(env["dense"], x).astype(np.float32))


def test_oversize_payload(tmp_path, env):
    repo = str(tmp_path / "repo")
    add_model(repo, "dense", DENSE, config(BATCHED))
    server = Server(repo, "--max-request-bytes", "4096")
    try:
        big = rows(200, 16)   # 12.8 kB of FP32
        code, _ = (lambda r: (r.status_code, r))(requests.post(
            server.http + "/v2/models/dense/infer",
            json={"inputs": [{"name": "input_1", "shape": [200, 16], "datatype": "FP32", "data": big.tolist()}]}))
        assert code == 413
        pb2, pb2_grpc = env["pb2"], None
        import grpc_service_pb2_grpc
        stub = grpc_service_pb2_grpc.GRPCInferenceServiceStub(grpc.insecure_channel(server.grpc))
        q = pb2.ModelInferRequest(model_name="dense")
        q.inputs.add(name="input_1", datatype="FP32", shape=[200, 16])
        q.raw_input_contents.append(big.tobytes())
        with pytest.raises(grpc.RpcError) as e:
            stub.ModelInfer(q)
        assert e.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert http_infer(server, "dense", rows(2, 16), "input_1")[0] == 200
    finally:
        server.stop()


def test_relaxed_readiness(tmp_path):
    repo = str(tmp_path / "repo")
    add_model(repo, "dense", DENSE, config(BATCHED))
    add_model(repo, "broken", DENSE, config("max_batch_size: -3"))
    server = Server(repo, "--strict-readiness", "false")
    try:
        assert requests.get(server.http + "/v2/health/ready").status_code == 200
        idx = {m["name"]: m for m in requests.post(server.http + "/v2/repository/index", json={}).json()}
        assert idx["broken"]["state"] == "UNAVAILABLE" and "must not be negative" in idx["broken"]["reason"]
    finally:
        server.stop()


def test_sigterm_drains_in_flight_requests(tmp_path):
    repo = str(tmp_path / "repo")
    add_model(repo, "slow", DENSE, config(BATCHED, "dynamic_batching { max_queue_delay_microseconds: 800000 }"))
    server = Server(repo)
    try:
        result = {}

        def call():
            result["r"] = http_infer(server, "slow", rows(3, 16), "input_1")

        t = threading.Thread(target=call)
        t.start()
        wait_pending(server, "slow", 1)   # the request waits in the queue (0.8 s delay)
        assert server.terminate() == 0
        t.join()
        assert result["r"][0] == 200 and result["r"][1].shape == (3, 5)
        assert "SIGTERM" in server.text() and "stopped" in server.text()
    finally:
        server.stop()


# ---- tachyon perf -----------------------------------------------------------------------


@pytest.mark.parametrize("protocol", ["grpc", "http"])
def test_perf(env, protocol, tmp_path):
    import subprocess
    server = env["server"]
    url = server.grpc if protocol == "grpc" else "127.0.0.1:%d" % server.ports["HTTP"]
    out = tmp_path / "perf"
    args = [CLI, "perf", "-m", "dense", "-u", url, "-i", protocol, "-b", "1", "-b", "8", "-p", "0.3",
            "--csv", str(out) + ".csv", "--json", str(out) + ".json"]
    if protocol == "grpc":
        args += ["--concurrency-range", "1:4", "--png", str(out) + ".png"]
    else:
        args += ["--request-rate-range", "200", "--request-distribution", "poisson"]
    r = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    doc = json.load(open(str(out) + ".json"))
    levels = doc["results"]
    assert len(levels) == (6 if protocol == "grpc" else 2)   # (1, 2, 4) x 2 batch sizes / 1 rate x 2
    for lv in levels:
        assert lv["errors"] == 0 and lv["requests"] > 0
        assert lv["p50_us"] <= lv["p90_us"] <= lv["p99_us"]
        assert lv["server_compute_us"] > 0
    csv = open(str(out) + ".csv").read().splitlines()
    assert csv[0].startswith("batch_size,concurrency") and len(csv) == len(levels) + 1
    if protocol == "grpc":
        assert open(str(out) + ".png", "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    # An existing output is not overwritten without --force.
    again = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert again.returncode == 1 and "exists" in again.stderr


def test_http_service_calls(env):
    http = env["server"].http
    assert requests.get(http + "/v2/health/live").status_code == 200
    assert requests.get(http + "/v2/health/ready").status_code == 503   # two models failed to load
    assert "binary_tensor_data" in requests.get(http + "/v2").json()["extensions"]
    md = requests.get(http + "/v2/models/cnn").json()
    assert md["inputs"][0]["shape"] == [-1, 8, 8, 1] and md["outputs"][0]["shape"] == [-1, 10]
    assert md["platform"] == "onnxruntime_onnx"
    assert requests.get(http + "/v2/models/dense/ready").status_code == 200
    assert requests.get(http + "/v2/models/dense/versions/2/ready").status_code == 400
    assert requests.get(http + "/v2/models/bad/ready").status_code == 400
    cfg = requests.get(http + "/v2/models/dense/config").json()
    assert cfg["max_batch_size"] == 64 and cfg["input"][0]["dims"] == [16]
    assert requests.get(http + "/v2/models/nope/config").status_code == 404
    idx = {m["name"]: m for m in requests.post(http + "/v2/repository/index", json={}).json()}
    assert idx["dense"]["state"] == "READY" and "lots" in idx["bad"]["reason"]
    assert requests.post(http + "/v2/repository/models/float/unload", json={}).status_code == 200
    assert requests.get(http + "/v2/models/float/ready").status_code == 400
    assert requests.post(http + "/v2/repository/models/float/load", json={}).status_code == 200
    assert requests.get(http + "/v2/models/float/ready").status_code == 200
    r = requests.post(http + "/v2/repository/models/bad_mode/load", json={})
    assert r.status_code == 503 and "fast" in r.json()["error"]
    assert requests.post(http + "/v2/repository/models/..%2F/load", json={}).status_code in (400, 404)
    all_stats = requests.get(http + "/v2/models/stats").json()["model_stats"]
    assert {"dense", "cnn", "tree"} <= {s["name"] for s in all_stats}


def test_typed_contents_and_per_output_binary(env):
    """gRPC inputs in typed `contents` instead of raw bytes; HTTP binary_data per output."""
    pb2 = env["pb2"]
    x = rows(3, 16, seed=21)
    want = predict(env["dense"], x).astype(np.float32)
    q = pb2.ModelInferRequest(model_name="dense", id="typed")
    t = q.inputs.add(name="input_1", datatype="FP32", shape=[3, 16])
    t.contents.fp32_contents.extend(x.ravel().tolist())
    q.outputs.add(name="output_softmax_softmax")
    r = env["stub"].ModelInfer(q)
    assert r.id == "typed" and list(r.outputs[0].shape) == [3, 5]
    np.testing.assert_array_equal(np.frombuffer(r.raw_output_contents[0], dtype=np.float32).reshape(3, 5), want)
    q.outputs[0].name = "nope"
    with pytest.raises(grpc.RpcError) as e:
        env["stub"].ModelInfer(q)
    assert "unknown output 'nope'" in e.value.details()
    body = {"inputs": [{"name": "input_1", "shape": [3, 16], "datatype": "FP32", "data": x.ravel().tolist()}],
            "outputs": [{"name": "output_softmax_softmax", "parameters": {"binary_data": True}}]}
    r = requests.post(env["server"].http + "/v2/models/dense/infer", json=body)
    n = int(r.headers["Inference-Header-Content-Length"])
    assert json.loads(r.content[:n])["outputs"][0]["parameters"]["binary_data_size"] == 60
    np.testing.assert_array_equal(np.frombuffer(r.content[n:], dtype=np.float32).reshape(3, 5), want)


def test_client_cancelling_mid_request(env):
    """A gRPC client that gives up while its request waits in the queue: the server
    answers the others and keeps serving."""
    pb2 = env["pb2"]
    q = pb2.ModelInferRequest(model_name="preferred")
    q.inputs.add(name="input_1", datatype="FP32", shape=[1, 16])
    q.raw_input_contents.append(rows(1, 16).tobytes())
    fut = env["stub"].ModelInfer.future(q)
    time.sleep(0.1)
    fut.cancel()
    with pytest.raises(grpc.FutureCancelledError):
        fut.result()
    with pytest.raises(grpc.RpcError) as e:   # a client deadline shorter than the queue delay
        env["stub"].ModelInfer(q, timeout=0.1)
    assert e.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    x = rows(4, 16, seed=8)
    np.testing.assert_array_equal(grpc_infer(env, "preferred", x, "input_1"),
                                  predict(env["dense"], x).astype(np.float32))


def test_port_in_use_is_an_error(env):
    import subprocess
    for flag, port in (("--http-port", env["server"].ports["HTTP"]), ("--grpc-port", env["server"].ports["gRPC"]),
                       ("--metrics-port", env["server"].ports["metrics"])):
        ports = {"--http-port": "-1", "--grpc-port": "-1", "--metrics-port": "-1", flag: str(port)}
        r = subprocess.run([CLI, "serve", "--model-repository", env["repo"], *sum(map(list, ports.items()), [])],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 1 and "cannot listen on 127.0.0.1:%d" % port in r.stderr
    r = subprocess.run([CLI, "serve", "--model-repository", env["repo"] + "/nope"], capture_output=True, text=True)
    assert r.returncode == 1 and "not a folder" in r.stderr
