// Statistics and metadata in the protocol's messages, shared by the gRPC answers and
// the HTTP ones (which are the same messages in protobuf's JSON mapping), and the
// Prometheus text of /metrics under Triton's metric names.
#pragma once

#include "grpc_service.pb.h"
#include "serve/Repository.h"

#include <string>

namespace tachyon::serve {

inference::ModelStatistics modelStatistics(const ModelVersion& mv);
inference::ModelMetadataResponse modelMetadata(const Repository& repo, const std::string& name,
                                               const std::string& version);
std::string prometheusText(const Repository& repo);

}  // namespace tachyon::serve
