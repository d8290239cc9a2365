"""The exact requests Triton's own client library (tritonclient, read from
github.com/triton-inference-server/client: http/_client.py, http/_utils.py,
http/_infer_input.py, http/_requested_output.py, http/_infer_result.py, grpc/_utils.py,
grpc/_infer_input.py, grpc/_requested_output.py, grpc/_client.py, grpc/_infer_stream.py,
utils/shared_memory) puts on the wire, rebuilt byte for byte with requests, zlib/gzip,
multiprocessing.shared_memory and grpcio (tritonclient itself is not in Debian), each
answered bit-exact against `tachyon predict`, or refused with the error tritonclient
shows its user. Also the streaming call (ModelStreamInfer) and the system shared memory
extension over HTTP and gRPC."""
import gzip
import json
import os
import queue
import re
import struct
import zlib
from multiprocessing import shared_memory

import grpc
import numpy as np
import pytest
import requests

from serve_helpers import ZOO, Server, add_model, generate_stubs, predict

pytestmark = pytest.mark.skipif(not os.path.isdir(ZOO), reason="shared model zoo ../shared/models absent")

K = os.path.join(ZOO, "keras")
DENSE = [(os.path.join(K, "KERAS_3layer.json"), "model.json"),
         (os.path.join(K, "KERAS_3layer_weights.h5"), "model_weights.h5")]


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    base = tmp_path_factory.mktemp("wire")
    repo = str(base / "repo")
    os.makedirs(repo)
    vdir = add_model(repo, "dense", DENSE, "max_batch_size: 64\n"
                     "dynamic_batching { max_queue_delay_microseconds: 2000 }\n"
                     "instance_group [{ count: 2, kind: KIND_CPU }]\n")
    server = Server(repo)
    pb2, pb2_grpc = generate_stubs(str(base))
    channel = grpc.insecure_channel(server.grpc)
    name = pb2_grpc.GRPCInferenceServiceStub(channel).ModelMetadata(pb2.ModelMetadataRequest(name="dense")).inputs[0].name
    yield dict(server=server, pb2=pb2, stub=pb2_grpc.GRPCInferenceServiceStub(channel), channel=channel,
               model=os.path.join(vdir, "model.json"), input=name)
    channel.close()
    server.stop()


def rows(n, seed):
    return np.random.default_rng(seed).normal(size=(n, 16)).astype(np.float32)


def reference(env, x):
    return predict(env["model"], x).astype(np.float32)


# ---- HTTP: what tritonclient.http.InferenceServerClient.infer() sends ------------------------


def triton_http_body(inputs, outputs=None, request_id="", timeout=None):
    """http/_utils.py _get_inference_request: the JSON (json.dumps), then each binary input's
    bytes; binary_data_output when no outputs are named; the JSON length as header."""
    request = {}
    parameters = {}
    if request_id != "":
        request["id"] = request_id
    if timeout is not None:
        parameters["timeout"] = timeout
    request["inputs"] = [t for t, _ in inputs]
    if outputs:
        request["outputs"] = outputs
    else:
        parameters["binary_data_output"] = True
    if parameters:
        request["parameters"] = parameters
    text = json.dumps(request)
    raws = [raw for _, raw in inputs if raw is not None]
    if not raws:
        return text.encode(), None
    return b"".join([text.encode()] + raws), len(text)


def triton_input(name, x, binary=True):
    """http/_infer_input.py set_data_from_numpy: binary -> parameters.binary_data_size and the
    bytes after the JSON; else a flat 'data' list."""
    t = {"name": name, "shape": list(x.shape), "datatype": "FP32"}
    if binary:
        raw = x.tobytes()
        t["parameters"] = {"binary_data_size": len(raw)}
        return t, raw
    t["data"] = [v.item() for v in x.flatten()]
    return t, None


def triton_http_post(env, body, json_size, headers=None, path="/v2/models/dense/infer"):
    headers = dict(headers or {})
    if json_size is not None:
        headers["Inference-Header-Content-Length"] = json_size   # an int, as tritonclient sets it
    return requests.post(env["server"].http + path, data=body, headers={k: str(v) for k, v in headers.items()})


def triton_http_result(r):
    """http/_infer_result.py: decompress per Content-Encoding, then the header length splits
    the JSON from the output bytes (binary_data_size per output, in order)."""
    assert r.status_code == 200, r.text
    content = r.content   # requests has undone any Content-Encoding, as tritonclient does
    length = r.headers.get("Inference-Header-Content-Length")
    if length is None:
        result = json.loads(content)
        out = result["outputs"][0]
        return result, np.array(out["data"], dtype=np.float32).reshape(out["shape"])
    result = json.loads(content[:int(length)])
    out = result["outputs"][0]
    assert out["parameters"]["binary_data_size"] == len(content) - int(length)
    return result, np.frombuffer(content[int(length):], dtype=np.float32).reshape(out["shape"])


def test_http_infer_as_tritonclient_sends_it(env):
    x = rows(9, 1)
    want = reference(env, x)
    # Default: binary input, no outputs named -> binary_data_output, header length an int.
    body, size = triton_http_body([triton_input(env["input"], x)], request_id="7")
    result, got = triton_http_result(triton_http_post(env, body, size))
    np.testing.assert_array_equal(got, want)
    assert result["id"] == "7" and result["model_name"] == "dense" and result["model_version"] == "1"
    # JSON input, output named with binary_data False (InferRequestedOutput(binary_data=False)).
    out_name = requests.get(env["server"].http + "/v2/models/dense").json()["outputs"][0]["name"]
    body, size = triton_http_body([triton_input(env["input"], x, binary=False)],
                                  outputs=[{"name": out_name, "parameters": {"binary_data": False}}])
    assert size is None
    r = triton_http_post(env, body, size)
    assert "Inference-Header-Content-Length" not in r.headers
    np.testing.assert_array_equal(triton_http_result(r)[1], want)
    # JSON input, binary output (InferRequestedOutput default binary_data=True), timeout.
    body, size = triton_http_body([triton_input(env["input"], x, binary=False)],
                                  outputs=[{"name": out_name, "parameters": {"binary_data": True}}], timeout=10**7)
    np.testing.assert_array_equal(triton_http_result(triton_http_post(env, body, size))[1], want)


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
def test_http_compressed_request_and_response(env, encoding):
    # request_compression_algorithm: gzip.compress / zlib.compress with Content-Encoding;
    # response_compression_algorithm: Accept-Encoding.
    x = rows(5, 2)
    body, size = triton_http_body([triton_input(env["input"], x)])
    packed = gzip.compress(body) if encoding == "gzip" else zlib.compress(body)
    r = requests.post(env["server"].http + "/v2/models/dense/infer", data=packed, stream=True,
                      headers={"Content-Encoding": encoding, "Accept-Encoding": encoding,
                               "Inference-Header-Content-Length": str(size)})
    raw = r.raw.read()   # the bytes as sent, before any decoding
    coding = r.headers.get("Content-Encoding")
    if coding == "gzip":
        raw = gzip.decompress(raw)
    elif coding == "deflate":
        raw = zlib.decompress(raw)
    else:
        assert coding is None
    length = int(r.headers["Inference-Header-Content-Length"])
    head = json.loads(raw[:length])
    got = np.frombuffer(raw[length:], dtype=np.float32).reshape(head["outputs"][0]["shape"])
    np.testing.assert_array_equal(got, reference(env, x))
    # An all-JSON answer comes back compressed as asked (binary-extension answers are sent
    # as they are: the client decompresses only what says Content-Encoding).
    body, _ = triton_http_body([triton_input(env["input"], x, binary=False)],
                               outputs=[{"name": head["outputs"][0]["name"], "parameters": {"binary_data": False}}])
    r = requests.post(env["server"].http + "/v2/models/dense/infer", data=body, stream=True,
                      headers={"Accept-Encoding": "gzip"})
    raw = r.raw.read()
    assert r.headers.get("Content-Encoding") == "gzip"
    out = json.loads(gzip.decompress(raw))["outputs"][0]
    np.testing.assert_array_equal(np.array(out["data"], np.float32).reshape(out["shape"]), reference(env, x))


def test_http_bytes_and_classification_refused_clearly(env):
    x = rows(2, 3)
    # BYTES as serialize_byte_tensor writes it: a 4-byte little-endian length before each item.
    items = [b"muon", b"jet"]
    raw = b"".join(struct.pack("<I", len(s)) + s for s in items)
    body, size = triton_http_body([({"name": env["input"], "shape": [2], "datatype": "BYTES",
                                     "parameters": {"binary_data_size": len(raw)}}, raw)])
    r = triton_http_post(env, body, size)
    assert r.status_code == 400 and "BYTES" in r.json()["error"]
    # InferRequestedOutput(name, class_count=3): parameters.classification.
    out_name = requests.get(env["server"].http + "/v2/models/dense").json()["outputs"][0]["name"]
    body, size = triton_http_body([triton_input(env["input"], x)],
                                  outputs=[{"name": out_name, "parameters": {"binary_data": True, "classification": 3}}])
    r = triton_http_post(env, body, size)
    assert r.status_code == 400 and "classification" in r.json()["error"]


def test_http_repository_calls_with_tritonclient_bodies(env):
    http = env["server"].http
    # get_model_repository_index: POST with an empty body; load/unload: JSON bodies.
    idx = requests.post(http + "/v2/repository/index", data="").json()
    assert {"name": "dense", "version": "1", "state": "READY"} in idx
    r = requests.post(http + "/v2/repository/models/dense/unload",
                      data=json.dumps({"parameters": {"unload_dependents": False}}))
    assert r.status_code == 200
    assert requests.get(http + "/v2/models/dense/ready").status_code == 400
    assert requests.post(http + "/v2/repository/models/dense/load", data=json.dumps({})).status_code == 200
    assert requests.get(http + "/v2/models/dense/ready").status_code == 200
    # load_model(config=...) / load_model(files=...): an override Tachyon does not apply is
    # refused by name, over HTTP and gRPC, and the served model stays as it was.
    for key in ("config", "file:1/model.onnx"):
        r = requests.post(http + "/v2/repository/models/dense/load",
                          data=json.dumps({"parameters": {key: '{"max_batch_size": 8}'}}))
        assert r.status_code == 400 and "'" + key + "'" in r.json()["error"]
    pb2 = env["pb2"]
    q = pb2.RepositoryModelLoadRequest(model_name="dense")
    q.parameters["config"].string_param = '{"max_batch_size": 8}'
    with pytest.raises(grpc.RpcError) as e:
        env["stub"].RepositoryModelLoad(q)
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "'config'" in e.value.details()
    assert requests.get(http + "/v2/models/dense/ready").status_code == 200


# ---- system shared memory (utils/shared_memory + register/unregister/status) ---------------


@pytest.fixture
def regions():
    made = []

    def make(size):
        # create_shared_memory_region: multiprocessing.shared_memory.SharedMemory(key, create=True).
        m = shared_memory.SharedMemory(create=True, size=size)
        made.append(m)
        return m
    yield make
    for m in made:
        m.close()
        m.unlink()


def test_http_shared_memory(env, regions):
    http = env["server"].http
    x = rows(6, 4)
    want = reference(env, x)
    shm_in, shm_out = regions(64 + x.nbytes), regions(want.nbytes + 8)
    np.ndarray(x.shape, np.float32, buffer=shm_in.buf, offset=64)[:] = x   # at an offset in the region
    key_in = "/" + shm_in.name   # tritonclient's examples name keys with a leading slash
    assert requests.post(http + "/v2/systemsharedmemory/region/in/register",
                         data=json.dumps({"key": key_in, "offset": 0, "byte_size": shm_in.size})).status_code == 200
    assert requests.post(http + "/v2/systemsharedmemory/region/out/register",
                         data=json.dumps({"key": shm_out.name, "offset": 8, "byte_size": want.nbytes})).status_code == 200
    status = requests.get(http + "/v2/systemsharedmemory/status").json()
    assert {"name": "out", "key": shm_out.name, "offset": 8, "byte_size": want.nbytes} in status
    assert requests.get(http + "/v2/systemsharedmemory/region/in/status").json() == [
        {"name": "in", "key": key_in, "offset": 0, "byte_size": shm_in.size}]
    # A second registration under the same name is refused.
    r = requests.post(http + "/v2/systemsharedmemory/region/in/register",
                      data=json.dumps({"key": key_in, "offset": 0, "byte_size": 8}))
    assert r.status_code == 400 and "already registered" in r.json()["error"]

    out_name = requests.get(http + "/v2/models/dense").json()["outputs"][0]["name"]
    # InferInput.set_shared_memory / InferRequestedOutput.set_shared_memory (binary_data False).
    request = {"inputs": [{"name": env["input"], "shape": list(x.shape), "datatype": "FP32",
                           "parameters": {"shared_memory_region": "in", "shared_memory_byte_size": x.nbytes,
                                          "shared_memory_offset": 64}}],
               "outputs": [{"name": out_name, "parameters": {"binary_data": False, "shared_memory_region": "out",
                                                             "shared_memory_byte_size": want.nbytes}}]}
    r = requests.post(http + "/v2/models/dense/infer", data=json.dumps(request))
    assert r.status_code == 200, r.text
    out = r.json()["outputs"][0]
    assert "data" not in out and out["parameters"]["shared_memory_region"] == "out"
    assert out["parameters"]["shared_memory_byte_size"] == want.nbytes
    # The output is at the region's offset (8) in the object.
    got = np.ndarray(want.shape, np.float32, buffer=shm_out.buf, offset=8)
    np.testing.assert_array_equal(got, want)

    # Errors: a window past the region, an output region too small, an unknown region.
    request["inputs"][0]["parameters"]["shared_memory_offset"] = 128
    r = requests.post(http + "/v2/models/dense/infer", data=json.dumps(request))
    assert r.status_code == 400 and "runs past region 'in'" in r.json()["error"]
    request["inputs"][0]["parameters"]["shared_memory_offset"] = 64
    request["outputs"][0]["parameters"]["shared_memory_byte_size"] = 4
    r = requests.post(http + "/v2/models/dense/infer", data=json.dumps(request))
    assert r.status_code == 400 and "do not fit" in r.json()["error"]
    request["inputs"][0]["parameters"]["shared_memory_region"] = "nope"
    r = requests.post(http + "/v2/models/dense/infer", data=json.dumps(request))
    assert r.status_code == 400 and "'nope'" in r.json()["error"]
    r = requests.post(http + "/v2/systemsharedmemory/region/x/register",
                      data=json.dumps({"key": "/tachyon-no-such-object", "offset": 0, "byte_size": 8}))
    assert r.status_code == 400 and "cannot open" in r.json()["error"]
    r = requests.post(http + "/v2/systemsharedmemory/region/x/register",
                      data=json.dumps({"key": shm_in.name, "offset": 0, "byte_size": shm_in.size + 1}))
    assert r.status_code == 400 and "exceeds" in r.json()["error"]

    assert requests.post(http + "/v2/systemsharedmemory/region/in/unregister").status_code == 200
    assert requests.get(http + "/v2/systemsharedmemory/region/in/status").status_code == 404
    assert requests.post(http + "/v2/systemsharedmemory/unregister").status_code == 200
    assert requests.get(http + "/v2/systemsharedmemory/status").json() == []
    assert "system_shared_memory" in requests.get(http + "/v2").json()["extensions"]


def test_grpc_shared_memory(env, regions):
    pb2, stub = env["pb2"], env["stub"]
    x = rows(3, 5)
    want = reference(env, x)
    shm_in, shm_out = regions(x.nbytes), regions(want.nbytes)
    np.ndarray(x.shape, np.float32, buffer=shm_in.buf)[:] = x
    stub.SystemSharedMemoryRegister(pb2.SystemSharedMemoryRegisterRequest(name="gin", key=shm_in.name,
                                                                          byte_size=x.nbytes))
    stub.SystemSharedMemoryRegister(pb2.SystemSharedMemoryRegisterRequest(name="gout", key=shm_out.name,
                                                                          byte_size=want.nbytes))
    regions_now = stub.SystemSharedMemoryStatus(pb2.SystemSharedMemoryStatusRequest()).regions
    assert regions_now["gin"].byte_size == x.nbytes and regions_now["gout"].key == shm_out.name
    # grpc/_infer_input.py set_shared_memory: string/int64 parameters; no raw_input_contents.
    q = pb2.ModelInferRequest(model_name="dense")
    t = q.inputs.add(name=env["input"], datatype="FP32", shape=list(x.shape))
    t.parameters["shared_memory_region"].string_param = "gin"
    t.parameters["shared_memory_byte_size"].int64_param = x.nbytes
    out_name = stub.ModelMetadata(pb2.ModelMetadataRequest(name="dense")).outputs[0].name
    o = q.outputs.add(name=out_name)
    o.parameters["shared_memory_region"].string_param = "gout"
    o.parameters["shared_memory_byte_size"].int64_param = want.nbytes
    r = stub.ModelInfer(q)
    assert len(r.raw_output_contents) == 0
    assert r.outputs[0].parameters["shared_memory_region"].string_param == "gout"
    np.testing.assert_array_equal(np.ndarray(want.shape, np.float32, buffer=shm_out.buf), want)
    with pytest.raises(grpc.RpcError) as e:
        stub.SystemSharedMemoryStatus(pb2.SystemSharedMemoryStatusRequest(name="nope"))
    assert e.value.code() == grpc.StatusCode.NOT_FOUND
    stub.SystemSharedMemoryUnregister(pb2.SystemSharedMemoryUnregisterRequest(name="gin"))
    with pytest.raises(grpc.RpcError) as e:
        stub.ModelInfer(q)
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "'gin'" in e.value.details()
    stub.SystemSharedMemoryUnregister(pb2.SystemSharedMemoryUnregisterRequest())
    assert len(stub.SystemSharedMemoryStatus(pb2.SystemSharedMemoryStatusRequest()).regions) == 0


# ---- gRPC: compression and the stream -----------------------------------------------------


def grpc_request(env, x, request_id="", **params):
    """grpc/_utils.py _get_inference_request: typed tensors, raw_input_contents, parameters."""
    pb2 = env["pb2"]
    q = pb2.ModelInferRequest(model_name="dense", model_version="", id=request_id)
    q.inputs.add(name=env["input"], datatype="FP32", shape=list(x.shape))
    q.raw_input_contents.append(x.tobytes())
    for k, v in params.items():
        if isinstance(v, bool):
            q.parameters[k].bool_param = v
        else:
            q.parameters[k].int64_param = v
    return q


def grpc_output(r):
    return np.frombuffer(r.raw_output_contents[0], dtype=np.float32).reshape(list(r.outputs[0].shape))


@pytest.mark.parametrize("compression", [grpc.Compression.Gzip, grpc.Compression.Deflate])
def test_grpc_compressed_infer(env, compression):
    x = rows(8, 6)
    # compression_algorithm="gzip"/"deflate" becomes grpc's per-call compression; also
    # priority and timeout as the client sets them.
    q = grpc_request(env, x, request_id="c", timeout=10**7)
    q.parameters["priority"].uint64_param = 1
    r = env["stub"].ModelInfer(q, compression=compression)
    assert r.id == "c"
    np.testing.assert_array_equal(grpc_output(r), reference(env, x))


def test_grpc_stream_infer(env):
    """start_stream + async_stream_infer: many requests on one stream, answers matched by
    id; a bad request is answered with error_message and the stream goes on."""
    n = 24
    xs = [rows(1 + i % 4, 100 + i) for i in range(n)]
    sent = queue.Queue()

    def requests_iter():
        for i, x in enumerate(xs):
            yield grpc_request(env, x, request_id=str(i))
            if i == 5:
                bad = grpc_request(env, xs[0], request_id="bad")
                bad.inputs[0].datatype = "FP64"
                yield bad
        yield grpc_request(env, xs[1], request_id="final", triton_enable_empty_final_response=True)
        sent.put(True)

    pb2 = env["pb2"]

    def executions():
        st = env["stub"].ModelStatistics(pb2.ModelStatisticsRequest(name="dense")).model_stats[0]
        return st.execution_count, st.inference_stats.success.count

    exec0, ok0 = executions()
    answers = {}
    errors = {}
    final_flag = None
    for resp in env["stub"].ModelStreamInfer(requests_iter(), timeout=60):
        if resp.error_message:
            errors[len(errors)] = resp.error_message
            continue
        r = resp.infer_response
        if r.id == "final":
            final_flag = r.parameters["triton_final_response"].bool_param
            answers["final"] = grpc_output(r)
        else:
            answers[r.id] = grpc_output(r)
    assert sent.get_nowait()
    assert len(errors) == 1 and "FP64" in errors[0]
    assert final_flag is True
    assert sorted(answers) == sorted([str(i) for i in range(n)] + ["final"])
    want = reference(env, np.concatenate(xs))
    got = np.concatenate([answers[str(i)] for i in range(n)])
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(answers["final"], reference(env, xs[1]))
    # The stream's requests were in flight together and merged into batches (one at a
    # time, each would have run alone after its 2 ms queue delay).
    exec1, ok1 = executions()
    assert ok1 - ok0 == n + 1
    assert exec1 - exec0 < n + 1


def test_body_limit_counts_decompressed_and_chunked_bytes(tmp_path, env):
    """--max-request-bytes bounds the body as decoded: a small gzip body that inflates past
    it, or a chunked body without Content-Length, is refused with 413 like a large one (and
    a gzip-compressed gRPC message likewise with RESOURCE_EXHAUSTED)."""
    repo = str(tmp_path / "repo")
    add_model(repo, "dense", DENSE, "max_batch_size: 64\n")
    server = Server(repo, "--max-request-bytes", "65536")
    try:
        url = server.http + "/v2/models/dense/infer"
        x = rows(300, 7)   # 19 kB of FP32, as JSON text well past 64 kB
        body = json.dumps({"inputs": [{"name": "input_1", "shape": [300, 16], "datatype": "FP32",
                                       "data": x.tolist()}]}).encode()
        assert len(body) > 65536
        packed = gzip.compress(body)
        assert len(packed) < 65536
        r = requests.post(url, data=packed, headers={"Content-Encoding": "gzip"})
        assert r.status_code == 413 and "max-request-bytes" in r.json()["error"]
        r = requests.post(url, data=(body[i:i + 4096] for i in range(0, len(body), 4096)))   # chunked
        assert r.status_code == 413
        r = requests.post(server.http + "/v2/systemsharedmemory/region/r/register", data=gzip.compress(b" " * 100000),
                          headers={"Content-Encoding": "gzip"})
        assert r.status_code == 413
        import grpc_service_pb2_grpc
        with grpc.insecure_channel(server.grpc) as channel:
            stub = grpc_service_pb2_grpc.GRPCInferenceServiceStub(channel)
            zeros = np.zeros((2000, 16), np.float32)   # 128 kB, compresses to a few hundred bytes
            with pytest.raises(grpc.RpcError) as e:
                stub.ModelInfer(grpc_request(env, zeros), compression=grpc.Compression.Gzip)
            assert e.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        # A compressed body that does not decode.
        r = requests.post(url, data=b"not gzip at all", headers={"Content-Encoding": "gzip"})
        assert r.status_code == 400
        # Within the limit, compressed and chunked bodies are served.
        small = rows(3, 8)
        ok = json.dumps({"inputs": [{"name": "input_1", "shape": [3, 16], "datatype": "FP32",
                                     "data": small.tolist()}]}).encode()
        for r in (requests.post(url, data=gzip.compress(ok), headers={"Content-Encoding": "gzip"}),
                  requests.post(url, data=(ok[i:i + 100] for i in range(0, len(ok), 100)))):
            assert r.status_code == 200, r.text
            out = r.json()["outputs"][0]
            np.testing.assert_array_equal(np.array(out["data"], np.float32).reshape(out["shape"]),
                                          predict(os.path.join(repo, "dense", "1", "model.json"), small).astype(np.float32))
    finally:
        server.stop()


def raw_http(env, head):
    """One HTTP/1.1 exchange on a fresh socket, exactly the bytes given; the answer's status
    line and body (the server must answer within 5 s, without waiting for more bytes)."""
    import socket
    host, port = env["server"].http.replace("http://", "").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as s:
        s.sendall(head)
        data = b""
        while b"\r\n\r\n" not in data:
            data += s.recv(65536)
        header, body = data.split(b"\r\n\r\n", 1)
        length = int(re.search(rb"(?i)content-length: *(\d+)", header).group(1))
        while len(body) < length:
            body += s.recv(65536)
        return header.split(b"\r\n")[0].decode(), body


def test_http_post_without_body_headers(env):
    """tritonclient.http (geventhttpclient) sends unregister and unload as POSTs with no body
    and neither Content-Length nor Transfer-Encoding: an empty body, answered at once (the
    server used to wait for the connection to close and answer 400)."""
    status, body = raw_http(env, b"POST /v2/systemsharedmemory/unregister HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status.endswith("200 OK"), (status, body)
    status, _ = raw_http(env, b"POST /v2/repository/index HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status.endswith("200 OK")


def test_cuda_shared_memory_refused_clearly(env):
    """No CUDA here: Triton's CUDA shared memory calls answer an error saying so (HTTP 501 with
    Triton's {"error": ...} body; gRPC UNIMPLEMENTED with the same message), not a bare 404."""
    http = env["server"].http
    body = json.dumps({"raw_handle": {"b64": "AAAA"}, "device_id": 0, "byte_size": 64})
    for r in (requests.get(http + "/v2/cudasharedmemory/status"),
              requests.get(http + "/v2/cudasharedmemory/region/gpu/status"),
              requests.post(http + "/v2/cudasharedmemory/region/gpu/register", data=body),
              requests.post(http + "/v2/cudasharedmemory/region/gpu/unregister", data=""),
              requests.post(http + "/v2/cudasharedmemory/unregister", data="")):
        assert r.status_code == 501, (r.url, r.status_code)
        assert "not supported by this server (no CUDA" in r.json()["error"]
    pb2 = env["pb2"]
    for call, request in (("CudaSharedMemoryStatus", pb2.CudaSharedMemoryStatusRequest()),
                          ("CudaSharedMemoryRegister", pb2.CudaSharedMemoryRegisterRequest(
                              name="gpu", raw_handle=b"\0" * 64, device_id=0, byte_size=64)),
                          ("CudaSharedMemoryUnregister", pb2.CudaSharedMemoryUnregisterRequest(name="gpu"))):
        with pytest.raises(grpc.RpcError) as e:
            getattr(env["stub"], call)(request)
        assert e.value.code() == grpc.StatusCode.UNIMPLEMENTED
        assert "not supported by this server (no CUDA" in e.value.details()
