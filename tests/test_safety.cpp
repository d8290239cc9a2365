// Issue 27's reproducers on the command line and the library: no path or project file is
// ever code (shell metacharacters, hostile manifests), no output ever costs the user a
// file (foreign folders, the model's folder, `.`, `..`, `~`, symbolic links, devices,
// outputs equal to inputs), and hostile inputs give short errors instead of crashes.
// Each test works in a folder of its own; the CLI runs through util::runProcess, so the
// odd names below reach it exactly as written.
#include "support/cli.h"
#include "api/Api.h"
#include "util/AtomicOutput.h"
#include "util/Error.h"
#include "util/Npy.h"
#include "util/Process.h"

#include "test_files.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <fcntl.h>
#include <fstream>
#include <sys/resource.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace fs = std::filesystem;

using test_support::CliResult;
using test_support::runCliArgs;

namespace {

bool contains(const std::string& s, const std::string& needle) { return s.find(needle) != std::string::npos; }

// Every file below `dir` whose name starts with "INJECTED": proof that a command ran.
std::vector<std::string> injected(const fs::path& dir) {
    std::vector<std::string> found;
    for (const auto& e : fs::recursive_directory_iterator(dir))
        if (e.path().filename().string().rfind("INJECTED", 0) == 0) found.push_back(e.path().string());
    return found;
}

bool hasTemporaries(const fs::path& dir) {
    for (const auto& e : fs::recursive_directory_iterator(dir))
        if (e.path().filename().string().rfind(".tmp-", 0) == 0) return true;
    return false;
}

bool pythonHasMatplotlib() {
    tachyon::util::ProcessOptions opt;
    opt.captureOutput = true;
    return tachyon::util::runProcess({"/usr/bin/python3", "-c", "import matplotlib"}, opt).succeeded();
}

// A folder with the example model (m.onnx) and its input rows (x.npy).
class Safety : public ::testing::Test {
protected:
    fs::path dir;
    void SetUp() override {
        const fs::path example = fs::path(TACHYON_BINARY_DIR) / "cli_test";
        ASSERT_TRUE(fs::exists(example / "jet_tagger.onnx")) << "run the make_fixtures test first";
        dir = freshTestDir("safety_test", ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::copy_file(example / "jet_tagger.onnx", dir / "m.onnx");
        fs::copy_file(example / "jet_tagger_X.npy", dir / "x.npy");
    }
    // `args` fails with exit status 1 and an error holding `needle`.
    void expectRefused(const std::vector<std::string>& args, const std::string& needle) {
        const CliResult r = runCliArgs(dir, args);
        std::string cmd;
        for (const auto& a : args) cmd += a + " ";
        EXPECT_EQ(r.status, 1) << cmd << "\n" << r.output;
        EXPECT_TRUE(contains(r.output, "tachyon: error: ")) << cmd << "\n" << r.output;
        EXPECT_TRUE(contains(r.output, needle)) << cmd << "\n" << r.output;
    }
    // A user's folder: refused outputs must leave it as it was.
    fs::path userFolder(const std::string& name) {
        fs::create_directories(dir / name);
        std::ofstream(dir / name / "thesis.tex") << "years of work";
        return dir / name;
    }
    void expectIntact(const fs::path& folder) {
        EXPECT_EQ(readFile(folder / "thesis.tex"), "years of work") << folder;
    }
};

// A Verilog project by hand (one register, a testbench of three rows), small enough that
// Verilator and Yosys take seconds: what is tested is the path, not the generator.
void writeTinyVerilogProject(const fs::path& prj, const std::string& manifest) {
    fs::create_directories(prj / "rtl");
    fs::create_directories(prj / "sim");
    std::ofstream(prj / "tachyon_project.json") << manifest;
    std::ofstream(prj / "rtl" / "tiny.v") << "module tiny(input clk, input [7:0] x, output reg [7:0] y);\n"
                                             "  always @(posedge clk) y <= x + 8'd1;\nendmodule\n";
    std::ofstream(prj / "sim" / "tb.cpp")
        << "#include \"Vtiny.h\"\n#include <fstream>\n"
           "int main(int, char** argv) {\n  Vtiny top;\n  std::ifstream in(argv[1]);\n  std::ofstream out(argv[2]);\n"
           "  for (int v; in >> v;) { top.x = v; top.clk = 0; top.eval(); top.clk = 1; top.eval();"
           " out << int(top.y) << \"\\n\"; }\n}\n";
    std::ofstream(prj / "sim" / "input_raw.dat") << "1\n2\n3\n";
    std::ofstream(prj / "sim" / "expected_raw.dat") << "2\n3\n4\n";
}

const char* kTinyManifest = R"({"backend": "verilog", "top": "tiny", "rtl_files": ["rtl/tiny.v"]})";
const std::string kNastyName = "a'b;c $(touch INJECTED1) `touch INJECTED2`";

}  // namespace

// --- No shell: paths with metacharacters through every command that runs a program ---

TEST_F(Safety, ProfileOutputNamedLikeShellCodeIsJustAName) {
    const std::string out = "q'; touch INJECTED; echo '";
    CliResult r = runCliArgs(dir, {"profile", "m.onnx", "-i", "x.npy", "-o", out});
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_TRUE(injected(dir).empty());
    EXPECT_TRUE(fs::exists(dir / out / "profile.json"));
    if (pythonHasMatplotlib()) {
        EXPECT_TRUE(fs::exists(dir / out / "weights.png")) << r.output;
        EXPECT_FALSE(contains(r.output, "no plots")) << r.output;
    }
    // A quote in a folder name used to break plotting with a false "matplotlib is needed".
    r = runCliArgs(dir, {"profile", "m.onnx", "-i", "x.npy", "-o", "it's"});
    ASSERT_EQ(r.status, 0) << r.output;
    if (pythonHasMatplotlib()) {
        EXPECT_TRUE(fs::exists(dir / "it's" / "activations.png")) << r.output;
    }
}

TEST_F(Safety, CsimOfAProjectNamedLikeShellCode) {
    CliResult r = runCliArgs(dir, {"convert", "m.onnx", "-o", kNastyName});
    ASSERT_EQ(r.status, 0) << r.output;
    r = runCliArgs(dir, {"csim", kNastyName});
    EXPECT_EQ(r.status, 0) << r.output;
    EXPECT_TRUE(contains(r.output, " 0 mismatches")) << r.output;
    EXPECT_TRUE(injected(dir).empty());
}

TEST_F(Safety, RtlsimAndReportOfAProjectNamedLikeShellCode) {
    writeTinyVerilogProject(dir / kNastyName, kTinyManifest);
    CliResult r = runCliArgs(dir, {"rtlsim", kNastyName});
    EXPECT_EQ(r.status, 0) << r.output;
    EXPECT_TRUE(contains(r.output, "3 rows, 0 mismatches")) << r.output;
    r = runCliArgs(dir, {"report", kNastyName});
    EXPECT_EQ(r.status, 0) << r.output;
    EXPECT_TRUE(contains(r.output, "LUTs")) << r.output;
    EXPECT_TRUE(injected(dir).empty());
}

// --- Project files are data: hostile manifests are refused before any tool runs ---

TEST_F(Safety, HostileManifestFieldsAreRefused) {
    struct Case {
        std::string manifest, needle;
    };
    const std::vector<Case> cases = {
        {R"({"backend": "verilog", "top": "tiny; touch INJECTED", "rtl_files": ["rtl/tiny.v"]})", "identifier"},
        {R"({"backend": "verilog", "top": "tiny", "rtl_files": ["rtl/tiny.v\n!touch INJECTED"]})", "character"},
        {R"({"backend": "verilog", "top": "tiny", "rtl_files": ["rtl/tiny.v; touch INJECTED"]})", "character"},
        {R"({"backend": "verilog", "top": "tiny", "rtl_files": ["../outside.v"]})", "leaves the project"},
        {R"({"backend": "verilog", "top": "tiny", "rtl_files": ["/etc/passwd"]})", "absolute"},
        {R"({"backend": "verilog", "top": "tiny", "rtl_files": ["-DINJECTED"]})", "'-'"},
        {R"({"backend": "verilog", "top": "tiny", "rtl_files": [42]})", "must be a string"},
        {R"({"backend": "verilog", "top": "tiny", "rtl_files": []})", "non-empty"},
        {R"({"backend": "verilog", "top": ["tiny"], "rtl_files": ["rtl/tiny.v"]})", "must be a string"},
        {R"({"backend": "verilog", "rtl_files": ["rtl/tiny.v"]})", "'top'"},
        {"[[[[" + std::string(300, '[') + std::string(304, ']'), "deeper than 256"},
    };
    for (const Case& c : cases) {
        const fs::path prj = dir / "prj";
        fs::remove_all(prj);
        writeTinyVerilogProject(prj, c.manifest);
        for (const char* cmd : {"rtlsim", "report"}) {
            SCOPED_TRACE(std::string(cmd) + " " + c.manifest);
            expectRefused({cmd, "prj"}, c.needle);
            expectRefused({cmd, "prj"}, "tachyon_project.json");
        }
        EXPECT_FALSE(fs::exists(prj / "synth" / "synth.ys")) << "Yosys' script was written for " << c.manifest;
    }
    // A symbolic link out of the project.
    fs::remove_all(dir / "prj");
    writeTinyVerilogProject(dir / "prj", R"({"backend": "verilog", "top": "tiny", "rtl_files": ["rtl/link.v"]})");
    std::ofstream(dir / "outside.v") << "module tiny(); endmodule\n";
    fs::create_symlink(dir / "outside.v", dir / "prj" / "rtl" / "link.v");
    expectRefused({"report", "prj"}, "symbolic link");
    // csim: "top" becomes file names.
    fs::create_directories(dir / "hls");
    std::ofstream(dir / "hls" / "tachyon_project.json") << R"({"backend": "hls", "top": "../../INJECTED"})";
    expectRefused({"csim", "hls"}, "identifier");
    EXPECT_TRUE(injected(dir).empty());
}

// --- Outputs never cost the user a file ---

TEST_F(Safety, ProfileOutputFollowsTheOutputRules) {
    const fs::path mine = userFolder("mine");
    expectRefused({"profile", "m.onnx", "-i", "x.npy", "-o", "."}, "current folder");
    expectRefused({"profile", "m.onnx", "-i", "x.npy", "-o", ".."}, "current folder");
    expectRefused({"profile", "m.onnx", "-i", "x.npy", "-o", "mine"}, "Tachyon did not write");
    expectRefused({"profile", "m.onnx", "-i", "x.npy", "-o", "mine", "--force"}, "Tachyon did not write");
    expectRefused({"profile", "m.onnx", "-i", "x.npy", "-o", "x.npy", "--force"}, "is also the input");
    expectIntact(mine);
    CliResult r = runCliArgs(dir, {"profile", "m.onnx", "-i", "x.npy", "-o", "p"});
    ASSERT_EQ(r.status, 0) << r.output;
    std::ofstream(dir / "p" / "profile.json") << "marker";
    expectRefused({"profile", "m.onnx", "-i", "x.npy", "-o", "p"}, "--force");
    EXPECT_EQ(readFile(dir / "p" / "profile.json"), "marker");
    r = runCliArgs(dir, {"profile", "m.onnx", "-i", "x.npy", "-o", "p", "--force"});
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_NE(readFile(dir / "p" / "profile.json"), "marker");
    EXPECT_FALSE(hasTemporaries(dir));
}

TEST_F(Safety, CalibrationDataIsNeverTheOutput) {
    const std::string before = readFile(dir / "x.npy");
    expectRefused({"config", "m.onnx", "--auto-precision", "x.npy", "-o", "x.npy", "--force"},
                  "is also the calibration data");
    expectRefused({"config", "m.onnx", "--auto-precision", "x.npy", "-o", "./x.npy", "--force"},
                  "is also the calibration data");
    EXPECT_EQ(readFile(dir / "x.npy"), before);
}

TEST_F(Safety, TildeSymlinksAndHomeAreRefused) {
    const fs::path mine = userFolder("mine");
    fs::create_directory_symlink(mine, dir / "link");
    expectRefused({"convert", "m.onnx", "-o", "link"}, "Tachyon did not write");
    expectRefused({"convert", "m.onnx", "-o", "link", "--force"}, "Tachyon did not write");
    expectRefused({"convert", "m.onnx", "-o", "~"}, "only a shell expands");
    expectRefused({"convert", "m.onnx", "-o", "~/prj"}, "only a shell expands");
    expectRefused({"profile", "m.onnx", "-i", "x.npy", "-o", "~"}, "only a shell expands");
    expectIntact(mine);
    EXPECT_FALSE(fs::exists(dir / "~"));
}

TEST_F(Safety, DevicesAreWrittenInPlaceNeverReplaced) {
    ASSERT_TRUE(fs::is_character_file("/dev/null"));
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"predict", "m.onnx", "-i", "x.npy", "-o", "/dev/null", "--force"},
          std::vector<std::string>{"predict", "m.onnx", "-i", "x.npy", "-o", "/dev/null"},
          std::vector<std::string>{"config", "m.onnx", "-o", "/dev/null", "--force"}}) {
        const CliResult r = runCliArgs(dir, args);
        EXPECT_EQ(r.status, 0) << args[0] << "\n" << r.output;
        EXPECT_TRUE(fs::is_character_file("/dev/null")) << args[0] << " replaced /dev/null";
    }
    expectRefused({"convert", "m.onnx", "-o", "/dev/null", "--force"}, "neither a folder nor a regular file");
    expectRefused({"profile", "m.onnx", "-i", "x.npy", "-o", "/dev/null", "--force"}, "neither a folder");
    EXPECT_TRUE(fs::is_character_file("/dev/null"));
    EXPECT_FALSE(hasTemporaries(dir));
}

// The library's write (behind Python's write_hls / write_verilog) keeps the same rules.
TEST_F(Safety, LibraryWriteKeepsEveryOutputRule) {
    auto m = tachyon::api::Model::load((dir / "m.onnx").string());
    const fs::path mine = userFolder("mine");
    fs::create_directory_symlink(mine, dir / "link");
    const auto refused = [&](const fs::path& out, const std::string& needle, bool force = false) {
        try {
            m->write(out.string(), "hls", "da", -1, nullptr, force);
            ADD_FAILURE() << "wrote " << out;
        } catch (const tachyon::Error& e) {
            EXPECT_TRUE(contains(e.what(), needle)) << out << ": " << e.what();
        }
    };
    refused(mine, "Tachyon did not write", true);
    refused(dir / "link", "Tachyon did not write", true);
    refused(dir, "holds the model", true);                  // the model's own folder
    refused(fs::current_path(), "current folder", true);    // `.`
    refused(fs::current_path().parent_path(), "current folder", true);
    refused("~", "only a shell expands", true);
    refused(dir / "m.onnx", "is also the model", true);
    expectIntact(mine);
    EXPECT_TRUE(fs::exists(dir / "m.onnx"));

    m->write((dir / "prj").string(), "hls");
    refused(dir / "prj", "--force");
    m->write((dir / "prj").string(), "verilog", "da", -1, nullptr, /*force=*/true);
    EXPECT_TRUE(contains(readFile(dir / "prj" / "tachyon_project.json"), "verilog"));

    // ProjectName becomes file names: never a path.
    tachyon::api::Json cfg = m->config();
    cfg["ProjectName"] = "../../INJECTED";
    m = m->withConfig(cfg);
    refused(dir / "evil", "ProjectName");
    EXPECT_FALSE(fs::exists(dir / "evil"));
    for (const auto& e : fs::directory_iterator(dir.parent_path()))
        EXPECT_NE(e.path().filename().string().rfind("INJECTED", 0), 0u) << e.path();
    EXPECT_FALSE(hasTemporaries(dir));
}

// --- Hostile inputs: short errors, no crash ---

TEST_F(Safety, DeeplyNestedJsonIsAnErrorNamingTheFile) {
    const std::string deep = std::string(100000, '[') + std::string(100000, ']');
    std::ofstream(dir / "xgb.json") << "{\"learner\": " << deep << "}";
    std::ofstream(dir / "trees.json") << "{\"format\": \"tachyon-trees\", \"trees\": " << deep << "}";
    std::ofstream(dir / "k.json") << "{\"class_name\": \"Sequential\", \"config\": " << deep << "}";
    std::ofstream(dir / "k_weights.h5") << "";
    for (const char* file : {"xgb.json", "trees.json", "k.json"}) {
        for (const std::string cmd : {"info", "convert"}) {
            std::vector<std::string> args = {cmd, file};
            if (cmd == "convert") args.insert(args.end(), {"-o", "prj"});
            const CliResult r = runCliArgs(dir, args);
            EXPECT_EQ(r.status, 1) << cmd << " " << file << "\n" << r.output.substr(0, 3000);
            EXPECT_TRUE(contains(r.output, file)) << r.output.substr(0, 3000);
            EXPECT_LT(r.output.size(), 3000u);
            EXPECT_FALSE(contains(r.output, "crashed")) << r.output.substr(0, 3000);
        }
    }
    EXPECT_FALSE(fs::exists(dir / "prj"));
    EXPECT_FALSE(hasTemporaries(dir));
}

TEST_F(Safety, HugeJsonErrorMessagesAreCapped) {
    // An unterminated 6 MB string: the parser's message quotes all of it.
    std::ofstream(dir / "xgb.json") << "{\"learner\": \"" << std::string(6 << 20, 'x');
    const CliResult r = runCliArgs(dir, {"info", "xgb.json"});
    EXPECT_EQ(r.status, 1) << r.output.substr(0, 3000);
    EXPECT_TRUE(contains(r.output, "xgb.json")) << r.output.substr(0, 3000);
    EXPECT_LT(r.output.size(), 3000u);
    EXPECT_TRUE(contains(r.output, "elided")) << r.output;
}

TEST_F(Safety, RefusedThreadsAreNoCrash) {
#if defined(__SANITIZE_ADDRESS__)
    GTEST_SKIP() << "AddressSanitizer's shadow memory does not fit the capped address space";
#endif
    // Huge thread stacks in a small address space: only a few threads can start.
    const fs::path out = dir / "y.npy";
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        rlimit stack{rlim_t(1) << 30, rlim_t(1) << 30}, as{rlim_t(4) << 30, rlim_t(4) << 30};
        if (setrlimit(RLIMIT_STACK, &stack) != 0 || setrlimit(RLIMIT_AS, &as) != 0) _exit(97);
        if (chdir(dir.c_str()) != 0) _exit(99);
        execl(TACHYON_CLI, "tachyon", "predict", "m.onnx", "-i", "x.npy", "-o", "y.npy", "-j", "64", (char*)nullptr);
        _exit(98);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    ASSERT_TRUE(WIFEXITED(st)) << "died of signal " << (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
    EXPECT_EQ(WEXITSTATUS(st), 0);
    // The same rows as with one thread.
    const CliResult one = runCliArgs(dir, {"predict", "m.onnx", "-i", "x.npy", "-o", "y1.npy"});
    ASSERT_EQ(one.status, 0) << one.output;
    EXPECT_EQ(readFile(out), readFile(dir / "y1.npy"));
    EXPECT_FALSE(hasTemporaries(dir));
}

TEST_F(Safety, NanInCalibrationDataIsAClearError) {
    size_t rows = 0, cols = 0;
    std::vector<double> x = tachyon::readNpy((dir / "x.npy").string(), rows, cols);
    x[3 * cols + 2] = std::nan("");
    tachyon::NpyWriter w((dir / "xnan.npy").string(), rows, cols);
    w.write(x.data(), rows);
    w.close();
    const CliResult r = runCliArgs(dir, {"config", "m.onnx", "--auto-precision", "xnan.npy", "-o", "auto.yml"});
    EXPECT_EQ(r.status, 1) << r.output;
    EXPECT_TRUE(contains(r.output, "xnan.npy")) << r.output;
    EXPECT_TRUE(contains(r.output, "1 NaN")) << r.output;
    EXPECT_TRUE(contains(r.output, "row 3, column 2")) << r.output;
    EXPECT_FALSE(contains(r.output, "-2147483")) << r.output;
    EXPECT_FALSE(fs::exists(dir / "auto.yml"));
}

// --- Resources and leftovers ---

TEST_F(Safety, KerasZipBombIsRefusedBeforeExtracting) {
    // 200 MB of zeros deflate to ~200 KB: declared sizes say so before anything is unpacked.
    const std::string script =
        "import sys, zipfile\n"
        "with zipfile.ZipFile(sys.argv[1], 'w', zipfile.ZIP_DEFLATED) as z:\n"
        "    z.writestr('config.json', '{\"class_name\": \"Sequential\", \"config\": {\"layers\": []}}')\n"
        "    z.writestr('metadata.json', '{}')\n"
        "    z.writestr('model.weights.h5', bytes(200 << 20))\n";
    ASSERT_TRUE(tachyon::util::runProcess({"/usr/bin/python3", "-c", script, (dir / "bomb.keras").string()}).succeeded());
    ASSERT_LT(fs::file_size(dir / "bomb.keras"), 2u << 20);
    const fs::path tmp = dir / "tmp";
    fs::create_directories(tmp);
    const char* oldTmp = std::getenv("TMPDIR");
    const std::string saved = oldTmp ? oldTmp : "";
    setenv("TMPDIR", tmp.c_str(), 1);
    const CliResult r = runCliArgs(dir, {"info", "bomb.keras"});
    if (oldTmp) setenv("TMPDIR", saved.c_str(), 1);
    else unsetenv("TMPDIR");
    EXPECT_EQ(r.status, 1) << r.output;
    EXPECT_TRUE(contains(r.output, "bomb.keras")) << r.output;
    EXPECT_TRUE(contains(r.output, "zip bomb")) << r.output;
    EXPECT_TRUE(fs::is_empty(tmp)) << "a temporary was left in $TMPDIR";
}

TEST(SafetySignals, TemporariesOfTheProcessAreRemovedOnSigint) {
    const fs::path dir = freshTestDir("safety_test", "signal_temporaries");
    const fs::path tmp = dir / "tachyon_keras3_test";
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        tachyon::installCleanupOnSignals();
        std::ofstream(tmp) << "weights";
        tachyon::ScopedTemporary t(tmp);
        ::kill(::getpid(), SIGINT);   // to the process: raise() would stay pending on this thread
        for (;;) ::pause();   // the signal thread removes the file and ends the process
    }
    int st = 0;
    waitpid(pid, &st, 0);
    EXPECT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGINT) << st;
    EXPECT_FALSE(fs::exists(tmp));
}

// Killing `tachyon report` must not leave Yosys running: the CLI's signal thread kills the
// process group of the program it waits for.
TEST_F(Safety, InterruptedReportLeavesNoYosysBehind) {
    const fs::path prj = dir / "prj";
    writeTinyVerilogProject(prj, kTinyManifest);
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        if (chdir(dir.c_str()) != 0) _exit(99);
        const int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        dup2(null, 2);
        execl(TACHYON_CLI, "tachyon", "report", "prj", (char*)nullptr);
        _exit(98);
    }
    // Programs whose working folder is the project: Yosys, once it runs.
    const auto inProject = [&] {
        std::vector<pid_t> found;
        for (const auto& e : fs::directory_iterator("/proc")) {
            const std::string name = e.path().filename().string();
            if (name.find_first_not_of("0123456789") != std::string::npos || std::stoi(name) == pid) continue;
            std::error_code ec;
            if (fs::read_symlink(e.path() / "cwd", ec) == fs::canonical(prj)) found.push_back(std::stoi(name));
        }
        return found;
    };
    bool started = false;
    for (int i = 0; i < 1000 && !started; ++i) {
        started = !inProject().empty();
        if (!started) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    EXPECT_TRUE(started) << "yosys never started";
    kill(pid, SIGINT);
    int st = 0;
    waitpid(pid, &st, 0);
    EXPECT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGINT) << st;
    bool gone = false;
    for (int i = 0; i < 300 && !gone; ++i) {
        gone = inProject().empty();
        if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    EXPECT_TRUE(gone) << "yosys outlived tachyon report";
}

TEST_F(Safety, TreeCommandsNameTheUsersPathsNotTemporaries) {
    const fs::path trees = fs::path(TACHYON_BINARY_DIR) / "fixtures" / "xgb_small4.json";
    ASSERT_TRUE(fs::exists(trees)) << "run the make_fixtures test first";
    fs::copy_file(trees, dir / "t.json");
    fs::copy_file(fs::path(TACHYON_BINARY_DIR) / "fixtures" / "X_small4.npy", dir / "tx.npy");
    for (const std::vector<std::string>& args : {std::vector<std::string>{"convert", "t.json", "-o", "prj"},
                                                 std::vector<std::string>{"predict", "t.json", "-i", "tx.npy", "-o", "y.npy"}}) {
        const CliResult r = runCliArgs(dir, args);
        EXPECT_EQ(r.status, 0) << args[0] << "\n" << r.output;
        EXPECT_FALSE(contains(r.output, ".tmp-")) << args[0] << "\n" << r.output;
        EXPECT_TRUE(contains(r.output, args[args.size() - 1])) << r.output;
    }
}

// --- The user's own events in the testbench (hls4ml's InputData) ---

TEST_F(Safety, ConvertTestbenchRunsOnTheUsersRows) {
    size_t rows = 0, cols = 0;
    const std::vector<double> x = tachyon::readNpy((dir / "x.npy").string(), rows, cols);
    const size_t n = 7;
    {
        tachyon::NpyWriter w((dir / "x7.npy").string(), n, cols);
        w.write(x.data(), n);
        w.close();
    }
    CliResult r = runCliArgs(dir, {"convert", "m.onnx", "--tb-input", "x7.npy", "-o", "prj"});
    ASSERT_EQ(r.status, 0) << r.output;
    // The testbench's inputs are the user's rows, cast to the input type (ap_fixed<16,6>).
    std::ifstream features(dir / "prj" / "tb_data" / "tb_input_features.dat");
    size_t k = 0;
    for (double v; features >> v; ++k) {
        ASSERT_LT(k, n * cols);
        EXPECT_NEAR(v, x[k], 1.0 / 1024) << "value " << k;
    }
    EXPECT_EQ(k, n * cols);
    // Its expected outputs are the emulator's on those rows, as `predict` gives them.
    r = runCliArgs(dir, {"predict", "m.onnx", "-i", "x7.npy", "-o", "y7.npy"});
    ASSERT_EQ(r.status, 0) << r.output;
    size_t yr = 0, yc = 0;
    const std::vector<double> y = tachyon::readNpy((dir / "y7.npy").string(), yr, yc);
    std::ifstream predictions(dir / "prj" / "tb_data" / "tb_output_predictions.dat");
    k = 0;
    for (double v; predictions >> v; ++k) {
        ASSERT_LT(k, y.size());
        EXPECT_DOUBLE_EQ(v, y[k]) << "output " << k;
    }
    EXPECT_EQ(k, y.size());
    r = runCliArgs(dir, {"csim", "prj"});
    EXPECT_EQ(r.status, 0) << r.output;
    EXPECT_TRUE(contains(r.output, ": 7 rows, 0 mismatches")) << r.output;

    r = runCliArgs(dir, {"convert", "m.onnx", "--tb-input", "x7.npy", "-b", "verilog", "-o", "v"});
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_TRUE(contains(readFile(dir / "v" / "tachyon_project.json"), "\"test_rows\": 7"));

    expectRefused({"convert", "m.onnx", "--tb-input", "m.onnx", "-o", "bad"}, "--tb-input");
    expectRefused({"convert", "m.onnx", "--tb-input", "x7.npy", "-o", "x7.npy", "--force"}, "is also the testbench input");
    EXPECT_FALSE(fs::exists(dir / "bad"));
}
