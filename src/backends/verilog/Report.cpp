// `tachyon report`: Yosys synthesis for UltraScale+ and the resource summary.
#include "backends/verilog/VerilogWriter.h"
#include "backends/verilog/Timing.h"

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
        if (!inStat) continue;
        if (!std::regex_match(line, m, cell)) {
            if (line.find_first_not_of(" \t") != std::string::npos && line.find("Chip area") == std::string::npos) {
                inStat = false;
                r = cur;
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
        else if (t.rfind("SRL", 0) == 0) cur.srls += n;    // shift registers in LUTs (delay lines)
        else if (t.rfind("MUXF", 0) == 0) cur.muxes += n;
    }
    if (inStat) r = cur;
    return r;
}

std::string adderTable(const std::vector<LayerAdders>& adders) {
    if (adders.empty()) return "";
    std::ostringstream os;
    os << "shift-add adders per layer (two-input adders and their estimated LUT bits; CSD-only = the same\n"
          "CSD terms summed per output, nothing shared):\n";
    char buf[200];
    LayerAdders total{"total"};
    auto row = [&](const LayerAdders& a) {
        std::snprintf(buf, sizeof buf, "  %-24s %7d CSE (%8lld bits)  %7d CSD-only (%8lld bits)\n", a.layer.c_str(),
                      a.cse, (long long)a.cseBits, a.csdOnly, (long long)a.csdOnlyBits);
        os << buf;
    };
    for (const LayerAdders& a : adders) {
        row(a);
        total.cse += a.cse;
        total.csdOnly += a.csdOnly;
        total.cseBits += a.cseBits;
        total.csdOnlyBits += a.csdOnlyBits;
    }
    row(total);
    return os.str();
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
           << "write_json " << (dir / "netlist.json").string() << "\n";
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
    for (const char* f : {"stat.txt"}) {
        std::ifstream in(dir / f);
        all << in.rdbuf() << "\n";
    }
    if (rc != 0 || !fs::exists(dir / "stat.txt"))
        throw Error("report: yosys failed on " + prj.string() + ", see " + (dir / "yosys.log").string());
    SynthReport r = parseYosysLog(all.str());
    {
        log << "report: register-to-register timing from " << (dir / "netlist.json").string() << std::endl;
        std::ifstream nj(dir / "netlist.json");
        nlohmann::json netlist;
        try {
            netlist = nlohmann::json::parse(nj);
        } catch (const nlohmann::json::exception& e) {
            throw Error((dir / "netlist.json").string() + ": cannot read Yosys' netlist: " + e.what());
        }
        r.timing = analyseTiming(netlist, top);
        r.logicLevels = r.timing.worst.levels;
    }
    // Tens to hundreds of MB; yosys.log and synth.ys remake it.
    fs::remove(dir / "netlist.json");
    if (j.contains("stage_estimates_ns")) r.stageEstimatesNs = j["stage_estimates_ns"].get<std::vector<double>>();
    if (j.contains("cmvm_adders"))
        for (const auto& a : j["cmvm_adders"])
            r.adders.push_back({a.value("layer", std::string()), a.value("cse", 0), a.value("csd_only", 0),
                                a.value("cse_bits", int64_t(0)), a.value("csd_only_bits", int64_t(0))});
    r.latencyCycles = j.value("latency_cycles", 0);
    r.clockNs = j.value("clock_period_ns", 5.0);
    return r;
}

}  // namespace tachyon::verilog
