// The dynamic batcher on its own, with a backend that records every batch it is given:
// merging, splitting of requests larger than a batch, preferred sizes, the queue delay,
// queue-full and timeout, and that every row comes back to its own request unchanged.
#include "serve/Batcher.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <future>
#include <mutex>
#include <thread>

using namespace tachyon::serve;
using namespace std::chrono_literals;

namespace {

// Output row = (sum of the input row, first value * 3): a function of the row alone, as
// the emulator is; can be held back at a gate to make requests pile up in the queue.
class RecordingBackend : public Backend {
public:
    size_t inputSize() const override { return 4; }
    size_t outputSize() const override { return 2; }
    void run(const double* x, size_t rows, double* out) const override {
        {
            std::unique_lock<std::mutex> lk(mu_);
            gateCv_.wait(lk, [&] { return open_; });
            batches_.push_back(rows);
            threads_.push_back(std::this_thread::get_id());
            maxRunning_ = std::max(maxRunning_, ++running_);
        }
        std::this_thread::sleep_for(std::chrono::microseconds(slowUs_));
        for (size_t r = 0; r < rows; ++r) {
            out[2 * r] = x[4 * r] + x[4 * r + 1] + x[4 * r + 2] + x[4 * r + 3];
            out[2 * r + 1] = 3 * x[4 * r];
        }
        std::lock_guard<std::mutex> lk(mu_);
        --running_;
    }
    // Which threads ran batches, and the most batches that ever ran at once.
    std::vector<std::thread::id> threads() const {
        std::lock_guard<std::mutex> lk(mu_);
        return threads_;
    }
    int maxRunning() const {
        std::lock_guard<std::mutex> lk(mu_);
        return maxRunning_;
    }
    void setSlow(int us) { slowUs_ = us; }
    std::string describe() const override { return "recording"; }
    void setGate(bool open) {
        std::lock_guard<std::mutex> lk(mu_);
        open_ = open;
        gateCv_.notify_all();
    }
    std::vector<size_t> batches() const {
        std::lock_guard<std::mutex> lk(mu_);
        return batches_;
    }

private:
    mutable std::mutex mu_;
    mutable std::condition_variable gateCv_;
    mutable std::vector<size_t> batches_;
    mutable std::vector<std::thread::id> threads_;
    mutable int running_ = 0, maxRunning_ = 0;
    std::atomic<int> slowUs_{0};
    bool open_ = true;
};

std::vector<double> requestRows(size_t rows, double seed) {
    std::vector<double> x(rows * 4);
    for (size_t i = 0; i < x.size(); ++i) x[i] = seed * 100 + double(i);
    return x;
}

void expectAnswers(const std::vector<double>& x, const std::vector<double>& y) {
    ASSERT_EQ(y.size(), x.size() / 2);
    for (size_t r = 0; r < x.size() / 4; ++r) {
        EXPECT_EQ(y[2 * r], x[4 * r] + x[4 * r + 1] + x[4 * r + 2] + x[4 * r + 3]) << "row " << r;
        EXPECT_EQ(y[2 * r + 1], 3 * x[4 * r]) << "row " << r;
    }
}

BatchPolicy dynamicPolicy(size_t maxBatch, Micros delay) {
    BatchPolicy p;
    p.maxBatchSize = maxBatch;
    p.dynamic = true;
    p.maxQueueDelay = delay;
    return p;
}

}  // namespace

TEST(Batcher, MergesQueuedRequestsAndSplitsLargeOnes) {
    auto backend = std::make_shared<RecordingBackend>();
    Batcher b(backend, dynamicPolicy(8, 200ms));
    // Requests of 3, 5, 7 and 1 rows (16 in all) arriving together: batches of 8 rows,
    // the 7-row request split over two batches.
    const std::vector<size_t> sizes = {3, 5, 7, 1};
    std::vector<std::vector<double>> xs;
    for (size_t i = 0; i < sizes.size(); ++i) xs.push_back(requestRows(sizes[i], double(i)));
    backend->setGate(false);
    std::vector<std::future<std::vector<double>>> ys;
    for (auto& x : xs) ys.push_back(std::async(std::launch::async, [&b, &x] { return b.infer(x.data(), x.size() / 4); }));
    while (b.stats().pendingRequests + backend->batches().size() < 1) std::this_thread::sleep_for(1ms);
    std::this_thread::sleep_for(50ms);   // all four queued
    backend->setGate(true);
    for (size_t i = 0; i < xs.size(); ++i) expectAnswers(xs[i], ys[i].get());
    const auto batches = backend->batches();
    size_t rows = 0;
    for (size_t n : batches) {
        EXPECT_LE(n, 8u);
        rows += n;
    }
    EXPECT_EQ(rows, 16u);
    EXPECT_LT(batches.size(), sizes.size());   // merged
    const ModelStats s = b.stats();
    EXPECT_EQ(s.success.count, 4u);
    EXPECT_EQ(s.inferenceCount, 16u);
    EXPECT_EQ(s.executionCount, batches.size());
}

TEST(Batcher, PreferredSizeGoesAtOnceOthersWaitForTheDelay) {
    auto backend = std::make_shared<RecordingBackend>();
    BatchPolicy p = dynamicPolicy(16, 1000ms);
    p.preferred = {2};
    Batcher b(backend, p);
    const auto x = requestRows(2, 1);
    auto t0 = Clock::now();
    expectAnswers(x, b.infer(x.data(), 2));
    EXPECT_LT(Clock::now() - t0, 800ms);   // a preferred size: no waiting
    const auto one = requestRows(1, 2);
    t0 = Clock::now();
    expectAnswers(one, b.infer(one.data(), 1));
    EXPECT_GE(Clock::now() - t0, 990ms);   // alone: waited for the queue delay
    EXPECT_EQ(backend->batches(), (std::vector<size_t>{2, 1}));
}

TEST(Batcher, QueueFullAndTimeout) {
    auto backend = std::make_shared<RecordingBackend>();
    BatchPolicy p = dynamicPolicy(16, 10s);
    p.maxQueueSize = 1;
    p.defaultTimeout = 100ms;
    Batcher b(backend, p);
    const auto x = requestRows(1, 0);
    auto first = std::async(std::launch::async, [&] { return b.infer(x.data(), 1); });
    while (b.stats().pendingRequests == 0) std::this_thread::sleep_for(1ms);
    try {
        b.infer(x.data(), 1);
        ADD_FAILURE() << "a full queue accepted a request";
    } catch (const ServeError& e) {
        EXPECT_EQ(e.code(), Code::ResourceExhausted);
    }
    try {
        first.get();
        ADD_FAILURE() << "the request did not time out";
    } catch (const ServeError& e) {
        EXPECT_EQ(e.code(), Code::DeadlineExceeded);
    }
    EXPECT_TRUE(backend->batches().empty());
    EXPECT_EQ(b.stats().fail.count, 2u);
}

TEST(Batcher, StopFinishesQueuedRequests) {
    auto backend = std::make_shared<RecordingBackend>();
    auto b = std::make_unique<Batcher>(backend, dynamicPolicy(16, 10s));
    const auto x = requestRows(3, 4);
    auto pending = std::async(std::launch::async, [&] { return b->infer(x.data(), 3); });
    while (b->stats().pendingRequests == 0) std::this_thread::sleep_for(1ms);
    b->stop();   // does not wait the 10 s delay
    expectAnswers(x, pending.get());
    EXPECT_THROW(b->infer(x.data(), 3), ServeError);
}

TEST(Batcher, ManyThreadsManyInstancesEveryRowHome) {
    auto backend = std::make_shared<RecordingBackend>();
    BatchPolicy p = dynamicPolicy(32, 500us);
    p.instances = 3;
    Batcher b(backend, p);
    std::vector<std::thread> clients;
    std::atomic<int> bad{0};
    for (int c = 0; c < 8; ++c)
        clients.emplace_back([&, c] {
            for (int i = 0; i < 50; ++i) {
                const auto x = requestRows(size_t(1 + (c + i) % 40), c * 1000 + i);
                const auto y = b.infer(x.data(), x.size() / 4);
                for (size_t r = 0; r < x.size() / 4; ++r)
                    if (y[2 * r + 1] != 3 * x[4 * r]) ++bad;
            }
        });
    for (auto& t : clients) t.join();
    EXPECT_EQ(bad, 0);
    EXPECT_EQ(b.stats().success.count, 400u);
}

// Without a queue delay the requesting thread runs its batch itself when an instance is
// free; under load the executors take over. Never more than `instances` batches at once.
TEST(Batcher, CallersRunDueBatchesWithinTheInstanceLimit) {
    auto backend = std::make_shared<RecordingBackend>();
    backend->setSlow(1000);   // long enough for batches to overlap
    BatchPolicy p = dynamicPolicy(16, 0us);
    p.instances = 2;
    Batcher b(backend, p);
    std::mutex mu;
    std::vector<std::thread::id> clientIds;
    std::vector<std::thread> clients;
    std::atomic<int> bad{0};
    for (int c = 0; c < 8; ++c)
        clients.emplace_back([&, c] {
            {
                std::lock_guard<std::mutex> lk(mu);
                clientIds.push_back(std::this_thread::get_id());
            }
            for (int i = 0; i < 40; ++i) {
                const auto x = requestRows(size_t(1 + (c + i) % 5), c * 1000 + i);
                const auto y = b.infer(x.data(), x.size() / 4);
                for (size_t r = 0; r < x.size() / 4; ++r)
                    if (y[2 * r] != x[4 * r] + x[4 * r + 1] + x[4 * r + 2] + x[4 * r + 3] || y[2 * r + 1] != 3 * x[4 * r])
                        ++bad;
            }
        });
    for (auto& t : clients) t.join();
    EXPECT_EQ(bad, 0);
    EXPECT_EQ(b.stats().success.count, 320u);
    EXPECT_LE(backend->maxRunning(), 2);
    EXPECT_EQ(backend->maxRunning(), 2);   // both instances were used
    size_t byClients = 0;
    for (const auto& id : backend->threads())
        byClients += std::count(clientIds.begin(), clientIds.end(), id);
    EXPECT_GT(byClients, 0u);                                           // callers ran batches
    EXPECT_LT(backend->batches().size(), size_t(320));                  // and requests merged
}

// A batch above callerMaxRows runs on an executor (whose per-thread emulator scratch stays
// warm), one at or below it on the requesting thread; both answer the same rows.
TEST(Batcher, LargeBatchesRunOnExecutorsSmallOnesOnTheCaller) {
    auto backend = std::make_shared<RecordingBackend>();
    BatchPolicy p = dynamicPolicy(64, 0us);
    p.instances = 1;
    p.callerMaxRows = 8;
    Batcher b(backend, p);
    const auto small = requestRows(8, 1), large = requestRows(9, 2);
    expectAnswers(small, b.infer(small.data(), 8));
    expectAnswers(large, b.infer(large.data(), 9));
    const auto threads = backend->threads();
    ASSERT_EQ(threads.size(), 2u);
    EXPECT_EQ(threads[0], std::this_thread::get_id());   // 8 rows: the caller
    EXPECT_NE(threads[1], std::this_thread::get_id());   // 9 rows: an executor
    EXPECT_EQ(backend->batches(), (std::vector<size_t>{8, 9}));
}
