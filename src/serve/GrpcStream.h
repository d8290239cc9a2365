// ModelStreamInfer: one bidirectional gRPC stream carrying many inference requests. The
// stream's reader hands each request to a small pool of worker threads of its own, so a
// client streaming many requests gets them batched together like concurrent unary calls;
// answers go back as each finishes (clients match them by id), one Write at a time.
#pragma once

#include "grpc_service.grpc.pb.h"

#include <functional>

namespace tachyon::serve {

using StreamHandler = std::function<void(const inference::ModelInferRequest&, inference::ModelStreamInferResponse&)>;

// Serves the stream until the client closes its side (or the call is cancelled), then
// waits for the requests still running and returns.
void pumpInferStream(grpc::ServerReaderWriter<inference::ModelStreamInferResponse, inference::ModelInferRequest>& stream,
                     const StreamHandler& handle, size_t maxWorkers = 16);

}  // namespace tachyon::serve
