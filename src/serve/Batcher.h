// Triton's dynamic batcher for one model version: requests (each any number of rows)
// queue and are merged into batches of up to maxBatchSize rows, at most `instances`
// batches running at once (on the requesting thread when a batch is due at once, else on
// one of `instances` executor threads), preferring the preferred sizes and waiting at most maxQueueDelay
// for more rows. A request larger than what is left of a batch is split across batches
// and reassembled, so batching never changes an answer: every row is computed by the
// same Backend::run, whatever rows it shares a batch with.
#pragma once

#include "serve/Backend.h"
#include "serve/Status.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace tachyon::serve {

using Clock = std::chrono::steady_clock;
using Micros = std::chrono::microseconds;

struct BatchPolicy {
    size_t maxBatchSize = 0;        // rows per execution; 0: each request runs on its own
    bool dynamic = false;           // merge requests (dynamic_batching present)
    std::vector<size_t> preferred;  // preferred_batch_size
    Micros maxQueueDelay{0};        // max_queue_delay_microseconds
    size_t maxQueueSize = 0;        // queued requests before RESOURCE_EXHAUSTED; 0: unbounded
    Micros defaultTimeout{0};       // default_timeout_microseconds; 0: none
    int instances = 1;              // instance_group count: executor threads
    // The largest batch the requesting thread runs itself (when it is due and an instance
    // is free); larger ones go to the executor threads. Why: the emulator keeps its
    // scratch buffers per thread, so a large batch on one of the front end's many threads
    // finds them cold (or allocates them afresh on a new thread) and costs ~1.3x the CPU it
    // costs on an executor, whose buffers stay warm; for a small batch the two thread
    // hand-offs cost more than that.
    size_t callerMaxRows = 64;
};

// Triton's statistics (ModelStatistics, /metrics): counts and summed nanoseconds.
struct Duration {
    uint64_t count = 0, ns = 0;
    void add(uint64_t n, uint64_t times = 1) { count += times; ns += n; }
};
struct BatchDurations {
    Duration input, infer, output;
};
struct ModelStats {
    uint64_t inferenceCount = 0;   // rows computed
    uint64_t executionCount = 0;   // backend runs (batches)
    uint64_t lastInferenceMs = 0;  // since the epoch
    Duration success, fail, queue, computeInput, computeInfer, computeOutput;
    std::map<size_t, BatchDurations> batches;   // by batch size
    size_t pendingRequests = 0;
};

class Batcher {
public:
    Batcher(std::shared_ptr<const Backend> backend, BatchPolicy policy);
    ~Batcher();   // stop(): queued requests still finish
    Batcher(const Batcher&) = delete;
    Batcher& operator=(const Batcher&) = delete;

    // Computes `rows` rows of x (rows * inputSize values) and blocks until done.
    // timeout 0: the policy's default. Throws ServeError: ResourceExhausted (queue full),
    // DeadlineExceeded (not scheduled in time), Unavailable (stopping), Internal.
    std::vector<double> infer(const double* x, size_t rows, Micros timeout = Micros{0});

    // Requests that failed before reaching the queue (bad input), for the statistics.
    void recordFailure(Clock::time_point arrival);
    ModelStats stats() const;
    const BatchPolicy& policy() const { return policy_; }
    const Backend& backend() const { return *backend_; }
    // Stops accepting, finishes what is queued, joins the executors.
    void stop();

private:
    struct Job;
    struct Segment {
        Job* job;
        size_t first, rows;
    };
    void executorLoop();
    void runInCaller(std::unique_lock<std::mutex>& lk, const Job& job);
    // Runs taken segments with mu_ released around the backend call; counts the instance.
    void runBatch(std::unique_lock<std::mutex>& lk, const std::vector<Segment>& segs, size_t rows);
    size_t slots() const { return size_t(std::max(1, policy_.instances)); }
    size_t chooseBatchRows(Clock::time_point now, Clock::time_point& wakeAt) const;
    std::vector<Segment> take(size_t rows, Clock::time_point now);
    void execute(const std::vector<Segment>& segs, size_t rows);
    void expire(Clock::time_point now);
    void finish(Job& job, Clock::time_point now);

    std::shared_ptr<const Backend> backend_;
    BatchPolicy policy_;
    mutable std::mutex mu_;
    std::condition_variable work_;
    std::deque<Job*> queue_;
    size_t queuedRows_ = 0;   // rows in queue_ not yet taken by an executor
    size_t running_ = 0;      // batches executing (at most `instances`: callers and executors)
    bool stopping_ = false;
    ModelStats stats_;
    std::vector<std::thread> executors_;
};

}  // namespace tachyon::serve
