// The one way Tachyon runs another program (Yosys, Verilator, g++, make, python).
//
// Arguments are passed as a vector straight to the program (posix_spawn, no shell), so a
// path such as `a'b;c $(x)` is one argument and never code. The child runs in its own
// process group with default signal handling; the whole group is killed when the
// timeout passes or when this process gets SIGINT/SIGTERM while waiting, so no Yosys
// or simulator outlives a Tachyon that was stopped. No other file in src/, tools/ or
// python/ may call std::system or popen (tests/test_process.cpp checks).
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace tachyon::util {

struct ProcessOptions {
    std::string cwd;              // "" = this process's current folder
    std::string logFile;          // stdout and stderr go here; "" = inherited (or captured)
    double timeoutSeconds = 0;    // 0 = no limit
    bool captureOutput = false;   // stdout and stderr together into ProcessResult::output
    std::function<void()> heartbeat;  // called about once a second while waiting; may be empty
};

struct ProcessResult {
    int exitCode = -1;         // the exit status, or -1 when the program did not exit by itself
    bool timedOut = false;     // killed because timeoutSeconds passed
    bool interrupted = false;  // killed because this process got SIGINT/SIGTERM
    int signal = 0;            // the signal that ended the program (or that interrupted us)
    std::string output;        // with captureOutput: the last 8 MB of stdout and stderr

    bool succeeded() const { return exitCode == 0 && !timedOut && !interrupted; }
};

// Runs argv[0] (looked up on PATH unless it holds a '/') with argv[1..] and waits.
// Throws tachyon::Error when the program is missing or cannot be started, or the log
// file cannot be created. A non-zero exit is not an error here: the caller decides.
// When interrupted, the signal is raised again after the child is gone, so the caller's
// own handler (Python's KeyboardInterrupt, the CLI's cleanup) still sees it.
ProcessResult runProcess(const std::vector<std::string>& argv, const ProcessOptions& options = {});

// The full path of an executable `name` on PATH ("" when there is none); a name with a
// '/' is returned as is when it is executable.
std::string findProgram(const std::string& name);

// How a run ended, for error messages: "exit status 2", "signal 9 (Killed)",
// "no result within 30 s", "interrupted by signal 2".
std::string describeOutcome(const ProcessResult& result, const ProcessOptions& options = {});

// Kills (SIGKILL) the process group of every program runProcess is waiting for. For the
// CLI's signal thread (installCleanupOnSignals), which takes SIGINT/SIGTERM/SIGHUP
// before any waiting thread can.
void killRunningProcesses();

}  // namespace tachyon::util
