#include "serve/Server.h"

#include <csignal>
#include <iostream>
#include <malloc.h>
#include <pthread.h>

namespace tachyon::serve {

int runServer(const ServeOptions& opt) {
    // SIGTERM/SIGINT are taken by sigwait below, never by a handler: every thread started
    // from here on inherits this mask. A client hanging up must not kill the server.
    sigset_t stopSignals;
    sigemptyset(&stopSignals);
    sigaddset(&stopSignals, SIGTERM);
    sigaddset(&stopSignals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stopSignals, nullptr);
    std::signal(SIGPIPE, SIG_IGN);
    // Every request allocates and frees its tensors (128 KiB .. MiBs at large batches). By
    // default glibc serves such blocks with mmap or trims them back to the kernel on free,
    // and the next request takes them again page fault by page fault; a server reuses the
    // same sizes all the time, so freed memory is kept for reuse (up to the trim limit).
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);

    Repository repo(opt.repository, std::cerr);
    repo.loadAll();
    ServerState state{repo, opt.strictReadiness};
    std::vector<std::pair<std::string, std::unique_ptr<Frontend>>> frontends;
    const auto open = [&](const char* what, std::unique_ptr<Frontend> f, int port) {
        if (port < 0) return;
        const int bound = f->start(opt.host, port);
        std::cerr << "tachyon serve: " << what << " on " << opt.host << ":" << bound << "\n";
        frontends.emplace_back(what, std::move(f));
    };
    try {
        open("HTTP", makeHttpFrontend(state, opt), opt.httpPort);
        open("gRPC", makeGrpcFrontend(state, opt), opt.grpcPort);
        open("metrics", makeMetricsFrontend(state), opt.metricsPort);
    } catch (...) {
        for (auto& [n, f] : frontends) f->stop();
        throw;
    }
    std::cerr << "tachyon serve: ready (" << repo.all().size() << " model versions)" << std::endl;

    int sig = 0;
    sigwait(&stopSignals, &sig);
    std::cerr << "tachyon serve: " << (sig == SIGTERM ? "SIGTERM" : "SIGINT")
              << ": not accepting new requests, finishing those in flight" << std::endl;
    state.stopping = true;
    for (auto& [n, f] : frontends) f->stop();
    repo.stopAll();
    std::cerr << "tachyon serve: stopped" << std::endl;
    return 0;
}

}  // namespace tachyon::serve
