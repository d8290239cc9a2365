#include "util/CrashIsolation.h"

#include "util/Error.h"

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <new>
#include <poll.h>
#include <pthread.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace tachyon {

namespace {

// The child's report on its pipe: one tag byte, then a message for 'E' (tachyon::Error)
// and 'X' (any other exception). 'K' is success, 'M' out of memory.
void report(int fd, char tag, const std::string& message = "") {
    std::string out(1, tag);
    out += message;
    const char* p = out.data();
    size_t left = out.size();
    while (left > 0) {
        const ssize_t n = ::write(fd, p, left);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        p += n;
        left -= size_t(n);
    }
}

}  // namespace

void tryReadInChildProcess(const std::string& file, const std::string& library, const std::function<void()>& read,
                           int timeoutSeconds) {
    int fds[2];
    if (::pipe(fds) != 0) throw Error(file + ": cannot create a pipe to check the file: " + std::strerror(errno));
    // Buffered output would otherwise be written twice, by the child and by this process.
    std::fflush(nullptr);
    const pid_t pid = ::fork();
    if (pid < 0) {
        ::close(fds[0]);
        ::close(fds[1]);
        throw Error(file + ": cannot start a process to check the file: " + std::strerror(errno));
    }
    if (pid == 0) {
        ::close(fds[0]);
        // The CLI blocks SIGINT/SIGTERM in every thread (its signal thread takes them), and
        // a forked child inherits the mask but not that thread: unblock them, and die with
        // the parent, so a stopped Tachyon leaves no checker behind.
        sigset_t stops;
        sigemptyset(&stops);
        for (int s : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&stops, s);
        pthread_sigmask(SIG_UNBLOCK, &stops, nullptr);
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() == 1) ::_exit(1);   // the parent is already gone
        try {
            read();
            report(fds[1], 'K');
        } catch (const Error& e) {
            report(fds[1], 'E', e.what());
        } catch (const std::bad_alloc&) {
            report(fds[1], 'M');
        } catch (const std::exception& e) {
            report(fds[1], 'X', e.what());
        } catch (...) {
            report(fds[1], 'X', "unknown exception");
        }
        // _exit: no destructors or atexit handlers of the parent's state run twice.
        ::_exit(0);
    }
    ::close(fds[1]);

    std::string message;
    bool timedOut = false;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeoutSeconds);
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            timedOut = true;
            break;
        }
        pollfd p{fds[0], POLLIN, 0};
        const int r = ::poll(&p, 1, int(left.count()));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) continue;  // the deadline is checked at the top
        char buf[4096];
        const ssize_t n = ::read(fds[0], buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;  // end of file: the child has finished or died
        message.append(buf, size_t(n));
    }
    ::close(fds[0]);
    if (timedOut) ::kill(pid, SIGKILL);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }

    if (timedOut)
        throw Error(file + ": reading it did not finish within " + std::to_string(timeoutSeconds) + " s (" + library +
                    " loops on some corrupt files): the file is corrupt or not what it claims to be");
    const char tag = message.empty() ? '\0' : message[0];
    const std::string text = message.empty() ? "" : message.substr(1);
    if (tag == 'K' && WIFEXITED(status) && WEXITSTATUS(status) == 0) return;
    if (tag == 'E') throw Error(text);
    if (tag == 'M') throw std::bad_alloc();
    if (tag == 'X') throw Error(file + ": " + text);
    const std::string how = WIFSIGNALED(status) ? "signal " + std::to_string(WTERMSIG(status)) + " (" +
                                                      strsignal(WTERMSIG(status)) + ")"
                                                : "exit status " + std::to_string(WEXITSTATUS(status));
    throw Error(file + ": " + library + " crashed reading this file (" + how +
                "): the file is corrupt or not what it claims to be");
}

}  // namespace tachyon
