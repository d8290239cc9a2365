#include "serve/Batcher.h"

#include <algorithm>
#include <cstring>
#include <exception>

namespace tachyon::serve {

namespace {

uint64_t nsBetween(Clock::time_point a, Clock::time_point b) {
    return b > a ? uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(b - a).count()) : 0;
}

uint64_t epochMs() {
    return uint64_t(std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count());
}

}  // namespace

// One request. It lives on the stack of the thread blocked in infer(); the queue and the
// executors refer to it until `remaining` reaches 0 or it fails, always under mu_.
struct Batcher::Job {
    const double* x = nullptr;
    double* out = nullptr;
    size_t rows = 0;
    size_t next = 0;        // first row not yet handed to an executor
    size_t remaining = 0;   // rows not yet computed
    Clock::time_point arrival, deadline;
    bool hasDeadline = false, done = false;
    bool failed = false;
    Code code = Code::Internal;
    std::string error;
    std::condition_variable cv;
};

Batcher::Batcher(std::shared_ptr<const Backend> backend, BatchPolicy policy)
    : backend_(std::move(backend)), policy_(std::move(policy)) {
    std::sort(policy_.preferred.begin(), policy_.preferred.end());
    const int n = std::max(1, policy_.instances);
    for (int i = 0; i < n; ++i) executors_.emplace_back([this] { executorLoop(); });
}

Batcher::~Batcher() { stop(); }

void Batcher::stop() {
    {
        std::lock_guard<std::mutex> lk(mu_);
        if (stopping_ && executors_.empty()) return;
        stopping_ = true;
    }
    work_.notify_all();
    for (auto& t : executors_)
        if (t.joinable()) t.join();
    std::lock_guard<std::mutex> lk(mu_);
    executors_.clear();
}

std::vector<double> Batcher::infer(const double* x, size_t rows, Micros timeout) {
    std::vector<double> out(rows * backend_->outputSize());
    if (rows == 0) return out;
    Job job;
    job.x = x;
    job.out = out.data();
    job.rows = job.remaining = rows;
    job.arrival = Clock::now();
    const Micros limit = timeout.count() > 0 ? timeout : policy_.defaultTimeout;
    if (limit.count() > 0) {
        job.hasDeadline = true;
        job.deadline = job.arrival + limit;
    }
    std::unique_lock<std::mutex> lk(mu_);
    if (stopping_) throw ServeError(Code::Unavailable, "the server is shutting down");
    if (policy_.maxQueueSize > 0 && queue_.size() >= policy_.maxQueueSize) {
        stats_.fail.add(0);
        throw ServeError(Code::ResourceExhausted, "the model's queue is full (max_queue_size " +
                                                      std::to_string(policy_.maxQueueSize) + ")");
    }
    queue_.push_back(&job);
    queuedRows_ += rows;
    runInCaller(lk, job);
    while (!job.done) {
        if (job.hasDeadline && job.next == 0) {
            if (job.cv.wait_until(lk, job.deadline) == std::cv_status::timeout && !job.done && job.next == 0) {
                // Still queued at its deadline: an executor has not taken a row of it.
                queue_.erase(std::find(queue_.begin(), queue_.end(), &job));
                queuedRows_ -= rows;
                job.done = job.failed = true;
                job.code = Code::DeadlineExceeded;
                job.error = "the request timed out in the queue";
                stats_.fail.add(nsBetween(job.arrival, Clock::now()));
            }
        } else {
            job.cv.wait(lk);
        }
    }
    if (job.failed) throw ServeError(job.code, job.error);
    return out;
}

void Batcher::recordFailure(Clock::time_point arrival) {
    std::lock_guard<std::mutex> lk(mu_);
    stats_.fail.add(nsBetween(arrival, Clock::now()));
}

ModelStats Batcher::stats() const {
    std::lock_guard<std::mutex> lk(mu_);
    ModelStats s = stats_;
    s.pendingRequests = queue_.size();
    return s;
}

// Rows the next batch should have, or 0 to wait until `wakeAt` for more requests.
size_t Batcher::chooseBatchRows(Clock::time_point now, Clock::time_point& wakeAt) const {
    const Job& front = *queue_.front();
    if (!policy_.dynamic || policy_.maxBatchSize == 0) {
        // One request at a time (split only where it exceeds max_batch_size).
        const size_t left = front.rows - front.next;
        return policy_.maxBatchSize ? std::min(left, policy_.maxBatchSize) : left;
    }
    const size_t avail = std::min(queuedRows_, policy_.maxBatchSize);
    const bool full = avail == policy_.maxBatchSize;
    const bool preferred = std::binary_search(policy_.preferred.begin(), policy_.preferred.end(), avail);
    const Clock::time_point flushAt = front.arrival + policy_.maxQueueDelay;
    if (full || preferred || stopping_ || now >= flushAt) {
        if (full || preferred || policy_.preferred.empty()) return avail;
        // The delay is over: the largest preferred size that is ready, else all of it.
        for (auto p = policy_.preferred.rbegin(); p != policy_.preferred.rend(); ++p)
            if (*p <= avail) return *p;
        return avail;
    }
    wakeAt = flushAt;
    return 0;
}

// Fails queued requests whose deadline has passed before any of their rows was taken.
void Batcher::expire(Clock::time_point now) {
    for (auto it = queue_.begin(); it != queue_.end();) {
        Job& j = **it;
        if (j.hasDeadline && j.next == 0 && now >= j.deadline) {
            queuedRows_ -= j.rows;
            j.done = j.failed = true;
            j.code = Code::DeadlineExceeded;
            j.error = "the request timed out in the queue";
            stats_.fail.add(nsBetween(j.arrival, now));
            j.cv.notify_all();
            it = queue_.erase(it);
        } else {
            ++it;
        }
    }
}

std::vector<Batcher::Segment> Batcher::take(size_t rows, Clock::time_point now) {
    std::vector<Segment> segs;
    size_t taken = 0;
    while (taken < rows && !queue_.empty()) {
        Job& j = *queue_.front();
        const size_t n = std::min(j.rows - j.next, rows - taken);
        segs.push_back({&j, j.next, n});
        j.next += n;
        taken += n;
        queuedRows_ -= n;
        if (j.next == j.rows) {
            stats_.queue.add(nsBetween(j.arrival, now));
            queue_.pop_front();
        }
    }
    return segs;
}

// The requesting thread runs a batch itself when an instance is free and the batch is
// due now (no queue delay to wait for): on two cores, handing every request to an
// executor thread and back costs two context switches, more than a small batch computes.
// Executors take what callers leave: delayed batches, work queued behind busy instances,
// and batches above callerMaxRows (their warm per-thread scratch makes those cheaper).
void Batcher::runInCaller(std::unique_lock<std::mutex>& lk, const Job& job) {
    while (!job.done && job.next < job.rows && running_ < slots() && !stopping_) {
        const Clock::time_point now = Clock::now();
        expire(now);
        if (queue_.empty()) return;
        Clock::time_point wakeAt;
        const size_t rows = chooseBatchRows(now, wakeAt);
        if (rows == 0 || rows > policy_.callerMaxRows) break;
        runBatch(lk, take(rows, now), rows);
    }
    if (!queue_.empty()) work_.notify_one();
}

void Batcher::runBatch(std::unique_lock<std::mutex>& lk, const std::vector<Segment>& segs, size_t rows) {
    ++running_;
    lk.unlock();
    execute(segs, rows);
    lk.lock();
    --running_;
}

void Batcher::executorLoop() {
    std::unique_lock<std::mutex> lk(mu_);
    for (;;) {
        work_.wait(lk, [&] { return (stopping_ && queue_.empty()) || (!queue_.empty() && running_ < slots()); });
        if (queue_.empty()) return;   // stopping, and nothing left
        Clock::time_point now = Clock::now();
        expire(now);
        if (queue_.empty()) continue;
        Clock::time_point wakeAt;
        const size_t rows = chooseBatchRows(now, wakeAt);
        if (rows == 0) {
            // Wake at the flush time or at the first deadline, whichever comes first.
            for (const Job* j : queue_)
                if (j->hasDeadline && j->next == 0) wakeAt = std::min(wakeAt, j->deadline);
            work_.wait_until(lk, wakeAt);
            continue;
        }
        std::vector<Segment> segs = take(rows, now);
        // Someone else may form the next batch while this one runs.
        if (!queue_.empty()) work_.notify_one();
        runBatch(lk, segs, rows);
        if (!queue_.empty()) work_.notify_one();
    }
}

// Runs one batch outside the lock, then hands each request its rows.
void Batcher::execute(const std::vector<Segment>& segs, size_t rows) {
    const size_t in = backend_->inputSize(), out = backend_->outputSize();
    const auto t0 = Clock::now();
    const bool single = segs.size() == 1;
    // One whole request runs in place; several are gathered into one contiguous batch.
    std::vector<double> x, y;
    const double* xp = nullptr;
    double* yp = nullptr;
    if (single) {
        xp = segs[0].job->x + segs[0].first * in;
        yp = segs[0].job->out + segs[0].first * out;
    } else {
        x.resize(rows * in);
        y.resize(rows * out);
        size_t r = 0;
        for (const Segment& s : segs) {
            std::memcpy(x.data() + r * in, s.job->x + s.first * in, s.rows * in * sizeof(double));
            r += s.rows;
        }
        xp = x.data();
        yp = y.data();
    }
    const auto t1 = Clock::now();
    std::string error;
    try {
        backend_->run(xp, rows, yp);
    } catch (const std::exception& e) {
        error = e.what();
    }
    const auto t2 = Clock::now();
    if (!single && error.empty()) {
        size_t r = 0;
        for (const Segment& s : segs) {
            std::memcpy(s.job->out + s.first * out, y.data() + r * out, s.rows * out * sizeof(double));
            r += s.rows;
        }
    }
    const auto t3 = Clock::now();
    std::lock_guard<std::mutex> lk(mu_);
    stats_.executionCount += 1;
    BatchDurations& b = stats_.batches[rows];
    b.input.add(nsBetween(t0, t1));
    b.infer.add(nsBetween(t1, t2));
    b.output.add(nsBetween(t2, t3));
    for (const Segment& s : segs) {
        Job& j = *s.job;
        stats_.computeInput.add(nsBetween(t0, t1));
        stats_.computeInfer.add(nsBetween(t1, t2));
        stats_.computeOutput.add(nsBetween(t2, t3));
        if (!error.empty() && !j.failed) {
            j.failed = true;
            j.code = Code::Internal;
            j.error = "the backend failed: " + error;
        }
        j.remaining -= s.rows;
        if (j.remaining == 0) finish(j, t3);
    }
}

// Called once all of a request's rows are back (a request split over batches, one of
// which failed, also waits for its other batches: they still point into its buffers).
void Batcher::finish(Job& j, Clock::time_point now) {
    if (j.failed) {
        stats_.fail.add(nsBetween(j.arrival, now));
    } else {
        stats_.success.add(nsBetween(j.arrival, now));
        stats_.inferenceCount += j.rows;
        stats_.lastInferenceMs = epochMs();
    }
    j.done = true;
    j.cv.notify_all();
}

}  // namespace tachyon::serve
