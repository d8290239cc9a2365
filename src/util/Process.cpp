#include "util/Process.h"

#include "util/Error.h"

#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <mutex>
#include <poll.h>
#include <set>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace tachyon::util {

namespace {

constexpr size_t kMaxCapturedBytes = 8u << 20;
constexpr int kPollMilliseconds = 50;

// Process groups being waited for, so the CLI's signal thread can kill them.
std::mutex& groupsMutex() {
    static std::mutex m;
    return m;
}
std::set<pid_t>& runningGroups() {
    static std::set<pid_t> s;
    return s;
}

// While any thread waits for a child, SIGINT and SIGTERM only set this flag; the waiter
// kills its child, restores the previous handlers and raises the signal again.
volatile std::sig_atomic_t pendingSignal = 0;
void rememberSignal(int sig) { pendingSignal = sig; }

class InterruptWatch {
public:
    InterruptWatch() {
        std::lock_guard lock(mutex());
        if (users()++ > 0) return;
        pendingSignal = 0;
        struct sigaction sa {};
        sa.sa_handler = rememberSignal;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, &previous()[0]);
        sigaction(SIGTERM, &sa, &previous()[1]);
    }
    ~InterruptWatch() {
        std::lock_guard lock(mutex());
        if (--users() > 0) return;
        sigaction(SIGINT, &previous()[0], nullptr);
        sigaction(SIGTERM, &previous()[1], nullptr);
        const int sig = pendingSignal;
        pendingSignal = 0;
        if (sig != 0) ::raise(sig);  // now handled (or defaulted) as the caller set it up
    }
    InterruptWatch(const InterruptWatch&) = delete;
    InterruptWatch& operator=(const InterruptWatch&) = delete;

private:
    static std::mutex& mutex() {
        static std::mutex m;
        return m;
    }
    static int& users() {
        static int n = 0;
        return n;
    }
    static struct sigaction* previous() {
        static struct sigaction old[2];
        return old;
    }
};

// A file descriptor closed when it goes out of scope.
class Fd {
public:
    explicit Fd(int fd = -1) : fd_(fd) {}
    ~Fd() { reset(); }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    int get() const { return fd_; }
    void reset(int fd = -1) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = fd;
    }

private:
    int fd_;
};

// posix_spawn's attribute and file-action objects, destroyed on every path.
struct SpawnSetup {
    posix_spawnattr_t attr;
    posix_spawn_file_actions_t actions;
    SpawnSetup() {
        posix_spawnattr_init(&attr);
        posix_spawn_file_actions_init(&actions);
    }
    ~SpawnSetup() {
        posix_spawn_file_actions_destroy(&actions);
        posix_spawnattr_destroy(&attr);
    }
};

bool isExecutableFile(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

void appendCapped(std::string& out, const char* data, size_t n) {
    static const std::string elided = "[... earlier output elided ...]\n";
    out.append(data, n);
    if (out.size() > kMaxCapturedBytes) out = elided + out.substr(out.size() - kMaxCapturedBytes / 2);
}

void writeAll(int fd, const char* data, size_t n) {
    while (n > 0) {
        const ssize_t w = ::write(fd, data, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return;  // a full log disk must not stop the run; the caller sees the exit status
        data += w;
        n -= size_t(w);
    }
}

// Reads what the pipe holds now into `out` (and the log); false at end of file.
bool drain(int fd, std::string& out, int logFd) {
    char buf[65536];
    for (;;) {
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK;
        if (n == 0) return false;
        appendCapped(out, buf, size_t(n));
        if (logFd >= 0) writeAll(logFd, buf, size_t(n));
    }
}

void killGroup(pid_t pgid) { ::kill(-pgid, SIGKILL); }

}  // namespace

std::string findProgram(const std::string& name) {
    if (name.empty()) return "";
    if (name.find('/') != std::string::npos) return isExecutableFile(name) ? name : "";
    const char* path = std::getenv("PATH");
    const std::string dirs = path && *path ? path : "/usr/local/bin:/usr/bin:/bin";
    size_t start = 0;
    for (;;) {
        const size_t end = dirs.find(':', start);
        std::string dir = dirs.substr(start, end == std::string::npos ? std::string::npos : end - start);
        if (dir.empty()) dir = ".";
        const std::string candidate = dir + "/" + name;
        if (isExecutableFile(candidate)) return candidate;
        if (end == std::string::npos) return "";
        start = end + 1;
    }
}

ProcessResult runProcess(const std::vector<std::string>& argv, const ProcessOptions& options) {
    if (argv.empty() || argv[0].empty()) throw Error("internal error: runProcess called without a program");
    const std::string program = findProgram(argv[0]);
    if (program.empty())
        throw Error(argv[0] + ": program not found" +
                    (argv[0].find('/') == std::string::npos ? std::string(" on PATH") : std::string()) +
                    "; install it or add its folder to PATH");

    SpawnSetup spawn;
    // Own process group (killed as a whole), default dispositions and an empty mask: the
    // CLI blocks SIGINT/SIGTERM in every thread and Python ignores SIGPIPE, and a child
    // would inherit both.
    sigset_t none, defaults;
    sigemptyset(&none);
    sigemptyset(&defaults);
    for (int s : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE, SIGCHLD}) sigaddset(&defaults, s);
    posix_spawnattr_setpgroup(&spawn.attr, 0);
    posix_spawnattr_setsigmask(&spawn.attr, &none);
    posix_spawnattr_setsigdefault(&spawn.attr, &defaults);
    posix_spawnattr_setflags(&spawn.attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

    posix_spawn_file_actions_addopen(&spawn.actions, 0, "/dev/null", O_RDONLY, 0);
    if (!options.cwd.empty()) posix_spawn_file_actions_addchdir_np(&spawn.actions, options.cwd.c_str());

    Fd log;
    if (!options.logFile.empty()) {
        log.reset(::open(options.logFile.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
        if (log.get() < 0)
            throw Error(options.logFile + ": cannot create the log of " + argv[0] + " (" + std::strerror(errno) + ")");
    }
    Fd readEnd, writeEnd;
    if (options.captureOutput) {
        int fds[2];
        if (::pipe2(fds, O_CLOEXEC) != 0)
            throw Error(argv[0] + ": cannot create a pipe for its output (" + std::strerror(errno) + ")");
        readEnd.reset(fds[0]);
        writeEnd.reset(fds[1]);
        ::fcntl(readEnd.get(), F_SETFL, ::fcntl(readEnd.get(), F_GETFL) | O_NONBLOCK);
    }
    const int childOut = options.captureOutput ? writeEnd.get() : log.get();
    if (childOut >= 0) {
        posix_spawn_file_actions_adddup2(&spawn.actions, childOut, 1);
        posix_spawn_file_actions_adddup2(&spawn.actions, childOut, 2);
    }

    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);

    InterruptWatch watch;  // before the spawn: a Ctrl-C from now on kills the child
    pid_t pid = -1;
    {
        std::lock_guard lock(groupsMutex());
        const int rc = posix_spawn(&pid, program.c_str(), &spawn.actions, &spawn.attr, args.data(), environ);
        if (rc != 0) {
            const std::string where = options.cwd.empty() ? "" : " in " + options.cwd;
            throw Error(argv[0] + ": cannot start it" + where + " (" + std::strerror(rc) + ")");
        }
        runningGroups().insert(pid);
    }
    writeEnd.reset();  // the child holds its own copy; end of file comes when it is gone

    ProcessResult result;
    using Clock = std::chrono::steady_clock;
    const auto start = Clock::now();
    auto lastBeat = start;
    bool pipeOpen = options.captureOutput;
    int status = 0;
    bool reaped = false;
    for (;;) {
        const pid_t w = ::waitpid(pid, &status, WNOHANG);
        if (w == pid) {
            reaped = true;
            break;
        }
        if (w < 0 && errno != EINTR) break;  // reaped elsewhere (SIGCHLD ignored): the status is lost
        if (pendingSignal != 0 && !result.interrupted) {
            result.interrupted = true;
            result.signal = pendingSignal;
            killGroup(pid);
        }
        if (options.timeoutSeconds > 0 && !result.timedOut && !result.interrupted &&
            std::chrono::duration<double>(Clock::now() - start).count() > options.timeoutSeconds) {
            result.timedOut = true;
            killGroup(pid);
        }
        if (options.heartbeat && Clock::now() - lastBeat >= std::chrono::seconds(1)) {
            lastBeat = Clock::now();
            options.heartbeat();
        }
        if (pipeOpen) {
            pollfd p{readEnd.get(), POLLIN, 0};
            if (::poll(&p, 1, kPollMilliseconds) > 0) pipeOpen = drain(readEnd.get(), result.output, log.get());
        } else {
            ::poll(nullptr, 0, kPollMilliseconds);
        }
    }
    {
        std::lock_guard lock(groupsMutex());
        runningGroups().erase(pid);
    }
    // What the program wrote last; a grandchild still holding the pipe is not waited for.
    if (pipeOpen) drain(readEnd.get(), result.output, log.get());
    // The group's stragglers go with the leader when it was stopped by us.
    if (result.timedOut || result.interrupted) killGroup(pid);

    if (!reaped) return result;  // exit code -1: not a success
    if (WIFEXITED(status) && !result.timedOut && !result.interrupted) {
        result.exitCode = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status) && !result.interrupted) {
        result.signal = WTERMSIG(status);
    }
    return result;
}

std::string describeOutcome(const ProcessResult& result, const ProcessOptions& options) {
    if (result.interrupted) return "interrupted by signal " + std::to_string(result.signal);
    if (result.timedOut) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%g", options.timeoutSeconds);
        return std::string("no result within ") + buf + " s; stopped";
    }
    if (result.signal != 0)
        return "signal " + std::to_string(result.signal) + " (" + strsignal(result.signal) + ")";
    return "exit status " + std::to_string(result.exitCode);
}

void killRunningProcesses() {
    std::lock_guard lock(groupsMutex());
    for (pid_t g : runningGroups()) killGroup(g);
}

}  // namespace tachyon::util
