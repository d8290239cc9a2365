// A persistent pool of worker threads for the emulator's row chunks: threads are started
// once and wait between calls, so a call pays neither thread creation nor the refill of
// the workers' thread_local scratch buffers (both showed in profiles of repeated small
// batches). One call runs at a time; a second caller meanwhile (another Python thread, the
// server) gets fresh threads from util::runOnThreads instead of waiting.
#pragma once

#include <cstddef>

namespace tachyon::util {

// std::thread::hardware_concurrency() read once (each call reads /sys: microseconds).
unsigned hardwareThreads();

// Calls worker(t) for every t in [0, n), t = 0 on the calling thread, the others on pool
// threads (started on first use). Exceptions from any worker reach the caller (the first).
void runOnPool(unsigned n, void (*call)(void* ctx, unsigned t), void* ctx);

template <class Worker>
void runOnPool(unsigned n, Worker& worker) {
    runOnPool(n, [](void* ctx, unsigned t) { (*static_cast<Worker*>(ctx))(t); }, &worker);
}

}  // namespace tachyon::util
