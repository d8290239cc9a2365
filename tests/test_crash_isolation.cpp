// util/CrashIsolation's checker child (the libhdf5 trial read) never outlives the process
// that started it, even when that process is killed outright while the child hangs in a
// read, and it takes the stop signals the CLI blocks in its own threads.
#include "support/child_process.h"
#include "util/CrashIsolation.h"

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <fstream>
#include <string>
#include <thread>

#include <poll.h>
#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

using test_support::processGone;
using test_support::waitUntilGone;

namespace {

// What the checker child reports about itself before it hangs.
struct CheckerInfo {
    pid_t pid = 0;
    int stopSignalsBlocked = -1;   // 1 when SIGINT or SIGTERM is blocked in the checker
};

bool readWithin(int fd, void* buf, size_t n, int ms) {
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, ms) == 1 && ::read(fd, buf, n) == ssize_t(n);
}

}  // namespace

TEST(CrashIsolation, CheckerDiesWithItsParent) {
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    const pid_t parent = ::fork();
    ASSERT_GE(parent, 0);
    if (parent == 0) {
        // The parent as the CLI runs: stop signals blocked (its signal thread takes them).
        ::close(fds[0]);
        sigset_t stops;
        sigemptyset(&stops);
        for (int s : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&stops, s);
        pthread_sigmask(SIG_BLOCK, &stops, nullptr);
        try {
            tachyon::tryReadInChildProcess("model.h5", "libhdf5", [&] {
                // The checker: says who it is, then hangs as a looping libhdf5 read would.
                sigset_t now;
                pthread_sigmask(SIG_BLOCK, nullptr, &now);
                CheckerInfo info{::getpid(), sigismember(&now, SIGINT) || sigismember(&now, SIGTERM)};
                if (::write(fds[1], &info, sizeof info) != ssize_t(sizeof info)) ::_exit(3);
                for (;;) ::pause();
            }, 600);
        } catch (...) {
        }
        ::_exit(0);
    }
    ::close(fds[1]);
    CheckerInfo info;
    const bool started = readWithin(fds[0], &info, sizeof info, 10000);
    ::close(fds[0]);
    if (!started) ::kill(parent, SIGKILL);
    ASSERT_TRUE(started) << "the checker child never reported";
    EXPECT_EQ(info.stopSignalsBlocked, 0) << "the checker blocks SIGINT/SIGTERM: Ctrl-C could not stop it";
    EXPECT_FALSE(processGone(info.pid));

    ::kill(parent, SIGKILL);   // no chance to clean up: only the kernel can take the checker along
    int status = 0;
    ASSERT_EQ(::waitpid(parent, &status, 0), parent);
    const bool gone = waitUntilGone(info.pid, 5.0);
    if (!gone) ::kill(info.pid, SIGKILL);
    EXPECT_TRUE(gone) << "the checker " << info.pid << " outlived its parent";
}
