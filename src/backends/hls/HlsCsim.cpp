// `tachyon csim`: builds a generated HLS project's testbench with g++ against the bundled
// ap_fixed/hls_stream headers (or Xilinx's own ap_int.h/ap_fixed.h from a folder the user
// names) and compares its outputs with the emulator's.
#include "backends/hls/HlsWriter.h"

#include "backends/ProjectManifest.h"
#include "util/Error.h"
#include "util/Process.h"

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace fs = std::filesystem;

namespace tachyon::hls {

namespace {

std::string tail(const fs::path& p, size_t maxChars) {
    std::ifstream f(p);
    std::stringstream ss;
    ss << f.rdbuf();
    std::string s = ss.str();
    return s.size() > maxChars ? "..." + s.substr(s.size() - maxChars) : s;
}

std::vector<std::string> lines(const fs::path& p) {
    std::ifstream f(p);
    if (!f) throw Error("csim: cannot read " + p.string());
    std::vector<std::string> out;
    for (std::string l; std::getline(f, l);) out.push_back(l);
    return out;
}

std::vector<long long> numbers(const std::string& line) {
    std::istringstream is(line);
    std::vector<long long> v;
    for (long long x; is >> x;) v.push_back(x);
    return v;
}

// The compiler: $CXX split at spaces (no shell: "ccache g++" works, quoting does not), else g++.
std::vector<std::string> compilerCommand() {
    const char* cxx = std::getenv("CXX");
    std::vector<std::string> words;
    std::istringstream is(cxx && *cxx ? cxx : "g++");
    for (std::string w; is >> w;) words.push_back(w);
    return words;
}

// The folder of the ap_int.h/ap_fixed.h to compile against: `apInclude`, else
// $TACHYON_AP_INCLUDE, else none (the project's bundled include/). Checked here so that a
// wrong folder is named before g++ reports a missing header deep inside nnet_common.h.
std::string chosenApInclude(const std::string& apInclude) {
    std::string dir = apInclude;
    const char* env = std::getenv("TACHYON_AP_INCLUDE");
    if (dir.empty() && env) dir = env;
    if (dir.empty()) return dir;
    const std::string from = apInclude.empty() ? "TACHYON_AP_INCLUDE" : "--ap-include";
    if (!fs::is_directory(dir)) throw Error("csim: " + from + " " + dir + " is not a folder");
    for (const char* h : {"ap_int.h", "ap_fixed.h"})
        if (!fs::is_regular_file(fs::path(dir) / h))
            throw Error("csim: " + from + " " + dir + " has no " + h +
                        " (name the include/ folder of Xilinx's HLS_arbitrary_Precision_Types)");
    return fs::absolute(dir).string();
}

}  // namespace

CsimResult csim(const std::string& prjDir, std::ostream& log, const std::string& apInclude) {
    const std::string apDir = chosenApInclude(apInclude);
    const backend::ProjectManifest m = backend::readProjectManifest(prjDir, "csim", /*requireRtl=*/false);
    const fs::path& prj = m.dir;
    if (m.backend != "hls")
        throw Error("csim: " + prj.string() + " is not an HLS project (backend '" + m.backend + "')");
    const std::string& top = m.top;

    const fs::path build = prj / "csim";
    fs::create_directories(build);
    const fs::path exe = build / (top + "_csim");
    util::ProcessOptions compile;
    compile.logFile = (build / "compile.log").string();
    std::vector<std::string> argv = compilerCommand();
    argv.insert(argv.end(), {"-std=c++14", "-O1", "-Wno-unknown-pragmas"});
    // Searched before the project's include/: its ap_*.h win, hls_stream.h (which Xilinx's
    // repository does not have) still comes from the bundled folder.
    if (!apDir.empty()) argv.push_back("-I" + apDir);
    argv.insert(argv.end(), {"-I" + (prj / "include").string(),
                             "-I" + (prj / "firmware").string(), (prj / "firmware" / (top + ".cpp")).string(),
                             (prj / (top + "_test.cpp")).string(), "-o", exe.string()});
    const util::ProcessResult compiled = util::runProcess(argv, compile);
    if (!compiled.succeeded())
        throw Error("csim: compiling " + prj.string() + " failed (" + util::describeOutcome(compiled, compile) +
                    "):\n" + tail(build / "compile.log", 1500));

    util::ProcessOptions run;
    run.cwd = prj.string();
    run.logFile = (build / "run.log").string();
    const util::ProcessResult ran = util::runProcess({exe.string(), "tb_data"}, run);
    const auto got = lines(prj / "tb_data/csim_raw.dat");
    const auto want = lines(prj / "tb_data/expected_raw.dat");
    if (!ran.succeeded() && got.empty())
        throw Error("csim: the testbench of " + prj.string() + " failed (" + util::describeOutcome(ran, run) + "):\n" +
                    tail(build / "run.log", 1500));

    CsimResult r;
    r.rows = want.size();
    if (got.size() != want.size())
        log << "csim: the testbench wrote " << got.size() << " rows, expected " << want.size() << "\n";
    const auto inputs = lines(prj / "tb_data/input_raw.dat");
    for (size_t k = 0; k < want.size(); ++k) {
        if (k < got.size() && numbers(got[k]) == numbers(want[k])) continue;
        if (++r.mismatches <= 10) {
            log << "  row " << k << ": input [" << (k < inputs.size() ? inputs[k] : "?") << "]\n"
                << "    csim     [" << (k < got.size() ? got[k] : "missing") << "]\n"
                << "    emulator [" << want[k] << "]\n";
        }
    }
    log << "csim " << top << ": " << r.rows << " rows, " << r.mismatches << " mismatches against the emulator"
        << (apDir.empty() ? std::string() : " (ap_* headers from " + apDir + ")") << "\n";
    return r;
}

}  // namespace tachyon::hls
