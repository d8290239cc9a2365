// Profiling: float ranges of every layer's parameters, accumulators and outputs on
// calibration data, set against the configured fixed-point types (hls4ml's
// `hls4ml.model.profiling.numerical`, computed by the library so the CLI and Python share it).
#include "api/Api.h"

#include "ir/TreeEnsemble.h"
#include "util/AtomicOutput.h"
#include "util/Error.h"
#include "util/Json.h"
#include "util/Process.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>

namespace fs = std::filesystem;

namespace tachyon::api {

namespace {

// Running statistics of one variable; log2|v| samples are kept up to a cap for the quantiles.
struct Acc {
    static constexpr size_t kMaxSamples = size_t(1) << 20;
    uint64_t count = 0, zeros = 0, overflow = 0, belowLsb = 0;
    double mn = INFINITY, mx = -INFINITY;
    std::vector<float> log2s;
    const FixedType* type = nullptr;
    size_t stride = 1, seen = 0;

    void add(double v) {
        ++count;
        mn = std::min(mn, v);
        mx = std::max(mx, v);
        if (v == 0) {
            ++zeros;
            return;
        }
        const double a = std::fabs(v);
        if (type) {
            if (v > type->maxValue() || v < type->minValue()) ++overflow;
            else if (a < type->lsb()) ++belowLsb;
        }
        if (seen++ % stride == 0) {
            log2s.push_back(float(std::log2(a)));
            if (log2s.size() >= kMaxSamples) {   // keep every other sample from now on
                std::vector<float> half;
                for (size_t k = 0; k < log2s.size(); k += 2) half.push_back(log2s[k]);
                log2s.swap(half);
                stride *= 2;
            }
        }
    }
    void addRange(double v) {   // min/max only (partial sums)
        mn = std::min(mn, v);
        mx = std::max(mx, v);
        if (type && (v > type->maxValue() || v < type->minValue())) ++overflow;
    }

    VarProfile finish(const std::string& var) {
        VarProfile p;
        p.var = var;
        if (type) {
            p.type = type->str();
            p.typeMin = type->minValue();
            p.typeMax = type->maxValue();
            p.lsb = type->lsb();
        }
        p.count = count;
        p.zeros = zeros;
        p.min = count ? mn : 0;
        p.max = count ? mx : 0;
        p.overflow = overflow;
        p.belowLsb = belowLsb;
        if (!log2s.empty()) {
            std::sort(log2s.begin(), log2s.end());
            auto q = [&](double f) { return double(log2s[size_t(f * double(log2s.size() - 1) + 0.5)]); };
            p.log2q[0] = log2s.front();
            p.log2q[1] = q(0.25);
            p.log2q[2] = q(0.5);
            p.log2q[3] = q(0.75);
            p.log2q[4] = log2s.back();
        }
        return p;
    }
};

size_t sizeOf(const Shape& s) {
    size_t n = 1;
    for (int d : s) n *= size_t(d);
    return n;
}

// Every partial sum of a MAC layer (bias first, then inputs in order), in float: its
// range goes to `partial`, the final sums (pre-activation) to `final`.
// `window`: the layer's lowered windows (LayerConstants::window; empty for a Dense).
void macSums(const Graph& g, const Layer& l, const std::vector<int>& win, const double* in, size_t rows, Acc& partial) {
    const auto& w = l.param("weight");
    const auto& b = l.param("bias");
    const Shape& inShape = g.at(l.input()).shape;
    const size_t inSize = sizeOf(inShape);
    auto run = [&](const double* x, const double* wcol, int nIn, int stride, double bias) {
        double acc = bias;
        partial.addRange(acc);
        for (int i = 0; i < nIn; ++i) {
            acc += x[i] * wcol[size_t(i) * size_t(stride)];
            partial.addRange(acc);
        }
        return acc;
    };
    if (l.kind == LayerKind::Dense) {
        const auto& a = l.as<DenseAttrs>();
        const size_t positions = inSize / size_t(a.nIn);
        for (size_t r = 0; r < rows; ++r)
            for (size_t p = 0; p < positions; ++p)
                for (int j = 0; j < a.nOut; ++j)
                    partial.add(run(in + r * inSize + p * size_t(a.nIn), w.data() + j, a.nIn, a.nOut, b[size_t(j)]));
        return;
    }
    const auto& a = l.as<ConvAttrs>();
    if (!a.depthwise) {
        const auto [nIn, nOut] = macDims(l);
        const size_t positions = win.size() / size_t(nIn);
        std::vector<double> patch(static_cast<size_t>(nIn));
        for (size_t r = 0; r < rows; ++r)
            for (size_t p = 0; p < positions; ++p) {
                for (int i = 0; i < nIn; ++i) {
                    const int k = win[p * size_t(nIn) + size_t(i)];
                    patch[size_t(i)] = k >= 0 ? in[r * inSize + size_t(k)] : 0.0;
                }
                for (int j = 0; j < nOut; ++j) partial.add(run(patch.data(), w.data() + j, nIn, nOut, b[size_t(j)]));
            }
        return;
    }
    int taps = 1;
    for (int k : a.kernel) taps *= k;
    const size_t positions = win.size() / size_t(taps);
    const int C = a.inChannels, M = a.depthMultiplier;
    std::vector<double> patch(static_cast<size_t>(taps));
    for (size_t r = 0; r < rows; ++r)
        for (size_t p = 0; p < positions; ++p)
            for (int c = 0; c < C; ++c) {
                for (int k = 0; k < taps; ++k) {
                    const int idx = win[p * size_t(taps) + size_t(k)];
                    patch[size_t(k)] = idx >= 0 ? in[r * inSize + size_t(idx + c)] : 0.0;
                }
                for (int m = 0; m < M; ++m)
                    partial.add(
                        run(patch.data(), w.data() + size_t(c) * M + m, taps, C * M, b[size_t(c) * M + size_t(m)]));
            }
}

std::string fmt(double v) {
    std::ostringstream os;
    os << std::setprecision(4) << v;
    return os.str();
}

}  // namespace

ProfileReport profile(const Model& m, const double* x, size_t rows, int threads) {
    if (rows == 0) throw Error("profile: the calibration data has no rows");
    const Graph& g = m.graph();
    const Emulator& emu = m.emulator();
    const size_t L = g.layers.size();
    const int nIn = emu.inputSize();

    // Per layer: parameters, accumulator (MAC layers), result.
    std::vector<std::map<std::string, Acc>> acc(L);
    for (size_t k = 0; k < L; ++k) {
        const Layer& l = g.layers[k];
        if (l.kind == LayerKind::GarNet) {
            // The constants GarNet computes with (hls4ml's contracted form, typed by name).
            for (const GarNetSublayerWeights& w : garnetSublayerWeights(l))
                for (const auto& [var, values] : {std::pair{"input_transform_weights", &w.inputTransformWeights},
                                                  std::pair{"input_transform_biases", &w.inputTransformBiases},
                                                  std::pair{"aggregator_distance_weights", &w.aggregatorDistanceWeights},
                                                  std::pair{"aggregator_distance_biases", &w.aggregatorDistanceBiases},
                                                  std::pair{"output_transform_biases", &w.outputTransformBiases}}) {
                    Acc& a = acc[k][var];
                    if (l.hasType(var)) a.type = &l.type(var);
                    for (double v : *values) a.add(v);
                }
        } else if (l.kind == LayerKind::TreeEnsemble) {
            // The split thresholds against their type (leaves and sums are the `result`).
            Acc& a = acc[k]["threshold"];
            if (l.hasType("threshold")) a.type = &l.type("threshold");
            for (const trees::Tree& t : l.as<TreeEnsembleAttrs>().ensemble->trees)
                for (const trees::Node& n : t.nodes)
                    if (!n.isLeaf()) a.add(n.threshold);
        } else {
            for (const auto& [var, values] : l.params) {
                Acc& a = acc[k][var];
                if (l.hasType(var)) a.type = &l.type(var);
                for (double v : values) a.add(v);
            }
        }
        if (isMac(l) && l.hasType("accum")) acc[k]["accum"].type = &l.type("accum");
        if (l.hasType("result")) acc[k]["result"].type = &l.type("result");
    }

    const size_t block = 2048;
    std::vector<LayerStats> emulated;
    for (size_t r0 = 0; r0 < rows; r0 += block) {
        const size_t n = std::min(block, rows - r0);
        const double* xb = x + r0 * size_t(nIn);
        const auto tr = emu.traceFloat(xb, n);
        for (size_t k = 0; k < L; ++k) {
            const Layer& l = g.layers[k];
            Acc& res = acc[k]["result"];
            for (double v : tr[k]) res.add(v);
            if (isMac(l))
                macSums(g, l, emu.lowered().layer(l.name).constants->window, tr[g.indexOf(l.input())].data(), n,
                        acc[k]["accum"]);
        }
        std::vector<LayerStats> st;
        std::vector<int64_t> raw(n * size_t(emu.outputSize()));
        EmulatorOptions opt;
        opt.threads = threads;
        emu.runFixed(xb, n, raw.data(), nullptr, &st, opt);
        accumulate(emulated, st);
    }

    ProfileReport r;
    r.model = g.name.empty() ? m.path() : g.name;
    r.rows = rows;
    const std::vector<std::string> order = {"weight", "bias", "scale", "shift", "accum", "result"};
    for (size_t k = 0; k < L; ++k) {
        const Layer& l = g.layers[k];
        LayerProfile lp;
        lp.name = l.name;
        lp.kind = hlsClassName(l);
        for (const std::string& var : order) {
            auto it = acc[k].find(var);
            if (it == acc[k].end() || it->second.count == 0) continue;
            VarProfile vp = it->second.finish(var);
            for (const LayerStats& s : emulated)
                if (s.layer == l.name) vp.emulatedOverflow = var == "result" ? s.resultOverflows
                                                           : var == "accum" ? s.accumOverflows
                                                                            : 0;
            lp.vars.push_back(vp);
        }
        // Parameters the graph holds but that have another name (e.g. a Conv's extra ones).
        for (auto& [var, a] : acc[k])
            if (std::find(order.begin(), order.end(), var) == order.end() && a.count) lp.vars.push_back(a.finish(var));
        r.layers.push_back(std::move(lp));
    }
    return r;
}

Json ProfileReport::toJson() const {
    Json j;
    j["model"] = model;
    j["rows"] = rows;
    j["layers"] = Json::array();
    for (const LayerProfile& l : layers) {
        Json jl;
        jl["name"] = l.name;
        jl["kind"] = l.kind;
        jl["vars"] = Json::array();
        for (const VarProfile& v : l.vars) {
            Json jv;
            jv["var"] = v.var;
            jv["type"] = v.type;
            jv["type_min"] = v.typeMin;
            jv["type_max"] = v.typeMax;
            jv["lsb"] = v.lsb;
            jv["count"] = v.count;
            jv["zeros"] = v.zeros;
            jv["min"] = v.min;
            jv["max"] = v.max;
            jv["log2_abs"] = {v.log2q[0], v.log2q[1], v.log2q[2], v.log2q[3], v.log2q[4]};
            jv["overflow"] = v.overflow;
            jv["below_lsb"] = v.belowLsb;
            jv["emulated_overflow"] = v.emulatedOverflow;
            jl["vars"].push_back(jv);
        }
        j["layers"].push_back(jl);
    }
    return j;
}

std::string ProfileReport::table() const {
    std::ostringstream os;
    os << "profile of " << model << " on " << rows << " calibration rows (float values against the types)\n";
    int w = 6;
    int vw = 8;   // the variable column fits the longest name (GarNet's constants)
    for (const LayerProfile& l : layers) {
        w = std::max(w, int(l.name.size()) + 2);
        for (const VarProfile& v : l.vars) vw = std::max(vw, int(v.var.size()) + 2);
    }
    os << std::left << std::setw(w) << "layer" << std::setw(vw) << "var" << std::setw(30) << "type" << std::setw(24)
       << "float range" << std::setw(20) << "log2|v| min/med/max" << std::right << std::setw(10) << "overflow"
       << std::setw(10) << "<lsb" << std::setw(10) << "emulated" << "\n";
    for (const LayerProfile& l : layers)
        for (const VarProfile& v : l.vars) {
            const std::string range = "[" + fmt(v.min) + ", " + fmt(v.max) + "]";
            std::ostringstream lq;
            if (v.count > v.zeros)
                lq << std::fixed << std::setprecision(1) << v.log2q[0] << "/" << v.log2q[2] << "/" << v.log2q[4];
            else
                lq << "-";
            os << std::left << std::setw(w) << l.name << std::setw(vw) << v.var << std::setw(30)
               << (v.type.empty() ? "-" : v.type) << std::setw(24) << range << std::setw(20) << lq.str() << std::right
               << std::setw(10) << v.overflow << std::setw(10) << v.belowLsb << std::setw(10)
               << (v.var == "result" || v.var == "accum" ? std::to_string(v.emulatedOverflow) : "-") << "\n";
        }
    os << "overflow: float values outside the type's range (accum: partial sums); <lsb: non-zero values\n"
          "smaller than the type's LSB; emulated: casts that saturated or wrapped in the bit-exact run\n";
    return os.str();
}

std::string plottingScript() {
    if (const char* p = std::getenv("TACHYON_PLOTTING")) return p;
    return std::string(TACHYON_SOURCE_DIR) + "/python/tachyon/plotting.py";
}

namespace {

// Runs python/tachyon/plotting.py on `json` into `dir`; returns what went wrong ("" when
// the plots were made), so the warning says why instead of guessing.
std::string plotProfile(const fs::path& json, const fs::path& dir) {
    const char* py = std::getenv("TACHYON_PYTHON");
    const std::string python = py && *py ? py : fs::exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
    util::ProcessOptions opt;
    opt.captureOutput = true;
    opt.timeoutSeconds = 600;
    util::ProcessResult r;
    try {
        r = util::runProcess({python, plottingScript(), json.string(), dir.string()}, opt);
    } catch (const Error& e) {
        return e.what();
    }
    if (r.succeeded()) return "";
    if (r.output.find("No module named 'matplotlib'") != std::string::npos)
        return python + " with matplotlib is needed; Debian: python3-matplotlib";
    std::string last = r.output;
    while (!last.empty() && last.back() == '\n') last.pop_back();
    last = last.substr(last.rfind('\n') == std::string::npos ? 0 : last.rfind('\n') + 1);
    return python + " " + plottingScript() + " failed (" + util::describeOutcome(r, opt) + ")" +
           (last.empty() ? "" : ": " + util::capMessage(last, 300));
}

void writeText(const fs::path& file, const std::string& text, const std::string& userName) {
    std::ofstream f(file);
    f << text;
    f.close();
    if (!f) throw Error(userName + ": cannot write file (disk full?)");
}

}  // namespace

std::vector<std::string> writeProfile(const ProfileReport& r, const std::string& dir, std::ostream& log, bool force,
                                      const std::vector<std::pair<std::string, std::string>>& inputs) {
    OutputRules rules;
    rules.force = force;
    rules.others = inputs;
    AtomicOutput out(dir, "-o", OutputKind::Profile, rules);
    fs::create_directories(out.tmp());
    const fs::path d(dir);
    writeText(out.tmp() / "profile.json", r.toJson().dump(1) + "\n", (d / "profile.json").string());
    writeText(out.tmp() / "profile.txt", r.table(), (d / "profile.txt").string());
    std::vector<std::string> files = {(d / "profile.json").string(), (d / "profile.txt").string()};
    const std::string plotError = plotProfile(out.tmp() / "profile.json", out.tmp());
    out.commit();
    if (plotError.empty()) {
        files.push_back((d / "weights.png").string());
        files.push_back((d / "activations.png").string());
    } else {
        log << "tachyon: warning: profile: no plots (" << userFacing(plotError) << ")\n";
    }
    return files;
}

}  // namespace tachyon::api
