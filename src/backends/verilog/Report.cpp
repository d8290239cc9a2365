// `tachyon report`: Yosys synthesis for UltraScale+ and the resource summary.
#include "backends/verilog/VerilogWriter.h"

#include "util/Error.h"

#include <nlohmann/json.hpp>

#include <array>
#include <chrono>
#include <cstdlib>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

namespace fs = std::filesystem;

namespace tachyon::verilog {

SynthReport parseYosysLog(const std::string& text) {
    SynthReport r;
    // `stat` lists "     <cell type>   <count>"; the last listing is the flattened top.
    static const std::regex cell(R"(^\s+([A-Za-z0-9_$]+)\s+(\d+)\s*$)");
    static const std::regex ltp(R"(Longest topological path in \S+ \(length=(\d+)\))");
    static const std::regex statHeader(R"(Number of cells:)");
    std::istringstream is(text);
    std::string line;
    SynthReport cur;
    bool inStat = false;
    for (std::smatch m; std::getline(is, line);) {
        if (std::regex_search(line, statHeader)) {
            cur = SynthReport{};
            inStat = true;
            continue;
        }
        if (std::regex_search(line, m, ltp)) {
            r.logicLevels = std::stoi(m[1]);
            continue;
        }
        if (!inStat) continue;
        if (!std::regex_match(line, m, cell)) {
            if (line.find_first_not_of(" \t") != std::string::npos && line.find("Chip area") == std::string::npos) {
                inStat = false;
                r.luts = cur.luts, r.ffs = cur.ffs, r.carry = cur.carry, r.dsps = cur.dsps, r.brams = cur.brams;
            }
            continue;
        }
        const int n = std::stoi(m[2]);
        const std::string t = m[1];
        if (t.rfind("LUT", 0) == 0 || t == "INV") cur.luts += n;  // an INV cell is a LUT1
        else if (t.rfind("FD", 0) == 0) cur.ffs += n;
        else if (t.rfind("CARRY", 0) == 0) cur.carry += n;
        else if (t.rfind("DSP", 0) == 0) cur.dsps += n;
        else if (t.rfind("RAMB", 0) == 0) cur.brams += n;
    }
    if (inStat) r.luts = cur.luts, r.ffs = cur.ffs, r.carry = cur.carry, r.dsps = cur.dsps, r.brams = cur.brams;
    return r;
}

SynthReport report(const std::string& prjDir, std::ostream& log) {
    const fs::path prj = fs::absolute(prjDir);
    std::ifstream is(prj / "tachyon_project.json");
    if (!is) throw Error((prj / "tachyon_project.json").string() + ": not found (is " + prjDir + " a Tachyon project?)");
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(is);
    } catch (const nlohmann::json::exception& e) {
        throw Error((prj / "tachyon_project.json").string() + ": " + e.what());
    }
    if (!j.contains("top") || !j.contains("rtl_files"))
        throw Error((prj / "tachyon_project.json").string() + ": needs 'top' and 'rtl_files' (a Verilog project)");
    const std::string top = j["top"].get<std::string>();

    const fs::path dir = prj / "synth";
    fs::create_directories(dir);
    {
        std::ofstream ys(dir / "synth.ys");
        for (const auto& f : j["rtl_files"]) ys << "read_verilog " << (prj / f.get<std::string>()).string() << "\n";
        // No DSPs: the constant products are shift-add logic by design; the naive
        // variant is synthesised the same way so the two compare like for like.
        ys << "synth_xilinx -family xcup -nodsp -flatten -top " << top << "\n"
           << "tee -o " << (dir / "stat.txt").string() << " stat\n"
           << "tee -o " << (dir / "ltp.txt").string() << " ltp -noff\n";
    }
    log << "report: yosys synth_xilinx -family xcup -nodsp on " << top << " (log: " << (dir / "yosys.log").string()
        << ")" << std::endl;
    const auto t0 = std::chrono::steady_clock::now();
    const std::string cmd = "cd '" + dir.string() + "' && yosys -s synth.ys 2>&1; echo TACHYON_YOSYS_RC=$?";
    FILE* p = popen(cmd.c_str(), "r");
    if (!p) throw Error("report: cannot start yosys");
    static const std::regex step(R"(^(\d+\.\d+)\. Executing (.*)$)");
    std::array<char, 4096> buf;
    std::string line;
    std::ofstream yosysLog(dir / "yosys.log");
    int rc = -1;
    while (fgets(buf.data(), int(buf.size()), p)) {
        line += buf.data();
        if (line.empty() || line.back() != '\n') continue;
        line.pop_back();
        if (line.rfind("TACHYON_YOSYS_RC=", 0) == 0) rc = std::atoi(line.c_str() + 17);
        else yosysLog << line << "\n";
        std::smatch m;
        if (std::regex_match(line, m, step)) {
            const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
            char t[32];
            std::snprintf(t, sizeof t, "[%6.1fs] ", s);
            log << "report: " << t << m[2] << std::endl;
        }
        line.clear();
    }
    pclose(p);
    std::stringstream all;
    for (const char* f : {"stat.txt", "ltp.txt"}) {
        std::ifstream in(dir / f);
        all << in.rdbuf() << "\n";
    }
    if (rc != 0 || !fs::exists(dir / "stat.txt"))
        throw Error("report: yosys failed on " + prj.string() + ", see " + (dir / "yosys.log").string());
    SynthReport r = parseYosysLog(all.str());
    r.latencyCycles = j.value("latency_cycles", 0);
    r.clockNs = j.value("clock_period_ns", 5.0);
    return r;
}

}  // namespace tachyon::verilog
