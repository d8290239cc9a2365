// `tachyon perf`: perf_analyzer's role for any KServe v2 server (Tachyon's or Triton).
// For each batch size and each load level (a number of concurrent clients, or a request
// rate with constant or Poisson arrivals) it sends inference requests of random inputs
// for a while and reports throughput and client latency percentiles, with the server's
// own queue and compute times from ModelStatistics.
#pragma once

#include <string>
#include <vector>

namespace tachyon::serve {

struct PerfOptions {
    std::string url = "127.0.0.1:8001";   // host:port of the chosen protocol
    std::string protocol = "grpc";        // grpc | http
    std::string model, version;
    std::vector<int> batchSizes{1};
    std::string concurrencyRange;         // start[:end[:step]]; default 1
    std::string requestRateRange;         // start[:end[:step]] requests/s (instead of concurrency)
    std::string distribution = "constant";   // constant | poisson (request-rate mode)
    double measurementSeconds = 2.0;      // per level
    size_t requestCount = 0;              // per level; > 0: stop after this many requests instead
    std::string csv, json, png;           // outputs (png: throughput vs latency via matplotlib)
    bool force = false;                   // overwrite outputs
};

// Returns the exit status (0: every request succeeded; 2: some failed).
int runPerf(const PerfOptions& opt);

}  // namespace tachyon::serve
