// Predictions with their warnings: overflow counts per layer, non-finite inputs, and the
// fidelity check (a float shadow run of the first rows against the fixed-point result).
// Warnings are returned as data; the front ends decide how to show them.
#include "api/Api.h"

#include "util/Error.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <map>
#include <optional>
#include <sstream>

namespace tachyon::api {

const char* kindName(PredictWarning::Kind k) {
    switch (k) {
    case PredictWarning::Kind::Overflow: return "overflow";
    case PredictWarning::Kind::NonFinite: return "nonfinite";
    case PredictWarning::Kind::Fidelity: return "fidelity";
    }
    return "?";
}

namespace {

std::string percent(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f%%", 100.0 * v);
    return buf;
}

std::string number(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3g", v);
    return buf;
}

void addOverflowWarnings(PredictReport& rep) {
    for (const LayerStats& s : rep.stats) {
        if (s.resultOverflows + s.accumOverflows == 0) continue;
        PredictWarning w;
        w.kind = PredictWarning::Kind::Overflow;
        w.layer = s.layer;
        w.count = s.resultOverflows + s.accumOverflows;
        std::ostringstream m;
        m << "layer '" << s.layer << "': ";
        if (s.resultOverflows) m << s.resultOverflows << " of " << s.values << " results";
        if (s.resultOverflows && s.accumOverflows) m << " and ";
        if (s.accumOverflows) m << s.accumOverflows << " accumulator values";
        m << " saturated or wrapped (its types are too narrow for these inputs; see m.profile(x) or "
             "`tachyon profile`)";
        w.message = m.str();
        rep.warnings.push_back(w);
    }
}

void addNonFiniteWarning(PredictReport& rep, bool floatMode) {
    if (!rep.nonFinite.total()) return;
    PredictWarning w;
    w.kind = PredictWarning::Kind::NonFinite;
    w.count = rep.nonFinite.total();
    w.message = "input: " + rep.nonFinite.describe() +
                (floatMode ? "; their rows' outputs are NaN or infinite"
                           : "; fixed point has no NaN/Inf: NaN was cast to 0 and Inf to the largest value "
                             "(saturated or wrapped)");
    rep.warnings.push_back(w);
}

// The layer whose output's relative error grows most over its input's: where the
// precision is lost. Returns its name and error.
std::pair<std::string, double> worstLayer(const Graph& g, const Emulator& emu, const double* x, size_t rows) {
    const auto fixed = emu.traceFixed(x, rows);
    const auto ref = emu.traceFloat(x, rows);
    std::map<std::string, double> err;
    std::string worst;
    double worstGrowth = -INFINITY, worstErr = 0;
    for (size_t k = 0; k < g.layers.size() && k < fixed.size(); ++k) {
        const Layer& l = g.layers[k];
        const double e = relativeError(fixed[k].data(), ref[k].data(), std::min(fixed[k].size(), ref[k].size()));
        err[l.name] = e;
        double before = 0;
        if (l.kind != LayerKind::Input) {
            auto it = err.find(l.input());
            if (it != err.end()) before = it->second;
        }
        const double growth = e - before;
        if (growth > worstGrowth) {
            worstGrowth = growth;
            worst = l.name;
            worstErr = e;
        }
    }
    return {worst, worstErr};
}

// The fidelity check behind Model::run and the CLI's predict: the first kFidelityRows rows
// with finite inputs run again in float (`runFloat`) and are compared with their fixed-point
// outputs; `worst` (networks) names the layer that loses the precision.
using FloatRun = std::function<void(const double* x, size_t rows, double* out)>;
using WorstLayer = std::function<std::pair<std::string, double>(const double* x, size_t rows)>;

std::optional<PredictWarning> fidelity(const double* x, size_t rows, const double* out, size_t nIn, size_t nOut,
                                       const FloatRun& runFloat, const WorstLayer& worst, PredictReport* rep) {
    std::vector<double> xs, fixed;
    for (size_t r = 0; r < rows && xs.size() < kFidelityRows * nIn; ++r) {
        const double* row = x + r * nIn;
        if (!std::all_of(row, row + nIn, [](double v) { return std::isfinite(v); })) continue;
        xs.insert(xs.end(), row, row + nIn);
        fixed.insert(fixed.end(), out + r * nOut, out + (r + 1) * nOut);
    }
    const size_t n = nIn ? xs.size() / nIn : 0;
    if (n == 0) return std::nullopt;
    std::vector<double> ref(n * nOut);
    runFloat(xs.data(), n, ref.data());
    const bool classifier = nOut > 1;
    const double metric =
        classifier ? agreement(fixed.data(), ref.data(), n, nOut) : relativeError(fixed.data(), ref.data(), n * nOut);
    if (rep) {
        rep->classifier = classifier;
        rep->fidelity = metric;
        rep->fidelityRows = n;
    }
    const bool poor = classifier ? metric < kMinAgreement : !(metric <= kMaxRelativeError);
    if (!poor) return std::nullopt;
    PredictWarning w;
    w.kind = PredictWarning::Kind::Fidelity;
    w.count = n;
    std::string text = classifier ? "fixed point agrees with float on the argmax of " + percent(metric) +
                                        " of the first " + std::to_string(n) + " rows (below " +
                                        percent(kMinAgreement) + ")"
                                  : "fixed point differs from float by a relative error of " + number(metric) +
                                        " on the first " + std::to_string(n) + " rows (above " +
                                        number(kMaxRelativeError) + ")";
    if (worst) {
        const auto [layer, e] = worst(xs.data(), n);
        w.layer = layer;
        text += "; the error grows most at layer '" + layer + "' (relative error " + number(e) + " there)";
    }
    w.message = text + ". Choose types from calibration data: `tachyon config MODEL --auto-precision X.npy` "
                       "(Python: m.auto_precision(x))";
    return w;
}

FloatRun networkFloat(const Emulator& emu) {
    return [&emu](const double* x, size_t rows, double* out) {
        EmulatorOptions o;
        o.threads = 1;
        emu.runFloat(x, rows, out, o);
    };
}

WorstLayer networkWorst(const Graph& g, const Emulator& emu) {
    return [&g, &emu](const double* x, size_t rows) { return worstLayer(g, emu, x, rows); };
}

}  // namespace

std::optional<PredictWarning> fidelityWarning(const Graph& g, const Emulator& emu, const double* x, size_t rows,
                                              const double* out) {
    return fidelity(x, rows, out, size_t(emu.inputSize()), size_t(emu.outputSize()), networkFloat(emu),
                    networkWorst(g, emu), nullptr);
}

void Model::checkFidelity(const double* x, size_t rows, const double* out, PredictReport& rep) const {
    const size_t nIn = size_t(inputSize()), nOut = size_t(outputSize());
    std::optional<PredictWarning> w =
        fidelity(x, rows, out, nIn, nOut, networkFloat(*emu_), networkWorst(*graph_, *emu_), &rep);
    if (w) rep.warnings.push_back(*w);
}

PredictReport Model::run(const double* x, size_t rows, double* out, const PredictOptions& opt) const {
    PredictReport rep;
    const size_t nIn = size_t(inputSize()), nOut = size_t(outputSize());
    const size_t block = std::max<size_t>(opt.blockRows, 1);
    std::vector<LayerStats> stats;
    for (size_t done = 0; done < rows;) {
        const size_t n = std::min(block, rows - done);
        rep.nonFinite.add(x + done * nIn, n, nIn, done);
        predict(x + done * nIn, n, out + done * nOut, opt.floatMode, opt.threads,
                opt.floatMode ? nullptr : &stats);
        if (!opt.floatMode) accumulate(rep.stats, stats);
        done += n;
        if (opt.betweenBlocks) opt.betweenBlocks();
    }
    addNonFiniteWarning(rep, opt.floatMode);
    addOverflowWarnings(rep);
    if (!opt.floatMode && opt.checkFidelity) checkFidelity(x, rows, out, rep);
    return rep;
}

}  // namespace tachyon::api
