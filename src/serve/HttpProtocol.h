// KServe v2 REST inference bodies: JSON, and Triton's binary-tensor extension (a JSON
// header of `Inference-Header-Content-Length` bytes followed by the tensors' raw bytes,
// each announced by parameters.binary_data_size). Pure functions of the bytes, so the
// fuzz harness (fuzz/fuzz_serve_request.cpp) drives them without a server.
#pragma once

#include "serve/Infer.h"

#include <string>

namespace tachyon::serve {

// headerLength: the Inference-Header-Content-Length value, or -1 when absent (all JSON).
// Throws ServeError(InvalidArgument) naming what is wrong.
InferRequest parseHttpInfer(const std::string& body, long long headerLength, const std::string& model,
                            const std::string& version);

struct HttpBody {
    std::string body;
    size_t headerLength = 0;   // > 0: binary extension, send Inference-Header-Content-Length
};
HttpBody encodeHttpInfer(const InferResponse& r);

std::string errorJson(const std::string& message);

}  // namespace tachyon::serve
