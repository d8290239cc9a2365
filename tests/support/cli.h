// Running the tachyon CLI (and other commands) from a test: exit status and the output.
#pragma once

#include "util/Process.h"

#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

namespace test_support {

struct CliResult {
    int status;          // exit status, or 128 + signal
    std::string output;  // stdout and stderr together
};

// A shell command line (the tests build some with quoting and `cd`), its stdout and stderr.
inline CliResult runShell(const std::string& command) {
    FILE* pipe = popen((command + " 2>&1").c_str(), "r");
    if (!pipe) return {-1, "popen failed: " + command};
    std::string out;
    char buf[4096];
    for (size_t n; (n = fread(buf, 1, sizeof buf, pipe)) > 0;) out.append(buf, n);
    const int st = pclose(pipe);
    return {WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st), out};
}

// `tachyon <args>`, args as one shell-quoted string (the shell may run more after it).
inline CliResult runCli(const std::string& args) { return runShell(std::string(TACHYON_CLI) + " " + args); }

// The same in the folder `cwd`.
inline CliResult runCliIn(const std::filesystem::path& cwd, const std::string& args) {
    return runShell("cd '" + cwd.string() + "' && " + TACHYON_CLI + " " + args);
}

// `tachyon <args>` without a shell (each argument passed as is), in `cwd`, at most 300 s.
inline CliResult runCliArgs(const std::filesystem::path& cwd, std::vector<std::string> args) {
    args.insert(args.begin(), TACHYON_CLI);
    tachyon::util::ProcessOptions opt;
    opt.cwd = cwd.string();
    opt.captureOutput = true;
    opt.timeoutSeconds = 300;
    const auto r = tachyon::util::runProcess(args, opt);
    return {r.exitCode >= 0 ? r.exitCode : 128 + r.signal, r.output};
}

}  // namespace test_support
