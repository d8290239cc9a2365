// What a CMSSW SONIC client does, written against Triton's own C++ client library
// (libgrpcclient / libhttpclient, built by scripts/build_triton_cpp_client.sh), pointed at
// `tachyon serve`. Driven by tests/serve/triton_cpp_client_check.py (ctest
// serve_triton_cpp_client, opt-in), which writes the input rows and `tachyon predict`'s
// answers as raw little-endian float32 files.
//
// Start-up, as SONIC's TritonClient constructor: server live and ready, model ready,
// ModelMetadata (input/output names, datatypes, shapes), ModelConfig (max_batch_size).
// Per event, as TritonClient::evaluate: inputs built from raw bytes (InferInput::AppendRaw) in
// batches of up to max_batch_size rows, outputs read back with RawData; synchronous Infer,
// AsyncInfer, and (gRPC) AsyncInferMulti, SONIC's call when an event holds several
// entries. At the end, as its verbose mode: ModelInferenceStatistics. Every output row must
// equal the reference bit for bit.
//
//   triton_cpp_client_check grpc|http HOST:PORT MODEL ROWS INPUT.f32 REFERENCE.f32
// Exit 0: every check passed; 1: a check failed (each is printed).
#include "grpc_client.h"
#include "http_client.h"

#include <nlohmann/json.hpp>

#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <functional>
#include <iomanip>
#include <iostream>
#include <iterator>
#include <memory>
#include <mutex>
#include <numeric>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace tc = triton::client;

namespace {

struct Failure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

void require(bool ok, const std::string& what) {
  if (!ok) throw Failure(what);
}

void require(const tc::Error& err, const std::string& what) {
  if (!err.IsOk()) throw Failure(what + ": " + err.Message());
}

std::vector<float> readFloats(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  require(bool(in), "cannot open " + path);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  require(bytes.size() % sizeof(float) == 0, path + ": not a whole number of float32");
  std::vector<float> values(bytes.size() / sizeof(float));
  std::memcpy(values.data(), bytes.data(), bytes.size());
  return values;
}

// What start-up learns about the model (SONIC keeps the same per input/output).
struct ModelInfo {
  std::string input, inputType, output, outputType;
  std::vector<int64_t> inputShape, outputShape;  // without the batch dimension
  int64_t maxBatchSize = 0;
};

std::vector<int64_t> withoutBatch(const std::vector<int64_t>& shape) {
  require(!shape.empty() && shape[0] == -1, "metadata shape lacks the leading batch dimension -1");
  return {shape.begin() + 1, shape.end()};
}

int64_t product(const std::vector<int64_t>& dims) {
  return std::accumulate(dims.begin(), dims.end(), int64_t{1}, std::multiplies<int64_t>());
}

// Inference statistics of one model version, as both protocols report them.
struct Statistics {
  uint64_t inferenceCount = 0, executionCount = 0, successCount = 0;
};

// The protocol-specific half: the start-up and statistics calls differ in what they return
// (protobuf messages for gRPC, JSON text for HTTP); Infer/AsyncInfer have the same shape.
class GrpcSide {
 public:
  explicit GrpcSide(const std::string& url) {
    require(tc::InferenceServerGrpcClient::Create(&client_, url, false), "gRPC client Create");
  }
  tc::InferenceServerGrpcClient& client() { return *client_; }

  ModelInfo startUp(const std::string& model) {
    inference::ModelMetadataResponse metadata;
    require(client_->ModelMetadata(&metadata, model), "ModelMetadata");
    require(metadata.inputs_size() == 1 && metadata.outputs_size() == 1, "ModelMetadata: one input and one output");
    ModelInfo info;
    info.input = metadata.inputs(0).name();
    info.inputType = metadata.inputs(0).datatype();
    info.inputShape = withoutBatch({metadata.inputs(0).shape().begin(), metadata.inputs(0).shape().end()});
    info.output = metadata.outputs(0).name();
    info.outputType = metadata.outputs(0).datatype();
    info.outputShape = withoutBatch({metadata.outputs(0).shape().begin(), metadata.outputs(0).shape().end()});
    inference::ModelConfigResponse config;
    require(client_->ModelConfig(&config, model), "ModelConfig");
    info.maxBatchSize = config.config().max_batch_size();
    require(config.config().name() == model, "ModelConfig: name " + config.config().name());
    return info;
  }

  Statistics statistics(const std::string& model) {
    inference::ModelStatisticsResponse response;
    require(client_->ModelInferenceStatistics(&response, model), "ModelInferenceStatistics");
    require(response.model_stats_size() == 1, "ModelInferenceStatistics: one model version");
    const auto& s = response.model_stats(0);
    return {s.inference_count(), s.execution_count(), s.inference_stats().success().count()};
  }

 private:
  std::unique_ptr<tc::InferenceServerGrpcClient> client_;
};

class HttpSide {
 public:
  explicit HttpSide(const std::string& url) {
    require(tc::InferenceServerHttpClient::Create(&client_, url, false), "HTTP client Create");
  }
  tc::InferenceServerHttpClient& client() { return *client_; }

  ModelInfo startUp(const std::string& model) {
    std::string text;
    require(client_->ModelMetadata(&text, model), "ModelMetadata");
    auto metadata = nlohmann::json::parse(text);
    require(metadata["inputs"].size() == 1 && metadata["outputs"].size() == 1,
            "ModelMetadata: one input and one output");
    ModelInfo info;
    const auto& in = metadata["inputs"][0];
    const auto& out = metadata["outputs"][0];
    info.input = in["name"];
    info.inputType = in["datatype"];
    info.inputShape = withoutBatch(in["shape"].get<std::vector<int64_t>>());
    info.output = out["name"];
    info.outputType = out["datatype"];
    info.outputShape = withoutBatch(out["shape"].get<std::vector<int64_t>>());
    require(client_->ModelConfig(&text, model), "ModelConfig");
    auto config = nlohmann::json::parse(text);
    info.maxBatchSize = config.value("max_batch_size", int64_t{0});
    require(config.value("name", std::string()) == model, "ModelConfig: name");
    return info;
  }

  Statistics statistics(const std::string& model) {
    std::string text;
    require(client_->ModelInferenceStatistics(&text, model), "ModelInferenceStatistics");
    auto stats = nlohmann::json::parse(text)["model_stats"];
    require(stats.size() == 1, "ModelInferenceStatistics: one model version");
    const auto& s = stats[0];
    return {s["inference_count"].get<uint64_t>(), s["execution_count"].get<uint64_t>(),
            s["inference_stats"]["success"]["count"].get<uint64_t>()};
  }

 private:
  std::unique_ptr<tc::InferenceServerHttpClient> client_;
};

// One batch of rows as SONIC sends it: a raw FP32 input of shape [rows, dims...] and the
// one output requested by name.
struct Request {
  std::unique_ptr<tc::InferInput> input;
  std::unique_ptr<tc::InferRequestedOutput> output;
  int64_t firstRow = 0, rows = 0;
};

Request makeRequest(const ModelInfo& info, const std::vector<float>& x, int64_t firstRow, int64_t rows) {
  Request request;
  request.firstRow = firstRow;
  request.rows = rows;
  std::vector<int64_t> shape{rows};
  shape.insert(shape.end(), info.inputShape.begin(), info.inputShape.end());
  tc::InferInput* input = nullptr;
  require(tc::InferInput::Create(&input, info.input, shape, "FP32"), "InferInput::Create");
  request.input.reset(input);
  const int64_t width = product(info.inputShape);
  require(request.input->AppendRaw(reinterpret_cast<const uint8_t*>(x.data() + firstRow * width),
                                   size_t(rows * width) * sizeof(float)),
          "InferInput::AppendRaw");
  tc::InferRequestedOutput* output = nullptr;
  require(tc::InferRequestedOutput::Create(&output, info.output), "InferRequestedOutput::Create");
  request.output.reset(output);
  return request;
}

// The answer to one batch, compared bit for bit with the reference rows.
void checkResult(const ModelInfo& info, tc::InferResult* raw, const Request& request,
                 const std::vector<float>& reference, const std::string& what) {
  std::unique_ptr<tc::InferResult> result(raw);
  require(result->RequestStatus(), what + ": request status");
  std::vector<int64_t> shape;
  require(result->Shape(info.output, &shape), what + ": Shape");
  std::vector<int64_t> expected{request.rows};
  expected.insert(expected.end(), info.outputShape.begin(), info.outputShape.end());
  require(shape == expected, what + ": output shape");
  std::string datatype;
  require(result->Datatype(info.output, &datatype), what + ": Datatype");
  require(datatype == "FP32", what + ": output datatype " + datatype);
  const uint8_t* bytes = nullptr;
  size_t size = 0;
  require(result->RawData(info.output, &bytes, &size), what + ": RawData");
  const int64_t width = product(info.outputShape);
  require(size == size_t(request.rows * width) * sizeof(float), what + ": output byte size");
  const float* want = reference.data() + request.firstRow * width;
  for (int64_t i = 0; i < request.rows * width; ++i) {
    float got;
    std::memcpy(&got, bytes + i * sizeof(float), sizeof(float));
    uint32_t gotBits, wantBits;
    std::memcpy(&gotBits, &got, 4);
    std::memcpy(&wantBits, &want[i], 4);
    if (gotBits != wantBits) {
        std::ostringstream text;
        text << what << ": row " << request.firstRow + i / width << " element " << i % width << " is "
             << std::setprecision(9) << got << " (0x" << std::hex << gotBits << "), tachyon predict says "
             << std::defaultfloat << want[i] << " (0x" << wantBits << ")";
        throw Failure(text.str());
    }
  }
}

// The rows cut into consecutive batches of the given sizes (cycled), none above maxBatch.
std::vector<std::pair<int64_t, int64_t>> batches(int64_t rows, std::vector<int64_t> sizes, int64_t maxBatch) {
  std::vector<std::pair<int64_t, int64_t>> out;
  for (int64_t row = 0, k = 0; row < rows; ++k) {
    const int64_t n = std::min({sizes[k % sizes.size()], maxBatch, rows - row});
    out.emplace_back(row, n);
    row += n;
  }
  return out;
}

// Waits for a number of asynchronous callbacks.
class Countdown {
 public:
  explicit Countdown(size_t n) : left_(n) {}
  void done() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (--left_ == 0) cv_.notify_all();
  }
  void wait() {
    std::unique_lock<std::mutex> lock(mutex_);
    cv_.wait(lock, [&] { return left_ == 0; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  size_t left_;
};

struct Checks {
  int passed = 0, failed = 0;
  void run(const std::string& name, const std::function<void()>& check) {
    try {
      check();
      ++passed;
      std::cout << "PASS " << name << "\n";
    } catch (const std::exception& e) {
      ++failed;
      std::cout << "FAIL " << name << ": " << e.what() << "\n";
    }
  }
};

template <class Side>
int runAll(const std::string& protocol, const std::string& url, const std::string& model, int64_t rows,
           const std::vector<float>& x, const std::vector<float>& reference) {
  Checks checks;
  const std::string label = protocol + " " + model + ": ";
  Side side(url);
  auto& client = side.client();
  ModelInfo info;
  checks.run(label + "server live, ready; model ready", [&] {
    bool live = false, ready = false, modelReady = false;
    require(client.IsServerLive(&live), "IsServerLive");
    require(client.IsServerReady(&ready), "IsServerReady");
    require(client.IsModelReady(&modelReady, model), "IsModelReady");
    require(live && ready && modelReady, "live/ready/model ready all true");
  });
  checks.run(label + "ModelMetadata + ModelConfig max_batch_size", [&] {
    info = side.startUp(model);
    require(info.inputType == "FP32" && info.outputType == "FP32", "FP32 input and output");
    require(info.maxBatchSize > 0, "max_batch_size > 0");
    require(product(info.inputShape) * rows == int64_t(x.size()), "input file matches the metadata shape");
    require(product(info.outputShape) * rows == int64_t(reference.size()), "reference matches the metadata shape");
    std::cout << "  " << info.input << " " << product(info.inputShape) << " -> " << info.output << " "
              << product(info.outputShape) << ", max_batch_size " << info.maxBatchSize << "\n";
  });
  if (info.maxBatchSize <= 0) return 1;
  const Statistics before = side.statistics(model);

  int64_t sent = 0, requests = 0;
  checks.run(label + "Infer, raw contents, batches 1..max_batch_size", [&] {
    for (auto [first, n] : batches(rows, {1, 7, info.maxBatchSize, 3}, info.maxBatchSize)) {
      Request request = makeRequest(info, x, first, n);
      tc::InferOptions options(model);
      options.request_id_ = "sync-" + std::to_string(first);
      tc::InferResult* result = nullptr;
      require(client.Infer(&result, options, {request.input.get()}, {request.output.get()}), "Infer");
      checkResult(info, result, request, reference, "Infer rows " + std::to_string(first));
      sent += n;
      ++requests;
    }
  });
  checks.run(label + "AsyncInfer, all batches in flight at once", [&] {
    auto cut = batches(rows, {info.maxBatchSize / 2 + 1, 5}, info.maxBatchSize);
    std::vector<Request> pending;
    for (auto [first, n] : cut) pending.push_back(makeRequest(info, x, first, n));
    std::vector<tc::InferResult*> results(pending.size(), nullptr);
    Countdown countdown(pending.size());
    for (size_t i = 0; i < pending.size(); ++i) {
      tc::InferOptions options(model);
      options.request_id_ = "async-" + std::to_string(i);
      require(client.AsyncInfer([&, i](tc::InferResult* r) { results[i] = r; countdown.done(); }, options,
                                {pending[i].input.get()}, {pending[i].output.get()}),
              "AsyncInfer");
    }
    countdown.wait();
    for (size_t i = 0; i < pending.size(); ++i)
      checkResult(info, results[i], pending[i], reference, "AsyncInfer rows " + std::to_string(pending[i].firstRow));
    sent += rows;
    requests += int64_t(pending.size());
  });
  if constexpr (std::is_same_v<Side, GrpcSide>) {
    checks.run(label + "AsyncInferMulti (several entries per event)", [&] {
      auto cut = batches(rows, {2, 9, 4}, info.maxBatchSize);
      std::vector<Request> pending;
      std::vector<tc::InferOptions> options;
      std::vector<std::vector<tc::InferInput*>> inputs;
      std::vector<std::vector<const tc::InferRequestedOutput*>> outputs;
      for (auto [first, n] : cut) {
        pending.push_back(makeRequest(info, x, first, n));
        options.emplace_back(model);
        inputs.push_back({pending.back().input.get()});
        outputs.push_back({pending.back().output.get()});
      }
      std::vector<tc::InferResult*> results;
      Countdown countdown(1);
      require(client.AsyncInferMulti([&](std::vector<tc::InferResult*> r) { results = r; countdown.done(); },
                                     options, inputs, outputs),
              "AsyncInferMulti");
      countdown.wait();
      require(results.size() == pending.size(), "AsyncInferMulti: one result per entry");
      for (size_t i = 0; i < pending.size(); ++i)
        checkResult(info, results[i], pending[i], reference,
                    "AsyncInferMulti rows " + std::to_string(pending[i].firstRow));
      sent += rows;
      requests += int64_t(pending.size());
    });
  }
  checks.run(label + "error for a wrong input name is reported, not a crash", [&] {
    ModelInfo wrong = info;
    wrong.input = "no_such_input";
    Request request = makeRequest(wrong, x, 0, 1);
    tc::InferResult* result = nullptr;
    tc::Error err = client.Infer(&result, tc::InferOptions(model), {request.input.get()}, {request.output.get()});
    if (err.IsOk() && result) {
      err = result->RequestStatus();
      delete result;
    }
    require(!err.IsOk() && err.Message().find("no_such_input") != std::string::npos,
            "error naming the input, got: " + err.Message());
  });
  checks.run(label + "ModelInferenceStatistics counts this run", [&] {
    const Statistics after = side.statistics(model);
    // Other clients may share the model (the driver runs both protocols at once): at least ours.
    require(after.inferenceCount - before.inferenceCount >= uint64_t(sent),
            "inference_count grew by >= " + std::to_string(sent));
    require(after.successCount - before.successCount >= uint64_t(requests),
            "success count grew by >= " + std::to_string(requests));
    require(after.executionCount > before.executionCount, "execution_count grew");
    std::cout << "  " << sent << " rows in " << requests << " requests; server: +"
              << after.inferenceCount - before.inferenceCount << " inferences in +"
              << after.executionCount - before.executionCount << " executions\n";
  });
  std::cout << label << checks.passed << " passed, " << checks.failed << " failed\n";
  return checks.failed ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 7) {
    std::cerr << "usage: triton_cpp_client_check grpc|http HOST:PORT MODEL ROWS INPUT.f32 REFERENCE.f32\n";
    return 2;
  }
  const std::string protocol = argv[1], url = argv[2], model = argv[3];
  try {
    const int64_t rows = std::stoll(argv[4]);
    const std::vector<float> x = readFloats(argv[5]), reference = readFloats(argv[6]);
    if (protocol == "grpc") return runAll<GrpcSide>(protocol, url, model, rows, x, reference);
    if (protocol == "http") return runAll<HttpSide>(protocol, url, model, rows, x, reference);
    std::cerr << "protocol must be grpc or http, not " << protocol << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cout << "FAIL " << protocol << " " << model << ": " << e.what() << "\n";
    return 1;
  }
}
