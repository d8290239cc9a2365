#include "trigger/Firmware.h"

#include "backends/hls/HlsWriter.h"
#include "backends/verilog/VerilogWriter.h"
#include "util/Error.h"

#include <cctype>
#include <cmath>
#include <cstdlib>
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
// activations per element and extra operand (a real multiplier in every backend).
void countMultipliers(const Graph& g, FirmwareView& v) {
    for (const Layer& l : g.layers) {
        if (l.kind == LayerKind::Merge && l.as<MergeAttrs>().op == MergeOp::Multiply) {
            const long long products = (long long)l.outSize() * (long long)(l.inputs.size() - 1);
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
    v.clockNs = m.graph().clockPeriodNs;
    if (backend == "hls") {
        const hls::LatencyEstimate e = hls::estimateLatency(m.graph(), m.emulator());
        v.latencyCycles = e.latency;
        v.iiCycles = e.ii;
        if (e.clockPeriodNs > 0) v.clockNs = e.clockPeriodNs;
    } else {
        // Products by constants are shift-add logic (adders in LUTs); only products of two
        // activations need multipliers.
        const verilog::GeneratedRtl rtl = verilog::generateRtl(m.graph(), m.emulator(), {});
        v.latencyCycles = rtl.latencyCycles;
        v.iiCycles = rtl.streaming ? rtl.intervalCycles : 1;
        v.dspEstimate = v.activationProducts;
        v.lutEstimate = 0;
        for (const auto& a : rtl.adders) v.lutEstimate += a.cseBits;
    }
    v.latencyNs = double(v.latencyCycles) * v.clockNs;
    return v;
}

bool FirmwareView::fits(const Device& dev, std::optional<double> budgetNs) const {
    if (!available) return false;
    if (budgetNs && latencyNs > *budgetNs) return false;
    return dspEstimate <= dev.dsps && lutEstimate <= dev.luts;
}

std::string FirmwareView::verdict(const Device& dev, std::optional<double> budgetNs) const {
    if (!available) return "no firmware estimate (tree ensemble)";
    std::ostringstream os;
    os << "latency " << latencyNs << " ns";
    if (budgetNs) os << (latencyNs <= *budgetNs ? " <= " : " > ") << "budget " << *budgetNs << " ns";
    os << ", II " << iiCycles << " (" << backend << "), ";
    if (lutEstimate >= 0)
        os << "~" << lutEstimate << " adder LUTs of " << dev.luts << (lutEstimate <= dev.luts ? "" : " (too many)") << ", ";
    os << "~" << dspEstimate << " DSP of " << dev.dsps << (dspEstimate <= dev.dsps ? "" : " (too many)") << " on "
       << dev.name;
    return os.str();
}

api::Json FirmwareView::toJson(const Device& dev, std::optional<double> budgetNs) const {
    api::Json j;
    if (!available) {
        j["note"] = "no HLS estimate for tree ensembles";
        return j;
    }
    j["device"] = dev.name;
    j["backend"] = backend;
    if (lutEstimate >= 0) {
        j["lut_estimate"] = lutEstimate;
        j["lut_share"] = double(lutEstimate) / double(dev.luts);
    }
    j["multipliers"] = multipliers;
    j["dsp_estimate"] = dspEstimate;
    j["dsp_share"] = double(dspEstimate) / double(dev.dsps);
    j["device_dsps"] = dev.dsps;
    j["device_luts"] = dev.luts;
    j["device_ffs"] = dev.ffs;
    j["device_bram36"] = dev.bram36;
    j["source"] = backend == "hls"
                      ? "upper-bound estimate: one DSP per non-zero-weight product / ReuseFactor (synthesis maps "
                        "narrow products to LUTs); `tachyon report` on a Verilog project measures LUT/FF/DSP"
                      : "the generated pipeline: LUT bits of its shift-add adders, one DSP per product of two "
                        "activations (none by constants); `tachyon report` measures LUT/FF after synthesis";
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

double parseDurationNs(const std::string& text) {
    return parseWithUnit(text, {{"ns", 1}, {"us", 1e3}, {"ms", 1e6}, {"s", 1e9}}, 1, "--latency-budget");
}

double parseRateHz(const std::string& text) {
    return parseWithUnit(text, {{"Hz", 1}, {"kHz", 1e3}, {"MHz", 1e6}, {"GHz", 1e9}}, 1, "--target-rate");
}

}  // namespace tachyon::trigger
