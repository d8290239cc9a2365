#include "serve/GrpcStream.h"

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

namespace tachyon::serve {

void pumpInferStream(grpc::ServerReaderWriter<inference::ModelStreamInferResponse, inference::ModelInferRequest>& stream,
                     const StreamHandler& handle, size_t maxWorkers) {
    std::mutex mu, writeMu;
    std::condition_variable more;
    std::deque<inference::ModelInferRequest> pending;
    bool closed = false;
    size_t idle = 0;
    std::vector<std::thread> workers;

    auto work = [&] {
        std::unique_lock<std::mutex> lk(mu);
        for (;;) {
            ++idle;
            more.wait(lk, [&] { return closed || !pending.empty(); });
            --idle;
            if (pending.empty()) return;   // closed and drained
            inference::ModelInferRequest q = std::move(pending.front());
            pending.pop_front();
            lk.unlock();
            inference::ModelStreamInferResponse r;
            handle(q, r);
            {
                std::lock_guard<std::mutex> w(writeMu);
                stream.Write(r);   // a client gone away: nothing to answer
            }
            lk.lock();
        }
    };

    inference::ModelInferRequest q;
    while (stream.Read(&q)) {
        std::lock_guard<std::mutex> lk(mu);
        pending.push_back(std::move(q));
        q = inference::ModelInferRequest();
        // A new worker only when more requests wait than workers are free: a stream
        // sending one request at a time keeps one thread.
        if (pending.size() > idle && workers.size() < maxWorkers) workers.emplace_back(work);
        more.notify_one();
    }
    {
        std::lock_guard<std::mutex> lk(mu);
        closed = true;
    }
    more.notify_all();
    for (auto& t : workers) t.join();
}

}  // namespace tachyon::serve
