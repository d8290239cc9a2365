// `tachyon csim --ap-include DIR` / $TACHYON_AP_INCLUDE: the testbench is compiled against the
// ap_int.h/ap_fixed.h of DIR (Xilinx's own, in the opt-in ctest hls_real_headers) instead of
// the bundled ones; a folder without them is named in a clear error before g++ runs.
// Here DIR holds copies of the bundled headers (the real ones are not part of the tree), one
// of them poisoned to prove that DIR is searched before the project's include/.
#include "backends/hls/HlsWriter.h"
#include "test_files.h"
#include "util/Error.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

namespace fs = std::filesystem;

namespace {

struct CliResult {
    int status;
    std::string output;
};

CliResult runCli(const std::string& args) {
    const std::string cmd = std::string(TACHYON_CLI) + " " + args + " 2>&1";
    std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(cmd.c_str(), "r"), pclose);
    std::string out;
    char buf[4096];
    for (size_t n; (n = fread(buf, 1, sizeof buf, pipe.get())) > 0;) out.append(buf, n);
    const int st = pclose(pipe.release());
    return {WEXITSTATUS(st), out};
}

// The error hls::csim throws for `apInclude` (empty string: none thrown).
std::string csimError(const std::string& prj, const std::string& apInclude) {
    std::ostringstream log;
    try {
        tachyon::hls::csim(prj, log, apInclude);
    } catch (const tachyon::Error& e) {
        return e.what();
    }
    return "";
}

// A folder with copies of the bundled ap_int.h and ap_fixed.h.
fs::path bundledCopy(const fs::path& dir) {
    fs::create_directories(dir);
    for (const char* h : {"ap_int.h", "ap_fixed.h"})
        fs::copy_file(fs::path(TACHYON_SOURCE_DIR) / "src/backends/hls/include" / h, dir / h,
                      fs::copy_options::overwrite_existing);
    return dir;
}

// The jet tagger's HLS project (written once per test).
fs::path jetProject(const fs::path& work) {
    const fs::path model = fs::path(TACHYON_BINARY_DIR) / "cli_test/jet_tagger.onnx";
    if (!fs::exists(model)) return {};
    const fs::path prj = work / "prj";
    const CliResult w = runCli("convert " + model.string() + " -o " + prj.string());
    return w.status == 0 ? prj : fs::path();
}

}  // namespace

TEST(CsimApInclude, MissingHeadersAreNamedBeforeCompiling) {
    const fs::path work = freshTestDir("csim_ap_include", "missing");
    const fs::path none = work / "no_such_folder";
    std::string e = csimError((work / "prj").string(), none.string());
    EXPECT_NE(e.find(none.string()), std::string::npos) << e;
    EXPECT_NE(e.find("--ap-include"), std::string::npos) << e;

    const fs::path half = work / "only_ap_int";
    fs::create_directories(half);
    std::ofstream(half / "ap_int.h") << "// no ap_fixed.h beside it\n";
    e = csimError((work / "prj").string(), half.string());
    EXPECT_NE(e.find(half.string()), std::string::npos) << e;
    EXPECT_NE(e.find("has no ap_fixed.h"), std::string::npos) << e;

    // The environment variable is checked the same way, and named.
    ASSERT_EQ(setenv("TACHYON_AP_INCLUDE", none.string().c_str(), 1), 0);
    e = csimError((work / "prj").string(), "");
    unsetenv("TACHYON_AP_INCLUDE");
    EXPECT_NE(e.find("TACHYON_AP_INCLUDE " + none.string()), std::string::npos) << e;
}

TEST(CsimApInclude, TheNamedFolderIsSearchedBeforeTheBundledHeaders) {
    const fs::path work = freshTestDir("csim_ap_include", "first");
    const fs::path prj = jetProject(work);
    if (prj.empty()) GTEST_SKIP() << "no cli_test/jet_tagger.onnx (make_fixtures)";
    const fs::path poisoned = bundledCopy(work / "poisoned");
    std::ofstream(poisoned / "ap_fixed.h") << "#error \"ap_fixed.h of the --ap-include folder\"\n";
    const std::string e = csimError(prj.string(), poisoned.string());
    EXPECT_NE(e.find("ap_fixed.h of the --ap-include folder"), std::string::npos) << e;
}

TEST(CsimApInclude, CliCompilesAgainstTheNamedFolder) {
    const fs::path work = freshTestDir("csim_ap_include", "cli");
    const fs::path prj = jetProject(work);
    if (prj.empty()) GTEST_SKIP() << "no cli_test/jet_tagger.onnx (make_fixtures)";
    const fs::path copy = bundledCopy(work / "headers");
    const CliResult r = runCli("csim " + prj.string() + " --ap-include " + copy.string());
    EXPECT_EQ(r.status, 0) << r.output;
    EXPECT_NE(r.output.find("0 mismatches against the emulator (ap_* headers from " + copy.string() + ")"),
              std::string::npos)
        << r.output;
    const CliResult bad = runCli("csim " + prj.string() + " --ap-include " + (work / "nowhere").string());
    EXPECT_NE(bad.status, 0) << bad.output;
    EXPECT_NE(bad.output.find((work / "nowhere").string() + " is not a folder"), std::string::npos) << bad.output;
}
