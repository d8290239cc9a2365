// Timing helpers shared by the benchmarks: wall time since a point, and this process's CPU
// time (on a shared machine wall time also counts other processes' turns on the core, so
// the single-thread figures are reported from CPU time).
#pragma once

#include <chrono>
#include <time.h>

namespace tachyon::bench {

using Clock = std::chrono::steady_clock;

inline double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

inline double cpuSeconds() {
    timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

}  // namespace tachyon::bench
