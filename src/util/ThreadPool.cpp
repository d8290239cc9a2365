#include "util/ThreadPool.h"

#include "util/Threads.h"

#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <mutex>
#include <system_error>
#include <thread>
#include <unistd.h>
#include <vector>

namespace tachyon::util {

unsigned hardwareThreads() {
    static const unsigned n = std::max(1u, std::thread::hardware_concurrency());
    return n;
}

namespace {

class Pool {
public:
    // One job at a time; false when another caller holds the pool.
    bool tryRun(unsigned n, void (*call)(void*, unsigned), void* ctx) {
        std::unique_lock<std::mutex> busy(busy_, std::try_to_lock);
        if (!busy.owns_lock()) return false;
        // A forked child has none of its parent's threads: start over (the parent's thread
        // objects are abandoned, not joined or destroyed, as they cannot be in the child).
        if (pid_ != getpid()) {
            if (!threads_->empty()) threads_ = new std::vector<std::thread>;
            pid_ = getpid();
        }
        const unsigned helpers = grow(n - 1);
        {
            std::lock_guard<std::mutex> lk(m_);
            call_ = call;
            ctx_ = ctx;
            wanted_ = helpers;
            remaining_ = helpers;
            error_ = nullptr;
            ++generation_;
        }
        wake_.notify_all();
        // Indices the pool could not take (no thread to be had) run here, after index 0.
        for (unsigned t = 0; t < n; t = t == 0 ? helpers + 1 : t + 1) runOne(t);
        std::unique_lock<std::mutex> lk(m_);
        done_.wait(lk, [&] { return remaining_ == 0; });
        if (error_) std::rethrow_exception(error_);
        return true;
    }

private:
    // Ensures `helpers` pool threads exist; returns how many do (fewer if the system refuses).
    unsigned grow(unsigned helpers) {
        while (threads_->size() < helpers) {
            try {
                // It starts from the current job number: earlier jobs are not its to run.
                const unsigned index = unsigned(threads_->size());
                threads_->emplace_back([this, index, g = generation_] { loop(index, g); });
            } catch (const std::system_error&) {
                break;
            }
        }
        return std::min<unsigned>(helpers, unsigned(threads_->size()));
    }

    void runOne(unsigned t) {
        try {
            call_(ctx_, t);
        } catch (...) {
            std::lock_guard<std::mutex> lk(m_);
            if (!error_) error_ = std::current_exception();
        }
    }

    // Pool thread `index` runs worker index + 1 of every job that wants it.
    void loop(unsigned index, uint64_t seen) {
        for (;;) {
            {
                std::unique_lock<std::mutex> lk(m_);
                wake_.wait(lk, [&] { return generation_ != seen && index < wanted_; });
                seen = generation_;
            }
            runOne(index + 1);
            std::lock_guard<std::mutex> lk(m_);
            if (--remaining_ == 0) done_.notify_all();
        }
    }

    std::mutex busy_, m_;
    std::condition_variable wake_, done_;
    // Never destroyed: the pool lives as long as the process (its threads wait forever).
    std::vector<std::thread>* threads_ = new std::vector<std::thread>;
    pid_t pid_ = getpid();
    void (*call_)(void*, unsigned) = nullptr;
    void* ctx_ = nullptr;
    unsigned wanted_ = 0, remaining_ = 0;
    uint64_t generation_ = 0;
    std::exception_ptr error_;
};

}  // namespace

void runOnPool(unsigned n, void (*call)(void* ctx, unsigned t), void* ctx) {
    if (n <= 1) {
        if (n == 1) call(ctx, 0);
        return;
    }
    static Pool* pool = new Pool;   // never destroyed: no teardown race at exit
    if (pool->tryRun(n, call, ctx)) return;
    auto worker = [&](unsigned t) { call(ctx, t); };
    runOnThreads(n, worker);
}

}  // namespace tachyon::util
