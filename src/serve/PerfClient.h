// The two clients `tachyon perf` drives a server with: gRPC (GRPCInferenceService) and
// HTTP/REST with the binary-tensor extension. One client per load thread.
#pragma once

#include "grpc_service.pb.h"

#include <memory>
#include <string>

namespace tachyon::serve {

class PerfClient {
public:
    virtual ~PerfClient() = default;
    virtual inference::ModelMetadataResponse metadata(const std::string& model, const std::string& version) = 0;
    virtual inference::ModelStatisticsResponse statistics(const std::string& model, const std::string& version) = 0;
    // One inference; returns "" on success, else the server's error.
    virtual std::string infer(const std::string& model, const std::string& version, const std::string& input,
                              const std::string& datatype, const std::vector<int64_t>& shape,
                              const std::string& raw) = 0;
};

// protocol: grpc | http; url: host:port. Throws tachyon::Error for a malformed url.
std::unique_ptr<PerfClient> makePerfClient(const std::string& protocol, const std::string& url);

}  // namespace tachyon::serve
