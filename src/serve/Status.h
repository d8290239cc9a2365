// The errors the server answers with, one code per KServe/Triton outcome; the HTTP and
// gRPC front ends map them to their own status codes (Status.cpp).
#pragma once

#include "util/Error.h"

#include <string>

namespace tachyon::serve {

enum class Code {
    InvalidArgument,     // HTTP 400, gRPC INVALID_ARGUMENT: the request is wrong
    NotFound,            // HTTP 404 (400 for Triton's infer), gRPC NOT_FOUND: unknown model/version
    Unavailable,         // HTTP 400/503, gRPC UNAVAILABLE: model not ready, server stopping
    ResourceExhausted,   // HTTP 503, gRPC RESOURCE_EXHAUSTED: queue full, payload too large
    DeadlineExceeded,    // HTTP 504... Triton says 400; we use 504: the request timed out in the queue
    Internal,            // HTTP 500, gRPC INTERNAL: the backend failed
    Unsupported,         // HTTP 501, gRPC UNIMPLEMENTED: an extension this server lacks (CUDA)
};

// A tachyon::Error with the protocol outcome it maps to.
class ServeError : public Error {
public:
    ServeError(Code code, const std::string& msg) : Error(msg), code_(code) {}
    Code code() const { return code_; }

private:
    Code code_;
};

int httpStatus(Code c);
const char* codeName(Code c);

}  // namespace tachyon::serve
