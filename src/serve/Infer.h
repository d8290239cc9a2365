// One inference, whichever front end (HTTP/JSON, HTTP/binary, gRPC) it came through:
// checked against the model's input (name, datatype, shape, finite values), queued on the
// model's batcher, answered with the output in the model's output datatype.
#pragma once

#include "serve/Batcher.h"
#include "serve/Repository.h"
#include "serve/Tensor.h"

#include <string>
#include <vector>

namespace tachyon::serve {

struct RequestedOutput {
    std::string name;
    bool binary = false;   // HTTP: answer this output in the binary extension
    SharedRef shm;         // write the output into this shared memory region
};

struct InferRequest {
    std::string model, version, id;
    std::vector<Tensor> inputs;
    std::vector<RequestedOutput> outputs;   // empty: all (the one output)
    bool binaryOutputs = false;             // HTTP: binary_data_output
    Micros timeout{0};                      // Triton's "timeout" parameter (us); 0: the model's default
    bool finalFlag = false;                 // stream: triton_enable_empty_final_response
};

struct InferResponse {
    std::string model, version, id;
    Tensor output;
    bool binary = false;
    SharedRef outputShm;   // set once the output was written to shared memory
    bool finalFlag = false;   // stream: mark the response triton_final_response
};

// Throws ServeError (InvalidArgument for a bad request, and the batcher's errors). Inputs
// in shared memory must have been read (SharedMemoryRegistry::readInputs) before.
InferResponse runInfer(const ModelVersion& mv, const InferRequest& rq);

}  // namespace tachyon::serve
