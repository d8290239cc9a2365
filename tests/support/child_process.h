// Watching a process a test started (directly or through the code under test) go away.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>

namespace test_support {

inline double secondsSince(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// True once `pid` has gone, or is a zombie its (new) parent has not reaped yet: either way
// no longer running.
inline bool processGone(pid_t pid) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(stat, line)) return true;
    const size_t close = line.rfind(')');
    return close != std::string::npos && close + 2 < line.size() && line[close + 2] == 'Z';
}

// Polls every 20 ms for up to `seconds` until processGone(pid).
inline bool waitUntilGone(pid_t pid, double seconds) {
    const auto t0 = std::chrono::steady_clock::now();
    while (secondsSince(t0) < seconds) {
        if (processGone(pid)) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return processGone(pid);
}

}  // namespace test_support
