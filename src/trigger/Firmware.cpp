#include "trigger/Firmware.h"

#include "backends/ProjectManifest.h"
#include "backends/hls/HlsWriter.h"
#include "backends/verilog/VerilogWriter.h"
#include "util/Error.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace tachyon::trigger {

const Device& deviceByName(const std::string& name) {
    static const Device devices[] = {
        {"VU9P", 1182240, 2364480, 6840, 2160},
        {"VU13P", 1728000, 3456000, 12288, 2688},
        {"KU15P", 522720, 1045440, 1968, 984},
    };
    std::string upper;
    for (char c : name) upper += char(std::toupper(static_cast<unsigned char>(c)));
    std::string known;
    for (const Device& d : devices) {
        if (d.name == upper) return d;
        known += (known.empty() ? "" : ", ") + d.name;
    }
    throw Error("--device: unknown device '" + name + "' (known: " + known + ")");
}

namespace {

// Products per sample: in Dense and Conv layers, non-zero weights x output positions (by
// constants: shift-adds in the Verilog backend); in Multiply merges, one product of two
// activations per element and extra operand, in Pow layers k - 1 per element (a real
// multiplier in every backend).
void countMultipliers(const Graph& g, FirmwareView& v) {
    for (const Layer& l : g.layers) {
        if (l.kind == LayerKind::Merge && l.as<MergeAttrs>().op == MergeOp::Multiply) {
            const long long products = (long long)l.outSize() * (long long)(l.inputs.size() - 1);
            v.multipliers += products;
            v.activationProducts += products;
            v.dspEstimate += products;
            continue;
        }
        if (l.kind == LayerKind::Pow) {   // k - 1 products of activations per element
            const long long products = (long long)l.outSize() * (long long)(l.as<PowAttrs>().exponent - 1);
            v.multipliers += products;
            v.activationProducts += products;
            v.dspEstimate += products;
            continue;
        }
        if ((l.kind != LayerKind::Dense && l.kind != LayerKind::Conv) || !l.params.count("weight")) continue;
        long long nonZero = 0;
        for (double w : l.params.at("weight")) nonZero += w != 0.0;
        // Every output position (Conv) or leading index (N-D Dense) repeats the products.
        const long long positions = l.shape.empty() || l.shape.back() == 0 ? 1 : l.outSize() / l.shape.back();
        const long long products = nonZero * positions;
        v.multipliers += products;
        const bool binary = l.hasType("weight") && l.type("weight").width <= 1;
        if (!binary) v.dspEstimate += (products + l.schedule.reuseFactor - 1) / l.schedule.reuseFactor;
    }
}

}  // namespace

FirmwareView firmwareView(const api::Model& m, const std::string& backend) {
    FirmwareView v;
    v.backend = backend;
    if (backend != "hls" && backend != "verilog")
        throw Error("--backend: expected hls or verilog, got '" + backend + "'");
    if (m.isTree()) return v;
    v.available = true;
    countMultipliers(m.graph(), v);
    const Target target = m.target();
    v.clockNs = target.clockPeriodNs;
    if (backend == "hls") {
        const hls::LatencyEstimate e = hls::estimateLatency(m.graph(), m.emulator().lowered(), target);
        v.latencyCycles = e.latency;
        v.iiCycles = e.ii;
        if (e.clockPeriodNs > 0) v.clockNs = e.clockPeriodNs;
    } else {
        // Products by constants are shift-add logic (adders in LUTs); only products of two
        // activations need multipliers.
        verilog::VerilogOptions opt;
        opt.target = target;
        const verilog::GeneratedRtl rtl = verilog::generateRtl(m.graph(), m.emulator().lowered(), opt);
        v.latencyCycles = rtl.latencyCycles;
        v.iiCycles = rtl.streaming ? rtl.intervalCycles : 1;
        v.dspEstimate = v.activationProducts;
        v.lutEstimate = 0;
        for (const auto& a : rtl.adders) v.lutEstimate += a.cseBits;
    }
    v.latencyNs = double(v.latencyCycles) * v.clockNs;
    return v;
}

MeasuredResources readMeasuredResources(const std::string& prjDir, const api::Model& m) {
    const std::string where = "report " + prjDir;
    if (m.isTree()) throw Error(where + ": measured resources are read for networks only (this model is a tree ensemble)");
    const backend::ProjectManifest p = backend::readProjectManifest(prjDir, "trigger --report", /*requireRtl=*/true);
    if (p.backend != "verilog")
        throw Error(where + ": not a Verilog project (backend '" + p.backend + "'; make one with convert -b verilog)");
    // The project must be this model as configured: same interface and types.
    const Graph& g = m.graph();
    const auto expect = [&](const char* key, const api::Json& want) {
        if (!p.json.contains(key) || p.json[key] != want)
            throw Error(where + ": made from another model or configuration: " + key + " is " +
                        (p.json.contains(key) ? p.json[key].dump() : std::string("missing")) + ", the menu's model has " +
                        want.dump());
    };
    expect("inputs", g.inputSize());
    expect("outputs", g.outputSize());
    expect("input_type", g.input().type("result").str());
    expect("output_type", g.output().type("result").str());
    // And the same circuit: the RTL this model generates with the project's options, all but
    // the first comment line (it names the model file by the path convert was given).
    verilog::VerilogOptions opt;
    opt.projectName = p.top;
    opt.target = m.target();
    opt.cmvm = p.json.value("cmvm", opt.cmvm);
    opt.stages = p.json.value("stages", opt.stages);
    const std::string expected = verilog::generateRtl(g, m.emulator().lowered(), opt).verilog;
    const std::filesystem::path rtlFile = p.dir / p.rtlFiles.at(0);
    std::ifstream rtlIn(rtlFile);
    std::stringstream rtl;
    rtl << rtlIn.rdbuf();
    const auto body = [](const std::string& v) { return v.substr(std::min(v.size(), v.find('\n') + 1)); };
    if (!rtlIn || body(rtl.str()) != body(expected))
        throw Error(where + ": made from another model or configuration: " + rtlFile.string() +
                    " is not the RTL the menu's model generates (convert it again, then run `tachyon report`)");
    const std::filesystem::path stat = p.dir / "synth" / "stat.txt";
    std::ifstream in(stat);
    if (!in) throw Error(where + ": no synthesis report " + stat.string() + " (run `tachyon report " + prjDir + "` first)");
    std::stringstream text;
    text << in.rdbuf();
    const verilog::SynthReport r = verilog::parseYosysLog(text.str());
    if (r.luts + r.ffs + r.srls + r.carry == 0)
        throw Error(where + ": " + stat.string() + " lists no cells (an interrupted `tachyon report`? run it again)");
    MeasuredResources mr;
    mr.project = prjDir;
    mr.luts = r.luts;
    mr.srls = r.srls;
    mr.ffs = r.ffs;
    mr.carry = r.carry;
    mr.dsps = r.dsps;
    mr.brams = r.brams;
    mr.latencyCycles = p.json.value("latency_cycles", 0LL);
    mr.iiCycles = p.json.value("interval_cycles", 1LL);
    mr.clockNs = p.json.value("clock_period_ns", m.target().clockPeriodNs);
    return mr;
}

FirmwareView firmwareView(const api::Model& m, const MeasuredResources& measured) {
    FirmwareView v;
    v.backend = "verilog";
    v.available = true;
    countMultipliers(m.graph(), v);
    v.measured = measured;
    v.latencyCycles = measured.latencyCycles;
    v.iiCycles = measured.iiCycles;
    v.clockNs = measured.clockNs;
    v.latencyNs = double(v.latencyCycles) * v.clockNs;
    v.dspEstimate = measured.dsps;
    v.lutEstimate = measured.lutTotal();
    return v;
}

bool FirmwareView::fits(const Device& dev, std::optional<double> budgetNs) const {
    if (!available) return false;
    if (budgetNs && latencyNs > *budgetNs) return false;
    if (measured)
        return measured->lutTotal() <= dev.luts && measured->ffs <= dev.ffs && measured->dsps <= dev.dsps &&
               measured->brams <= dev.bram36;
    return dspEstimate <= dev.dsps && lutEstimate <= dev.luts;
}

std::string FirmwareView::verdict(const Device& dev, std::optional<double> budgetNs) const {
    if (!available) return "no firmware estimate (tree ensemble)";
    std::ostringstream os;
    os << "latency " << latencyNs << " ns";
    if (budgetNs) os << (latencyNs <= *budgetNs ? " <= " : " > ") << "budget " << *budgetNs << " ns";
    os << ", II " << iiCycles << " (" << backend << "), ";
    if (measured) {
        const MeasuredResources& r = *measured;
        const auto share = [&](long long used, long long of) { return used <= of ? "" : " (too many)"; };
        os << "measured " << r.lutTotal() << " LUT of " << dev.luts << share(r.lutTotal(), dev.luts) << ", " << r.ffs
           << " FF of " << dev.ffs << share(r.ffs, dev.ffs) << ", " << r.dsps << " DSP of " << dev.dsps
           << share(r.dsps, dev.dsps) << " on " << dev.name;
        return os.str();
    }
    if (lutEstimate >= 0)
        os << "~" << lutEstimate << " adder LUTs of " << dev.luts << (lutEstimate <= dev.luts ? "" : " (too many)") << ", ";
    os << "~" << dspEstimate << " DSP of " << dev.dsps << (dspEstimate <= dev.dsps ? "" : " (too many)") << " on "
       << dev.name;
    return os.str();
}

namespace {

// The resources of a synthesised project, labelled as measured.
api::Json measuredJson(const MeasuredResources& r, const Device& dev, std::optional<double> budgetNs,
                       long long multipliers) {
    api::Json j;
    j["device"] = dev.name;
    j["backend"] = "verilog";
    j["measured"] = true;
    j["project"] = r.project;
    j["luts"] = r.lutTotal();
    j["luts_logic"] = r.luts;
    j["srls"] = r.srls;
    j["ffs"] = r.ffs;
    j["carry"] = r.carry;
    j["dsps"] = r.dsps;
    j["brams"] = r.brams;
    j["lut_share"] = double(r.lutTotal()) / double(dev.luts);
    j["ff_share"] = double(r.ffs) / double(dev.ffs);
    j["dsp_share"] = double(r.dsps) / double(dev.dsps);
    j["bram_share"] = double(r.brams) / double(dev.bram36);
    j["multipliers"] = multipliers;
    j["device_dsps"] = dev.dsps;
    j["device_luts"] = dev.luts;
    j["device_ffs"] = dev.ffs;
    j["device_bram36"] = dev.bram36;
    j["source"] = "measured: Yosys synth_xilinx -family xcup -nodsp -nowidelut (`tachyon report`) on " + r.project +
                  " (synth/stat.txt; LUTs include shift-register LUTs); latency and II from its tachyon_project.json";
    if (budgetNs) j["latency_budget_ns"] = *budgetNs;
    return j;
}

}  // namespace

api::Json FirmwareView::toJson(const Device& dev, std::optional<double> budgetNs) const {
    api::Json j;
    if (!available) {
        j["note"] = "no HLS estimate for tree ensembles";
        return j;
    }
    j["device"] = dev.name;
    j["backend"] = backend;
    if (measured) return measuredJson(*measured, dev, budgetNs, multipliers);
    if (lutEstimate >= 0) {
        j["lut_estimate"] = lutEstimate;
        j["lut_share"] = double(lutEstimate) / double(dev.luts);
    }
    j["measured"] = false;
    j["multipliers"] = multipliers;
    j["dsp_estimate"] = dspEstimate;
    j["dsp_share"] = double(dspEstimate) / double(dev.dsps);
    j["device_dsps"] = dev.dsps;
    j["device_luts"] = dev.luts;
    j["device_ffs"] = dev.ffs;
    j["device_bram36"] = dev.bram36;
    j["source"] = backend == "hls"
                      ? "upper-bound estimate: one DSP per non-zero-weight product / ReuseFactor (synthesis maps "
                        "narrow products to LUTs); for measured LUT/FF/DSP give the algorithm `report:` a Verilog "
                        "project that `tachyon report` synthesised"
                      : "estimate from the generated pipeline: LUT bits of its shift-add adders, one DSP per product "
                        "of two activations (none by constants); for measured LUT/FF give the algorithm `report:` "
                        "a Verilog project that `tachyon report` synthesised";
    if (budgetNs) j["latency_budget_ns"] = *budgetNs;
    return j;
}

namespace {

// A number followed by one of `units` (name -> factor); a bare number takes `bare`.
double parseWithUnit(const std::string& text, const std::vector<std::pair<std::string, double>>& units, double bare,
                     const std::string& what) {
    const char* begin = text.c_str();
    char* end = nullptr;
    const double v = std::strtod(begin, &end);
    if (end == begin || !std::isfinite(v) || v < 0) throw Error(what + ": '" + text + "' is not a non-negative number");
    std::string unit(end);
    while (!unit.empty() && std::isspace(static_cast<unsigned char>(unit.front()))) unit.erase(0, 1);
    if (unit.empty()) return v * bare;
    for (const auto& [name, factor] : units)
        if (unit == name) return v * factor;
    std::string known;
    for (const auto& u : units) known += (known.empty() ? "" : ", ") + u.first;
    throw Error(what + ": '" + text + "': unknown unit '" + unit + "' (" + known + ")");
}

}  // namespace

double parseDurationNs(const std::string& text, const std::string& what) {
    return parseWithUnit(text, {{"ns", 1}, {"us", 1e3}, {"ms", 1e6}, {"s", 1e9}}, 1, what);
}

double parseRateHz(const std::string& text, const std::string& what) {
    return parseWithUnit(text, {{"Hz", 1}, {"kHz", 1e3}, {"MHz", 1e6}, {"GHz", 1e9}}, 1, what);
}

double parseLatencyBudgetNs(const std::string& text) {
    constexpr double kPhase2L1Ns = 12.5e3;   // CMS/ATLAS Phase-2 Level-1 trigger latency
    return text == "phase2" ? kPhase2L1Ns : parseDurationNs(text, "--latency-budget");
}

}  // namespace tachyon::trigger
