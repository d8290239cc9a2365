// util/Process: programs run without a shell, in their own process group, stopped as a
// whole on timeout or interrupt.
#include "support/child_process.h"
#include "util/Error.h"
#include "util/Process.h"

#include "test_files.h"

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <fstream>
#include <thread>

namespace fs = std::filesystem;
using tachyon::util::ProcessOptions;
using tachyon::util::runProcess;

using test_support::processGone;
using test_support::secondsSince;
using test_support::waitUntilGone;

namespace {

pid_t readPid(const fs::path& file) {
    for (int i = 0; i < 100; ++i) {
        std::ifstream in(file);
        pid_t pid = 0;
        if (in >> pid && pid > 0) return pid;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return 0;
}

int sigintsSeen = 0;
void countSigint(int) { ++sigintsSeen; }

}  // namespace

TEST(Process, ArgumentsWithShellMetacharactersArePassedLiterally) {
    const fs::path dir = freshTestDir("process", "literal");
    const std::string nasty = "a'b;c $(touch INJECTED) `touch INJECTED2` && touch INJECTED3 | * \"q\"\n";
    ProcessOptions opt;
    opt.cwd = dir.string();
    opt.captureOutput = true;
    const auto r = runProcess({"printf", "%s", nasty}, opt);
    EXPECT_TRUE(r.succeeded()) << tachyon::util::describeOutcome(r);
    EXPECT_EQ(r.output, nasty);
    EXPECT_FALSE(fs::exists(dir / "INJECTED"));
    EXPECT_FALSE(fs::exists(dir / "INJECTED2"));
    EXPECT_FALSE(fs::exists(dir / "INJECTED3"));
}

TEST(Process, RunsInTheGivenFolderAndReportsTheExitStatus) {
    const fs::path dir = freshTestDir("process", "it's a $(dir)");
    ProcessOptions opt;
    opt.cwd = dir.string();
    opt.captureOutput = true;
    const auto pwd = runProcess({"pwd", "-P"}, opt);
    EXPECT_EQ(pwd.output, fs::canonical(dir).string() + "\n");

    const auto failing = runProcess({"sh", "-c", "echo to-stderr >&2; exit 3"}, opt);
    EXPECT_EQ(failing.exitCode, 3);
    EXPECT_FALSE(failing.succeeded());
    EXPECT_EQ(failing.output, "to-stderr\n");  // stderr is captured with stdout
    EXPECT_EQ(tachyon::util::describeOutcome(failing), "exit status 3");
}

TEST(Process, ReportsTheSignalThatEndedTheProgram) {
    const auto r = runProcess({"sh", "-c", "kill -9 $$"});
    EXPECT_EQ(r.signal, SIGKILL);
    EXPECT_EQ(r.exitCode, -1);
    EXPECT_FALSE(r.succeeded());
    EXPECT_NE(tachyon::util::describeOutcome(r).find("signal 9"), std::string::npos);
}

TEST(Process, MissingProgramIsAClearError) {
    EXPECT_EQ(tachyon::util::findProgram("tachyon-no-such-program-xyz"), "");
    EXPECT_NE(tachyon::util::findProgram("sh"), "");
    try {
        runProcess({"tachyon-no-such-program-xyz", "arg"});
        FAIL() << "no error for a missing program";
    } catch (const tachyon::Error& e) {
        EXPECT_NE(std::string(e.what()).find("tachyon-no-such-program-xyz: program not found"), std::string::npos)
            << e.what();
    }
    EXPECT_THROW(runProcess({"/nonexistent/dir/prog"}), tachyon::Error);
    EXPECT_THROW(runProcess({}), tachyon::Error);
}

TEST(Process, LogFileGetsStdoutAndStderr) {
    const fs::path dir = freshTestDir("process", "log");
    ProcessOptions opt;
    opt.logFile = (dir / "run.log").string();
    const auto r = runProcess({"sh", "-c", "echo out; echo err >&2"}, opt);
    EXPECT_TRUE(r.succeeded());
    EXPECT_EQ(readFile(dir / "run.log"), "out\nerr\n");

    // Capture and log together: both get everything.
    opt.captureOutput = true;
    const auto both = runProcess({"sh", "-c", "echo again"}, opt);
    EXPECT_EQ(both.output, "again\n");
    EXPECT_EQ(readFile(dir / "run.log"), "again\n");

    opt.logFile = (dir / "no-such-folder" / "run.log").string();
    EXPECT_THROW(runProcess({"true"}, opt), tachyon::Error);
}

TEST(Process, TimeoutKillsTheWholeProcessGroup) {
    const fs::path dir = freshTestDir("process", "timeout");
    ProcessOptions opt;
    opt.cwd = dir.string();
    opt.timeoutSeconds = 0.5;
    const auto t0 = std::chrono::steady_clock::now();
    // The shell starts a grandchild and waits: killing only the shell would orphan it.
    const auto r = runProcess({"sh", "-c", "sleep 30 & echo $! > grandchild.pid; wait"}, opt);
    EXPECT_LT(secondsSince(t0), 5.0);
    EXPECT_TRUE(r.timedOut);
    EXPECT_FALSE(r.succeeded());
    EXPECT_NE(tachyon::util::describeOutcome(r, opt).find("no result within 0.5 s"), std::string::npos);
    const pid_t grandchild = readPid(dir / "grandchild.pid");
    ASSERT_GT(grandchild, 0);
    EXPECT_TRUE(waitUntilGone(grandchild, 3.0)) << "sleep " << grandchild << " outlived the timeout";
}

TEST(Process, HeartbeatIsCalledWhileWaiting) {
    int beats = 0;
    ProcessOptions opt;
    opt.heartbeat = [&] { ++beats; };
    const auto r = runProcess({"sleep", "1.6"}, opt);
    EXPECT_TRUE(r.succeeded());
    EXPECT_GE(beats, 1);
    EXPECT_LE(beats, 3);
}

TEST(Process, InterruptKillsTheChildAndReachesTheCallersHandler) {
    const fs::path dir = freshTestDir("process", "interrupt");
    struct sigaction counting {}, previous {};
    counting.sa_handler = countSigint;
    sigemptyset(&counting.sa_mask);
    sigaction(SIGINT, &counting, &previous);
    sigintsSeen = 0;

    ProcessOptions opt;
    opt.cwd = dir.string();
    opt.heartbeat = [] { ::raise(SIGINT); };  // the user presses Ctrl-C while we wait
    const auto t0 = std::chrono::steady_clock::now();
    const auto r = runProcess({"sh", "-c", "sleep 30 & echo $! > grandchild.pid; wait"}, opt);
    const double took = secondsSince(t0);
    sigaction(SIGINT, &previous, nullptr);

    EXPECT_LT(took, 5.0);
    EXPECT_TRUE(r.interrupted);
    EXPECT_EQ(r.signal, SIGINT);
    EXPECT_FALSE(r.succeeded());
    EXPECT_EQ(sigintsSeen, 1) << "the interrupt must reach the handler the caller had installed";
    const pid_t grandchild = readPid(dir / "grandchild.pid");
    ASSERT_GT(grandchild, 0);
    EXPECT_TRUE(waitUntilGone(grandchild, 3.0));
}

// Every program Tachyon runs goes through util/Process: no shell command strings anywhere
// else in the library, the CLI or the Python module.
TEST(Process, NoShellCommandsOutsideUtilProcess) {
    const fs::path root = TACHYON_SOURCE_DIR;
    const std::vector<std::string> cppPatterns = {"std::system(", "popen(", "::system(", " system(", "execl(",
                                                  "execlp(", "posix_spawn("};
    const std::vector<std::string> pyPatterns = {"os.system(", "os.popen(", "shell=True"};
    std::vector<std::string> found;
    size_t scanned = 0;
    for (const char* top : {"src", "tools", "python"}) {
        for (const auto& entry : fs::recursive_directory_iterator(root / top)) {
            if (!entry.is_regular_file()) continue;
            const fs::path& p = entry.path();
            const std::string ext = p.extension().string();
            const bool cpp = ext == ".cpp" || ext == ".h" || ext == ".hpp" || ext == ".cc";
            if (!cpp && ext != ".py") continue;
            if (p.parent_path().filename() == "util" && p.stem() == "Process") continue;
            ++scanned;
            std::ifstream in(p);
            int lineNo = 0;
            for (std::string line; std::getline(in, line);) {
                ++lineNo;
                const size_t comment = line.find(cpp ? "//" : "#");
                const std::string code = line.substr(0, comment);
                for (const std::string& pat : cpp ? cppPatterns : pyPatterns)
                    if (code.find(pat) != std::string::npos)
                        found.push_back(fs::relative(p, root).string() + ":" + std::to_string(lineNo) + ": " + line);
            }
        }
    }
    EXPECT_GT(scanned, 50u) << "the source tree was not found at " << root;
    for (const std::string& f : found) ADD_FAILURE() << "runs a shell command (use util::runProcess): " << f;
}
