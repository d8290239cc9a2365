// Running workers on threads without dying when the system refuses a thread.
//
// std::thread throws std::system_error when no thread can be created (a process or
// memory limit, `-j 4096`); a vector of already started std::threads then destroyed
// unjoined ends the process with std::terminate (SIGABRT), temporaries left behind. Here
// every worker index still runs exactly once: those that got no thread run on the calling
// thread, one after the other, so the result is the same, only slower.
#pragma once

#include <system_error>
#include <thread>
#include <vector>

namespace tachyon::util {

// Calls worker(t) for every t in [0, n): on n threads when the system allows it.
template <class Worker>
void runOnThreads(unsigned n, Worker&& worker) {
    std::vector<std::thread> pool;
    pool.reserve(n);
    unsigned started = 0;
    for (; started < n; ++started) {
        try {
            pool.emplace_back(worker, started);
        } catch (const std::system_error&) {
            break;   // no more threads: the rest run here
        }
    }
    for (unsigned t = started; t < n; ++t) worker(t);
    for (auto& th : pool) th.join();
}

}  // namespace tachyon::util
