// `tachyon csim`: builds a generated HLS project's testbench with g++ against the bundled
// ap_fixed/hls_stream headers and compares its outputs with the emulator's.
#include "backends/hls/HlsWriter.h"

#include "util/Error.h"

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace fs = std::filesystem;

namespace tachyon::hls {

namespace {

std::string quote(const fs::path& p) {
    std::string s = "'";
    for (char c : p.string()) s += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return s + "'";
}

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

}  // namespace

CsimResult csim(const std::string& prjDir, std::ostream& log) {
    const fs::path prj = fs::absolute(prjDir);
    nlohmann::json meta;
    {
        std::ifstream f(prj / "tachyon_project.json");
        if (!f) throw Error("csim: " + (prj / "tachyon_project.json").string() + " not found (not a Tachyon project)");
        try {
            f >> meta;
        } catch (const std::exception& e) {
            throw Error("csim: " + (prj / "tachyon_project.json").string() + ": " + e.what());
        }
    }
    if (meta.value("backend", "") != "hls")
        throw Error("csim: " + prj.string() + " is not an HLS project (backend '" + meta.value("backend", "") + "')");
    const std::string top = meta.value("top", "myproject");

    const fs::path build = prj / "csim";
    fs::create_directories(build);
    const fs::path exe = build / (top + "_csim");
    const char* cxx = std::getenv("CXX");
    std::ostringstream cmd;
    cmd << (cxx && *cxx ? cxx : "g++") << " -std=c++14 -O1 -Wno-unknown-pragmas -I" << quote(prj / "include") << " -I" << quote(prj / "firmware")
        << " " << quote(prj / "firmware" / (top + ".cpp")) << " " << quote(prj / (top + "_test.cpp")) << " -o "
        << quote(exe) << " > " << quote(build / "compile.log") << " 2>&1";
    if (std::system(cmd.str().c_str()) != 0)
        throw Error("csim: compiling " + prj.string() + " failed:\n" + tail(build / "compile.log", 3000));

    std::ostringstream run;
    run << "cd " << quote(prj) << " && " << quote(exe) << " tb_data > " << quote(build / "run.log") << " 2>&1";
    const int rc = std::system(run.str().c_str());
    const auto got = lines(prj / "tb_data/csim_raw.dat");
    const auto want = lines(prj / "tb_data/expected_raw.dat");
    if (rc != 0 && got.empty())
        throw Error("csim: the testbench of " + prj.string() + " failed:\n" + tail(build / "run.log", 3000));

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
    log << "csim " << top << ": " << r.rows << " rows, " << r.mismatches << " mismatches against the emulator\n";
    return r;
}

}  // namespace tachyon::hls
