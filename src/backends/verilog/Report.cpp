// `tachyon report`: Yosys synthesis for UltraScale+ and the resource summary.
#include "backends/verilog/VerilogWriter.h"
#include "backends/verilog/Timing.h"

#include "backends/ProjectManifest.h"
#include "util/Error.h"
#include "util/Process.h"

#include <nlohmann/json.hpp>

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
    const backend::ProjectManifest m = backend::readProjectManifest(prjDir, "report", /*requireRtl=*/true);
    const nlohmann::json& j = m.json;
    const std::string& top = m.top;
    const fs::path& prj = m.dir;

    const fs::path dir = prj / "synth";
    fs::create_directories(dir);
    {
        // Yosys runs in the project folder and the script names files relative to it:
        // only checked names (readProjectManifest) reach it, never the folder's own name.
        std::ofstream ys(dir / "synth.ys");
        for (const std::string& f : m.rtlFiles) ys << "read_verilog " << f << "\n";
        // No DSPs: the constant products are shift-add logic by design; the naive
        // variant is synthesised the same way so the two compare like for like.
        // No wide LUTs (LUT6 + MUXF7/8/9): ABC prices a LUT7-9 as one level, the same as a
        // LUT6, so with them it folds a bit heap's counter levels into 8-LUT cones that are
        // both slower and bigger (docs/verilog.md, "Timing").
        ys << "synth_xilinx -family xcup -nodsp -nowidelut -flatten -top " << top << "\n"
           << "tee -o synth/stat.txt stat\n"
           << "write_json synth/netlist.json\n";
        ys.close();
        if (!ys) throw Error((dir / "synth.ys").string() + ": cannot write file (disk full?)");
    }
    log << "report: yosys synth_xilinx -family xcup -nodsp -nowidelut on " << top << " (log: " << (dir / "yosys.log").string()
        << ")" << std::endl;
    fs::remove(dir / "stat.txt");
    const auto t0 = std::chrono::steady_clock::now();
    // Progress: the steps Yosys has started, read from its log while it runs.
    std::ifstream progress;
    std::string partial;
    static const std::regex step(R"(^(\d+\.\d+)\. Executing (.*)$)");
    util::ProcessOptions opt;
    opt.cwd = prj.string();
    opt.logFile = (dir / "yosys.log").string();
    opt.heartbeat = [&] {
        if (!progress.is_open()) progress.open(opt.logFile);
        progress.clear();
        char buf[65536];
        while (progress.read(buf, sizeof buf) || progress.gcount() > 0) partial.append(buf, size_t(progress.gcount()));
        for (size_t nl; (nl = partial.find('\n')) != std::string::npos; partial.erase(0, nl + 1)) {
            std::smatch sm;
            const std::string line = partial.substr(0, nl);
            if (std::regex_match(line, sm, step)) {
                const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
                char t[32];
                std::snprintf(t, sizeof t, "[%6.1fs] ", s);
                log << "report: " << t << sm[2] << std::endl;
            }
        }
    };
    const util::ProcessResult ran = util::runProcess({"yosys", "-s", "synth/synth.ys"}, opt);
    std::stringstream all;
    for (const char* f : {"stat.txt"}) {
        std::ifstream in(dir / f);
        all << in.rdbuf() << "\n";
    }
    if (!ran.succeeded() || !fs::exists(dir / "stat.txt"))
        throw Error("report: yosys failed on " + prj.string() + " (" + util::describeOutcome(ran, opt) + "), see " +
                    (dir / "yosys.log").string());
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
