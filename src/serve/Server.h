// `tachyon serve`: the model repository behind KServe v2 HTTP/REST and gRPC front ends
// and a Prometheus /metrics endpoint. Runs until SIGTERM/SIGINT, then stops accepting,
// finishes the requests in flight and returns 0.
#pragma once

#include "serve/Repository.h"
#include "serve/SharedMemory.h"

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

namespace tachyon::serve {

struct ServeOptions {
    std::string repository;
    std::string host = "127.0.0.1";
    int httpPort = 8000, grpcPort = 8001, metricsPort = 8002;   // 0: any free port; -1: off
    size_t maxRequestBytes = size_t(64) << 20;
    int httpThreads = 128;   // concurrent HTTP connections served
    bool strictReadiness = true;   // ready only when every model loaded (Triton's default)
};

// What the front ends share.
struct ServerState {
    ServerState(Repository& r, bool strict) : repo(r), strictReadiness(strict) {}
    Repository& repo;
    bool strictReadiness = true;
    std::atomic<bool> stopping{false};
    SharedMemoryRegistry shm;   // system shared memory regions the clients registered
    bool ready() const { return !stopping && (!strictReadiness || repo.allReady()); }
};

int runServer(const ServeOptions& opt);

// Front ends: start() binds and returns the port (throws tachyon::Error when it cannot);
// stop() stops accepting and returns once the requests in flight are answered.
class Frontend {
public:
    virtual ~Frontend() = default;
    virtual int start(const std::string& host, int port) = 0;
    virtual void stop() = 0;
};
std::unique_ptr<Frontend> makeHttpFrontend(ServerState& state, const ServeOptions& opt);
std::unique_ptr<Frontend> makeMetricsFrontend(ServerState& state);
std::unique_ptr<Frontend> makeGrpcFrontend(ServerState& state, const ServeOptions& opt);

}  // namespace tachyon::serve
